/* sg-alert: delivers the rows of alerts to HTTP sinks (docs/alerts.md).
 * A cause inserts its alert in its own transaction; NOTIFY sg_alert wakes
 * us at its commit (we also poll every second, for retries and missed
 * notifications). We route each alert to the sinks of the sinks file
 * that want it (one alert_deliveries row each), lease due rows (FOR
 * UPDATE SKIP LOCKED, so several instances share the work), POST their
 * signed JSON bodies over libcurl's multi interface (many transfers at
 * once, one slow sink holds no other back), and record the outcomes in
 * batches: sent, retried with backoff (and Retry-After), or dead. A lease
 * that expires (kill -9) makes its row due again: at least once, and
 * receivers deduplicate on Idempotency-Key. Logs carry ids, sinks, codes
 * and counts: never a body, never a secret. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <libpq-fe.h>

#include "http.h"
#include "payload.h"
#include "retry.h"
#include "sg_cli.h"
#include "sg_listen.h"
#include "sg_log.h"
#include "sg_metrics.h"
#include "sg_metrics_http.h"
#include "sg_pg.h"
#include "sg_rand.h"
#include "sg_signal.h"
#include "sg_time.h"
#include "sinks.h"
#include "store.h"

#define PROG "sg-alert"
#define CHANNEL "sg_alert"
#define WAIT_MAX_MS 100     /* longest block, so signals are seen promptly */
#define POLL_MS 1000        /* look for due retries this often */
#define CLAIM_MAX 200       /* rows leased per sink per claim */
#define ORPHANS_MS 60000    /* rows of removed sinks are looked at this often */
#define SECRET_MAX 4096
#define GAUGES_MS 2000      /* sg_alerts' refresh, when served */

/* One leased row, in flight. */
typedef struct alert_flight {
        sg_store_outcome_t oc; /* alert id, sink and attempts from the lease */
        char *body;
        struct alert_flight *prev, *next;
} alert_flight_t;

/* A configuration: the sinks file and the secrets it names. */
typedef struct alert_conf {
        sg_sinks_t sinks;
        char *secret[SG_SINKS_MAX];
        size_t secret_len[SG_SINKS_MAX];
} alert_conf_t;

typedef struct alert_ctx {
        /* What to do */
        const sg_cli_common_t *common;
        const char *sinks_path;
        int route_batch;
        int progress_s;
        int drain_s;
        bool once;

        /* What we have */
        alert_conf_t *conf;
        sg_pg_session_t pg;
        sg_listen_t *listen;
        sg_http_t *http;
        sg_rand_t rnd;
        alert_flight_t *flights; /* in flight */
        int inflight;
        sg_store_outcome_t *out; /* outcomes not yet recorded */
        int nout, out_cap;
        bool fatal;
        bool work_due;

        /* Metrics (README, "Metrics") */
        sg_metric_t *m_deliveries; /* {sink, outcome} */
        sg_series_t *m_states[SG_STORE_NSTATES];
        bool m_served;
        long long m_states_ms;

        /* Counters */
        long long routed, deliveries_made, sent, retried, dead, digested;
        long long digests, notifications;
        long long last_progress_ms;
        long long next_orphans_ms;
} alert_ctx_t;

/* ------------------------------------------------------------ the config */

static void conf_destroy(alert_conf_t *c)
{
        if (!c)
                return;
        for (int i = 0; i < SG_SINKS_MAX; i++) {
                if (c->secret[i]) {
                        /* A freed secret does not linger in the heap. */
                        memset(c->secret[i], 0, c->secret_len[i]);
                        free(c->secret[i]);
                }
        }
        free(c);
}

/* Reads the sinks file and the secrets it names (only: that sink's, for
 * sg-alert test; NULL: all). Returns a new config,
 * or NULL with one line in errstr: "FILE:LINE: what", a missing
 * variable named (never its value). */
