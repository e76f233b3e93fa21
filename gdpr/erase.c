#include "erase.h"
#include "export.h"
#include "sg_alert.h"
#include "sg_buf.h"
#include "sg_log.h"
#include "sg_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The oldest pending erasure requests nobody else holds (access requests
 * are export.c's). */
static const char SQL_CLAIM[] =
    "SELECT id FROM privacy_requests WHERE status = 'pending' "
    "AND kind = 'erasure' ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED";

/* Locks the live users the claimed requests name, in user_id order so that
 * two instances lock in the same order. A user another instance is erasing
 * right now is waited for; once it committed, the row no longer matches
 * (its e-mail is gone) and the next statement, with a fresh snapshot,
 * finds that instance's request by hash instead: already_anonymized.
 * users_pii is read only through SECURITY DEFINER functions with a
 * purpose (sql/013_pii_access.sql): here pii_lock_requests. */
static const char SQL_LOCK_USERS[] =
    "SELECT pii_lock_requests($1::bigint[], 'erasure')";

/* Processes the claimed requests $1, set-based, in one statement:
 *  req   the requests, e-mail normalised (lower(btrim()), users_pii's
 *        index); a blank e-mail normalises to NULL;
 *  m     the users whose normalised e-mail matches, with the PII columns
 *        that held a value (what erasure clears), as they were before
 *        pii_erase_requests (sql/013) anonymised the live ones, logging
 *        the access with purpose erasure; it runs once, before any row
 *        of o (and so of done) exists: o joins m;
 *  er    the users to erase now, each by the first request naming it;
 *  prev  for requests matching no live user: an earlier request with the
 *        same e-mail hash that matched a user (erased already);
 *  o     each request's outcome;
 * then the requests get their outcome (e-mail
 * replaced by its hash), the audit rows are written and one erasure notice
 * per user erased goes into the outbox (sql/006_outbox.sql), all in this
 * statement's transaction. Returns per request: id, status, user_id,
 * processing_ms. */
static const char SQL_PROCESS[] =
    "WITH now_ AS MATERIALIZED (SELECT clock_timestamp() AS t), "
    "req AS ("
    "  SELECT r.id, r.requested_at, nullif(lower(btrim(r.email)), '') AS norm"
    "    FROM privacy_requests r"
    "   WHERE r.id = ANY ($1::bigint[]) AND r.status = 'pending'), "
    "m AS MATERIALIZED ("
    "  SELECT f.request_id, f.user_id, f.anonymized_at, f.cols"
    "    FROM pii_erase_requests($1::bigint[], (SELECT t FROM now_),"
    "                            'erasure') f), "
    "er AS ("
    "  SELECT DISTINCT ON (m.user_id) m.user_id, m.request_id, m.cols"
    "    FROM m WHERE m.anonymized_at IS NULL"
    "   ORDER BY m.user_id, m.request_id), "
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
    "                      THEN 'the request has no e-mail' END"
    "    FROM o WHERE p.id = o.id), "
    "notices AS ("
    "  INSERT INTO outbox (channel, msg_key, payload, ref_id)"
    "  SELECT 'erasure_notice', er.user_id::text,"
    "         erasure_notice_payload(er.user_id, er.request_id,"
    "                                (SELECT t FROM now_)), er.request_id"
    "    FROM er ORDER BY er.request_id, er.user_id), "
    "audit AS ("
    "  INSERT INTO gdpr_audit_log (request_id, user_id, action,"
    "                              affected_columns, processing_ms)"
    "  SELECT er.request_id, er.user_id, 'anonymize_user', er.cols, o.ms"
    "    FROM er JOIN o ON o.id = er.request_id"
    "  UNION ALL"
    "  SELECT o.id, o.user_id, o.status, '{}', o.ms"
    "    FROM o WHERE o.status <> 'anonymized') "
    "SELECT o.id, o.status, o.user_id, o.ms FROM o ORDER BY o.id";

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

static const char SQL_BACKLOG[] =
    "SELECT (SELECT count(*) FROM privacy_requests"
    "         WHERE status = 'pending'),"
    "       (SELECT count(*) FROM outbox"
    "         WHERE channel = 'erasure_notice' AND sent_at IS NULL)";

