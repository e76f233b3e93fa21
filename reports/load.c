#include "load.h"
#include "sg_defs.h"
#include "sg_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- daily ---------------------------------------------------------- */

/* $1: the date. Headline figures from events_raw; revenue is the exact
 * NUMERIC sum of purchase amounts, the average order value revenue /
 * purchases rounded to cents (NULL without purchases). */
static const char SQL_DAILY_KPI[] =
    "SELECT count(*),"
    "       count(DISTINCT user_id),"
    "       count(*) FILTER (WHERE event_type = 'purchase'),"
    "       coalesce(sum(amount) FILTER (WHERE event_type = 'purchase'),"
    "                0.00)::text,"
    "       round(avg(amount) FILTER (WHERE event_type = 'purchase'), 2)"
    "         ::text,"
    "       count(DISTINCT user_id) FILTER (WHERE event_type = 'page_view'),"
    "       count(DISTINCT user_id) FILTER (WHERE event_type = 'purchase'),"
    "       count(*) FILTER (WHERE event_type = 'play'),"
    "       count(*) FILTER (WHERE event_type = 'playback_error'),"
    "       coalesce(sum(watch_seconds) FILTER (WHERE event_type = 'stop'),"
    "                0)"
    "  FROM events_raw WHERE event_date = $1::date";

static const char SQL_DAILY_TYPES[] =
    "SELECT event_type, count(*) FROM events_raw"
    " WHERE event_date = $1::date"
    " GROUP BY event_type"
    " ORDER BY count(*) DESC, event_type COLLATE \"C\"";

static const char SQL_DAILY_CURRENCIES[] =
    "SELECT currency::text, count(*), sum(amount)::text,"
    "       round(avg(amount), 2)::text"
    "  FROM events_raw"
    " WHERE event_date = $1::date AND event_type = 'purchase'"
    " GROUP BY currency"
    " ORDER BY count(*) DESC, currency::text COLLATE \"C\"";

static const char SQL_DAILY_COUNTRIES[] =
    "SELECT country, count(*), sum(amount)::text,"
    "       string_agg(DISTINCT currency::text COLLATE \"C\", ', '"
    "                  ORDER BY currency::text COLLATE \"C\")"
    "  FROM events_raw"
    " WHERE event_date = $1::date AND event_type = 'purchase'"
    " GROUP BY country"
    " ORDER BY sum(amount) DESC, country COLLATE \"C\""
    " LIMIT 5";

static const char SQL_DAILY_WORST_CONTENT[] =
    "SELECT content_id, count(*) FROM events_raw"
    " WHERE event_date = $1::date AND event_type = 'playback_error'"
    "   AND content_id IS NOT NULL"
    " GROUP BY content_id"
    " ORDER BY count(*) DESC, content_id COLLATE \"C\""
    " LIMIT 1";

static const char SQL_DAILY_HOURLY[] =
    "SELECT extract(hour FROM event_timestamp AT TIME ZONE 'UTC')::int AS h,"
    "       event_type, count(*)"
    "  FROM events_raw WHERE event_date = $1::date"
    " GROUP BY 1, 2"
    " ORDER BY h, event_type COLLATE \"C\"";

/* Per event type: both sides of the date, a missing side as NULL, the
 * differences (streaming - batch, a missing side as 0) and whether the
 * row differs: the view sg-compare reads too (sql/007). */
static const char SQL_DAILY_COMPARE[] =
    "SELECT event_type, in_batch, in_streaming,"
    "       batch_events, streaming_events,"
    "       batch_amount::text, streaming_amount::text,"
    "       events_delta, amount_delta::numeric(20, 2)::text, differs"
    "  FROM metrics_compare_daily WHERE event_date = $1::date"
    " ORDER BY event_type COLLATE \"C\"";

static const char SQL_DAILY_BATCH_RUN[] =
    "SELECT id, date_from::text, date_to::text,"
    "       to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"
    "  FROM metrics_batch_runs"
    " WHERE $1::date BETWEEN date_from AND date_to"
    " ORDER BY finished_at DESC, id DESC"
    " LIMIT 1";

/* ---- gdpr ----------------------------------------------------------- */

/* The day's requests with their status at the reference time ($1 + 1
 * day, 00:00 UTC): pending unless processed before it. Column list only:
 * the analytics role may not read email. */
