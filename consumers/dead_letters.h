#ifndef DEAD_LETTERS_H
#define DEAD_LETTERS_H

/* The dead-letter share of a consumer, per partition in windows of
 * offsets (dead_letter_windows, sql/011): each batch adds its messages
 * and its invalid ones to their windows, in the batch's transaction; a
 * window the consumer has passed is closed, and if more than pct % of its
 * messages were invalid, that is an alert (common/sg_alert.h: source
 * consumer, kind dead_letter_rate, once per window). Exactly once like
 * the rows: a batch replayed after a crash was never committed. */

#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

#include "sg_defs.h"
#include "sg_pg_err.h"

typedef struct sg_dlw_entry {
        int32_t partition;
        int64_t start;    /* the window's first offset */
        int64_t next;     /* the batch's highest offset in it + 1 */
        long long messages, invalid;
} sg_dlw_entry_t;

typedef struct sg_dlw {
        long long window; /* offsets per window; 0: off */
        double pct;       /* alert above this share (percent) */
        sg_dlw_entry_t *v;
        size_t n, cap;
        long long alerts; /* raised by committed batches (sg_dlw_committed) */
        long long batch_alerts;
} sg_dlw_t;

void sg_dlw_init(sg_dlw_t *d, long long window, double pct);
void sg_dlw_fini(sg_dlw_t *d);

/* One message of the batch. Pure. */
void sg_dlw_add(sg_dlw_t *d, int32_t partition, int64_t offset, bool invalid);

/* Writes the batch's windows, closes the windows passed and adds the
 * alerts, in the caller's transaction. Returns 0, or -1 with err. */
int sg_dlw_flush(sg_dlw_t *d, PGconn *conn, const char *group,
                 const char *topic, sg_pg_err_t *err) SG_MUST_CHECK;

/* The batch committed, or was abandoned: forget it. */
void sg_dlw_committed(sg_dlw_t *d);
void sg_dlw_discard(sg_dlw_t *d);

#endif
