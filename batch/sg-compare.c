/* sg-compare: diffs the batch metrics against the streaming metrics for
 * the selected dates, table by table (the metrics_compare_* views of
 * sql/007: a row on one side only is a difference), and shows how far each consumer
 * group has read so that lag can be told from a bug. With --compliance it
 * diffs sg-batch-compliance's flags against sg-compliance's instead (the
 * compliance_flags_compare view of sql/009). Reads only (with --alert,
 * adds an alert when they differ); exit 0 when equal, 1 when they
 * differ. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "compare_render.h"
#include "sg_alert.h"
#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_daterange.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"
#include "sg_time.h"

#define PROG "sg-compare"
#define NTABLES 3


/* Every diff query reads one of the metrics_compare_* views (sql/007:
 * the one definition of "differs"), takes $1, $2 (date bounds) and $3
 * (rows to list) and returns at least one row: the rows compared, the
 * differences (all of them), then the first differing row or NULLs when
 * there is none: key columns, in_batch, in_streaming, batch values,
 * streaming values, deltas (streaming - batch, a missing side as 0). */
#define SG_COMPARE_SQL(view, keys, xkeys, keys_text, values)                   \
        "WITH j AS MATERIALIZED (SELECT * FROM " view                          \
        "            WHERE event_date BETWEEN $1::date AND $2::date),"         \
        "     d AS (SELECT * FROM j WHERE differs) "                           \
        "SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM d), "          \
        keys_text ", x.in_batch, x.in_streaming, " values                      \
        "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"                           \
        "       (SELECT * FROM d ORDER BY " keys " LIMIT $3) AS x"             \
        "    ON true "                                                         \
        "ORDER BY " xkeys

static const char *const SQL_DIFF_DAILY = SG_COMPARE_SQL(
    "metrics_compare_daily", "event_date, event_type",
    "x.event_date, x.event_type",
    "x.event_date::text, x.event_type",
    "x.batch_events, x.batch_amount, x.streaming_events, "
    "x.streaming_amount, x.events_delta, x.amount_delta");

static const char *const SQL_DIFF_COUNTRY = SG_COMPARE_SQL(
    "metrics_compare_country_daily", "event_date, country, event_type",
    "x.event_date, x.country, x.event_type",
    "x.event_date::text, x.country, x.event_type",
    "x.batch_events, x.batch_amount, x.streaming_events, "
    "x.streaming_amount, x.events_delta, x.amount_delta");

static const char *const SQL_DIFF_CONTENT = SG_COMPARE_SQL(
    "metrics_compare_content_daily", "event_date, content_id",
    "x.event_date, x.content_id",
    "x.event_date::text, x.content_id",
    "x.batch_plays, x.batch_errors, x.batch_watch, x.streaming_plays, "
    "x.streaming_errors, x.streaming_watch, x.plays_delta, x.errors_delta, "
    "x.watch_delta");

/* Selected dates no batch run has covered: how many, then the first $3
 * (or one row of NULL). A --all range is every date that has metrics on
 * either side. */
static const char *const SQL_UNBATCHED_RANGE =
    "WITH missing AS ("
    "  SELECT d::date AS d"
    "    FROM generate_series($1::date::timestamp, $2::date::timestamp,"
    "                         interval '1 day') AS d"
    "   WHERE NOT EXISTS (SELECT 1 FROM metrics_batch_runs r"
    "                      WHERE d::date BETWEEN r.date_from AND r.date_to)) "
    "SELECT (SELECT count(*) FROM missing), m.d::text"
    "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    "       (SELECT d FROM missing ORDER BY d LIMIT $3) AS m ON true "
    "ORDER BY m.d";

static const char *const SQL_UNBATCHED_ALL =
    "WITH dates AS ("
    "  SELECT event_date AS d FROM metrics_batch_daily"
    "  UNION SELECT event_date FROM metrics_streaming_daily"
    "  UNION SELECT event_date FROM metrics_batch_country_daily"
    "  UNION SELECT event_date FROM metrics_streaming_country_daily"
    "  UNION SELECT event_date FROM metrics_batch_content_daily"
    "  UNION SELECT event_date FROM metrics_streaming_content_daily),"
    " missing AS ("
    "  SELECT d FROM dates"
    "   WHERE d BETWEEN $1::date AND $2::date"
    "     AND NOT EXISTS (SELECT 1 FROM metrics_batch_runs r"
    "                      WHERE d BETWEEN r.date_from AND r.date_to)) "
    "SELECT (SELECT count(*) FROM missing), m.d::text"
    "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    "       (SELECT d FROM missing ORDER BY d LIMIT $3) AS m ON true "
    "ORDER BY m.d";