static alert_conf_t *conf_load(const char *path, const char *only,
                               char *errstr, size_t errstr_size)
{
        alert_conf_t *c = sg_xcalloc(1, sizeof(*c));

        if (sg_sinks_load(&c->sinks, path, errstr, errstr_size) < 0)
                goto fail;
        for (int i = 0; i < c->sinks.n; i++) {
                const sg_sink_t *k = &c->sinks.sink[i];
                const char *v = getenv(k->secret_env);

                if (only && strcmp(only, k->name) != 0)
                        continue; /* sg-alert test: that sink's secret */
                if (!v || !*v) {
                        snprintf(errstr, errstr_size,
                                 "%s: sink %s: environment variable %s is %s "
                                 "(it holds the sink's HMAC key)",
                                 path, k->name, k->secret_env,
                                 v ? "empty" : "not set");
                        goto fail;
                }
                if (strlen(v) > SECRET_MAX) {
                        snprintf(errstr, errstr_size,
                                 "%s: sink %s: environment variable %s is "
                                 "longer than %d bytes",
                                 path, k->name, k->secret_env, SECRET_MAX);
                        goto fail;
                }
                if (k->ca_file[0] && access(k->ca_file, R_OK) != 0) {
                        snprintf(errstr, errstr_size,
                                 "%s: sink %s: ca_file %s: %s", path, k->name,
                                 k->ca_file, strerror(errno));
                        goto fail;
                }
                c->secret[i] = sg_xstrdup(v);
                c->secret_len[i] = strlen(v);
        }
        return c;
fail:
        conf_destroy(c);
        return NULL;
}

static int conf_sink_index(const alert_conf_t *c, const char *name)
{
        for (int i = 0; i < c->sinks.n; i++)
                if (strcmp(c->sinks.sink[i].name, name) == 0)
                        return i;
        return -1;
}

/* SIGHUP: a good file replaces the config; a bad one is refused, in one
 * line, and the old config stays. Transfers in flight finish as they
 * are. */
static void conf_reload(alert_ctx_t *ctx)
{
        char errstr[1024];
        alert_conf_t *c;

        sg_reload_requested = 0;
        c = conf_load(ctx->sinks_path, NULL, errstr, sizeof(errstr));
        if (!c) {
                sg_error("sinks file refused, the previous sinks stay: %s",
                         errstr);
                return;
        }
        conf_destroy(ctx->conf);
        ctx->conf = c;
        ctx->work_due = true;
        ctx->next_orphans_ms = 0; /* a sink may have gone: look now */
        sg_info("sinks file reloaded path=%s sinks=%d", ctx->sinks_path,
                c->sinks.n);
}

/* ------------------------------------------------------------- database */

static PGconn *db(alert_ctx_t *ctx)
{
        PGconn *conn = sg_pg_session_conn(&ctx->pg);

        ctx->fatal |= ctx->pg.failed;
        return conn;
}

/* The connection if it is up now; NULL (no waiting) otherwise. */
static PGconn *db_now(alert_ctx_t *ctx)
{
        return ctx->pg.conn && PQstatus(ctx->pg.conn) == CONNECTION_OK
                   ? ctx->pg.conn
                   : NULL;
}

static void db_error(alert_ctx_t *ctx, const char *what, const sg_pg_err_t *err)
{
        ctx->fatal |= sg_pg_session_failure(&ctx->pg, what, err);
}

static void metrics_init(alert_ctx_t *ctx, sg_metrics_t *m, bool served)
{
        static const char *const so[] = {"sink", "outcome", NULL};
        static const char *const st[] = {"state", NULL};
        sg_metric_t *f;

        ctx->m_served = served;
        ctx->m_deliveries = sg_metrics_counter(
            m, "sg_alert_deliveries_total",
            "Delivery attempts by sink (of the sinks file; \"removed\": a "
            "sink no longer in it) and outcome (sent, retried, dead).",
            so, (SG_SINKS_MAX + 1) * 3);
        f = sg_metrics_gauge(m, "sg_alerts",
                             "Deliveries in alert_deliveries by state.", st,
                             SG_STORE_NSTATES);
        for (int i = 0; i < SG_STORE_NSTATES; i++)
                ctx->m_states[i] = sg_metric_series1(f, sg_store_states[i]);
}

/* Counts n delivery outcomes of a sink. */
static void count_outcome(alert_ctx_t *ctx, const char *sink,
                          const char *outcome, long long n)
{
        const char *v[2] = {sink, outcome};

        if (n > 0)
                sg_series_add(sg_metric_series(ctx->m_deliveries, v),
                              (double)n);
}

/* sg_alerts, every GAUGES_MS while served, on the connection if it is up
 * (never waiting out an outage: the gauges keep their last values). */
