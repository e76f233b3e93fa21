#include "erase.h"
#include "sg_buf.h"
#include "sg_log.h"
#include "sg_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The oldest pending requests nobody else holds. */
static const char SQL_CLAIM[] =
    "SELECT id FROM privacy_requests WHERE status = 'pending' "
    "ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED";

/* Locks the live users the claimed requests name, in user_id order so that
 * two instances lock in the same order. A user another instance is erasing
 * right now is waited for; once it committed, the row no longer matches
 * (its e-mail is gone) and the next statement, with a fresh snapshot,
 * finds that instance's request by hash instead: already_anonymized. */
static const char SQL_LOCK_USERS[] =
    "SELECT u.user_id FROM users_pii u "
    " WHERE lower(btrim(u.email)) IN ("
    "       SELECT lower(btrim(r.email)) FROM privacy_requests r "
    "        WHERE r.id = ANY ($1::bigint[])) "
    " ORDER BY u.user_id FOR UPDATE OF u";

/* Processes the claimed requests $1, set-based, in one statement:
 *  req   the requests, e-mail normalised (lower(btrim()), users_pii's
 *        index); a blank e-mail normalises to NULL;
 *  m     the users whose normalised e-mail matches, with the PII columns
 *        that hold a value (what erasure clears);
 *  er    the users to erase now, each by the first request naming it;
 *  prev  for requests matching no live user: an earlier request with the
 *        same e-mail hash that matched a user (erased already);
 *  o     each request's outcome;
 * then users_pii is anonymised, the requests get their outcome (e-mail
 * replaced by its hash) and the audit rows are written. $2: lease the
 * anonymized requests' notices to this instance. Returns per request:
 * id, status, user_id, processing_ms, processed_at (RFC 3339 UTC), the
 * users erased (uuid[]). */
