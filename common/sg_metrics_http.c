#include "sg_metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sg_log.h"

#define SG_METRICS_CONN_LIMIT 16
#define SG_METRICS_CONN_TIMEOUT_S 10

struct sg_metrics_http {
        struct MHD_Daemon *mhd;
        sg_metrics_t *m;
        int port;
};

void sg_metrics_conf_init(sg_metrics_conf_t *mc)
{
        memset(mc, 0, sizeof(*mc));
}

int sg_metrics_parse_listen(const char *s, char *host, size_t host_size,
                            int *port)
{
        const char *colon, *hs, *he;

        if (s == NULL || *s == '\0')
                return -1;
        if (s[0] == '[') { /* [v6]:PORT */
                he = strchr(s, ']');
                if (he == NULL || he[1] != ':')
                        return -1;
                hs = s + 1;
                colon = he + 1;
        } else {
                colon = strrchr(s, ':');
                if (colon != NULL && memchr(s, ':', (size_t)(colon - s)))
                        return -1; /* an IPv6 address needs brackets */
                hs = s;
                he = colon != NULL ? colon : s;
        }
        const char *ps = colon != NULL ? colon + 1 : s;
        long long p;
        if (sg_cli_parse_long(ps, 0, 65535, &p) != 0)
                return -1;
        size_t n = (size_t)(he - hs);
        if (n == 0) {
                hs = "127.0.0.1";
                n = strlen(hs);
        }
        if (n + 1 > host_size || memchr(hs, '/', n) || memchr(hs, ' ', n))
                return -1;
        memcpy(host, hs, n);
        host[n] = '\0';
        *port = (int)p;
        return 0;
}

static int parse_listen_opt(const char *arg, void *dest, char *err,
                            size_t err_size)
{
        char host[256];
        int port;

        if (sg_metrics_parse_listen(arg, host, sizeof(host), &port) != 0) {
                snprintf(err, err_size,
                         "must be PORT or HOST:PORT ([ADDR]:PORT for IPv6)");
                return -1;
        }
        *(const char **)dest = arg;
        return 0;
}

void sg_metrics_opts(sg_metrics_conf_t *mc, sg_opt_t *out)
{
        const sg_opt_t opts[] = {
            {.name = "metrics-listen", .kind = SG_OPT_CUSTOM,
             .dest = &mc->listen, .arg = "HOST:PORT",
             .parse = parse_listen_opt,
             .help = "serve Prometheus metrics on GET /metrics there (off"
                     "\nby default; PORT alone: 127.0.0.1:PORT; no"
                     "\nauthentication, no personal data)"},
            SG_OPT_END,
        };
        memcpy(out, opts, sizeof(opts));
}

static enum MHD_Result answer(struct MHD_Response *resp,
                              struct MHD_Connection *conn, unsigned status,
                              const char *type)
{
        if (resp == NULL)
                return MHD_NO;
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
        enum MHD_Result r = MHD_queue_response(conn, status, resp);
        MHD_destroy_response(resp);
        return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
        sg_metrics_http_t *h = cls;
        static const char not_found[] = "not found\n";
        static const char not_allowed[] = "method not allowed\n";
        (void)version;
        (void)upload;
        (void)upload_size;
        (void)con_cls;

        if (strcmp(url, "/metrics") != 0)
                return answer(MHD_create_response_from_buffer(
                                  sizeof(not_found) - 1, (void *)not_found,
                                  MHD_RESPMEM_PERSISTENT),
                              conn, MHD_HTTP_NOT_FOUND, "text/plain");
        if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
            strcmp(method, MHD_HTTP_METHOD_HEAD) != 0) {
                struct MHD_Response *resp = MHD_create_response_from_buffer(
                    sizeof(not_allowed) - 1, (void *)not_allowed,
                    MHD_RESPMEM_PERSISTENT);
                if (resp != NULL)
                        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
                                                "GET, HEAD");
                return answer(resp, conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                              "text/plain");
        }
        sg_buf_t b;
        sg_buf_init(&b);
        sg_metrics_render(h->m, &b);
        /* The buffer is handed over: libmicrohttpd free()s it. */
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            b.len, b.data ? b.data : (void *)"",
            b.data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (resp == NULL)
                sg_buf_fini(&b);
        return answer(resp, conn, MHD_HTTP_OK, SG_METRICS_CONTENT_TYPE);
}