static void update_gauges(alert_ctx_t *ctx, PGconn *conn, long long now)
{
        long long n[SG_STORE_NSTATES];
        sg_pg_err_t err;

        if (!ctx->m_served || !conn || now - ctx->m_states_ms < GAUGES_MS)
                return;
        ctx->m_states_ms = now;
        if (sg_store_count_states(conn, n, &err) < 0) {
                db_error(ctx, "counting deliveries", &err);
                return;
        }
        for (int i = 0; i < SG_STORE_NSTATES; i++)
                sg_series_set(ctx->m_states[i], (double)n[i]);
}

/* Records the outcomes waiting (one statement). They stay queued when
 * the database is away. */
static void record(alert_ctx_t *ctx, PGconn *conn)
{
        sg_pg_err_t err;
        long long aged = 0;

        if (ctx->nout == 0 || !conn)
                return;
        if (sg_store_record(conn, ctx->out, ctx->nout,
                            ctx->conf->sinks.max_age_ms, &aged, &err) < 0) {
                db_error(ctx, "recording outcomes", &err);
                return;
        }
        ctx->dead += aged;
        ctx->retried -= aged;
        ctx->nout = 0;
}

/* ------------------------------------------------------------- delivery */

static int sink_inflight(const alert_ctx_t *ctx, const char *sink)
{
        int n = 0;

        for (const alert_flight_t *f = ctx->flights; f; f = f->next)
                n += strcmp(f->oc.sink, sink) == 0;
        return n;
}

static void flight_unlink(alert_ctx_t *ctx, alert_flight_t *f)
{
        if (f->prev)
                f->prev->next = f->next;
        else
                ctx->flights = f->next;
        if (f->next)
                f->next->prev = f->prev;
        ctx->inflight--;
}

/* Queues an outcome for recording (the queue holds at most what was in
 * flight, so it never grows past the transfers' bound). */
static void queue_outcome(alert_ctx_t *ctx, const sg_store_outcome_t *oc)
{
        if (ctx->nout == ctx->out_cap) {
                ctx->out_cap = ctx->out_cap ? 2 * ctx->out_cap : 256;
                ctx->out = sg_xrealloc(ctx->out,
                                       (size_t)ctx->out_cap * sizeof(*ctx->out));
        }
        ctx->out[ctx->nout++] = *oc;
}

/* A transfer ended: its verdict, and the wait before the next attempt. */
static void on_done(const sg_http_result_t *res, void *arg)
{
        alert_ctx_t *ctx = arg;
        alert_flight_t *f = res->opaque;
        const sg_sinks_t *s = &ctx->conf->sinks;
        sg_store_outcome_t *oc = &f->oc;

        oc->verdict = sg_retry_classify(res->curl_code, res->http_status,
                                        oc->reason);
        oc->http_status = res->http_status;
        if (res->curl_code == CURLE_ABORTED_BY_CALLBACK) {
                /* Our own abort at shutdown: due again at once. */
                oc->verdict = SG_RETRY_AGAIN;
                snprintf(oc->reason, sizeof(oc->reason), "aborted");
                oc->delay_ms = 0;
        } else if (oc->verdict == SG_RETRY_AGAIN) {
                long long b = sg_retry_backoff_ms(oc->attempts,
                                                  s->backoff_min_ms,
                                                  s->backoff_max_ms,
                                                  sg_rand_double(&ctx->rnd));
                oc->delay_ms = sg_retry_delay_ms(b, res->retry_after_ms);
        }
        switch (oc->verdict) {
        case SG_RETRY_SENT:
                ctx->sent++;
                count_outcome(ctx, oc->sink, "sent", 1);
                sg_debug("delivered alert_id=%s sink=%s http=%ld attempt=%d "
                         "ms=%lld",
                         oc->alert_id, oc->sink, res->http_status,
                         oc->attempts, res->elapsed_ms);
                break;
        case SG_RETRY_AGAIN:
                ctx->retried++;
                count_outcome(ctx, oc->sink, "retried", 1);
                sg_debug("delivery failed, will retry alert_id=%s sink=%s "
                         "reason=%s attempt=%d delay_ms=%lld%s",
                         oc->alert_id, oc->sink, oc->reason, oc->attempts,
                         oc->delay_ms,
                         res->retry_after_ms >= 0 ? " retry_after=yes" : "");
                break;
        case SG_RETRY_DEAD:
                ctx->dead++;
                count_outcome(ctx, oc->sink, "dead", 1);
                sg_warn("delivery dead alert_id=%s sink=%s reason=%s "
                        "attempt=%d",
                        oc->alert_id, oc->sink, oc->reason, oc->attempts);
                break;
        }
        queue_outcome(ctx, oc);
        flight_unlink(ctx, f);
        free(f->body);
        free(f);
}

