#ifndef SG_OFFSETS_H
#define SG_OFFSETS_H

/* The exactly-once offset store: a consumer group's next offsets live in
 * PostgreSQL (stream_offsets), written in the same transaction as the rows
 * they produced, and are the only offsets the engine ever reads back.
 * Each row names its Kafka cluster: offsets of another cluster are not
 * applied to this one. */

#include <stdint.h>
#include <libpq-fe.h>

#include "ledger.h"
#include "sg_defs.h"
#include "sg_pg_err.h"

#define SG_OFFSETS_FENCED (-2) /* stored offsets moved under us */

/* Reads the stored next offset of n (topic, partition) pairs for group.
 * stored[i] is SG_LEDGER_NONE where no row exists; other_cluster[i] is 1
 * where the row was written for another cluster (then stored[i] is what
 * that cluster's row holds). Returns 0, or -1 with err. */
int sg_offsets_load(PGconn *conn, const char *group, const char *cluster_id,
                    int n, const char *const *topics,
                    const int32_t *partitions, int64_t *stored,
                    int *other_cluster, sg_pg_err_t *err) SG_MUST_CHECK;

/* Stores the batch's next offsets inside the caller's open transaction,
 * fenced: a row is only written if it still holds the batch's expected
 * value (SG_LEDGER_NONE: no row yet). Returns 0, SG_OFFSETS_FENCED if
 * another writer moved a partition's offset (the caller rolls back), or
 * -1 with err. */
int sg_offsets_store(PGconn *conn, const char *group, const char *cluster_id,
                     const sg_ledger_batch_t *b, sg_pg_err_t *err) SG_MUST_CHECK;

/* Records offsets that could not be read (reason: "retention",
 * "cluster_changed" or "out_of_range") in offset_gaps, inside the
 * caller's transaction. Returns 0, or -1 with err. */
int sg_offsets_record_gap(PGconn *conn, const char *group, const char *topic,
                          int32_t partition, const char *reason, int64_t from,
                          int64_t to, int64_t lost, const char *cluster_id,
                          sg_pg_err_t *err) SG_MUST_CHECK;

#endif
