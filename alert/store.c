#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "sg_buf.h"
#include "sg_pg.h"

#define SG_STORE_FOLD_MAX 10000 /* rows folded into one digest at most */

/* Durations travel as milliseconds: "$n::bigint * interval '1
 * millisecond'". */

static const char *const sg_store_route_sql =
    "WITH a AS ("
    "  SELECT alert_id, source, severity FROM alerts"
    "   WHERE routed_at IS NULL"
    "   ORDER BY created_at LIMIT $4"
    "   FOR UPDATE SKIP LOCKED),"
    " s AS (SELECT * FROM unnest($1::text[], $2::text[], $3::int[])"
    "        AS s(sink, sources, min_sev)),"
    " ins AS ("
    "  INSERT INTO alert_deliveries (alert_id, sink)"
    "  SELECT a.alert_id, s.sink FROM a CROSS JOIN s"
    "   WHERE a.source <> 'digest'"
    "     AND (a.source = 'test'"
    "          OR a.source = ANY (string_to_array(s.sources, ',')))"
    "     AND (CASE a.severity WHEN 'high' THEN 3 WHEN 'medium' THEN 2"
    "          ELSE 1 END) >= s.min_sev"
    "  ON CONFLICT DO NOTHING RETURNING 1),"
    " upd AS ("
    "  UPDATE alerts SET routed_at = now() FROM a"
    "   WHERE alerts.alert_id = a.alert_id RETURNING 1)"
    "SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM ins)";

int sg_store_route(PGconn *conn, const sg_sinks_t *s, int batch,
                   long long *deliveries, sg_pg_err_t *err)
{
        sg_buf_t names, sources, sevs;
        char limit[16], list[128];
        const char *params[4];
        PGresult *res;
        int routed = -1;

        sg_buf_init(&names);
        sg_buf_init(&sources);
        sg_buf_init(&sevs);
        sg_buf_array_begin(&names);
        sg_buf_array_begin(&sources);
        sg_buf_array_begin(&sevs);
        for (int i = 0; i < s->n; i++) {
                sg_sinks_sources_list(s->sink[i].sources, list, sizeof(list));
                sg_buf_array_str(&names, s->sink[i].name);
                sg_buf_array_str(&sources, list);
                sg_buf_array_int(&sevs, s->sink[i].min_severity);
        }
        sg_buf_array_end(&names);
        sg_buf_array_end(&sources);
        sg_buf_array_end(&sevs);
        snprintf(limit, sizeof(limit), "%d", batch);
        params[0] = names.data;
        params[1] = sources.data;
        params[2] = sevs.data;
        params[3] = limit;
        res = sg_pg_query(conn, sg_store_route_sql, 4, params, 1,
                          "routing alerts", err);
        if (res) {
                routed = atoi(PQgetvalue(res, 0, 0));
                *deliveries = atoll(PQgetvalue(res, 0, 1));
                PQclear(res);
        }
        sg_buf_fini(&names);
        sg_buf_fini(&sources);
        sg_buf_fini(&sevs);
        return routed;
}

/* A one-value query's value as a number (-1 with err on failure). */
static long long sg_store_number(PGconn *conn, const char *sql, int nparams,
                                 const char *const *params, const char *what,
                                 sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn, sql, nparams, params, 1, what, err);
        long long v;

        if (!res)
                return -1;
        v = atoll(PQgetvalue(res, 0, 0));
        PQclear(res);
        return v;
}

static const char *const sg_store_claim_sql =
    "WITH c AS ("
    "  SELECT d.alert_id FROM alert_deliveries d JOIN alerts a USING (alert_id)"
    "   WHERE d.sink = $1 AND d.status = 'pending'"
    "     AND d.next_attempt_at <= now()"
    "     AND (d.leased_until IS NULL OR d.leased_until <= now())"
    "     AND (a.source = 'digest') = $2::boolean"
    "   ORDER BY d.next_attempt_at, a.created_at LIMIT $3"
    "   FOR UPDATE OF d SKIP LOCKED),"
    " u AS ("
    "  UPDATE alert_deliveries d"
    "     SET leased_until = now() + $4::bigint * interval '1 millisecond',"
    "         attempts = d.attempts + 1"
    "    FROM c WHERE d.alert_id = c.alert_id AND d.sink = $1"
    "  RETURNING d.alert_id, d.attempts, d.last_error)"
    "SELECT u.alert_id, u.attempts, coalesce(u.last_error, ''), a.source,"
    "       a.kind, a.severity, a.subject_type, a.subject_id, a.counts::text,"
    "       a.summary,"
    "       to_char(a.created_at AT TIME ZONE 'UTC',"
    "               'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'),"
    "       to_char(a.cause_at AT TIME ZONE 'UTC',"
    "               'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    "  FROM u JOIN alerts a USING (alert_id)"
    " ORDER BY a.created_at";