/* A column's value, NULL for SQL NULL. */
static const char *col(const PGresult *res, int row, int c)
{
        return PQgetisnull(res, row, c) ? NULL : PQgetvalue(res, row, c);
}

/* Starts the transfers of one claimed result's rows. A row whose body
 * cannot be made is dead at once (its alert is malformed: counts not a
 * JSON object). */
static void start_rows(alert_ctx_t *ctx, int si, PGresult *res)
{
        const sg_sink_t *k = &ctx->conf->sinks.sink[si];

        for (int i = 0; res && i < PQntuples(res); i++) {
                alert_flight_t *f = sg_xcalloc(1, sizeof(*f));
                sg_payload_alert_t a;
                sg_http_req_t req;
                char errstr[256];

                a.alert_id = col(res, i, SG_STORE_ALERT_ID);
                a.source = col(res, i, SG_STORE_SOURCE);
                a.kind = col(res, i, SG_STORE_KIND);
                a.severity = col(res, i, SG_STORE_SEVERITY);
                a.subject_type = col(res, i, SG_STORE_SUBJECT_TYPE);
                a.subject_id = col(res, i, SG_STORE_SUBJECT_ID);
                a.counts = col(res, i, SG_STORE_COUNTS);
                a.summary = col(res, i, SG_STORE_SUMMARY);
                a.created_at = col(res, i, SG_STORE_CREATED_AT);
                a.cause_at = col(res, i, SG_STORE_CAUSE_AT);
                snprintf(f->oc.alert_id, sizeof(f->oc.alert_id), "%s",
                         a.alert_id);
                snprintf(f->oc.sink, sizeof(f->oc.sink), "%s", k->name);
                f->oc.attempts = atoi(PQgetvalue(res, i, SG_STORE_ATTEMPTS));
                snprintf(f->oc.reason, sizeof(f->oc.reason), "%s",
                         PQgetvalue(res, i, SG_STORE_LAST_ERROR));
                f->body = sg_payload_body(&a, errstr, sizeof(errstr));
                memset(&req, 0, sizeof(req));
                req.url = k->url;
                req.ca_file = k->ca_file;
                req.connect_timeout_ms = (long)ctx->conf->sinks.connect_timeout_ms;
                req.timeout_ms = (long)ctx->conf->sinks.timeout_ms;
                req.body = f->body;
                req.body_len = f->body ? strlen(f->body) : 0;
                req.alert_id = f->oc.alert_id;
                req.secret = ctx->conf->secret[si];
                req.secret_len = ctx->conf->secret_len[si];
                req.opaque = f;
                if (!f->body ||
                    sg_http_add(ctx->http, &req, errstr, sizeof(errstr)) < 0) {
                        sg_warn("delivery not started alert_id=%s sink=%s "
                                "reason=\"%s\"",
                                f->oc.alert_id, k->name, errstr);
                        f->oc.verdict = f->body ? SG_RETRY_AGAIN : SG_RETRY_DEAD;
                        f->oc.delay_ms = ctx->conf->sinks.backoff_min_ms;
                        snprintf(f->oc.reason, sizeof(f->oc.reason), "%s",
                                 f->body ? "local" : "bad_alert");
                        if (f->body)
                                ctx->retried++;
                        else
                                ctx->dead++;
                        count_outcome(ctx, k->name,
                                      f->body ? "retried" : "dead", 1);
                        queue_outcome(ctx, &f->oc);
                        free(f->body);
                        free(f);
                        continue;
                }
                f->next = ctx->flights;
                if (ctx->flights)
                        ctx->flights->prev = f;
                ctx->flights = f;
                ctx->inflight++;
        }
}

/* Routes what is unrouted, then claims each sink's due rows within its
 * room for transfers. Returns true when more may be due now (a batch or
 * a claim was full, a digest was made). */
