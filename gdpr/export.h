#ifndef SG_EXPORT_H
#define SG_EXPORT_H

/* Access requests (GDPR art. 15 and 20): privacy_requests rows of kind
 * 'access'. sg-gdpr exports everything stored about the users the
 * request's e-mail names into an export folder:
 *   access_<request id>.json        the document (personal data through
 *                                   pii_lookup, purpose access_export;
 *                                   profile, consent history when a
 *                                   consent_log table exists, compliance
 *                                   flags, privacy requests, events summary)
 *   access_<request id>_events.csv  their events_raw rows, as PostgreSQL's
 *                                   COPY ... CSV HEADER writes them
 *   access_<request id>.sha256      sha256sum -c checks the two above
 * Files are mode 0600 whatever the umask (created with O_EXCL under a
 * temporary name, renamed into place). The request gets its outcome
 * (exported, not_found, failed), processed_at and its e-mail replaced by
 * its hash; gdpr_audit_log gets one row per user (action access_export,
 * the file names and checksums, never the content). Nothing of the
 * content is logged.
 *
 * Functions that fail return -1 with err (SQLSTATE and object names, or a
 * file error with the file's name, which holds a request id only). */

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "sg_defs.h"
#include "sg_pg_err.h"
#include "sg_uuid.h"

typedef enum sg_export_status {
        SG_EXPORT_EXPORTED = 0,
        SG_EXPORT_NOT_FOUND,
        SG_EXPORT_FAILED,
        SG_EXPORT__CNT
} sg_export_status_t;

/* "exported", "not_found", "failed". */
const char *sg_export_status_name(sg_export_status_t st);

typedef struct sg_export_outcome {
        long long request_id;
        sg_export_status_t status;
        char user_id[SG_UUID_LEN + 1]; /* the first user; "" when none */
        int users;                     /* users exported */
        int erased;                    /* of them, erased before */
        long long events;              /* rows in the CSV */
        double processing_ms;
        char file[64];   /* the document's name, "" when none */
        char error[160]; /* failed only */
} sg_export_outcome_t;

/* Claims the oldest pending access request nobody holds and exports it
 * into dir (created mode 0700 when missing), in one transaction. Returns
 * 1 (done: *out), 0 (nothing pending), or -1 (rolled back; files of this
 * attempt removed) with err; a request whose export fails for a file
 * reason (disk full, permissions) ends failed with the reason instead
 * (returns 1). */
int sg_export_next(PGconn *conn, const char *dir, sg_export_outcome_t *out,
                   sg_pg_err_t *err) SG_MUST_CHECK;

/* Inside an erasure's transaction: deletes the export files recorded for
 * the users in users_literal (a uuid[] literal) from dir and appends one
 * audit row per request whose files were deleted (action
 * export_deleted, the file names). An export is the user's data: it goes
 * with the erasure. Files already gone are not errors. *deleted: the
 * files removed. Returns 0, or -1 with err. */
int sg_export_purge(PGconn *conn, const char *dir, const char *users_literal,
                    int *deleted, sg_pg_err_t *err) SG_MUST_CHECK;

/* RFC 4180 as PostgreSQL's COPY CSV writes it: NULL is an empty field, an
 * empty string "", a value with a comma, a quote, CR, LF or equal to \.
 * is quoted with its quotes doubled. Pure; appends to b (sg_buf_t *). */
struct sg_buf;
void sg_export_csv_field(struct sg_buf *b, const char *v, bool is_null);

#endif
