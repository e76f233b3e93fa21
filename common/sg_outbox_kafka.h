#ifndef SG_OUTBOX_KAFKA_H
#define SG_OUTBOX_KAFKA_H

/* An outbox sender that publishes to a Kafka topic: an idempotent
 * producer, key = the row's msg_key, value = its payload. Delivery reports
 * go back to the outbox (sg_outbox_done). A producer that fails fatally
 * (idempotence state lost, a broker that cannot do idempotence) is
 * replaced, after 1 s doubling to 5 minutes while new ones keep failing;
 * its messages are reported failed and sent again later. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_outbox.h"

typedef struct sg_outbox_kafka sg_outbox_kafka_t;

extern const sg_outbox_sender_ops_t sg_outbox_kafka_ops;

/* Resolves the brokers (--brokers, KAFKA_BOOTSTRAP_SERVERS, the broker
 * address file) and creates the producer for topic. Returns NULL with
 * errstr on failure; *no_broker is set when no broker is configured at
 * all. The caller destroys the result (after the outbox that uses it). */
sg_outbox_kafka_t *sg_outbox_kafka_new(const sg_cli_common_t *c,
                                       const char *topic, const char *appname,
                                       bool *no_broker, char *errstr,
                                       size_t errstr_size) SG_MUST_CHECK;

/* Reports go to ob (set once the outbox exists). */
void sg_outbox_kafka_attach(sg_outbox_kafka_t *k, sg_outbox_t *ob);

/* How long (seconds) a lease must last: longer than the producer's
 * message timeout plus its socket timeout, after which an undelivered
 * message has certainly been reported. */
int sg_outbox_kafka_lease_s(const sg_outbox_kafka_t *k);

/* The bootstrap servers in use (for log lines). */
const char *sg_outbox_kafka_brokers(const sg_outbox_kafka_t *k);

void sg_outbox_kafka_destroy(sg_outbox_kafka_t *k);

#endif
