/* sg-api's server (api/server.h).
 *
 * Threads and who waits where:
 *  - libmicrohttpd runs a pool of --threads epoll threads. They never
 *    block on PostgreSQL or Kafka: a request that must wait suspends its
 *    connection (MHD_suspend_connection) and whoever finishes the wait
 *    resumes it (MHD_resume_connection); the next call of the access
 *    handler sends the answer.
 *  - POST /events is validated and masked in the HTTP thread, produced
 *    (RD_KAFKA_MSG_F_COPY), and its connection suspended until the last
 *    delivery report of its events arrives (the poller thread serves
 *    them) or --ack-timeout passes (the poller thread checks deadlines).
 *  - Requests that need PostgreSQL (queries, privacy requests, readiness)
 *    go to a queue served by --db-workers threads, one connection each.
 *  - One database thread reloads the tokens (every 500 ms), records their
 *    last use and writes the access log in batches.
 * Every request ends in on_completed: one access-log row, the metrics,
 * and the request's memory freed. */

#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "access_log.h"
#include "auth.h"
#include "email.h"
#include "ingest.h"
#include "metrics.h"
#include "queries.h"
#include "routes.h"
#include "sg_buf.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_metrics_http.h"
#include "sg_pg.h"
#include "sg_signal.h"
#include "sg_time.h"

#define PROG "sg-api"
#define HEADERS_MAX (16 * 1024)     /* request headers in all (docs/api.md) */
#define CONN_MEMORY (64 * 1024)     /* MHD's per-connection pool */
#define STATIC_MAX (8 * 1024 * 1024) /* largest file served */
#define ARGS_MAX 24                 /* query-string arguments kept */
#define ARG_MAX 512                 /* bytes of one name or value */
#define PARAM_MAX 256               /* a path parameter */
#define EMAIL_MAX 254
#define RETRY_AFTER_S 5
#define ACCESS_QUEUE_MAX 200000
#define DB_RETRY_MS 1000
#define DRAIN_SLACK_MS 2000

typedef struct api_ctx api_ctx_t;
typedef struct batch batch_t;

/* One request, from its first call to on_completed. */
typedef struct api_req {
        api_ctx_t *ctx;
        struct MHD_Connection *conn;
        const sg_api_route_t *route;
        char param[PARAM_MAX];
        char method[8];
        long long t0_us; /* monotonic */
        char token_name[SG_API_TOKEN_NAME_MAX + 1];
        sg_api_role_t role;
        int answered; /* the status queued; 0: none yet */

        /* The body (POST) */
        sg_buf_t body;
        bool body_over;
        size_t discarded; /* bytes read past the bound */
        sg_api_body_kind_t kind;
        long long body_deadline_ms;

        /* Query-string arguments, copied in the HTTP thread */
        int nargs;
        char *arg_name[ARGS_MAX];
        char *arg_value[ARGS_MAX];

        /* A suspended request's answer, set by whoever resumes it */
        bool waiting;
        atomic_bool ready;
        int status;
        char *resp; /* malloc'd; handed to MHD */
        size_t resp_len;
        const char *ctype;
        int retry_after;

        /* POST /events */
        sg_api_ingest_t ingest;
        batch_t *batch;

        /* POST /privacy-requests */
        char email[EMAIL_MAX + 1];
        const char *pr_kind;

        struct api_req *jnext; /* the workers' queue */
} api_req_t;

/* The delivery reports of one POST /events. refs: one for the reports
 * (dropped when pending reaches 0), one for the request (dropped in
 * on_completed). Under ctx->klock: req (NULL once answered), the links of
 * the waiting list, done, refs. */
struct batch {
        batch_t *prev, *next;
        api_req_t *req;
        atomic_int pending;
        atomic_bool failed;
        _Atomic int err; /* the first failure's rd_kafka_resp_err_t */
        long long deadline_ms;
        bool done;
        int refs;
};

typedef struct worker {
        api_ctx_t *ctx;
        pthread_t thread;
        PGconn *conn;
        long long retry_ms;
        bool down_logged;
} worker_t;

struct api_ctx {
        const sg_api_conf_t *conf;
        struct MHD_Daemon *d;
        char conninfo[1024];
        char *tls_cert, *tls_key;
        bool fatal;

        sg_api_tokens_t *tokens;
        sg_api_limiter_t *limiter;
        sg_api_access_log_t *alog;
        sg_metrics_t *metrics;

        /* Kafka */
        rd_kafka_t *rk;
        rd_kafka_topic_t *rkt;
        pthread_t poller;
        atomic_bool poller_stop;
        pthread_mutex_t klock;
        batch_t waiting; /* list head of batches whose request waits */

        /* Database workers */
        worker_t *workers;
        int nworkers;
        pthread_mutex_t jlock;
        pthread_cond_t jcond;
        api_req_t *jhead, *jtail;
        bool jstop;

        /* Database thread */
        pthread_t dbt;
        atomic_bool db_stop;
        PGconn *dbconn;

        /* Counters */
        atomic_int inflight;
        atomic_llong requests;
        atomic_llong events_accepted;
        atomic_llong events_refused; /* answered 503 */
};

/* ------------------------------------------------------------ answers */

static const char *reason_phrase(int status)
{
        switch (status) {
        case 200: return "OK";
        case 202: return "Accepted";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 408: return "Request Timeout";
        case 413: return "Payload Too Large";
        case 415: return "Unsupported Media Type";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Error";
        }
}

static void add_common_headers(struct MHD_Response *r, const char *ctype,
                               bool api)
{
        MHD_add_response_header(r, "Content-Type", ctype);
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'");
        MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(r, "Cache-Control",
                                api ? "no-store" : "no-cache");
}

/* Queues an answer. body: malloc'd (taken over) or NULL. */
static enum MHD_Result answer_ex(api_req_t *rq, int status, const char *ctype,
                                 char *body, size_t len, bool api,
                                 int retry_after, const char *hname,
                                 const char *hvalue)
{
        struct MHD_Response *r;
        enum MHD_Result ret;
        char ra[16];

        r = body ? MHD_create_response_from_buffer(len, body,
                                                   MHD_RESPMEM_MUST_FREE)
                 : MHD_create_response_from_buffer(0, (void *)"",
                                                   MHD_RESPMEM_PERSISTENT);
        if (!r) {
                free(body);
                return MHD_NO;
        }
        add_common_headers(r, ctype, api);
        if (retry_after > 0) {
                snprintf(ra, sizeof(ra), "%d", retry_after);
                MHD_add_response_header(r, "Retry-After", ra);
        }
        if (hname)
                MHD_add_response_header(r, hname, hvalue);
        ret = MHD_queue_response(rq->conn, (unsigned)status, r);
        MHD_destroy_response(r);
        if (ret == MHD_YES)
                rq->answered = status;
        return ret;
}

static char *json_text(json_t *j, size_t *len)
{
        char *s = json_dumps(j, JSON_COMPACT);

        if (!s)
                sg_oom("json_dumps");
        *len = strlen(s);
        return s;
}

/* An RFC 9457 problem document; extra (may be NULL) is merged in and
 * released. detail never holds a submitted value. */
static char *problem_text(int status, const char *code, const char *detail,
                          json_t *extra, size_t *len)
{
        char type[128];
        json_t *j;
        char *s;

        snprintf(type, sizeof(type), "https://streamguard.dev/problems/%s",
                 code);
        j = json_pack("{s:s, s:s, s:i, s:s, s:s}", "type", type, "title",
                      reason_phrase(status), "status", status, "detail",
                      detail ? detail : "", "code", code);
        if (!j)
                sg_oom("json_pack");
        if (extra) {
                json_object_update(j, extra);
                json_decref(extra);
        }
        s = json_text(j, len);
        json_decref(j);
        return s;
}

