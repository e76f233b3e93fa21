#ifndef SG_REPLAY_H
#define SG_REPLAY_H

/* Reading a partition's past again, for a stage that keeps its state in
 * memory and snapshots it now and then (sg-compliance): after a restart
 * or a rebalance it restores the snapshot and replays the messages from
 * the snapshot's offset up to where the group's committed offset is.
 * A plain consumer outside the group (no offsets committed, no
 * rebalance), created on first use and kept. */

#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_pg_err.h"
#include "stage.h"

typedef struct sg_replay sg_replay_t;

/* A stage's view of a librdkafka message (valid while m is). */
void sg_replay_msg(sg_msg_t *msg, const char *topic,
                   const rd_kafka_message_t *m);

/* NULL-safe destroy; new never fails (the consumer is made on first
 * read). */
sg_replay_t *sg_replay_new(const sg_cli_common_t *common);
void sg_replay_destroy(sg_replay_t *r);

/* Calls fn for each message of topic's partition with from <= offset <
 * to, in order. Messages the log no longer holds (retention) are
 * skipped, said in one line; *read receives the count delivered. Returns
 * 0, fn's negative value, or -1 with err (transient: the broker did not
 * answer within timeout_ms). */
int sg_replay_read(sg_replay_t *r, const char *topic, int32_t partition,
                   int64_t from, int64_t to, int timeout_ms,
                   int (*fn)(void *arg, const sg_msg_t *msg), void *arg,
                   long long *read, sg_pg_err_t *err) SG_MUST_CHECK;

#endif