static bool work(alert_ctx_t *ctx, PGconn *conn)
{
        const sg_sinks_t *s = &ctx->conf->sinks;
        sg_pg_err_t err;
        bool more = false;
        int r;

        for (;;) {
                long long made = 0;

                r = sg_store_route(conn, s, ctx->route_batch, &made, &err);
                if (r < 0) {
                        db_error(ctx, "routing", &err);
                        return !ctx->fatal;
                }
                ctx->routed += r;
                ctx->deliveries_made += made;
                if (r < ctx->route_batch || sg_stop_requested)
                        break;
        }
        if (sg_time_mono_ms() >= ctx->next_orphans_ms) {
                long long n = sg_store_orphans(conn, s, &err);
                if (n < 0) {
                        db_error(ctx, "expiring the rows of removed sinks",
                                 &err);
                        return !ctx->fatal;
                }
                if (n > 0)
                        sg_warn("deliveries dead: their sink is no longer in "
                                "the sinks file rows=%lld",
                                n);
                ctx->dead += n;
                count_outcome(ctx, "removed", "dead", n);
                ctx->next_orphans_ms = sg_time_mono_ms() + ORPHANS_MS;
        }
        for (int i = 0; i < s->n && !sg_stop_requested; i++) {
                const sg_sink_t *k = &s->sink[i];
                int room = s->max_in_flight - sink_inflight(ctx, k->name);
                sg_store_claim_t cl;
                int got;

                if (room <= 0) {
                        more = true; /* a slot that frees brings us back */
                        continue;
                }
                if (room > CLAIM_MAX)
                        room = CLAIM_MAX;
                if (sg_store_claim(conn, s, k, room, &cl, &err) < 0) {
                        db_error(ctx, "claiming deliveries", &err);
                        return !ctx->fatal;
                }
                got = (cl.res[0] ? PQntuples(cl.res[0]) : 0) +
                      (cl.res[1] ? PQntuples(cl.res[1]) : 0);
                start_rows(ctx, i, cl.res[0]);
                start_rows(ctx, i, cl.res[1]);
                PQclear(cl.res[0]);
                PQclear(cl.res[1]);
                if (cl.expired > 0) {
                        ctx->dead += cl.expired;
                        count_outcome(ctx, k->name, "dead", cl.expired);
                        sg_warn("deliveries dead of max_age sink=%s rows=%lld",
                                k->name, cl.expired);
                }
                if (cl.digest) {
                        ctx->digested += cl.digested;
                        ctx->digests++;
                        sg_info("throttled: digest made sink=%s folded=%lld "
                                "rate_per_minute=%d",
                                k->name, cl.digested, k->rate_per_minute);
                        more = true; /* the digest's own row is due */
                }
                if (got >= room && !cl.throttled)
                        more = true;
        }
        return more;
}

static void progress(alert_ctx_t *ctx, long long now, bool final)
{
        long long due = -1, leased = -1;
        char backlog[80] = "";
        sg_pg_err_t err;
        PGconn *conn = db_now(ctx);

        if (conn && sg_store_backlog(conn, &due, &leased, &err) == 0)
                snprintf(backlog, sizeof(backlog), " due=%lld leased=%lld",
                         due, leased);
        sg_info("%s routed=%lld deliveries=%lld sent=%lld retried=%lld "
                "dead=%lld digested=%lld digests=%lld in_flight=%d "
                "unrecorded=%d notifications=%lld%s",
                final ? "final" : "progress", ctx->routed,
                ctx->deliveries_made, ctx->sent, ctx->retried, ctx->dead,
                ctx->digested, ctx->digests, ctx->inflight, ctx->nout,
                ctx->notifications, backlog);
        ctx->last_progress_ms = now;
}

/* The loop: route and claim when notified, when a claim was full, and
 * every POLL_MS; move transfers on; record outcomes; block at most
 * WAIT_MAX_MS, on the transfers and the LISTEN socket at once. */