static enum MHD_Result problem_ex(api_req_t *rq, int status, const char *code,
                                  const char *detail, int retry_after,
                                  const char *hname, const char *hvalue)
{
        size_t len;
        char *s = problem_text(status, code, detail, NULL, &len);

        return answer_ex(rq, status, "application/problem+json", s, len, true,
                         retry_after, hname, hvalue);
}

static enum MHD_Result problem(api_req_t *rq, int status, const char *code,
                               const char *detail)
{
        return problem_ex(rq, status, code, detail,
                          status == 503 ? RETRY_AFTER_S : 0, NULL, NULL);
}

static enum MHD_Result answer_json(api_req_t *rq, int status, json_t *j)
{
        size_t len;
        char *s = json_text(j, &len);

        json_decref(j);
        return answer_ex(rq, status, "application/json", s, len, true, 0, NULL,
                         NULL);
}

/* Sets a suspended request's answer (a problem document). */
static void set_problem(api_req_t *rq, int status, const char *code,
                        const char *detail)
{
        rq->status = status;
        rq->resp = problem_text(status, code, detail, NULL, &rq->resp_len);
        rq->ctype = "application/problem+json";
        rq->retry_after = status == 503 ? RETRY_AFTER_S : 0;
}

static void set_json(api_req_t *rq, int status, json_t *j)
{
        rq->status = status;
        rq->resp = json_text(j, &rq->resp_len);
        rq->ctype = "application/json";
        json_decref(j);
}

/* Hands a suspended request back to its HTTP thread. */
static void wake(api_req_t *rq)
{
        atomic_store_explicit(&rq->ready, true, memory_order_release);
        MHD_resume_connection(rq->conn);
}

/* ------------------------------------------------------------ requests */

static api_req_t *req_new(api_ctx_t *ctx, struct MHD_Connection *conn,
                          const char *method)
{
        static const char *const known[] = {"GET",    "HEAD",  "POST",
                                            "PUT",    "DELETE", "PATCH",
                                            "OPTIONS", NULL};
        api_req_t *rq = sg_xcalloc(1, sizeof(*rq));

        rq->ctx = ctx;
        rq->conn = conn;
        {
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                rq->t0_us = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        }
        snprintf(rq->method, sizeof(rq->method), "OTHER");
        for (int i = 0; known[i]; i++)
                if (strcmp(method, known[i]) == 0)
                        snprintf(rq->method, sizeof(rq->method), "%s", known[i]);
        sg_buf_init(&rq->body);
        return rq;
}

static void batch_release(api_ctx_t *ctx, batch_t *b, bool from_req);

static void req_free(api_req_t *rq)
{
        if (!rq)
                return;
        if (rq->batch)
                batch_release(rq->ctx, rq->batch, true);
        sg_api_ingest_fini(&rq->ingest);
        if (rq->body.data)
                OPENSSL_cleanse(rq->body.data, rq->body.cap);
        sg_buf_fini(&rq->body);
        OPENSSL_cleanse(rq->email, sizeof(rq->email));
        for (int i = 0; i < rq->nargs; i++) {
                free(rq->arg_name[i]);
                free(rq->arg_value[i]);
        }
        free(rq->resp);
        free(rq);
}

static enum MHD_Result copy_arg(void *cls, enum MHD_ValueKind kind,
                                const char *key, const char *value)
{
        api_req_t *rq = cls;

        (void)kind;
        if (rq->nargs >= ARGS_MAX)
                return MHD_NO;
        if (!key || strlen(key) > ARG_MAX || (value && strlen(value) > ARG_MAX))
                return MHD_YES; /* too long to be valid: left out */
        rq->arg_name[rq->nargs] = sg_xstrdup(key);
        rq->arg_value[rq->nargs] = sg_xstrdup(value ? value : "");
        rq->nargs++;
        return MHD_YES;
}

/* The query handlers' accessor: the first argument of that name. */
static const char *req_arg(void *cls, const char *name)
{
        api_req_t *rq = cls;

        for (int i = 0; i < rq->nargs; i++)
                if (strcmp(rq->arg_name[i], name) == 0)
                        return rq->arg_value[i];
        return NULL;
}

static double elapsed_s(const api_req_t *rq)
{
        struct timespec ts;
        long long now;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
        return (double)(now - rq->t0_us) / 1e6;
}

static void on_completed(void *cls, struct MHD_Connection *conn,
                         void **req_cls, enum MHD_RequestTerminationCode toe)
{
        api_ctx_t *ctx = cls;
        api_req_t *rq = *req_cls;
        sg_api_access_row_t row;
        double secs;

        (void)conn;
        if (!rq)
                return;
        *req_cls = NULL;
        secs = elapsed_s(rq);
        memset(&row, 0, sizeof(row));
        row.at_us = sg_time_wall_us();
        snprintf(row.token_name, sizeof(row.token_name), "%s", rq->token_name);
        snprintf(row.role, sizeof(row.role), "%s", sg_api_role_name(rq->role));
        snprintf(row.method, sizeof(row.method), "%s", rq->method);
        row.route = rq->route ? rq->route->path : NULL;
        /* No answer was queued: the client went away (499, as nginx
         * counts it) or was too slow (408). */
        row.status = rq->answered ? rq->answered
                     : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? 408
                                                                     : 499;
        row.duration_ms = secs * 1000.0;
        sg_api_access_log_add(ctx->alog, &row);
        sg_api_metrics_observe(row.route, row.status, secs);
        atomic_fetch_add(&ctx->requests, 1);
        req_free(rq);
        atomic_fetch_sub(&ctx->inflight, 1);
}

/* ------------------------------------------------------------ Kafka */

/* Lock held. */
static void batch_unlink(api_ctx_t *ctx, batch_t *b)
{
        (void)ctx;
        if (b->prev) {
                b->prev->next = b->next;
                if (b->next)
                        b->next->prev = b->prev;
                b->prev = b->next = NULL;
        }
}

static void batch_release(api_ctx_t *ctx, batch_t *b, bool from_req)
{
        bool last;

        pthread_mutex_lock(&ctx->klock);
        if (from_req && b->req) {
                b->req = NULL;
                batch_unlink(ctx, b);
        }
        last = --b->refs == 0;
        pthread_mutex_unlock(&ctx->klock);
        if (last)
                free(b);
}

/* The answer of a request whose events all have their reports. */
static void events_answer(api_req_t *rq, bool failed, int err)
{
        sg_api_ingest_t *in = &rq->ingest;
        sg_buf_t b;

        if (failed) {
                char detail[160];
                snprintf(detail, sizeof(detail),
                         "the broker did not acknowledge every event (%s); "
                         "send them again",
                         rd_kafka_err2name((rd_kafka_resp_err_t)err));
                set_problem(rq, 503, "unavailable", detail);
                atomic_fetch_add(&rq->ctx->events_refused, in->n);
                return;
        }
        sg_buf_init(&b);
        sg_buf_puts(&b, "{\"accepted\":");
        sg_buf_put_int(&b, in->n);
        sg_buf_puts(&b, ",\"event_ids\":[");
        for (int i = 0; i < in->n; i++) {
                sg_buf_puts(&b, i ? ",\"" : "\"");
                sg_buf_puts(&b, in->items[i].event_id);
                sg_buf_putc(&b, '"');
        }
        sg_buf_puts(&b, "]}");
        rq->status = 202;
        rq->resp = b.data; /* taken over */
        rq->resp_len = b.len;
        rq->ctype = "application/json";
        atomic_fetch_add(&rq->ctx->events_accepted, in->n);
}

