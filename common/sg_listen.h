#ifndef SG_LISTEN_H
#define SG_LISTEN_H

/* A dedicated PostgreSQL connection that LISTENs on one channel and waits
 * for notifications with a bounded timeout, so a daemon's loop stays
 * responsive to SIGINT/SIGTERM. A lost connection is re-opened (with the
 * session's capped backoff and log lines) and the channel is
 * LISTENed again; the caller is told, because notifications sent while the
 * connection was down are lost: it should look for work itself. Payloads
 * are not kept: a notification is a hint to look, never the work itself. */

#include <stdbool.h>

#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_pg.h"

/* sg_listen_wait(): the connection was lost and is back, LISTENing again. */
#define SG_LISTEN_RECONNECTED (-2)

typedef struct sg_listen sg_listen_t;

/* Connects (the conninfo of c, as sg_writer by default; retrying while
 * the database is unreachable) and LISTENs on channel. Returns NULL if a
 * stop was requested meanwhile or the failure is permanent (said in one
 * line). The caller closes the result with sg_listen_close(). */
sg_listen_t *sg_listen_open(const sg_cli_common_t *c, const char *appname,
                            const char *channel);

/* A LISTENing daemon's start: the session's first connection (waiting out
 * an outage) and, unless once, its LISTEN on channel (*listen; NULL with
 * once). Returns 0, or -1 when it cannot run: *fatal set when that is a
 * failure (said in one line), not when a stop was requested meanwhile
 * (said too). */
int sg_listen_start(sg_pg_session_t *s, const sg_cli_common_t *c,
                    const char *channel, bool once, sg_listen_t **listen,
                    bool *fatal) SG_MUST_CHECK;

/* Waits up to timeout_ms (0: just check) for notifications and consumes
 * all that have arrived. Returns how many arrived (0 on timeout),
 * SG_LISTEN_RECONNECTED after a lost connection was re-established, or -1
 * if a stop was requested while reconnecting or reconnecting failed for
 * good (sg_listen_failed). */
int sg_listen_wait(sg_listen_t *l, int timeout_ms) SG_MUST_CHECK;

/* The connection's socket, for a caller that waits on several things at
 * once (sg-alert: its HTTP transfers and this channel) and then calls
 * sg_listen_wait(l, 0); -1 if there is none. */
int sg_listen_socket(const sg_listen_t *l);

/* True after a permanent failure (a wrong password, say). */
bool sg_listen_failed(const sg_listen_t *l);

/* Closes the connection and frees l. NULL-safe. */
void sg_listen_close(sg_listen_t *l);

#endif
