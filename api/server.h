#ifndef SG_API_SERVER_H
#define SG_API_SERVER_H

/* sg-api's server: libmicrohttpd (a pool of epoll threads, connections
 * suspended while they wait), a Kafka producer for POST /events, a few
 * database workers for everything that reads or writes PostgreSQL, and one
 * database thread for the tokens and the access log. */

#include <stdbool.h>

#include "sg_cli.h"
#include "sg_metrics_http.h"

typedef struct sg_api_conf {
        const sg_cli_common_t *common;
        const char *listen;          /* HOST:PORT ([v6]:PORT); port 0: any */
        const char *tls_cert;        /* PEM files; both or neither */
        const char *tls_key;
        long long max_body;          /* bytes */
        int max_batch;               /* events per request */
        int request_timeout_s;       /* idle connection, and a whole body */
        int max_connections;
        double ack_timeout_s;        /* POST /events: broker acknowledgements */
        int threads;                 /* HTTP threads */
        int db_workers;              /* database workers (connections) */
        int auth_fail_limit;         /* failed authentications a minute */
        int token_cache_ms;          /* how long tokens are trusted unreloaded */
        const char *www_dir;         /* the dashboard's files */
        const char *chartjs;         /* /static/vendor/chart.umd.js */
        int progress_s;
        /* --metrics-listen: /metrics on a port of its own too (it is
         * always on the API's port, without a token) */
        const sg_metrics_conf_t *metrics;
} sg_api_conf_t;

/* Runs the server until SIGINT/SIGTERM. Returns the exit status: 0 after a
 * clean stop, 1 after a failure (said in one line). */
int sg_api_server_run(const sg_api_conf_t *conf);

/* The OpenAPI document, embedded at build time (api/openapi.json). */
extern const char sg_api_openapi_json[];
extern const unsigned long sg_api_openapi_json_len;

#endif