#define SQL_GDPR_DAY                                                           \
        "WITH k AS (SELECT $1::date::timestamp AT TIME ZONE 'UTC' AS s,"       \
        "                  ($1::date + 1)::timestamp AT TIME ZONE 'UTC'"       \
        "                    AS ref),"                                         \
        "     d AS (SELECT p.id, p.requested_at, p.processed_at,"              \
        "                  CASE WHEN p.processed_at IS NULL"                   \
        "                         OR p.processed_at >= k.ref"                  \
        "                       THEN 'pending' ELSE p.status END AS st"        \
        "             FROM privacy_requests p, k"                              \
        "            WHERE p.requested_at >= k.s"                              \
        "              AND p.requested_at < k.ref) "

static const char SQL_GDPR_FIGURES[] = SQL_GDPR_DAY
    "SELECT count(*),"
    "       count(*) FILTER (WHERE st = 'pending'),"
    "       count(*) FILTER (WHERE st = 'anonymized'),"
    "       count(*) FILTER (WHERE st = 'already_anonymized'),"
    "       count(*) FILTER (WHERE st = 'not_found'),"
    "       count(*) FILTER (WHERE st = 'failed'),"
    "       count(*) FILTER (WHERE st = 'exported'),"
    "       (SELECT count(DISTINCT a.user_id)"
    "          FROM gdpr_audit_log a JOIN d ON d.id = a.request_id, k"
    "         WHERE a.action = 'anonymize_user' AND a.created_at < k.ref),"
    "       count(*) FILTER (WHERE st <> 'pending' AND NOT EXISTS"
    "                        (SELECT 1 FROM gdpr_audit_log a"
    "                          WHERE a.request_id = d.id)),"
    "       to_char((SELECT ref FROM k) AT TIME ZONE 'UTC',"
    "               'YYYY-MM-DD HH24:MI:SS')"
    "  FROM d";

static const char SQL_GDPR_LATENCIES[] = SQL_GDPR_DAY
    "SELECT extract(epoch FROM processed_at - requested_at)::float8"
    "  FROM d WHERE st <> 'pending'"
    " ORDER BY 1, id";

static const char SQL_GDPR_RECENT[] = SQL_GDPR_DAY
    "SELECT id, to_char(requested_at AT TIME ZONE 'UTC',"
    "                   'YYYY-MM-DD HH24:MI:SS'),"
    "       st, st <> 'pending',"
    "       CASE WHEN st <> 'pending'"
    "            THEN extract(epoch FROM processed_at - requested_at)::float8"
    "       END"
    "  FROM d"
    " ORDER BY requested_at DESC, id DESC"
    " LIMIT 10";

/* Requests pending at the reference time, whatever their date. $2: the
 * SLA in days; $3: how many breaches to list. */
#define SQL_GDPR_PENDING                                                       \
        "WITH k AS (SELECT ($1::date + 1)::timestamp AT TIME ZONE 'UTC'"       \
        "                    AS ref),"                                         \
        "     p AS (SELECT r.id, r.requested_at,"                              \
        "                  extract(epoch FROM k.ref - r.requested_at)"         \
        "                    ::float8 AS age,"                                 \
        "                  r.requested_at < k.ref"                             \
        "                    - make_interval(days => $2::int) AS breach"       \
        "             FROM privacy_requests r, k"                              \
        "            WHERE r.requested_at < k.ref"                             \
        "              AND (r.processed_at IS NULL"                            \
        "                   OR r.processed_at >= k.ref)) "

static const char SQL_GDPR_BACKLOG[] = SQL_GDPR_PENDING
    "SELECT (SELECT count(*) FROM p),"
    "       (SELECT count(*) FROM p WHERE breach),"
    "       o.id,"
    "       to_char(o.requested_at AT TIME ZONE 'UTC',"
    "               'YYYY-MM-DD HH24:MI:SS'),"
    "       o.age"
    "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    "       (SELECT * FROM p ORDER BY requested_at, id LIMIT 1) AS o ON true";

static const char SQL_GDPR_BREACHES[] =
    SQL_GDPR_PENDING "SELECT id, to_char(requested_at AT TIME ZONE 'UTC',"
                     "                   'YYYY-MM-DD HH24:MI:SS'),"
                     "       age"
                     "  FROM p WHERE breach"
                     " ORDER BY requested_at, id"
                     " LIMIT $3::int";

#define SG_LOAD_MAX_BREACHES 20

/* ---- compliance ----------------------------------------------------- */

/* The flags of $1: the window starts on that UTC day (event time; see
 * report_compliance.h for why not detected_at). */
