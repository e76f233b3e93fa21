/* sg-gdpr: the privacy-request daemon. A user asks to be forgotten with
 * one statement, INSERT INTO privacy_requests (email) VALUES (...); a
 * trigger NOTIFYs us; we claim the request (FOR UPDATE SKIP LOCKED, so
 * several instances never process one twice), anonymise the user's
 * users_pii row, record the outcome, the audit row and the processing time
 * in the same transaction, and replace the request's e-mail by its
 * SHA-256; an erasure notice (ids and time, no PII) goes into the outbox
 * in that transaction and to Kafka after commit (common/sg_outbox.h). We also poll, so a missed
 * notification delays a request, never loses it. Logs carry request ids
 * and outcomes only, never an e-mail.
 *
 * Requests of kind 'access' are exported instead (gdpr/export.h): one
 * transaction each, files in --export-dir; an erasure deletes the erased
 * users' earlier exports. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "erase.h"
#include "export.h"
#include "sg_cli.h"
#include "sg_listen.h"
#include "sg_log.h"
#include "sg_metrics.h"
#include "sg_metrics_http.h"
#include "sg_outbox.h"
#include "sg_outbox_kafka.h"
#include "sg_pg.h"
#include "sg_signal.h"
#include "sg_time.h"

#define PROG "sg-gdpr"
#define CHANNEL "privacy_requests"
#define NOTICE_CHANNEL "erasure_notice" /* the outbox channel */
#define WAIT_MAX_MS 200    /* longest block, so signals are seen promptly */
#define SWEEP_LIMIT 500    /* outbox rows leased per sweep */
#define INFLIGHT_MAX 5000  /* no sweep while this many are in flight */
#define DRAIN_MS 10000     /* notices in flight at exit: bounded wait */
#define OVERDUE_EVERY_MS 60000 /* how often pending requests' age is checked */
#define LEGAL_LIMIT_DAYS 30.0  /* GDPR art. 12(3): one month */
#define GAUGES_EVERY_MS 1000   /* pending requests' gauges, when served */

/* The daemon's metrics (README, "Metrics"). */
typedef struct gdpr_metrics {
        sg_series_t *pending[2]; /* erasure, access */
        sg_series_t *oldest;
        sg_series_t *erased[SG_ERASE__CNT];
        sg_series_t *exported[SG_EXPORT__CNT];
        sg_series_t *overdue;
        bool served; /* the gauges cost a query: only when scraped */
        long long gauges_ms;
} gdpr_metrics_t;

typedef struct gdpr_ctx {
        /* What to do */
        const sg_cli_common_t *common;
        int batch_size;
        double poll_interval_s;
        int progress_s;
        bool once;
        bool no_notices;
        const char *erasure_topic;
        double overdue_days; /* alert on requests pending this long; 0: off */
        const char *export_dir; /* access exports (mode 0700, files 0600) */

        /* What we have */
        sg_pg_session_t pg;
        sg_listen_t *listen;
        sg_outbox_kafka_t *kafka; /* NULL: not publishing */
        sg_outbox_t *ob;          /* (notices stay in the outbox) */
        sg_erase_result_t res;
        bool fatal;

        /* Counters */
        long long by_status[SG_ERASE__CNT];
        long long exports[SG_EXPORT__CNT];
        long long exports_deleted;
        long long processed;
        long long batches;
        long long notifications;
        long long overdue_alerts;
        gdpr_metrics_t m;
        double max_ms; /* slowest request since the last progress line */
        long long last_progress_ms;
        long long last_progress_processed;
} gdpr_ctx_t;