/* Leases up to limit due rows of the sink, digests or not. */
static PGresult *sg_store_lease(PGconn *conn, const sg_sinks_t *s,
                                const sg_sink_t *k, bool digests, int limit,
                                sg_pg_err_t *err)
{
        char lim[16], lease[24];
        const char *params[4];

        snprintf(lim, sizeof(lim), "%d", limit);
        snprintf(lease, sizeof(lease), "%lld", s->lease_ms);
        params[0] = k->name;
        params[1] = digests ? "true" : "false";
        params[2] = lim;
        params[3] = lease;
        return sg_pg_query(conn, sg_store_claim_sql, 4, params, 0,
                           "leasing deliveries", err);
}

/* Folds the sink's due, never-attempted rows into one digest alert with
 * one delivery row for that sink. Returns the rows folded, or -1. */
static long long sg_store_fold(PGconn *conn, const sg_sink_t *k,
                               sg_pg_err_t *err)
{
        static const char *const recent_sql =
            "SELECT count(*) FROM alerts"
            " WHERE source = 'digest' AND subject_type = 'sink'"
            "   AND subject_id = $1"
            "   AND created_at > now() - interval '60 seconds'";
        static const char *const pick_sql =
            "SELECT d.alert_id, a.kind, a.severity"
            "  FROM alert_deliveries d JOIN alerts a USING (alert_id)"
            " WHERE d.sink = $1 AND d.status = 'pending' AND d.attempts = 0"
            "   AND d.next_attempt_at <= now()"
            "   AND (d.leased_until IS NULL OR d.leased_until <= now())"
            "   AND a.source <> 'digest'"
            " ORDER BY a.created_at LIMIT $2"
            "   FOR UPDATE OF d SKIP LOCKED";
        static const char *const insert_sql =
            "WITH a AS ("
            "  INSERT INTO alerts (alert_id, source, kind, severity,"
            "                      subject_type, subject_id, counts, summary,"
            "                      routed_at)"
            "  VALUES ($1::uuid, 'digest', 'digest', $2, 'sink', $3,"
            "          $4::jsonb, $5, now())"
            "  RETURNING alert_id),"
            " d AS (INSERT INTO alert_deliveries (alert_id, sink)"
            "        SELECT alert_id, $3 FROM a)"
            "UPDATE alert_deliveries SET status = 'digested',"
            "       digest_id = $1::uuid, leased_until = NULL"
            " WHERE sink = $3 AND alert_id = ANY ($6::uuid[])"
            "   AND status = 'pending'";
        const char *params[6];
        char max[16], id[SG_UUID_LEN + 1], summary[512];
        const char **kinds = NULL, **sevs = NULL;
        char *counts = NULL;
        sg_buf_t ids, name;
        PGresult *res = NULL;
        long long recent, folded = -1, affected = 0;
        int n, sev;

        params[0] = k->name;
        recent = sg_store_number(conn, recent_sql, 1, params,
                                 "looking for a recent digest", err);
        if (recent != 0)
                return recent < 0 ? -1 : 0;
        snprintf(max, sizeof(max), "%d", SG_STORE_FOLD_MAX);
        params[1] = max;
        res = sg_pg_query(conn, pick_sql, 2, params, 0, "picking rows to fold",
                          err);
        if (!res)
                return -1;
        n = PQntuples(res);
        if (n == 0) {
                PQclear(res);
                return 0;
        }
        sg_buf_init(&ids);
        sg_buf_init(&name);
        kinds = sg_xcalloc((size_t)n, sizeof(*kinds));
        sevs = sg_xcalloc((size_t)n, sizeof(*sevs));
        sg_buf_array_begin(&ids);
        for (int i = 0; i < n; i++) {
                sg_buf_array_str(&ids, PQgetvalue(res, i, 0));
                kinds[i] = PQgetvalue(res, i, 1);
                sevs[i] = PQgetvalue(res, i, 2);
        }
        sg_buf_array_end(&ids);
        sg_payload_digest(kinds, sevs, n, &counts, summary, sizeof(summary),
                          &sev);
        /* Named by what it carries: the sink and the folded rows. */
        sg_buf_printf(&name, "digest|%s|", k->name);
        sg_buf_append(&name, ids.data, ids.len);
        sg_uuid_from_name(name.data, name.len, id);
        params[0] = id;
        params[1] = sg_sinks_severity_name(sev);
        params[2] = k->name;
        params[3] = counts;
        params[4] = summary;
        params[5] = ids.data;
        if (sg_pg_command(conn, insert_sql, 6, params, "making a digest",
                          &affected, err) == 0)
                folded = affected;
        free(counts);
        free(kinds);
        free(sevs);
        sg_buf_fini(&ids);
        sg_buf_fini(&name);
        PQclear(res);
        return folded;
}

