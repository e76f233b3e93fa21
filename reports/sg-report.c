/* sg-report: the reports business and privacy people read, run from cron
 * and kept as files. `daily` writes the business report of a date (KPIs,
 * batch vs streaming, an SVG chart of events per hour), `gdpr-audit` the
 * privacy-request audit, `compliance` the compliance report of a day
 * (flags, risk levels, late events, alert delivery, open privacy
 * requests, an SVG chart of 7 days of flags), `access-audit` who read
 * personal data for what purpose and the refused attempts (load_access.c,
 * report_access.c). Reads only. Thin main: flags, connection with a
 * bounded retry, then load (load.c), render (report_*.c) and write. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "load.h"
#include "load_access.h"
#include "load_consent.h"
#include "report_access.h"
#include "report_compliance.h"
#include "report_consent.h"
#include "report_daily.h"
#include "report_gdpr.h"
#include "sg_buf.h"
#include "sg_defs.h"
#include "sg_cli.h"
#include "sg_daterange.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#define PROG "sg-report"
#define DEFAULT_OUTPUT_DIR "reports/output"

typedef enum report_kind {
        REPORT_DAILY = 0,
        REPORT_GDPR,
        REPORT_COMPLIANCE,
        REPORT_ACCESS,
        REPORT_CONSENT,
} report_kind_t;

/* One run: what to report and where the figures are. */
typedef struct report_ctx {
        report_kind_t kind;
        const char *date;
        const char *output_dir;
        char generated_at[32];
        sg_load_daily_t daily;
        sg_load_gdpr_t gdpr;
        sg_load_compliance_t compliance;
        sg_load_access_t access;
        sg_load_consent_t consent;
        const char *server_log; /* access-audit: NULL = the server's */
} report_ctx_t;

/* mkdir -p. Returns 0, or -1 with errno set. */
static int mkdir_p(const char *dir)
{
        char path[4096];
        size_t len = strlen(dir);

        if (len == 0 || len >= sizeof(path)) {
                errno = ENAMETOOLONG;
                return -1;
        }
        memcpy(path, dir, len + 1);
        for (char *p = path + 1; *p; p++) {
                if (*p != '/')
                        continue;
                *p = '\0';
                if (mkdir(path, 0777) < 0 && errno != EEXIST)
                        return -1;
                *p = '/';
        }
        if (mkdir(path, 0777) < 0 && errno != EEXIST)
                return -1;
        return 0;
}

/* Writes data to dir/name through a temporary file renamed into place, so
 * that a reader (or a crash) never sees half a report. Returns 0, or -1
 * with a log line. */
static int write_file(const char *dir, const char *name, const sg_buf_t *data)
{
        char path[4096], tmp[4200];
        FILE *fp;
        int ok;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
        fp = fopen(tmp, "wb");
        if (!fp) {
                sg_error("cannot create %s: %s", tmp, strerror(errno));
                return -1;
        }
        ok = fwrite(data->data, 1, data->len, fp) == data->len;
        ok = fflush(fp) == 0 && ok;
        ok = fsync(fileno(fp)) == 0 && ok;
        ok = fclose(fp) == 0 && ok;
        if (!ok || rename(tmp, path) < 0) {
                sg_error("cannot write %s: %s", path, strerror(errno));
                unlink(tmp);
                return -1;
        }
        return 0;
}

/* sg_pg_job_fn: loads the figures of ctx's report. */
static int load_job(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        report_ctx_t *ctx = arg;

        switch (ctx->kind) {
        case REPORT_DAILY:
                return sg_load_daily(conn, ctx->date, &ctx->daily, err);
        case REPORT_GDPR:
                return sg_load_gdpr(conn, ctx->date, &ctx->gdpr, err);
        case REPORT_ACCESS:
                return sg_load_access(conn, ctx->date, &ctx->access, err);
        case REPORT_CONSENT:
                return sg_load_consent(conn, ctx->date, &ctx->consent, err);
        case REPORT_COMPLIANCE:
                break;
        }
        return sg_load_compliance(conn, ctx->date, &ctx->compliance, err);
}

/* Renders and writes the daily report. Returns 0 (written, with data),
 * 1 (written, no events for the date) or -1. */