static void metrics_init(gdpr_metrics_t *gm, sg_metrics_t *m, bool served)
{
        static const char *const k[] = {"kind", NULL};
        static const char *const ks[] = {"kind", "status", NULL};
        sg_metric_t *f;

        gm->served = served;
        f = sg_metrics_gauge(m, "sg_privacy_requests_pending",
                             "Privacy requests pending, by kind.", k, 2);
        gm->pending[0] = sg_metric_series1(f, "erasure");
        gm->pending[1] = sg_metric_series1(f, "access");
        gm->oldest = sg_metric_series0(sg_metrics_gauge(
            m, "sg_privacy_request_oldest_pending_seconds",
            "Age of the oldest pending privacy request (0: none).", NULL, 1));
        f = sg_metrics_counter(m, "sg_privacy_requests_processed_total",
                               "Privacy requests processed, by kind and "
                               "outcome.",
                               ks, 8);
        for (int i = 0; i < SG_ERASE__CNT; i++) {
                const char *v[2] = {"erasure",
                                    sg_erase_status_name((sg_erase_status_t)i)};
                gm->erased[i] = sg_metric_series(f, v);
        }
        for (int i = 0; i < SG_EXPORT__CNT; i++) {
                const char *v[2] = {
                    "access", sg_export_status_name((sg_export_status_t)i)};
                gm->exported[i] = sg_metric_series(f, v);
        }
        gm->overdue = sg_metric_series0(sg_metrics_counter(
            m, "sg_privacy_overdue_alerts_total",
            "Alerts raised for requests pending too long (--overdue-after).",
            NULL, 1));
}

/* The database connection, waiting out an outage. NULL when stopping or
 * after a permanent failure (then ctx->fatal, said in one line). */
static PGconn *db(gdpr_ctx_t *ctx)
{
        PGconn *conn = sg_pg_session_conn(&ctx->pg);

        ctx->fatal |= ctx->pg.failed;
        return conn;
}

/* A statement failed: transient, carry on (sg_pg_session_failure);
 * anything else is fatal. */
static void db_error(gdpr_ctx_t *ctx, const char *what, const sg_pg_err_t *err)
{
        ctx->fatal |= sg_pg_session_failure(&ctx->pg, what, err);
}

static void log_outcome(const sg_erase_outcome_t *oc)
{
        if (oc->status == SG_ERASE_FAILED) {
                sg_warn("request id=%lld status=failed processing_ms=%.1f "
                        "error=\"%s\"",
                        oc->request_id, oc->processing_ms, oc->error);
                return;
        }
        sg_info("request id=%lld status=%s%s%s processing_ms=%.1f",
                oc->request_id, sg_erase_status_name(oc->status),
                oc->user_id[0] ? " user_id=" : "", oc->user_id,
                oc->processing_ms);
}

/* Alerts for the requests pending too long (once per request). */
static void check_overdue(gdpr_ctx_t *ctx)
{
        sg_pg_err_t err;
        PGconn *conn;
        int raised = 0;

        if (ctx->overdue_days <= 0 || !(conn = db(ctx)))
                return;
        if (sg_erase_overdue(conn, ctx->overdue_days, LEGAL_LIMIT_DAYS, &raised,
                             &err) < 0) {
                db_error(ctx, "overdue check", &err);
                return;
        }
        if (raised > 0)
                sg_warn("privacy requests pending for more than %.1f days: "
                        "alerts=%d",
                        ctx->overdue_days, raised);
        ctx->overdue_alerts += raised;
        sg_series_add(ctx->m.overdue, raised);
}

/* The pending requests' gauges, every GAUGES_EVERY_MS while served. On
 * the daemon's connection, never waiting out an outage (the gauges keep
 * their last values). */
static void update_gauges(gdpr_ctx_t *ctx, long long now)
{
        long long pending[2];
        double oldest;
        sg_pg_err_t err;

        if (!ctx->m.served || now - ctx->m.gauges_ms < GAUGES_EVERY_MS ||
            !ctx->pg.conn || PQstatus(ctx->pg.conn) != CONNECTION_OK)
                return;
        ctx->m.gauges_ms = now;
        if (sg_erase_pending(ctx->pg.conn, pending, &oldest, &err) < 0) {
                db_error(ctx, "pending requests' metrics", &err);
                return;
        }
        sg_series_set(ctx->m.pending[0], (double)pending[0]);
        sg_series_set(ctx->m.pending[1], (double)pending[1]);
        sg_series_set(ctx->m.oldest, oldest);
}

/* (Re)sends the outbox's notices that nobody holds. */
static void sweep_outbox(gdpr_ctx_t *ctx)
{
        sg_pg_err_t err;
        PGconn *conn;
        int leased;

        if (!ctx->ob || sg_outbox_inflight(ctx->ob) >= INFLIGHT_MAX)
                return;
        conn = db(ctx);
        if (!conn)
                return;
        leased = sg_outbox_sweep(ctx->ob, conn, SWEEP_LIMIT, &err);
        if (leased < 0)
                db_error(ctx, "outbox sweep", &err);
        else if (leased > 0)
                sg_debug("outbox: sending erasure notices messages=%d", leased);
}