/* Per partition of the topic ($3): the stored next_offset of the raw
 * group ($4) and of the streaming group ($5), -1 where none; events_raw
 * rows of the selected dates; duplicates the raw group recorded. */
static const char *const SQL_PARTITIONS =
    "WITH ev AS (SELECT kafka_partition AS p, count(*) AS n FROM events_raw"
    "             WHERE event_date BETWEEN $1::date AND $2::date"
    "               AND kafka_topic = $3"
    "             GROUP BY kafka_partition),"
    "     dup AS (SELECT kafka_partition AS p, count(*) AS n"
    "               FROM events_duplicates"
    "              WHERE kafka_topic = $3 AND consumer_group = $4"
    "              GROUP BY kafka_partition),"
    "     off AS (SELECT partition AS p,"
    "                    max(next_offset) FILTER (WHERE consumer_group = $4)"
    "                      AS raw,"
    "                    max(next_offset) FILTER (WHERE consumer_group = $5)"
    "                      AS stream"
    "               FROM stream_offsets"
    "              WHERE topic = $3 AND consumer_group IN ($4, $5)"
    "              GROUP BY partition),"
    "     parts AS (SELECT p FROM ev UNION SELECT p FROM dup"
    "               UNION SELECT p FROM off) "
    "SELECT parts.p, coalesce(off.raw, -1), coalesce(off.stream, -1),"
    "       coalesce(ev.n, 0), coalesce(dup.n, 0)"
    "  FROM parts LEFT JOIN off USING (p) LEFT JOIN ev USING (p)"
    "       LEFT JOIN dup USING (p) "
    "ORDER BY parts.p";

/* offset_gaps per group, and the raw group's duplicates: all of them and
 * those of events in the selected dates. */
static const char *const SQL_TOTALS =
    "SELECT (SELECT count(*) FROM offset_gaps"
    "         WHERE topic = $3 AND consumer_group = $4),"
    "       (SELECT coalesce(sum(lost_events), 0) FROM offset_gaps"
    "         WHERE topic = $3 AND consumer_group = $4),"
    "       (SELECT count(*) FROM offset_gaps"
    "         WHERE topic = $3 AND consumer_group = $5),"
    "       (SELECT coalesce(sum(lost_events), 0) FROM offset_gaps"
    "         WHERE topic = $3 AND consumer_group = $5),"
    "       (SELECT count(*) FROM events_duplicates"
    "         WHERE kafka_topic = $3 AND consumer_group = $4),"
    "       (SELECT count(*) FROM events_duplicates d"
    "          JOIN events_raw r USING (event_id)"
    "         WHERE d.kafka_topic = $3 AND d.consumer_group = $4"
    "           AND r.event_date BETWEEN $1::date AND $2::date)";

/* --compliance: the flags of compliance_flags_compare (sql/009) whose
 * window starts on the selected dates ($1, $2), and the first $3 that
 * differ. One row at least: the counts (flags compared, in batch, in
 * streaming, differing, batch only, streaming only), then the flag or
 * NULLs when none differs: identity, sides, the differing columns (comma
 * separated), then batch and streaming text of each of FLAG_COLS in
 * turn. */