static const char SQL_PROCESS[] =
    "WITH now_ AS MATERIALIZED (SELECT clock_timestamp() AS t), "
    "req AS ("
    "  SELECT r.id, r.requested_at, nullif(lower(btrim(r.email)), '') AS norm"
    "    FROM privacy_requests r"
    "   WHERE r.id = ANY ($1::bigint[]) AND r.status = 'pending'), "
    "m AS ("
    "  SELECT q.id AS request_id, u.user_id, u.anonymized_at,"
    "         array_remove(ARRAY["
    "           CASE WHEN u.email IS NOT NULL THEN 'email' END,"
    "           CASE WHEN u.first_name IS NOT NULL THEN 'first_name' END,"
    "           CASE WHEN u.last_name IS NOT NULL THEN 'last_name' END,"
    "           CASE WHEN u.street_address IS NOT NULL"
    "                THEN 'street_address' END,"
    "           CASE WHEN u.city IS NOT NULL THEN 'city' END,"
    "           CASE WHEN u.postal_code IS NOT NULL THEN 'postal_code' END"
    "         ], NULL) AS cols"
    "    FROM req q JOIN users_pii u ON lower(btrim(u.email)) = q.norm), "
    "er AS ("
    "  SELECT DISTINCT ON (m.user_id) m.user_id, m.request_id, m.cols"
    "    FROM m WHERE m.anonymized_at IS NULL"
    "   ORDER BY m.user_id, m.request_id), "
    "anon AS ("
    "  UPDATE users_pii u"
    "     SET email = NULL, first_name = NULL, last_name = NULL,"
    "         street_address = NULL, city = NULL, postal_code = NULL,"
    "         anonymized_at = (SELECT t FROM now_)"
    "    FROM er WHERE u.user_id = er.user_id), "
    "prev AS ("
    "  SELECT DISTINCT ON (q.id) q.id AS request_id, p.user_id"
    "    FROM req q JOIN privacy_requests p"
    "      ON p.email_sha256 = encode(sha256(convert_to(q.norm, 'UTF8')),"
    "                                 'hex')"
    "   WHERE p.status IN ('anonymized', 'already_anonymized')"
    "     AND p.user_id IS NOT NULL"
    "   ORDER BY q.id, p.processed_at DESC, p.id DESC), "
    "o AS ("
    "  SELECT q.id, q.norm,"
    "         extract(epoch FROM (SELECT t FROM now_) - q.requested_at)"
    "           * 1000 AS ms,"
    "         CASE WHEN q.norm IS NULL THEN 'failed'"
    "              WHEN e.user_id IS NOT NULL THEN 'anonymized'"
    "              WHEN mm.user_id IS NOT NULL OR pv.user_id IS NOT NULL"
    "                THEN 'already_anonymized'"
    "              ELSE 'not_found' END AS status,"
    "         coalesce(e.user_id, mm.user_id, pv.user_id) AS user_id"
    "    FROM req q"
    "    LEFT JOIN (SELECT DISTINCT ON (request_id) request_id, user_id"
    "                 FROM er ORDER BY request_id, user_id) e"
    "      ON e.request_id = q.id"
    "    LEFT JOIN (SELECT DISTINCT ON (request_id) request_id, user_id"
    "                 FROM m ORDER BY request_id, user_id) mm"
    "      ON mm.request_id = q.id"
    "    LEFT JOIN prev pv ON pv.request_id = q.id), "
    "done AS ("
    "  UPDATE privacy_requests p"
    "     SET status = o.status, processed_at = (SELECT t FROM now_),"
    "         user_id = o.user_id, email = NULL,"
    "         email_sha256 = encode(sha256(convert_to(o.norm, 'UTF8')), 'hex'),"
    "         error = CASE WHEN o.status = 'failed'"
    "                      THEN 'the request has no e-mail' END,"
    "         notice_attempt_at = CASE WHEN o.status = 'anonymized'"
    "                                   AND $2::boolean"
    "                                  THEN (SELECT t FROM now_) END"
    "    FROM o WHERE p.id = o.id), "
    "audit AS ("
    "  INSERT INTO gdpr_audit_log (request_id, user_id, action,"
    "                              affected_columns, processing_ms)"
    "  SELECT er.request_id, er.user_id, 'anonymize_user', er.cols, o.ms"
    "    FROM er JOIN o ON o.id = er.request_id"
    "  UNION ALL"
    "  SELECT o.id, o.user_id, o.status, '{}', o.ms"
    "    FROM o WHERE o.status <> 'anonymized') "
    "SELECT o.id, o.status, o.user_id, o.ms,"
    "       to_char((SELECT t FROM now_) AT TIME ZONE 'UTC',"
    "               'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "       ea.users"
    "  FROM o LEFT JOIN (SELECT request_id,"
    "                           array_agg(user_id ORDER BY user_id) AS users"
    "                      FROM er GROUP BY request_id) ea"
    "    ON ea.request_id = o.id"
    " ORDER BY o.id";

/* A request whose processing failed unexpectedly: $1 id, $2 the error
 * (SQLSTATE and object names only). Its e-mail is replaced by its hash
 * like any other's; the audit row says failed. Returns processing_ms. */
static const char SQL_FAIL[] =
    "WITH now_ AS MATERIALIZED (SELECT clock_timestamp() AS t), "
    "r AS ("
    "  UPDATE privacy_requests p"
    "     SET status = 'failed', processed_at = (SELECT t FROM now_),"
    "         email = NULL,"
    "         email_sha256 = encode(sha256(convert_to("
    "             nullif(lower(btrim(p.email)), ''), 'UTF8')), 'hex'),"
    "         error = $2"
    "   WHERE p.id = $1::bigint AND p.status = 'pending'"
    "  RETURNING p.id, p.requested_at) "
    "INSERT INTO gdpr_audit_log (request_id, user_id, action,"
    "                            affected_columns, processing_ms) "
    "SELECT r.id, NULL, 'failed', '{}',"
    "       extract(epoch FROM (SELECT t FROM now_) - r.requested_at) * 1000"
    "  FROM r "
    "RETURNING processing_ms";

/* Leases up to $1 unsent notices (lease older than $2 seconds or none)
 * and returns one row per user erased: request id, user_id, processed_at
 * (RFC 3339 UTC). */