/* The last report of b arrived (any thread). */
static void batch_settle(api_ctx_t *ctx, batch_t *b)
{
        api_req_t *rq;
        bool last;

        pthread_mutex_lock(&ctx->klock);
        b->done = true;
        rq = b->req;
        if (rq) {
                b->req = NULL;
                batch_unlink(ctx, b);
                events_answer(rq, atomic_load(&b->failed),
                              atomic_load(&b->err));
                wake(rq);
        }
        last = --b->refs == 0;
        pthread_mutex_unlock(&ctx->klock);
        if (last)
                free(b);
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm, void *opaque)
{
        api_ctx_t *ctx = opaque;
        batch_t *b = rkm->_private;

        (void)rk;
        if (!b)
                return;
        if (rkm->err) {
                int zero = 0;
                atomic_compare_exchange_strong(&b->err, &zero, (int)rkm->err);
                atomic_store(&b->failed, true);
        }
        if (atomic_fetch_sub(&b->pending, 1) == 1)
                batch_settle(ctx, b);
}

/* Answers 503 to the requests whose acknowledgements are late. */
static void expire_batches(api_ctx_t *ctx, long long now_ms)
{
        pthread_mutex_lock(&ctx->klock);
        for (batch_t *b = ctx->waiting.next, *next; b; b = next) {
                next = b->next;
                if (now_ms < b->deadline_ms)
                        continue;
                api_req_t *rq = b->req;
                b->req = NULL;
                batch_unlink(ctx, b);
                set_problem(rq, 503, "unavailable",
                            "the broker did not acknowledge the events in "
                            "time; send them again");
                atomic_fetch_add(&ctx->events_refused, rq->ingest.n);
                wake(rq);
        }
        pthread_mutex_unlock(&ctx->klock);
}

static void *poller_main(void *arg)
{
        api_ctx_t *ctx = arg;

        while (!atomic_load(&ctx->poller_stop)) {
                rd_kafka_poll(ctx->rk, 20);
                expire_batches(ctx, sg_time_mono_ms());
                sg_kafka_watch(ctx->rk);
        }
        return NULL;
}

/* Produces the request's events and suspends it until their reports. */
static enum MHD_Result events_produce(api_req_t *rq)
{
        api_ctx_t *ctx = rq->ctx;
        sg_api_ingest_t *in = &rq->ingest;
        batch_t *b = sg_xcalloc(1, sizeof(*b));
        rd_kafka_resp_err_t refused = RD_KAFKA_RESP_ERR_NO_ERROR;
        int queued = 0, release;

        /* The extra one keeps the batch open while we produce. */
        atomic_init(&b->pending, in->n + 1);
        b->refs = 2;
        b->deadline_ms =
            sg_time_mono_ms() + (long long)(ctx->conf->ack_timeout_s * 1000.0);
        rq->batch = b;
        for (int i = 0; i < in->n; i++) {
                sg_api_ingest_item_t *it = &in->items[i];
                refused = rd_kafka_producev(
                    ctx->rk, RD_KAFKA_V_RKT(ctx->rkt),
                    RD_KAFKA_V_KEY(it->key, 36),
                    RD_KAFKA_V_VALUE((void *)it->value, it->len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                    RD_KAFKA_V_OPAQUE(b), RD_KAFKA_V_END);
                if (refused)
                        break;
                queued++;
        }
        release = in->n - queued + 1;
        if (refused) {
                /* Queue full (or worse): answer now; what was queued may
                 * still be stored (the client sends the same events again). */
                char detail[160];
                atomic_store(&b->failed, true);
                if (atomic_fetch_sub(&b->pending, release) == release)
                        batch_settle(ctx, b);
                snprintf(detail, sizeof(detail),
                         "the producer cannot take the events (%s); send "
                         "them again",
                         rd_kafka_err2name(refused));
                atomic_fetch_add(&ctx->events_refused, in->n);
                return problem(rq, 503, "unavailable", detail);
        }
        rq->waiting = true;
        MHD_suspend_connection(rq->conn);
        pthread_mutex_lock(&ctx->klock);
        b->req = rq;
        b->prev = &ctx->waiting;
        b->next = ctx->waiting.next;
        if (b->next)
                b->next->prev = b;
        ctx->waiting.next = b;
        pthread_mutex_unlock(&ctx->klock);
        if (atomic_fetch_sub(&b->pending, release) == release)
                batch_settle(ctx, b);
        return MHD_YES;
}

static enum MHD_Result handle_events(api_req_t *rq)
{
        sg_api_ingest_t *in = &rq->ingest;
        char detail[160];
        json_t *errs;

