/* sg-batch-compliance: re-evaluates the compliance rules
 * (docs/compliance.md) over events_raw into compliance_flags_batch, the
 * batch half of sg-compliance's Lambda proof (sg-compare --compliance
 * diffs the two). The same rules engine (compliance/rules.h) reads every
 * event of the topic in each partition's order, from the beginning of the
 * log, with the erasures as sg-compliance reads them; then the
 * cross-partition windows close as they do on the stream once no
 * partition has anything left to read (compliance/batch_eval.h). In one
 * REPEATABLE READ transaction: read, delete the selected dates' batch
 * flags of the kept rules (--only), store the new ones (and, with
 * --backfill, add to compliance_flags the ones it lacks). Running it
 * twice gives the same table. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "batch_eval.h"
#include "flag_store.h"
#include "rules.h"
#include "rules_conf.h"
#include "sg_buf.h"
#include "sg_cli.h"
#include "sg_daterange.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"
#include "sg_time.h"

#define PROG "sg-batch-compliance"
#define FETCH_SQL "FETCH FORWARD 10000 FROM sg_batch_events"
#define STORE_CHUNK 5000 /* flags per sg_flag_store statement */
#define DAY_US 86400000000LL

/* A second run waits for the first; sg-compare keeps reading. */
static const char *const SQL_LOCK =
    "LOCK TABLE compliance_flags_batch IN SHARE ROW EXCLUSIVE MODE";

/* Every erasure, as sg-compliance reads a batch's (consumers/compliance.c:
 * the same expression, so the same microseconds). */
static const char *const SQL_ERASURES =
    "SELECT user_id::text, (extract(epoch FROM min(processed_at)) * "
    "1000000)::bigint FROM privacy_requests WHERE status = 'anonymized' "
    "AND user_id IS NOT NULL GROUP BY user_id";

/* The topic's events in each partition's order, the columns of
 * sg_batch_col_t then the position. A cursor: the log can hold millions
 * of rows, read a few thousand at a time. extract(epoch) is numeric:
 * the microseconds are exact. host() prints the prefix without a mask. */
static const char *const SQL_DECLARE =
    "DECLARE sg_batch_events NO SCROLL CURSOR FOR "
    "SELECT event_id::text, user_id::text, event_type, "
    "       (extract(epoch FROM event_timestamp) * 1000000)::bigint, "
    "       country, is_eu, amount::text, currency, has_consent, "
    "       do_not_track, device_id, content_id, watch_seconds, error_code, "
    "       host(ip_truncated), kafka_partition, kafka_offset "
    "  FROM events_raw WHERE kafka_topic = $1 "
    " ORDER BY kafka_partition, kafka_offset";

/* A flag's period is on the dates when its window_start's UTC date is. */
#define SQL_IN_DATES(lo, hi)                                                   \
        "(window_start AT TIME ZONE 'UTC')::date BETWEEN " lo "::date AND " hi \
        "::date"

/* The kept rules' batch flags on the dates (--only: the others stay). */
static const char *const SQL_DELETE =
    "DELETE FROM compliance_flags_batch WHERE rule = ANY($1::text[]) AND "
    SQL_IN_DATES("$2", "$3");

/* --backfill: the run's flags compliance_flags does not hold; a flag it
 * holds is left as it is. */
static const char *const SQL_BACKFILL =
    "INSERT INTO compliance_flags (flag_id, rule, rule_version, severity, "
    "subject_type, subject_id, window_start, window_end, first_event_id, "
    "first_event_at, last_event_id, event_count, observed, threshold, "
    "evidence, kafka_topic, kafka_partition, kafka_offset) "
    "SELECT flag_id, rule, rule_version, severity, subject_type, subject_id, "
    "window_start, window_end, first_event_id, first_event_at, "
    "last_event_id, event_count, "
    "observed, threshold, evidence, kafka_topic, kafka_partition, "
    "kafka_offset FROM compliance_flags_batch "
    "WHERE rule = ANY($1::text[]) AND " SQL_IN_DATES("$2", "$3") " "
    "ON CONFLICT (flag_id) DO NOTHING";

