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
        PGconn *conn;
        char *conninfo;
        char *appname;
        char *channel;
};

/* Sends LISTEN on the current connection. LISTEN takes no parameters, so
 * the channel is quoted as an identifier by libpq. Returns 0, or -1 with
 * errstr. */
static int sg_listen_subscribe(sg_listen_t *l, char *errstr, size_t errstr_size)
{
        char *ident =
            PQescapeIdentifier(l->conn, l->channel, strlen(l->channel));
        char sql[512];
        int rc;

        if (!ident) {
                sg_pg_errstr(l->conn, NULL, errstr, errstr_size);
                return -1;
        }
        snprintf(sql, sizeof(sql), "LISTEN %s", ident);
        PQfreemem(ident);
        rc = sg_pg_exec(l->conn, sql, errstr, errstr_size);
        return rc;
}

/* (Re)connects and LISTENs until both succeed. Returns 0, or -1 if a stop
 * was requested. */
static int sg_listen_connect(sg_listen_t *l)
{
        char errstr[512];
        int delay = 500;

        for (;;) {
                PQfinish(l->conn);
                l->conn = sg_pg_open_retry(l->conninfo, l->appname);
                if (!l->conn)
                        return -1;
                if (sg_listen_subscribe(l, errstr, sizeof(errstr)) == 0)
                        return 0;
                sg_warn("cannot LISTEN channel=%s, retrying in %d ms "
                        "reason=\"%s\"",
                        l->channel, delay, errstr);
                if (sg_sleep_ms(delay))
                        return -1;
                delay = delay * 2 > 10000 ? 10000 : delay * 2;
        }
}

sg_listen_t *sg_listen_open(const char *conninfo, const char *appname,
                            const char *channel)
{
        sg_listen_t *l = calloc(1, sizeof(*l));

        if (!l)
                return NULL;
        l->conninfo = strdup(conninfo);
        l->appname = strdup(appname);
        l->channel = strdup(channel);
        if (!l->conninfo || !l->appname || !l->channel ||
            sg_listen_connect(l) < 0) {
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

        if (!PQconsumeInput(l->conn))
                return -1;
        while ((n = PQnotifies(l->conn)) != NULL) {
                count++;
                PQfreemem(n);
        }
        return PQstatus(l->conn) == CONNECTION_OK ? count : -1;
}

int sg_listen_wait(sg_listen_t *l, int timeout_ms)
{
        struct pollfd pfd;
        char errstr[512];
        int count, r;

        /* Notifications already read off the socket by an earlier call. */
        count = sg_listen_drain(l);
        if (count > 0)
                return count;
        if (count == 0) {
                pfd.fd = PQsocket(l->conn);
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
        sg_pg_errstr(l->conn, NULL, errstr, sizeof(errstr));
        sg_warn("listen connection lost channel=%s reason=\"%s\"; "
                "reconnecting",
                l->channel, errstr);
        if (sg_listen_connect(l) < 0)
                return -1;
        sg_info("listening again channel=%s (notifications sent meanwhile "
                "are looked for by polling)",
                l->channel);
        return SG_LISTEN_RECONNECTED;
}

void sg_listen_close(sg_listen_t *l)
{
        if (!l)
                return;
        PQfinish(l->conn);
        free(l->conninfo);
        free(l->appname);
        free(l->channel);
        free(l);
}