        switch (sg_api_ingest_prepare(rq->body.data ? rq->body.data : "",
                                      rq->body.len, rq->kind,
                                      rq->ctx->conf->max_batch, in)) {
        case SG_API_INGEST_OK:
                return events_produce(rq);
        case SG_API_INGEST_EMPTY:
                return problem(rq, 400, "bad_request", "the body holds no event");
        case SG_API_INGEST_TOO_MANY:
                snprintf(detail, sizeof(detail),
                         "more than %d events in one request (--max-batch)",
                         rq->ctx->conf->max_batch);
                return problem(rq, 413, "payload_too_large", detail);
        case SG_API_INGEST_INTERNAL:
                return problem(rq, 500, "internal",
                               "an event could not be masked");
        case SG_API_INGEST_INVALID:
                break;
        }
        errs = json_array();
        for (int i = 0; i < in->nerrors; i++)
                json_array_append_new(
                    errs, json_pack("{s:i, s:s}", "line", in->errors[i].line,
                                    "reason",
                                    sg_reason_name(in->errors[i].reason)));
        snprintf(detail, sizeof(detail),
                 "%d of %d events break the v1 contract; none was accepted",
                 in->nerrors, in->lines);
        {
                size_t len;
                char *s = problem_text(400, "invalid_events", detail,
                                       json_pack("{s:o}", "errors", errs),
                                       &len);
                return answer_ex(rq, 400, "application/problem+json", s, len,
                                 true, 0, NULL, NULL);
        }
}

/* ------------------------------------------------------------ workers */

/* The worker's connection, or NULL while PostgreSQL is away (one attempt
 * a second at most; one line per outage). */
static PGconn *worker_db(worker_t *w)
{
        api_ctx_t *ctx = w->ctx;
        sg_pg_err_t err;
        char sql[80];
        long long now;

        if (w->conn && PQstatus(w->conn) == CONNECTION_OK)
                return w->conn;
        PQfinish(w->conn);
        w->conn = NULL;
        now = sg_time_mono_ms();
        if (now < w->retry_ms)
                return NULL;
        w->conn = sg_pg_open(ctx->conninfo, PROG, &err);
        if (!w->conn) {
                w->retry_ms = now + DB_RETRY_MS;
                if (!w->down_logged)
                        sg_warn("database worker: postgres unavailable, "
                                "answering 503 reason=\"%s\"",
                                err.msg);
                w->down_logged = true;
                return NULL;
        }
        snprintf(sql, sizeof(sql), "SET statement_timeout = %d",
                 ctx->conf->request_timeout_s * 1000);
        if (sg_pg_exec(w->conn, sql, &err) < 0) {
                sg_warn("database worker: %s", err.msg);
                PQfinish(w->conn);
                w->conn = NULL;
                w->retry_ms = now + DB_RETRY_MS;
                return NULL;
        }
        if (w->down_logged)
                sg_info("database worker: postgres reachable again");
        w->down_logged = false;
        return w->conn;
}

/* A statement failed on w's connection: a lost connection is dropped. */
static void worker_failed(worker_t *w, const sg_pg_err_t *err)
{
        if (!w->conn || PQstatus(w->conn) != CONNECTION_OK ||
            (err && err->transient && strncmp(err->sqlstate, "08", 2) == 0)) {
                PQfinish(w->conn);
                w->conn = NULL;
        } else if (PQtransactionStatus(w->conn) != PQTRANS_IDLE) {
                sg_pg_rollback(w->conn);
        }
}

static void job_readyz(worker_t *w, api_req_t *rq)
{
        api_ctx_t *ctx = w->ctx;
        const struct rd_kafka_metadata *md = NULL;
        bool pg_ok = false, kafka_ok;
        PGconn *conn = worker_db(w);

        if (conn) {
                sg_pg_err_t err;
                PGresult *res = sg_pg_query(conn, "SELECT 1", 0, NULL, 1,
                                            "readiness", &err);
                pg_ok = res != NULL;
                PQclear(res);
                if (!pg_ok)
                        worker_failed(w, &err);
        }
        kafka_ok = rd_kafka_metadata(ctx->rk, 0, ctx->rkt, &md, 1000) ==
                   RD_KAFKA_RESP_ERR_NO_ERROR;
        if (md)
                rd_kafka_metadata_destroy(md);
        set_json(rq, pg_ok && kafka_ok ? 200 : 503,
                 json_pack("{s:s, s:s, s:s}", "status",
                           pg_ok && kafka_ok ? "ready" : "not_ready",
                           "postgres", pg_ok ? "ok" : "unreachable", "kafka",
                           kafka_ok ? "ok" : "unreachable"));
        if (rq->status == 503)
                rq->retry_after = RETRY_AFTER_S;
}

static void job_privacy(worker_t *w, api_req_t *rq)
{
        PGconn *conn = worker_db(w);
        const char *params[2] = {rq->pr_kind, rq->email};
        sg_pg_err_t err;
        PGresult *res;

        if (!conn) {
                set_problem(rq, 503, "unavailable", "the database is unreachable");
                return;
        }
        res = sg_pg_query(conn,
                          "INSERT INTO privacy_requests (kind, email) "
                          "VALUES ($1, $2) RETURNING id",
                          2, params, 1, "filing the privacy request", &err);
        OPENSSL_cleanse(rq->email, sizeof(rq->email));
        if (!res) {
                worker_failed(w, &err);
                /* err holds no value of the row (sg_pg's messages never
                 * quote data). */
                sg_warn("privacy request not filed: %s", err.msg);
                if (err.transient)
                        set_problem(rq, 503, "unavailable",
                                    "the request could not be filed; send "
                                    "it again");
                else
                        set_problem(rq, 500, "internal",
                                    "the request could not be filed");
                return;
        }
        set_json(rq, 202,
                 json_pack("{s:I, s:s, s:s}", "id",
                           (json_int_t)atoll(PQgetvalue(res, 0, 0)), "kind",
                           rq->pr_kind, "status", "pending"));
        sg_info("privacy request filed id=%s kind=%s", PQgetvalue(res, 0, 0),
                rq->pr_kind);
        PQclear(res);
}

/* The query functions, by sg_api_query_t. */
static const sg_api_query_fn query_fns[SG_API_Q__CNT] = {
    [SG_API_Q_STATS_SUMMARY] = sg_api_q_stats_summary,
    [SG_API_Q_STATS_CONTENT] = sg_api_q_stats_content,
    [SG_API_Q_STATS_REGION] = sg_api_q_stats_region,
    [SG_API_Q_STATS_TIMESERIES] = sg_api_q_stats_timeseries,
    [SG_API_Q_STATS_PIPELINE] = sg_api_q_stats_pipeline,
    [SG_API_Q_COMPLIANCE_SUMMARY] = sg_api_q_compliance_summary,
    [SG_API_Q_COMPLIANCE_FLAGS] = sg_api_q_compliance_flags,
    [SG_API_Q_COMPLIANCE_FLAG] = sg_api_q_compliance_flag,
    [SG_API_Q_COMPLIANCE_REGIONS] = sg_api_q_compliance_regions,
    [SG_API_Q_PRIVACY_SUMMARY] = sg_api_q_privacy_summary,
    [SG_API_Q_PRIVACY_REQUEST] = sg_api_q_privacy_request,
};

static void job_query(worker_t *w, api_req_t *rq)
{
        sg_api_query_fn fn = rq->route->query >= 0 &&
                                     rq->route->query < SG_API_Q__CNT
                                 ? query_fns[rq->route->query]
                                 : NULL;
        sg_api_req_t q = {
            .path_param = strchr(rq->route->path, '{') ? rq->param : NULL,
            .arg = req_arg,
            .ctx = rq,
            .rk = w->ctx->rk,
        };
        sg_api_problem_t p;
        json_t *out = NULL;
        PGconn *conn;
        int st;

        if (!fn) {
                set_problem(rq, 500, "internal", "no handler for this route");
                return;
        }
        conn = worker_db(w);
        if (!conn) {
                set_problem(rq, 503, "unavailable", "the database is unreachable");
                return;
        }
        memset(&p, 0, sizeof(p));
        st = fn(conn, &q, &out, &p);
        if (st == 200 && out) {
                set_json(rq, 200, out);
                return;
        }
        json_decref(out);
        if (p.db_lost || st == 503) {
                worker_failed(w, NULL);
                if (p.db_lost) {
                        PQfinish(w->conn);
                        w->conn = NULL;
                }
                set_problem(rq, 503, "unavailable",
                            p.detail[0] ? p.detail
                                        : "the database is unreachable");
                return;
        }
        if (st < 400 || st > 599)
                st = 500;
        if (PQtransactionStatus(conn) != PQTRANS_IDLE)
                sg_pg_rollback(conn);
        set_problem(rq, st, p.code ? p.code : (st == 500 ? "internal" : "bad_request"),
                    p.detail);
}

static void run_job(worker_t *w, api_req_t *rq)
{
        switch (rq->route->handler) {
        case SG_API_H_QUERY:
                job_query(w, rq);
                break;
        case SG_API_H_READYZ:
                job_readyz(w, rq);
                break;
        case SG_API_H_PRIVACY_POST:
                job_privacy(w, rq);
                break;
        default:
                set_problem(rq, 500, "internal", "no handler for this route");
                break;
        }
}

static void *worker_main(void *arg)
{
        worker_t *w = arg;
        api_ctx_t *ctx = w->ctx;

        for (;;) {
                api_req_t *rq;

                pthread_mutex_lock(&ctx->jlock);
                while (!ctx->jhead && !ctx->jstop)
                        pthread_cond_wait(&ctx->jcond, &ctx->jlock);
                rq = ctx->jhead;
                if (rq) {
                        ctx->jhead = rq->jnext;
                        if (!ctx->jhead)
                                ctx->jtail = NULL;
                }
                pthread_mutex_unlock(&ctx->jlock);
                if (!rq)
                        break; /* stopping, and nothing left */
                run_job(w, rq);
                wake(rq);
        }
        PQfinish(w->conn);
        w->conn = NULL;
        return NULL;
}

/* Suspends the request and queues it for a database worker. */
static enum MHD_Result submit(api_req_t *rq)
{
        api_ctx_t *ctx = rq->ctx;

        MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, copy_arg,
                                  rq);
        rq->waiting = true;
        MHD_suspend_connection(rq->conn);
        pthread_mutex_lock(&ctx->jlock);
        if (ctx->jtail)
                ctx->jtail->jnext = rq;
        else
                ctx->jhead = rq;
        ctx->jtail = rq;
        pthread_cond_signal(&ctx->jcond);
        pthread_mutex_unlock(&ctx->jlock);
        return MHD_YES;
}

/* ------------------------------------------------------------ database thread */

