/* sg-api's read-only queries: parameters checked, one parameterised
 * statement per answer (one snapshot: the answer is consistent and its
 * as_of is that statement's now()), the answer as a jansson object.
 * Most of each answer is built by PostgreSQL (json_build_object, one text
 * cell); C adds what common/ knows (EU membership, event types) and what
 * is derived (error rates, region groups, Kafka lag). */
#include "queries.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_country.h"
#include "sg_defs.h"
#include "sg_event.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_time.h"
#include "sg_uuid.h"

/* A timestamptz as RFC 3339 UTC with milliseconds and a Z. */
#define TS(x)                                                                  \
        "to_char((" x ") AT TIME ZONE 'UTC', "                                 \
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A date as YYYY-MM-DD, whatever the session's DateStyle. */
#define DAY(x) "to_char(" x ", 'YYYY-MM-DD')"
/* [from 00:00 UTC, to + 1 day 00:00 UTC) of date parameters: sargable
 * bounds on a timestamptz column. */
#define UTC_FROM(p) "(" p "::date::timestamp AT TIME ZONE 'UTC')"
#define UTC_UNTIL(p) "((" p "::date + 1)::timestamp AT TIME ZONE 'UTC')"

/* 2200-01-01T00:00:00Z: no window of the contract's years starts later. */
#define CURSOR_TS_MAX 7258118400000000LL

/* ---- Problems ------------------------------------------------------- */

static int problem(sg_api_problem_t *p, int status, const char *code,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int problem(sg_api_problem_t *p, int status, const char *code,
                   const char *fmt, ...)
{
        va_list ap;

        p->status = status;
        p->code = code;
        p->db_lost = false;
        va_start(ap, fmt);
        vsnprintf(p->detail, sizeof(p->detail), fmt, ap);
        va_end(ap);
        return status;
}

#define BAD_PARAM(p, ...) problem(p, 400, "invalid_parameter", __VA_ARGS__)

/* A failed statement (res may be NULL): a lost connection or a transient
 * failure is 503 (db_lost when the connection is gone), a statement
 * cancelled by statement_timeout too; anything else is a 500 with a
 * privacy-safe log line. */
static int db_problem(PGconn *db, const PGresult *res, const char *what,
                      sg_api_problem_t *p)
{
        sg_pg_err_t err;
        int rc;

        sg_pg_err_set(&err, db, res, what);
        if (PQstatus(db) != CONNECTION_OK) {
                rc = problem(p, 503, "unavailable",
                             "the database is unreachable");
                p->db_lost = true;
        } else if (err.transient || strcmp(err.sqlstate, "57014") == 0) {
                rc = problem(p, 503, "unavailable",
                             "the database is busy; try again");
        } else {
                rc = problem(p, 500, "internal", "the query failed");
                sg_error("query failed: %s", err.msg);
                return rc;
        }
        sg_warn("query failed: %s", err.msg);
        return rc;
}

static int internal(sg_api_problem_t *p, const char *what)
{
        sg_error("query answer: %s", what);
        return problem(p, 500, "internal", "the answer could not be built");
}

/* ---- Pure parts ----------------------------------------------------- */

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }
static bool is_lower(char c) { return c >= 'a' && c <= 'z'; }

static bool id_char(char c)
{
        return is_digit(c) || is_upper(c) || is_lower(c) || c == '_' ||
               c == '.' || c == ':' || c == '-';
}

bool sg_api_valid_content_id(const char *s)
{
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++)
                if (n >= 64 || !id_char(s[n]))
                        return false;
        return n >= 1;
}

bool sg_api_valid_country(const char *s)
{
        size_t n;

        if (!s || !is_upper(s[0]) || !is_upper(s[1]))
                return false;
        if (s[2] == '\0')
                return true;
        if (s[2] != '-')
                return false;
        for (n = 0; s[3 + n]; n++)
                if (n >= 3 || !(is_upper(s[3 + n]) || is_digit(s[3 + n])))
                        return false;
        return n >= 1;
}

bool sg_api_valid_rule(const char *s)
{
        size_t n = 0;

        if (!s)
                return false;
        for (; s[n]; n++)
                if (n >= 64 || !(is_lower(s[n]) || s[n] == '_'))
                        return false;
        return n >= 1;
}

int sg_api_parse_id(const char *s, long long *id)
{
        long long v = 0;
        size_t n;

        if (!s || s[0] < '1' || s[0] > '9')
                return -1;
        for (n = 0; s[n]; n++) {
                int d;
                if (n >= 19 || !is_digit(s[n]))
                        return -1;
                d = s[n] - '0';
                if (v > (INT64_MAX - d) / 10)
                        return -1;
                v = v * 10 + d;
        }
        *id = v;
        return 0;
}

int sg_api_parse_dates(const char *from, const char *to, long long today,
                       char from_out[11], char to_out[11],
                       sg_api_problem_t *p)
{
        long long f = today, t = today;

        if (from && sg_time_parse_date(from, &f) < 0)
                return BAD_PARAM(p, "from: expected a date YYYY-MM-DD");
        if (to && sg_time_parse_date(to, &t) < 0)
                return BAD_PARAM(p, "to: expected a date YYYY-MM-DD");
        if (t < f)
                return BAD_PARAM(p, "to: before from (each defaults to today)");
        if (t - f + 1 > SG_API_MAX_DAYS)
                return BAD_PARAM(p, "from, to: more than %d days",
                                 SG_API_MAX_DAYS);
        sg_time_format_day(f, from_out);
        sg_time_format_day(t, to_out);
        return 0;
}

int sg_api_parse_int(const char *name, const char *s, long long lo,
                     long long hi, long long dflt, long long *out,
                     sg_api_problem_t *p)
{
        long long v = 0;
        size_t n;

        if (!s) {
                *out = dflt;
                return 0;
        }
        /* Digits only (no sign, no spaces), at most 9: within any bound
         * used here, no overflow. */
        for (n = 0; s[n]; n++)
                if (n >= 9 || !is_digit(s[n]))
                        break;
        if (n == 0 || s[n] != '\0')
                return BAD_PARAM(p, "%s: expected an integer %lld..%lld", name,
                                 lo, hi);
        for (n = 0; s[n]; n++)
                v = v * 10 + (s[n] - '0');
        if (v < lo || v > hi)
                return BAD_PARAM(p, "%s: expected an integer %lld..%lld", name,
                                 lo, hi);
        *out = v;
        return 0;
}

