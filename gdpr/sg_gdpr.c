/* sg-gdpr: the privacy-request daemon. A user asks to be forgotten with
 * one statement, INSERT INTO privacy_requests (email) VALUES (...); a
 * trigger NOTIFYs us; we claim the request (FOR UPDATE SKIP LOCKED, so
 * several instances never process one twice), anonymise the user's
 * users_pii row, record the outcome, the audit row and the processing time
 * in the same transaction, and replace the request's e-mail by its
 * SHA-256. After commit an erasure notice (ids and time, no PII) goes to
 * Kafka through an outbox in PostgreSQL. We also poll, so a missed
 * notification delays a request, never loses it. Logs carry request ids
 * and outcomes only, never an e-mail. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "erase.h"
#include "notice.h"
#include "outbox.h"
#include "sg_cli.h"
#include "sg_listen.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#define PROG "sg-gdpr"
#define CHANNEL "privacy_requests"
#define WAIT_MAX_MS 200    /* longest block, so signals are seen promptly */
#define SWEEP_LIMIT 500    /* outbox requests leased per sweep */
#define INFLIGHT_MAX 5000  /* no sweep while this many are in flight */
#define DRAIN_MS 10000     /* notices in flight at exit: bounded wait */
#define RETRY_PAUSE_MS 200 /* after a transient failure on a live link */

enum {
        OPT_POLL_INTERVAL = 1,
        OPT_BATCH_SIZE,
        OPT_ONCE,
        OPT_ERASURE_TOPIC,
        OPT_NO_NOTICES,
        OPT_PROGRESS,
};

typedef struct gdpr_ctx {
        /* What to do */
        const sg_cli_common_t *common;
        char conninfo[1024];
        int batch_size;
        int poll_interval_ms;
        int progress_ms;
        bool once;
        bool no_notices;
        const char *erasure_topic;

        /* What we have */
        PGconn *conn;
        sg_listen_t *listen;
        sg_outbox_t *ob; /* NULL: not publishing (notices stay pending) */
        sg_erase_result_t res;
        sg_notice_list_t sweep;
        bool fatal;

        /* Counters */
        long long by_status[SG_ERASE__CNT];
        long long processed;
        long long batches;
        long long notifications;
        double max_ms; /* slowest request since the last progress line */
        long long last_progress_ms;
        long long last_progress_processed;
} gdpr_ctx_t;

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [options]\n"
                "The privacy-request daemon: anonymises the users named by "
                "new rows of\nprivacy_requests (LISTEN/NOTIFY, plus polling), "
                "records outcome, audit row and\nprocessing time in the same "
                "transaction, replaces the request's e-mail by its\n"
                "SHA-256, then publishes an erasure notice (user_id, "
                "request_id, time; no PII)\nto Kafka through an outbox.\n\n"
                "  --poll-interval SECONDS  look for pending requests and "
                "unsent notices this\n"
                "                       often, notified or not (default 2)\n"
                "  --batch-size N       requests claimed per transaction "
                "(default 100)\n"
                "  --once               process what is pending (and send "
                "unsent notices),\n"
                "                       then exit 0 (manual runs, cron)\n"
                "  --erasure-topic NAME topic of the erasure notices "
                "(default privacy_erasures)\n"
                "  --no-notices         do not publish notices: they stay "
                "pending in the\n"
                "                       outbox (notice_sent_at NULL) for a "
                "later run\n"
                "  --progress-interval SECONDS  progress line period "
                "(default 10)\n"
                "Without any broker (no --brokers, no "
                "KAFKA_BOOTSTRAP_SERVERS, no sg-broker\nfile) it runs as "
                "with --no-notices and says so once. Connects as sg_writer\n"
                "by default.\n",
                PROG);
        sg_cli_common_usage(fp);
        fputs("  (--topic is not used here: see --erasure-topic.)\n", fp);
}

/* Makes sure there is a working connection, waiting out an outage (with a
 * log line per attempt). Returns 0, or -1 if a stop was requested. */
static int ensure_conn(gdpr_ctx_t *ctx)
{
        if (ctx->conn && PQstatus(ctx->conn) == CONNECTION_OK)
                return 0;
        sg_warn("postgres connection lost; reconnecting");
        PQfinish(ctx->conn);
        ctx->conn = sg_pg_open_retry(ctx->conninfo, PROG);
        if (!ctx->conn)
                return -1;
        sg_info("postgres reconnected");
        return 0;
}