static int run_daily(report_ctx_t *ctx)
{
        sg_daily_report_t *r = &ctx->daily.report;
        char md_name[128], svg_name[128], path[4096];
        sg_buf_t md, svg, sum;
        int rc = -1;

        sg_buf_init(&md);
        sg_buf_init(&svg);
        sg_buf_init(&sum);
        snprintf(md_name, sizeof(md_name), "business_report_%s.md", ctx->date);
        snprintf(svg_name, sizeof(svg_name),
                 "business_report_%s_events_per_hour.svg", ctx->date);
        r->generated_at = ctx->generated_at;
        r->chart_file = svg_name;

        if (r->events > 0) {
                sg_chart_render_svg(r->chart, &svg);
                if (write_file(ctx->output_dir, svg_name, &svg) < 0)
                        goto out;
        } else {
                /* No chart for a day without events: a chart left by an
                 * earlier run would no longer match its report. */
                snprintf(path, sizeof(path), "%s/%s", ctx->output_dir,
                         svg_name);
                if (unlink(path) < 0 && errno != ENOENT)
                        sg_warn("cannot remove the stale chart %s: %s", path,
                                strerror(errno));
        }
        sg_daily_report_render(r, &md);
        if (write_file(ctx->output_dir, md_name, &md) < 0)
                goto out;

        sg_daily_report_summary(r, &sum);
        printf("%s", sum.data);
        printf("Wrote %s/%s\n", ctx->output_dir, md_name);
        if (r->events > 0)
                printf("Wrote %s/%s\n", ctx->output_dir, svg_name);
        if (fflush(stdout) != 0)
                sg_warn("cannot write the summary to stdout");
        if (r->events == 0) {
                sg_error("No events stored for %s: the report says so "
                         "(%s/%s)",
                         ctx->date, ctx->output_dir, md_name);
                rc = 1;
        } else {
                sg_info("wrote daily report date=%s events=%lld", ctx->date,
                        r->events);
                rc = 0;
        }
out:
        sg_buf_fini(&md);
        sg_buf_fini(&svg);
        sg_buf_fini(&sum);
        return rc;
}

/* A Markdown-only report rendered into md with its summary in sum:
 * writes DIR/name and prints the summary and the file's path. Frees both
 * buffers. Returns 0 or -1. */
static int emit_md(report_ctx_t *ctx, const char *name, sg_buf_t *md,
                   sg_buf_t *sum)
{
        int rc = write_file(ctx->output_dir, name, md);

        if (rc == 0) {
                printf("%sWrote %s/%s\n", sum->data, ctx->output_dir, name);
                if (fflush(stdout) != 0)
                        sg_warn("cannot write the summary to stdout");
        }
        sg_buf_fini(md);
        sg_buf_fini(sum);
        return rc;
}

/* Renders and writes the GDPR audit. Returns 0 or -1. A day without
 * requests is a normal day: the report shows the backlog and the SLA all
 * the same. */
static int run_gdpr(report_ctx_t *ctx)
{
        sg_gdpr_report_t *r = &ctx->gdpr.report;
        char md_name[128];
        sg_buf_t md, sum;

        sg_buf_init(&md);
        sg_buf_init(&sum);
        snprintf(md_name, sizeof(md_name), "gdpr_audit_%s.md", ctx->date);
        r->generated_at = ctx->generated_at;
        sg_gdpr_report_render(r, &md);
        sg_gdpr_report_summary(r, &sum);
        if (emit_md(ctx, md_name, &md, &sum) < 0)
                return -1;
        sg_info("wrote gdpr audit date=%s requests=%lld pending=%lld "
                "sla_breaches=%lld",
                ctx->date, r->requests, r->pending, r->sla_breaches);
        return 0;
}

/* Renders and writes the compliance report and its 7-day chart. Returns
 * 0 or -1. A day without flags is a normal day: every section says what
 * it found, and the chart shows zeros. */
static int run_compliance(report_ctx_t *ctx)
{
        sg_compliance_report_t *r = &ctx->compliance.report;
        char md_name[128], svg_name[128], title[96];
        sg_buf_t md, svg, sum;
        sg_chart_t *chart;
        int rc = -1;

        sg_buf_init(&md);
        sg_buf_init(&svg);
        sg_buf_init(&sum);
        chart = sg_xmalloc(sizeof(*chart));
        snprintf(md_name, sizeof(md_name), "compliance_report_%s.md",
                 ctx->date);
        snprintf(svg_name, sizeof(svg_name),
                 "compliance_report_%s_flags_7d.svg", ctx->date);
        snprintf(title, sizeof(title),
                 "Compliance flags by severity, %d days to %s (UTC)",
                 SG_COMPLIANCE_TREND_DAYS, ctx->date);
        r->generated_at = ctx->generated_at;
        r->chart_file = svg_name;

        if (sg_compliance_report_chart(r, title, chart) < 0) {
                sg_error("cannot chart %d days", r->ndays);
                goto out;
        }
        sg_chart_render_svg(chart, &svg);
        if (write_file(ctx->output_dir, svg_name, &svg) < 0)
                goto out;
        sg_compliance_report_render(r, &md);
        if (write_file(ctx->output_dir, md_name, &md) < 0)
                goto out;
        sg_compliance_report_summary(r, &sum);
        printf("%sWrote %s/%s\nWrote %s/%s\n", sum.data, ctx->output_dir,
               md_name, ctx->output_dir, svg_name);
        if (fflush(stdout) != 0)
                sg_warn("cannot write the summary to stdout");
        sg_info("wrote compliance report date=%s subjects=%lld alerts=%lld "
                "open_requests=%lld overdue=%lld",
                ctx->date, r->subjects, r->alerts, r->open, r->overdue);
        rc = 0;
out:
        free(chart);
        sg_buf_fini(&md);
        sg_buf_fini(&svg);
        sg_buf_fini(&sum);
        return rc;
}