/* Claims and processes one batch; its notices go out right after commit.
 * Returns the number of requests processed (batch_size: there may be
 * more), -2 after a transient failure (try again), -1 if fatal or
 * stopping. */
static int process_batch(gdpr_ctx_t *ctx)
{
        PGconn *conn = db(ctx);
        sg_pg_err_t err;

        if (!conn)
                return -1;
        if (sg_erase_batch(conn, ctx->batch_size, ctx->export_dir, &ctx->res,
                           &err) < 0) {
                db_error(ctx, "request batch", &err);
                return ctx->fatal ? -1 : -2;
        }
        if (ctx->res.exports_deleted > 0) {
                sg_info("deleted access exports of erased users files=%d",
                        ctx->res.exports_deleted);
                ctx->exports_deleted += ctx->res.exports_deleted;
        }
        if (ctx->res.claimed == 0)
                return 0;
        ctx->batches++;
        for (int i = 0; i < ctx->res.n; i++) {
                const sg_erase_outcome_t *oc = &ctx->res.v[i];
                log_outcome(oc);
                ctx->by_status[oc->status]++;
                sg_series_inc(ctx->m.erased[oc->status]);
                ctx->processed++;
                if (oc->processing_ms > ctx->max_ms)
                        ctx->max_ms = oc->processing_ms;
        }
        if (ctx->res.fallback)
                sg_info("batch done request by request requests=%d",
                        ctx->res.claimed);
        if (ctx->res.erased > 0)
                sweep_outbox(ctx);
        return ctx->res.claimed;
}

/* Exports up to batch_size access requests, one transaction each. Returns
 * the number done (batch_size: there may be more), -2 after a transient
 * failure, -1 if fatal or stopping. Logs ids, counts and file names only. */
static int process_access(gdpr_ctx_t *ctx)
{
        int done = 0;

        while (done < ctx->batch_size && !sg_stop_requested) {
                PGconn *conn = db(ctx);
                sg_export_outcome_t oc;
                sg_pg_err_t err;
                int r;

                if (!conn)
                        return -1;
                r = sg_export_next(conn, ctx->export_dir, &oc, &err);
                if (r < 0) {
                        db_error(ctx, "access export", &err);
                        return ctx->fatal ? -1 : -2;
                }
                if (r == 0)
                        break;
                done++;
                ctx->exports[oc.status]++;
                sg_series_inc(ctx->m.exported[oc.status]);
                ctx->processed++;
                if (oc.processing_ms > ctx->max_ms)
                        ctx->max_ms = oc.processing_ms;
                if (oc.status == SG_EXPORT_FAILED)
                        sg_warn("request id=%lld kind=access status=failed "
                                "processing_ms=%.1f error=\"%s\"",
                                oc.request_id, oc.processing_ms, oc.error);
                else
                        sg_info("request id=%lld kind=access status=%s%s%s "
                                "users=%d erased=%d events=%lld%s%s "
                                "processing_ms=%.1f",
                                oc.request_id, sg_export_status_name(oc.status),
                                oc.user_id[0] ? " user_id=" : "", oc.user_id,
                                oc.users, oc.erased, oc.events,
                                oc.file[0] ? " file=" : "", oc.file,
                                oc.processing_ms);
        }
        return done;
}

/* Records what the sender reported (sent, or released for later). Reports
 * stay for the next call when PostgreSQL is away; with wait false, an
 * outage is not waited out. */
static void record_notices(gdpr_ctx_t *ctx, bool wait)
{
        sg_pg_err_t err;
        PGconn *conn;

        if (!ctx->ob || sg_outbox_unrecorded(ctx->ob) == 0)
                return;
        if (wait)
                conn = db(ctx);
        else
                conn = ctx->pg.conn && PQstatus(ctx->pg.conn) == CONNECTION_OK
                           ? ctx->pg.conn
                           : NULL;
        if (conn && sg_outbox_record(ctx->ob, conn, &err) < 0)
                db_error(ctx, "recording notice deliveries", &err);
}

