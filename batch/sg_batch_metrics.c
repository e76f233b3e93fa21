/* sg-batch-metrics: recomputes metrics_batch_daily, _country_daily and
 * _content_daily from events_raw for the selected dates, in one
 * transaction: delete the dates' batch rows, aggregate the events once at
 * the finest grain into a temporary table (in parallel), insert the three
 * tables' rows from it, record the run in metrics_batch_runs. Running it
 * twice gives the same tables. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "sg_cli.h"
#include "sg_daterange.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#define PROG "sg-batch-metrics"

enum { OPT_RETRY_FOR = 1 };

/* Readers (sg-compare) keep going; a second sg-batch-metrics waits. Taken
 * before the transaction's first query, so its REPEATABLE READ snapshot
 * includes whatever a run we waited for committed. */
static const char *const SQL_LOCK =
    "LOCK TABLE metrics_batch_daily, metrics_batch_country_daily, "
    "metrics_batch_content_daily IN SHARE ROW EXCLUSIVE MODE";

/* Deletes the dates' batch rows; returns the counts and, for --all, the
 * dates that had rows (so that a date whose events are gone is reported
 * too). */
static const char *const SQL_DELETE =
    "WITH d1 AS (DELETE FROM metrics_batch_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date"
    "            RETURNING event_date),"
    "     d2 AS (DELETE FROM metrics_batch_country_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date"
    "            RETURNING event_date),"
    "     d3 AS (DELETE FROM metrics_batch_content_daily"
    "            WHERE event_date BETWEEN $1::date AND $2::date"
    "            RETURNING event_date) "
    "SELECT (SELECT count(*) FROM d1) + (SELECT count(*) FROM d2)"
    "       + (SELECT count(*) FROM d3),"
    "       (SELECT coalesce(array_agg(event_date), '{}') FROM"
    "          (SELECT event_date FROM d1 UNION SELECT event_date FROM d3)"
    "        AS d)::text";

/* No JIT compilation in this transaction. Each process compiles its own
 * code (~50 ms each for SQL_AGGREGATE's leader and workers), more than it
 * saves on a day's 2,000,000 events with 2 cores (median 620 ms with JIT,
 * 560 ms without). The report's query is estimated at 1,000 dates (by
 * generate_series) times four sub-selects over the batch tables, so as
 * those grow it passes jit_optimize_above_cost too: 150-220 ms measured
 * for inlining and optimising code that reads a few rows. */
static const char *const SQL_NO_JIT = "SET LOCAL jit = off";

/* Planner settings for SQL_AGGREGATE only (SQL_PLANNER_DEFAULT restores
 * them). The planner estimates its GROUP BY at 10% of the rows (its clamp
 * for columns it cannot tell are correlated: 200,000 groups for a day of
 * 2,000,000 events that has ~30,000), which misleads it three ways;
 * measured on that day with 2 cores:
 * - it expects a hash aggregation to spill and sorts instead (2.0-2.2 s,
 *   twice the old GROUPING SETS query); hash aggregation can always
 *   spill, so disabling sorts still leaves it a plan;
 * - work_mem lets a day's real groups fit in each process's hash table
 *   (~14 MB per worker, ~22 MB combined; the limit is work_mem *
 *   hash_mem_multiplier);
 * - it thinks 400,000 partial groups pass through Gather (~36,000 do), so
 *   with the default tuple cost it picks a serial aggregation (0.8-1.1 s
 *   against 0.5-0.65 s in parallel).
 * All three are USERSET. They are for this statement only: a disabled
 * sort adds 1e10 to the cost of any plan that has to sort (the report's
 * query does), which misleads every cost-based choice after it. */
static const char *const SQL_PLANNER_AGGREGATE =
    "SET LOCAL enable_sort = off; "
    "SET LOCAL work_mem = '64MB'; "
    "SET LOCAL parallel_tuple_cost = 0.01";

static const char *const SQL_PLANNER_DEFAULT =
    "SET LOCAL enable_sort TO DEFAULT; "
    "SET LOCAL work_mem TO DEFAULT; "
    "SET LOCAL parallel_tuple_cost TO DEFAULT";

/* One parallel pass over the dates' events, aggregated at the finest grain
 * that all three tables are sums of (tens of thousands of rows per day).
 * A plain GROUP BY because PostgreSQL aggregates GROUPING SETS in one
 * process only, and into a temporary table because a statement with
 * INSERTs in its WITH clause never runs in parallel; CREATE TABLE AS
 * does. Temporary tables need the TEMP privilege on the database, which
 * PUBLIC has by default. */
static const char *const SQL_AGGREGATE =
    "CREATE TEMP TABLE sg_batch_agg ON COMMIT DROP AS"
    "  SELECT event_date, country, event_type, content_id,"
    "         count(*) AS events, sum(amount) AS amount,"
    "         sum(watch_seconds) AS watch_seconds"
    "    FROM events_raw"
    "   WHERE event_date BETWEEN $1::date AND $2::date"
    "   GROUP BY event_date, country, event_type, content_id";