typedef struct batch_erased {
        char user_id[37];
        long long at_us;
} batch_erased_t;

/* One run: the selection (set by main) and what the last attempt did. */
typedef struct batch_ctx {
        const sg_daterange_t *dr;
        const sg_rules_conf_t *conf;
        const char *topic;
        unsigned mask;       /* rules whose flags are kept */
        bool backfill;
        long long from_us;   /* kept: window_start in [from_us, to_us) */
        long long to_us;

        sg_rules_t *rules;   /* the attempt's engine (a retry starts anew) */
        batch_erased_t *erased;
        size_t nerased;
        long long events, duplicates, late, watermark;
        int partitions;
        long long deleted;
        long long rule_flags, window_flags;
        long long per_rule[SG_RULE__CNT];
        long long backfilled;
} batch_ctx_t;

static void batch_ctx_reset(batch_ctx_t *ctx)
{
        sg_rules_destroy(ctx->rules);
        ctx->rules = NULL;
        free(ctx->erased);
        ctx->erased = NULL;
        ctx->nerased = 0;
        ctx->events = ctx->duplicates = ctx->late = ctx->deleted = 0;
        ctx->rule_flags = ctx->window_flags = ctx->backfilled = 0;
        ctx->partitions = 0;
        ctx->watermark = LLONG_MIN;
        memset(ctx->per_rule, 0, sizeof(ctx->per_rule));
}

static int batch_erased_cmp(const void *a, const void *b)
{
        return strcmp(((const batch_erased_t *)a)->user_id,
                      ((const batch_erased_t *)b)->user_id);
}

/* Every user's erasure time, sorted. Returns 0, or -1 with err. */
static int batch_erasures(batch_ctx_t *ctx, PGconn *conn, sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn, SQL_ERASURES, 0, NULL, 0,
                                    "reading erasures", err);
        size_t n;

        if (!res)
                return -1;
        n = (size_t)PQntuples(res);
        ctx->erased = sg_xcalloc(n + 1, sizeof(*ctx->erased));
        for (size_t i = 0; i < n; i++) {
                snprintf(ctx->erased[i].user_id, sizeof(ctx->erased[i].user_id),
                         "%s", PQgetvalue(res, (int)i, 0));
                ctx->erased[i].at_us =
                    strtoll(PQgetvalue(res, (int)i, 1), NULL, 10);
        }
        ctx->nerased = n;
        PQclear(res);
        qsort(ctx->erased, n, sizeof(*ctx->erased), batch_erased_cmp);
        return 0;
}

static long long batch_erased_at(const batch_ctx_t *ctx, const char *user_id)
{
        batch_erased_t key;
        const batch_erased_t *hit;

        if (ctx->nerased == 0)
                return -1;
        snprintf(key.user_id, sizeof(key.user_id), "%s", user_id);
        hit = bsearch(&key, ctx->erased, ctx->nerased, sizeof(*ctx->erased),
                      batch_erased_cmp);
        return hit ? hit->at_us : -1;
}

/* Evaluates one fetched block of rows. Returns 0, or -1 with err. */
static int batch_eval_rows(batch_ctx_t *ctx, const PGresult *res,
                           sg_pg_err_t *err)
{
        const char *col[SG_BCOL__CNT];
        char why[128];
        int n = PQntuples(res);

        for (int i = 0; i < n; i++) {
                int32_t part = (int32_t)strtol(
                    PQgetvalue(res, i, SG_BCOL__CNT), NULL, 10);
                int64_t offset =
                    strtoll(PQgetvalue(res, i, SG_BCOL__CNT + 1), NULL, 10);
                sg_eval_result_t er;
                sg_event_t ev;

                for (int c = 0; c < SG_BCOL__CNT; c++)
                        col[c] = PQgetisnull(res, i, c) ? NULL
                                                        : PQgetvalue(res, i, c);
                if (sg_batch_eval_row(col, &ev, why, sizeof(why)) < 0) {
                        sg_pg_err_fmt(err, false,
                                      "%s (partition %d, offset %lld)", why,
                                      part, (long long)offset);
                        return -1;
                }
                sg_rules_eval(ctx->rules, part, offset, &ev,
                              batch_erased_at(ctx, ev.user_id), &er);
                ctx->events++;
                ctx->duplicates += er.duplicate;
                ctx->late += er.late;
        }
        return 0;
}

