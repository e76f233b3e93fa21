#ifndef SG_OFFSETS_H
#define SG_OFFSETS_H

/* The exactly-once offset store: a consumer group's next offsets live in
 * PostgreSQL (stream_offsets), written in the same transaction as the rows
 * they produced, and are the only offsets it ever reads back. */

#include <stdint.h>
#include <stddef.h>
#include <libpq-fe.h>

#define SG_OFFSETS_NONE (-1)    /* no row stored for the partition */

#define SG_OFFSETS_ERR (-1)     /* database error: see errstr */
#define SG_OFFSETS_FENCED (-2)  /* stored offsets moved under us */

/* Reads the stored next offset of each of n partitions of topic for group.
 * stored[i] is SG_OFFSETS_NONE where no row exists. Where a row was written
 * for another cluster (a different Kafka cluster, or an earlier sg-broker
 * run), other_cluster[i] is set to 1; else 0. Returns 0 or SG_OFFSETS_ERR. */
int sg_offsets_load(PGconn *conn, const char *group, const char *topic,
                    const char *cluster_id, int n, const int32_t *partitions,
                    int64_t *stored, int *other_cluster, char *errstr,
                    size_t errstr_size)
    __attribute__((warn_unused_result));

/* Stores next[i] for partitions[i] (i < n) inside the caller's open
 * transaction, fenced: a row is only written if its stored value still is
 * expected[i] (SG_OFFSETS_NONE: no row yet). Returns 0, SG_OFFSETS_FENCED
 * if any partition's stored offset was moved by another writer (the caller
 * must roll back), or SG_OFFSETS_ERR. */
int sg_offsets_store(PGconn *conn, const char *group, const char *topic,
                     const char *cluster_id, int n, const int32_t *partitions,
                     const int64_t *next, const int64_t *expected,
                     char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* Records offsets that could not be read (reason: "retention",
 * "cluster_changed" or "out_of_range") in offset_gaps, inside the caller's
 * transaction. Returns 0 or SG_OFFSETS_ERR. */
int sg_offsets_record_gap(PGconn *conn, const char *group, const char *topic,
                          int32_t partition, const char *reason,
                          int64_t from, int64_t to, int64_t lost,
                          const char *cluster_id, char *errstr,
                          size_t errstr_size)
    __attribute__((warn_unused_result));

#endif