static const char SQL_NOTICES_LEASE[] =
    "WITH c AS ("
    "  SELECT id FROM privacy_requests"
    "   WHERE status = 'anonymized' AND notice_sent_at IS NULL"
    "     AND user_id IS NOT NULL"
    "     AND (notice_attempt_at IS NULL OR notice_attempt_at <"
    "          clock_timestamp() - make_interval(secs => $2::double precision))"
    "   ORDER BY id LIMIT $1::integer FOR UPDATE SKIP LOCKED), "
    "l AS ("
    "  UPDATE privacy_requests p SET notice_attempt_at = clock_timestamp()"
    "    FROM c WHERE p.id = c.id"
    "  RETURNING p.id, p.user_id, p.processed_at) "
    "SELECT l.id, coalesce(a.user_id, l.user_id),"
    "       to_char(l.processed_at AT TIME ZONE 'UTC',"
    "               'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    "  FROM l LEFT JOIN gdpr_audit_log a"
    "    ON a.request_id = l.id AND a.action = 'anonymize_user'"
    " ORDER BY 1, 2";

static const char SQL_NOTICES_SENT[] =
    "UPDATE privacy_requests SET notice_sent_at = clock_timestamp() "
    " WHERE id = ANY ($1::bigint[]) AND notice_sent_at IS NULL";

static const char SQL_NOTICES_RELEASE[] =
    "UPDATE privacy_requests SET notice_attempt_at = NULL "
    " WHERE id = ANY ($1::bigint[]) AND notice_sent_at IS NULL";

static const char SQL_BACKLOG[] =
    "SELECT (SELECT count(*) FROM privacy_requests"
    "         WHERE status = 'pending'),"
    "       (SELECT count(*) FROM privacy_requests"
    "         WHERE status = 'anonymized' AND notice_sent_at IS NULL)";

static const char *const sg_erase_names[SG_ERASE__CNT] = {
    "anonymized", "already_anonymized", "not_found", "failed"};

const char *sg_erase_status_name(sg_erase_status_t st)
{
        return st >= 0 && st < SG_ERASE__CNT ? sg_erase_names[st] : "?";
}

int sg_erase_status_parse(const char *s, sg_erase_status_t *out)
{
        for (int i = 0; i < SG_ERASE__CNT; i++) {
                if (strcmp(s, sg_erase_names[i]) == 0) {
                        *out = (sg_erase_status_t)i;
                        return 0;
                }
        }
        return -1;
}

void sg_erase_result_init(sg_erase_result_t *r)
{
        memset(r, 0, sizeof(*r));
}

void sg_erase_result_reset(sg_erase_result_t *r)
{
        r->n = 0;
        r->claimed = 0;
        r->fallback = false;
        sg_notice_list_reset(&r->notices);
}

void sg_erase_result_fini(sg_erase_result_t *r)
{
        free(r->v);
        sg_notice_list_fini(&r->notices);
        memset(r, 0, sizeof(*r));
}

static sg_erase_outcome_t *sg_erase_result_add(sg_erase_result_t *r)
{
        if (r->n == r->cap) {
                int cap = r->cap ? r->cap * 2 : 128;
                sg_erase_outcome_t *v = realloc(r->v, (size_t)cap * sizeof(*v));
                if (!v)
                        abort();
                r->v = v;
                r->cap = cap;
        }
        memset(&r->v[r->n], 0, sizeof(r->v[0]));
        return &r->v[r->n++];
}

/* Describes the failure behind res without any of its message text: only
 * the SQLSTATE and the names of the objects involved, because messages
 * and details can quote the data (an e-mail, a name). Messages of the
 * classes that never quote data (connection, access rules, operator
 * intervention) are kept. */
static void sg_erase_errstr(PGconn *conn, const PGresult *res, char *errstr,
                            size_t errstr_size)
{
        static const int fields[] = {PG_DIAG_TABLE_NAME, PG_DIAG_COLUMN_NAME,
                                     PG_DIAG_CONSTRAINT_NAME,
                                     PG_DIAG_DATATYPE_NAME};
        static const char *const names[] = {"table", "column", "constraint",
                                            "type"};
        const char *state =
            res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *primary;
        size_t n;

        if (!state) {
                /* No server error: the connection itself failed. */
                sg_pg_errstr(conn, NULL, errstr, errstr_size);
                return;
        }
        n = (size_t)snprintf(errstr, errstr_size, "SQLSTATE %s", state);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
                const char *v = PQresultErrorField(res, fields[i]);
                if (v && n < errstr_size)
                        n += (size_t)snprintf(errstr + n, errstr_size - n,
                                              " %s=%s", names[i], v);
        }
        primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        if (primary && n < errstr_size &&
            (strncmp(state, "08", 2) == 0 || strncmp(state, "42", 2) == 0 ||
             strncmp(state, "57", 2) == 0 || strncmp(state, "53", 2) == 0 ||
             strncmp(state, "40", 2) == 0))
                snprintf(errstr + n, errstr_size - n, ": %s", primary);
}