static const char SQL_PENDING[] =
    "SELECT count(*) FILTER (WHERE kind = 'erasure'),"
    "       count(*) FILTER (WHERE kind = 'access'),"
    "       coalesce(extract(epoch FROM now() - min(requested_at)), 0)"
    "  FROM privacy_requests WHERE status = 'pending'";

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
        r->erased = 0;
        r->fallback = false;
        r->exports_deleted = 0;
}

void sg_erase_result_fini(sg_erase_result_t *r)
{
        free(r->v);
        memset(r, 0, sizeof(*r));
}

static sg_erase_outcome_t *sg_erase_result_add(sg_erase_result_t *r)
{
        if (r->n == r->cap) {
                r->cap = r->cap ? r->cap * 2 : 128;
                r->v = sg_xrealloc(r->v, (size_t)r->cap * sizeof(*r->v));
        }
        memset(&r->v[r->n], 0, sizeof(r->v[0]));
        return &r->v[r->n++];
}

/* Describes the failure behind res for the request's error column, which
 * anyone reading outcomes sees: the SQLSTATE and the names of the objects
 * involved, and the message only for the classes that never quote data
 * (connection, access rules, operator intervention, resources,
 * transaction rollback), because messages and details can quote the data
 * (an e-mail, a name). */
static void sg_erase_why(const PGresult *res, char *out, size_t size)
{
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        char objects[200];
        size_t n;

        sg_pg_err_objects(res, objects, sizeof(objects));
        n = (size_t)snprintf(out, size, "SQLSTATE %s", objects);
        if (state && primary && n < size &&
            (strncmp(state, "08", 2) == 0 || strncmp(state, "42", 2) == 0 ||
             strncmp(state, "57", 2) == 0 || strncmp(state, "53", 2) == 0 ||
             strncmp(state, "40", 2) == 0))
                snprintf(out + n, size - n, ": %s", primary);
}

/* Reads SQL_PROCESS's rows into out. Returns 0, or -1 with err on a row
 * that makes no sense (a bug, not data: fatal). */
static int sg_erase_collect(PGresult *res, sg_erase_result_t *out,
                            sg_pg_err_t *err)
{
        for (int i = 0; i < PQntuples(res); i++) {
                sg_erase_outcome_t *oc = sg_erase_result_add(out);
                const char *uid = PQgetvalue(res, i, 2);

                oc->request_id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                if (sg_erase_status_parse(PQgetvalue(res, i, 1), &oc->status) <
                    0) {
                        sg_pg_err_fmt(err, false,
                                      "unexpected status for request id=%lld",
                                      oc->request_id);
                        return -1;
                }
                if (!PQgetisnull(res, i, 2))
                        (void)sg_uuid_canon(uid, strlen(uid), oc->user_id);
                oc->processing_ms = strtod(PQgetvalue(res, i, 3), NULL);
                if (oc->status == SG_ERASE_FAILED)
                        snprintf(oc->error, sizeof(oc->error),
                                 "the request has no e-mail");
                if (oc->status == SG_ERASE_ANONYMIZED)
                        out->erased++;
        }
        return 0;
}

/* Runs SQL_PROCESS for the requests in ids_literal. Returns 0 (rows added
 * to out), or -1 with *res_out set to the failed result (caller clears it)
 * or with err (collect failed; *res_out NULL). */
static int sg_erase_process(PGconn *conn, const char *ids_literal,
                            sg_erase_result_t *out, PGresult **res_out,
                            sg_pg_err_t *err)
{
        const char *params[1] = {ids_literal};
        PGresult *res;
        int rc;

        *res_out = NULL;
        res = PQexecParams(conn, SQL_PROCESS, 1, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                *res_out = res;
                return -1;
        }
        rc = sg_erase_collect(res, out, err);
        PQclear(res);
        return rc;
}

/* The batch statement failed for a reason other than the connection:
 * processes the requests one by one, each under its own savepoint, and
 * marks those that fail on their own as failed. Returns 0, or -1 with
 * err. */