static void run(alert_ctx_t *ctx)
{
        long long now = sg_time_mono_ms();
        long long next_poll = now;
        long long next_progress = now + ctx->progress_s * 1000LL;

        ctx->work_due = true;
        while (!sg_stop_requested && !ctx->fatal) {
                PGconn *conn;
                int timeout, r;

                if (sg_reload_requested)
                        conf_reload(ctx);
                now = sg_time_mono_ms();
                if (now >= next_poll) {
                        ctx->work_due = true;
                        next_poll = now + POLL_MS;
                }
                /* Transfers in flight are never held up by an outage:
                 * wait one out only when nothing is in flight. */
                conn = ctx->inflight > 0 ? db_now(ctx) : NULL;
                if (!conn && ctx->inflight == 0 &&
                    (ctx->work_due || ctx->nout > 0))
                        conn = db(ctx);
                if (ctx->fatal)
                        break;
                record(ctx, conn);
                if (ctx->work_due && conn && !ctx->fatal) {
                        conn = db_now(ctx);
                        ctx->work_due = conn ? work(ctx, conn) : true;
                }
                now = sg_time_mono_ms();
                update_gauges(ctx, conn ? db_now(ctx) : NULL, now);
                if (now >= next_progress) {
                        progress(ctx, now, false);
                        next_progress = now + ctx->progress_s * 1000LL;
                }
                if (ctx->once && !ctx->work_due && ctx->inflight == 0 &&
                    ctx->nout == 0)
                        break;
                timeout = (int)(next_poll - sg_time_mono_ms());
                if (ctx->work_due || ctx->nout > 0)
                        timeout = ctx->inflight > 0 ? 1 : 0;
                if (timeout > WAIT_MAX_MS)
                        timeout = WAIT_MAX_MS;
                if (timeout < 0)
                        timeout = 0;
                (void)sg_http_poll(ctx->http, timeout,
                                   sg_listen_socket(ctx->listen), on_done, ctx);
                if (!ctx->listen)
                        continue;
                r = sg_listen_wait(ctx->listen, 0);
                if (r == -1) {
                        ctx->fatal = sg_listen_failed(ctx->listen);
                        break;
                }
                if (r == SG_LISTEN_RECONNECTED) {
                        ctx->work_due = true;
                } else if (r > 0) {
                        ctx->notifications += r;
                        ctx->work_due = true;
                }
        }
}

/* Stop: no more leases; transfers in flight get up to drain_s to end,
 * then are aborted (due again at once); outcomes are recorded with one
 * attempt at the database (what is not recorded is sent again once its
 * lease expires: at least once). */
static void drain(alert_ctx_t *ctx)
{
        long long until = sg_time_mono_ms() + ctx->drain_s * 1000LL;

        if (ctx->inflight > 0)
                sg_info("draining in_flight=%d timeout_s=%d", ctx->inflight,
                        ctx->drain_s);
        while (ctx->inflight > 0 && sg_time_mono_ms() < until)
                (void)sg_http_poll(ctx->http, WAIT_MAX_MS, -1, on_done, ctx);
        if (ctx->inflight > 0) {
                sg_warn("drain timeout: aborting in_flight=%d (due again at "
                        "once)",
                        ctx->inflight);
                sg_http_abort_all(ctx->http, on_done, ctx);
        }
        if (ctx->nout > 0 && !db_now(ctx)) {
                sg_pg_err_t err;

                sg_pg_session_drop(&ctx->pg);
                ctx->pg.conn = sg_pg_open(ctx->pg.conninfo, PROG, &err);
        }
        record(ctx, db_now(ctx));
        if (ctx->nout > 0)
                sg_warn("outcomes not recorded rows=%d: they will be sent "
                        "again once their leases expire",
                        ctx->nout);
}

/* ------------------------------------------------------------ test sink */

/* sg-alert test --sink NAME: one test alert's body, signed, to that
 * sink, without the database. Prints one line; 0 on 2xx. */
typedef struct test_result {
        bool done;
        sg_http_result_t res;
} test_result_t;

static void test_done(const sg_http_result_t *res, void *arg)
{
        test_result_t *t = arg;

        t->done = true;
        t->res = *res;
}