/* The three tables from the fine-grain rows: sums of counts, of exact
 * NUMERIC amounts and of integers, hence the same values as aggregating
 * events_raw directly. The daily rows are rolled up from the country rows
 * just inserted. Content rows count 'play' and 'playback_error' events
 * and the watch seconds of 'stop' events only, over every event that has
 * a content_id. */
static const char *const SQL_INSERT =
    "WITH ins_country AS ("
    "  INSERT INTO metrics_batch_country_daily"
    "         (event_date, country, event_type, total_events, total_amount)"
    "  SELECT event_date, country, event_type, sum(events),"
    "         coalesce(sum(amount), 0)"
    "    FROM pg_temp.sg_batch_agg GROUP BY event_date, country, event_type"
    "  RETURNING event_date, event_type, total_events, total_amount),"
    " ins_daily AS ("
    "  INSERT INTO metrics_batch_daily"
    "         (event_date, event_type, total_events, total_amount)"
    "  SELECT event_date, event_type, sum(total_events), sum(total_amount)"
    "    FROM ins_country GROUP BY event_date, event_type"
    "  RETURNING 1),"
    " ins_content AS ("
    "  INSERT INTO metrics_batch_content_daily"
    "         (event_date, content_id, plays, playback_errors, watch_seconds)"
    "  SELECT event_date, content_id,"
    "         coalesce(sum(events) FILTER (WHERE event_type = 'play'), 0),"
    "         coalesce(sum(events) FILTER"
    "           (WHERE event_type = 'playback_error'), 0),"
    "         coalesce(sum(watch_seconds) FILTER"
    "           (WHERE event_type = 'stop'), 0)"
    "    FROM pg_temp.sg_batch_agg WHERE content_id IS NOT NULL"
    "   GROUP BY event_date, content_id"
    "  RETURNING 1) "
    "SELECT (SELECT coalesce(sum(total_events), 0) FROM ins_country),"
    "       (SELECT count(*) FROM ins_daily),"
    "       (SELECT count(*) FROM ins_country),"
    "       (SELECT count(*) FROM ins_content)";

/* What was recomputed, per date: every date of the range (zero-event
 * dates included), or for --all every date that has rows now or had rows
 * before ($3). Columns: date, events, rows in daily, country, content. */
static const char *const SQL_REPORT_RANGE =
    "SELECT d::date::text,"
    "       (SELECT coalesce(sum(total_events), 0) FROM metrics_batch_daily m"
    "         WHERE m.event_date = d::date),"
    "       (SELECT count(*) FROM metrics_batch_daily m"
    "         WHERE m.event_date = d::date),"
    "       (SELECT count(*) FROM metrics_batch_country_daily m"
    "         WHERE m.event_date = d::date),"
    "       (SELECT count(*) FROM metrics_batch_content_daily m"
    "         WHERE m.event_date = d::date)"
    "  FROM generate_series($1::date::timestamp, $2::date::timestamp,"
    "                       interval '1 day') AS d "
    "ORDER BY 1";

static const char *const SQL_REPORT_ALL =
    "SELECT d::text,"
    "       (SELECT coalesce(sum(total_events), 0) FROM metrics_batch_daily m"
    "         WHERE m.event_date = d),"
    "       (SELECT count(*) FROM metrics_batch_daily m"
    "         WHERE m.event_date = d),"
    "       (SELECT count(*) FROM metrics_batch_country_daily m"
    "         WHERE m.event_date = d),"
    "       (SELECT count(*) FROM metrics_batch_content_daily m"
    "         WHERE m.event_date = d)"
    "  FROM (SELECT event_date FROM metrics_batch_daily"
    "        WHERE event_date BETWEEN $1::date AND $2::date"
    "        UNION SELECT unnest($3::date[])) AS dates(d) "
    "ORDER BY 1";

static const char *const SQL_RUN =
    "INSERT INTO metrics_batch_runs"
    "       (date_from, date_to, events, started_at, finished_at) "
    "VALUES ($1::date, $2::date, $3::bigint, now(), clock_timestamp())";