static void progress(gdpr_ctx_t *ctx, long long now, bool final)
{
        const sg_outbox_stats_t *st = ctx->ob ? sg_outbox_stats(ctx->ob) : NULL;
        double secs = (double)(now - ctx->last_progress_ms) / 1000.0;
        long long pending = -1, unsent = -1;
        char backlog[96] = "";
        sg_pg_err_t err;

        if (ctx->pg.conn && PQstatus(ctx->pg.conn) == CONNECTION_OK &&
            sg_erase_backlog(ctx->pg.conn, &pending, &unsent, &err) == 0)
                snprintf(backlog, sizeof(backlog),
                         " pending_requests=%lld pending_notices=%lld", pending,
                         unsent);
        sg_info(
            "%s processed=%lld rate=%.1f/s anonymized=%lld "
            "already_anonymized=%lld not_found=%lld failed=%lld "
            "batches=%lld notifications=%lld overdue_alerts=%lld "
            "exported=%lld export_not_found=%lld export_failed=%lld "
            "exports_deleted=%lld max_processing_ms=%.1f%s "
            "notices_sent=%lld notices_failed=%lld notices_in_flight=%d",
            final ? "final" : "progress", ctx->processed,
            secs > 0
                ? (double)(ctx->processed - ctx->last_progress_processed) / secs
                : 0.0,
            ctx->by_status[SG_ERASE_ANONYMIZED],
            ctx->by_status[SG_ERASE_ALREADY_ANONYMIZED],
            ctx->by_status[SG_ERASE_NOT_FOUND], ctx->by_status[SG_ERASE_FAILED],
            ctx->batches, ctx->notifications, ctx->overdue_alerts,
            ctx->exports[SG_EXPORT_EXPORTED], ctx->exports[SG_EXPORT_NOT_FOUND],
            ctx->exports[SG_EXPORT_FAILED], ctx->exports_deleted, ctx->max_ms,
            backlog,
            st ? st->delivered : 0LL, st ? st->failed : 0LL,
            ctx->ob ? sg_outbox_inflight(ctx->ob) : 0);
        ctx->last_progress_ms = now;
        ctx->last_progress_processed = ctx->processed;
        ctx->max_ms = 0;
}

/* The loop: process when notified, when the last batch was full, and
 * every poll interval regardless; sweep the outbox every poll interval;
 * serve delivery reports; wait at most WAIT_MAX_MS at a time. */
static void run(gdpr_ctx_t *ctx)
{
        long long poll_ms = (long long)(ctx->poll_interval_s * 1000.0);
        long long now = sg_time_mono_ms();
        long long next_poll = now; /* startup sweep: right away */
        long long next_progress = now + ctx->progress_s * 1000LL;
        long long next_overdue = now; /* before the first batch */
        bool work_due = true, sweep_due = false;

        while (!sg_stop_requested && !ctx->fatal) {
                int r;

                now = sg_time_mono_ms();
                if (now >= next_overdue) {
                        check_overdue(ctx);
                        next_overdue = now + OVERDUE_EVERY_MS;
                }
                if (now >= next_poll) {
                        work_due = true;
                        sweep_due = true;
                        next_poll = now + poll_ms;
                }
                if (work_due) {
                        int a;
                        r = process_batch(ctx);
                        if (r == -1)
                                break;
                        a = process_access(ctx);
                        if (a == -1)
                                break;
                        work_due = r == -2 || r >= ctx->batch_size ||
                                   a == -2 || a >= ctx->batch_size;
                }
                if (sweep_due) {
                        sweep_outbox(ctx);
                        sweep_due = false;
                }
                if (ctx->ob) {
                        sg_outbox_poll(ctx->ob, 0);
                        record_notices(ctx, true);
                }
                now = sg_time_mono_ms();
                update_gauges(ctx, now);
                if (now >= next_progress) {
                        progress(ctx, now, false);
                        next_progress = now + ctx->progress_s * 1000LL;
                }
                if (ctx->once) {
                        if (!work_due)
                                break;
                        continue;
                }
                if (work_due)
                        continue;
                {
                        long long until = next_poll - sg_time_mono_ms();
                        int timeout = until < 0             ? 0
                                      : until > WAIT_MAX_MS ? WAIT_MAX_MS
                                                            : (int)until;
                        r = sg_listen_wait(ctx->listen, timeout);
                }
                if (r == -1) {
                        ctx->fatal = sg_listen_failed(ctx->listen);
                        break; /* stop requested while reconnecting */
                }
                if (r == SG_LISTEN_RECONNECTED) {
                        work_due = true; /* notifications may be lost */
                } else if (r > 0) {
                        ctx->notifications += r;
                        work_due = true;
                }
        }
}