/* Reads the server log, renders and writes the access audit. Returns 0 or
 * -1. A day without access is a normal day; a server log that cannot be
 * read is one line in the report. */
static int run_access(report_ctx_t *ctx)
{
        sg_access_report_t *r = &ctx->access.report;
        char md_name[128];
        sg_buf_t md, sum;

        sg_buf_init(&md);
        sg_buf_init(&sum);
        sg_load_access_log(&ctx->access, ctx->server_log);
        snprintf(md_name, sizeof(md_name), "access_audit_%s.md", ctx->date);
        r->generated_at = ctx->generated_at;
        sg_access_report_render(r, &md);
        sg_access_report_summary(r, &sum);
        if (emit_md(ctx, md_name, &md, &sum) < 0)
                return -1;
        sg_info("wrote access audit date=%s accesses=%lld refused=%d "
                "server_log=%s",
                ctx->date, r->accesses, r->nrefusals,
                r->log_note ? "absent" : "read");
        return 0;
}

/* Renders and writes the consent report. Returns 0 or -1. A day without
 * events is a normal day: every section says what it found. */
static int run_consent(report_ctx_t *ctx)
{
        sg_consent_report_t *r = &ctx->consent.report;
        char md_name[128];
        sg_buf_t md, sum;

        sg_buf_init(&md);
        sg_buf_init(&sum);
        snprintf(md_name, sizeof(md_name), "consent_report_%s.md", ctx->date);
        r->generated_at = ctx->generated_at;
        sg_consent_report_render(r, &md);
        sg_consent_report_summary(r, &sum);
        if (emit_md(ctx, md_name, &md, &sum) < 0)
                return -1;
        sg_info("wrote consent report date=%s events=%lld eu_events=%lld "
                "granted=%lld withdrawn=%lld",
                ctx->date, r->events, r->eu_events, r->granted, r->withdrawn);
        return 0;
}