#define FLAG_SIDES(c) "x.batch_" c "::text, x.streaming_" c "::text"
static const char *const SQL_DIFF_FLAGS =
    "WITH j AS MATERIALIZED (SELECT * FROM compliance_flags_compare"
    "            WHERE (window_start AT TIME ZONE 'UTC')::date"
    "                  BETWEEN $1::date AND $2::date),"
    "     d AS (SELECT * FROM j WHERE differs) "
    "SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM j WHERE in_batch),"
    "       (SELECT count(*) FROM j WHERE in_streaming),"
    "       (SELECT count(*) FROM d), (SELECT count(*) FROM d"
    "         WHERE NOT in_streaming),"
    "       (SELECT count(*) FROM d WHERE NOT in_batch),"
    "       x.flag_id::text, x.rule, x.subject_type, x.subject_id,"
    "       x.window_start::text, x.in_batch, x.in_streaming,"
    "       array_to_string(x.differing_columns, ','), "
    FLAG_SIDES("rule") ", " FLAG_SIDES("rule_version") ", "
    FLAG_SIDES("severity") ", " FLAG_SIDES("subject_type") ", "
    FLAG_SIDES("subject_id") ", " FLAG_SIDES("window_start") ", "
    FLAG_SIDES("window_end") ", " FLAG_SIDES("first_event_id") ", "
    FLAG_SIDES("first_event_at") ", " FLAG_SIDES("last_event_id") ", " FLAG_SIDES("event_count") ", "
    FLAG_SIDES("observed") ", " FLAG_SIDES("threshold") ", "
    FLAG_SIDES("evidence") ", " FLAG_SIDES("kafka_topic") ", "
    FLAG_SIDES("kafka_partition") ", " FLAG_SIDES("kafka_offset")
    "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    "       (SELECT * FROM d ORDER BY window_start, rule, subject_type,"
    "               subject_id, flag_id LIMIT $3) AS x ON true "
    "ORDER BY x.window_start, x.rule, x.subject_type, x.subject_id, x.flag_id";

/* The compared columns, in SQL_DIFF_FLAGS's order (sql/009's list). */
static const char *const FLAG_COLS[SG_COMPARE_FLAG_COLS] = {
    "rule",           "rule_version",  "severity",    "subject_type",
    "subject_id",     "window_start",  "window_end",  "first_event_id",
    "first_event_at", "last_event_id",  "event_count", "observed",
    "threshold",
    "evidence",       "kafka_topic",   "kafka_partition", "kafka_offset"};
#define FLAG_COL0 14 /* the first value column of SQL_DIFF_FLAGS */

typedef struct cmp_spec {
        const char *name;
        int nkeys;
        int nvalues;
        const char *key_names[SG_COMPARE_MAX_KEYS];
        const char *value_names[SG_COMPARE_MAX_VALUES];
        sg_compare_kind_t kinds[SG_COMPARE_MAX_VALUES];
} cmp_spec_t;

static const cmp_spec_t cmp_specs[NTABLES] = {
    {"daily",
     2,
     2,
     {"event_date", "event_type"},
     {"total_events", "total_amount"},
     {SG_COMPARE_INT, SG_COMPARE_DECIMAL}},
    {"country_daily",
     3,
     2,
     {"event_date", "country", "event_type"},
     {"total_events", "total_amount"},
     {SG_COMPARE_INT, SG_COMPARE_DECIMAL}},
    {"content_daily",
     2,
     3,
     {"event_date", "content_id"},
     {"plays", "playback_errors", "watch_seconds"},
     {SG_COMPARE_INT, SG_COMPARE_INT, SG_COMPARE_INT}},
};

/* Everything one comparison read. The result structs point into the
 * PGresults, which stay alive until cmp_ctx_fini. */
typedef struct cmp_ctx {
        const sg_daterange_t *dr;
        const char *topic;
        const char *raw_group;
        const char *stream_group;
        int max_rows;
        bool alert;

        char range[64];
        PGresult *res_tables[NTABLES];
        PGresult *res_unbatched;
        PGresult *res_partitions;
        sg_compare_table_t tables[NTABLES];
        sg_compare_row_t *rows[NTABLES];
        const char **unbatched_dates;
        sg_compare_partition_t *partitions;
        sg_compare_result_t result;
} cmp_ctx_t;

static void cmp_ctx_fini(cmp_ctx_t *ctx)
{
        for (int i = 0; i < NTABLES; i++) {
                PQclear(ctx->res_tables[i]);
                ctx->res_tables[i] = NULL;
                free(ctx->rows[i]);
                ctx->rows[i] = NULL;
        }
        PQclear(ctx->res_unbatched);
        ctx->res_unbatched = NULL;
        PQclear(ctx->res_partitions);
        ctx->res_partitions = NULL;
        free(ctx->unbatched_dates);
        ctx->unbatched_dates = NULL;
        free(ctx->partitions);
        ctx->partitions = NULL;
}

static long long cell_ll(const PGresult *res, int row, int col)
{
        return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Fills ctx->tables[i] from its query result. */
static void cmp_fill_table(cmp_ctx_t *ctx, int i)
{
        const cmp_spec_t *spec = &cmp_specs[i];
        const PGresult *res = ctx->res_tables[i];
        sg_compare_table_t *t = &ctx->tables[i];
        int n = PQntuples(res), kcol = 2, vcol, nrows;

        memset(t, 0, sizeof(*t));
        t->name = spec->name;
        t->nkeys = spec->nkeys;
        t->nvalues = spec->nvalues;
        for (int k = 0; k < spec->nkeys; k++)
                t->key_names[k] = spec->key_names[k];
        for (int v = 0; v < spec->nvalues; v++) {
                t->value_names[v] = spec->value_names[v];
                t->value_kinds[v] = spec->kinds[v];
        }
        t->compared = cell_ll(res, 0, 0);
        t->differences = cell_ll(res, 0, 1);
        /* One row of NULL keys: nothing differs. */
        nrows = PQgetisnull(res, 0, kcol) ? 0 : n;
        vcol = kcol + spec->nkeys + 2;
        if (nrows == 0)
                return;
        ctx->rows[i] = sg_xcalloc((size_t)nrows, sizeof(sg_compare_row_t));
        for (int r = 0; r < nrows; r++) {
                sg_compare_row_t *row = &ctx->rows[i][r];

                for (int k = 0; k < spec->nkeys; k++)
                        row->key[k] = PQgetvalue(res, r, kcol + k);
                row->in_batch =
                    strcmp(PQgetvalue(res, r, kcol + spec->nkeys), "t") == 0;
                row->in_streaming =
                    strcmp(PQgetvalue(res, r, kcol + spec->nkeys + 1), "t") ==
                    0;
                for (int v = 0; v < spec->nvalues; v++) {
                        row->batch[v] = PQgetvalue(res, r, vcol + v);
                        row->streaming[v] =
                            PQgetvalue(res, r, vcol + spec->nvalues + v);
                        row->delta[v] =
                            PQgetvalue(res, r, vcol + 2 * spec->nvalues + v);
                }
        }
        t->rows = ctx->rows[i];
        t->nrows = nrows;
}

/* Reads everything and fills ctx->result; a job of sg_pg_run in one
 * REPEATABLE READ, READ ONLY transaction (one snapshot for all tables).
 * Returns 0, or -1 with err. */
/* --alert: batch and streaming differ, so an alert, in the comparison's
 * transaction. Its key is what was compared, the dates and the counts:
 * the same comparison finding the same differences again adds nothing. */
static int compare_alert(PGconn *conn, const char *what, const char *range,
                         long long differences, const char *counts,
                         sg_pg_err_t *err)
{
        char key[512], summary[320];

        snprintf(key, sizeof(key), "%s|%s|%s", what, range, counts);
        snprintf(summary, sizeof(summary),
                 "batch and streaming %s differ for %s: %lld differences "
                 "(sg-compare%s)",
                 what, range, differences,
                 strcmp(what, "metrics") == 0 ? "" : " --compliance");
        return sg_alert_add(conn,
                            &(sg_alert_t){.source = "compare",
                                          .kind = "batch_stream_differ",
                                          .key = key,
                                          .severity = "high",
                                          .subject_type = "date",
                                          .subject_id = range,
                                          .counts = counts,
                                          .summary = summary},
                            err) < 0
                   ? -1
                   : 0;
}

static int cmp_job(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        cmp_ctx_t *ctx = arg;
        const char *const sqls[NTABLES] = {SQL_DIFF_DAILY, SQL_DIFF_COUNTRY,
                                           SQL_DIFF_CONTENT};
        sg_compare_result_t *r = &ctx->result;
        const char *params[5];
        char limit[32];
        PGresult *res = NULL;
        int rc = -1, n;

        cmp_ctx_fini(ctx);
        snprintf(limit, sizeof(limit), "%d", ctx->max_rows);
        params[0] = sg_daterange_lower(ctx->dr);
        params[1] = sg_daterange_upper(ctx->dr);
        params[2] = limit;
        if (sg_pg_exec(conn, "SET LOCAL datestyle TO ISO, YMD", err) < 0)
                goto out;
        for (int i = 0; i < NTABLES; i++) {
                ctx->res_tables[i] = sg_pg_query(conn, sqls[i], 3, params, 1,
                                                 cmp_specs[i].name, err);
                if (!ctx->res_tables[i])
                        goto out;
                cmp_fill_table(ctx, i);
        }

        ctx->res_unbatched = sg_pg_query(
            conn, ctx->dr->all ? SQL_UNBATCHED_ALL : SQL_UNBATCHED_RANGE, 3,
            params, 1, "metrics_batch_runs", err);
        if (!ctx->res_unbatched)
                goto out;

        params[2] = ctx->topic;
        params[3] = ctx->raw_group;
        params[4] = ctx->stream_group;
        ctx->res_partitions = sg_pg_query(conn, SQL_PARTITIONS, 5, params, 0,
                                          "stream_offsets", err);
        if (!ctx->res_partitions)
                goto out;
        res = sg_pg_query(conn, SQL_TOTALS, 5, params, 1,
                          "offset_gaps and events_duplicates", err);
        if (!res)
                goto out;

        memset(r, 0, sizeof(*r));
        r->range = ctx->range;
        r->all = ctx->dr->all;
        r->from = ctx->dr->all ? NULL : ctx->dr->from;
        r->to = ctx->dr->all ? NULL : ctx->dr->to;
        r->ntables = NTABLES;
        r->tables = ctx->tables;

        r->unbatched = cell_ll(ctx->res_unbatched, 0, 0);
        n = PQgetisnull(ctx->res_unbatched, 0, 1)
                ? 0
                : PQntuples(ctx->res_unbatched);
        if (n > 0) {
                ctx->unbatched_dates = sg_xcalloc((size_t)n, sizeof(char *));
                for (int i = 0; i < n; i++)
                        ctx->unbatched_dates[i] =
                            PQgetvalue(ctx->res_unbatched, i, 1);
        }
        r->nunbatched_listed = n;
        r->unbatched_dates = ctx->unbatched_dates;

        r->topic = ctx->topic;
        r->raw_group = ctx->raw_group;
        r->stream_group = ctx->stream_group;
        n = PQntuples(ctx->res_partitions);
        if (n > 0) {
                ctx->partitions = sg_xcalloc((size_t)n, sizeof(*ctx->partitions));
        }
        for (int i = 0; i < n; i++) {
                sg_compare_partition_t *p = &ctx->partitions[i];

                p->partition = (int)cell_ll(ctx->res_partitions, i, 0);
                p->raw_offset = cell_ll(ctx->res_partitions, i, 1);
                p->stream_offset = cell_ll(ctx->res_partitions, i, 2);
                p->events = cell_ll(ctx->res_partitions, i, 3);
                p->duplicates = cell_ll(ctx->res_partitions, i, 4);
        }
        r->npartitions = n;
        r->partitions = ctx->partitions;
        r->raw_gaps = cell_ll(res, 0, 0);
        r->raw_lost = cell_ll(res, 0, 1);
        r->stream_gaps = cell_ll(res, 0, 2);
        r->stream_lost = cell_ll(res, 0, 3);
        r->duplicates = cell_ll(res, 0, 4);
        r->duplicates_in_range = cell_ll(res, 0, 5);
        if (ctx->alert && sg_compare_differences(r) > 0) {
                char counts[256];
                snprintf(counts, sizeof(counts),
                         "{\"differences\":%lld,\"unbatched_dates\":%lld,"
                         "\"raw_gaps\":%lld,\"stream_gaps\":%lld}",
                         sg_compare_differences(r), r->unbatched, r->raw_gaps,
                         r->stream_gaps);
                if (compare_alert(conn, "metrics", ctx->range,
                                  sg_compare_differences(r), counts, err) < 0)
                        goto out;
        }
        rc = 0;
out:
        PQclear(res);
        if (rc < 0)
                cmp_ctx_fini(ctx);
        return rc;
}


/* --- --compliance ------------------------------------------------------ */

/* Everything one flags comparison read; the result points into res. */
typedef struct flags_ctx {
        const sg_daterange_t *dr;
        int max_rows;
        bool alert;
        char range[64];
        PGresult *res;
        sg_compare_flag_t *rows;
        sg_compare_flags_t result;
} flags_ctx_t;

static void flags_ctx_fini(flags_ctx_t *ctx)
{
        PQclear(ctx->res);
        ctx->res = NULL;
        free(ctx->rows);
        ctx->rows = NULL;
}

static const char *cell_opt(const PGresult *res, int row, int col)
{
        return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* The index of a FLAG_COLS name, or -1. */
static int flag_col_find(const char *name, size_t len)
{
        for (int i = 0; i < SG_COMPARE_FLAG_COLS; i++)
                if (strlen(FLAG_COLS[i]) == len &&
                    strncmp(FLAG_COLS[i], name, len) == 0)
                        return i;
        return -1;
}

/* Adds FLAG_COLS[i] with both sides' values to f. */
static void flag_add_col(sg_compare_flag_t *f, const PGresult *res, int row,
                         int i)
{
        if (i < 0 || f->ncols >= SG_COMPARE_FLAG_COLS)
                return;
        f->col[f->ncols] = FLAG_COLS[i];
        f->batch[f->ncols] = cell_opt(res, row, FLAG_COL0 + 2 * i);
        f->streaming[f->ncols] = cell_opt(res, row, FLAG_COL0 + 2 * i + 1);
        f->ncols++;
}

/* One listed flag from its row: the differing columns, or (one side
 * only) the present side's severity and event count. */
static void flag_fill(sg_compare_flag_t *f, const PGresult *res, int row)
{
        const char *list = PQgetvalue(res, row, 13);

        memset(f, 0, sizeof(*f));
        f->flag_id = cell_opt(res, row, 6);
        f->rule = cell_opt(res, row, 7);
        f->subject_type = cell_opt(res, row, 8);
        f->subject_id = cell_opt(res, row, 9);
        f->window_start = cell_opt(res, row, 10);
        f->in_batch = strcmp(PQgetvalue(res, row, 11), "t") == 0;
        f->in_streaming = strcmp(PQgetvalue(res, row, 12), "t") == 0;
        if (!f->in_batch || !f->in_streaming) {
                flag_add_col(f, res, row, flag_col_find("severity", 8));
                flag_add_col(f, res, row, flag_col_find("event_count", 11));
                return;
        }
        while (*list) {
                size_t len = strcspn(list, ",");
                flag_add_col(f, res, row, flag_col_find(list, len));
                list += len;
                if (*list == ',')
                        list++;
        }
}

/* Reads the flags' diff; a job of sg_pg_run in one REPEATABLE READ, READ
 * ONLY transaction. Returns 0, or -1 with err. */
static int flags_job(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        flags_ctx_t *ctx = arg;
        sg_compare_flags_t *r = &ctx->result;
        const char *params[3];
        char limit[32];
        int n;

        flags_ctx_fini(ctx);
        snprintf(limit, sizeof(limit), "%d", ctx->max_rows);
        params[0] = sg_daterange_lower(ctx->dr);
        params[1] = sg_daterange_upper(ctx->dr);
        params[2] = limit;
        /* Timestamps print as ISO in UTC, whatever the server's settings. */
        if (sg_pg_exec(conn, "SET LOCAL datestyle TO ISO, YMD", err) < 0 ||
            sg_pg_exec(conn, "SET LOCAL timezone TO 'UTC'", err) < 0)
                return -1;
        ctx->res = sg_pg_query(conn, SQL_DIFF_FLAGS, 3, params, 1,
                               "compliance_flags_compare", err);
        if (!ctx->res)
                return -1;
        memset(r, 0, sizeof(*r));
        r->range = ctx->range;
        r->all = ctx->dr->all;
        r->from = ctx->dr->all ? NULL : ctx->dr->from;
        r->to = ctx->dr->all ? NULL : ctx->dr->to;
        r->compared = cell_ll(ctx->res, 0, 0);
        r->batch_flags = cell_ll(ctx->res, 0, 1);
        r->streaming_flags = cell_ll(ctx->res, 0, 2);
        r->differences = cell_ll(ctx->res, 0, 3);
        r->batch_only = cell_ll(ctx->res, 0, 4);
        r->streaming_only = cell_ll(ctx->res, 0, 5);
        /* One row of NULLs: nothing differs. */
        n = PQgetisnull(ctx->res, 0, 6) ? 0 : PQntuples(ctx->res);
        if (n > 0) {
                ctx->rows = sg_xcalloc((size_t)n, sizeof(*ctx->rows));
                for (int i = 0; i < n; i++)
                        flag_fill(&ctx->rows[i], ctx->res, i);
        }
        r->nrows = n;
        r->rows = ctx->rows;
        if (ctx->alert && r->differences > 0) {
                char counts[256];
                snprintf(counts, sizeof(counts),
                         "{\"differences\":%lld,\"batch_only\":%lld,"
                         "\"streaming_only\":%lld,\"compared\":%lld}",
                         r->differences, r->batch_only, r->streaming_only,
                         r->compared);
                if (compare_alert(conn, "compliance flags", ctx->range,
                                  r->differences, counts, err) < 0)
                        return -1;
        }
        return 0;
}

/* sg-compare --compliance, after the command line. Returns the exit
 * status. */
static int flags_main(const sg_cli_common_t *common, const sg_daterange_t *dr,
                      int max_rows, int format, long long retry_s, bool alert)
{
        flags_ctx_t ctx;
        sg_pg_job_t job = {.what = "comparison", .fn = flags_job, .arg = &ctx,
                           .tx = alert ? SG_PG_TX_REPEATABLE : SG_PG_TX_SNAPSHOT,
                           .retry_s = retry_s};
        long long started = sg_time_mono_ms();
        char *out_text = NULL;
        int rc = 1;

        memset(&ctx, 0, sizeof(ctx));
        ctx.dr = dr;
        ctx.max_rows = max_rows;
        ctx.alert = alert;
        sg_daterange_describe(dr, ctx.range, sizeof(ctx.range));
        if (sg_pg_run(common, PROG, &job) < 0)
                goto out;
        out_text = sg_compare_flags_render(&ctx.result,
                                           (sg_compare_format_t)format);
        if (!out_text)
                sg_oom("rendering the comparison");
        if (fputs(out_text, stdout) == EOF || fflush(stdout) != 0) {
                sg_error("cannot write the comparison to stdout");
                goto out;
        }
        sg_info("compared compliance flags dates=\"%s\" flags=%lld "
                "differences=%lld batch_only=%lld streaming_only=%lld ms=%lld",
                ctx.range, ctx.result.compared, ctx.result.differences,
                ctx.result.batch_only, ctx.result.streaming_only,
                sg_time_mono_ms() - started);
        rc = ctx.result.differences == 0 ? 0 : 1;
out:
        free(out_text);
        flags_ctx_fini(&ctx);
        return rc;
}


int main(int argc, char **argv)
{
        sg_cli_common_t common;
        sg_daterange_args_t dargs;
        sg_daterange_t dr;
        sg_opt_t date_opts[5];
        int format = SG_COMPARE_TABLE;
        cmp_ctx_t ctx;
        long long diff, started;
        sg_pg_job_t job = {.what = "comparison", .fn = cmp_job, .arg = &ctx,
                           .tx = SG_PG_TX_SNAPSHOT, .retry_s = 60};
        static const char *const formats[] = {"table", "markdown", "json",
                                              NULL};
        bool compliance = false, max_rows_given = false, alert = false;
        bool raw_group_given = false, stream_group_given = false;

        memset(&ctx, 0, sizeof(ctx));
        ctx.max_rows = 20;
        ctx.raw_group = "sg-raw-store";
        ctx.stream_group = "sg-stream-metrics";
        const sg_opt_t opts[] = {
            {.name = "compliance", .kind = SG_OPT_FLAG, .dest = &compliance,
             .help = "diff the compliance flags instead:"
                     "\ncompliance_flags_batch (sg-batch-compliance) against"
                     "\ncompliance_flags (sg-compliance), every column but"
                     "\ndetected_at and updated_at; the dates select the flags"
                     "\nwhose window starts on them (default: every flag)"},
            {.name = "alert", .kind = SG_OPT_FLAG, .dest = &alert,
             .help = "when batch and streaming differ, also add an alert"
                     "\n(sg-alert delivers it), in the comparison's "
                     "transaction;\nthe same differences found again add "
                     "none (needs sg_writer)"},
            {.name = "format", .kind = SG_OPT_CHOICE, .dest = &format,
             .arg = "FORMAT", .choices = formats,
             .help = "table, markdown or json"},
            {.name = "max-rows", .kind = SG_OPT_INT, .dest = &ctx.max_rows,
             .arg = "N", .min = 0, .max = 100000, .given = &max_rows_given,
             .help = "differing rows listed per table (all are counted;"
                     "\n--compliance: differing flags, default 50)"},
            {.name = "raw-group", .kind = SG_OPT_STRING, .dest = &ctx.raw_group,
             .arg = "ID", .given = &raw_group_given,
             .help = "the raw-store consumer group\n(not with --compliance)"},
            {.name = "stream-group", .kind = SG_OPT_STRING,
             .dest = &ctx.stream_group, .arg = "ID",
             .given = &stream_group_given,
             .help = "the streaming consumer group\n(not with --compliance)"},
            sg_pg_retry_opt(&job.retry_s, 86400),
            SG_OPT_END,
        };
        sg_cli_t cli = {
            .prog = PROG,
            .about = "Diffs metrics_batch_* against metrics_streaming_* for the "
                     "selected dates\n(the metrics_compare_* views, in one "
                     "snapshot) and shows each consumer group's\nstored offsets "
                     "per partition. With --compliance, diffs the compliance "
                     "flags\ninstead (the compliance_flags_compare view): "
                     "every differing flag, a line\nper differing column, at "
                     "most --max-rows flags, then how many more. Reads\nonly "
                     "(but for the alert of --alert).",
            .tables = {date_opts, opts},
            .titles = {SG_DATERANGE_TITLE, "Output and options"},
            .epilog = "Exit status (both modes): 0 equal, 1 different (or the "
                      "comparison could not\nrun: see stderr), 2 usage error "
                      "(--compliance with --raw-group or\n--stream-group).",
        };
        char *out_text = NULL;
        int st, rc = 1;

        st = sg_daterange_parse(&cli, &common, &dargs, date_opts, &dr, argc,
                                argv);
        if (st != SG_CLI_RUN)
                return st;
        if (compliance) {
                /* The consumer groups are the metrics' view of progress;
                 * the flags have none to show. */
                if (raw_group_given || stream_group_given)
                        return sg_cli_usage_error(
                            &cli, "--compliance compares flags, not the "
                                  "consumer groups: --raw-group and "
                                  "--stream-group do not apply");
                /* No date given: every flag (metrics default to
                 * yesterday, whose dates sg-batch-metrics runs for; a
                 * flag's period is not a date the batch is run for). */
                if (!dargs.date && !dargs.from && !dargs.all)
                        dr.all = true;
                return flags_main(&common, &dr,
                                  max_rows_given ? ctx.max_rows : 50, format,
                                  job.retry_s, alert);
        }
        if (strcmp(ctx.raw_group, ctx.stream_group) == 0)
                return sg_cli_usage_error(&cli, "--raw-group and --stream-group "
                                                "are the same group");
        ctx.dr = &dr;
        ctx.topic = common.topic;
        ctx.alert = alert;
        if (alert)
                job.tx = SG_PG_TX_REPEATABLE;
        sg_daterange_describe(&dr, ctx.range, sizeof(ctx.range));
        started = sg_time_mono_ms();
        if (sg_pg_run(&common, PROG, &job) < 0)
                goto out;

        out_text = sg_compare_render(&ctx.result, (sg_compare_format_t)format);
        if (!out_text)
                sg_oom("rendering the comparison");
        if (fputs(out_text, stdout) == EOF || fflush(stdout) != 0) {
                sg_error("cannot write the comparison to stdout");
                goto out;
        }
        diff = sg_compare_differences(&ctx.result);
        sg_info("compared dates=\"%s\" differences=%lld unbatched_dates=%lld "
                "ms=%lld",
                ctx.range, diff, ctx.result.unbatched, sg_time_mono_ms() - started);
        rc = diff == 0 ? 0 : 1;
out:
        free(out_text);
        cmp_ctx_fini(&ctx);
        return rc;
}