static PGconn *dbt_conn(api_ctx_t *ctx, long long *retry_ms, bool *down)
{
        sg_pg_err_t err;
        long long now = sg_time_mono_ms();

        if (ctx->dbconn && PQstatus(ctx->dbconn) == CONNECTION_OK)
                return ctx->dbconn;
        PQfinish(ctx->dbconn);
        ctx->dbconn = NULL;
        if (now < *retry_ms)
                return NULL;
        ctx->dbconn = sg_pg_open(ctx->conninfo, PROG, &err);
        if (!ctx->dbconn) {
                *retry_ms = now + DB_RETRY_MS;
                if (!*down)
                        sg_warn("postgres unavailable: tokens not reloaded, "
                                "access log queued reason=\"%s\"",
                                err.msg);
                *down = true;
                return NULL;
        }
        if (*down)
                sg_info("postgres reachable again");
        *down = false;
        return ctx->dbconn;
}

static void dbt_failed(api_ctx_t *ctx, const char *what, const sg_pg_err_t *err)
{
        sg_warn("%s failed reason=\"%s\"", what, err->msg);
        if (PQstatus(ctx->dbconn) != CONNECTION_OK) {
                PQfinish(ctx->dbconn);
                ctx->dbconn = NULL;
        } else if (PQtransactionStatus(ctx->dbconn) != PQTRANS_IDLE) {
                sg_pg_rollback(ctx->dbconn);
        }
}

static void *dbt_main(void *arg)
{
        api_ctx_t *ctx = arg;
        long long next_tokens = 0, next_use = 0, retry_ms = 0;
        bool down = false;

        while (!atomic_load(&ctx->db_stop)) {
                long long now = sg_time_mono_ms();
                PGconn *conn = dbt_conn(ctx, &retry_ms, &down);
                sg_pg_err_t err;

                if (conn && now >= next_tokens) {
                        if (sg_api_tokens_load(ctx->tokens, conn, &err) < 0)
                                dbt_failed(ctx, "reloading the tokens", &err);
                        next_tokens = now + SG_API_TOKEN_RELOAD_MS;
                }
                conn = ctx->dbconn;
                if (conn && now >= next_use) {
                        if (sg_api_tokens_store_use(ctx->tokens, conn, &err) < 0)
                                dbt_failed(ctx, "recording token use", &err);
                        next_use = now + 5000;
                }
                conn = ctx->dbconn;
                if (conn && sg_api_access_log_due(ctx->alog, now) &&
                    sg_api_access_log_flush(ctx->alog, conn, &err) < 0)
                        dbt_failed(ctx, "writing the access log", &err);
                usleep(20000);
        }
        return NULL;
}

/* The last rows of the access log and the tokens' last use, at exit: a
 * few attempts within a few seconds. */
static void dbt_final(api_ctx_t *ctx)
{
        long long until = sg_time_mono_ms() + 5000, retry_ms = 0;
        bool down = false;

        while (sg_time_mono_ms() < until) {
                PGconn *conn = dbt_conn(ctx, &retry_ms, &down);
                sg_pg_err_t err;

                if (conn && sg_api_access_log_flush(ctx->alog, conn, &err) < 0)
                        dbt_failed(ctx, "writing the access log", &err);
                conn = ctx->dbconn;
                if (conn && sg_api_tokens_store_use(ctx->tokens, conn, &err) < 0)
                        dbt_failed(ctx, "recording token use", &err);
                if (ctx->dbconn && sg_api_access_log_pending(ctx->alog) == 0)
                        break;
                usleep(100000);
        }
        if (sg_api_access_log_pending(ctx->alog) > 0)
                sg_warn("access log rows not written rows=%d",
                        sg_api_access_log_pending(ctx->alog));
}

/* ------------------------------------------------------------ static files */

static const struct {
        const char *ext;
        const char *mime;
} mime_map[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json"},
    {".map", "application/json"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".woff2", "font/woff2"},
};

static const char *mime_of(const char *path)
{
        const char *dot = strrchr(path, '.');

        if (!dot)
                return NULL;
        for (size_t i = 0; i < sizeof(mime_map) / sizeof(mime_map[0]); i++)
                if (strcmp(dot, mime_map[i].ext) == 0)
                        return mime_map[i].mime;
        return NULL;
}

/* A relative path of plain segments: letters, digits, _ . -, none empty,
 * none starting with a dot (so no "..", no hidden files). */
static bool safe_relpath(const char *p)
{
        size_t n = strlen(p);

        if (n == 0 || n > 200)
                return false;
        for (const char *s = p; *s;) {
                size_t seg = strcspn(s, "/");
                if (seg == 0 || s[0] == '.')
                        return false;
                for (size_t i = 0; i < seg; i++) {
                        char c = s[i];
                        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '.' ||
                              c == '-'))
                                return false;
                }
                s += seg;
                if (*s == '/')
                        s++;
                if (*s == '\0' && s[-1] == '/')
                        return false;
        }
        return true;
}

static enum MHD_Result serve_file(api_req_t *rq, const char *rel)
{
        const sg_api_conf_t *conf = rq->ctx->conf;
        char path[4096];
        const char *mime;
        struct stat st;
        char *buf;
        ssize_t got = 0;
        int fd;

        if (!safe_relpath(rel) || !(mime = mime_of(rel)))
                return problem(rq, 404, "not_found", "no such file");
        if (strcmp(rel, "vendor/chart.umd.js") == 0)
                snprintf(path, sizeof(path), "%s", conf->chartjs);
        else if ((size_t)snprintf(path, sizeof(path), "%s/%s", conf->www_dir,
                                  rel) >= sizeof(path))
                return problem(rq, 404, "not_found", "no such file");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return problem(rq, 404, "not_found", "no such file");
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
            st.st_size > STATIC_MAX) {
                close(fd);
                return problem(rq, 404, "not_found", "no such file");
        }
        buf = sg_xmalloc((size_t)st.st_size + 1);
        while (got < st.st_size) {
                ssize_t r = read(fd, buf + got, (size_t)(st.st_size - got));
                if (r < 0 && errno == EINTR)
                        continue;
                if (r <= 0)
                        break;
                got += r;
        }
        close(fd);
        if (got != st.st_size) {
                free(buf);
                return problem(rq, 500, "internal", "the file could not be read");
        }
        return answer_ex(rq, 200, mime, buf, (size_t)got, false, 0, NULL, NULL);
}

/* ------------------------------------------------------------ dispatch */

static enum MHD_Result handle_privacy(api_req_t *rq)
{
        json_error_t jerr;
        json_t *j = json_loadb(rq->body.data ? rq->body.data : "", rq->body.len,
                               JSON_REJECT_DUPLICATES, &jerr);
        const char *key, *email = NULL;
        json_t *v;
        enum MHD_Result ret;

        rq->pr_kind = "erasure";
        if (!j || !json_is_object(j)) {
                json_decref(j);
                return problem(rq, 400, "bad_request",
                               "the body must be a JSON object "
                               "{\"kind\":..., \"email\":...}");
        }
        json_object_foreach(j, key, v)
        {
                if (strcmp(key, "email") == 0) {
                        if (!json_is_string(v)) {
                                ret = problem(rq, 400, "invalid_parameter",
                                              "email must be a string");
                                goto out;
                        }
                        email = json_string_value(v);
                } else if (strcmp(key, "kind") == 0) {
                        const char *k = json_is_string(v) ? json_string_value(v)
                                                          : "";
                        if (strcmp(k, "erasure") == 0)
                                rq->pr_kind = "erasure";
                        else if (strcmp(k, "access") == 0)
                                rq->pr_kind = "access";
                        else {
                                ret = problem(rq, 400, "invalid_parameter",
                                              "kind must be \"erasure\" or "
                                              "\"access\"");
                                goto out;
                        }
                } else {
                        ret = problem(rq, 400, "invalid_parameter",
                                      "unknown field: only kind and email");
                        goto out;
                }
        }
        if (!email) {
                ret = problem(rq, 400, "invalid_parameter", "email is missing");
                goto out;
        }
        if (!sg_api_email_shape(email)) {
                ret = problem(rq, 400, "invalid_parameter",
                              "email is not an e-mail address (local@domain, "
                              "at most 254 bytes)");
                goto out;
        }
        snprintf(rq->email, sizeof(rq->email), "%s", email);
        ret = submit(rq);
out:
        /* The e-mail is in jansson's copy and in the body: wiped. */
        if (email)
                OPENSSL_cleanse((void *)email, strlen(email));
        json_decref(j);
        return ret;
}

