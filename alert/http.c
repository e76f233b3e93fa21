#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "payload.h"
#include "retry.h"
#include "sg_time.h"

#define SG_HTTP_RETRY_AFTER_MAX 80

typedef struct sg_http_xfer {
        CURL *easy;
        struct curl_slist *headers;
        void *opaque;
        size_t received;
        long long started_ms;
        char retry_after[SG_HTTP_RETRY_AFTER_MAX];
        struct sg_http_xfer *prev, *next;
} sg_http_xfer_t;

struct sg_http {
        CURLM *multi;
        sg_http_xfer_t *head; /* in flight */
        int inflight;
};

static void sg_http_errf(char *errstr, size_t errstr_size, const char *what,
                         const char *why)
{
        if (errstr && errstr_size)
                snprintf(errstr, errstr_size, "%s: %s", what, why);
}

sg_http_t *sg_http_new(char *errstr, size_t errstr_size)
{
        sg_http_t *h = sg_xcalloc(1, sizeof(*h));
        h->multi = curl_multi_init();
        if (!h->multi) {
                sg_http_errf(errstr, errstr_size, "libcurl",
                             "curl_multi_init failed");
                free(h);
                return NULL;
        }
        return h;
}

/* The body is discarded: counted, and the transfer ends once the cap is
 * passed (the status is kept: sg_retry_classify). */
static size_t sg_http_on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
        sg_http_xfer_t *x = arg;
        size_t n = size * nmemb;

        (void)ptr;
        x->received += n;
        return x->received > SG_HTTP_BODY_CAP ? 0 : n;
}

/* Keeps Retry-After's value (trimmed, bounded); other headers pass by. A
 * later response's headers (after 100 Continue) replace an earlier's. */
static size_t sg_http_on_header(char *buf, size_t size, size_t nitems,
                                void *arg)
{
        static const char name[] = "retry-after:";
        sg_http_xfer_t *x = arg;
        size_t n = size * nitems, len = sizeof(name) - 1;
        size_t i, j;

        if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
                x->retry_after[0] = '\0';
                return n;
        }
        if (n <= len || strncasecmp(buf, name, len) != 0)
                return n;
        for (i = len; i < n && (buf[i] == ' ' || buf[i] == '\t'); i++)
                ;
        for (j = n; j > i && (buf[j - 1] == '\r' || buf[j - 1] == '\n' ||
                              buf[j - 1] == ' ' || buf[j - 1] == '\t');
             j--)
                ;
        if (j - i < sizeof(x->retry_after)) {
                memcpy(x->retry_after, buf + i, j - i);
                x->retry_after[j - i] = '\0';
        }
        return n;
}

static void sg_http_xfer_free(sg_http_xfer_t *x)
{
        if (!x)
                return;
        if (x->easy)
                curl_easy_cleanup(x->easy);
        curl_slist_free_all(x->headers);
        free(x);
}

/* Appends a header line (built in a bounded buffer). Returns 0 or -1. */
static int sg_http_header(sg_http_xfer_t *x, const char *name,
                          const char *value)
{
        char line[256];
        struct curl_slist *l;
        int n = snprintf(line, sizeof(line), "%s: %s", name, value);

        if (n < 0 || (size_t)n >= sizeof(line))
                return -1;
        l = curl_slist_append(x->headers, line);
        if (!l)
                return -1;
        x->headers = l;
        return 0;
}

