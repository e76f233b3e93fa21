/* sg-compare: diffs the batch metrics against the streaming metrics for
 * the selected dates, table by table (a FULL OUTER JOIN on the key, so a
 * row on one side only is a difference), and shows how far each consumer
 * group has read so that lag can be told from a bug. Reads only; exit 0
 * when equal, 1 when they differ. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "compare_render.h"
#include "sg_cli.h"
#include "sg_daterange.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#define PROG "sg-compare"
#define NTABLES 3

enum {
        OPT_FORMAT = 1,
        OPT_MAX_ROWS,
        OPT_RAW_GROUP,
        OPT_STREAM_GROUP,
        OPT_RETRY_FOR,
};

/* Every diff query takes $1, $2 (date bounds) and $3 (rows to list) and
 * returns at least one row: the rows compared, the differences (all of
 * them), then the first differing row or NULLs when there is none:
 * key columns, in_batch, in_streaming, batch values, streaming values,
 * deltas (streaming - batch, a missing side as 0). */
static const char *const SQL_DIFF_DAILY =
    "WITH b AS (SELECT * FROM metrics_batch_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date),"
    "     s AS (SELECT * FROM metrics_streaming_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date),"
    "     j AS (SELECT coalesce(b.event_date, s.event_date) AS event_date,"
    "                  coalesce(b.event_type, s.event_type) AS event_type,"
    "                  b.event_date IS NOT NULL AS in_batch,"
    "                  s.event_date IS NOT NULL AS in_streaming,"
    "                  b.total_events AS b_events, b.total_amount AS b_amount,"
    "                  s.total_events AS s_events, s.total_amount AS s_amount"
    "             FROM b FULL OUTER JOIN s"
    "               ON s.event_date = b.event_date"
    "              AND s.event_type = b.event_type),"
    "     d AS (SELECT * FROM j"
    "            WHERE NOT (in_batch AND in_streaming)"
    "               OR b_events IS DISTINCT FROM s_events"
    "               OR b_amount IS DISTINCT FROM s_amount) "
    "SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM d),"
    "       x.event_date::text, x.event_type, x.in_batch, x.in_streaming,"
    "       x.b_events, x.b_amount, x.s_events, x.s_amount,"
    "       coalesce(x.s_events, 0) - coalesce(x.b_events, 0),"
    "       coalesce(x.s_amount, 0) - coalesce(x.b_amount, 0)"
    "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    "       (SELECT * FROM d ORDER BY event_date, event_type LIMIT $3) AS x"
    "    ON true "
    "ORDER BY x.event_date, x.event_type";