/* A statement failed. Transient: drop a broken connection (ensure_conn
 * reconnects) and carry on. Anything else is fatal. */
static void db_error(gdpr_ctx_t *ctx, const char *what, const char *errstr,
                     bool transient)
{
        if (!transient) {
                sg_error("%s failed: %s", what, errstr);
                ctx->fatal = true;
                return;
        }
        sg_warn("%s failed, will retry reason=\"%s\"", what, errstr);
        if (PQstatus(ctx->conn) != CONNECTION_OK) {
                PQfinish(ctx->conn);
                ctx->conn = NULL;
        } else {
                sg_sleep_ms(RETRY_PAUSE_MS);
        }
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

/* Claims and processes one batch, then queues its notices. Returns the
 * number of requests processed (batch_size: there may be more), -2 after
 * a transient failure (try again), -1 if fatal or stopping. */
static int process_batch(gdpr_ctx_t *ctx)
{
        char errstr[1024];
        bool transient = false;

        if (ensure_conn(ctx) < 0)
                return -1;
        if (sg_erase_batch(ctx->conn, ctx->batch_size, ctx->ob != NULL,
                           &ctx->res, errstr, sizeof(errstr), &transient) < 0) {
                db_error(ctx, "request batch", errstr, transient);
                return ctx->fatal ? -1 : -2;
        }
        if (ctx->res.claimed == 0)
                return 0;
        ctx->batches++;
        for (int i = 0; i < ctx->res.n; i++) {
                const sg_erase_outcome_t *oc = &ctx->res.v[i];
                log_outcome(oc);
                ctx->by_status[oc->status]++;
                ctx->processed++;
                if (oc->processing_ms > ctx->max_ms)
                        ctx->max_ms = oc->processing_ms;
        }
        if (ctx->res.fallback)
                sg_info("batch done request by request requests=%d",
                        ctx->res.claimed);
        if (ctx->ob && ctx->res.notices.n > 0)
                sg_outbox_send(ctx->ob, &ctx->res.notices);
        return ctx->res.claimed;
}

/* (Re)sends the notices that are neither sent nor leased by anyone. */
static void sweep_outbox(gdpr_ctx_t *ctx)
{
        char errstr[1024];
        bool transient = false;
        int leased;

        if (!ctx->ob || sg_outbox_inflight(ctx->ob) >= INFLIGHT_MAX)
                return;
        if (ensure_conn(ctx) < 0)
                return;
        sg_notice_list_reset(&ctx->sweep);
        leased = sg_erase_notices_lease(ctx->conn, SWEEP_LIMIT,
                                        sg_outbox_lease_s(ctx->ob), &ctx->sweep,
                                        errstr, sizeof(errstr), &transient);
        if (leased < 0) {
                db_error(ctx, "outbox sweep", errstr, transient);
                return;
        }
        if (leased > 0) {
                sg_info("outbox: sending pending erasure notices "
                        "requests=%d messages=%d",
                        leased, ctx->sweep.n);
                sg_outbox_send(ctx->ob, &ctx->sweep);
        }
}

/* Records delivered notices (notice_sent_at) and releases the leases of
 * undelivered ones. Lists stay as they are when PostgreSQL is away, for
 * the next call. With wait false, an outage is not waited out. */
static void record_notices(gdpr_ctx_t *ctx, bool wait)
{
        sg_notice_ids_t *done = sg_outbox_delivered(ctx->ob);
        sg_notice_ids_t *failed = sg_outbox_failed(ctx->ob);
        char errstr[1024];
        bool transient = false;

        if (done->n == 0 && failed->n == 0)
                return;
        if (wait) {
                if (ensure_conn(ctx) < 0)
                        return;
        } else if (!ctx->conn || PQstatus(ctx->conn) != CONNECTION_OK) {
                return;
        }
        if (sg_erase_notices_sent(ctx->conn, done, errstr, sizeof(errstr),
                                  &transient) < 0) {
                db_error(ctx, "recording delivered notices", errstr, transient);
                return;
        }
        if (done->n > 0)
                sg_debug("notices delivered requests=%d", done->n);
        sg_notice_ids_reset(done);
        if (sg_erase_notices_release(ctx->conn, failed, errstr, sizeof(errstr),
                                     &transient) < 0) {
                db_error(ctx, "releasing undelivered notices", errstr,
                         transient);
                return;
        }
        sg_notice_ids_reset(failed);
}

static void progress(gdpr_ctx_t *ctx, long long now, bool final)
{
        const sg_outbox_stats_t *st = ctx->ob ? sg_outbox_stats(ctx->ob) : NULL;
        double secs = (double)(now - ctx->last_progress_ms) / 1000.0;
        long long pending = -1, unsent = -1;
        char backlog[96] = "";
        char errstr[512];
        bool transient;

        if (ctx->conn && PQstatus(ctx->conn) == CONNECTION_OK &&
            sg_erase_backlog(ctx->conn, &pending, &unsent, errstr,
                             sizeof(errstr), &transient) == 0)
                snprintf(backlog, sizeof(backlog),
                         " pending_requests=%lld pending_notices=%lld", pending,
                         unsent);
        sg_info(
            "%s processed=%lld rate=%.1f/s anonymized=%lld "
            "already_anonymized=%lld not_found=%lld failed=%lld "
            "batches=%lld notifications=%lld max_processing_ms=%.1f%s "
            "notices_sent=%lld notices_failed=%lld notices_in_flight=%d",
            final ? "final" : "progress", ctx->processed,
            secs > 0
                ? (double)(ctx->processed - ctx->last_progress_processed) / secs
                : 0.0,
            ctx->by_status[SG_ERASE_ANONYMIZED],
            ctx->by_status[SG_ERASE_ALREADY_ANONYMIZED],
            ctx->by_status[SG_ERASE_NOT_FOUND], ctx->by_status[SG_ERASE_FAILED],
            ctx->batches, ctx->notifications, ctx->max_ms, backlog,
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
        long long now = sg_now_ms();
        long long next_poll = now; /* startup sweep: right away */
        long long next_progress = now + ctx->progress_ms;
        bool work_due = true, sweep_due = false;

        while (!sg_stop_requested && !ctx->fatal) {
                int r;

                now = sg_now_ms();
                if (now >= next_poll) {
                        work_due = true;
                        sweep_due = true;
                        next_poll = now + ctx->poll_interval_ms;
                }
                if (work_due) {
                        r = process_batch(ctx);
                        if (r == -1)
                                break;
                        work_due = r == -2 || r >= ctx->batch_size;
                }
                if (sweep_due) {
                        sweep_outbox(ctx);
                        sweep_due = false;
                }
                if (ctx->ob) {
                        sg_outbox_poll(ctx->ob, 0);
                        record_notices(ctx, true);
                }
                now = sg_now_ms();
                if (now >= next_progress) {
                        progress(ctx, now, false);
                        next_progress = now + ctx->progress_ms;
                }
                if (ctx->once) {
                        if (!work_due)
                                break;
                        continue;
                }
                if (work_due)
                        continue;
                {
                        long long until = next_poll - sg_now_ms();
                        int timeout = until < 0             ? 0
                                      : until > WAIT_MAX_MS ? WAIT_MAX_MS
                                                            : (int)until;
                        r = sg_listen_wait(ctx->listen, timeout);
                }
                if (r == -1)
                        break; /* stop requested while reconnecting */
                if (r == SG_LISTEN_RECONNECTED) {
                        work_due = true; /* notifications may be lost */
                } else if (r > 0) {
                        ctx->notifications += r;
                        work_due = true;
                }
        }
}

/* Publishing setup: the producer, or a reason not to publish. */
static void setup_notices(gdpr_ctx_t *ctx)
{
        char errstr[1024];
        bool no_broker = false;

        if (ctx->no_notices) {
                sg_info("erasure notices disabled (--no-notices): they stay "
                        "pending in the outbox");
                return;
        }
        ctx->ob = sg_outbox_new(ctx->common, ctx->erasure_topic, PROG,
                                &no_broker, errstr, sizeof(errstr));
        if (ctx->ob)
                return;
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
        static const struct option own[] = {
            {"poll-interval", required_argument, NULL, OPT_POLL_INTERVAL},
            {"batch-size", required_argument, NULL, OPT_BATCH_SIZE},
            {"once", no_argument, NULL, OPT_ONCE},
            {"erasure-topic", required_argument, NULL, OPT_ERASURE_TOPIC},
            {"no-notices", no_argument, NULL, OPT_NO_NOTICES},
            {"progress-interval", required_argument, NULL, OPT_PROGRESS},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        gdpr_ctx_t ctx;
        char err[1024];
        double d;
        long long v;
        int opt, r;

        memset(&ctx, 0, sizeof(ctx));
        sg_cli_common_init(&common);
        ctx.common = &common;
        ctx.batch_size = 100;
        ctx.poll_interval_ms = 2000;
        ctx.progress_ms = 10000;
        ctx.erasure_topic = "privacy_erasures";
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                switch (opt) {
                case OPT_POLL_INTERVAL:
                        if (sg_cli_parse_double(optarg, 0.1, 3600, &d))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--poll-interval must be 0.1..3600 "
                                    "seconds");
                        ctx.poll_interval_ms = (int)(d * 1000.0);
                        break;
                case OPT_BATCH_SIZE:
                        if (sg_cli_parse_long(optarg, 1, 10000, &v))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--batch-size must be 1..10000");
                        ctx.batch_size = (int)v;
                        break;
                case OPT_ONCE:
                        ctx.once = true;
                        break;
                case OPT_ERASURE_TOPIC:
                        if (!*optarg || strlen(optarg) > 249)
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--erasure-topic needs a name of 1 to "
                                    "249 characters");
                        ctx.erasure_topic = optarg;
                        break;
                case OPT_NO_NOTICES:
                        ctx.no_notices = true;
                        break;
                case OPT_PROGRESS:
                        if (sg_cli_parse_long(optarg, 1, 3600, &v))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--progress-interval must be 1..3600 "
                                    "seconds");
                        ctx.progress_ms = (int)v * 1000;
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
        sg_log_init(PROG, common.log_level);
        sg_signal_install();
        sg_pg_conninfo(&common, "sg_writer", ctx.conninfo,
                       sizeof(ctx.conninfo));
        sg_erase_result_init(&ctx.res);

        setup_notices(&ctx);
        ctx.conn = sg_pg_open_retry(ctx.conninfo, PROG);
        if (ctx.conn && !ctx.once)
                ctx.listen = sg_listen_open(ctx.conninfo, PROG, CHANNEL);
        if (!ctx.conn || (!ctx.once && !ctx.listen)) {
                /* A stop was requested while waiting for the database. */
                sg_info("stopped before the database was reachable");
                goto out;
        }
        sg_info("started mode=%s batch_size=%d poll_interval_ms=%d "
                "notices=%s%s%s",
                ctx.once ? "once" : "daemon", ctx.batch_size,
                ctx.poll_interval_ms, ctx.ob ? ctx.erasure_topic : "off",
                ctx.ob ? " brokers=" : "",
                ctx.ob ? sg_outbox_brokers(ctx.ob) : "");
        ctx.last_progress_ms = sg_now_ms();
        run(&ctx);
        if (sg_stop_requested)
                sg_info("stop requested: finishing");

out:
        if (ctx.ob) {
                sg_outbox_drain(ctx.ob, DRAIN_MS);
                /* One attempt, no waiting out an outage: what is not
                 * recorded is sent again later (at least once). */
                if ((sg_outbox_delivered(ctx.ob)->n > 0 ||
                     sg_outbox_failed(ctx.ob)->n > 0) &&
                    (!ctx.conn || PQstatus(ctx.conn) != CONNECTION_OK)) {
                        PQfinish(ctx.conn);
                        ctx.conn =
                            sg_pg_open(ctx.conninfo, PROG, err, sizeof(err));
                }
                record_notices(&ctx, false);
                if (sg_outbox_delivered(ctx.ob)->n > 0 ||
                    sg_outbox_failed(ctx.ob)->n > 0)
                        sg_warn("outbox state not recorded requests=%d: "
                                "their notices will be sent again",
                                sg_outbox_delivered(ctx.ob)->n +
                                    sg_outbox_failed(ctx.ob)->n);
        }
        progress(&ctx, sg_now_ms(), true);
        sg_info("exit status=%d", ctx.fatal ? 1 : 0);
        sg_listen_close(ctx.listen);
        PQfinish(ctx.conn);
        sg_outbox_destroy(ctx.ob);
        sg_erase_result_fini(&ctx.res);
        sg_notice_list_fini(&ctx.sweep);
        return ctx.fatal ? 1 : 0;
}
