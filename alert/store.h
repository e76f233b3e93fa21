#ifndef SG_STORE_H
#define SG_STORE_H

/* sg-alert's SQL over alerts and alert_deliveries (sql/011_alerts.sql):
 * routing, claiming (leases, max_age, the per-sink throttle and its
 * digests) and recording outcomes in batches. Several instances share
 * the tables: rows are taken with FOR UPDATE SKIP LOCKED, and one sink's
 * claims are serialised across instances by a transaction-scoped
 * advisory lock on the sink's name, so they share its budget. */

#include <stdbool.h>

#include <libpq-fe.h>

#include "sg_defs.h"
#include "sg_pg_err.h"
#include "sg_uuid.h"
#include "retry.h"
#include "sinks.h"

/* The claimed rows' columns (sg_store_claim_t.res). */
enum {
        SG_STORE_ALERT_ID = 0,
        SG_STORE_ATTEMPTS,
        SG_STORE_LAST_ERROR,
        SG_STORE_SOURCE,
        SG_STORE_KIND,
        SG_STORE_SEVERITY,
        SG_STORE_SUBJECT_TYPE,
        SG_STORE_SUBJECT_ID,
        SG_STORE_COUNTS,
        SG_STORE_SUMMARY,
        SG_STORE_CREATED_AT,
        SG_STORE_CAUSE_AT,
};

/* Routes up to batch unrouted alerts in one statement (a transaction of
 * its own): one alert_deliveries row per sink that takes the alert's
 * source (a 'test' alert: every sink) at its severity, then routed_at.
 * Returns the number of alerts routed (*deliveries: rows made), or -1
 * with err. */
int sg_store_route(PGconn *conn, const sg_sinks_t *s, int batch,
                   long long *deliveries, sg_pg_err_t *err) SG_MUST_CHECK;

typedef struct sg_store_claim {
        PGresult *res[2];   /* the leased rows: digests, then the others
                               (NULL or a result: the caller clears both) */
        long long expired;  /* rows dead by max_age */
        long long digested; /* rows folded into a digest */
        bool digest;        /* a digest alert was made */
        bool throttled;     /* the budget was spent */
} sg_store_claim_t;

/* One sink's claim, in one transaction: rows older than max_age die;
 * digests due are leased whatever the budget; then up to limit other due
 * rows, within what is left of rate_per_minute (sent in the last 60 s
 * plus leased now, over every instance); when the budget is spent, the
 * never-attempted rows still due are folded into one digest alert (at
 * most one per sink per minute). Returns 0 with out filled, or -1 with
 * err (rolled back). */
int sg_store_claim(PGconn *conn, const sg_sinks_t *s, const sg_sink_t *k,
                   int limit, sg_store_claim_t *out,
                   sg_pg_err_t *err) SG_MUST_CHECK;

/* An attempt's outcome, to record. */
typedef struct sg_store_outcome {
        char alert_id[SG_UUID_LEN + 1];
        char sink[SG_SINK_NAME_MAX];
        int attempts;              /* as leased */
        sg_retry_verdict_t verdict;
        long http_status;          /* 0: none */
        long long delay_ms;        /* SG_RETRY_AGAIN: the wait */
        char reason[SG_RETRY_REASON_MAX];
} sg_store_outcome_t;

/* Records n outcomes in one statement: sent (sent_at, http_status),
 * again (next_attempt_at = now + delay, last_error; dead instead when
 * that is past the alert's max_age) or dead; the lease is released. A
 * failure is not recorded over a row another instance has leased since.
 * Returns 0 (*aged: rows that died of max_age), or -1 with err. */
int sg_store_record(PGconn *conn, const sg_store_outcome_t *v, int n,
                    long long max_age_ms, long long *aged,
                    sg_pg_err_t *err) SG_MUST_CHECK;

/* The pending rows of sinks no longer in the file (s), once their alert
 * is older than max_age: dead, last_error sink_removed (a sink removed
 * for a while and put back within max_age finds its rows waiting).
 * Returns how many, or -1 with err. */
long long sg_store_orphans(PGconn *conn, const sg_sinks_t *s,
                           sg_pg_err_t *err) SG_MUST_CHECK;

/* Rows of configured sinks: pending and due now, and leased. Returns 0
 * or -1 with err. */
int sg_store_backlog(PGconn *conn, long long *due, long long *leased,
                     sg_pg_err_t *err) SG_MUST_CHECK;

/* The deliveries by status (alert_deliveries.status, in the order of
 * sg_store_states: pending, sent, dead, digested), for the metrics.
 * Returns 0 or -1 with err. */
#define SG_STORE_NSTATES 4
extern const char *const sg_store_states[SG_STORE_NSTATES];
int sg_store_count_states(PGconn *conn, long long out[SG_STORE_NSTATES],
                          sg_pg_err_t *err) SG_MUST_CHECK;

#endif
