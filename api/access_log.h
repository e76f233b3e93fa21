#ifndef SG_API_ACCESS_LOG_H
#define SG_API_ACCESS_LOG_H

/* api_access_log, written in batches off the request path: the server
 * threads add rows to a bounded queue in memory; the database thread
 * copies them out (COPY) every SG_API_ACCESS_FLUSH_MS or
 * SG_API_ACCESS_FLUSH_ROWS rows, and once more at shutdown. Rows hold the
 * route template, never the raw path, the query string or the client's
 * address. Thread-safe. */

#include <stdbool.h>

#include <libpq-fe.h>

#include "sg_defs.h"
#include "sg_pg_err.h"

#define SG_API_ACCESS_FLUSH_MS 200
#define SG_API_ACCESS_FLUSH_ROWS 2000

typedef struct sg_api_access_row {
        long long at_us;      /* wall clock, when the answer was done */
        char token_name[65];  /* "" when none */
        char role[8];         /* "" when none */
        char method[8];       /* GET, POST, ... or OTHER */
        const char *route;    /* a template of the route table; NULL: none */
        int status;
        double duration_ms;
} sg_api_access_row_t;

typedef struct sg_api_access_log sg_api_access_log_t;

/* max_rows bounds the queue (rows over it are dropped and counted: only
 * while PostgreSQL is away for long). */
sg_api_access_log_t *sg_api_access_log_new(int max_rows);
void sg_api_access_log_destroy(sg_api_access_log_t *l);

void sg_api_access_log_add(sg_api_access_log_t *l,
                           const sg_api_access_row_t *row);

/* True if a flush is due (enough rows, or the oldest waited long enough). */
bool sg_api_access_log_due(sg_api_access_log_t *l, long long now_ms);

/* Copies the queued rows into api_access_log in one COPY. Returns the rows
 * written (0: none queued), or -1 with err (the rows stay queued). */
int sg_api_access_log_flush(sg_api_access_log_t *l, PGconn *conn,
                            sg_pg_err_t *err) SG_MUST_CHECK;

/* Rows queued; rows dropped since the start. */
int sg_api_access_log_pending(sg_api_access_log_t *l);
long long sg_api_access_log_dropped(sg_api_access_log_t *l);

#endif
