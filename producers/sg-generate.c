/* sg-generate: publishes synthetic user_events v1 messages (and, on
 * request, an exact share of contract-breaking ones) for the users that
 * sg-seed-users wrote. Message i depends only on (seed, i), except its
 * default wall-clock timestamp. --scenario compliance publishes a fixed
 * mix instead (producers/scenario.h) and --truth writes the flags the
 * compliance rules must raise on it. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include "gen_event.h"
#include "scenario.h"
#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_event.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"
#include "sg_time.h"
#include "sg_uuid.h"

#define PROG "sg-generate"
#define FLUSH_TIMEOUT_MS 130000 /* message.timeout.ms + 10 s */
#define PROGRESS_EVERY_MS 5000
#define POLL_EVERY 1000 /* messages between rd_kafka_poll(rk, 0) */
#define CLOCK_EVERY 64  /* messages between clock reads, unpaced */
#define MAX_FAIL_LOGS 5
#define DAY_US 86400000000LL

typedef struct gen_ctx {
        /* What to do */
        long long count;       /* 0: no limit */
        double duration_s;     /* 0: no limit */
        double rate;           /* events/s; 0: as fast as possible */
        long long users_limit; /* 0: all */
        sg_gen_conf_t gconf;
        const char *topic;
        const sg_scenario_t *scen; /* NULL: random events */

        /* What we have */
        sg_gen_user_t *users;
        size_t nusers;
        rd_kafka_t *rk;
        rd_kafka_topic_t *rkt;
        char brokers[512];

        /* Counters (the delivery callback runs in our own thread, inside
         * rd_kafka_poll/flush: no locking needed) */
        long long sent;
        long long valid;
        long long invalid;
        long long by_reason[SG_REASON__CNT];
        long long delivered;
        long long failed; /* delivery reports and produce errors */
        int fail_logs;
        rd_kafka_resp_err_t first_err;
        bool flush_timed_out;
} gen_ctx_t;

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        gen_ctx_t *ctx = opaque;

        (void)rk;
        if (!rkm->err) {
                ctx->delivered++;
                return;
        }
        ctx->failed++;
        if (!ctx->first_err)
                ctx->first_err = rkm->err;
        if (ctx->fail_logs < MAX_FAIL_LOGS) {
                ctx->fail_logs++;
                sg_warn("delivery failed err=%s partition=%d%s",
                        rd_kafka_err2name(rkm->err), (int)rkm->partition,
                        ctx->fail_logs == MAX_FAIL_LOGS
                            ? " (further failures are counted, not logged)"
                            : "");
        }
}

/* Reads the users once: ids and countries, ordered by user_id (a job of
 * sg_pg_run). Returns 0 (ctx->users owned by ctx), or -1 with
 * err. */
static int load_users(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        gen_ctx_t *ctx = arg;
        char limit[32];
        const char *params[1] = {NULL};
        PGresult *res;
        int n, bad = 0;

        if (ctx->users_limit > 0) {
                snprintf(limit, sizeof(limit), "%lld", ctx->users_limit);
                params[0] = limit;
        }
        /* LIMIT NULL means no limit. */
        res = sg_pg_query(conn,
                          "SELECT user_id, country FROM users_public "
                          "ORDER BY user_id LIMIT $1::bigint",
                          1, params, 0, "reading users_public", err);
        if (!res)
                return -1;
        n = PQntuples(res);
        free(ctx->users);
        ctx->users = sg_xcalloc((size_t)n, sizeof(*ctx->users));
        ctx->nusers = 0;
        for (int i = 0; i < n; i++) {
                const char *id = PQgetvalue(res, i, 0);
                const char *country = PQgetvalue(res, i, 1);
                sg_gen_user_t *u = &ctx->users[ctx->nusers];

                if (!sg_uuid_valid(id) || !*country ||
                    strlen(country) >= sizeof(u->country)) {
                        bad++;
                        continue;
                }
                memcpy(u->user_id, id, 37);
                memcpy(u->country, country, strlen(country) + 1);
                ctx->nusers++;
        }
        if (bad)
                sg_warn("skipped users with an unusable country count=%d", bad);
        PQclear(res);
        return 0;
}