/* A listening socket on host:port, or -1 with the reason in errstr. */
static int listen_socket(const char *host, int port, int *family,
                         char *errstr, size_t errstr_size)
{
        struct addrinfo hints = {0}, *res = NULL;
        char ports[8];
        int fd = -1, one = 1, rc;

        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        snprintf(ports, sizeof(ports), "%d", port);
        rc = getaddrinfo(host, ports, &hints, &res);
        if (rc != 0) {
                snprintf(errstr, errstr_size, "%s: %s", host,
                         gai_strerror(rc));
                return -1;
        }
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
            bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
            listen(fd, 64) != 0) {
                snprintf(errstr, errstr_size, "%s:%d: %s", host, port,
                         strerror(errno));
                if (fd >= 0)
                        close(fd);
                fd = -1;
        } else {
                *family = res->ai_family;
        }
        freeaddrinfo(res);
        return fd;
}

static int local_port(int fd)
{
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
                return -1;
        char serv[16];
        if (getnameinfo((struct sockaddr *)&ss, len, NULL, 0, serv,
                        sizeof(serv), NI_NUMERICSERV) != 0)
                return -1;
        return atoi(serv);
}

sg_metrics_http_t *sg_metrics_http_start(const char *listen, sg_metrics_t *m,
                                         char *errstr, size_t errstr_size)
{
        char host[256];
        int port, family = AF_INET;
        sigset_t block, old;

        if (sg_metrics_parse_listen(listen, host, sizeof(host), &port) != 0) {
                snprintf(errstr, errstr_size, "malformed address");
                return NULL;
        }
        int fd = listen_socket(host, port, &family, errstr, errstr_size);
        if (fd < 0)
                return NULL;
        sg_metrics_http_t *h = sg_xcalloc(1, sizeof(*h));
        h->m = m;
        h->port = local_port(fd);

        /* The server's thread inherits this mask: the stop signals go to
         * the daemon's threads, whose loops look at the flag. */
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        h->mhd = MHD_start_daemon(
            MHD_USE_INTERNAL_POLLING_THREAD |
                (family == AF_INET6 ? MHD_USE_IPv6 : 0),
            0, NULL, NULL, on_request, h, MHD_OPTION_LISTEN_SOCKET, fd,
            MHD_OPTION_CONNECTION_LIMIT, (unsigned)SG_METRICS_CONN_LIMIT,
            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)SG_METRICS_CONN_TIMEOUT_S,
            MHD_OPTION_END);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (h->mhd == NULL) {
                snprintf(errstr, errstr_size, "%s:%d: cannot start the server",
                         host, port);
                close(fd);
                free(h);
                return NULL;
        }
        return h;
}

int sg_metrics_http_port(const sg_metrics_http_t *h)
{
        return h != NULL ? h->port : -1;
}

void sg_metrics_http_stop(sg_metrics_http_t *h)
{
        if (h == NULL)
                return;
        /* MHD_stop_daemon closes the listening socket it was given. */
        MHD_stop_daemon(h->mhd);
        free(h);
}

int sg_metrics_serve(const sg_metrics_conf_t *mc, sg_metrics_t *m,
                     sg_metrics_http_t **out)
{
        char err[512];

        *out = NULL;
        sg_metrics_process(m, SG_VERSION);
        if (mc->listen == NULL)
                return 0;
        *out = sg_metrics_http_start(mc->listen, m, err, sizeof(err));
        if (*out == NULL) {
                sg_error("metrics: cannot listen on %s", err);
                return -1;
        }
        sg_info("metrics listening on %s port=%d", mc->listen,
                sg_metrics_http_port(*out));
        return 0;
}

void sg_metrics_http_requests_init(sg_metrics_http_requests_t *r,
                                   sg_metrics_t *m, int max_routes)
{
        static const char *const rs[] = {"route", "status", NULL};
        static const char *const ro[] = {"route", NULL};
        r->requests = sg_metrics_counter(
            m, "sg_http_requests_total",
            "HTTP requests answered, by route template and status.", rs,
            max_routes * 8);
        r->duration = sg_metrics_histogram(
            m, "sg_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.", ro,
            max_routes, sg_metrics_seconds_buckets,
            sg_metrics_seconds_nbuckets);
}

void sg_metrics_http_count(sg_metrics_http_requests_t *r, const char *route,
                           int status, double seconds)
{
        char st[16];
        snprintf(st, sizeof(st), "%d", status);
        const char *values[2] = {route, st};
        sg_series_inc(sg_metric_series(r->requests, values));
        sg_series_observe(sg_metric_series1(r->duration, route), seconds);
}