static const char B64URL[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void b64url_encode(const unsigned char *in, size_t n, char *out)
{
        size_t i, o = 0;

        for (i = 0; i + 2 < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
                             in[i + 2];
                out[o++] = B64URL[v >> 18 & 63];
                out[o++] = B64URL[v >> 12 & 63];
                out[o++] = B64URL[v >> 6 & 63];
                out[o++] = B64URL[v & 63];
        }
        if (n - i == 1) {
                uint32_t v = (uint32_t)in[i] << 16;
                out[o++] = B64URL[v >> 18 & 63];
                out[o++] = B64URL[v >> 12 & 63];
        } else if (n - i == 2) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
                out[o++] = B64URL[v >> 18 & 63];
                out[o++] = B64URL[v >> 12 & 63];
                out[o++] = B64URL[v >> 6 & 63];
        }
        out[o] = '\0';
}

static int b64url_value(char c)
{
        const char *q = c ? strchr(B64URL, c) : NULL;

        return q ? (int)(q - B64URL) : -1;
}

/* Decodes s (no padding) into out (at most size bytes); returns the
 * length, or -1 for a character outside the alphabet, a length that no
 * encoding has, or more than size bytes. Non-canonical trailing bits are
 * caught by the caller's re-encoding. */
static long b64url_decode(const char *s, unsigned char *out, size_t size)
{
        size_t len = strlen(s), o = 0;
        uint32_t v = 0;
        int bits = 0;

        if (len % 4 == 1)
                return -1;
        for (size_t i = 0; i < len; i++) {
                int x = b64url_value(s[i]);
                if (x < 0)
                        return -1;
                v = v << 6 | (uint32_t)x;
                bits += 6;
                if (bits >= 8) {
                        bits -= 8;
                        if (o >= size)
                                return -1;
                        out[o++] = (unsigned char)(v >> bits & 0xff);
                }
        }
        return (long)o;
}

void sg_api_cursor_encode(long long ts_us, const char *flag_id,
                          char out[SG_API_CURSOR_MAX])
{
        char raw[64];
        int n = snprintf(raw, sizeof(raw), "%lld.%.36s", ts_us, flag_id);

        /* 20 + 1 + 36 bytes at most: 76 characters encoded. */
        b64url_encode((const unsigned char *)raw, (size_t)n, out);
}

int sg_api_cursor_decode(const char *s, long long *ts_us, char flag_id[37])
{
        unsigned char raw[64];
        char again[SG_API_CURSOR_MAX], id[SG_UUID_LEN + 1];
        long n;
        long long ts = 0;
        size_t i = 0;

        if (!s || strlen(s) >= SG_API_CURSOR_MAX)
                return -1;
        n = b64url_decode(s, raw, sizeof(raw) - 1);
        if (n < 0)
                return -1;
        raw[n] = '\0';
        if (memchr(raw, '\0', (size_t)n))
                return -1;
        /* "<digits>.<uuid>": 1-16 digits (CURSOR_TS_MAX has 16), no sign,
         * no leading zero but for 0 itself. */
        while (i < (size_t)n && is_digit((char)raw[i]) && i < 16)
                ts = ts * 10 + (raw[i++] - '0');
        if (i == 0 || (raw[0] == '0' && i > 1) || raw[i] != '.' ||
            ts >= CURSOR_TS_MAX)
                return -1;
        if ((size_t)n - i - 1 != SG_UUID_LEN ||
            !sg_uuid_canon((const char *)raw + i + 1, SG_UUID_LEN, id) ||
            memcmp(id, raw + i + 1, SG_UUID_LEN) != 0)
                return -1;
        /* Exactly what encode writes, nothing else (no trailing bits). */
        sg_api_cursor_encode(ts, id, again);
        if (strcmp(again, s) != 0)
                return -1;
        *ts_us = ts;
        memcpy(flag_id, id, SG_UUID_LEN + 1);
        return 0;
}

/* ---- Running a query ------------------------------------------------ */

static const char *arg(const sg_api_req_t *rq, const char *name)
{
        return rq->arg ? rq->arg(rq->ctx, name) : NULL;
}

static long long today_utc(void)
{
        return sg_time_utc_day(sg_time_wall_us());
}

/* The from/to parameters of the request (each defaulting to today). */
static int req_dates(const sg_api_req_t *rq, char from[11], char to[11],
                     sg_api_problem_t *p)
{
        return sg_api_parse_dates(arg(rq, "from"), arg(rq, "to"), today_utc(),
                                  from, to, p);
}

/* Runs sql (text parameters, NULL = SQL NULL). Returns the result with
 * PGRES_TUPLES_OK (the caller clears it), or NULL with *p filled. */
static PGresult *run(PGconn *db, const char *sql, int nparams,
                     const char *const *params, const char *what,
                     sg_api_problem_t *p)
{
        PGresult *res = PQexecParams(db, sql, nparams, NULL, params, NULL,
                                     NULL, 0);

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                db_problem(db, res, what, p);
                PQclear(res);
                return NULL;
        }
        return res;
}

/* A cell holding JSON text, parsed. NULL with *p filled on failure. */
static json_t *cell_json(const PGresult *res, int row, int col,
                         sg_api_problem_t *p)
{
        json_error_t jerr;
        json_t *j;

        if (PQgetisnull(res, row, col)) {
                internal(p, "a NULL answer");
                return NULL;
        }
        j = json_loads(PQgetvalue(res, row, col), JSON_DECODE_ANY, &jerr);
        if (!j)
                internal(p, "the database's JSON did not parse");
        return j;
}

/* Runs sql, whose answer is one row whose first column is a JSON object;
 * *out receives it. Returns 200, or the problem's status. */