static int sg_erase_one_by_one(PGconn *conn, const long long *ids, int n,
                               sg_erase_result_t *out, sg_pg_err_t *err)
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
                if (sg_pg_exec(conn, "SAVEPOINT sg_request", err) < 0)
                        return -1;
                if (sg_erase_process(conn, one, out, &res, err) == 0) {
                        if (sg_pg_exec(conn, "RELEASE SAVEPOINT sg_request",
                                       err) < 0)
                                return -1;
                        continue;
                }
                if (!res)
                        return -1; /* err set: a bug, not transient */
                sg_pg_err_set(err, conn, res, "request");
                if (err->transient) {
                        PQclear(res);
                        return -1;
                }
                sg_erase_why(res, why, sizeof(why));
                PQclear(res);
                if (sg_pg_exec(conn, "ROLLBACK TO SAVEPOINT sg_request", err) <
                    0)
                        return -1;
                params[1] = why;
                res = sg_pg_query(conn, SQL_FAIL, 2, params, 0,
                                  "marking a request failed", err);
                if (!res)
                        return -1;
                if (PQntuples(res) == 1) {
                        oc = sg_erase_result_add(out);
                        oc->request_id = ids[i];
                        oc->status = SG_ERASE_FAILED;
                        oc->processing_ms = strtod(PQgetvalue(res, 0, 0), NULL);
                        snprintf(oc->error, sizeof(oc->error), "%s", why);
                }
                PQclear(res);
                if (sg_pg_exec(conn, "RELEASE SAVEPOINT sg_request", err) < 0)
                        return -1;
        }
        return 0;
}

/* An alert for each request of the batch that ended failed, in the
 * batch's transaction. */
static int sg_erase_alert_failed(PGconn *conn, const sg_erase_result_t *out,
                                 sg_pg_err_t *err)
{
        for (int i = 0; i < out->n; i++) {
                const sg_erase_outcome_t *oc = &out->v[i];
                char id[24], summary[320];

                if (oc->status != SG_ERASE_FAILED)
                        continue;
                snprintf(id, sizeof(id), "%lld", oc->request_id);
                snprintf(summary, sizeof(summary),
                         "privacy request %s failed: %s", id,
                         oc->error[0] ? oc->error : "the request has no e-mail");
                if (sg_alert_add(conn,
                                 &(sg_alert_t){.source = "gdpr",
                                               .kind = "request_failed",
                                               .key = id,
                                               .severity = "high",
                                               .subject_type = "privacy_request",
                                               .subject_id = id,
                                               .summary = summary},
                                 err) < 0)
                        return -1;
        }
        return 0;
}

int sg_erase_overdue(PGconn *conn, double age_days, double limit_days,
                     int *raised, sg_pg_err_t *err)
{
        char s_age[32];
        const char *params[1] = {s_age};
        PGresult *res;
        sg_alert_t *a = NULL;
        char (*text)[3][256] = NULL;
        long long added = 0;
        int n;

        *raised = 0;
        snprintf(s_age, sizeof(s_age), "%.6f", age_days);
        if (sg_pg_begin(conn, err) < 0)
                return -1;
        res = sg_pg_query(conn,
                          "SELECT id, extract(epoch FROM now() - requested_at) "
                          "/ 86400 FROM privacy_requests "
                          "WHERE status = 'pending' AND requested_at < now() - "
                          "make_interval(secs => $1::double precision * 86400) "
                          "ORDER BY id LIMIT 1000",
                          1, params, 0, "reading overdue requests", err);
        if (!res)
                goto fail;
        n = PQntuples(res);
        if (n > 0) {
                a = sg_xcalloc((size_t)n, sizeof(*a));
                text = sg_xcalloc((size_t)n, sizeof(*text));
        }
        for (int i = 0; i < n; i++) {
                const char *id = PQgetvalue(res, i, 0);
                double age = strtod(PQgetvalue(res, i, 1), NULL);

                snprintf(text[i][0], 256, "%s", id);
                snprintf(text[i][1], 256,
                         "{\"age_days\":%.1f,\"limit_days\":%.0f,"
                         "\"days_left\":%.1f}",
                         age, limit_days, limit_days - age);
                snprintf(text[i][2], 256,
                         "privacy request %s pending for %.1f days (legal "
                         "limit %.0f days, %.1f left)",
                         id, age, limit_days, limit_days - age);
                a[i] = (sg_alert_t){.source = "gdpr",
                                    .kind = "request_overdue",
                                    .key = text[i][0],
                                    .severity = "high",
                                    .subject_type = "privacy_request",
                                    .subject_id = text[i][0],
                                    .counts = text[i][1],
                                    .summary = text[i][2]};
        }
        added = n > 0 ? sg_alerts_add(conn, a, (size_t)n, err) : 0;
        PQclear(res);
        free(a);
        free(text);
        if (added < 0 || sg_pg_commit(conn, err) < 0)
                goto fail;
        *raised = (int)added;
        return 0;
fail:
        sg_pg_rollback(conn);
        return -1;
}

