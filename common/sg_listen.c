#include "sg_listen.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

struct sg_listen {
        sg_pg_session_t pg;
        char *channel;
        bool fatal; /* a permanent failure was said */
};

/* Sends LISTEN on the current connection. LISTEN takes no parameters, so
 * the channel is quoted as an identifier by libpq. Returns 0, or -1 with
 * err. */
static int sg_listen_subscribe(sg_listen_t *l, sg_pg_err_t *err)
{
        PGconn *conn = l->pg.conn;
        char *ident = PQescapeIdentifier(conn, l->channel, strlen(l->channel));
        char sql[512];

        if (!ident) {
                sg_pg_err_set(err, conn, NULL, "LISTEN");
                return -1;
        }
        snprintf(sql, sizeof(sql), "LISTEN %s", ident);
        PQfreemem(ident);
        return sg_pg_exec(conn, sql, err);
}

/* (Re)connects and LISTENs until both succeed. Returns 0, or -1 if a stop
 * was requested or the failure is permanent (said in one line). */
static int sg_listen_connect(sg_listen_t *l)
{
        sg_backoff_t backoff;
        sg_pg_err_t err;

        sg_backoff_init(&backoff, 500, 10000);
        for (;;) {
                sg_pg_session_drop(&l->pg);
                if (!sg_pg_session_get(&l->pg, &err)) {
                        if (err.msg[0]) {
                                sg_error("%s", err.msg);
                                l->fatal = true;
                        }
                        return -1;
                }
                if (sg_listen_subscribe(l, &err) == 0)
                        return 0;
                if (!err.transient) {
                        sg_error("cannot LISTEN channel=%s: %s", l->channel,
                                 err.msg);
                        l->fatal = true;
                        return -1;
                }
                sg_warn("cannot LISTEN channel=%s, retrying in %d ms "
                        "reason=\"%s\"",
                        l->channel, backoff.delay_ms, err.msg);
                if (sg_backoff_wait(&backoff))
                        return -1;
        }
}

sg_listen_t *sg_listen_open(const sg_cli_common_t *c, const char *appname,
                            const char *channel)
{
        sg_listen_t *l = sg_xcalloc(1, sizeof(*l));

        sg_pg_session_init(&l->pg, c, "sg_writer", appname);
        l->channel = sg_xstrdup(channel);
        if (sg_listen_connect(l) < 0) {
                sg_listen_close(l);
                return NULL;
        }
        sg_info("listening channel=%s", channel);
        return l;
}

/* Consumes what is buffered. Returns the number of notifications, or -1
 * when the connection is broken. */
static int sg_listen_drain(sg_listen_t *l)
{
        PGnotify *n;
        int count = 0;

        if (!PQconsumeInput(l->pg.conn))
                return -1;
        while ((n = PQnotifies(l->pg.conn)) != NULL) {
                count++;
                PQfreemem(n);
        }
        return PQstatus(l->pg.conn) == CONNECTION_OK ? count : -1;
}

int sg_listen_wait(sg_listen_t *l, int timeout_ms)
{
        struct pollfd pfd;
        sg_pg_err_t err;
        int count, r;

        /* Notifications already read off the socket by an earlier call. */
        count = sg_listen_drain(l);
        if (count > 0)
                return count;
        if (count == 0) {
                pfd.fd = PQsocket(l->pg.conn);
                pfd.events = POLLIN;
                pfd.revents = 0;
                if (pfd.fd < 0)
                        goto lost;
                r = poll(&pfd, 1, timeout_ms < 0 ? 0 : timeout_ms);
                if (r < 0 && errno != EINTR)
                        goto lost;
                if (r <= 0)
                        return 0;
                count = sg_listen_drain(l);
                if (count >= 0)
                        return count;
        }
lost:
        sg_pg_err_set(&err, l->pg.conn, NULL, "listen connection");
        sg_warn("listen connection lost channel=%s reason=\"%s\"; "
                "reconnecting",
                l->channel, err.msg);
        if (sg_listen_connect(l) < 0)
                return -1;
        sg_info("listening again channel=%s (notifications sent meanwhile "
                "are looked for by polling)",
                l->channel);
        return SG_LISTEN_RECONNECTED;
}

int sg_listen_socket(const sg_listen_t *l)
{
        return l && l->pg.conn ? PQsocket(l->pg.conn) : -1;
}

bool sg_listen_failed(const sg_listen_t *l)
{
        return l && l->fatal;
}

void sg_listen_close(sg_listen_t *l)
{
        if (!l)
                return;
        sg_pg_session_close(&l->pg);
        free(l->channel);
        free(l);
}

int sg_listen_start(sg_pg_session_t *s, const sg_cli_common_t *c,
                    const char *channel, bool once, sg_listen_t **listen,
                    bool *fatal)
{
        bool up = sg_pg_session_conn(s) != NULL;

        *listen = NULL;
        *fatal |= s->failed;
        if (up && !once)
                *listen = sg_listen_open(c, s->appname, channel);
        if (s->conn && (once || *listen))
                return 0;
        if (!*fatal && !sg_stop_requested)
                *fatal = true; /* LISTEN failed for good: said */
        else if (!*fatal)
                sg_info("stopped before the database was reachable");
        return -1;
}