static int run_object(PGconn *db, const char *sql, int nparams,
                      const char *const *params, const char *what,
                      json_t **out, sg_api_problem_t *p)
{
        PGresult *res = run(db, sql, nparams, params, what, p);
        json_t *j;

        if (!res)
                return p->status;
        if (PQntuples(res) != 1) {
                PQclear(res);
                return internal(p, "expected one row");
        }
        j = cell_json(res, 0, 0, p);
        PQclear(res);
        if (!j)
                return p->status;
        if (!json_is_object(j)) {
                json_decref(j);
                return internal(p, "expected an object");
        }
        *out = j;
        return 200;
}

/* Sets key (a new reference, NULL-checked: out of memory aborts, as
 * everywhere: docs/conventions.md). */
static void jset(json_t *obj, const char *key, json_t *v)
{
        if (!v || json_object_set_new(obj, key, v) < 0)
                sg_oom("json answer");
}

static json_int_t jint(const json_t *obj, const char *key)
{
        return json_integer_value(json_object_get(obj, key));
}

/* errors / (plays + errors), 0 when both are 0, to 4 decimals. */
static json_t *error_rate(json_int_t plays, json_int_t errors)
{
        double r = plays + errors > 0
                       ? (double)errors / (double)(plays + errors)
                       : 0.0;

        return json_real((double)(long long)(r * 10000.0 + 0.5) / 10000.0);
}

/* by_type with every event type of the contract, 0 where absent. */
static void fill_types(json_t *by_type)
{
        for (int t = 0; t < SG_EV__CNT; t++) {
                const char *name = sg_event_type_name((sg_event_type_t)t);
                if (!json_object_get(by_type, name))
                        jset(by_type, name, json_integer(0));
        }
}

/* The answer with the request's own values first (kv: key, value
 * pairs, NULL-terminated), then the columns of the database's j (whose
 * reference it takes). */
static json_t *head(json_t *j, const char *const *kv)
{
        json_t *h = json_object();

        if (!h)
                sg_oom("json answer");
        for (; kv[0]; kv += 2)
                jset(h, kv[0], json_string(kv[1]));
        if (json_object_update(h, j) < 0)
                sg_oom("json answer");
        json_decref(j);
        return h;
}

/* ---- /stats --------------------------------------------------------- */

/* $1 from, $2 to. The streaming metrics (sg-stream-metrics): the
 * freshest; the batch path only proves them (/stats/pipeline). */
static const char SQL_SUMMARY[] =
    "WITH t AS (SELECT event_type, sum(total_events)::bigint AS n,"
    "                  sum(total_amount) AS amount"
    "             FROM metrics_streaming_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date"
    "            GROUP BY event_type),"
    "     c AS (SELECT country, sum(total_events)::bigint AS n"
    "             FROM metrics_streaming_country_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date"
    "            GROUP BY country"
    "            ORDER BY n DESC, country COLLATE \"C\" LIMIT 10) "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'events', (SELECT coalesce(sum(n), 0)::bigint FROM t),"
    "  'by_type', (SELECT coalesce(json_object_agg(event_type, n), '{}')"
    "                FROM t),"
    "  'purchase_amount', (SELECT round(coalesce(sum(amount), 0), 2)::text"
    "                        FROM t WHERE event_type = 'purchase'),"
    "  'plays', (SELECT coalesce(sum(n), 0)::bigint FROM t"
    "             WHERE event_type = 'play'),"
    "  'playback_errors', (SELECT coalesce(sum(n), 0)::bigint FROM t"
    "                       WHERE event_type = 'playback_error'),"
    "  'watch_seconds', (SELECT coalesce(sum(watch_seconds), 0)::bigint"
    "                      FROM metrics_streaming_content_daily"
    "                     WHERE event_date BETWEEN $1::date AND $2::date),"
    "  'top_countries', (SELECT coalesce(json_agg(json_build_object("
    "                             'country', country, 'events', n)"
    "                           ORDER BY n DESC, country COLLATE \"C\"), '[]')"
    "                      FROM c))::text";

int sg_api_q_stats_summary(PGconn *db, const sg_api_req_t *rq, json_t **out,
                           sg_api_problem_t *p)
{
        char from[11], to[11];
        const char *params[2] = {from, to};
        json_t *j = NULL;

        if (req_dates(rq, from, to, p) != 0)
                return p->status;
        if (run_object(db, SQL_SUMMARY, 2, params, "stats summary", &j, p) !=
            200)
                return p->status;
        j = head(j, (const char *const[]){"from", from, "to", to, NULL});
        fill_types(json_object_get(j, "by_type"));
        jset(j, "error_rate",
             error_rate(jint(j, "plays"), jint(j, "playback_errors")));
        *out = j;
        return 200;
}

/* $1 content_id, $2 from, $3 to. Every day of the range, 0 where none. */
static const char SQL_CONTENT[] =
    "WITH d AS (SELECT g::date AS day FROM generate_series("
    "             $2::date::timestamp, $3::date::timestamp,"
    "             interval '1 day') AS g),"
    "     m AS (SELECT event_date, plays, playback_errors, watch_seconds"
    "             FROM metrics_streaming_content_daily"
    "            WHERE content_id = $1"
    "              AND event_date BETWEEN $2::date AND $3::date) "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'plays', (SELECT coalesce(sum(plays), 0)::bigint FROM m),"
    "  'playback_errors', (SELECT coalesce(sum(playback_errors), 0)::bigint"
    "                        FROM m),"
    "  'watch_seconds', (SELECT coalesce(sum(watch_seconds), 0)::bigint"
    "                      FROM m),"
    "  'days', (SELECT json_agg(json_build_object("
    "                    'date', " DAY("d.day") ","
    "                    'plays', coalesce(m.plays, 0),"
    "                    'playback_errors', coalesce(m.playback_errors, 0),"
    "                    'watch_seconds', coalesce(m.watch_seconds, 0))"
    "                  ORDER BY d.day)"
    "             FROM d LEFT JOIN m ON m.event_date = d.day))::text";