/* Records a failed result: errstr, *transient; clears res. */
static void sg_erase_fail(PGconn *conn, PGresult *res, char *errstr,
                          size_t errstr_size, bool *transient)
{
        sg_erase_errstr(conn, res, errstr, errstr_size);
        *transient = sg_pg_is_transient(conn, res);
        PQclear(res);
}

/* Runs a statement without parameters that returns no rows. */
static int sg_erase_exec(PGconn *conn, const char *sql, char *errstr,
                         size_t errstr_size, bool *transient)
{
        PGresult *res = PQexec(conn, sql);

        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                sg_erase_fail(conn, res, errstr, errstr_size, transient);
                return -1;
        }
        PQclear(res);
        return 0;
}

/* Reads SQL_PROCESS's rows into out. Returns 0, or -1 with errstr on a
 * row that makes no sense (a bug, not data: fatal). */
static int sg_erase_collect(PGresult *res, sg_erase_result_t *out, char *errstr,
                            size_t errstr_size)
{
        for (int i = 0; i < PQntuples(res); i++) {
                sg_erase_outcome_t *oc = sg_erase_result_add(out);
                const char *uid = PQgetvalue(res, i, 2);

                oc->request_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                if (sg_erase_status_parse(PQgetvalue(res, i, 1), &oc->status) <
                    0) {
                        snprintf(errstr, errstr_size,
                                 "unexpected status for request id=%lld",
                                 oc->request_id);
                        return -1;
                }
                if (!PQgetisnull(res, i, 2) && sg_notice_uuid_valid(uid))
                        memcpy(oc->user_id, uid, sizeof(oc->user_id));
                oc->processing_ms = strtod(PQgetvalue(res, i, 3), NULL);
                if (oc->status == SG_ERASE_FAILED)
                        snprintf(oc->error, sizeof(oc->error),
                                 "the request has no e-mail");
                if (oc->status == SG_ERASE_ANONYMIZED &&
                    sg_notice_list_add_users(&out->notices, oc->request_id,
                                             PQgetvalue(res, i, 5),
                                             PQgetvalue(res, i, 4)) < 1) {
                        snprintf(errstr, errstr_size,
                                 "unexpected erased users for request "
                                 "id=%lld",
                                 oc->request_id);
                        return -1;
                }
        }
        return 0;
}

/* Runs SQL_PROCESS for the requests in ids_literal. Returns 0 (rows added
 * to out), or -1 with *res_out set to the failed result (caller clears it)
 * or with errstr (collect failed; *res_out NULL). */
static int sg_erase_process(PGconn *conn, const char *ids_literal, bool lease,
                            sg_erase_result_t *out, PGresult **res_out,
                            char *errstr, size_t errstr_size)
{
        const char *params[2] = {ids_literal, lease ? "true" : "false"};
        PGresult *res;
        int rc;

        *res_out = NULL;
        res = PQexecParams(conn, SQL_PROCESS, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                *res_out = res;
                return -1;
        }
        rc = sg_erase_collect(res, out, errstr, errstr_size);
        PQclear(res);
        return rc;
}

/* The batch statement failed for a reason other than the connection:
 * processes the requests one by one, each under its own savepoint, and
 * marks those that fail on their own as failed. Returns 0, or -1 with
 * errstr and *transient. */
