#ifndef SG_LEDGER_H
#define SG_LEDGER_H

/* The engine's ledger: for each (topic, partition) it has met, whether
 * it is assigned to this member, at its end, what PostgreSQL holds for
 * it (the stored next offset) and what the open batch will store (the
 * pending next offset). Pure: no Kafka, no PostgreSQL; the engine feeds
 * it events and reads it back. Keyed by topic too: a consumer may read
 * more than one topic. */

#include <stdbool.h>
#include <stdint.h>

#define SG_LEDGER_NONE (-1) /* no offset (nothing stored, nothing pending) */

typedef struct sg_ledger_part {
        const char *topic; /* the ledger's copy */
        int32_t partition;
        bool assigned;
        bool eof;
        int64_t stored;
        int64_t pending;
} sg_ledger_part_t;

typedef struct sg_ledger_topic {
        char *name;
        sg_ledger_part_t *parts; /* indexed by partition id */
        int nparts;
} sg_ledger_topic_t;

typedef struct sg_ledger {
        sg_ledger_topic_t *topics;
        int ntopics;
        int batch_msgs; /* messages in the open batch */
} sg_ledger_t;

/* The offsets a batch stores: partitions with a pending offset, their new
 * next offsets and the stored ones they replace (the fence). */
typedef struct sg_ledger_batch {
        int n, cap;
        const char **topics;
        int32_t *parts;
        int64_t *next;
        int64_t *expected;
} sg_ledger_batch_t;

void sg_ledger_init(sg_ledger_t *l);
void sg_ledger_fini(sg_ledger_t *l);

/* The entry of (topic, partition), added (unassigned, nothing stored) if
 * new. Returns NULL only for a partition id outside 0..1,000,000. */
sg_ledger_part_t *sg_ledger_get(sg_ledger_t *l, const char *topic,
                                int32_t partition);

/* The entry, or NULL if the ledger never met it. */
sg_ledger_part_t *sg_ledger_find(const sg_ledger_t *l, const char *topic,
                                 int32_t partition);

/* The partition was assigned, starting from stored (SG_LEDGER_NONE:
 * nothing stored); or revoked (whatever was pending is dropped). */
void sg_ledger_assign(sg_ledger_part_t *p, int64_t stored);
void sg_ledger_revoke(sg_ledger_part_t *p);

/* A message at offset was added to the open batch. Returns false (and
 * changes nothing) if its partition is not assigned: the message is
 * left over from before a rebalance and must be skipped. */
bool sg_ledger_add(sg_ledger_t *l, sg_ledger_part_t *p, int64_t offset);

/* The partition reached its end (its pending or stored offset is the
 * log's end). Any message clears it again. */
void sg_ledger_eof(sg_ledger_part_t *p);

/* Fills b with the partitions that have a pending offset, in the order
 * the ledger holds them. Returns b->n. */
int sg_ledger_pending(const sg_ledger_t *l, sg_ledger_batch_t *b);

/* The batch b committed: its next offsets are now the stored ones. */
void sg_ledger_committed(sg_ledger_t *l, const sg_ledger_batch_t *b);

/* The open batch will never commit: nothing is pending any more. */
void sg_ledger_discard(sg_ledger_t *l);

/* Where the partition's reading stands: pending, else stored. */
int64_t sg_ledger_position(const sg_ledger_part_t *p);

/* Assigned partitions; and whether every one of them is at its end
 * (false when none is assigned). */
int sg_ledger_assigned(const sg_ledger_t *l);
bool sg_ledger_all_eof(const sg_ledger_t *l);

/* Iteration over every entry: for (sg_ledger_part_t *p = NULL;
 * (p = sg_ledger_next(l, p));). */
sg_ledger_part_t *sg_ledger_next(const sg_ledger_t *l, sg_ledger_part_t *p);

void sg_ledger_batch_init(sg_ledger_batch_t *b);
void sg_ledger_batch_fini(sg_ledger_batch_t *b);

#endif
