/* sg-retention: drops the monthly partitions of events_raw and
 * events_rejected that lie entirely before their retention periods,
 * creates the partitions the consumers will need (this month and the next
 * ones), moves rows out of the DEFAULT partitions into partitions of
 * their own, and records every action in retention_log. One transaction
 * per action, so that a drop holds its lock on the table only for itself.
 * Runs as sg_owner (it needs DDL rights), from cron. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "plan.h"
#include "sg_cli.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"
#include "sg_time.h"
#include "store.h"

#define PROG "sg-retention"

/* A drop or an attach waits at most this long for the consumers'
 * transactions (milliseconds of the next batch); then the run fails with
 * a transient error (55P03) and --retry-for tries again. */
static const char *const SQL_SESSION =
    "SET timezone = 'UTC'; SET lock_timeout = '5s'";

typedef struct retention_ctx {
        sg_retention_policy_t policy[2]; /* events_raw, events_rejected */
        bool dry_run;
        long long today;
        /* Totals over the run (kept across a retried job: actions done
         * before a failure are committed and not planned again). */
        int created, dropped, defaults;
        long long dropped_rows, moved_rows, default_rows, forgotten;
} retention_ctx_t;

static const char *kind_name(sg_retention_kind_t k)
{
        switch (k) {
        case SG_RETENTION_DEFAULT_ROWS:
                return "default_rows";
        case SG_RETENTION_CREATE:
                return "create";
        case SG_RETENTION_DROP:
                return "drop";
        }
        return "?";
}

/* One line per action on stdout, after it committed. */
static void print_action(const retention_ctx_t *ctx, const char *table,
                         const sg_retention_action_t *a)
{
        char f[11], t[11];
        const char *what;

        sg_time_format_day(a->from, f);
        sg_time_format_day(a->to, t);
        switch (a->kind) {
        case SG_RETENTION_DEFAULT_ROWS:
                what = "rows of a month without a partition, in DEFAULT";
                break;
        case SG_RETENTION_CREATE:
                what = "rows moved from DEFAULT";
                break;
        default:
                what = "rows dropped";
        }
        printf("%s%-12s  %-15s  %-26s  %s..%s  %lld %s\n",
               ctx->dry_run ? "would " : "", kind_name(a->kind), table,
               a->kind == SG_RETENTION_DEFAULT_ROWS ? "-" : a->partition, f, t,
               a->rows, what);
        fflush(stdout);
}

/* Plans and carries out one table, each action in its own transaction.
 * *dropped_to receives the upper bound of the newest partition dropped
 * (unchanged if none), *dropped_rows adds their rows. */
static int retention_table(PGconn *conn, retention_ctx_t *ctx,
                           const sg_retention_policy_t *p,
                           long long *dropped_to, long long *dropped_rows,
                           sg_pg_err_t *err)
{
        sg_retention_part_t *parts = NULL;
        sg_retention_month_t *months = NULL;
        sg_retention_action_t *acts = NULL;
        size_t nparts, nmonths, n;
        int rc = -1;

        if (sg_pg_begin(conn, err) < 0 ||
            sg_retention_store_load(conn, p->table, &parts, &nparts, &months,
                                    &nmonths, err) < 0 ||
            sg_pg_commit(conn, err) < 0)
                goto out;
        acts = sg_xcalloc(sg_retention_plan_max(nparts, nmonths, p),
                          sizeof(*acts));
        n = sg_retention_plan(p, parts, nparts, months, nmonths, ctx->today,
                              acts);
        for (size_t i = 0; i < n; i++) {
                sg_retention_action_t *a = &acts[i];
                bool done;

                if (sg_stop_requested) {
                        sg_pg_err_fmt(err, false, "stopped by a signal");
                        goto out;
                }
                if (sg_pg_begin(conn, err) < 0 ||
                    sg_retention_store_act(conn, p->table, a, ctx->dry_run,
                                           &done, err) < 0 ||
                    sg_pg_commit(conn, err) < 0)
                        goto out;
                if (!done)
                        continue;
                print_action(ctx, p->table, a);
                switch (a->kind) {
                case SG_RETENTION_DEFAULT_ROWS: {
                        char month[11];

                        ctx->defaults++;
                        ctx->default_rows += a->rows;
                        sg_time_format_day(a->from, month);
                        sg_warn("default_rows table=%s month=%.7s rows=%lld "
                                "(a month without a partition)",
                                p->table, month, a->rows);
                        break;
                }
                case SG_RETENTION_CREATE:
                        ctx->created++;
                        ctx->moved_rows += a->rows;
                        break;
                case SG_RETENTION_DROP:
                        ctx->dropped++;
                        ctx->dropped_rows += a->rows;
                        *dropped_rows += a->rows;
                        if (a->to > *dropped_to)
                                *dropped_to = a->to;
                        break;
                }
        }
        rc = 0;
out:
        sg_pg_rollback(conn);
        free(parts);
        free(months);
        free(acts);
        return rc;
}

/* The whole run; a job of sg_pg_run that manages its own transactions.
 * Run again after a transient failure, it plans from what the catalog
 * says then, so actions already committed are not repeated. */