static int sg_erase_one_by_one(PGconn *conn, const long long *ids, int n,
                               bool lease, sg_erase_result_t *out, char *errstr,
                               size_t errstr_size, bool *transient)
{
        char one[32], sid[32];
        PGresult *res;

        out->fallback = true;
        for (int i = 0; i < n; i++) {
                sg_erase_outcome_t *oc;
                const char *params[2] = {sid, NULL};
                char why[160];

                snprintf(one, sizeof(one), "{%lld}", ids[i]);
                snprintf(sid, sizeof(sid), "%lld", ids[i]);
                if (sg_erase_exec(conn, "SAVEPOINT sg_request", errstr,
                                  errstr_size, transient) < 0)
                        return -1;
                if (sg_erase_process(conn, one, lease, out, &res, errstr,
                                     errstr_size) == 0) {
                        if (sg_erase_exec(conn, "RELEASE SAVEPOINT sg_request",
                                          errstr, errstr_size, transient) < 0)
                                return -1;
                        continue;
                }
                if (!res) {
                        *transient = false;
                        return -1;
                }
                if (sg_pg_is_transient(conn, res)) {
                        sg_erase_fail(conn, res, errstr, errstr_size,
                                      transient);
                        return -1;
                }
                sg_erase_errstr(conn, res, why, sizeof(why));
                PQclear(res);
                if (sg_erase_exec(conn, "ROLLBACK TO SAVEPOINT sg_request",
                                  errstr, errstr_size, transient) < 0)
                        return -1;
                params[1] = why;
                res = PQexecParams(conn, SQL_FAIL, 2, NULL, params, NULL, NULL,
                                   0);
                if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                        sg_erase_fail(conn, res, errstr, errstr_size,
                                      transient);
                        return -1;
                }
                if (PQntuples(res) == 1) {
                        oc = sg_erase_result_add(out);
                        oc->request_id = ids[i];
                        oc->status = SG_ERASE_FAILED;
                        oc->processing_ms = strtod(PQgetvalue(res, 0, 0), NULL);
                        snprintf(oc->error, sizeof(oc->error), "%s", why);
                }
                PQclear(res);
                if (sg_erase_exec(conn, "RELEASE SAVEPOINT sg_request", errstr,
                                  errstr_size, transient) < 0)
                        return -1;
        }
        return 0;
}

int sg_erase_batch(PGconn *conn, int batch_size, bool lease_notices,
                   sg_erase_result_t *out, char *errstr, size_t errstr_size,
                   bool *transient)
{
        char limit[16];
        const char *params[1] = {limit};
        long long *ids = NULL;
        sg_buf_t lit;
        PGresult *res = NULL;
        int n, rc = -1;

        *transient = false;
        errstr[0] = '\0';
        sg_erase_result_reset(out);
        sg_buf_init(&lit);
        if (sg_erase_exec(conn, "BEGIN", errstr, errstr_size, transient) < 0)
                goto out;

        snprintf(limit, sizeof(limit), "%d", batch_size);
        res = PQexecParams(conn, SQL_CLAIM, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                sg_erase_fail(conn, res, errstr, errstr_size, transient);
                res = NULL;
                goto out;
        }
        n = PQntuples(res);
        if (n == 0) {
                PQclear(res);
                res = NULL;
                rc = sg_erase_exec(conn, "COMMIT", errstr, errstr_size,
                                   transient);
                goto out_done;
        }
        ids = malloc((size_t)n * sizeof(*ids));
        if (!ids)
                abort();
        sg_buf_putc(&lit, '{');
        for (int i = 0; i < n; i++) {
                ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                sg_buf_printf(&lit, i ? ",%lld" : "%lld", ids[i]);
        }
        sg_buf_putc(&lit, '}');
        sg_buf_putc(&lit, '\0');
        PQclear(res);
        res = NULL;
        out->claimed = n;

        params[0] = lit.data;
        res =
            PQexecParams(conn, SQL_LOCK_USERS, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                sg_erase_fail(conn, res, errstr, errstr_size, transient);
                res = NULL;
                goto out;
        }
        PQclear(res);
        res = NULL;

        if (sg_erase_exec(conn, "SAVEPOINT sg_batch", errstr, errstr_size,
                          transient) < 0)
                goto out;
        if (sg_erase_process(conn, lit.data, lease_notices, out, &res, errstr,
                             errstr_size) == 0) {
                if (sg_erase_exec(conn, "RELEASE SAVEPOINT sg_batch", errstr,
                                  errstr_size, transient) < 0)
                        goto out;
        } else {
                if (!res)
                        goto out; /* errstr set, not transient */
                if (sg_pg_is_transient(conn, res)) {
                        sg_erase_fail(conn, res, errstr, errstr_size,
                                      transient);
                        res = NULL;
                        goto out;
                }
                sg_erase_errstr(conn, res, errstr, errstr_size);
                PQclear(res);
                res = NULL;
                sg_warn("batch of requests=%d failed (%s): processing them "
                        "one by one",
                        n, errstr);
                errstr[0] = '\0';
                sg_erase_result_reset(out);
                out->claimed = n;
                if (sg_erase_exec(conn, "ROLLBACK TO SAVEPOINT sg_batch",
                                  errstr, errstr_size, transient) < 0)
                        goto out;
                if (sg_erase_one_by_one(conn, ids, n, lease_notices, out,
                                        errstr, errstr_size, transient) < 0)
                        goto out;
        }
        rc = sg_erase_exec(conn, "COMMIT", errstr, errstr_size, transient);
        goto out_done;
out:
        /* Whatever happened, leave no transaction open (harmless when the
         * connection is gone). */
        res = PQexec(conn, "ROLLBACK");
        PQclear(res);
        res = NULL;
out_done:
        if (rc < 0)
                sg_erase_result_reset(out);
        PQclear(res);
        free(ids);
        sg_buf_fini(&lit);
        return rc;
}