int sg_api_q_stats_content(PGconn *db, const sg_api_req_t *rq, json_t **out,
                           sg_api_problem_t *p)
{
        char from[11], to[11];
        const char *params[3] = {rq->path_param, from, to};
        json_t *j = NULL;

        if (!sg_api_valid_content_id(rq->path_param))
                return BAD_PARAM(p, "content_id: expected 1-64 characters "
                                    "of A-Z a-z 0-9 _ . : -");
        if (req_dates(rq, from, to, p) != 0)
                return p->status;
        if (run_object(db, SQL_CONTENT, 3, params, "stats content", &j, p) !=
            200)
                return p->status;
        j = head(j, (const char *const[]){"content_id", rq->path_param,
                                          "from", from, "to", to, NULL});
        jset(j, "error_rate",
             error_rate(jint(j, "plays"), jint(j, "playback_errors")));
        *out = j;
        return 200;
}

/* $1 country, $2 from, $3 to. A bare alpha-2 code counts its
 * subdivisions too ("US": US, US-CA, ...); a subdivision only itself. */
static const char SQL_REGION[] =
    "WITH d AS (SELECT g::date AS day FROM generate_series("
    "             $2::date::timestamp, $3::date::timestamp,"
    "             interval '1 day') AS g),"
    "     m AS (SELECT event_date, event_type, total_events, total_amount"
    "             FROM metrics_streaming_country_daily"
    "            WHERE event_date BETWEEN $2::date AND $3::date"
    "              AND (country = $1::text"
    "                   OR (length($1::text) = 2"
    "                       AND left(country, 3) = $1::text || '-'))),"
    "     t AS (SELECT event_type, sum(total_events)::bigint AS n,"
    "                  sum(total_amount) AS amount"
    "             FROM m GROUP BY event_type),"
    "     e AS (SELECT event_date, sum(total_events)::bigint AS n"
    "             FROM m GROUP BY event_date) "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'events', (SELECT coalesce(sum(n), 0)::bigint FROM t),"
    "  'by_type', (SELECT coalesce(json_object_agg(event_type, n), '{}')"
    "                FROM t),"
    "  'purchase_amount', (SELECT round(coalesce(sum(amount), 0), 2)::text"
    "                        FROM t WHERE event_type = 'purchase'),"
    "  'days', (SELECT json_agg(json_build_object("
    "                    'date', " DAY("d.day") ", 'events', coalesce(e.n, 0))"
    "                  ORDER BY d.day)"
    "             FROM d LEFT JOIN e ON e.event_date = d.day))::text";

int sg_api_q_stats_region(PGconn *db, const sg_api_req_t *rq, json_t **out,
                          sg_api_problem_t *p)
{
        char from[11], to[11];
        const char *params[3] = {rq->path_param, from, to};
        json_t *j = NULL;

        if (!sg_api_valid_country(rq->path_param))
                return BAD_PARAM(p, "country: expected an ISO 3166 code "
                                    "(DE, or a subdivision US-CA)");
        if (req_dates(rq, from, to, p) != 0)
                return p->status;
        if (run_object(db, SQL_REGION, 3, params, "stats region", &j, p) !=
            200)
                return p->status;
        /* "eu" after "country", as docs/api.md shows it. */
        {
                json_t *rest = j;
                j = json_object();
                if (!j)
                        sg_oom("json answer");
                jset(j, "country", json_string(rq->path_param));
                jset(j, "eu", json_boolean(sg_country_is_eu(rq->path_param)));
                jset(j, "from", json_string(from));
                jset(j, "to", json_string(to));
                if (json_object_update(j, rest) < 0)
                        sg_oom("json answer");
                json_decref(rest);
        }
        fill_types(json_object_get(j, "by_type"));
        *out = j;
        return 200;
}

/* $1 minutes. The last $1 minutes of event time (UTC), ending with the
 * current one, 0 where none: metrics_streaming_minute (sql/016). */