/* Reads the topic's whole log through the engine. Returns 0, or -1 with
 * err. */
static int batch_read(batch_ctx_t *ctx, PGconn *conn, sg_pg_err_t *err)
{
        const char *params[1] = {ctx->topic};
        long long next_log = 1000000;
        PGresult *res;

        if (sg_pg_command(conn, SQL_DECLARE, 1, params, "reading events_raw",
                          NULL, err) < 0)
                return -1;
        for (;;) {
                int n;

                if (sg_stop_requested) {
                        sg_pg_err_fmt(err, false, "stopped by a signal");
                        return -1;
                }
                res = sg_pg_query(conn, FETCH_SQL, 0, NULL, 0,
                                  "reading events_raw", err);
                if (!res)
                        return -1;
                n = PQntuples(res);
                if (n > 0 && batch_eval_rows(ctx, res, err) < 0) {
                        PQclear(res);
                        return -1;
                }
                PQclear(res);
                if (n == 0)
                        break;
                if (ctx->events >= next_log) {
                        sg_info("progress events=%lld", ctx->events);
                        next_log += 1000000;
                }
        }
        return sg_pg_exec(conn, "CLOSE sg_batch_events", err);
}

/* Stores the flags of src the run keeps, STORE_CHUNK at a time. Adds them
 * to *kept and the per-rule counts. Returns 0, or -1 with err. */
static int batch_store(batch_ctx_t *ctx, PGconn *conn, const sg_flag_t *src,
                       size_t n, long long *kept, sg_pg_err_t *err)
{
        sg_flag_t *chunk = sg_xcalloc(STORE_CHUNK, sizeof(*chunk));
        sg_flag_counts_t counts = {0};
        size_t k = 0;
        int rc = 0;

        for (size_t i = 0; i < n && rc == 0; i++) {
                if (!sg_batch_eval_keep(&src[i], ctx->mask, ctx->from_us,
                                        ctx->to_us))
                        continue;
                chunk[k++] = src[i];
                ctx->per_rule[src[i].rule]++;
                (*kept)++;
                if (k == STORE_CHUNK) {
                        rc = sg_flag_store(conn, SG_FLAGS_BATCH, ctx->topic,
                                           chunk, k, false, 0, &counts, err);
                        k = 0;
                }
        }
        if (rc == 0 && k > 0)
                rc = sg_flag_store(conn, SG_FLAGS_BATCH, ctx->topic, chunk, k,
                                   false, 0, &counts, err);
        free(chunk);
        return rc;
}

/* The kept rules' names as a text[] literal in rules (initialised). */
static void batch_rules_array(const batch_ctx_t *ctx, sg_buf_t *rules)
{
        sg_buf_array_begin(rules);
        for (int i = 0; i < SG_RULE__CNT; i++)
                if (ctx->mask & (1u << i))
                        sg_buf_array_str(rules, sg_rule_name((sg_rule_id_t)i));
        sg_buf_array_end(rules);
}

/* The whole run; a job of sg_pg_run in one REPEATABLE READ transaction
 * (the events, the erasures and the batch table in one snapshot), run
 * again from scratch after a transient failure (it is idempotent).
 * Returns 0, or -1 with err (rolled back). */