static enum MHD_Result dispatch(api_req_t *rq)
{
        const sg_api_route_t *r = rq->route;
        sg_buf_t b;

        switch (r->handler) {
        case SG_API_H_HEALTHZ:
                return answer_json(rq, 200, json_pack("{s:s}", "status", "ok"));
        case SG_API_H_METRICS:
                sg_buf_init(&b);
                sg_api_metrics_render(&b);
                return answer_ex(rq, 200, SG_METRICS_CONTENT_TYPE, b.data,
                                 b.len, true, 0, NULL, NULL);
        case SG_API_H_OPENAPI: {
                char *s = sg_xmalloc(sg_api_openapi_json_len + 1);
                memcpy(s, sg_api_openapi_json, sg_api_openapi_json_len);
                return answer_ex(rq, 200, "application/json", s,
                                 sg_api_openapi_json_len, true, 0, NULL, NULL);
        }
        case SG_API_H_INDEX:
                return serve_file(rq, "index.html");
        case SG_API_H_STATIC:
                return serve_file(rq, rq->param);
        case SG_API_H_WHOAMI:
                return answer_json(rq, 200,
                                   json_pack("{s:s, s:s}", "name", rq->token_name,
                                             "role", sg_api_role_name(rq->role)));
        case SG_API_H_EVENTS:
                return handle_events(rq);
        case SG_API_H_PRIVACY_POST:
                return handle_privacy(rq);
        case SG_API_H_READYZ:
        case SG_API_H_QUERY:
                return submit(rq);
        }
        return problem(rq, 500, "internal", "no handler for this route");
}

/* "application/json; charset=utf-8" is application/json. */
static bool ctype_is(const char *ct, const char *want)
{
        size_t n = strlen(want);

        if (!ct)
                return false;
        while (*ct == ' ')
                ct++;
        return strncasecmp(ct, want, n) == 0 &&
               (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind,
                                    const char *key, const char *value)
{
        size_t *n = cls;

        (void)kind;
        *n += strlen(key) + (value ? strlen(value) : 0) + 4;
        return MHD_YES;
}

static void client_addr(struct MHD_Connection *conn, const void **addr,
                        size_t *len)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
            conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        static const char none[1] = {0};

        *addr = none;
        *len = 1;
        if (!ci || !ci->client_addr)
                return;
        if (ci->client_addr->sa_family == AF_INET) {
                *addr = &((const struct sockaddr_in *)(const void *)
                              ci->client_addr)->sin_addr;
                *len = 4;
        } else if (ci->client_addr->sa_family == AF_INET6) {
                *addr = &((const struct sockaddr_in6 *)(const void *)
                              ci->client_addr)->sin6_addr;
                *len = 16;
        }
}

/* The first call of a request (its headers are in): route, bounds,
 * authentication, the content type of a body. Answers at once when one
 * of them refuses. */
static enum MHD_Result begin(api_req_t *rq, const char *url, const char *method)
{
        api_ctx_t *ctx = rq->ctx;
        const sg_api_conf_t *conf = ctx->conf;
        struct MHD_Connection *conn = rq->conn;
        size_t hdr = 0;
        bool known;
        char allow[32];
        const char *auth, *ct, *cl;

        MHD_get_connection_values(conn, MHD_HEADER_KIND, count_header, &hdr);
        if (hdr > HEADERS_MAX)
                return problem(rq, 431, "bad_request",
                               "request headers over 16 KiB");
        rq->route = sg_api_route_find(method, url, rq->param, sizeof(rq->param),
                                      &known, allow, sizeof(allow));
        if (!rq->route) {
                if (known)
                        return problem_ex(rq, 405, "method_not_allowed",
                                          "this route does not take that "
                                          "method",
                                          0, "Allow", allow);
                return problem(rq, 404, "not_found", "no such route");
        }
        if (strlen(rq->param) >= sizeof(rq->param) - 1)
                return problem(rq, 400, "invalid_parameter",
                               "path parameter too long");
        if (rq->route->roles) {
                const void *addr;
                size_t alen;
                long long now = sg_time_mono_ms();
                int wait;
                sg_api_auth_t a = SG_API_AUTH_UNKNOWN;

                client_addr(conn, &addr, &alen);
                wait = sg_api_limiter_blocked(ctx->limiter, addr, alen, now);
                if (wait > 0)
                        return problem_ex(rq, 429, "too_many_requests",
                                          "too many failed authentications "
                                          "from this address",
                                          wait, NULL, NULL);
                auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                   "Authorization");
                if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
                        const char *tok = auth + 7;
                        while (*tok == ' ')
                                tok++;
                        a = sg_api_tokens_check(ctx->tokens, tok,
                                                rq->token_name, &rq->role);
                }
                if (a == SG_API_AUTH_UNAVAILABLE)
                        return problem(rq, 503, "unavailable",
                                       "tokens cannot be checked: the "
                                       "database is unreachable");
                if (a != SG_API_AUTH_OK) {
                        sg_api_limiter_fail(ctx->limiter, addr, alen, now);
                        return problem_ex(rq, 401, "unauthorized",
                                          auth ? "unknown or revoked token"
                                               : "no bearer token",
                                          0, "WWW-Authenticate", "Bearer");
                }
                if (!sg_api_role_allows(rq->route, rq->role))
                        return problem(rq, 403, "forbidden",
                                       "this token's role may not use this "
                                       "route");
        }
        if (strcmp(rq->route->method, "POST") == 0) {
                ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 "Content-Type");
                if (rq->route->handler == SG_API_H_EVENTS &&
                    ctype_is(ct, "application/x-ndjson"))
                        rq->kind = SG_API_BODY_NDJSON;
                else if (ctype_is(ct, "application/json"))
                        rq->kind = SG_API_BODY_JSON;
                else
                        return problem(rq, 415, "unsupported_media_type",
                                       rq->route->handler == SG_API_H_EVENTS
                                           ? "send application/json or "
                                             "application/x-ndjson"
                                           : "send application/json");
                cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 "Content-Length");
                if (cl && strtoull(cl, NULL, 10) > (unsigned long long)conf->max_body)
                        return problem(rq, 413, "payload_too_large",
                                       "the body is over --max-body");
                rq->body_deadline_ms =
                    sg_time_mono_ms() + conf->request_timeout_s * 1000LL;
        }
        return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
        api_ctx_t *ctx = cls;
        api_req_t *rq = *req_cls;

        (void)version;
        if (!rq) {
                rq = req_new(ctx, conn, method);
                *req_cls = rq;
                atomic_fetch_add(&ctx->inflight, 1);
                return begin(rq, url, method);
        }
        if (rq->answered) {
                *upload_data_size = 0; /* a body after an early answer */
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                size_t n = *upload_data_size;
                *upload_data_size = 0;
                if (sg_time_mono_ms() > rq->body_deadline_ms)
                        return MHD_NO; /* a body trickling in: cut */
                if (rq->body_over) {
                        /* Read on (to answer 413) up to 4 times the bound,
                         * then hang up. */
                        rq->discarded += n;
                        return rq->discarded > 4 * (size_t)ctx->conf->max_body
                                   ? MHD_NO
                                   : MHD_YES;
                }
                if (rq->body.len + n > (size_t)ctx->conf->max_body) {
                        rq->body_over = true;
                        rq->discarded = rq->body.len + n;
                        sg_buf_fini(&rq->body);
                        sg_buf_init(&rq->body);
                        return MHD_YES;
                }
                sg_buf_append(&rq->body, upload_data, n);
                return MHD_YES;
        }
        if (rq->waiting) {
                if (!atomic_load_explicit(&rq->ready, memory_order_acquire))
                        return MHD_YES;
                rq->waiting = false;
                {
                        char *body = rq->resp;
                        rq->resp = NULL;
                        return answer_ex(rq, rq->status, rq->ctype, body,
                                         rq->resp_len, true, rq->retry_after,
                                         NULL, NULL);
                }
        }
        if (rq->body_over)
                return problem(rq, 413, "payload_too_large",
                               "the body is over --max-body");
        return dispatch(rq);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
        char line[512];

        (void)cls;
        if (!sg_log_enabled(SG_LOG_DEBUG))
                return;
        vsnprintf(line, sizeof(line), fmt, ap);
        line[strcspn(line, "\r\n")] = '\0';
        sg_debug("http msg=\"%s\"", line);
}

