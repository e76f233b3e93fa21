#ifndef SG_ERASE_H
#define SG_ERASE_H

/* The PostgreSQL side of sg-gdpr: claiming and processing privacy
 * requests, and the erasure-notice outbox (sql/003_gdpr.sql,
 * sql/005_gdpr_extra.sql). Every statement is parameterised; e-mails never
 * leave the database (matching and hashing happen in SQL).
 *
 * Functions that fail return -1 with a one-line errstr (SQLSTATE first,
 * never a value from the data) and set *transient when the failure is one
 * to wait out (connection lost, deadlock, serialization, server shutting
 * down): the caller reconnects and retries. Anything else is fatal. */

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "notice.h"

typedef enum sg_erase_status {
        SG_ERASE_ANONYMIZED = 0,
        SG_ERASE_ALREADY_ANONYMIZED,
        SG_ERASE_NOT_FOUND,
        SG_ERASE_FAILED,
        SG_ERASE__CNT
} sg_erase_status_t;

/* "anonymized", "already_anonymized", "not_found", "failed". */
const char *sg_erase_status_name(sg_erase_status_t st);

/* Parses a status name. Returns 0, or -1 if unknown. */
int sg_erase_status_parse(const char *s, sg_erase_status_t *out);

/* The outcome of one request: ids, status and timing only. */
typedef struct sg_erase_outcome {
        long long request_id;
        sg_erase_status_t status;
        char user_id[SG_NOTICE_UUID_LEN + 1]; /* "" when no user matched */
        double processing_ms;
        char error[160]; /* failed only: SQLSTATE and object names */
} sg_erase_outcome_t;

typedef struct sg_erase_result {
        sg_erase_outcome_t *v; /* in request id order */
        int n;
        int cap;
        int claimed;              /* requests claimed by this batch */
        sg_notice_list_t notices; /* one per user erased, to publish */
        bool fallback;            /* the batch was done request by request */
} sg_erase_result_t;

void sg_erase_result_init(sg_erase_result_t *r);
void sg_erase_result_reset(sg_erase_result_t *r);
void sg_erase_result_fini(sg_erase_result_t *r);

/* One batch, in one transaction: claims up to batch_size pending requests
 * (FOR UPDATE SKIP LOCKED, oldest first, so concurrent instances never
 * take the same one), locks the users they match, anonymises them, and
 * records each request's outcome, its audit row(s) and its processing
 * time, replacing the request's e-mail by its SHA-256. A request whose
 * processing fails unexpectedly is marked failed on its own (a savepoint
 * per request) without failing the others. With lease_notices, the
 * anonymized requests' outbox rows are leased to this instance (it
 * publishes their notices right after commit).
 * Returns 0 (committed; out->claimed == 0: nothing was pending), or -1
 * (rolled back) with errstr and *transient. */
int sg_erase_batch(PGconn *conn, int batch_size, bool lease_notices,
                   sg_erase_result_t *out, char *errstr, size_t errstr_size,
                   bool *transient) __attribute__((warn_unused_result));

/* Leases up to limit anonymized requests whose notices are unsent and not
 * leased (or whose lease is older than lease_s seconds) and appends their
 * notices to out (one per user erased). Returns the number of requests
 * leased, or -1 with errstr and *transient. */
int sg_erase_notices_lease(PGconn *conn, int limit, int lease_s,
                           sg_notice_list_t *out, char *errstr,
                           size_t errstr_size, bool *transient)
    __attribute__((warn_unused_result));

/* Sets notice_sent_at on the requests (delivery confirmed). Returns 0, or
 * -1 with errstr and *transient. */
int sg_erase_notices_sent(PGconn *conn, const sg_notice_ids_t *ids,
                          char *errstr, size_t errstr_size, bool *transient)
    __attribute__((warn_unused_result));

/* Clears the lease of requests whose notices were not delivered, so that
 * the next sweep (of any instance) sends them again. Returns 0, or -1 with
 * errstr and *transient. */
int sg_erase_notices_release(PGconn *conn, const sg_notice_ids_t *ids,
                             char *errstr, size_t errstr_size, bool *transient)
    __attribute__((warn_unused_result));

/* Counts pending requests and anonymized requests whose notice is unsent.
 * Returns 0, or -1 with errstr and *transient. */
int sg_erase_backlog(PGconn *conn, long long *pending_requests,
                     long long *unsent_notices, char *errstr,
                     size_t errstr_size, bool *transient)
    __attribute__((warn_unused_result));

#endif