static int test_sink(alert_ctx_t *ctx, const char *name)
{
        int si = conf_sink_index(ctx->conf, name);
        const sg_sink_t *k;
        char id[SG_UUID_LEN + 1], now_s[28], summary[160], errstr[256];
        char reason[SG_RETRY_REASON_MAX];
        sg_payload_alert_t a;
        sg_http_req_t req;
        test_result_t t;
        char *body;
        int rc = 1;

        if (si < 0) {
                fprintf(stderr, "%s: no sink '%s' in %s\n", PROG, name,
                        ctx->sinks_path);
                return 1;
        }
        k = &ctx->conf->sinks.sink[si];
        sg_rand_uuid(&ctx->rnd, id);
        sg_time_format_rfc3339(sg_time_wall_us(), now_s);
        snprintf(summary, sizeof(summary),
                 "test alert from sg-alert to sink %s", k->name);
        memset(&a, 0, sizeof(a));
        a.alert_id = id;
        a.source = "test";
        a.kind = "test";
        a.severity = "low";
        a.subject_type = "sink";
        a.subject_id = k->name;
        a.counts = "{}";
        a.summary = summary;
        a.created_at = now_s;
        a.cause_at = now_s;
        body = sg_payload_body(&a, errstr, sizeof(errstr));
        if (!body) {
                fprintf(stderr, "%s: %s\n", PROG, errstr);
                return 1;
        }
        memset(&req, 0, sizeof(req));
        req.url = k->url;
        req.ca_file = k->ca_file;
        req.connect_timeout_ms = (long)ctx->conf->sinks.connect_timeout_ms;
        req.timeout_ms = (long)ctx->conf->sinks.timeout_ms;
        req.body = body;
        req.body_len = strlen(body);
        req.alert_id = id;
        req.secret = ctx->conf->secret[si];
        req.secret_len = ctx->conf->secret_len[si];
        memset(&t, 0, sizeof(t));
        if (sg_http_add(ctx->http, &req, errstr, sizeof(errstr)) < 0) {
                fprintf(stderr, "%s: sink %s: %s\n", PROG, k->name, errstr);
                free(body);
                return 1;
        }
        while (!t.done)
                (void)sg_http_poll(ctx->http, WAIT_MAX_MS, -1, test_done, &t);
        switch (sg_retry_classify(t.res.curl_code, t.res.http_status,
                                  reason)) {
        case SG_RETRY_SENT:
                printf("sink %s: HTTP %ld in %lld ms\n", k->name,
                       t.res.http_status, t.res.elapsed_ms);
                rc = 0;
                break;
        case SG_RETRY_AGAIN:
        case SG_RETRY_DEAD:
                if (t.res.http_status > 0)
                        printf("sink %s: HTTP %ld in %lld ms (%s)\n", k->name,
                               t.res.http_status, t.res.elapsed_ms,
                               t.res.http_status >= 300 &&
                                       t.res.http_status < 500 &&
                                       t.res.http_status != 408 &&
                                       t.res.http_status != 429
                                   ? "refused: would be dead"
                                   : "would be retried");
                else
                        printf("sink %s: %s failure after %lld ms (%s; "
                               "would be retried)\n",
                               k->name, reason, t.res.elapsed_ms,
                               curl_easy_strerror((CURLcode)t.res.curl_code));
                break;
        }
        fflush(stdout);
        free(body);
        return rc;
}

/* ----------------------------------------------------------------- main */

