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
#include "sg_time.h"

#define PROG "sg-batch-metrics"

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
} batch_ctx_t;

static void batch_ctx_fini(batch_ctx_t *ctx)
{
        PQclear(ctx->report);
        ctx->report = NULL;
}

/* Fills the temporary table sg_batch_agg from the dates' events (params:
 * the bounds), with SQL_AGGREGATE's planner settings for that statement
 * only. Returns 0, or -1 with err (the transaction is then failed or its
 * settings unknown: the caller rolls back). */
static int batch_aggregate(PGconn *conn, const char *const *params,
                           sg_pg_err_t *err)
{
        if (sg_pg_exec(conn, SQL_PLANNER_AGGREGATE, err) < 0 ||
            sg_pg_command(conn, SQL_AGGREGATE, 2, params,
                          "aggregate the events", NULL, err) < 0 ||
            sg_pg_exec(conn, SQL_PLANNER_DEFAULT, err) < 0)
                return -1;
        return 0;
}

/* The whole recomputation; a job of sg_pg_run in one REPEATABLE READ
 * transaction (one snapshot of events_raw for all three tables), run
 * again on a new connection after a transient failure (it is
 * idempotent). Returns 0 (the per-date report is in ctx->report), or -1
 * with err (rolled back). */
static int batch_job(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        batch_ctx_t *ctx = arg;
        const char *params[3];
        char events[32];
        PGresult *res = NULL, *ins = NULL;
        int rc = -1;

        params[0] = sg_daterange_lower(ctx->dr);
        params[1] = sg_daterange_upper(ctx->dr);
        /* Dates print as YYYY-MM-DD whatever the server's DateStyle. */
        if (sg_pg_exec(conn, "SET LOCAL datestyle TO ISO, YMD", err) < 0 ||
            sg_pg_exec(conn, SQL_NO_JIT, err) < 0 ||
            sg_pg_exec(conn, SQL_LOCK, err) < 0)
                goto out;
        res = sg_pg_query(conn, SQL_DELETE, 2, params, 1,
                          "delete the dates' batch rows", err);
        if (!res)
                goto out;
        ctx->deleted = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        /* The deleted dates (text form of a date[]) feed the --all
         * report; keep res until then. */
        params[2] = PQgetvalue(res, 0, 1);

        if (batch_aggregate(conn, params, err) < 0)
                goto out;
        ins = sg_pg_query(conn, SQL_INSERT, 0, NULL, 1,
                          "insert the batch rows", err);
        if (!ins)
                goto out;
        ctx->events = strtoll(PQgetvalue(ins, 0, 0), NULL, 10);
        for (int i = 0; i < 3; i++)
                ctx->rows[i] = strtoll(PQgetvalue(ins, 0, i + 1), NULL, 10);
        PQclear(ins);

        /* The range report takes the bounds only, the --all one also the
         * deleted dates. */
        PQclear(ctx->report);
        ctx->report = sg_pg_query(conn,
                                  ctx->dr->all ? SQL_REPORT_ALL
                                               : SQL_REPORT_RANGE,
                                  ctx->dr->all ? 3 : 2, params, 0,
                                  "read back the batch rows", err);
        if (!ctx->report)
                goto out;

        snprintf(events, sizeof(events), "%lld", ctx->events);
        params[2] = events;
        if (sg_pg_command(conn, SQL_RUN, 3, params, "record the run", NULL,
                          err) < 0)
                goto out;
        rc = 0;
out:
        PQclear(res);
        if (rc < 0)
                batch_ctx_fini(ctx);
        return rc;
}

/* Prints the committed run: one line per date, then the total. */
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
        sg_cli_common_t common;
        sg_daterange_args_t dargs;
        sg_daterange_t dr;
        sg_opt_t date_opts[5];
        long long started;
        batch_ctx_t ctx;
        sg_pg_job_t job = {.what = "recomputation (nothing changed)",
                           .fn = batch_job, .arg = &ctx,
                           .tx = SG_PG_TX_REPEATABLE, .retry_s = 60};
        const sg_opt_t opts[] = {
            sg_pg_retry_opt(&job.retry_s, 86400),
            SG_OPT_END,
        };
        sg_cli_t cli = {
            .prog = PROG,
            .about = "Recomputes metrics_batch_daily, metrics_batch_country_"
                     "daily and\nmetrics_batch_content_daily from events_raw for "
                     "the selected dates, in one\ntransaction (delete, insert "
                     "... select ... group by, record the run in\n"
                     "metrics_batch_runs). Idempotent. Prints one line per date "
                     "(events and rows)\nand a total line. Connects as "
                     "sg_writer by default.",
            .tables = {date_opts, opts},
            .titles = {SG_DATERANGE_TITLE, "Other options"},
            .epilog = "Exit status: 0 done, 1 runtime failure (nothing "
                      "changed), 2 usage error.",
        };
        char range[64];
        int st, rc = 1;

        st = sg_daterange_parse(&cli, &common, &dargs, date_opts, &dr, argc,
                                argv);
        if (st != SG_CLI_RUN)
                return st;
        sg_daterange_describe(&dr, range, sizeof(range));

        memset(&ctx, 0, sizeof(ctx));
        ctx.dr = &dr;
        started = sg_time_mono_ms();
        /* The transaction is idempotent: re-running it after a lost
         * connection or a transient failure is safe. */
        if (sg_pg_run(&common, PROG, &job) < 0)
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
                ctx.rows[2], sg_time_mono_ms() - started);
        rc = 0;
out:
        batch_ctx_fini(&ctx);
        return rc;
}