static const char *const SQL_DIFF_COUNTRY =
    "WITH b AS (SELECT * FROM metrics_batch_country_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date),"
    "     s AS (SELECT * FROM metrics_streaming_country_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date),"
    "     j AS (SELECT coalesce(b.event_date, s.event_date) AS event_date,"
    "                  coalesce(b.country, s.country) AS country,"
    "                  coalesce(b.event_type, s.event_type) AS event_type,"
    "                  b.event_date IS NOT NULL AS in_batch,"
    "                  s.event_date IS NOT NULL AS in_streaming,"
    "                  b.total_events AS b_events, b.total_amount AS b_amount,"
    "                  s.total_events AS s_events, s.total_amount AS s_amount"
    "             FROM b FULL OUTER JOIN s"
    "               ON s.event_date = b.event_date AND s.country = b.country"
    "              AND s.event_type = b.event_type),"
    "     d AS (SELECT * FROM j"
    "            WHERE NOT (in_batch AND in_streaming)"
    "               OR b_events IS DISTINCT FROM s_events"
    "               OR b_amount IS DISTINCT FROM s_amount) "
    "SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM d),"
    "       x.event_date::text, x.country, x.event_type, x.in_batch,"
    "       x.in_streaming, x.b_events, x.b_amount, x.s_events, x.s_amount,"
    "       coalesce(x.s_events, 0) - coalesce(x.b_events, 0),"
    "       coalesce(x.s_amount, 0) - coalesce(x.b_amount, 0)"
    "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    "       (SELECT * FROM d ORDER BY event_date, country, event_type"
    "         LIMIT $3) AS x"
    "    ON true "
    "ORDER BY x.event_date, x.country, x.event_type";

static const char *const SQL_DIFF_CONTENT =
    "WITH b AS (SELECT * FROM metrics_batch_content_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date),"
    "     s AS (SELECT * FROM metrics_streaming_content_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date),"
    "     j AS (SELECT coalesce(b.event_date, s.event_date) AS event_date,"
    "                  coalesce(b.content_id, s.content_id) AS content_id,"
    "                  b.event_date IS NOT NULL AS in_batch,"
    "                  s.event_date IS NOT NULL AS in_streaming,"
    "                  b.plays AS b_plays,"
    "                  b.playback_errors AS b_errors,"
    "                  b.watch_seconds AS b_watch,"
    "                  s.plays AS s_plays,"
    "                  s.playback_errors AS s_errors,"
    "                  s.watch_seconds AS s_watch"
    "             FROM b FULL OUTER JOIN s"
    "               ON s.event_date = b.event_date"
    "              AND s.content_id = b.content_id),"
    "     d AS (SELECT * FROM j"
    "            WHERE NOT (in_batch AND in_streaming)"
    "               OR b_plays IS DISTINCT FROM s_plays"
    "               OR b_errors IS DISTINCT FROM s_errors"
    "               OR b_watch IS DISTINCT FROM s_watch) "
    "SELECT (SELECT count(*) FROM j), (SELECT count(*) FROM d),"
    "       x.event_date::text, x.content_id, x.in_batch, x.in_streaming,"
    "       x.b_plays, x.b_errors, x.b_watch,"
    "       x.s_plays, x.s_errors, x.s_watch,"
    "       coalesce(x.s_plays, 0) - coalesce(x.b_plays, 0),"
    "       coalesce(x.s_errors, 0) - coalesce(x.b_errors, 0),"
    "       coalesce(x.s_watch, 0) - coalesce(x.b_watch, 0)"
    "  FROM (SELECT 1) AS one LEFT JOIN LATERAL"
    "       (SELECT * FROM d ORDER BY event_date, content_id LIMIT $3) AS x"
    "    ON true "
    "ORDER BY x.event_date, x.content_id";

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

        char range[64];
        PGresult *res_tables[NTABLES];
        PGresult *res_unbatched;
        PGresult *res_partitions;
        sg_compare_table_t tables[NTABLES];
        sg_compare_row_t *rows[NTABLES];
        const char **unbatched_dates;
        sg_compare_partition_t *partitions;
        sg_compare_result_t result;

        bool transient;
        char err[512];
} cmp_ctx_t;

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [--date YYYY-MM-DD | --from YYYY-MM-DD [--to "
                "YYYY-MM-DD] | --all]\n"
                "          [--format table|markdown|json] [--max-rows N] "
                "[--dsn CONNINFO]\n"
                "Diffs metrics_batch_* against metrics_streaming_* (daily, "
                "country_daily,\ncontent_daily) for the selected dates: a "
                "FULL OUTER JOIN on each table's key,\nso a row on one side "
                "only is a difference. Then shows how far the consumer\n"
                "groups have read (stored offsets per partition) so that "
                "lag can be told\nfrom a bug. Reads only: runs as "
                "sg_analytics too (default user sg_writer).\n\n",
                PROG);
        sg_daterange_usage(fp);
        fputs("Other options:\n"
              "  --format FORMAT      table (default), markdown or json\n"
              "  --max-rows N         differing rows listed per table "
              "(default 20; all are\n"
              "                       counted)\n"
              "  --raw-group ID       the raw-store consumer group (default "
              "sg-raw-store)\n"
              "  --stream-group ID    the streaming consumer group (default "
              "sg-stream-metrics)\n"
              "  --retry-for SECONDS  keep retrying an unreachable database "
              "this long\n"
              "                       (default 60; 0: one attempt)\n",
              fp);
        sg_cli_common_usage(fp);
        fputs("Exit status: 0 equal, 1 different (or the comparison could "
              "not run: see\nstderr), 2 usage error.\n",
              fp);
}

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

static void cmp_fail(cmp_ctx_t *ctx, PGconn *conn, const PGresult *res,
                     const char *what)
{
        sg_pg_fail(conn, res, what, ctx->err, sizeof(ctx->err),
                   &ctx->transient);
}

static PGresult *cmp_query(cmp_ctx_t *ctx, PGconn *conn, const char *sql,
                           int nparams, const char *const *params,
                           const char *what)
{
        return sg_pg_query(conn, sql, nparams, params, 1, what, ctx->err,
                           sizeof(ctx->err), &ctx->transient);
}