int main(int argc, char **argv)
{
        char default_sinks[1024], errstr[1024];
        const char *test_name = NULL;
        sg_cli_common_t common;
        alert_ctx_t ctx;
        sg_metrics_conf_t mc;
        sg_opt_t metrics_opts[2];
        sg_metrics_t *metrics = NULL;
        sg_metrics_http_t *mhttp = NULL;
        int st, first = 0, rc;

        memset(&ctx, 0, sizeof(ctx));
        snprintf(default_sinks, sizeof(default_sinks), "%s/alert.sinks",
                 SG_CONFIG_DIR);
        ctx.common = &common;
        ctx.sinks_path = default_sinks;
        ctx.route_batch = 500;
        ctx.progress_s = 10;
        ctx.drain_s = 10;
        const sg_opt_t opts[] = {
            {.name = "sinks", .kind = SG_OPT_STRING, .dest = &ctx.sinks_path,
             .arg = "FILE",
             .help = "the sinks file (docs/alerts.md); SIGHUP reads it"
                     "\nagain"},
            {.name = "once", .kind = SG_OPT_FLAG, .dest = &ctx.once,
             .help = "route and deliver what is due now, wait for the"
                     "\ntransfers, then exit 0 (cron)"},
            {.name = "batch-size", .kind = SG_OPT_INT, .dest = &ctx.route_batch,
             .arg = "N", .min = 1, .max = 10000,
             .help = "alerts routed per statement"},
            {.name = "drain-timeout", .kind = SG_OPT_INT, .dest = &ctx.drain_s,
             .arg = "SECONDS", .min = 0, .max = 3600, .unit = "s",
             .help = "at SIGTERM/SIGINT, wait this long for transfers in"
                     "\nflight"},
            {.name = "progress-interval", .kind = SG_OPT_INT,
             .dest = &ctx.progress_s, .arg = "SECONDS", .min = 1, .max = 3600,
             .unit = "s", .help = "progress line period"},
            {.name = "sink", .kind = SG_OPT_STRING, .dest = &test_name,
             .arg = "NAME", .help = "with the command test: the sink to send to"},
            SG_OPT_END,
        };
        sg_metrics_conf_init(&mc);
        sg_metrics_opts(&mc, metrics_opts);
        const sg_cli_t cli = {
            .prog = PROG,
            .synopsis = "[options]\n       " PROG " test --sink NAME [--sinks FILE]",
            .about = "Delivers alerts (the alerts table) to HTTP sinks: routes "
                     "each alert to the sinks\nof the sinks file that want it, "
                     "POSTs its JSON body signed with HMAC-SHA256,\nretries "
                     "with backoff (and Retry-After), throttles each sink "
                     "(excess folded into\none digest a minute), at least "
                     "once: receivers deduplicate on Idempotency-Key.\n"
                     "The command test sends one test alert to a sink "
                     "without the database and\nprints the outcome (exit 0 "
                     "on 2xx).",
            .tables = {opts, metrics_opts},
            .titles = {NULL, "Metrics"},
            .epilog = "Each sink's HMAC key is in the environment variable its "
                      "secret_env names; it is\nnever in the file, argv or the "
                      "logs. Connects as sg_writer by default; --brokers,\n"
                      "-X and --topic are not used here.",
            .max_args = 1,
        };

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, &first);
        if (st != SG_CLI_RUN)
                return st;
        if (first < argc && strcmp(argv[first], "test") != 0)
                return sg_cli_usage_error(&cli, "unknown command '%s' (the "
                                                "one command is test)",
                                          argv[first]);
        if (first < argc && !test_name)
                return sg_cli_usage_error(&cli, "test needs --sink NAME");
        if (first >= argc && test_name)
                return sg_cli_usage_error(&cli, "--sink goes with the command "
                                                "test");
        if (first < argc && ctx.once)
                return sg_cli_usage_error(&cli, "--once does not go with test");
        if (first < argc && mc.listen)
                return sg_cli_usage_error(&cli, "--metrics-listen does not go "
                                                "with test");
        sg_signal_install_reload();
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
                fprintf(stderr, "%s: libcurl: global init failed\n", PROG);
                return 1;
        }
        sg_rand_init(&ctx.rnd, (uint64_t)sg_time_wall_us() ^ (uint64_t)getpid(),
                     (uint64_t)getpid());
        ctx.conf = conf_load(ctx.sinks_path, test_name, errstr, sizeof(errstr));
        if (!ctx.conf) {
                fprintf(stderr, "%s: %s\n", PROG, errstr);
                curl_global_cleanup();
                return 1;
        }
        ctx.http = sg_http_new(errstr, sizeof(errstr));
        if (!ctx.http) {
                fprintf(stderr, "%s: %s\n", PROG, errstr);
                conf_destroy(ctx.conf);
                curl_global_cleanup();
                return 1;
        }
        if (test_name) {
                rc = test_sink(&ctx, test_name);
                sg_http_destroy(ctx.http);
                conf_destroy(ctx.conf);
                curl_global_cleanup();
                return rc;
        }

        metrics = sg_metrics_new();
        metrics_init(&ctx, metrics, mc.listen != NULL);
        if (sg_metrics_serve(&mc, metrics, &mhttp) != 0) {
                ctx.fatal = true;
                goto out_metrics;
        }
        sg_pg_session_init(&ctx.pg, &common, "sg_writer", PROG);
        if (sg_listen_start(&ctx.pg, &common, CHANNEL, ctx.once, &ctx.listen,
                            &ctx.fatal) < 0)
                goto out;
        sg_info("started mode=%s sinks=%d path=%s max_in_flight=%d "
                "timeout_ms=%lld lease_ms=%lld max_age_ms=%lld",
                ctx.once ? "once" : "daemon", ctx.conf->sinks.n,
                ctx.sinks_path, ctx.conf->sinks.max_in_flight,
                ctx.conf->sinks.timeout_ms, ctx.conf->sinks.lease_ms,
                ctx.conf->sinks.max_age_ms);
        ctx.last_progress_ms = sg_time_mono_ms();
        run(&ctx);
        if (sg_stop_requested)
                sg_info("stop requested: finishing");
        drain(&ctx);

out:
        progress(&ctx, sg_time_mono_ms(), true);
        sg_info("exit status=%d", ctx.fatal ? 1 : 0);
        sg_listen_close(ctx.listen);
        sg_pg_session_close(&ctx.pg);
out_metrics:
        sg_metrics_http_stop(mhttp);
        sg_metrics_destroy(metrics);
        sg_http_destroy(ctx.http);
        conf_destroy(ctx.conf);
        free(ctx.out);
        curl_global_cleanup();
        return ctx.fatal ? 1 : 0;
}