static const char SQL_TIMESERIES[] =
    "WITH s AS (SELECT g AS minute FROM generate_series("
    "             date_trunc('minute', now(), 'UTC')"
    "               - ($1::int - 1) * interval '1 minute',"
    "             date_trunc('minute', now(), 'UTC'),"
    "             interval '1 minute') AS g) "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'minutes', (SELECT json_agg(json_build_object("
    "                       'minute', " TS("s.minute") ","
    "                       'events', coalesce(m.events, 0))"
    "                     ORDER BY s.minute)"
    "                FROM s LEFT JOIN metrics_streaming_minute m"
    "                  ON m.minute = s.minute))::text";

int sg_api_q_stats_timeseries(PGconn *db, const sg_api_req_t *rq,
                              json_t **out, sg_api_problem_t *p)
{
        long long minutes;
        char n[24];
        const char *params[1] = {n};

        if (sg_api_parse_int("minutes", arg(rq, "minutes"), 1,
                             SG_API_MINUTES_MAX, SG_API_MINUTES_DEFAULT,
                             &minutes, p) != 0)
                return p->status;
        snprintf(n, sizeof(n), "%lld", minutes);
        return run_object(db, SQL_TIMESERIES, 1, params, "stats timeseries",
                          out, p);
}

/* $1 topic. The groups' stored offsets, and the lambda verdict of the
 * latest date a metrics batch run covered (sg-batch-metrics records its
 * runs in metrics_batch_runs; an --all run, date_to = infinity, covered
 * every date it found in events_raw, so its latest date is the latest of
 * metrics_batch_daily's it covers). For that date D:
 *  - metrics: the rows of the three metrics_compare_* views (sql/007) on D
 *    that differ; none: equal.
 *  - compliance: the flags of compliance_flags_compare (sql/009) whose
 *    window starts on D (UTC; window_start is the batch side's when it
 *    has the flag, else the streaming side's, as sg-compare --compliance
 *    counts) that differ; none: equal. sg-batch-compliance records no
 *    runs, so when the batch side holds no flag of D while the streaming
 *    side does, the verdict is no_batch (never recomputed), not differ.
 *    The view is read twice with conditions on one side's window_start
 *    each, so that PostgreSQL narrows its full join to an index range of
 *    that side instead of joining both tables whole.
 * No run at all: date null, both no_batch. */
static const char SQL_PIPELINE[] =
    "WITH o AS (SELECT consumer_group, partition, next_offset"
    "             FROM stream_offsets WHERE topic = $1),"
    "     g AS (SELECT consumer_group, json_agg(json_build_object("
    "                    'partition', partition, 'next_offset', next_offset)"
    "                  ORDER BY partition) AS parts"
    "             FROM o GROUP BY consumer_group),"
    "     dd AS MATERIALIZED (SELECT greatest("
    "              (SELECT max(least(date_to,"
    "                                (now() AT TIME ZONE 'UTC')::date))"
    "                 FROM metrics_batch_runs WHERE date_to < 'infinity'),"
    "              (SELECT max(b.event_date) FROM metrics_batch_daily b"
    "                WHERE EXISTS (SELECT 1 FROM metrics_batch_runs r"
    "                               WHERE b.event_date"
    "                                     BETWEEN r.date_from AND r.date_to)))"
    "              AS d),"
    "     k AS MATERIALIZED (SELECT d, " UTC_FROM("d") " AS lo,"
    "                               " UTC_UNTIL("d") " AS hi"
    "             FROM dd),"
    "     v AS MATERIALIZED (SELECT k.d,"
    "             (SELECT count(*) FROM metrics_compare_daily"
    "               WHERE event_date = k.d AND differs)"
    "           + (SELECT count(*) FROM metrics_compare_country_daily"
    "               WHERE event_date = k.d AND differs)"
    "           + (SELECT count(*) FROM metrics_compare_content_daily"
    "               WHERE event_date = k.d AND differs) AS mdiff,"
    "             (SELECT count(*) FROM compliance_flags_compare"
    "               WHERE batch_window_start >= k.lo"
    "                 AND batch_window_start < k.hi AND differs)"
    "           + (SELECT count(*) FROM compliance_flags_compare"
    "               WHERE streaming_window_start >= k.lo"
    "                 AND streaming_window_start < k.hi AND NOT in_batch)"
    "             AS cdiff,"
    "             EXISTS (SELECT 1 FROM compliance_flags_batch"
    "                      WHERE window_start >= k.lo AND window_start < k.hi)"
    "             AS cbatch"
    "             FROM k) "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'consumers', (SELECT coalesce(json_agg(json_build_object("
    "                         'group', consumer_group, 'partitions', parts)"
    "                       ORDER BY consumer_group COLLATE \"C\"), '[]')"
    "                  FROM g),"
    "  'lambda', (SELECT json_build_object("
    "               'date', " DAY("v.d") ","
    "               'metrics', CASE WHEN v.d IS NULL THEN 'no_batch'"
    "                               WHEN v.mdiff = 0 THEN 'equal'"
    "                               ELSE 'differ' END,"
    "               'compliance', CASE WHEN v.d IS NULL THEN 'no_batch'"
    "                                  WHEN NOT v.cbatch AND v.cdiff > 0"
    "                                  THEN 'no_batch'"
    "                                  WHEN v.cdiff = 0 THEN 'equal'"
    "                                  ELSE 'differ' END,"
    "               'metrics_differences', CASE WHEN v.d IS NOT NULL"
    "                                           THEN v.mdiff END,"
    "               'compliance_differences',"
    "                   CASE WHEN v.d IS NOT NULL AND v.cbatch"
    "                        THEN v.cdiff END)"
    "               FROM v))::text";

/* One partition's high watermark, or -1 when unknown (no client, or
 * Kafka did not answer: then *kafka_ok turns false and no further
 * partition is asked, so that an unreachable broker costs one timeout). */
static long long high_watermark(rd_kafka_t *rk, int32_t partition,
                                bool *kafka_ok)
{
        int64_t low = 0, high = 0;
        rd_kafka_resp_err_t err;

        if (!rk || !*kafka_ok)
                return -1;
        err = rd_kafka_query_watermark_offsets(rk, SG_API_TOPIC, partition,
                                               &low, &high,
                                               SG_API_WATERMARK_MS);
        if (err) {
                sg_warn("watermark of %s [%d]: %s", SG_API_TOPIC,
                        (int)partition, rd_kafka_err2str(err));
                *kafka_ok = false;
                return -1;
        }
        return high;
}

int sg_api_q_stats_pipeline(PGconn *db, const sg_api_req_t *rq, json_t **out,
                            sg_api_problem_t *p)
{
        const char *params[1] = {SG_API_TOPIC};
        json_t *j = NULL, *groups, *g;
        bool kafka_ok = true;
        size_t i, k;
        /* Partitions are asked once, whatever the number of groups. */
        long long hw[256];
        bool asked[256] = {false};

        if (run_object(db, SQL_PIPELINE, 1, params, "stats pipeline", &j, p) !=
            200)
                return p->status;
        groups = json_object_get(j, "consumers");
        json_array_foreach(groups, i, g)
        {
                json_t *parts = json_object_get(g, "partitions"), *pt;
                long long sum = 0;
                bool known = true;

                json_array_foreach(parts, k, pt)
                {
                        json_int_t part = jint(pt, "partition");
                        json_int_t next = jint(pt, "next_offset");
                        long long high = -1;

                        if (part >= 0 && part < 256) {
                                if (!asked[part]) {
                                        hw[part] = high_watermark(
                                            rq->rk, (int32_t)part, &kafka_ok);
                                        asked[part] = true;
                                }
                                high = hw[part];
                        } else {
                                high = high_watermark(rq->rk, (int32_t)part,
                                                      &kafka_ok);
                        }
                        if (high < 0) {
                                known = false;
                                jset(pt, "high_watermark", json_null());
                                jset(pt, "lag", json_null());
                                continue;
                        }
                        /* Offsets stored against another cluster (a new
                         * broker) can be ahead of its log: no negative
                         * lag. */
                        jset(pt, "high_watermark", json_integer(high));
                        jset(pt, "lag", json_integer(high > next ? high - next
                                                                 : 0));
                        sum += high > next ? high - next : 0;
                }
                jset(g, "lag", known ? json_integer(sum) : json_null());
        }
        *out = j;
        return 200;
}

/* ---- /compliance ---------------------------------------------------- */

/* $1 from, $2 to. Flags by the UTC date of window_start; risk levels and
 * late events by event date. */
static const char SQL_CSUMMARY[] =
    "WITH f AS (SELECT rule, severity,"
    "                  (window_start AT TIME ZONE 'UTC')::date AS day,"
    "                  count(*)::bigint AS n"
    "             FROM compliance_flags"
    "            WHERE window_start >= " UTC_FROM("$1")
    "              AND window_start < " UTC_UNTIL("$2")
    "            GROUP BY 1, 2, 3),"
    "     fr AS (SELECT rule, severity, sum(n)::bigint AS n"
    "              FROM f GROUP BY 1, 2),"
    "     r AS (SELECT risk_level, sum(events)::bigint AS n"
    "             FROM compliance_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date"
    "            GROUP BY risk_level) "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'total', (SELECT coalesce(sum(n), 0)::bigint FROM f),"
    "  'by_rule', (SELECT coalesce(json_agg(json_build_object("
    "                       'rule', rule, 'severity', severity, 'flags', n)"
    "                     ORDER BY rule COLLATE \"C\","
    "                              sg_severity_rank(severity) DESC), '[]')"
    "                FROM fr),"
    "  'by_day', (SELECT coalesce(json_agg(json_build_object("
    "                      'date', " DAY("day") ", 'rule', rule,"
    "                      'severity', severity, 'flags', n)"
    "                    ORDER BY day, rule COLLATE \"C\","
    "                             sg_severity_rank(severity) DESC), '[]')"
    "               FROM f),"
    "  'risk', json_build_object("
    "     'low', coalesce((SELECT n FROM r WHERE risk_level = 'low'), 0),"
    "     'medium', coalesce((SELECT n FROM r WHERE risk_level = 'medium'), 0),"
    "     'high', coalesce((SELECT n FROM r WHERE risk_level = 'high'), 0)),"
    "  'late_events', (SELECT coalesce(sum(events), 0)::bigint"
    "                    FROM compliance_late"
    "                   WHERE event_date BETWEEN $1::date AND $2::date))::text";

int sg_api_q_compliance_summary(PGconn *db, const sg_api_req_t *rq,
                                json_t **out, sg_api_problem_t *p)
{
        char from[11], to[11];
        const char *params[2] = {from, to};
        json_t *j = NULL;

        if (req_dates(rq, from, to, p) != 0)
                return p->status;
        if (run_object(db, SQL_CSUMMARY, 2, params, "compliance summary", &j,
                       p) != 200)
                return p->status;
        *out = head(j, (const char *const[]){"from", from, "to", to, NULL});
        return 200;
}

/* A flag as docs/api.md's FLAG (then the cursor's columns). */
#define FLAG_JSON                                                              \
        "json_build_object("                                                   \
        "  'flag_id', flag_id, 'rule', rule, 'rule_version', rule_version,"    \
        "  'severity', severity, 'subject_type', subject_type,"                \
        "  'subject_id', subject_id,"                                          \
        "  'window_start', " TS("window_start") ","                           \
        "  'window_end', " TS("window_end") ","                               \
        "  'first_event_id', first_event_id, 'last_event_id', last_event_id,"  \
        "  'event_count', event_count, 'observed', observed,"                  \
        "  'threshold', threshold, 'evidence', evidence,"                      \
        "  'detected_at', " TS("detected_at") ","                             \
        "  'updated_at', " TS("updated_at") ")"

/* $1 rule, $2 severity, $3 subject_type, $4 subject_id, $5 from, $6 to,
 * $7 the cursor's window_start, $8 its flag_id, $9 rows (limit + 1: the
 * extra row says whether there is a next page). The cursor's columns
 * are renamed so that ORDER BY flag_id names the uuid column, not the text
 * one (an output column's name wins in ORDER BY). A NULL filter is off; the
 * statement is planned with its values (the unnamed statement), so an off
 * filter costs nothing. Keyset order: window_start DESC, flag_id DESC
 * (compliance_flags_window, sql/016, read backwards). */
/* One row even when no flag matches (then only as_of is set): as_of is
 * the statement's now(), like every other answer's. */
static const char SQL_FLAGS[] =
    "SELECT n.as_of, f.j, f.cursor_us, f.cursor_id"
    "  FROM (SELECT " TS("now()") " AS as_of) AS n"
    "  LEFT JOIN LATERAL ("
    "SELECT " FLAG_JSON "::text AS j,"
    "       (extract(epoch FROM window_start) * 1000000)::bigint AS cursor_us,"
    "       flag_id::text AS cursor_id, window_start AS ws, flag_id AS fid"
    "  FROM compliance_flags"
    " WHERE ($1::text IS NULL OR rule = $1)"
    "   AND ($2::text IS NULL OR severity = $2)"
    "   AND ($3::text IS NULL OR subject_type = $3)"
    "   AND ($4::text IS NULL OR subject_id = $4)"
    "   AND ($5::date IS NULL OR window_start >= " UTC_FROM("$5") ")"
    "   AND ($6::date IS NULL OR window_start < " UTC_UNTIL("$6") ")"
    "   AND ($7::timestamptz IS NULL"
    "        OR (window_start, flag_id) < ($7::timestamptz, $8::uuid))"
    " ORDER BY window_start DESC, flag_id DESC"
    " LIMIT $9::int) AS f ON true"
    " ORDER BY f.ws DESC, f.fid DESC";

/* One-of parameters: NULL when absent, the value when allowed, else a
 * 400. */
static int enum_param(const sg_api_req_t *rq, const char *name,
                      const char *const *allowed, const char **out,
                      sg_api_problem_t *p)
{
        const char *v = arg(rq, name);

        *out = NULL;
        if (!v)
                return 0;
        for (; *allowed; allowed++)
                if (strcmp(v, *allowed) == 0) {
                        *out = *allowed;
                        return 0;
                }
        return BAD_PARAM(p, "%s: not one of the allowed values", name);
}

int sg_api_q_compliance_flags(PGconn *db, const sg_api_req_t *rq,
                              json_t **out, sg_api_problem_t *p)
{
        static const char *const severities[] = {"low", "medium", "high",
                                                 NULL};
        static const char *const subjects[] = {"user", "content", "country",
                                               NULL};
        const char *params[9] = {NULL};
        const char *from = arg(rq, "from"), *to = arg(rq, "to");
        const char *cursor = arg(rq, "cursor");
        char from_s[11], to_s[11], ts_s[48], id_s[SG_UUID_LEN + 1],
            rows_s[24], next[SG_API_CURSOR_MAX];
        long long limit, day_f = 0, day_t = 0, ts_us = 0;
        PGresult *res = NULL;
        json_t *items = NULL, *j = NULL;
        int n;

        params[0] = arg(rq, "rule");
        if (params[0] && !sg_api_valid_rule(params[0]))
                return BAD_PARAM(p, "rule: expected 1-64 characters of a-z _");
        if (enum_param(rq, "severity", severities, &params[1], p) != 0 ||
            enum_param(rq, "subject_type", subjects, &params[2], p) != 0)
                return p->status;
        params[3] = arg(rq, "subject_id");
        if (params[3] && !sg_api_valid_content_id(params[3]))
                return BAD_PARAM(p, "subject_id: expected 1-64 characters of "
                                    "A-Z a-z 0-9 _ . : -");
        /* from and to are optional here (no date filter when absent);
         * given both, the usual rules hold. */
        if (from && sg_time_parse_date(from, &day_f) < 0)
                return BAD_PARAM(p, "from: expected a date YYYY-MM-DD");
        if (to && sg_time_parse_date(to, &day_t) < 0)
                return BAD_PARAM(p, "to: expected a date YYYY-MM-DD");
        if (from && to &&
            sg_api_parse_dates(from, to, 0, from_s, to_s, p) != 0)
                return p->status;
        if (from) {
                sg_time_format_day(day_f, from_s);
                params[4] = from_s;
        }
        if (to) {
                sg_time_format_day(day_t, to_s);
                params[5] = to_s;
        }
        if (sg_api_parse_int("limit", arg(rq, "limit"), 1, SG_API_LIMIT_MAX,
                             SG_API_LIMIT_DEFAULT, &limit, p) != 0)
                return p->status;
        if (cursor) {
                if (sg_api_cursor_decode(cursor, &ts_us, id_s) < 0)
                        return BAD_PARAM(p, "cursor: not a cursor this API "
                                            "returned");
                sg_time_format_pg(ts_us, ts_s, sizeof(ts_s));
                params[6] = ts_s;
                params[7] = id_s;
        }
        snprintf(rows_s, sizeof(rows_s), "%lld", limit + 1);
        params[8] = rows_s;

        res = run(db, SQL_FLAGS, 9, params, "compliance flags", p);
        if (!res)
                return p->status;
        items = json_array();
        if (!items)
                sg_oom("json answer");
        n = PQntuples(res);
        if (n == 1 && PQgetisnull(res, 0, 1))
                n = 0; /* no flag: the row of as_of alone */
        for (int i = 0; i < n && i < limit; i++) {
                json_t *f = cell_json(res, i, 1, p);
                if (!f) {
                        json_decref(items);
                        PQclear(res);
                        return p->status;
                }
                if (json_array_append_new(items, f) < 0)
                        sg_oom("json answer");
        }
        j = json_object();
        if (!j)
                sg_oom("json answer");
        jset(j, "as_of", json_string(PQgetvalue(res, 0, 0)));
        jset(j, "items", items);
        if (n > limit) {
                int last = (int)limit - 1;
                sg_api_cursor_encode(
                    strtoll(PQgetvalue(res, last, 2), NULL, 10),
                    PQgetvalue(res, last, 3), next);
                jset(j, "next_cursor", json_string(next));
        } else {
                jset(j, "next_cursor", json_null());
        }
        PQclear(res);
        *out = j;
        return 200;
}

/* $1 flag_id. The flag, then where its first event is in Kafka. */
static const char SQL_FLAG[] =
    "SELECT " FLAG_JSON "::text, kafka_topic, kafka_partition, kafka_offset"
    "  FROM compliance_flags WHERE flag_id = $1::uuid";

int sg_api_q_compliance_flag(PGconn *db, const sg_api_req_t *rq, json_t **out,
                             sg_api_problem_t *p)
{
        char id[SG_UUID_LEN + 1];
        const char *params[1] = {id};
        PGresult *res;
        json_t *j;

        if (!rq->path_param ||
            !sg_uuid_canon(rq->path_param, strlen(rq->path_param), id))
                return BAD_PARAM(p, "flag_id: expected a UUID");
        res = run(db, SQL_FLAG, 1, params, "compliance flag", p);
        if (!res)
                return p->status;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return problem(p, 404, "not_found", "no such flag");
        }
        j = cell_json(res, 0, 0, p);
        if (j && !json_is_object(j)) {
                json_decref(j);
                j = NULL;
                internal(p, "expected an object");
        }
        if (j) {
                json_t *k = json_null();
                /* NULL: a window without events (nothing to point at). */
                if (!PQgetisnull(res, 0, 1)) {
                        k = json_object();
                        if (!k)
                                sg_oom("json answer");
                        jset(k, "topic", json_string(PQgetvalue(res, 0, 1)));
                        jset(k, "partition",
                             PQgetisnull(res, 0, 2)
                                 ? json_null()
                                 : json_integer(strtoll(PQgetvalue(res, 0, 2),
                                                        NULL, 10)));
                        jset(k, "offset",
                             PQgetisnull(res, 0, 3)
                                 ? json_null()
                                 : json_integer(strtoll(PQgetvalue(res, 0, 3),
                                                        NULL, 10)));
                }
                jset(j, "kafka", k);
        }
        PQclear(res);
        if (!j)
                return p->status;
        *out = j;
        return 200;
}

/* $1 from, $2 to. Each event's risk level (compliance_daily) per
 * country. */
static const char SQL_REGIONS[] =
    "WITH c AS (SELECT country, sum(events)::bigint AS events,"
    "                  coalesce(sum(events) FILTER (WHERE risk_level = 'low'),"
    "                           0)::bigint AS low,"
    "                  coalesce(sum(events) FILTER ("
    "                             WHERE risk_level = 'medium'), 0)::bigint"
    "                    AS medium,"
    "                  coalesce(sum(events) FILTER ("
    "                             WHERE risk_level = 'high'), 0)::bigint"
    "                    AS high"
    "             FROM compliance_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date"
    "            GROUP BY country) "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'countries', coalesce(json_agg(json_build_object("
    "                  'country', country, 'events', events,"
    "                  'risk', json_build_object('low', low,"
    "                          'medium', medium, 'high', high))"
    "                ORDER BY events DESC, country COLLATE \"C\"), '[]'))::text"
    "  FROM c";

static json_t *group_new(void)
{
        json_t *g = json_object();

        if (!g)
                sg_oom("json answer");
        jset(g, "events", json_integer(0));
        jset(g, "low", json_integer(0));
        jset(g, "medium", json_integer(0));
        jset(g, "high", json_integer(0));
        return g;
}

static void group_add(json_t *g, const json_t *country)
{
        const json_t *risk = json_object_get(country, "risk");

        jset(g, "events",
             json_integer(jint(g, "events") + jint(country, "events")));
        jset(g, "low", json_integer(jint(g, "low") + jint(risk, "low")));
        jset(g, "medium",
             json_integer(jint(g, "medium") + jint(risk, "medium")));
        jset(g, "high", json_integer(jint(g, "high") + jint(risk, "high")));
}

int sg_api_q_compliance_regions(PGconn *db, const sg_api_req_t *rq,
                                json_t **out, sg_api_problem_t *p)
{
        char from[11], to[11];
        const char *params[2] = {from, to};
        json_t *j = NULL, *c, *groups, *eu, *non_eu, *us_ca, *us_other;
        size_t i;

        if (req_dates(rq, from, to, p) != 0)
                return p->status;
        if (run_object(db, SQL_REGIONS, 2, params, "compliance regions", &j,
                       p) != 200)
                return p->status;
        j = head(j, (const char *const[]){"from", from, "to", to, NULL});
        eu = group_new();
        non_eu = group_new();
        us_ca = group_new();
        us_other = group_new();
        json_array_foreach(json_object_get(j, "countries"), i, c)
        {
                const char *code =
                    json_string_value(json_object_get(c, "country"));
                bool is_eu = sg_country_is_eu(code);

                jset(c, "eu", json_boolean(is_eu));
                group_add(is_eu ? eu : non_eu, c);
                if (sg_country_is_us_ca(code))
                        group_add(us_ca, c);
                else if (code && strncmp(code, "US", 2) == 0 &&
                         (code[2] == '\0' || code[2] == '-'))
                        group_add(us_other, c);
        }
        groups = json_object();
        if (!groups)
                sg_oom("json answer");
        jset(groups, "eu", eu);
        jset(groups, "non_eu", non_eu);
        jset(groups, "us_ca", us_ca);
        jset(groups, "us_other", us_other);
        jset(j, "groups", groups);
        *out = j;
        return 200;
}

/* ---- /privacy-requests ---------------------------------------------- */

/* $1 id. The columns sg_analytics may read (sql/003, 005, 013): never
 * email. */
static const char SQL_PRIVACY_REQUEST[] =
    "SELECT json_build_object("
    "  'id', id, 'kind', kind, 'status', status,"
    "  'requested_at', " TS("requested_at") ","
    "  'processed_at', " TS("processed_at") ", 'error', error)::text"
    "  FROM privacy_requests WHERE id = $1::bigint";

int sg_api_q_privacy_request(PGconn *db, const sg_api_req_t *rq, json_t **out,
                             sg_api_problem_t *p)
{
        long long id;
        char id_s[24];
        const char *params[1] = {id_s};
        PGresult *res;
        json_t *j;

        if (sg_api_parse_id(rq->path_param, &id) < 0)
                return BAD_PARAM(p, "id: expected a positive integer");
        snprintf(id_s, sizeof(id_s), "%lld", id);
        res = run(db, SQL_PRIVACY_REQUEST, 1, params, "privacy request", p);
        if (!res)
                return p->status;
        if (PQntuples(res) == 0) {
                PQclear(res);
                return problem(p, 404, "not_found", "no such request");
        }
        j = cell_json(res, 0, 0, p);
        PQclear(res);
        if (!j)
                return p->status;
        *out = j;
        return 200;
}

/* The 30 days of GDPR art. 12(3) to answer a request. */
#define PRIVACY_LIMIT_DAYS "30"

static const char SQL_PRIVACY_SUMMARY[] =
    "WITH s AS (SELECT status, count(*)::bigint AS n,"
    "                  min(requested_at) AS oldest,"
    "                  count(*) FILTER (WHERE requested_at < now() - interval '"
    PRIVACY_LIMIT_DAYS " days')::bigint AS overdue"
    "             FROM privacy_requests GROUP BY status),"
    "     pnd AS (SELECT coalesce(sum(n), 0)::bigint AS n,"
    "                    min(oldest) AS oldest,"
    "                    coalesce(sum(overdue), 0)::bigint AS overdue"
    "               FROM s WHERE status = 'pending') "
    "SELECT json_build_object("
    "  'as_of', " TS("now()") ","
    "  'pending', pnd.n,"
    "  'oldest_pending_age_seconds',"
    "     floor(extract(epoch FROM now() - pnd.oldest))::bigint,"
    "  'limit_days', " PRIVACY_LIMIT_DAYS ","
    "  'overdue', pnd.overdue,"
    "  'by_status', (SELECT json_object_agg(coalesce(k.st, s.status),"
    "                                       coalesce(s.n, 0)"
    "                                       ORDER BY coalesce(k.ord, 99),"
    "                                                s.status)"
    "                  FROM unnest(ARRAY['pending', 'anonymized',"
    "                       'already_anonymized', 'not_found', 'failed',"
    "                       'exported']) WITH ORDINALITY AS k(st, ord)"
    "                  FULL JOIN s ON s.status = k.st))::text"
    "  FROM pnd";

int sg_api_q_privacy_summary(PGconn *db, const sg_api_req_t *rq, json_t **out,
                             sg_api_problem_t *p)
{
        (void)rq;
        return run_object(db, SQL_PRIVACY_SUMMARY, 0, NULL, "privacy summary",
                          out, p);
}