int sg_erase_batch(PGconn *conn, int batch_size, const char *export_dir,
                   sg_erase_result_t *out, sg_pg_err_t *err)
{
        char limit[16];
        const char *params[1] = {limit};
        long long *ids = NULL;
        sg_buf_t lit;
        PGresult *res = NULL;
        int n, rc = -1;

        sg_erase_result_reset(out);
        sg_buf_init(&lit);
        if (sg_pg_begin(conn, err) < 0)
                goto out;
        snprintf(limit, sizeof(limit), "%d", batch_size);
        res = sg_pg_query(conn, SQL_CLAIM, 1, params, 0,
                          "claiming pending requests", err);
        if (!res)
                goto out;
        n = PQntuples(res);
        if (n == 0) {
                rc = sg_pg_commit(conn, err);
                goto out_done;
        }
        ids = sg_xmalloc((size_t)n * sizeof(*ids));
        sg_buf_array_begin(&lit);
        for (int i = 0; i < n; i++) {
                ids[i] = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                sg_buf_array_int(&lit, ids[i]);
        }
        sg_buf_array_end(&lit);
        PQclear(res);
        out->claimed = n;

        params[0] = lit.data;
        res = sg_pg_query(conn, SQL_LOCK_USERS, 1, params, 0,
                          "locking the users named", err);
        if (!res)
                goto out;
        PQclear(res);
        res = NULL;

        if (sg_pg_exec(conn, "SAVEPOINT sg_batch", err) < 0)
                goto out;
        if (sg_erase_process(conn, lit.data, out, &res, err) == 0) {
                if (sg_pg_exec(conn, "RELEASE SAVEPOINT sg_batch", err) < 0)
                        goto out;
        } else {
                char why[160];
                if (!res)
                        goto out; /* err set, not transient */
                sg_pg_err_set(err, conn, res, "request batch");
                if (err->transient)
                        goto out;
                sg_erase_why(res, why, sizeof(why));
                PQclear(res);
                res = NULL;
                sg_warn("batch of requests=%d failed (%s): processing them "
                        "one by one",
                        n, why);
                sg_erase_result_reset(out);
                out->claimed = n;
                if (sg_pg_exec(conn, "ROLLBACK TO SAVEPOINT sg_batch", err) <
                        0 ||
                    sg_erase_one_by_one(conn, ids, n, out, err) < 0)
                        goto out;
        }
        /* An export is a copy of the user's data: it goes with them. A
         * rollback after this leaves the files deleted and the user not
         * erased yet; the retry erases them. */
        if (export_dir && out->erased > 0 &&
            sg_export_purge(conn, export_dir, lit.data, &out->exports_deleted,
                            err) < 0)
                goto out;
        if (sg_erase_alert_failed(conn, out, err) < 0)
                goto out;
        rc = sg_pg_commit(conn, err);
        goto out_done;
out:
        /* Whatever happened, leave no transaction open (harmless when the
         * connection is gone). */
        sg_pg_rollback(conn);
out_done:
        if (rc < 0)
                sg_erase_result_reset(out);
        PQclear(res);
        free(ids);
        sg_buf_fini(&lit);
        return rc;
}

int sg_erase_pending(PGconn *conn, long long pending[2], double *oldest_s,
                     sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn, SQL_PENDING, 0, NULL, 1,
                                    "counting pending requests", err);

        if (!res)
                return -1;
        pending[0] = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        pending[1] = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        *oldest_s = strtod(PQgetvalue(res, 0, 2), NULL);
        PQclear(res);
        return 0;
}

int sg_erase_backlog(PGconn *conn, long long *pending_requests,
                     long long *unsent_notices, sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn, SQL_BACKLOG, 0, NULL, 1,
                                    "reading the backlog", err);

        if (!res)
                return -1;
        *pending_requests = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        *unsent_notices = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
        PQclear(res);
        return 0;
}
