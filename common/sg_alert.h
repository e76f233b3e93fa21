#ifndef SG_ALERT_H
#define SG_ALERT_H

/* Alerts (sql/011_alerts.sql): a cause inserts its alert in its own
 * transaction, and sg-alert delivers it after commit, at least once. An
 * alert's id is a name-based UUID of (source, kind, key): a cause that is
 * replayed after a crash names the same alert, which is then not inserted
 * again. Alerts carry ids, rule names and counts, never PII. */

#include <libpq-fe.h>

#include "sg_defs.h"
#include "sg_pg_err.h"
#include "sg_uuid.h"

typedef struct sg_alert {
        const char *source;       /* compliance, gdpr, compare, consumer, test */
        const char *kind;         /* a rule name, request_overdue, ... */
        const char *key;          /* what makes this alert one: with source and
                                   * kind, it names the alert id */
        const char *severity;     /* low, medium, high */
        const char *subject_type; /* NULL: none */
        const char *subject_id;   /* NULL: none; an id, never PII */
        const char *counts;       /* a JSON object, NULL: {} */
        const char *summary;      /* one line: ids, names, counts */
} sg_alert_t;

/* The alert id of (source, kind, key). */
void sg_alert_id(const char *source, const char *kind, const char *key,
                 char out[SG_UUID_LEN + 1]);

/* Inserts the alert in the caller's transaction. Returns 1 if inserted, 0
 * if an alert with its id exists already, -1 with err. */
int sg_alert_add(PGconn *conn, const sg_alert_t *a,
                 sg_pg_err_t *err) SG_MUST_CHECK;

/* The same for n alerts in one statement. Returns how many were new (0
 * when conn is in pipeline mode: sent, not yet run), or -1 with err. */
long long sg_alerts_add(PGconn *conn, const sg_alert_t *a, size_t n,
                        sg_pg_err_t *err) SG_MUST_CHECK;

#endif