/* Publishing setup: the producer and the outbox, or a reason not to
 * publish (the notices then stay in the outbox). */
static void setup_notices(gdpr_ctx_t *ctx)
{
        char errstr[1024];
        bool no_broker = false;

        if (ctx->no_notices) {
                sg_info("erasure notices disabled (--no-notices): they stay "
                        "pending in the outbox");
                return;
        }
        ctx->kafka = sg_outbox_kafka_new(ctx->common, ctx->erasure_topic, PROG,
                                         &no_broker, errstr, sizeof(errstr));
        if (ctx->kafka) {
                ctx->ob = sg_outbox_new(NOTICE_CHANNEL,
                                        sg_outbox_kafka_lease_s(ctx->kafka),
                                        &sg_outbox_kafka_ops, ctx->kafka);
                sg_outbox_kafka_attach(ctx->kafka, ctx->ob);
                return;
        }
        if (no_broker)
                sg_warn("no Kafka broker configured (%s): running without "
                        "publishing erasure notices; they stay pending in "
                        "the outbox and are sent once sg-gdpr runs with a "
                        "broker",
                        errstr);
        else
                sg_warn("cannot create the Kafka producer (%s): running "
                        "without publishing erasure notices; they stay "
                        "pending in the outbox",
                        errstr);
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        gdpr_ctx_t ctx;
        sg_metrics_conf_t mc;
        sg_opt_t metrics_opts[2];
        sg_metrics_t *metrics = NULL;
        sg_metrics_http_t *http = NULL;

        memset(&ctx, 0, sizeof(ctx));
        sg_cli_common_init(&common);
        ctx.common = &common;
        ctx.batch_size = 100;
        ctx.poll_interval_s = 2;
        ctx.progress_s = 10;
        ctx.erasure_topic = "privacy_erasures";
        ctx.overdue_days = 25;
        ctx.export_dir = getenv("SG_EXPORT_DIR") && *getenv("SG_EXPORT_DIR")
                             ? getenv("SG_EXPORT_DIR")
                             : ".sg/exports";
        const sg_opt_t opts[] = {
            {.name = "poll-interval", .kind = SG_OPT_DOUBLE,
             .dest = &ctx.poll_interval_s, .arg = "SECONDS", .dmin = 0.1,
             .dmax = 3600, .unit = "s",
             .help = "look for pending requests and unsent notices this"
                     "\noften, notified or not"},
            {.name = "batch-size", .kind = SG_OPT_INT, .dest = &ctx.batch_size,
             .arg = "N", .min = 1, .max = 10000,
             .help = "requests claimed per transaction"},
            {.name = "once", .kind = SG_OPT_FLAG, .dest = &ctx.once,
             .help = "process what is pending (and send unsent notices),"
                     "\nthen exit 0 (manual runs, cron)"},
            {.name = "erasure-topic", .kind = SG_OPT_STRING,
             .dest = &ctx.erasure_topic, .arg = "NAME",
             .help = "topic of the erasure notices"},
            {.name = "no-notices", .kind = SG_OPT_FLAG, .dest = &ctx.no_notices,
             .help = "do not publish notices: they stay pending in the"
                     "\noutbox for a later run"},
            {.name = "overdue-after", .kind = SG_OPT_DOUBLE,
             .dest = &ctx.overdue_days, .arg = "DAYS", .dmin = 0, .dmax = 30,
             .help = "a request still pending after DAYS is an alert (the "
                     "legal\nlimit is 30 days; checked every minute; 0: "
                     "never)"},
            {.name = "export-dir", .kind = SG_OPT_STRING,
             .dest = &ctx.export_dir, .arg = "DIR",
             .help = "access exports go here (created mode 0700; files 0600;"
                     "\nSG_EXPORT_DIR); an erasure deletes the user's"
                     "\nearlier exports from it"},
            {.name = "progress-interval", .kind = SG_OPT_INT,
             .dest = &ctx.progress_s, .arg = "SECONDS", .min = 1, .max = 3600,
             .unit = "s", .help = "progress line period"},
            SG_OPT_END,
        };
        sg_metrics_conf_init(&mc);
        sg_metrics_opts(&mc, metrics_opts);
        const sg_cli_t cli = {
            .prog = PROG,
            .about = "The privacy-request daemon: anonymises the users named by "
                     "new rows of\nprivacy_requests (LISTEN/NOTIFY, plus "
                     "polling), records outcome, audit row and\nprocessing "
                     "time in the same transaction, replaces the request's "
                     "e-mail by its\nSHA-256, and queues an erasure notice "
                     "(user_id, request_id, time; no PII) in\nthe outbox, "
                     "published to Kafka after commit. Requests of kind "
                     "'access' are\nexported instead: DIR/access_<id>.json, "
                     "access_<id>_events.csv and\naccess_<id>.sha256 "
                     "(mode 0600); an erasure deletes the user's earlier\n"
                     "exports. Personal data is read through pii_lookup & co. "
                     "(docs/privacy.md).",
            .tables = {opts, metrics_opts},
            .titles = {NULL, "Metrics"},
            .epilog = "Without any broker (no --brokers, no "
                      "KAFKA_BOOTSTRAP_SERVERS, no broker address\nfile) it "
                      "runs as with --no-notices and says so once. Connects as "
                      "sg_writer by\ndefault. --topic is not used here: see "
                      "--erasure-topic.",
        };
        int st;

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                return st;
        if (!ctx.export_dir[0])
                return sg_cli_usage_error(&cli, "--export-dir needs a folder");
        if (strlen(ctx.erasure_topic) > 249)
                return sg_cli_usage_error(&cli, "--erasure-topic needs a name of "
                                                "1 to 249 characters");
        metrics = sg_metrics_new();
        metrics_init(&ctx.m, metrics, mc.listen != NULL);
        if (sg_metrics_serve(&mc, metrics, &http) != 0) {
                sg_metrics_destroy(metrics);
                return 1;
        }
        sg_pg_session_init(&ctx.pg, &common, "sg_writer", PROG);
        sg_erase_result_init(&ctx.res);

        setup_notices(&ctx);
        if (sg_listen_start(&ctx.pg, &common, CHANNEL, ctx.once, &ctx.listen,
                            &ctx.fatal) < 0)
                goto out;
        sg_info("started mode=%s batch_size=%d poll_interval_ms=%d "
                "notices=%s%s%s",
                ctx.once ? "once" : "daemon", ctx.batch_size,
                (int)(ctx.poll_interval_s * 1000.0),
                ctx.ob ? ctx.erasure_topic : "off", ctx.ob ? " brokers=" : "",
                ctx.kafka ? sg_outbox_kafka_brokers(ctx.kafka) : "");
        ctx.last_progress_ms = sg_time_mono_ms();
        run(&ctx);
        if (sg_stop_requested)
                sg_info("stop requested: finishing");

out:
        if (ctx.ob) {
                sg_outbox_drain(ctx.ob, DRAIN_MS);
                /* One attempt, no waiting out an outage: what is not
                 * recorded is sent again later (at least once). */
                if (sg_outbox_unrecorded(ctx.ob) > 0 &&
                    (!ctx.pg.conn || PQstatus(ctx.pg.conn) != CONNECTION_OK)) {
                        sg_pg_err_t err;
                        sg_pg_session_drop(&ctx.pg);
                        ctx.pg.conn = sg_pg_open(ctx.pg.conninfo, PROG, &err);
                }
                record_notices(&ctx, false);
                if (sg_outbox_unrecorded(ctx.ob) > 0)
                        sg_warn("outbox state not recorded messages=%d: "
                                "they will be sent again",
                                sg_outbox_unrecorded(ctx.ob));
        }
        progress(&ctx, sg_time_mono_ms(), true);
        sg_info("exit status=%d", ctx.fatal ? 1 : 0);
        sg_listen_close(ctx.listen);
        sg_pg_session_close(&ctx.pg);
        sg_outbox_destroy(ctx.ob);
        sg_outbox_kafka_destroy(ctx.kafka);
        sg_erase_result_fini(&ctx.res);
        sg_metrics_http_stop(http);
        sg_metrics_destroy(metrics);
        return ctx.fatal ? 1 : 0;
}
