#ifndef SG_ERASE_H
#define SG_ERASE_H

/* The PostgreSQL side of sg-gdpr: claiming and processing privacy
 * requests (sql/003_gdpr.sql, 005, 006). Every statement is
 * parameterised; e-mails never leave the database (matching and hashing
 * happen in SQL). The erasure notices of a batch go into the outbox
 * (channel "erasure_notice") in the batch's transaction.
 *
 * Functions that fail return -1 with err: SQLSTATE and object names,
 * never a value from the data; err->transient when the failure is one to
 * wait out (connection lost, deadlock, serialization, server shutting
 * down): the caller reconnects and retries. Anything else is fatal. */

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "sg_defs.h"
#include "sg_pg_err.h"
#include "sg_uuid.h"


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
        char user_id[SG_UUID_LEN + 1]; /* "" when no user matched */
        double processing_ms;
        char error[160]; /* failed only: SQLSTATE and object names */
} sg_erase_outcome_t;

typedef struct sg_erase_result {
        sg_erase_outcome_t *v; /* in request id order */
        int n;
        int cap;
        int claimed;   /* requests claimed by this batch */
        int erased;    /* requests that anonymized a user (notices queued) */
        bool fallback; /* the batch was done request by request */
        int exports_deleted; /* export files of erased users removed */
} sg_erase_result_t;

void sg_erase_result_init(sg_erase_result_t *r);
void sg_erase_result_reset(sg_erase_result_t *r);
void sg_erase_result_fini(sg_erase_result_t *r);

/* One batch, in one transaction: claims up to batch_size pending requests
 * (FOR UPDATE SKIP LOCKED, oldest first, so concurrent instances never
 * take the same one), locks the users they match, anonymises them, and
 * records each request's outcome, its audit row(s), its processing time
 * and one erasure notice per user erased (outbox), replacing the
 * request's e-mail by its SHA-256. A request whose processing fails
 * unexpectedly is marked failed on its own (a savepoint per request)
 * without failing the others; every request that ends failed is an alert
 * (kind request_failed). The access exports of the users erased (in
 * export_dir, NULL: none) are deleted in the same transaction
 * (gdpr/export.h, sg_export_purge). Only requests of kind 'erasure' are
 * claimed. Returns 0 (committed; out->claimed == 0: nothing was pending),
 * or -1 (rolled back) with err. */
int sg_erase_batch(PGconn *conn, int batch_size, const char *export_dir,
                   sg_erase_result_t *out, sg_pg_err_t *err) SG_MUST_CHECK;

/* Alerts (common/sg_alert.h: source gdpr, kind request_overdue, once per
 * request) for the requests pending for more than age_days; limit_days is
 * the legal limit they are measured against. A request that ends failed
 * is alerted by sg_erase_batch, in its transaction (kind request_failed).
 * One transaction. *raised: the alerts new this time. Returns 0, or -1
 * with err. */
int sg_erase_overdue(PGconn *conn, double age_days, double limit_days,
                     int *raised, sg_pg_err_t *err) SG_MUST_CHECK;

/* The pending requests by kind (pending[0] erasure, pending[1] access)
 * and the oldest one's age in seconds (0 when none), for the metrics.
 * Returns 0, or -1 with err. */
int sg_erase_pending(PGconn *conn, long long pending[2], double *oldest_s,
                     sg_pg_err_t *err) SG_MUST_CHECK;

/* Counts pending requests and unsent erasure notices. Returns 0, or -1
 * with err. */
int sg_erase_backlog(PGconn *conn, long long *pending_requests,
                     long long *unsent_notices, sg_pg_err_t *err) SG_MUST_CHECK;

#endif