#define SQL_CR_FLAGS                                                           \
        "WITH k AS (SELECT $1::date::timestamp AT TIME ZONE 'UTC' AS s,"       \
        "                  ($1::date + 1)::timestamp AT TIME ZONE 'UTC'"       \
        "                    AS e),"                                           \
        "     f AS (SELECT c.* FROM compliance_flags c, k"                     \
        "            WHERE c.window_start >= k.s"                              \
        "              AND c.window_start < k.e) "

#define SQL_CR_BY_SEV(col)                                                     \
        "count(*) FILTER (WHERE " col " = 'low'),"                             \
        "count(*) FILTER (WHERE " col " = 'medium'),"                          \
        "count(*) FILTER (WHERE " col " = 'high')"

static const char SQL_CR_FIGURES[] = SQL_CR_FLAGS
    "SELECT (SELECT count(*) FROM"
    "          (SELECT DISTINCT subject_type, subject_id FROM f) AS x),"
    "       to_char(($1::date + 1)::timestamp, 'YYYY-MM-DD HH24:MI:SS')";

static const char SQL_CR_RULES[] = SQL_CR_FLAGS
    "SELECT rule, subject_type, " SQL_CR_BY_SEV("severity")
    "  FROM f GROUP BY rule, subject_type"
    " ORDER BY rule COLLATE \"C\", subject_type COLLATE \"C\"";

/* A user flag's country is its first event's (the event that raised it),
 * but for multi_country, whose point is several countries; a country
 * flag's is its subject; a content flag has none. why says why a group
 * has no country. */
static const char SQL_CR_COUNTRIES[] = SQL_CR_FLAGS
    ", a AS (SELECT f.severity,"
    "          CASE WHEN f.subject_type = 'country' THEN f.subject_id"
    "               WHEN f.subject_type = 'user'"
    "                AND f.rule <> 'multi_country' THEN e.country"
    "          END AS country,"
    "          CASE WHEN f.subject_type = 'content' THEN 'content'"
    "               WHEN f.subject_type = 'user'"
    "                AND f.rule = 'multi_country' THEN 'several_countries'"
    "               WHEN f.subject_type = 'user' AND e.country IS NULL"
    "               THEN 'event_not_stored'"
    "          END AS why"
    "     FROM f LEFT JOIN events_raw e ON e.event_id = f.first_event_id) "
    "SELECT country, why, " SQL_CR_BY_SEV("severity")
    "  FROM a GROUP BY country, why"
    " ORDER BY country IS NULL, count(*) DESC, country COLLATE \"C\","
    "          why COLLATE \"C\"";

/* $2: how many subjects. */
static const char SQL_CR_TOP[] = SQL_CR_FLAGS
    "SELECT subject_type, subject_id, count(*),"
    "       count(*) FILTER (WHERE severity = 'high'),"
    "       string_agg(DISTINCT rule COLLATE \"C\", ', '"
    "                  ORDER BY rule COLLATE \"C\")"
    "  FROM f GROUP BY subject_type, subject_id"
    " ORDER BY count(*) DESC, count(*) FILTER (WHERE severity = 'high') DESC,"
    "          subject_type COLLATE \"C\", subject_id COLLATE \"C\""
    " LIMIT $2::int";

static const char SQL_CR_RISK[] =
    "SELECT country,"
    "       coalesce(sum(events) FILTER (WHERE risk_level = 'low'), 0),"
    "       coalesce(sum(events) FILTER (WHERE risk_level = 'medium'), 0),"
    "       coalesce(sum(events) FILTER (WHERE risk_level = 'high'), 0)"
    "  FROM compliance_daily WHERE event_date = $1::date"
    " GROUP BY country"
    " ORDER BY 4 DESC, sum(events) DESC, country COLLATE \"C\"";

/* $2: the number of days, ending on $1; every day has a row. */
static const char SQL_CR_TREND[] =
    "WITH d AS (SELECT $1::date + i AS day"
    "             FROM generate_series(1 - $2::int, 0) AS i) "
    "SELECT to_char(d.day, 'YYYY-MM-DD'), " SQL_CR_BY_SEV("f.severity")
    "  FROM d LEFT JOIN compliance_flags f"
    "    ON f.window_start >= d.day::timestamp AT TIME ZONE 'UTC'"
    "   AND f.window_start < (d.day + 1)::timestamp AT TIME ZONE 'UTC'"
    " GROUP BY d.day ORDER BY d.day";

static const char SQL_CR_LATE[] =
    "SELECT kafka_partition, events FROM compliance_late"
    " WHERE event_date = $1::date ORDER BY kafka_partition";