int sg_store_claim(PGconn *conn, const sg_sinks_t *s, const sg_sink_t *k,
                   int limit, sg_store_claim_t *out, sg_pg_err_t *err)
{
        static const char *const lock_sql =
            "SELECT 1 FROM pg_advisory_xact_lock(hashtext('sg_alert:' || $1))";
        static const char *const expire_sql =
            "UPDATE alert_deliveries d SET status = 'dead', leased_until = NULL,"
            "       last_error = coalesce(d.last_error, 'max_age')"
            "  FROM alerts a"
            " WHERE a.alert_id = d.alert_id AND d.sink = $1"
            "   AND d.status = 'pending'"
            "   AND (d.leased_until IS NULL OR d.leased_until <= now())"
            "   AND a.created_at <= now() - $2::bigint * interval '1 millisecond'";
        static const char *const used_sql =
            "SELECT count(*) FROM alert_deliveries d JOIN alerts a"
            " USING (alert_id)"
            " WHERE d.sink = $1 AND a.source <> 'digest'"
            "   AND ((d.status = 'sent'"
            "         AND d.sent_at > now() - interval '60 seconds')"
            "        OR (d.status = 'pending' AND d.leased_until > now()))";
        const char *params[2];
        char age[24];
        PGresult *r;
        long long used;
        int budget, got;

        memset(out, 0, sizeof(*out));
        if (sg_pg_begin(conn, err) < 0)
                return -1;
        params[0] = k->name;
        r = sg_pg_query(conn, lock_sql, 1, params, 1, "locking the sink", err);
        if (!r)
                goto fail;
        PQclear(r);
        snprintf(age, sizeof(age), "%lld", s->max_age_ms);
        params[1] = age;
        if (sg_pg_command(conn, expire_sql, 2, params, "expiring deliveries",
                          &out->expired, err) < 0)
                goto fail;
        used = sg_store_number(conn, used_sql, 1, params,
                               "counting the sink's budget", err);
        if (used < 0)
                goto fail;
        out->res[0] = sg_store_lease(conn, s, k, true, limit, err);
        if (!out->res[0])
                goto fail;
        got = PQntuples(out->res[0]);
        budget = k->rate_per_minute - (int)used;
        if (budget > limit - got)
                budget = limit - got;
        if (budget > 0) {
                out->res[1] = sg_store_lease(conn, s, k, false, budget, err);
                if (!out->res[1])
                        goto fail;
                used += PQntuples(out->res[1]);
        }
        if (used >= k->rate_per_minute) {
                out->throttled = true;
                out->digested = sg_store_fold(conn, k, err);
                if (out->digested < 0)
                        goto fail;
                out->digest = out->digested > 0;
        }
        if (sg_pg_commit(conn, err) < 0)
                goto fail;
        return 0;
fail:
        sg_pg_rollback(conn);
        PQclear(out->res[0]);
        PQclear(out->res[1]);
        memset(out, 0, sizeof(*out));
        return -1;
}

static const char *const sg_store_record_sql =
    "UPDATE alert_deliveries d"
    "   SET status = CASE WHEN u.status = 'pending'"
    "                      AND a.created_at + $8::bigint * interval '1 millisecond'"
    "                          < now() + u.delay_ms * interval '1 millisecond'"
    "                     THEN 'dead' ELSE u.status END,"
    "       next_attempt_at = CASE WHEN u.status = 'pending'"
    "            THEN now() + u.delay_ms * interval '1 millisecond'"
    "            ELSE d.next_attempt_at END,"
    "       leased_until = NULL,"
    "       last_error = CASE WHEN u.status = 'sent' THEN d.last_error"
    "            ELSE u.reason END,"
    "       http_status = coalesce(nullif(u.http, 0), d.http_status),"
    "       sent_at = CASE WHEN u.status = 'sent' THEN now() ELSE d.sent_at END"
    "  FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::int[],"
    "              $6::bigint[], $7::text[])"
    "       AS u(alert_id, sink, attempts, status, http, delay_ms, reason)"
    "  JOIN alerts a ON a.alert_id = u.alert_id"
    " WHERE d.alert_id = u.alert_id AND d.sink = u.sink"
    "   AND d.status = 'pending'"
    "   AND (u.status = 'sent' OR d.attempts = u.attempts)"
    " RETURNING d.status = 'dead' AND u.status = 'pending'";

