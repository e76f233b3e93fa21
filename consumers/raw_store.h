#ifndef RAW_STORE_H
#define RAW_STORE_H

/* sg-raw-store's batch: valid events become events_raw rows, invalid ones
 * events_rejected rows, duplicates (an event_id already stored) are
 * counted in events_duplicates. Plugs into sg_consumer (the exactly-once
 * loop) through sg_raw_store_ops. */

#include <stdbool.h>
#include <stdint.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>

#include "sg_buf.h"
#include "sg_consumer.h"
#include "sg_event.h"

typedef struct sg_raw_store {
        const char *group;
        const char *topic;
        sg_buf_t rows;    /* COPY text for events_raw */
        sg_buf_t rejects; /* COPY text for events_rejected */
        size_t sent;      /* bytes of rows already streamed (feed) */
        bool copy_open;   /* COPY events_raw is open on the connection */
        long long batch_rows, batch_rejects, batch_dups;
        long long batch_by_reason[SG_REASON__CNT];
        long long stored, rejected, duplicates;
        long long by_reason[SG_REASON__CNT];
        char dlq[3 * SG_EVENT_MAX_VALUE + 1]; /* scratch for payloads */
} sg_raw_store_t;

extern const sg_consumer_ops_t sg_raw_store_ops;

void sg_raw_store_init(sg_raw_store_t *rs, const char *group,
                       const char *topic);
void sg_raw_store_fini(sg_raw_store_t *rs);

/* Validates one message value and appends its row to the batch: an
 * events_raw row if valid, else an events_rejected row. Pure (no I/O).
 * Returns the verdict. */
sg_reason_t sg_raw_store_add_value(sg_raw_store_t *rs, const char *value,
                                   size_t len, int32_t partition,
                                   int64_t offset);

/* Appends one events_raw COPY row for ev (column order of
 * SG_RAW_STORE_COLUMNS). Pure. */
void sg_raw_store_encode_row(sg_buf_t *b, const sg_event_t *ev,
                             const char *topic, int32_t partition,
                             int64_t offset);

#endif
