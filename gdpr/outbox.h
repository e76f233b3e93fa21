#ifndef SG_OUTBOX_H
#define SG_OUTBOX_H

/* The Kafka side of the erasure-notice outbox: an idempotent producer
 * that publishes notices (key = user_id) and sorts the requests whose
 * notices it queued into "all delivered" and "not delivered". The caller
 * records both in PostgreSQL (notice_sent_at, or the lease released), so
 * an outage delays notices and never loses them. Nothing here blocks:
 * erasure never waits for Kafka. */

#include <stdbool.h>
#include <stddef.h>

#include "notice.h"
#include "sg_cli.h"

typedef struct sg_outbox sg_outbox_t;

typedef struct sg_outbox_stats {
        long long queued;    /* messages handed to librdkafka */
        long long delivered; /* messages acknowledged by the broker */
        long long failed;    /* messages not delivered (kept pending) */
} sg_outbox_stats_t;

/* Resolves the brokers (--brokers, KAFKA_BOOTSTRAP_SERVERS, the sg-broker
 * file) and creates the producer for topic. Returns NULL with errstr on
 * failure; *no_broker is set when no broker is configured at all. The
 * caller destroys the result. */
sg_outbox_t *sg_outbox_new(const sg_cli_common_t *c, const char *topic,
                           const char *appname, bool *no_broker, char *errstr,
                           size_t errstr_size);

/* How long (seconds) a lease on an outbox row must last: longer than the
 * producer's message timeout plus its socket timeout, after which an
 * undelivered notice has certainly been reported failed. */
int sg_outbox_lease_s(const sg_outbox_t *ob);

/* The bootstrap servers in use (for log lines). */
const char *sg_outbox_brokers(const sg_outbox_t *ob);

/* Queues the notices of list (grouped by request, as sg_erase returns
 * them). A request whose notices are already in flight is skipped; one
 * whose notices cannot be queued goes to the not-delivered list. Returns
 * the number of messages queued. */
int sg_outbox_send(sg_outbox_t *ob, const sg_notice_list_t *list);

/* Serves delivery reports, waiting up to timeout_ms. After a fatal
 * producer error, the producer is replaced (its requests are reported not
 * delivered). */
void sg_outbox_poll(sg_outbox_t *ob, int timeout_ms);

/* Requests whose notices were all delivered / not all delivered. The
 * caller records them and then empties the lists (sg_notice_ids_reset). */
sg_notice_ids_t *sg_outbox_delivered(sg_outbox_t *ob);
sg_notice_ids_t *sg_outbox_failed(sg_outbox_t *ob);

/* Requests with notices in flight. */
int sg_outbox_inflight(const sg_outbox_t *ob);

const sg_outbox_stats_t *sg_outbox_stats(const sg_outbox_t *ob);

/* For shutdown: waits up to timeout_ms for the notices in flight, then
 * purges the rest, which are reported not delivered. */
void sg_outbox_drain(sg_outbox_t *ob, int timeout_ms);

/* Destroys the producer (call sg_outbox_drain first) and frees ob.
 * NULL-safe. */
void sg_outbox_destroy(sg_outbox_t *ob);

#endif