static long long cell_ll(const PGresult *res, int row, int col)
{
        return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* Fills ctx->tables[i] from its query result. Returns 0, or -1 (out of
 * memory). */
static int cmp_fill_table(cmp_ctx_t *ctx, int i)
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
                return 0;
        ctx->rows[i] = calloc((size_t)nrows, sizeof(sg_compare_row_t));
        if (!ctx->rows[i])
                return -1;
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
        return 0;
}

/* Reads everything in one REPEATABLE READ, READ ONLY transaction (one
 * snapshot for all tables) and fills ctx->result. Returns 0, or -1 with
 * ctx->err. */
static int cmp_run(cmp_ctx_t *ctx, PGconn *conn)
{
        const char *const sqls[NTABLES] = {SQL_DIFF_DAILY, SQL_DIFF_COUNTRY,
                                           SQL_DIFF_CONTENT};
        sg_compare_result_t *r = &ctx->result;
        const char *params[5];
        char limit[32];
        PGresult *res = NULL;
        int rc = -1, n;

        cmp_ctx_fini(ctx);
        ctx->transient = false;
        snprintf(limit, sizeof(limit), "%d", ctx->max_rows);
        params[0] = sg_daterange_lower(ctx->dr);
        params[1] = sg_daterange_upper(ctx->dr);
        params[2] = limit;
        if (sg_pg_exec(conn, "SET datestyle TO ISO, YMD", ctx->err,
                       sizeof(ctx->err)) < 0 ||
            sg_pg_exec(conn,
                       "BEGIN ISOLATION LEVEL REPEATABLE READ, "
                       "READ ONLY",
                       ctx->err, sizeof(ctx->err)) < 0) {
                ctx->transient = sg_pg_is_transient(conn, NULL);
                goto out;
        }
        for (int i = 0; i < NTABLES; i++) {
                ctx->res_tables[i] =
                    cmp_query(ctx, conn, sqls[i], 3, params, cmp_specs[i].name);
                if (!ctx->res_tables[i])
                        goto out;
                if (cmp_fill_table(ctx, i) < 0) {
                        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
                        goto out;
                }
        }

        ctx->res_unbatched = cmp_query(
            ctx, conn, ctx->dr->all ? SQL_UNBATCHED_ALL : SQL_UNBATCHED_RANGE,
            3, params, "metrics_batch_runs");
        if (!ctx->res_unbatched)
                goto out;

        params[2] = ctx->topic;
        params[3] = ctx->raw_group;
        params[4] = ctx->stream_group;
        ctx->res_partitions =
            PQexecParams(conn, SQL_PARTITIONS, 5, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(ctx->res_partitions) != PGRES_TUPLES_OK) {
                cmp_fail(ctx, conn, ctx->res_partitions, "stream_offsets");
                goto out;
        }
        res = cmp_query(ctx, conn, SQL_TOTALS, 5, params,
                        "offset_gaps and events_duplicates");
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
                ctx->unbatched_dates = calloc((size_t)n, sizeof(char *));
                if (!ctx->unbatched_dates) {
                        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
                        goto out;
                }
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
                ctx->partitions = calloc((size_t)n, sizeof(*ctx->partitions));
                if (!ctx->partitions) {
                        snprintf(ctx->err, sizeof(ctx->err), "out of memory");
                        goto out;
                }
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

        PQclear(res);
        res = PQexec(conn, "COMMIT");
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                cmp_fail(ctx, conn, res, "commit");
                goto out;
        }
        rc = 0;
out:
        PQclear(res);
        if (rc < 0) {
                cmp_ctx_fini(ctx);
                if (PQstatus(conn) == CONNECTION_OK &&
                    PQtransactionStatus(conn) != PQTRANS_IDLE)
                        PQclear(PQexec(conn, "ROLLBACK"));
        }
        return rc;
}


/* sg_pg_job_fn over cmp_run. */
static int cmp_job(PGconn *conn, void *arg, char *errstr, size_t errstr_size,
                   bool *transient)
{
        cmp_ctx_t *ctx = arg;

        if (cmp_run(ctx, conn) == 0)
                return 0;
        snprintf(errstr, errstr_size, "%s", ctx->err);
        *transient = ctx->transient;
        return -1;
}