/* The alerts created on $1. */
#define SQL_CR_ALERTS                                                          \
        "WITH k AS (SELECT $1::date::timestamp AT TIME ZONE 'UTC' AS s,"       \
        "                  ($1::date + 1)::timestamp AT TIME ZONE 'UTC'"       \
        "                    AS e),"                                           \
        "     a AS (SELECT l.alert_id, l.cause_at, l.routed_at"                \
        "             FROM alerts l, k"                                        \
        "            WHERE l.created_at >= k.s AND l.created_at < k.e) "

static const char SQL_CR_ALERT_FIGURES[] = SQL_CR_ALERTS
    "SELECT count(*), count(*) FILTER (WHERE routed_at IS NULL) FROM a";

static const char SQL_CR_SINKS[] = SQL_CR_ALERTS
    "SELECT d.sink, count(*),"
    "       count(*) FILTER (WHERE d.status = 'sent'),"
    "       count(*) FILTER (WHERE d.attempts > 1),"
    "       count(*) FILTER (WHERE d.status = 'dead'),"
    "       count(*) FILTER (WHERE d.status = 'digested'),"
    "       count(*) FILTER (WHERE d.status = 'pending')"
    "  FROM a JOIN alert_deliveries d ON d.alert_id = a.alert_id"
    " GROUP BY d.sink ORDER BY d.sink COLLATE \"C\"";

static const char SQL_CR_ERRORS[] = SQL_CR_ALERTS
    "SELECT d.last_error, count(*)"
    "  FROM a JOIN alert_deliveries d ON d.alert_id = a.alert_id"
    " WHERE d.status = 'dead'"
    " GROUP BY d.last_error"
    " ORDER BY count(*) DESC, d.last_error COLLATE \"C\" NULLS LAST";

static const char SQL_CR_LATENCIES[] = SQL_CR_ALERTS
    "SELECT extract(epoch FROM d.sent_at - a.cause_at)::float8"
    "  FROM a JOIN alert_deliveries d ON d.alert_id = a.alert_id"
    " WHERE d.status = 'sent' AND d.sent_at IS NOT NULL"
    " ORDER BY 1, d.alert_id, d.sink COLLATE \"C\"";

/* Requests open at the end of $1 (the GDPR audit's backlog); $2: the
 * legal limit in days; $3: how many to list. */
static const char SQL_CR_OPEN_FIGURES[] = SQL_GDPR_PENDING
    "SELECT count(*), count(*) FILTER (WHERE breach) FROM p";

static const char SQL_CR_OPEN[] =
    SQL_GDPR_PENDING "SELECT id, to_char(requested_at AT TIME ZONE 'UTC',"
                     "                   'YYYY-MM-DD HH24:MI:SS'),"
                     "       age"
                     "  FROM p ORDER BY requested_at, id LIMIT $3::int";

#define SG_LOAD_MAX_OPEN 50

/* ---- shared --------------------------------------------------------- */