static int batch_job(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        batch_ctx_t *ctx = arg;
        const char *params[3];
        const sg_flag_t *flags;
        sg_flag_t *wflags = NULL;
        size_t nflags = 0, nwflags = 0;
        sg_buf_t rules;
        int rc = -1;

        sg_buf_init(&rules);
        batch_rules_array(ctx, &rules);
        batch_ctx_reset(ctx);
        ctx->rules = sg_rules_new(ctx->conf);
        if (sg_pg_exec(conn, "SET LOCAL datestyle TO ISO, YMD", err) < 0 ||
            sg_pg_exec(conn, SQL_LOCK, err) < 0 ||
            batch_erasures(ctx, conn, err) < 0 || batch_read(ctx, conn, err) < 0)
                goto out;
        ctx->partitions =
            (int)sg_rules_parts_touched(ctx->rules, NULL, NULL, 0);
        flags = sg_rules_flags(ctx->rules, &nflags);
        wflags = sg_batch_eval_close(ctx->rules, &ctx->watermark, &nwflags);

        params[0] = rules.data;
        params[1] = sg_daterange_lower(ctx->dr);
        params[2] = sg_daterange_upper(ctx->dr);
        if (sg_pg_command(conn, SQL_DELETE, 3, params,
                          "deleting the dates' batch flags", &ctx->deleted,
                          err) < 0 ||
            batch_store(ctx, conn, flags, nflags, &ctx->rule_flags, err) < 0 ||
            batch_store(ctx, conn, wflags, nwflags, &ctx->window_flags, err) <
                0)
                goto out;
        if (ctx->backfill &&
            sg_pg_command(conn, SQL_BACKFILL, 3, params,
                          "adding the missing flags to compliance_flags",
                          &ctx->backfilled, err) < 0)
                goto out;
        rc = 0;
out:
        free(wflags);
        sg_buf_fini(&rules);
        return rc;
}

static void batch_log_rules(const batch_ctx_t *ctx)
{
        char line[1024];
        size_t used = 0;

        for (int i = 0; i < SG_RULE__CNT && used + 48 < sizeof(line); i++)
                if (ctx->mask & (1u << i))
                        used += (size_t)snprintf(
                            line + used, sizeof(line) - used, " %s=%lld",
                            sg_rule_name((sg_rule_id_t)i), ctx->per_rule[i]);
        sg_info("flags by rule%s", line);
}