/* ------------------------------------------------------------ start, stop */

static char *read_file(const char *path, char *errstr, size_t errsize)
{
        FILE *fp = fopen(path, "rb");
        char *buf;
        long n;

        if (!fp) {
                snprintf(errstr, errsize, "cannot open %s: %s", path,
                         strerror(errno));
                return NULL;
        }
        if (fseek(fp, 0, SEEK_END) < 0 || (n = ftell(fp)) < 0 || n > 1 << 20 ||
            fseek(fp, 0, SEEK_SET) < 0) {
                fclose(fp);
                snprintf(errstr, errsize, "cannot read %s", path);
                return NULL;
        }
        buf = sg_xmalloc((size_t)n + 1);
        if (fread(buf, 1, (size_t)n, fp) != (size_t)n) {
                fclose(fp);
                free(buf);
                snprintf(errstr, errsize, "cannot read %s", path);
                return NULL;
        }
        buf[n] = '\0';
        fclose(fp);
        return buf;
}

/* HOST:PORT or [V6]:PORT into an address. Returns 0, or -1 with errstr. */
static int resolve_listen(const char *listen, struct sockaddr_storage *ss,
                          char *errstr, size_t errsize)
{
        char host[256];
        const char *colon, *port;
        struct addrinfo hints, *ai = NULL;
        int rc;

        if (listen[0] == '[') {
                const char *close = strchr(listen, ']');
                if (!close || close[1] != ':' || (size_t)(close - listen) > 250)
                        goto bad;
                snprintf(host, sizeof(host), "%.*s", (int)(close - listen - 1),
                         listen + 1);
                port = close + 2;
        } else {
                colon = strrchr(listen, ':');
                if (!colon || (size_t)(colon - listen) > 250)
                        goto bad;
                snprintf(host, sizeof(host), "%.*s", (int)(colon - listen),
                         listen);
                port = colon + 1;
        }
        if (!*port || strspn(port, "0123456789") != strlen(port) ||
            atoi(port) > 65535)
                goto bad;
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
        if (rc != 0 || !ai) {
                snprintf(errstr, errsize, "--listen %s: %s", listen,
                         gai_strerror(rc));
                return -1;
        }
        memset(ss, 0, sizeof(*ss));
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        freeaddrinfo(ai);
        return 0;
bad:
        snprintf(errstr, errsize, "--listen needs HOST:PORT or [IPV6]:PORT, "
                                  "got '%s'",
                 listen);
        return -1;
}

static int kafka_start(api_ctx_t *ctx, char *errstr, size_t errsize)
{
        char timeout[32];
        const char *defaults[] = {
            "client.id", PROG,
            "enable.idempotence", "true",
            "acks", "all",
            /* Every answer waits for its acknowledgement: a short linger
             * lets concurrent requests share a produce request without
             * adding much to each answer (measured with bench/run: 1 ms
             * beat 0, 2, 5 and 10 at 64 and 128 connections). */
            "linger.ms", "1",
            "batch.num.messages", "10000",
            "queue.buffering.max.messages", "200000",
            "queue.buffering.max.kbytes", "262144",
            "message.timeout.ms", timeout,
            "topic.metadata.refresh.interval.ms", "10000",
            NULL,
        };
        rd_kafka_conf_t *conf;
        bool embedded;
        long long t = (long long)(ctx->conf->ack_timeout_s * 1000.0) * 2;

        /* Longer than --ack-timeout: a request is answered 503 at its
         * deadline, its events may still get through a short outage
         * (the client sends them again; consumers drop duplicates). */
        snprintf(timeout, sizeof(timeout), "%lld", t < 10000 ? 10000 : t);
        conf = sg_kafka_conf_new(ctx->conf->common, defaults, &embedded, errstr,
                                 errsize);
        if (!conf)
                return -1;
        rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
        rd_kafka_conf_set_opaque(conf, ctx);
        ctx->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errsize);
        if (!ctx->rk) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        ctx->rkt = rd_kafka_topic_new(ctx->rk, ctx->conf->common->topic, NULL);
        if (!ctx->rkt) {
                snprintf(errstr, errsize, "cannot create the topic handle %s",
                         ctx->conf->common->topic);
                return -1;
        }
        return 0;
}

static struct MHD_Daemon *http_start(api_ctx_t *ctx, char *errstr,
                                     size_t errsize)
{
        const sg_api_conf_t *conf = ctx->conf;
        struct sockaddr_storage ss;
        unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        struct MHD_OptionItem opts[16];
        int n = 0;
        struct MHD_Daemon *d;

        if (resolve_listen(conf->listen, &ss, errstr, errsize) < 0)
                return NULL;
        if (ss.ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        if (conf->tls_cert) {
                if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
                        snprintf(errstr, errsize,
                                 "this libmicrohttpd was built without TLS");
                        return NULL;
                }
                ctx->tls_cert = read_file(conf->tls_cert, errstr, errsize);
                if (!ctx->tls_cert)
                        return NULL;
                ctx->tls_key = read_file(conf->tls_key, errstr, errsize);
                if (!ctx->tls_key)
                        return NULL;
                flags |= MHD_USE_TLS;
                opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT,
                                                    0, ctx->tls_cert};
                opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
                                                    ctx->tls_key};
        }
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                            conf->threads, NULL};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                            conf->max_connections, NULL};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT,
                                            conf->request_timeout_s, NULL};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                            CONN_MEMORY, NULL};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                            (intptr_t)on_completed, ctx};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER,
                                            (intptr_t)mhd_log, NULL};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_LISTEN_BACKLOG_SIZE,
                                            1024, NULL};
        opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
        d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, ctx,
                             MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
        if (!d)
                snprintf(errstr, errsize,
                         "cannot listen on %s (in use, or not an address of "
                         "this machine?)",
                         conf->listen);
        return d;
}

static void progress(api_ctx_t *ctx, long long *last_ms, long long *last_req,
                     long long *last_ev, bool final)
{
        long long now = sg_time_mono_ms();
        long long req = atomic_load(&ctx->requests);
        long long ev = atomic_load(&ctx->events_accepted);
        double secs = (double)(now - *last_ms) / 1000.0;

        sg_info("%s requests=%lld rate=%.1f/s events_accepted=%lld "
                "events_rate=%.1f/s events_refused=%lld in_flight=%d "
                "kafka_queue=%d access_log_queued=%d access_log_dropped=%lld",
                final ? "final" : "progress", req,
                secs > 0 ? (double)(req - *last_req) / secs : 0.0, ev,
                secs > 0 ? (double)(ev - *last_ev) / secs : 0.0,
                atomic_load(&ctx->events_refused), atomic_load(&ctx->inflight),
                ctx->rk ? rd_kafka_outq_len(ctx->rk) : 0,
                sg_api_access_log_pending(ctx->alog),
                sg_api_access_log_dropped(ctx->alog));
        *last_ms = now;
        *last_req = req;
        *last_ev = ev;
}