int sg_erase_notices_lease(PGconn *conn, int limit, int lease_s,
                           sg_notice_list_t *out, char *errstr,
                           size_t errstr_size, bool *transient)
{
        char s_limit[16], s_lease[16];
        const char *params[2] = {s_limit, s_lease};
        PGresult *res;
        long long last = -1;
        int leased = 0;

        *transient = false;
        snprintf(s_limit, sizeof(s_limit), "%d", limit);
        snprintf(s_lease, sizeof(s_lease), "%d", lease_s);
        res = PQexecParams(conn, SQL_NOTICES_LEASE, 2, NULL, params, NULL, NULL,
                           0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                sg_erase_fail(conn, res, errstr, errstr_size, transient);
                return -1;
        }
        for (int i = 0; i < PQntuples(res); i++) {
                long long id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                sg_notice_t nt;

                if (id != last)
                        leased++;
                last = id;
                if (sg_notice_set(&nt, id, PQgetvalue(res, i, 1),
                                  PQgetvalue(res, i, 2)) < 0) {
                        sg_warn("outbox row unusable, skipped request_id=%lld",
                                id);
                        continue;
                }
                sg_notice_list_add(out, &nt);
        }
        PQclear(res);
        return leased;
}

/* Runs one of the outbox UPDATEs over ids. */
static int sg_erase_update_ids(PGconn *conn, const char *sql,
                               const sg_notice_ids_t *ids, char *errstr,
                               size_t errstr_size, bool *transient)
{
        const char *params[1];
        PGresult *res;
        sg_buf_t lit;
        int rc = 0;

        *transient = false;
        if (ids->n == 0)
                return 0;
        sg_buf_init(&lit);
        sg_notice_ids_literal(ids, &lit);
        sg_buf_putc(&lit, '\0');
        params[0] = lit.data;
        res = PQexecParams(conn, sql, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                sg_erase_fail(conn, res, errstr, errstr_size, transient);
                rc = -1;
        } else {
                PQclear(res);
        }
        sg_buf_fini(&lit);
        return rc;
}

int sg_erase_notices_sent(PGconn *conn, const sg_notice_ids_t *ids,
                          char *errstr, size_t errstr_size, bool *transient)
{
        return sg_erase_update_ids(conn, SQL_NOTICES_SENT, ids, errstr,
                                   errstr_size, transient);
}

int sg_erase_notices_release(PGconn *conn, const sg_notice_ids_t *ids,
                             char *errstr, size_t errstr_size, bool *transient)
{
        return sg_erase_update_ids(conn, SQL_NOTICES_RELEASE, ids, errstr,
                                   errstr_size, transient);
}

int sg_erase_backlog(PGconn *conn, long long *pending_requests,
                     long long *unsent_notices, char *errstr,
                     size_t errstr_size, bool *transient)
{
        PGresult *res;

        *transient = false;
        res = PQexecParams(conn, SQL_BACKLOG, 0, NULL, NULL, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
                sg_erase_fail(conn, res, errstr, errstr_size, transient);
                return -1;
        }
        *pending_requests = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *unsent_notices = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        return 0;
}