/* Sets the kept period from the date selection. */
static void batch_bounds(batch_ctx_t *ctx)
{
        long long from, to;

        ctx->from_us = LLONG_MIN;
        ctx->to_us = LLONG_MAX;
        if (ctx->dr->all)
                return;
        /* sg_daterange_resolve checked both dates. */
        if (sg_time_parse_date(ctx->dr->from, &from) == 0)
                ctx->from_us = from * DAY_US;
        if (sg_time_parse_date(ctx->dr->to, &to) == 0)
                ctx->to_us = (to + 1) * DAY_US;
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        sg_daterange_args_t dargs;
        sg_daterange_t dr;
        sg_opt_t date_opts[5];
        sg_rules_conf_t conf;
        const char *rules_path = SG_CONFIG_DIR "/compliance.rules";
        const char *only = NULL;
        bool backfill = false;
        char range[64], errstr[512];
        long long started;
        batch_ctx_t ctx;
        sg_pg_job_t job = {.what = "compliance recomputation (nothing changed)",
                           .fn = batch_job, .arg = &ctx,
                           .tx = SG_PG_TX_REPEATABLE, .retry_s = 60};
        const sg_opt_t opts[] = {
            {.name = "rules", .kind = SG_OPT_STRING, .dest = &rules_path,
             .arg = "FILE",
             .help = "the rules file (docs/compliance.md), as sg-compliance"
                     "\nreads it; a bad file is one \"FILE:LINE: what\" line"
                     "\nand exit 2"},
            {.name = "only", .kind = SG_OPT_STRING, .dest = &only,
             .arg = "RULE[,RULE...]",
             .help = "evaluate every rule as configured but keep (and"
                     "\nreplace, and backfill) only these rules' flags"
                     "\n(default: every rule)"},
            {.name = "backfill", .kind = SG_OPT_FLAG, .dest = &backfill,
             .help = "then add to compliance_flags the kept flags whose"
                     "\nflag_id it does not hold (a rule re-run over history"
                     "\nwith new thresholds adds what its new version"
                     "\nraises); flags it holds are left as they are, and"
                     "\nnothing is published"},
            sg_pg_retry_opt(&job.retry_s, 86400),
            SG_OPT_END,
        };
        sg_cli_t cli = {
            .prog = PROG,
            .about =
                "Re-evaluates the compliance rules (docs/compliance.md) over "
                "events_raw into\ncompliance_flags_batch, for sg-compare "
                "--compliance to diff against what\nsg-compliance stored. "
                "Every event of the topic (--topic, recorded in the\nflags) "
                "is read in each partition's order from the start of the "
                "log, whatever\nthe dates (the rules' state, the baselines "
                "and flags that later events\nextend need it all); the dates "
                "select the flags kept: those whose window\nstarts on them. "
                "In one transaction the batch flags of those dates (every\n"
                "date with --all) and of the kept rules (--only) are "
                "replaced. Idempotent.\nPrints one summary line. Connects "
                "as sg_writer by default.",
            .tables = {date_opts, opts},
            .titles = {SG_DATERANGE_TITLE, "Other options"},
            .epilog = "Exit status: 0 done, 1 runtime failure (nothing "
                      "changed), 2 usage error or a\nbad rules file.",
        };
        int st, rc = 1;

        memset(&ctx, 0, sizeof(ctx));
        st = sg_daterange_parse(&cli, &common, &dargs, date_opts, &dr, argc,
                                argv);
        if (st != SG_CLI_RUN)
                return st;
        ctx.mask = SG_BATCH_ALL_RULES;
        if (only && sg_batch_eval_only(only, &ctx.mask, errstr,
                                       sizeof(errstr)) < 0)
                return sg_cli_usage_error(&cli, "--only: %s", errstr);
        sg_rules_conf_defaults(&conf);
        if (sg_rules_conf_load(&conf, rules_path, errstr, sizeof(errstr)) < 0) {
                sg_error("%s", errstr);
                return SG_CLI_USAGE;
        }
        for (int i = 0; i < SG_RULE__CNT; i++)
                if (only && (ctx.mask & (1u << i)) && !conf.rule[i].enabled)
                        sg_warn("rule %s is disabled in %s: it raises no flags",
                                sg_rule_name((sg_rule_id_t)i), rules_path);
        sg_daterange_describe(&dr, range, sizeof(range));
        ctx.dr = &dr;
        ctx.conf = &conf;
        ctx.topic = common.topic;
        ctx.backfill = backfill;
        batch_bounds(&ctx);

        started = sg_time_mono_ms();
        if (sg_pg_run(&common, PROG, &job) < 0)
                goto out;
        printf("%s: %lld events read (topic %s, %d partition%s, %lld "
               "duplicates, %lld late), compliance_flags_batch: %lld rows "
               "replaced by %lld flags (%lld rule, %lld window)",
               range, ctx.events, ctx.topic, ctx.partitions,
               ctx.partitions == 1 ? "" : "s", ctx.duplicates, ctx.late,
               ctx.deleted, ctx.rule_flags + ctx.window_flags, ctx.rule_flags,
               ctx.window_flags);
        if (ctx.backfill)
                printf(", compliance_flags: %lld flags backfilled",
                       ctx.backfilled);
        printf("\n");
        if (fflush(stdout) != 0) {
                sg_error("cannot write the summary to stdout");
                goto out;
        }
        batch_log_rules(&ctx);
        sg_info("recomputed dates=\"%s\" topic=%s events=%lld duplicates=%lld "
                "late=%lld watermark_us=%lld deleted=%lld rule_flags=%lld "
                "window_flags=%lld backfilled=%lld ms=%lld",
                range, ctx.topic, ctx.events, ctx.duplicates, ctx.late,
                ctx.watermark == LLONG_MIN ? 0 : ctx.watermark, ctx.deleted,
                ctx.rule_flags, ctx.window_flags,
                ctx.backfill ? ctx.backfilled : 0,
                sg_time_mono_ms() - started);
        rc = 0;
out:
        batch_ctx_reset(&ctx);
        return rc;
}