int sg_api_server_run(const sg_api_conf_t *conf)
{
        api_ctx_t *ctx = sg_xcalloc(1, sizeof(*ctx));
        sg_pg_session_t s;
        sg_pg_err_t err;
        char errstr[512];
        bool poller = false, dbt = false;
        int rc = 1, started_workers = 0;
        long long last_ms, last_req = 0, last_ev = 0, next_progress;
        sg_metrics_http_t *mhttp = NULL;

        ctx->conf = conf;
        pthread_mutex_init(&ctx->klock, NULL);
        pthread_mutex_init(&ctx->jlock, NULL);
        pthread_cond_init(&ctx->jcond, NULL);
        ctx->tokens = sg_api_tokens_new(conf->token_cache_ms);
        ctx->limiter = sg_api_limiter_new(conf->auth_fail_limit);
        ctx->alog = sg_api_access_log_new(ACCESS_QUEUE_MAX);
        ctx->metrics = sg_metrics_new();
        sg_api_metrics_init(ctx->metrics);

        /* PostgreSQL first: an outage is waited out (a line per attempt),
         * a refusal ends the run in one line. */
        sg_pg_session_init(&s, conf->common, "sg_api", PROG);
        snprintf(ctx->conninfo, sizeof(ctx->conninfo), "%s", s.conninfo);
        /* The process basics, and --metrics-listen's own port if given. */
        if (sg_metrics_serve(conf->metrics, ctx->metrics, &mhttp) != 0)
                goto out;
        if (!sg_pg_session_get(&s, &err)) {
                if (err.msg[0])
                        sg_error("%s", err.msg);
                else
                        rc = 0; /* stopped while waiting */
                goto out;
        }
        if (sg_api_tokens_load(ctx->tokens, s.conn, &err) < 0) {
                sg_error("%s", err.msg);
                goto out;
        }
        ctx->dbconn = s.conn; /* the database thread's from now on */
        s.conn = NULL;

        if (kafka_start(ctx, errstr, sizeof(errstr)) < 0) {
                sg_error("%s", errstr);
                goto out;
        }
        if (pthread_create(&ctx->poller, NULL, poller_main, ctx) != 0)
                goto out;
        poller = true;
        if (pthread_create(&ctx->dbt, NULL, dbt_main, ctx) != 0)
                goto out;
        dbt = true;
        ctx->nworkers = conf->db_workers;
        ctx->workers = sg_xcalloc((size_t)ctx->nworkers, sizeof(*ctx->workers));
        for (; started_workers < ctx->nworkers; started_workers++) {
                ctx->workers[started_workers].ctx = ctx;
                if (pthread_create(&ctx->workers[started_workers].thread, NULL,
                                   worker_main,
                                   &ctx->workers[started_workers]) != 0)
                        goto out;
        }

        ctx->d = http_start(ctx, errstr, sizeof(errstr));
        if (!ctx->d) {
                sg_error("%s", errstr);
                goto out;
        }
        {
                const union MHD_DaemonInfo *di =
                    MHD_get_daemon_info(ctx->d, MHD_DAEMON_INFO_BIND_PORT);
                char host[256];
                const char *colon = strrchr(conf->listen, ':');
                snprintf(host, sizeof(host), "%.*s",
                         (int)(colon - conf->listen), conf->listen);
                sg_info("listening addr=%s:%u tls=%s threads=%d db_workers=%d "
                        "max_body=%lld max_batch=%d max_connections=%d "
                        "request_timeout_s=%d ack_timeout_ms=%d topic=%s",
                        host, di ? di->port : 0, conf->tls_cert ? "on" : "off",
                        conf->threads, conf->db_workers, conf->max_body,
                        conf->max_batch, conf->max_connections,
                        conf->request_timeout_s,
                        (int)(conf->ack_timeout_s * 1000.0),
                        conf->common->topic);
        }
        rc = 0;
        last_ms = sg_time_mono_ms();
        next_progress = last_ms + conf->progress_s * 1000LL;
        while (!sg_stop_requested) {
                (void)sg_sleep_ms(100);
                if (sg_time_mono_ms() >= next_progress) {
                        progress(ctx, &last_ms, &last_req, &last_ev, false);
                        next_progress = sg_time_mono_ms() + conf->progress_s * 1000LL;
                }
        }
        sg_info("stop requested: answering the requests under way");

out:
        if (ctx->d) {
                /* No new connection; the requests under way are answered
                 * (their acknowledgements or their deadline come within
                 * --ack-timeout, their queries within the statement
                 * timeout). */
                MHD_socket ls = MHD_quiesce_daemon(ctx->d);
                long long until = sg_time_mono_ms() +
                                  (long long)(conf->ack_timeout_s * 1000.0) +
                                  conf->request_timeout_s * 1000LL +
                                  DRAIN_SLACK_MS;
                if (ls != MHD_INVALID_SOCKET)
                        close(ls);
                while (atomic_load(&ctx->inflight) > 0 &&
                       sg_time_mono_ms() < until)
                        usleep(20000);
                if (atomic_load(&ctx->inflight) > 0)
                        sg_warn("requests still under way at exit count=%d",
                                atomic_load(&ctx->inflight));
        }
        pthread_mutex_lock(&ctx->jlock);
        ctx->jstop = true;
        pthread_cond_broadcast(&ctx->jcond);
        pthread_mutex_unlock(&ctx->jlock);
        for (int i = 0; i < started_workers; i++)
                pthread_join(ctx->workers[i].thread, NULL);
        if (ctx->rk) {
                /* Reports of events whose requests were answered already
                 * (503 at the deadline): bounded. */
                atomic_store(&ctx->poller_stop, true);
                if (poller)
                        pthread_join(ctx->poller, NULL);
                poller = false;
                if (rd_kafka_flush(ctx->rk, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR)
                        sg_warn("kafka: events of requests answered 503 still "
                                "queued at exit count=%d",
                                rd_kafka_outq_len(ctx->rk));
        }
        if (ctx->d)
                MHD_stop_daemon(ctx->d); /* on_completed: the last rows */
        atomic_store(&ctx->db_stop, true);
        if (dbt) {
                pthread_join(ctx->dbt, NULL);
                dbt_final(ctx);
        }
        if (ctx->d) {
                progress(ctx, &last_ms, &last_req, &last_ev, true);
                sg_info("exit status=%d", rc);
        }
        if (poller) {
                atomic_store(&ctx->poller_stop, true);
                pthread_join(ctx->poller, NULL);
        }
        if (ctx->rkt)
                rd_kafka_topic_destroy(ctx->rkt);
        if (ctx->rk)
                rd_kafka_destroy(ctx->rk);
        PQfinish(ctx->dbconn);
        sg_pg_session_close(&s);
        sg_api_tokens_destroy(ctx->tokens);
        sg_api_limiter_destroy(ctx->limiter);
        sg_api_access_log_destroy(ctx->alog);
        sg_metrics_http_stop(mhttp);
        sg_api_metrics_init(NULL);
        sg_metrics_destroy(ctx->metrics);
        free(ctx->workers);
        if (ctx->tls_key)
                OPENSSL_cleanse(ctx->tls_key, strlen(ctx->tls_key));
        free(ctx->tls_key);
        free(ctx->tls_cert);
        pthread_mutex_destroy(&ctx->klock);
        pthread_mutex_destroy(&ctx->jlock);
        pthread_cond_destroy(&ctx->jcond);
        free(ctx);
        return rc;
}
