#ifndef STREAM_METRICS_H
#define STREAM_METRICS_H

/* sg-stream-metrics' batch: valid events are aggregated in memory into the
 * three daily metrics (by type; by country and type; by content) and the
 * events per minute of event time, and the aggregates are added to
 * metrics_streaming_* in the transaction that also stores the group's
 * offsets, so each event counts exactly once. The write rate follows the
 * number of distinct keys per flush, not the event rate. */

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#include "sg_event.h"
#include "stage.h"

/* One aggregate: a key (UTC day, event type or -1, a string or "") and
 * three sums. Pure data: unit tests read it directly. */
typedef struct sg_agg_entry {
        bool used;
        int8_t type;
        int32_t day;          /* days since 1970-01-01 (UTC) */
        char str[65];         /* country or content_id */
        long long v[3];       /* events, amount in cents, - | plays,
                                 playback_errors, watch_seconds */
} sg_agg_entry_t;

typedef struct sg_agg_map {
        sg_agg_entry_t *e;
        size_t cap;
        size_t n;
} sg_agg_map_t;

typedef struct sg_stream_metrics {
        sg_agg_map_t daily;   /* (day, type): events, cents */
        sg_agg_map_t country; /* (day, type, country): events, cents */
        sg_agg_map_t content; /* (day, content_id): plays, errors, watch */
        sg_agg_map_t minute;  /* (UTC minute in .day, -1, ""): events
                                 (metrics_streaming_minute, sql/016) */
        long long batch_valid, batch_invalid;
        long long counted, skipped_invalid;
} sg_stream_metrics_t;

/* The consumer (stage.h): its binary is sg_consumer_main over this. */
extern const sg_stage_t sg_stream_metrics_stage;

void sg_stream_metrics_init(sg_stream_metrics_t *sm);
void sg_stream_metrics_fini(sg_stream_metrics_t *sm);

/* Validates one message value and, if valid, adds it to the aggregates.
 * Invalid messages are counted and skipped (sg-raw-store keeps them in
 * the dead-letter store). Pure. Returns the verdict. */
sg_reason_t sg_stream_metrics_add_value(sg_stream_metrics_t *sm,
                                        const char *value, size_t len);

/* Adds one valid event to the aggregates. Pure. */
void sg_stream_metrics_add_event(sg_stream_metrics_t *sm,
                                 const sg_event_t *ev);

/* Finds the aggregate with this key; NULL if absent. */
const sg_agg_entry_t *sg_agg_map_find(const sg_agg_map_t *m, int32_t day,
                                      int type, const char *str);

/* The UTC minute of a timestamp, as sg_stream_metrics_t.minute keys it:
 * minutes since the epoch (the contract's years fit an int32_t). */
int32_t sg_stream_metrics_minute(long long ts_us);

/* Empties the aggregates (keeps the memory). */
void sg_stream_metrics_reset(sg_stream_metrics_t *sm);

#endif