long long sg_load_ll(const PGresult *res, int row, int col)
{
        return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

double sg_load_double(const PGresult *res, int row, int col)
{
        return strtod(PQgetvalue(res, row, col), NULL);
}

bool sg_load_bool(const PGresult *res, int row, int col)
{
        return strcmp(PQgetvalue(res, row, col), "t") == 0;
}

const char *sg_load_str(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

void *sg_load_calloc(int n, size_t size)
{
        return sg_xcalloc(n > 0 ? (size_t)n : 1, size);
}

/* Runs one query expected to return rows and keeps its result in res[]
 * (freed by the context's _fini). Returns the result, or NULL with err. */
static PGresult *sg_load_query(PGconn *conn, PGresult **res, int *nres,
                               const char *sql, int nparams,
                               const char *const *params, const char *what,
                               sg_pg_err_t *err)
{
        PGresult *r;

        if (*nres >= SG_LOAD_MAX_RES) {
                sg_pg_err_fmt(err, false, "%s: too many queries", what);
                return NULL;
        }
        r = sg_pg_query(conn, sql, nparams, params, 0, what, err);
        if (r)
                res[(*nres)++] = r;
        return r;
}

/* ---- daily ---------------------------------------------------------- */

void sg_load_daily_init(sg_load_daily_t *ld)
{
        memset(ld, 0, sizeof(*ld));
}

void sg_load_daily_fini(sg_load_daily_t *ld)
{
        for (int i = 0; i < ld->nres; i++)
                PQclear(ld->res[i]);
        free(ld->types);
        free(ld->currencies);
        free(ld->countries);
        free(ld->compare);
        memset(ld, 0, sizeof(*ld));
}

int sg_load_daily(PGconn *conn, const char *date, sg_load_daily_t *ld,
                  sg_pg_err_t *err)
{
        const char *params[1] = {date};
        sg_daily_report_t *r = &ld->report;
        PGresult *res;
        int n, rc = -1;

#define Q(sql, what)                                                           \
        sg_load_query(conn, ld->res, &ld->nres, sql, 1, params, what, err)

        sg_load_daily_fini(ld);
        r->date = date;

        if (!(res = Q(SQL_DAILY_KPI, "events_raw figures")))
                goto out;
        r->events = sg_load_ll(res, 0, 0);
        r->active_users = sg_load_ll(res, 0, 1);
        r->purchases = sg_load_ll(res, 0, 2);
        r->revenue = sg_load_str(res, 0, 3);
        r->aov = sg_load_str(res, 0, 4);
        r->page_viewers = sg_load_ll(res, 0, 5);
        r->purchasers = sg_load_ll(res, 0, 6);
        r->plays = sg_load_ll(res, 0, 7);
        r->playback_errors = sg_load_ll(res, 0, 8);
        r->watch_seconds = sg_load_ll(res, 0, 9);

        if (!(res = Q(SQL_DAILY_TYPES, "events by type")))
                goto out;
        n = PQntuples(res);
        ld->types = sg_load_calloc(n, sizeof(*ld->types));
        for (int i = 0; i < n; i++) {
                ld->types[i].event_type = PQgetvalue(res, i, 0);
                ld->types[i].events = sg_load_ll(res, i, 1);
        }
        r->ntypes = n;
        r->types = ld->types;

        if (!(res = Q(SQL_DAILY_CURRENCIES, "revenue by currency")))
                goto out;
        n = PQntuples(res);
        ld->currencies = sg_load_calloc(n, sizeof(*ld->currencies));
        for (int i = 0; i < n; i++) {
                ld->currencies[i].currency = PQgetvalue(res, i, 0);
                ld->currencies[i].purchases = sg_load_ll(res, i, 1);
                ld->currencies[i].revenue = PQgetvalue(res, i, 2);
                ld->currencies[i].aov = PQgetvalue(res, i, 3);
        }
        r->ncurrencies = n;
        r->currencies = ld->currencies;

        if (!(res = Q(SQL_DAILY_COUNTRIES, "top countries")))
                goto out;
        n = PQntuples(res);
        ld->countries = sg_load_calloc(n, sizeof(*ld->countries));
        for (int i = 0; i < n; i++) {
                ld->countries[i].country = PQgetvalue(res, i, 0);
                ld->countries[i].purchases = sg_load_ll(res, i, 1);
                ld->countries[i].revenue = PQgetvalue(res, i, 2);
                ld->countries[i].currencies = PQgetvalue(res, i, 3);
        }
        r->ncountries = n;
        r->countries = ld->countries;

        if (!(res = Q(SQL_DAILY_WORST_CONTENT, "playback errors by content")))
                goto out;
        if (PQntuples(res) == 1) {
                r->worst_content = PQgetvalue(res, 0, 0);
                r->worst_content_errors = sg_load_ll(res, 0, 1);
        }

        if (!(res = Q(SQL_DAILY_HOURLY, "events per hour")))
                goto out;
        snprintf(ld->chart_title, sizeof(ld->chart_title),
                 "Events per hour by type, %s (UTC)", date);
        sg_chart_init(&ld->chart, ld->chart_title);
        for (int i = 0; i < PQntuples(res); i++)
                if (sg_chart_add(&ld->chart, PQgetvalue(res, i, 1),
                                 (int)sg_load_ll(res, i, 0),
                                 sg_load_ll(res, i, 2)) < 0) {
                        sg_pg_err_fmt(err, false,
                                      "events per hour: too many event types "
                                      "for the chart");
                        goto out;
                }
        r->chart = &ld->chart;

        if (!(res = Q(SQL_DAILY_COMPARE, "batch vs streaming")))
                goto out;
        n = PQntuples(res);
        ld->compare = sg_load_calloc(n, sizeof(*ld->compare));
        for (int i = 0; i < n; i++) {
                sg_daily_compare_t *c = &ld->compare[i];

                c->event_type = PQgetvalue(res, i, 0);
                c->in_batch = sg_load_bool(res, i, 1);
                c->in_streaming = sg_load_bool(res, i, 2);
                c->batch_events = sg_load_ll(res, i, 3);
                c->streaming_events = sg_load_ll(res, i, 4);
                c->batch_amount = sg_load_str(res, i, 5);
                c->streaming_amount = sg_load_str(res, i, 6);
                c->delta_events = sg_load_ll(res, i, 7);
                c->delta_amount = sg_load_str(res, i, 8);
                c->differs = sg_load_bool(res, i, 9);
        }
        r->ncompare = n;
        r->compare = ld->compare;

        if (!(res = Q(SQL_DAILY_BATCH_RUN, "metrics_batch_runs")))
                goto out;
        if (PQntuples(res) == 1) {
                r->batch_run.found = true;
                r->batch_run.id = sg_load_ll(res, 0, 0);
                r->batch_run.date_from = PQgetvalue(res, 0, 1);
                r->batch_run.date_to = PQgetvalue(res, 0, 2);
                r->batch_run.finished_at = PQgetvalue(res, 0, 3);
        }
#undef Q
        rc = 0;
out:
        if (rc < 0)
                sg_load_daily_fini(ld);
        return rc;
}

/* ---- gdpr ----------------------------------------------------------- */

void sg_load_gdpr_init(sg_load_gdpr_t *lg)
{
        memset(lg, 0, sizeof(*lg));
}

void sg_load_gdpr_fini(sg_load_gdpr_t *lg)
{
        for (int i = 0; i < lg->nres; i++)
                PQclear(lg->res[i]);
        free(lg->latencies);
        free(lg->recent);
        free(lg->breaches);
        memset(lg, 0, sizeof(*lg));
}

int sg_load_gdpr(PGconn *conn, const char *date, sg_load_gdpr_t *lg,
                 sg_pg_err_t *err)
{
        char sla[16], cap[16];
        const char *params[3] = {date, sla, cap};
        sg_gdpr_report_t *r = &lg->report;
        PGresult *res;
        int n, rc = -1;

#define Q(sql, np, what)                                                       \
        sg_load_query(conn, lg->res, &lg->nres, sql, np, params, what, err)

        sg_load_gdpr_fini(lg);
        snprintf(sla, sizeof(sla), "%d", SG_GDPR_REPORT_SLA_DAYS);
        snprintf(cap, sizeof(cap), "%d", SG_LOAD_MAX_BREACHES);
        r->date = date;

        if (!(res = Q(SQL_GDPR_FIGURES, 1, "privacy_requests figures")))
                goto out;
        r->requests = sg_load_ll(res, 0, 0);
        for (int i = 0; i < SG_GDPR_REPORT_NSTATUS; i++)
                r->by_status[i] = sg_load_ll(res, 0, 1 + i);
        r->anonymised_users = sg_load_ll(res, 0, 1 + SG_GDPR_REPORT_NSTATUS);
        r->unaudited = sg_load_ll(res, 0, 2 + SG_GDPR_REPORT_NSTATUS);
        snprintf(lg->reference, sizeof(lg->reference), "%s",
                 PQgetvalue(res, 0, 3 + SG_GDPR_REPORT_NSTATUS));
        r->reference = lg->reference;

        if (!(res = Q(SQL_GDPR_LATENCIES, 1, "latencies")))
                goto out;
        n = PQntuples(res);
        lg->latencies = sg_load_calloc(n, sizeof(*lg->latencies));
        for (int i = 0; i < n; i++)
                lg->latencies[i] = sg_load_double(res, i, 0);
        r->latencies_s = lg->latencies;
        r->nlatencies = (size_t)n;

        if (!(res = Q(SQL_GDPR_RECENT, 1, "recent requests")))
                goto out;
        n = PQntuples(res);
        lg->recent = sg_load_calloc(n, sizeof(*lg->recent));
        for (int i = 0; i < n; i++) {
                sg_gdpr_request_t *q = &lg->recent[i];

                q->id = sg_load_ll(res, i, 0);
                q->requested_at = PQgetvalue(res, i, 1);
                q->status = PQgetvalue(res, i, 2);
                q->processed = sg_load_bool(res, i, 3);
                q->latency_s = q->processed ? sg_load_double(res, i, 4) : 0.0;
        }
        r->nrecent = n;
        r->recent = lg->recent;

        if (!(res = Q(SQL_GDPR_BACKLOG, 2, "pending requests")))
                goto out;
        r->pending = sg_load_ll(res, 0, 0);
        r->sla_breaches = sg_load_ll(res, 0, 1);
        if (!PQgetisnull(res, 0, 2)) {
                r->has_oldest = true;
                r->oldest.id = sg_load_ll(res, 0, 2);
                r->oldest.requested_at = PQgetvalue(res, 0, 3);
                r->oldest.age_s = sg_load_double(res, 0, 4);
        }

        if (!(res = Q(SQL_GDPR_BREACHES, 3, "SLA breaches")))
                goto out;
        n = PQntuples(res);
        lg->breaches = sg_load_calloc(n, sizeof(*lg->breaches));
        for (int i = 0; i < n; i++) {
                lg->breaches[i].id = sg_load_ll(res, i, 0);
                lg->breaches[i].requested_at = PQgetvalue(res, i, 1);
                lg->breaches[i].age_s = sg_load_double(res, i, 2);
        }
        r->nbreaches = n;
        r->breaches = lg->breaches;
#undef Q
        rc = 0;
out:
        if (rc < 0)
                sg_load_gdpr_fini(lg);
        return rc;
}

/* ---- compliance ----------------------------------------------------- */

void sg_load_compliance_init(sg_load_compliance_t *lc)
{
        memset(lc, 0, sizeof(*lc));
}

void sg_load_compliance_fini(sg_load_compliance_t *lc)
{
        for (int i = 0; i < lc->nres; i++)
                PQclear(lc->res[i]);
        free(lc->rules);
        free(lc->countries);
        free(lc->top);
        free(lc->risk);
        free(lc->days);
        free(lc->late);
        free(lc->sinks);
        free(lc->errors);
        free(lc->latencies);
        free(lc->open);
        memset(lc, 0, sizeof(*lc));
}

static void sg_load_sev(const PGresult *res, int row, int col, long long *v)
{
        for (int s = 0; s < SG_COMPLIANCE_NSEV; s++)
                v[s] = sg_load_ll(res, row, col + s);
}

int sg_load_compliance(PGconn *conn, const char *date,
                       sg_load_compliance_t *lc, sg_pg_err_t *err)
{
        char top[16], days[16], sla[16], cap[16];
        const char *p_date[1] = {date};
        const char *p_top[2] = {date, top};
        const char *p_days[2] = {date, days};
        const char *p_backlog[2] = {date, sla};
        const char *p_open[3] = {date, sla, cap};
        sg_compliance_report_t *r = &lc->report;
        PGresult *res;
        int n, rc = -1;

#define Q(sql, params, what)                                                   \
        sg_load_query(conn, lc->res, &lc->nres, sql,                           \
                      (int)(sizeof(params) / sizeof(params[0])), params, what, \
                      err)

        sg_load_compliance_fini(lc);
        snprintf(top, sizeof(top), "%d", SG_COMPLIANCE_TOP);
        snprintf(days, sizeof(days), "%d", SG_COMPLIANCE_TREND_DAYS);
        snprintf(sla, sizeof(sla), "%d", SG_GDPR_REPORT_SLA_DAYS);
        snprintf(cap, sizeof(cap), "%d", SG_LOAD_MAX_OPEN);
        r->date = date;

        if (!(res = Q(SQL_CR_FIGURES, p_date, "compliance_flags figures")))
                goto out;
        r->subjects = sg_load_ll(res, 0, 0);
        r->reference = PQgetvalue(res, 0, 1);

        if (!(res = Q(SQL_CR_RULES, p_date, "flags by rule")))
                goto out;
        n = PQntuples(res);
        lc->rules = sg_load_calloc(n, sizeof(*lc->rules));
        for (int i = 0; i < n; i++) {
                lc->rules[i].rule = PQgetvalue(res, i, 0);
                lc->rules[i].subject_type = PQgetvalue(res, i, 1);
                sg_load_sev(res, i, 2, lc->rules[i].by_sev);
        }
        r->nrules = n;
        r->rules = lc->rules;

        if (!(res = Q(SQL_CR_COUNTRIES, p_date, "flags by country")))
                goto out;
        n = PQntuples(res);
        lc->countries = sg_load_calloc(n, sizeof(*lc->countries));
        for (int i = 0; i < n; i++) {
                lc->countries[i].country = sg_load_str(res, i, 0);
                lc->countries[i].why = PQgetisnull(res, i, 1)
                                           ? "unknown"
                                           : PQgetvalue(res, i, 1);
                sg_load_sev(res, i, 2, lc->countries[i].by_sev);
        }
        r->ncountries = n;
        r->countries = lc->countries;

        if (!(res = Q(SQL_CR_TOP, p_top, "top subjects")))
                goto out;
        n = PQntuples(res);
        lc->top = sg_load_calloc(n, sizeof(*lc->top));
        for (int i = 0; i < n; i++) {
                sg_compliance_subject_t *s = &lc->top[i];

                s->subject_type = PQgetvalue(res, i, 0);
                s->subject_id = PQgetvalue(res, i, 1);
                s->flags = sg_load_ll(res, i, 2);
                s->high = sg_load_ll(res, i, 3);
                s->rules = PQgetvalue(res, i, 4);
        }
        r->ntop = n;
        r->top = lc->top;

        if (!(res = Q(SQL_CR_RISK, p_date, "compliance_daily")))
                goto out;
        n = PQntuples(res);
        lc->risk = sg_load_calloc(n, sizeof(*lc->risk));
        for (int i = 0; i < n; i++) {
                lc->risk[i].country = PQgetvalue(res, i, 0);
                sg_load_sev(res, i, 1, lc->risk[i].by_level);
        }
        r->nrisk = n;
        r->risk = lc->risk;

        if (!(res = Q(SQL_CR_TREND, p_days, "flags per day")))
                goto out;
        n = PQntuples(res);
        lc->days = sg_load_calloc(n, sizeof(*lc->days));
        for (int i = 0; i < n; i++) {
                lc->days[i].date = PQgetvalue(res, i, 0);
                sg_load_sev(res, i, 1, lc->days[i].by_sev);
        }
        r->ndays = n;
        r->days = lc->days;

        if (!(res = Q(SQL_CR_LATE, p_date, "compliance_late")))
                goto out;
        n = PQntuples(res);
        lc->late = sg_load_calloc(n, sizeof(*lc->late));
        for (int i = 0; i < n; i++) {
                lc->late[i].partition = (int)sg_load_ll(res, i, 0);
                lc->late[i].events = sg_load_ll(res, i, 1);
        }
        r->nlate = n;
        r->late = lc->late;

        if (!(res = Q(SQL_CR_ALERT_FIGURES, p_date, "alerts")))
                goto out;
        r->alerts = sg_load_ll(res, 0, 0);
        r->unrouted = sg_load_ll(res, 0, 1);

        if (!(res = Q(SQL_CR_SINKS, p_date, "alert deliveries by sink")))
                goto out;
        n = PQntuples(res);
        lc->sinks = sg_load_calloc(n, sizeof(*lc->sinks));
        for (int i = 0; i < n; i++) {
                sg_compliance_sink_t *s = &lc->sinks[i];

                s->sink = PQgetvalue(res, i, 0);
                s->deliveries = sg_load_ll(res, i, 1);
                s->sent = sg_load_ll(res, i, 2);
                s->retried = sg_load_ll(res, i, 3);
                s->dead = sg_load_ll(res, i, 4);
                s->digested = sg_load_ll(res, i, 5);
                s->pending = sg_load_ll(res, i, 6);
        }
        r->nsinks = n;
        r->sinks = lc->sinks;

        if (!(res = Q(SQL_CR_ERRORS, p_date, "dead deliveries")))
                goto out;
        n = PQntuples(res);
        lc->errors = sg_load_calloc(n, sizeof(*lc->errors));
        for (int i = 0; i < n; i++) {
                lc->errors[i].error = sg_load_str(res, i, 0);
                lc->errors[i].deliveries = sg_load_ll(res, i, 1);
        }
        r->nerrors = n;
        r->errors = lc->errors;

        if (!(res = Q(SQL_CR_LATENCIES, p_date, "delivery latencies")))
                goto out;
        n = PQntuples(res);
        lc->latencies = sg_load_calloc(n, sizeof(*lc->latencies));
        for (int i = 0; i < n; i++)
                lc->latencies[i] = sg_load_double(res, i, 0);
        r->nlatencies = (size_t)n;
        r->latencies_s = lc->latencies;

        if (!(res = Q(SQL_CR_OPEN_FIGURES, p_backlog, "open privacy requests")))
                goto out;
        r->open = sg_load_ll(res, 0, 0);
        r->overdue = sg_load_ll(res, 0, 1);

        if (!(res = Q(SQL_CR_OPEN, p_open, "open privacy requests")))
                goto out;
        n = PQntuples(res);
        lc->open = sg_load_calloc(n, sizeof(*lc->open));
        for (int i = 0; i < n; i++) {
                lc->open[i].id = sg_load_ll(res, i, 0);
                lc->open[i].requested_at = PQgetvalue(res, i, 1);
                lc->open[i].age_s = sg_load_double(res, i, 2);
        }
        r->nopen = n;
        r->open_requests = lc->open;
#undef Q
        rc = 0;
out:
        if (rc < 0)
                sg_load_compliance_fini(lc);
        return rc;
}
