#ifndef SG_METRICS_HTTP_H
#define SG_METRICS_HTTP_H

/* A daemon's Prometheus endpoint: GET /metrics (and nothing else: 404)
 * served from a registry (sg_metrics.h) by GNU libmicrohttpd on its own
 * thread, when --metrics-listen HOST:PORT is given (off by default).
 *
 * HOST:PORT: "9100" or ":9100" listen on 127.0.0.1 (loopback, the
 * default), "localhost:9100", "[::1]:9100", "0.0.0.0:9100" where asked for
 * explicitly (a container whose Prometheus scrapes from outside): the
 * endpoint has no authentication, and holds no personal data (label
 * values are names from fixed sets, never ids, e-mails or addresses).
 *
 * Also the request counters of an HTTP server (sg-api), which serves the
 * same text on its own port: sg_metrics_render into its answer. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_metrics.h"

#define SG_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* --metrics-listen, the one option every daemon takes. */
typedef struct sg_metrics_conf {
        const char *listen; /* HOST:PORT; NULL: no endpoint */
} sg_metrics_conf_t;

void sg_metrics_conf_init(sg_metrics_conf_t *mc);

/* The option table (--metrics-listen) over mc, for sg_cli (a table of its
 * own, title "Metrics"); out holds at least 2 entries. A malformed
 * HOST:PORT is a usage error. */
void sg_metrics_opts(sg_metrics_conf_t *mc, sg_opt_t *out);

typedef struct sg_metrics_http sg_metrics_http_t;

/* Starts serving GET /metrics from m on listen (HOST:PORT as above) on a
 * thread of libmicrohttpd's (which never sees SIGINT/SIGTERM: the main
 * thread does). m must outlive the server. Returns the server, or NULL
 * with a one-line reason in errstr (the address does not resolve, the
 * port is taken). */
sg_metrics_http_t *sg_metrics_http_start(const char *listen, sg_metrics_t *m,
                                         char *errstr, size_t errstr_size);

/* The port it listens on (useful after port 0). */
int sg_metrics_http_port(const sg_metrics_http_t *h);

/* Stops the server and frees h. NULL-safe. */
void sg_metrics_http_stop(sg_metrics_http_t *h);

/* A daemon's start: the process basics (sg_metrics_process) in m and,
 * when mc->listen is set, the server (*out; NULL when off). Returns 0, or
 * -1 after logging one line (the daemon exits 1). */
int sg_metrics_serve(const sg_metrics_conf_t *mc, sg_metrics_t *m,
                     sg_metrics_http_t **out) SG_MUST_CHECK;

/* Splits HOST:PORT (forms above) into host (brackets removed; "127.0.0.1"
 * when none is given) and port. Returns 0, or -1 when malformed. */
int sg_metrics_parse_listen(const char *s, char *host, size_t host_size,
                            int *port) SG_MUST_CHECK;

/* An HTTP server's request metrics: sg_http_requests_total{route,status}
 * and sg_http_request_duration_seconds{route}. route is the route's
 * template ("/compliance/flags/{flag_id}", never the raw path: a raw path
 * holds ids), bounded anyway at max_routes series (then "other"). */
typedef struct sg_metrics_http_requests {
        sg_metric_t *requests;
        sg_metric_t *duration;
} sg_metrics_http_requests_t;

/* Registers the two families in m. */
void sg_metrics_http_requests_init(sg_metrics_http_requests_t *r,
                                   sg_metrics_t *m, int max_routes);

/* Counts one answered request (thread-safe; a lookup under the family's
 * lock, no allocation once the series exist). */
void sg_metrics_http_count(sg_metrics_http_requests_t *r, const char *route,
                           int status, double seconds);

#endif