/* One run's state; report is owned (cleared by batch_ctx_fini). */
typedef struct batch_ctx {
        const sg_daterange_t *dr;
        PGresult *report;
        long long events;
        long long deleted;
        long long rows[3]; /* inserted: daily, country, content */
        bool transient;    /* the failure is worth a retry */
        char err[512];
} batch_ctx_t;

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [--date YYYY-MM-DD | --from YYYY-MM-DD [--to "
                "YYYY-MM-DD] | --all]\n"
                "          [--retry-for SECONDS] [--dsn CONNINFO]\n"
                "Recomputes metrics_batch_daily, metrics_batch_country_daily "
                "and\nmetrics_batch_content_daily from events_raw for the "
                "selected dates, in one\ntransaction (delete, insert ... "
                "select ... group by, record the run in\n"
                "metrics_batch_runs). Idempotent. Prints one line per date "
                "(events and rows)\nand a total line. Connects as sg_writer "
                "by default.\n\n",
                PROG);
        sg_daterange_usage(fp);
        fputs("Other options:\n"
              "  --retry-for SECONDS  keep retrying an unreachable database "
              "(and a transaction\n"
              "                       that failed for a transient reason) "
              "this long, then\n"
              "                       exit 1 (default 60; 0: one attempt)\n",
              fp);
        sg_cli_common_usage(fp);
        fputs("Exit status: 0 done, 1 runtime failure (nothing changed), "
              "2 usage error.\n",
              fp);
}

static void batch_ctx_fini(batch_ctx_t *ctx)
{
        PQclear(ctx->report);
        ctx->report = NULL;
}

/* Records why res (may be NULL) failed and whether a retry may help. */
static void batch_fail(batch_ctx_t *ctx, PGconn *conn, const PGresult *res,
                       const char *what)
{
        sg_pg_fail(conn, res, what, ctx->err, sizeof(ctx->err),
                   &ctx->transient);
}

/* Runs a statement that must return one row of counts. Returns the
 * result (caller clears), or NULL with ctx->err set. */
static PGresult *batch_query(batch_ctx_t *ctx, PGconn *conn, const char *sql,
                             int nparams, const char *const *params,
                             const char *what)
{
        return sg_pg_query(conn, sql, nparams, params, 0, what, ctx->err,
                           sizeof(ctx->err), &ctx->transient);
}

/* Fills the temporary table sg_batch_agg from the dates' events (params:
 * the bounds), with SQL_AGGREGATE's planner settings for that statement
 * only. Returns 0, or -1 with ctx->err (the transaction is then failed or
 * its settings unknown: the caller rolls back). */
static int batch_aggregate(batch_ctx_t *ctx, PGconn *conn,
                           const char *const *params)
{
        PGresult *res;

        if (sg_pg_exec(conn, SQL_PLANNER_AGGREGATE, ctx->err,
                       sizeof(ctx->err)) < 0) {
                ctx->transient = sg_pg_is_transient(conn, NULL);
                return -1;
        }
        res = PQexecParams(conn, SQL_AGGREGATE, 2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                batch_fail(ctx, conn, res, "aggregate the events");
                PQclear(res);
                return -1;
        }
        PQclear(res);
        if (sg_pg_exec(conn, SQL_PLANNER_DEFAULT, ctx->err, sizeof(ctx->err)) <
            0) {
                ctx->transient = sg_pg_is_transient(conn, NULL);
                return -1;
        }
        return 0;
}

/* The whole recomputation, one REPEATABLE READ transaction (one snapshot
 * of events_raw for all three tables). Returns 0 (committed; the per-date
 * report is in ctx->report), or -1 with ctx->err (rolled back). */
static int batch_run(batch_ctx_t *ctx, PGconn *conn)
{
        const char *params[3];
        char events[32];
        PGresult *res = NULL, *ins = NULL;
        int rc = -1;

        params[0] = sg_daterange_lower(ctx->dr);
        params[1] = sg_daterange_upper(ctx->dr);
        ctx->transient = false;
        /* Dates print as YYYY-MM-DD whatever the server's DateStyle. */
        if (sg_pg_exec(conn, "SET datestyle TO ISO, YMD", ctx->err,
                       sizeof(ctx->err)) < 0 ||
            sg_pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ", ctx->err,
                       sizeof(ctx->err)) < 0 ||
            sg_pg_exec(conn, SQL_NO_JIT, ctx->err, sizeof(ctx->err)) < 0) {
                ctx->transient = sg_pg_is_transient(conn, NULL);
                goto out;
        }
        res = PQexec(conn, SQL_LOCK);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                batch_fail(ctx, conn, res, "lock the batch tables");
                goto out;
        }
        PQclear(res);

        res = batch_query(ctx, conn, SQL_DELETE, 2, params,
                          "delete the dates' batch rows");
        if (!res)
                goto out;
        ctx->deleted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        /* The deleted dates (text form of a date[]) feed the --all
         * report; keep res until then. */
        params[2] = PQgetvalue(res, 0, 1);

        if (batch_aggregate(ctx, conn, params) < 0)
                goto out;
        ins = batch_query(ctx, conn, SQL_INSERT, 0, NULL,
                          "insert the batch rows");
        if (!ins)
                goto out;
        ctx->events = strtoll(PQgetvalue(ins, 0, 0), NULL, 10);
        for (int i = 0; i < 3; i++)
                ctx->rows[i] = strtoll(PQgetvalue(ins, 0, i + 1), NULL, 10);
        PQclear(ins);

        /* The range report takes the bounds only, the --all one also the
         * deleted dates. */
        if (ctx->dr->all)
                ctx->report = batch_query(ctx, conn, SQL_REPORT_ALL, 3, params,
                                          "read back the batch rows");
        else
                ctx->report = batch_query(ctx, conn, SQL_REPORT_RANGE, 2,
                                          params, "read back the batch rows");
        if (!ctx->report)
                goto out;
        PQclear(res);

        snprintf(events, sizeof(events), "%lld", ctx->events);
        params[2] = events;
        res = PQexecParams(conn, SQL_RUN, 3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                batch_fail(ctx, conn, res, "record the run");
                goto out;
        }
        PQclear(res);
        res = PQexec(conn, "COMMIT");
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                batch_fail(ctx, conn, res, "commit");
                goto out;
        }
        rc = 0;