int main(int argc, char **argv)
{
        static const struct option own[] = {
            {"date", required_argument, NULL, SG_OPT_DATE},
            {"from", required_argument, NULL, SG_OPT_FROM},
            {"to", required_argument, NULL, SG_OPT_TO},
            {"all", no_argument, NULL, SG_OPT_ALL},
            {"format", required_argument, NULL, OPT_FORMAT},
            {"max-rows", required_argument, NULL, OPT_MAX_ROWS},
            {"raw-group", required_argument, NULL, OPT_RAW_GROUP},
            {"stream-group", required_argument, NULL, OPT_STREAM_GROUP},
            {"retry-for", required_argument, NULL, OPT_RETRY_FOR},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        sg_daterange_args_t dargs;
        sg_daterange_t dr;
        sg_compare_format_t format = SG_COMPARE_TABLE;
        cmp_ctx_t ctx;
        char conninfo[1024], err[512];
        char *out_text = NULL;
        long long retry_s = 60, v, diff, started;
        int opt, r, rc = 1;

        memset(&ctx, 0, sizeof(ctx));
        ctx.max_rows = 20;
        ctx.raw_group = "sg-raw-store";
        ctx.stream_group = "sg-stream-metrics";
        sg_cli_common_init(&common);
        sg_daterange_args_init(&dargs);
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                if (sg_daterange_opt(&dargs, opt, optarg))
                        continue;
                switch (opt) {
                case OPT_FORMAT:
                        if (sg_compare_format_parse(optarg, &format) < 0)
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--format must be table, markdown or "
                                    "json");
                        break;
                case OPT_MAX_ROWS:
                        if (sg_cli_parse_long(optarg, 0, 100000, &v))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--max-rows must be 0..100000");
                        ctx.max_rows = (int)v;
                        break;
                case OPT_RAW_GROUP:
                case OPT_STREAM_GROUP:
                        if (!*optarg)
                                return sg_cli_usage_error(
                                    PROG, usage, "%s is empty",
                                    opt == OPT_RAW_GROUP ? "--raw-group"
                                                         : "--stream-group");
                        if (opt == OPT_RAW_GROUP)
                                ctx.raw_group = optarg;
                        else
                                ctx.stream_group = optarg;
                        break;
                case OPT_RETRY_FOR:
                        if (sg_cli_parse_long(optarg, 0, 86400, &v))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--retry-for must be 0..86400 seconds");
                        retry_s = v;
                        break;
                default:
                        r = sg_cli_common(&common, opt, optarg, PROG, usage);
                        if (r >= 0)
                                return r;
                }
        }
        if (optind < argc)
                return sg_cli_usage_error(
                    PROG, usage, "unexpected argument '%s'", argv[optind]);
        if (sg_daterange_resolve(&dargs, time(NULL), &dr, err, sizeof(err)) < 0)
                return sg_cli_usage_error(PROG, usage, "%s", err);
        if (strcmp(ctx.raw_group, ctx.stream_group) == 0)
                return sg_cli_usage_error(PROG, usage,
                                          "--raw-group and --stream-group "
                                          "are the same group");
        sg_log_init(PROG, common.log_level);
        sg_signal_install();
        ctx.dr = &dr;
        ctx.topic = common.topic;
        sg_daterange_describe(&dr, ctx.range, sizeof(ctx.range));

        sg_pg_conninfo(&common, "sg_writer", conninfo, sizeof(conninfo));
        started = sg_now_ms();
        if (sg_pg_run_retry(conninfo, PROG, retry_s, 10000, false,
                            "comparison", cmp_job, &ctx) < 0)
                goto out;

        out_text = sg_compare_render(&ctx.result, format);
        if (!out_text) {
                sg_error("out of memory rendering the comparison");
                goto out;
        }
        if (fputs(out_text, stdout) == EOF || fflush(stdout) != 0) {
                sg_error("cannot write the comparison to stdout");
                goto out;
        }
        diff = sg_compare_differences(&ctx.result);
        sg_info("compared dates=\"%s\" differences=%lld unbatched_dates=%lld "
                "ms=%lld",
                ctx.range, diff, ctx.result.unbatched, sg_now_ms() - started);
        rc = diff == 0 ? 0 : 1;
out:
        free(out_text);
        cmp_ctx_fini(&ctx);
        return rc;
}
