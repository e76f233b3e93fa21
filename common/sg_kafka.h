#ifndef SG_KAFKA_H
#define SG_KAFKA_H

#include <stdbool.h>
#include <stddef.h>
#include <librdkafka/rdkafka.h>

#include "sg_cli.h"

/* Path of the file sg-broker writes its bootstrap address to:
 * $SG_BROKER_FILE, else /tmp/sg-broker-<uid>.addr. */
const char *sg_kafka_broker_file(char *buf, size_t size);

/* Resolves the bootstrap servers: --brokers, then
 * $KAFKA_BOOTSTRAP_SERVERS, then the address file (written by sg-broker or
 * by scripts/kafka.sh). *embedded is set when the address is sg-broker's
 * (librdkafka's mock cluster). Returns 0, or -1 with a one-line
 * explanation in errstr. */
int sg_kafka_brokers(const sg_cli_common_t *c, char *out, size_t size,
                     bool *embedded, char *errstr, size_t errstr_size);

/* Reads the run id sg-broker wrote beside its address (a new one each
 * time it starts). Returns 0, or -1 if there is none. */
int sg_kafka_embedded_run_id(char *out, size_t size);

/* Creates a configuration: bootstrap servers resolved as above, our
 * logger and error callback, then defaults (a NULL-terminated list of
 * key, value pairs; may be NULL), then the -X properties (which win).
 * Returns NULL with errstr set on failure; the caller owns the conf
 * (rd_kafka_new takes it over). */
rd_kafka_conf_t *sg_kafka_conf_new(const sg_cli_common_t *c,
                                   const char *const *defaults,
                                   bool *embedded, char *errstr,
                                   size_t errstr_size);

/* Kafka reachability, for the daemons' log: the error callback of
 * sg_kafka_conf_new notes a transport error or that every broker went
 * down; sg_kafka_watch, called from a daemon's loop, then probes (a
 * metadata request, at most once a second, 200 ms at most). A probe that
 * fails confirms the outage (one "unreachable" line unless librdkafka said
 * so already); the first that succeeds after it logs one "kafka reachable
 * again" line. A transport error the next probe contradicts logs nothing
 * more. Cheap when nothing happened. */
void sg_kafka_watch(rd_kafka_t *rk);

/* A producer gives up what it still holds: the messages queued or in
 * flight are purged (their delivery reports say failed) and those reports
 * are served (1 s at most). */
void sg_kafka_purge(rd_kafka_t *rk);

#endif