int sg_store_record(PGconn *conn, const sg_store_outcome_t *v, int n,
                    long long max_age_ms, long long *aged, sg_pg_err_t *err)
{
        static const char *const status[] = {
            [SG_RETRY_SENT] = "sent",
            [SG_RETRY_AGAIN] = "pending",
            [SG_RETRY_DEAD] = "dead",
        };
        sg_buf_t a[7];
        const char *params[8];
        char age[24];
        PGresult *res;
        int rc = -1;

        *aged = 0;
        for (int i = 0; i < 7; i++) {
                sg_buf_init(&a[i]);
                sg_buf_array_begin(&a[i]);
        }
        for (int i = 0; i < n; i++) {
                sg_buf_array_str(&a[0], v[i].alert_id);
                sg_buf_array_str(&a[1], v[i].sink);
                sg_buf_array_int(&a[2], v[i].attempts);
                sg_buf_array_str(&a[3], status[v[i].verdict]);
                sg_buf_array_int(&a[4], v[i].http_status);
                sg_buf_array_int(&a[5], v[i].delay_ms);
                sg_buf_array_str(&a[6], v[i].reason);
        }
        for (int i = 0; i < 7; i++) {
                sg_buf_array_end(&a[i]);
                params[i] = a[i].data;
        }
        snprintf(age, sizeof(age), "%lld", max_age_ms);
        params[7] = age;
        res = sg_pg_query(conn, sg_store_record_sql, 8, params, 0,
                          "recording outcomes", err);
        if (res) {
                for (int i = 0; i < PQntuples(res); i++)
                        if (PQgetvalue(res, i, 0)[0] == 't')
                                (*aged)++;
                PQclear(res);
                rc = 0;
        }
        for (int i = 0; i < 7; i++)
                sg_buf_fini(&a[i]);
        return rc;
}

long long sg_store_orphans(PGconn *conn, const sg_sinks_t *s,
                           sg_pg_err_t *err)
{
        sg_buf_t names;
        char age[24];
        const char *params[2];
        long long n = 0;
        int rc;

        sg_buf_init(&names);
        sg_buf_array_begin(&names);
        for (int i = 0; i < s->n; i++)
                sg_buf_array_str(&names, s->sink[i].name);
        sg_buf_array_end(&names);
        snprintf(age, sizeof(age), "%lld", s->max_age_ms);
        params[0] = names.data;
        params[1] = age;
        rc = sg_pg_command(
            conn,
            "UPDATE alert_deliveries d SET status = 'dead',"
            "       last_error = 'sink_removed', leased_until = NULL"
            "  FROM alerts a"
            " WHERE a.alert_id = d.alert_id AND d.status = 'pending'"
            "   AND NOT (d.sink = ANY ($1::text[]))"
            "   AND a.created_at + $2::bigint * interval '1 millisecond' < now()",
            2, params, "expiring the rows of removed sinks", &n, err);
        sg_buf_fini(&names);
        return rc < 0 ? -1 : n;
}

int sg_store_backlog(PGconn *conn, long long *due, long long *leased,
                     sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(
            conn,
            "SELECT count(*) FILTER (WHERE next_attempt_at <= now()"
            "                        AND (leased_until IS NULL"
            "                             OR leased_until <= now())),"
            "       count(*) FILTER (WHERE leased_until > now())"
            "  FROM alert_deliveries WHERE status = 'pending'",
            0, NULL, 1, "counting the backlog", err);

        if (!res)
                return -1;
        *due = atoll(PQgetvalue(res, 0, 0));
        *leased = atoll(PQgetvalue(res, 0, 1));
        PQclear(res);
        return 0;
}

const char *const sg_store_states[SG_STORE_NSTATES] = {"pending", "sent",
                                                       "dead", "digested"};

int sg_store_count_states(PGconn *conn, long long out[SG_STORE_NSTATES],
                          sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(
            conn,
            "SELECT count(*) FILTER (WHERE status = 'pending'),"
            "       count(*) FILTER (WHERE status = 'sent'),"
            "       count(*) FILTER (WHERE status = 'dead'),"
            "       count(*) FILTER (WHERE status = 'digested')"
            "  FROM alert_deliveries",
            0, NULL, 1, "counting deliveries by status", err);

        if (!res)
                return -1;
        for (int i = 0; i < SG_STORE_NSTATES; i++)
                out[i] = atoll(PQgetvalue(res, 0, i));
        PQclear(res);
        return 0;
}
