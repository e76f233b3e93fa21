#ifndef SG_HTTP_H
#define SG_HTTP_H

/* sg-alert's HTTP side: many signed POSTs in flight at once over libcurl's
 * multi interface, so one slow sink never holds the others back. Every
 * transfer has TLS verification on, no redirects, http and https only,
 * bounded connect and total times, no signals, and its response body
 * discarded (at most SG_HTTP_BODY_CAP bytes are read). Only the status
 * and Retry-After are kept. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_defs.h"

#define SG_HTTP_BODY_CAP (64 * 1024)

typedef struct sg_http sg_http_t;

/* One POST. Everything is copied by sg_http_add. */
typedef struct sg_http_req {
        const char *url;
        const char *ca_file;  /* NULL or "": the system's CAs */
        long connect_timeout_ms;
        long timeout_ms;
        const char *body;
        size_t body_len;
        const char *alert_id; /* the Idempotency-Key */
        const char *secret;   /* the HMAC key (never kept past the add) */
        size_t secret_len;
        void *opaque;         /* the caller's, handed back with the result */
} sg_http_req_t;

typedef struct sg_http_result {
        void *opaque;
        int curl_code;           /* CURLcode */
        long http_status;        /* 0: no response */
        long long retry_after_ms; /* -1: none (or not readable) */
        long long elapsed_ms;
} sg_http_result_t;

typedef void (*sg_http_done_fn)(const sg_http_result_t *res, void *arg);

/* Returns a new transfer set, or NULL with errstr. The process has
 * called curl_global_init (main(), before any thread). */
sg_http_t *sg_http_new(char *errstr, size_t errstr_size);

/* Starts a POST (signed now: X-StreamGuard-Timestamp is the current
 * second). Returns 0, or -1 with errstr (the request was not started). */
int sg_http_add(sg_http_t *h, const sg_http_req_t *req, char *errstr,
                size_t errstr_size) SG_MUST_CHECK;

/* Moves the transfers on, waiting up to timeout_ms for network activity
 * or for extra_fd (-1: none) to be readable; done() is called for each
 * transfer that ended. Returns the number still in flight. */
int sg_http_poll(sg_http_t *h, int timeout_ms, int extra_fd,
                 sg_http_done_fn done, void *arg);

int sg_http_inflight(const sg_http_t *h);

/* Ends every transfer in flight; done() gets each with curl_code
 * CURLE_ABORTED_BY_CALLBACK. */
void sg_http_abort_all(sg_http_t *h, sg_http_done_fn done, void *arg);

/* Aborts what is in flight (no callbacks) and frees h. NULL-safe. */
void sg_http_destroy(sg_http_t *h);

#endif