int main(int argc, char **argv)
{
        static const char *const kinds[] = {"daily", "gdpr-audit", "compliance",
                                            "access-audit", "consent", NULL};
        sg_cli_common_t common;
        sg_daterange_args_t dargs;
        sg_daterange_t dr;
        report_ctx_t ctx;
        char err[512];
        sg_pg_job_t job = {.what = "reading the report's figures",
                           .fn = load_job, .arg = &ctx,
                           .tx = SG_PG_TX_SNAPSHOT, .retry_s = 15,
                           .max_delay_ms = 4000, .quiet = true};
        int first, st, r, rc = 1;
        time_t now = time(NULL);
        struct tm tm;

        memset(&ctx, 0, sizeof(ctx));
        sg_load_daily_init(&ctx.daily);
        sg_load_gdpr_init(&ctx.gdpr);
        sg_load_compliance_init(&ctx.compliance);
        sg_load_access_init(&ctx.access);
        sg_load_consent_init(&ctx.consent);
        ctx.output_dir = DEFAULT_OUTPUT_DIR;
        sg_daterange_args_init(&dargs);
        const sg_opt_t opts[] = {
            {.name = "date", .kind = SG_OPT_STRING, .dest = &dargs.date,
             .arg = "YYYY-MM-DD", .no_default = true,
             .help = "the UTC date to report (default: yesterday, UTC)"},
            {.name = "output-dir", .kind = SG_OPT_STRING, .dest = &ctx.output_dir,
             .arg = "DIR", .help = "where the files go (created when missing)"},
            {.name = "server-log", .kind = SG_OPT_STRING,
             .dest = &ctx.server_log, .arg = "DIR_OR_FILE", .no_default = true,
             .help = "access-audit: the server's CSV log, a file or its folder"
                     "\n(default: the server's log_directory, when this role"
                     "\nmay see it)"},
            sg_pg_retry_opt(&job.retry_s, 3600),
            SG_OPT_END,
        };
        const sg_cli_t cli = {
            .prog = PROG,
            .synopsis = "daily|gdpr-audit|compliance|access-audit|consent "
                        "[--date YYYY-MM-DD] [--output-dir DIR]",
            .about = "Writes a report as Markdown, for people who do not read "
                     "SQL, and prints a\nshort summary on stdout.\n"
                     "  daily        business KPIs, revenue, playback health, "
                     "batch vs streaming,\n"
                     "               and a chart of events per hour:\n"
                     "               DIR/business_report_<date>.md and\n"
                     "               DIR/business_report_<date>_events_per_hour"
                     ".svg\n"
                     "  gdpr-audit   privacy requests by status, processing "
                     "times, the backlog and\n"
                     "               SLA breaches (pending > 30 days), ids "
                     "only: DIR/gdpr_audit_<date>.md\n"
                     "  compliance   the flags of the day (by window start) "
                     "by rule, severity and\n"
                     "               country, the top 10 subjects, risk "
                     "levels, late events, alert\n"
                     "               delivery, open privacy requests against "
                     "the 30-day limit, ids\n"
                     "               only, and a chart of 7 days of flags: "
                     "DIR/compliance_report_<date>.md\n"
                     "               and DIR/compliance_report_<date>_flags_7d"
                     ".svg\n"
                     "  access-audit who read personal data (database role, "
                     "purpose, user ids),\n"
                     "               per day, and the refused attempts from "
                     "the server's CSV log\n"
                     "               (--server-log): "
                     "DIR/access_audit_<date>.md\n"
                     "  consent      consent on the day's events: the rate "
                     "among EU events, consent\n"
                     "               granted and withdrawn, the do-not-track "
                     "share, by country,\n"
                     "               counts only: "
                     "DIR/consent_report_<date>.md\n"
                     "Reads only: runs as sg_analytics too (default user "
                     "sg_writer). Two runs on the\nsame database give the same "
                     "bytes but for the \"Generated at\" line.",
            .tables = {opts},
            .epilog = "Exit status: 0 written (a day without privacy requests "
                      "or flags included);\n1 daily found no events for the "
                      "date (the report is written and says so),\nthe "
                      "database unreachable or another failure; 2 usage "
                      "error.",
            .min_args = 1,
            .max_args = 1,
        };

        sg_cli_common_init(&common);
        /* GNU getopt permutes: flags may come before or after the report's
         * name. */
        st = sg_cli_parse(&cli, &common, argc, argv, &first);
        if (st != SG_CLI_RUN)
                return st;
        ctx.kind = REPORT_DAILY;
        while (kinds[ctx.kind] && strcmp(argv[first], kinds[ctx.kind]) != 0)
                ctx.kind++;
        if (!kinds[ctx.kind])
                return sg_cli_usage_error(&cli,
                                          "unknown report '%s' (daily, "
                                          "gdpr-audit, compliance, "
                                          "access-audit or consent)",
                                          argv[first]);
        if (sg_daterange_resolve(&dargs, now, &dr, err, sizeof(err)) < 0)
                return sg_cli_usage_error(&cli, "%s", err);
        ctx.date = dr.from;
        gmtime_r(&now, &tm);
        strftime(ctx.generated_at, sizeof(ctx.generated_at),
                 "%Y-%m-%d %H:%M:%S UTC", &tm);
        /* Quiet retries: a run from cron ends in one line either way. */
        if (sg_pg_run(&common, PROG, &job) < 0)
                goto out;
        if (mkdir_p(ctx.output_dir) < 0) {
                sg_error("cannot create the output folder %s: %s",
                         ctx.output_dir, strerror(errno));
                goto out;
        }
        switch (ctx.kind) {
        case REPORT_DAILY:
                r = run_daily(&ctx);
                break;
        case REPORT_GDPR:
                r = run_gdpr(&ctx);
                break;
        case REPORT_ACCESS:
                r = run_access(&ctx);
                break;
        case REPORT_CONSENT:
                r = run_consent(&ctx);
                break;
        case REPORT_COMPLIANCE:
        default:
                r = run_compliance(&ctx);
                break;
        }
        rc = r == 0 ? 0 : 1;
out:
        sg_load_daily_fini(&ctx.daily);
        sg_load_gdpr_fini(&ctx.gdpr);
        sg_load_compliance_fini(&ctx.compliance);
        sg_load_access_fini(&ctx.access);
        sg_load_consent_fini(&ctx.consent);
        return rc;
}