int sg_http_add(sg_http_t *h, const sg_http_req_t *req, char *errstr,
                size_t errstr_size)
{
        char sig[SG_PAYLOAD_SIG_LEN + 1], sigval[SG_PAYLOAD_SIG_LEN + 8];
        char ts[32];
        long long now_s = sg_time_wall_us() / 1000000;
        sg_http_xfer_t *x = sg_xcalloc(1, sizeof(*x));
        CURL *e;
        int bad = 0;

        if (sg_payload_sign(req->secret, req->secret_len, now_s, req->body,
                            req->body_len, sig) < 0) {
                sg_http_errf(errstr, errstr_size, "signature",
                             "libcrypto failed");
                goto fail;
        }
        snprintf(ts, sizeof(ts), "%lld", now_s);
        snprintf(sigval, sizeof(sigval), "v1=%s", sig);
        if (sg_http_header(x, "Content-Type", "application/json") < 0 ||
            sg_http_header(x, "Idempotency-Key", req->alert_id) < 0 ||
            sg_http_header(x, "X-StreamGuard-Timestamp", ts) < 0 ||
            sg_http_header(x, "X-StreamGuard-Signature", sigval) < 0 ||
            /* No "Expect: 100-continue" round trip before the body. */
            !(x->headers = curl_slist_append(x->headers, "Expect:"))) {
                sg_http_errf(errstr, errstr_size, "headers",
                             "cannot build them");
                goto fail;
        }
        e = x->easy = curl_easy_init();
        if (!e) {
                sg_http_errf(errstr, errstr_size, "libcurl",
                             "curl_easy_init failed");
                goto fail;
        }
        bad |= curl_easy_setopt(e, CURLOPT_URL, req->url) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") !=
               CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                                req->connect_timeout_ms) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, req->timeout_ms) !=
               CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK;
        if (req->ca_file && req->ca_file[0])
                bad |= curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file) !=
                       CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_USERAGENT,
                                "sg-alert/" SG_VERSION) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                                (curl_off_t)req->body_len) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body) !=
               CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, sg_http_on_body) !=
               CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, x) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, sg_http_on_header) !=
               CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_HEADERDATA, x) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, x) != CURLE_OK;
        if (bad) {
                sg_http_errf(errstr, errstr_size, "libcurl",
                             "an option was refused");
                goto fail;
        }
        if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
                sg_http_errf(errstr, errstr_size, "libcurl",
                             "curl_multi_add_handle failed");
                goto fail;
        }
        x->opaque = req->opaque;
        x->started_ms = sg_time_mono_ms();
        x->next = h->head;
        if (h->head)
                h->head->prev = x;
        h->head = x;
        h->inflight++;
        return 0;
fail:
        sg_http_xfer_free(x);
        return -1;
}

/* Takes x out of the set and reports it. */
static void sg_http_finish(sg_http_t *h, sg_http_xfer_t *x, int code,
                           sg_http_done_fn done, void *arg)
{
        sg_http_result_t res;
        long status = 0;
        long long ra;

        memset(&res, 0, sizeof(res));
        res.opaque = x->opaque;
        res.curl_code = code;
        if (curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status) ==
            CURLE_OK)
                res.http_status = status;
        res.retry_after_ms = -1;
        if (x->retry_after[0] &&
            sg_retry_after_parse(x->retry_after,
                                 sg_time_wall_us() / 1000000, &ra) == 0)
                res.retry_after_ms = ra;
        res.elapsed_ms = sg_time_mono_ms() - x->started_ms;
        curl_multi_remove_handle(h->multi, x->easy);
        if (x->prev)
                x->prev->next = x->next;
        else
                h->head = x->next;
        if (x->next)
                x->next->prev = x->prev;
        h->inflight--;
        if (done)
                done(&res, arg);
        sg_http_xfer_free(x);
}

/* Moves the transfers on and reports those that ended. */
static void sg_http_step(sg_http_t *h, sg_http_done_fn done, void *arg)
{
        CURLMsg *msg;
        int running = 0, left = 0;

        curl_multi_perform(h->multi, &running);
        while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
                sg_http_xfer_t *x = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
                                  (char **)&x);
                if (x)
                        sg_http_finish(h, x, (int)msg->data.result, done, arg);
        }
}

int sg_http_poll(sg_http_t *h, int timeout_ms, int extra_fd,
                 sg_http_done_fn done, void *arg)
{
        struct curl_waitfd wfd;
        int numfds = 0;

        sg_http_step(h, done, arg);
        if (timeout_ms <= 0)
                return h->inflight;
        wfd.fd = extra_fd;
        wfd.events = CURL_WAIT_POLLIN;
        wfd.revents = 0;
        curl_multi_poll(h->multi, extra_fd >= 0 ? &wfd : NULL,
                        extra_fd >= 0 ? 1 : 0, timeout_ms, &numfds);
        sg_http_step(h, done, arg);
        return h->inflight;
}

int sg_http_inflight(const sg_http_t *h)
{
        return h ? h->inflight : 0;
}

void sg_http_abort_all(sg_http_t *h, sg_http_done_fn done, void *arg)
{
        while (h && h->head)
                sg_http_finish(h, h->head, CURLE_ABORTED_BY_CALLBACK, done,
                               arg);
}

void sg_http_destroy(sg_http_t *h)
{
        if (!h)
                return;
        sg_http_abort_all(h, NULL, NULL);
        curl_multi_cleanup(h->multi);
        free(h);
}