static void progress(gen_ctx_t *ctx, long long dt_ms, long long dsent)
{
        sg_info("progress sent=%lld delivered=%lld failed=%lld "
                "rate=%.0f/s queued=%d",
                ctx->sent, ctx->delivered, ctx->failed,
                dt_ms > 0 ? (double)dsent * 1000.0 / (double)dt_ms : 0.0,
                rd_kafka_outq_len(ctx->rk));
}

/* True once messages have failed and none was ever delivered (broker
 * unreachable, topic not writable, ...): producing more cannot help. */
static bool nothing_gets_through(const gen_ctx_t *ctx)
{
        return ctx->failed > 0 && ctx->delivered == 0;
}

/* Hands one message to librdkafka, waiting while its queue is full.
 * Returns 0 when the message is queued or failed for good (counted), -1
 * when a stop was requested or a fatal error occurred before it could be
 * queued (not counted). */
static int produce_one(gen_ctx_t *ctx, const char *key, const char *buf,
                       size_t len)
{
        rd_kafka_resp_err_t err;

        for (;;) {
                err = rd_kafka_producev(
                    ctx->rk, RD_KAFKA_V_RKT(ctx->rkt), RD_KAFKA_V_KEY(key, 36),
                    RD_KAFKA_V_VALUE((void *)buf, len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
                        break;
                /* Let deliveries drain the queue, then try again. */
                rd_kafka_poll(ctx->rk, 50);
                if (sg_stop_requested || nothing_gets_through(ctx))
                        return -1;
        }
        if (err == RD_KAFKA_RESP_ERR__FATAL)
                return -1;
        ctx->sent++;
        if (err) {
                ctx->failed++;
                if (!ctx->first_err)
                        ctx->first_err = err;
                if (ctx->fail_logs < MAX_FAIL_LOGS) {
                        ctx->fail_logs++;
                        sg_warn("produce failed err=%s",
                                rd_kafka_err2name(err));
                }
        }
        return 0;
}

/* The produce loop: until the count or the duration is reached, or a
 * stop is requested, or librdkafka reports a fatal error. */
static void run(gen_ctx_t *ctx)
{
        char buf[SG_GEN_EVENT_MAX];
        char key[37];
        sg_reason_t intended;
        long long t0 = sg_time_mono_ms(), now = t0;
        long long end = ctx->duration_s > 0
                            ? t0 + (long long)(ctx->duration_s * 1000.0)
                            : 0;
        long long last_ms = t0, last_sent = 0;
        long long now_us = 0;
        uint64_t i = 0;

        while (!sg_stop_requested) {
                if (ctx->count > 0 && (long long)i >= ctx->count)
                        break;
                /* Unpaced, the clock is read every CLOCK_EVERY messages
                 * only (well under a millisecond apart). */
                if (ctx->rate > 0 || i % CLOCK_EVERY == 0) {
                        now = sg_time_mono_ms();
                        if (end && now >= end)
                                break;
                        if (now - last_ms >= PROGRESS_EVERY_MS) {
                                progress(ctx, now - last_ms,
                                         ctx->sent - last_sent);
                                last_ms = now;
                                last_sent = ctx->sent;
                        }
                }
                if (ctx->rate > 0) {
                        /* Deadline scheduling: message i is due at
                         * t0 + i / rate; if early, serve callbacks until
                         * then (at most 100 ms, to see a stop). */
                        long long due =
                            t0 + (long long)((double)i * 1000.0 / ctx->rate);
                        if (now < due) {
                                long long wait = due - now;
                                rd_kafka_poll(ctx->rk,
                                              wait > 100 ? 100 : (int)wait);
                                sg_kafka_watch(ctx->rk);
                                continue;
                        }
                }

                if (ctx->scen) {
                        /* The scenario's messages, in event-time order. */
                        const sg_scenario_event_t *e = &ctx->scen->events[i];
                        if (produce_one(ctx, e->key, e->json, e->len) < 0)
                                break;
                        intended = SG_REASON_OK;
                } else {
                        size_t len;

                        /* The event's time: now (unpaced, read every
                         * CLOCK_EVERY events, which are then microseconds
                         * apart), or drawn from --start/--days by the
                         * generator. */
                        if (ctx->gconf.ts_span_us == 0 &&
                            (ctx->rate > 0 || i % CLOCK_EVERY == 0))
                                now_us = sg_time_wall_us();
                        len = sg_gen_event_build(&ctx->gconf, ctx->users,
                                                 ctx->nusers, i, now_us, buf,
                                                 sizeof(buf), key, &intended);
                        if (len == 0) {
                                sg_error("internal error: event buffer too "
                                         "small index=%llu",
                                         (unsigned long long)i);
                                break;
                        }
                        if (produce_one(ctx, key, buf, len) < 0)
                                break;
                }
                if (intended == SG_REASON_OK) {
                        ctx->valid++;
                } else {
                        ctx->invalid++;
                        ctx->by_reason[intended]++;
                }
                i++;
                if (i % POLL_EVERY == 0) {
                        rd_kafka_poll(ctx->rk, 0);
                        sg_kafka_watch(ctx->rk);
                        if (rd_kafka_fatal_error(ctx->rk, NULL, 0) ||
                            nothing_gets_through(ctx))
                                break;
                }
        }
        if (sg_stop_requested)
                sg_info("stop requested: no more messages, flushing "
                        "sent=%lld",
                        ctx->sent);
        else if (nothing_gets_through(ctx))
                sg_error("no message delivered and failed=%lld: stopping "
                         "early, flushing sent=%lld",
                         ctx->failed, ctx->sent);
}

/* Waits (bounded) for outstanding deliveries; whatever is still queued
 * afterwards is purged and counted as failed. */
static void flush_all(gen_ctx_t *ctx)
{
        int left;

        if (rd_kafka_flush(ctx->rk, FLUSH_TIMEOUT_MS) ==
            RD_KAFKA_RESP_ERR__TIMED_OUT) {
                ctx->flush_timed_out = true;
                left = rd_kafka_outq_len(ctx->rk);
                sg_error("flush timed out after %d ms, not delivered "
                         "queued=%d",
                         FLUSH_TIMEOUT_MS, left);
                sg_kafka_purge(ctx->rk);
        }
        /* Anything neither delivered nor reported failed: lost. */
        if (ctx->sent - ctx->delivered > ctx->failed)
                ctx->failed = ctx->sent - ctx->delivered;
}

static void print_summary(const gen_ctx_t *ctx, unsigned long long seed)
{
        char first[37];

        printf("{\"sent\":%lld,\"delivered\":%lld,\"failed\":%lld,"
               "\"valid\":%lld,\"invalid\":%lld,\"invalid_by_reason\":{",
               ctx->sent, ctx->delivered, ctx->failed, ctx->valid,
               ctx->invalid);
        for (int r = SG_REASON_TOO_LARGE; r < SG_REASON__CNT; r++)
                printf("%s\"%s\":%lld", r == SG_REASON_TOO_LARGE ? "" : ",",
                       sg_reason_name((sg_reason_t)r), ctx->by_reason[r]);
        if (ctx->sent > 0) {
                if (ctx->scen)
                        memcpy(first, ctx->scen->events[0].event_id, 37);
                else
                        sg_gen_event_id(seed, 0, first);
                printf("},\"first_event_id\":\"%s\"", first);
        } else {
                printf("},\"first_event_id\":null");
        }
        if (ctx->scen)
                printf(",\"scenario\":\"compliance\",\"flags\":%zu",
                       ctx->scen->nflags);
        printf(",\"seed\":%llu}\n", seed);
        fflush(stdout);
}

/* --start: "YYYY-MM-DD" as that day's UTC midnight (an option parser). */
static int parse_start(const char *arg, void *dest, char *err, size_t size)
{
        char ts[32];

        if (strlen(arg) != 10 ||
            (snprintf(ts, sizeof(ts), "%sT00:00:00Z", arg),
             sg_event_parse_timestamp(ts, (long long *)dest) != 0)) {
                snprintf(err, size, "must be a date YYYY-MM-DD (2000..2099)");
                return -1;
        }
        return 0;
}

/* --erased-user: a UUID, stored lower-cased into a char[37]. */
static int parse_uuid(const char *arg, void *dest, char *err, size_t size)
{
        if (!sg_uuid_canon(arg, strlen(arg), dest)) {
                snprintf(err, size, "must be a UUID");
                return -1;
        }
        return 0;
}

/* --erased-at: an RFC 3339 time with an offset, as the contract writes
 * event_timestamp. */
static int parse_instant(const char *arg, void *dest, char *err, size_t size)
{
        if (sg_event_parse_timestamp(arg, (long long *)dest) != 0) {
                snprintf(err, size,
                         "must be an RFC 3339 time with an offset "
                         "(2000..2099)");
                return -1;
        }
        return 0;
}

/* Writes the scenario's truth to path. Returns 0, or -1 (logged). */
static int write_truth(const sg_scenario_t *scen, const char *path)
{
        size_t len;
        char *text = sg_scenario_truth_text(scen, &len);
        FILE *fp = fopen(path, "w");
        int rc = 0;

        if (!fp || fwrite(text, 1, len, fp) != len) {
                sg_error("cannot write the truth file path=%s err=%s", path,
                         strerror(errno));
                rc = -1;
        }
        if (fp && fclose(fp) != 0 && rc == 0) {
                sg_error("cannot write the truth file path=%s err=%s", path,
                         strerror(errno));
                rc = -1;
        }
        free(text);
        return rc;
}

/* Builds the scenario for the users read and checks it. Returns 0, or -1
 * (logged). */
static int build_scenario(gen_ctx_t *ctx, sg_scenario_t *scen,
                          const sg_scenario_conf_t *sconf,
                          const char *truth_path)
{
        char err[1024];
        sg_scenario_conf_t c = *sconf;

        c.users = ctx->users;
        c.nusers = ctx->nusers;
        if (sg_scenario_init(scen, &c, err, sizeof(err)) < 0) {
                sg_error("%s", err);
                return -1;
        }
        if (sg_scenario_check(scen, err, sizeof(err)) < 0) {
                sg_error("scenario self-check failed: %s", err);
                return -1;
        }
        if (truth_path && write_truth(scen, truth_path) < 0)
                return -1;
        ctx->scen = scen;
        ctx->count = (long long)scen->nevents;
        return 0;
}

int main(int argc, char **argv)
{
        /* key, value pairs; -X properties win */
        const char *const kafka_defaults[] = {
            "client.id",
            PROG,
            "enable.idempotence",
            "true",
            "linger.ms",
            "5",
            "batch.num.messages",
            "10000",
            "queue.buffering.max.messages",
            "500000",
            "queue.buffering.max.kbytes",
            "1048576",
            "message.max.bytes",
            "2000000",
            /* How long a message may wait for the broker: long enough
             * to ride out a broker restart (after a crash, a single
             * Kafka node is back in ~10 s and clients reconnect within
             * their 10 s backoff), bounded so that an unreachable
             * broker fails the run in 2 minutes instead of librdkafka's
             * default 5 (the Java producer's delivery.timeout.ms). */
            "message.timeout.ms",
            "120000",
            /* Partitions added to the topic while we run are written to
             * within 10 s instead of librdkafka's 5 minutes. */
            "topic.metadata.refresh.interval.ms",
            "10000",
            NULL,
        };
        sg_cli_common_t common;
        gen_ctx_t ctx;
        long long seed = 1, days = 0, start_us = 0;
        bool have_start = false, embedded = false;
        static const char *const scenario_choices[] = {"compliance", NULL};
        int scenario = 0;
        bool have_scenario = false, have_erased_user = false;
        bool have_erased_at = false;
        const char *truth_path = NULL;
        char erased_user[37] = "";
        long long erased_at_us = 0;
        sg_scenario_conf_t sconf;
        sg_scenario_t scen;
        char err[1024];
        rd_kafka_conf_t *conf = NULL;
        size_t blen = sizeof(ctx.brokers);
        long long t0, elapsed;
        int st, rc = 1;

        memset(&ctx, 0, sizeof(ctx));
        memset(&sconf, 0, sizeof(sconf));
        memset(&scen, 0, sizeof(scen));
        const sg_opt_t opts[] = {
            {.name = "count", .kind = SG_OPT_LLONG, .dest = &ctx.count,
             .arg = "N", .min = 1, .max = 1000000000000LL, .no_default = true,
             .help = "number of messages"},
            {.name = "duration", .kind = SG_OPT_DOUBLE, .dest = &ctx.duration_s,
             .arg = "SECONDS", .dmin = 0.001, .dmax = 1e8, .no_default = true,
             .help = "run this long (with --count: whichever comes first)"},
            {.name = "rate", .kind = SG_OPT_DOUBLE, .dest = &ctx.rate,
             .arg = "N", .dmin = 0, .dmax = 1e9,
             .help = "messages per second (0: as fast as possible)"},
            {.name = "seed", .kind = SG_OPT_LLONG, .dest = &seed, .arg = "S",
             .min = 0, .max = 0x7fffffffffffffffLL,
             .help = "PRNG seed; message i depends on (S, i) only"},
            {.name = "invalid-ratio", .kind = SG_OPT_DOUBLE,
             .dest = &ctx.gconf.invalid_ratio, .arg = "F", .dmin = 0, .dmax = 1,
             .help = "share of contract-breaking messages, 0..1;\nexactly "
                     "floor(N*F) of N, cycling through the 10 reasons"},
            {.name = "days", .kind = SG_OPT_LLONG, .dest = &days, .arg = "D",
             .min = 1, .max = 3650, .no_default = true,
             .help = "spread event_timestamp over the D days ending now (UTC)"},
            {.name = "start", .kind = SG_OPT_CUSTOM, .dest = &start_us,
             .arg = "YYYY-MM-DD", .parse = parse_start, .given = &have_start,
             .help = "... or over D days (default 1) from that UTC midnight"
                     "\n(--scenario: its 3 hours start there)"},
            {.name = "users-limit", .kind = SG_OPT_LLONG, .dest = &ctx.users_limit,
             .arg = "N", .min = 1, .max = 1000000000LL, .no_default = true,
             .help = "use at most the first N users (by user_id)"},
            {.name = "scenario", .kind = SG_OPT_CHOICE, .dest = &scenario,
             .arg = "NAME", .choices = scenario_choices,
             .given = &have_scenario, .no_default = true,
             .help = "publish a fixed mix instead: compliance (3 h of"
                     "\nevent time, background traffic and violations of"
                     "\nevery compliance rule; it starts at --start, or"
                     "\nends at most 5 min ago)"},
            {.name = "truth", .kind = SG_OPT_STRING, .dest = &truth_path,
             .arg = "FILE",
             .help = "with --scenario: write the flags the rules must raise"},
            {.name = "erased-user", .kind = SG_OPT_CUSTOM, .dest = erased_user,
             .arg = "UUID", .parse = parse_uuid, .given = &have_erased_user,
             .help = "with --scenario: an erased user; 3 events 1, 2, 3 s"
                     "\nafter --erased-at (erased_user_activity)"},
            {.name = "erased-at", .kind = SG_OPT_CUSTOM, .dest = &erased_at_us,
             .arg = "RFC3339", .parse = parse_instant,
             .given = &have_erased_at,
             .help = "the time of that user's erasure"},
            SG_OPT_END,
        };
        const sg_cli_t cli = {
            .prog = PROG,
            .synopsis = "(--count N | --duration SECONDS | --scenario "
                        "compliance) [options]",
            .about = "Publishes user_events v1 messages (key = user_id) for "
                     "the users in\nusers_public. Prints one JSON summary "
                     "line on stdout.",
            .tables = {opts},
            .epilog = "Default event_timestamp: the wall clock when the "
                      "message is built.",
        };

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                return st;
        if (have_scenario) {
                if (ctx.count != 0 || ctx.duration_s != 0)
                        return sg_cli_usage_error(
                            &cli, "--scenario decides the number of "
                                  "messages: drop --count/--duration");
                if (days != 0 || ctx.gconf.invalid_ratio != 0)
                        return sg_cli_usage_error(
                            &cli, "--days and --invalid-ratio do not apply "
                                  "to --scenario");
                if (have_erased_user != have_erased_at)
                        return sg_cli_usage_error(
                            &cli, "give --erased-user and --erased-at "
                                  "together");
        } else {
                if (truth_path || have_erased_user || have_erased_at)
                        return sg_cli_usage_error(
                            &cli, "--truth, --erased-user and --erased-at "
                                  "need --scenario");
                if (ctx.count == 0 && ctx.duration_s == 0)
                        return sg_cli_usage_error(
                            &cli, "give --count N or --duration SECONDS (or "
                                  "both), or --scenario compliance");
        }
        ctx.gconf.seed = (uint64_t)seed;
        ctx.topic = common.topic;
        if (have_start) {
                ctx.gconf.ts_start_us = start_us;
                ctx.gconf.ts_span_us = (days ? days : 1) * DAY_US;
        } else if (days) {
                ctx.gconf.ts_span_us = days * DAY_US;
                ctx.gconf.ts_start_us = sg_time_wall_us() - ctx.gconf.ts_span_us;
        }
        /* The contract takes years 2000..2099 only. */
        if (ctx.gconf.ts_span_us > 0 &&
            (ctx.gconf.ts_start_us < 946684800000000LL ||
             ctx.gconf.ts_start_us + ctx.gconf.ts_span_us > 4102444800000000LL))
                return sg_cli_usage_error(&cli, "the --start/--days window "
                                                "must lie within 2000..2099");
        if (have_scenario) {
                sconf.seed = (uint64_t)seed;
                sconf.start_us = have_start ? start_us
                                            : sg_scenario_default_start(
                                                  sg_time_wall_us());
                if (sconf.start_us + SG_SCENARIO_SPAN_US +
                        SG_SCENARIO_ERASED_SLACK_US >
                    4102444800000000LL)
                        return sg_cli_usage_error(
                            &cli, "the scenario's 3 hours must lie within "
                                  "2000..2099");
                if (have_erased_user) {
                        long long last = sconf.start_us + SG_SCENARIO_SPAN_US +
                                         SG_SCENARIO_ERASED_SLACK_US -
                                         3000000LL;
                        char a[28], z[28];

                        if (erased_at_us < sconf.start_us ||
                            erased_at_us >= last) {
                                sg_time_format_rfc3339(sconf.start_us, a);
                                sg_time_format_rfc3339(last, z);
                                return sg_cli_usage_error(
                                    &cli,
                                    "--erased-at must lie within the "
                                    "scenario's time span, %s .. %s "
                                    "(excluded)",
                                    a, z);
                        }
                        sconf.erased_user = erased_user;
                        sconf.erased_at_us = erased_at_us;
                }
        }

        conf = sg_kafka_conf_new(&common, kafka_defaults, &embedded, err,
                                 sizeof(err));
        if (!conf) {
                fprintf(stderr, "%s: %s\n", PROG, err);
                goto out;
        }
        if (rd_kafka_conf_get(conf, "bootstrap.servers", ctx.brokers, &blen) !=
            RD_KAFKA_CONF_OK)
                snprintf(ctx.brokers, sizeof(ctx.brokers), "?");
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rd_kafka_conf_set_opaque(conf, &ctx);
        ctx.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
        if (!ctx.rk) {
                fprintf(stderr, "%s: cannot create the Kafka producer: %s\n",
                        PROG, err);
                goto out;
        }
        conf = NULL; /* owned by rk now */
        ctx.rkt = rd_kafka_topic_new(ctx.rk, ctx.topic, NULL);
        if (!ctx.rkt) {
                sg_error("cannot create the topic handle topic=%s err=%s",
                         ctx.topic, rd_kafka_err2name(rd_kafka_last_error()));
                goto out;
        }
        if (sg_pg_run(&common, PROG,
                      &(sg_pg_job_t){.what = "reading the users",
                                     .fn = load_users,
                                     .arg = &ctx,
                                     .retry_s = 366LL * 86400}) < 0)
                goto out;
        if (ctx.nusers == 0) {
                sg_error("no users: run sg-seed-users first");
                goto out;
        }
        if (have_scenario) {
                char a[28];

                if (build_scenario(&ctx, &scen, &sconf, truth_path) < 0)
                        goto out;
                sg_time_format_rfc3339(scen.start_us, a);
                sg_info("scenario compliance start=%s events=%zu "
                        "scenario_users=%zu background_users=%zu "
                        "levels=%s:%d,%s:%d,%s:%d flags=%zu%s%s",
                        a, scen.nevents, scen.nusers, scen.nbackground,
                        scen.countries[0], scen.levels[0], scen.countries[1],
                        scen.levels[1], scen.countries[2], scen.levels[2],
                        scen.nflags, truth_path ? " truth=" : "",
                        truth_path ? truth_path : "");
        }

        sg_info("producing topic=%s brokers=%s%s users=%zu count=%lld "
                "duration_s=%g rate=%g seed=%lld invalid_ratio=%g",
                ctx.topic, ctx.brokers, embedded ? " (sg-broker)" : "",
                ctx.nusers, ctx.count, ctx.duration_s, ctx.rate, seed,
                ctx.gconf.invalid_ratio);
        t0 = sg_time_mono_ms();
        run(&ctx);
        flush_all(&ctx);
        elapsed = sg_time_mono_ms() - t0;

        sg_info("done sent=%lld delivered=%lld failed=%lld valid=%lld "
                "invalid=%lld elapsed_ms=%lld rate=%.0f/s",
                ctx.sent, ctx.delivered, ctx.failed, ctx.valid, ctx.invalid,
                elapsed,
                elapsed > 0 ? (double)ctx.sent * 1000.0 / (double)elapsed
                            : 0.0);
        print_summary(&ctx, (unsigned long long)seed);
        if (rd_kafka_fatal_error(ctx.rk, err, sizeof(err)))
                sg_error("kafka producer failed fatally: %s", err);
        else if (ctx.failed > 0 && ctx.delivered == 0)
                sg_error("kafka broker unreachable at %s: none of %lld "
                         "messages delivered%s (first error %s)",
                         ctx.brokers, ctx.sent,
                         ctx.flush_timed_out ? " within the flush" : "",
                         rd_kafka_err2name(ctx.first_err));
        else if (ctx.failed > 0)
                sg_error("%lld of %lld messages not delivered%s (first "
                         "error %s)",
                         ctx.failed, ctx.sent,
                         ctx.flush_timed_out ? " within the flush" : "",
                         rd_kafka_err2name(ctx.first_err));
        rc = ctx.failed > 0 || rd_kafka_fatal_error(ctx.rk, NULL, 0) ? 1 : 0;
out:
        if (conf)
                rd_kafka_conf_destroy(conf);
        if (ctx.rkt)
                rd_kafka_topic_destroy(ctx.rkt);
        if (ctx.rk)
                rd_kafka_destroy(ctx.rk);
        sg_scenario_fini(&scen);
        free(ctx.users);
        return rc;
}