out:
        PQclear(res);
        if (rc < 0) {
                batch_ctx_fini(ctx);
                if (PQstatus(conn) == CONNECTION_OK &&
                    PQtransactionStatus(conn) != PQTRANS_IDLE)
                        PQclear(PQexec(conn, "ROLLBACK"));
        }
        return rc;
}

/* Prints the committed run: one line per date, then the total. */

/* sg_pg_job_fn over batch_run. */
static int batch_job(PGconn *conn, void *arg, char *errstr,
                     size_t errstr_size, bool *transient)
{
        batch_ctx_t *ctx = arg;

        if (batch_run(ctx, conn) == 0)
                return 0;
        snprintf(errstr, errstr_size, "%s", ctx->err);
        *transient = ctx->transient;
        return -1;
}

static void batch_print(const batch_ctx_t *ctx)
{
        const PGresult *res = ctx->report;
        char range[64];
        int n = PQntuples(res);

        sg_daterange_describe(ctx->dr, range, sizeof(range));
        printf("recomputed metrics_batch_* for %s\n", range);
        printf("%-10s  %12s  %10s  %12s  %12s\n", "date", "events",
               "daily_rows", "country_rows", "content_rows");
        for (int i = 0; i < n; i++)
                printf("%-10s  %12s  %10s  %12s  %12s\n", PQgetvalue(res, i, 0),
                       PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
                       PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
        printf("%-10s  %12lld  %10lld  %12lld  %12lld\n", "total", ctx->events,
               ctx->rows[0], ctx->rows[1], ctx->rows[2]);
        printf("%d date%s, %lld events, %lld rows replaced by %lld\n", n,
               n == 1 ? "" : "s", ctx->events, ctx->deleted,
               ctx->rows[0] + ctx->rows[1] + ctx->rows[2]);
}

int main(int argc, char **argv)
{
        static const struct option own[] = {
            {"date", required_argument, NULL, SG_OPT_DATE},
            {"from", required_argument, NULL, SG_OPT_FROM},
            {"to", required_argument, NULL, SG_OPT_TO},
            {"all", no_argument, NULL, SG_OPT_ALL},
            {"retry-for", required_argument, NULL, OPT_RETRY_FOR},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        sg_daterange_args_t dargs;
        sg_daterange_t dr;
        batch_ctx_t ctx;
        char conninfo[1024], err[512], range[64];
        long long retry_s = 60, v, started;
        int opt, r, rc = 1;

        sg_cli_common_init(&common);
        sg_daterange_args_init(&dargs);
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                if (sg_daterange_opt(&dargs, opt, optarg))
                        continue;
                switch (opt) {
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
        sg_log_init(PROG, common.log_level);
        sg_signal_install();
        sg_daterange_describe(&dr, range, sizeof(range));

        memset(&ctx, 0, sizeof(ctx));
        ctx.dr = &dr;
        sg_pg_conninfo(&common, "sg_writer", conninfo, sizeof(conninfo));
        started = sg_now_ms();
        /* The transaction is idempotent: re-running it after a lost
         * connection or a transient failure is safe. */
        if (sg_pg_run_retry(conninfo, PROG, retry_s, 10000, false,
                            "recomputation (nothing changed)", batch_job,
                            &ctx) < 0)
                goto out;
        batch_print(&ctx);
        if (fflush(stdout) != 0) {
                sg_error("cannot write the report to stdout");
                goto out;
        }
        sg_info("recomputed dates=\"%s\" events=%lld deleted_rows=%lld "
                "daily_rows=%lld country_rows=%lld content_rows=%lld "
                "ms=%lld",
                range, ctx.events, ctx.deleted, ctx.rows[0], ctx.rows[1],
                ctx.rows[2], sg_now_ms() - started);
        rc = 0;
out:
        batch_ctx_fini(&ctx);
        return rc;
}
