#ifndef RAW_STORE_H
#define RAW_STORE_H

/* sg-raw-store's stage: valid events become events_raw rows (and their
 * ids event_ids rows, the registry that keeps event_id unique across
 * events_raw's monthly partitions), invalid ones events_rejected rows,
 * duplicates (an event_id already stored) are counted in
 * events_duplicates. Plugs into the engine (engine.h) through
 * sg_raw_store_stage. */

#include <stdbool.h>
#include <stdint.h>

#include "dead_letters.h"
#include "sg_buf.h"
#include "sg_event.h"
#include "stage.h"

typedef struct sg_raw_store {
        const char *group;
        const char *topic;
        sg_buf_t rows;    /* COPY text for events_raw */
        sg_buf_t rejects; /* COPY text for events_rejected */
        sg_buf_t ids;     /* COPY text for event_ids (the rows' ids) */
        size_t sent;      /* bytes of rows already streamed (feed) */
        bool copy_open;   /* COPY events_raw is open on the connection */
        long long batch_rows, batch_rejects, batch_dups;
        long long batch_by_reason[SG_REASON__CNT];
        long long stored, rejected, duplicates;
        long long by_reason[SG_REASON__CNT];
        char dlq[3 * SG_EVENT_MAX_VALUE + 1]; /* scratch for payloads */
        sg_dlw_t dlw; /* the dead-letter share (off until the stage sets it) */
} sg_raw_store_t;

/* sg-raw-store's own options. */
typedef struct sg_raw_store_conf {
        long long dl_window; /* offsets per dead-letter window; 0: off */
        double dl_pct;       /* alert above this share, percent */
} sg_raw_store_conf_t;

/* The consumer (stage.h): its binary is sg_consumer_main over this. */
extern const sg_stage_t sg_raw_store_stage;

void sg_raw_store_init(sg_raw_store_t *rs, const char *group,
                       const char *topic);
void sg_raw_store_fini(sg_raw_store_t *rs);

/* Validates one message value and appends its row to the batch: an
 * events_raw row if valid, else an events_rejected row, recording the
 * message's topic, partition and offset. Pure (no I/O). Returns the
 * verdict. sg_raw_store_add_value is the same for rs's topic. */
sg_reason_t sg_raw_store_add_msg(sg_raw_store_t *rs, const sg_msg_t *msg);
sg_reason_t sg_raw_store_add_value(sg_raw_store_t *rs, const char *value,
                                   size_t len, int32_t partition,
                                   int64_t offset);

/* Appends one events_raw COPY row for ev (column order of
 * SG_RAW_STORE_COLUMNS). Pure. */
void sg_raw_store_encode_row(sg_buf_t *b, const sg_event_t *ev,
                             const char *topic, int32_t partition,
                             int64_t offset);

#endif
