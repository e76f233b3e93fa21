#ifndef CONSENT_H
#define CONSENT_H

/* sg-consent's stage: the consent carried on the events (has_consent,
 * do_not_track) becomes a per-user history ordered by EVENT TIME
 * (consent_log: one row per change, the first event sets the initial
 * state) and a current state (user_consent), exactly once: the engine
 * commits each batch's rows with its offsets.
 *
 * The batch is buffered in memory (one small row per valid event); flush
 * sends it as array parameters and PostgreSQL, in the batch's
 * transaction, (1) adds the events to consent_events, the user's ordered
 * history, (2) deletes the user's consent_log rows from the batch's
 * earliest (event_timestamp, event_id) on, (3) recomputes them from
 * consent_events, starting from the state of the last row left, and (4)
 * rewrites user_consent. A late event thus lands in its place and
 * repairs what follows it; the rows are a function of the set of events,
 * so any arrival order and any batching give the same log
 * (docs/consent.md). */

#include <stdbool.h>
#include <stddef.h>

#include "sg_event.h"
#include "stage.h"

/* One valid event, as the stage keeps it until its batch commits. */
typedef struct sg_consent_row {
        char event_id[37];
        char user_id[37];
        long long ts_us;
        sg_event_type_t type;
        char country[8];
        bool is_eu;
        bool has_consent;
        bool do_not_track;
} sg_consent_row_t;

typedef struct sg_consent {
        sg_consent_row_t *rows; /* the open batch */
        size_t n, cap;
        long long batch_invalid;
        long long batch_by_reason[SG_REASON__CNT];
        long long events, skipped_invalid; /* committed totals */
        long long changes;                 /* consent_log rows written */
        long long batch_changes;
} sg_consent_t;

/* The consumer (stage.h): its binary is sg_consumer_main over this. */
extern const sg_stage_t sg_consent_stage;

void sg_consent_init(sg_consent_t *c);
void sg_consent_fini(sg_consent_t *c);

/* Validates one message value and, if valid, adds its consent fields to
 * the batch. Invalid messages are counted and skipped (sg-raw-store keeps
 * them in the dead-letter store). Pure. Returns the verdict. */
sg_reason_t sg_consent_add_value(sg_consent_t *c, const char *value,
                                 size_t len);

/* Empties the batch (keeps the memory). */
void sg_consent_reset(sg_consent_t *c);

#endif
