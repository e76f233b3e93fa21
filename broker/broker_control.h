#ifndef BROKER_CONTROL_H
#define BROKER_CONTROL_H

/* sg-broker's fault-injection channel: one text command per line, applied
 * to the mock cluster through librdkafka's fault API. Used by the
 * reliability tests; documented in `sg-broker --help`.
 *
 *   down BROKER_ID            the broker closes connections, refuses new ones
 *   up BROKER_ID              ... and accepts them again
 *   rtt BROKER_ID MS          adds MS milliseconds of round-trip time
 *   errors API COUNT ERROR    the next COUNT requests of API fail with ERROR
 *                             (API: Produce, Fetch, ListOffsets, Metadata,
 *                             OffsetCommit, OffsetFetch, FindCoordinator,
 *                             JoinGroup, Heartbeat, LeaveGroup, SyncGroup,
 *                             InitProducerId, or a number; ERROR: a Kafka
 *                             error name such as NOT_LEADER_FOR_PARTITION or
 *                             COORDINATOR_NOT_AVAILABLE)
 *   clear API                 drops the errors still queued for API
 */

#include <stddef.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

/* Applies one command line. Returns 0, or -1 with a reason in errstr. */
int sg_broker_control_apply(rd_kafka_mock_cluster_t *mcluster,
                            const char *line, char *errstr,
                            size_t errstr_size);

/* Parses a Kafka API name (or number) into its ApiKey; -1 if unknown. */
int sg_broker_control_api(const char *name);

/* Parses a Kafka error name ("NOT_LEADER_FOR_PARTITION", with or without
 * the "RD_KAFKA_RESP_ERR_" prefix) into its code; returns 0 and sets *err,
 * or -1 if unknown. */
int sg_broker_control_error(const char *name, rd_kafka_resp_err_t *err);

#endif