static int retention_job(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        retention_ctx_t *ctx = arg;
        /* Per table: the newest dropped partition's end, the rows dropped. */
        long long dropped_to[2] = {0, 0}, dropped_rows[2] = {0, 0}, rows;
        char before[11];

        if (sg_pg_exec(conn, SQL_SESSION, err) < 0)
                return -1;
        for (int i = 0; i < 2; i++)
                if (retention_table(conn, ctx, &ctx->policy[i], &dropped_to[i],
                                    &dropped_rows[i], err) < 0)
                        return -1;
        /* events_raw's ids go with its dropped months. */
        if (dropped_to[0] == 0)
                return 0;
        if (sg_pg_begin(conn, err) < 0 ||
            sg_retention_store_forget_ids(conn, dropped_to[0], ctx->dry_run,
                                          dropped_rows[0], &rows, err) < 0 ||
            sg_pg_commit(conn, err) < 0) {
                sg_pg_rollback(conn);
                return -1;
        }
        ctx->forgotten += rows;
        sg_time_format_day(dropped_to[0], before);
        printf("%s%-12s  %-15s  %-26s  ..%s  %lld event ids of dropped "
               "events\n",
               ctx->dry_run ? "would " : "", "forget_ids", "events_raw",
               "event_ids", before, rows);
        return 0;
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        retention_ctx_t ctx;
        int events_months = 13, dead_days = 30, ahead = 2;
        bool dry_run = false;
        sg_pg_job_t job = {.what = "retention", .user = "sg_owner",
                           .fn = retention_job, .arg = &ctx,
                           .tx = SG_PG_TX_NONE, .retry_s = 60, .quiet = true};
        const sg_opt_t opts[] = {
            {.name = "events-months", .kind = SG_OPT_INT,
             .dest = &events_months, .arg = "N", .min = 1, .max = 1200,
             .help = "keep events_raw for N months: drop a month's partition "
                     "once it lies\nentirely before today minus N months"},
            {.name = "dead-letter-days", .kind = SG_OPT_INT,
             .dest = &dead_days, .arg = "D", .min = 1, .max = 36500,
             .help = "keep events_rejected (by rejected_at) for D days, the "
                     "same way"},
            {.name = "ahead-months", .kind = SG_OPT_INT, .dest = &ahead,
             .arg = "N", .min = 0, .max = 24,
             .help = "create the partitions of this month and the next N"},
            {.name = "dry-run", .kind = SG_OPT_FLAG, .dest = &dry_run,
             .help = "change nothing: print what would be done (recorded in "
                     "retention_log\nwith dry_run = true)"},
            sg_pg_retry_opt(&job.retry_s, 86400),
            SG_OPT_END,
        };
        sg_cli_t cli = {
            .prog = PROG,
            .about = "Retention of the monthly partitions of events_raw (by "
                     "event_date) and\nevents_rejected (by rejected_at): drops "
                     "the partitions that lie entirely\nbefore the retention "
                     "period, creates this month's and the next ones,\nmoves "
                     "rows found in a DEFAULT partition into a partition of "
                     "their month\n(and reports them), and records every "
                     "action in retention_log. Prints one\nline per action. "
                     "Metrics tables are aggregates and are kept. Needs DDL\n"
                     "rights: connects as sg_owner by default.",
            .tables = {opts},
            .epilog = "Exit status: 0 done, 1 runtime failure (one line on "
                      "stderr; actions done\nbefore it are committed and "
                      "logged), 2 usage error.",
        };
        int st;

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                return st;

        memset(&ctx, 0, sizeof(ctx));
        ctx.policy[0] = (sg_retention_policy_t){.table = "events_raw",
                                                .keep_months = events_months,
                                                .ahead_months = ahead};
        ctx.policy[1] = (sg_retention_policy_t){.table = "events_rejected",
                                                .keep_days = dead_days,
                                                .ahead_months = ahead};
        ctx.dry_run = dry_run;
        ctx.today = sg_time_utc_day(sg_time_wall_us());
        if (sg_pg_run(&common, PROG, &job) < 0)
                return 1;
        printf("%s%d created (%lld rows moved from DEFAULT), %d dropped "
               "(%lld rows), %d month%s found in DEFAULT (%lld rows)\n",
               dry_run ? "dry run, nothing changed: would have " : "",
               ctx.created, ctx.moved_rows, ctx.dropped, ctx.dropped_rows,
               ctx.defaults, ctx.defaults == 1 ? "" : "s", ctx.default_rows);
        if (fflush(stdout) != 0) {
                sg_error("cannot write to stdout");
                return 1;
        }
        sg_info("done dry_run=%d created=%d moved_rows=%lld dropped=%d "
                "dropped_rows=%lld default_months=%d default_rows=%lld "
                "forgotten_ids=%lld",
                dry_run, ctx.created, ctx.moved_rows, ctx.dropped,
                ctx.dropped_rows, ctx.defaults, ctx.default_rows,
                ctx.forgotten);
        return 0;
}
