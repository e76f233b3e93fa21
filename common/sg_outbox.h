#ifndef SG_OUTBOX_H
#define SG_OUTBOX_H

/* The transactional outbox (sql/006_outbox.sql): "do it after commit, at
 * least once, never lose it". A cause inserts its messages into the outbox
 * table in its own transaction (sg_outbox_add, or SQL); after commit a
 * sender leases the unsent rows of a channel (several instances may run:
 * a row leased by one is not taken by another until the lease expires),
 * sends them, and the outbox records each one's fate: sent, or released
 * with a reason code for a later attempt. A crash between sending and
 * recording sends the message again: receivers dedupe on its id.
 *
 * The sender is pluggable (sg_outbox_sender_ops_t): a Kafka producer
 * (sg_outbox_kafka.h), an HTTP client. It reports each message's fate
 * with sg_outbox_done, from its own poll (no locking: same thread). */

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#include "sg_defs.h"
#include "sg_pg_err.h"

typedef struct sg_outbox sg_outbox_t;

/* One message of a leased row, valid during the send call. key and
 * payload are not NUL-terminated: use the lengths. */
typedef struct sg_outbox_msg {
        long long id;    /* its row's id (a row may hold several) */
        const char *key; /* NULL when the row has none */
        size_t key_len;
        const char *payload;
        size_t payload_len;
        int attempts; /* earlier attempts */
} sg_outbox_msg_t;

typedef struct sg_outbox_sender_ops {
        /* Queues msg for delivery; its fate comes later through
         * sg_outbox_done. Returns 0, or -1 when it cannot even be queued
         * (the outbox then releases it with why). */
        int (*send)(void *sender, const sg_outbox_msg_t *msg, char *why,
                    size_t why_size);
        /* Serves delivery reports, waiting up to timeout_ms. */
        void (*poll)(void *sender, int timeout_ms);
        /* At exit: waits up to timeout_ms for the messages in flight, then
         * reports the rest failed. */
        void (*drain)(void *sender, int timeout_ms);
} sg_outbox_sender_ops_t;

typedef struct sg_outbox_stats {
        long long queued;    /* handed to the sender */
        long long delivered; /* confirmed */
        long long failed;    /* reported failed (kept for a later attempt) */
} sg_outbox_stats_t;

/* An outbox over channel, sending through ops/sender. lease_s: how long a
 * leased row stays this instance's (longer than the sender can take to
 * report a message). The caller owns sender. */
sg_outbox_t *sg_outbox_new(const char *channel, int lease_s,
                           const sg_outbox_sender_ops_t *ops, void *sender);

/* NULL-safe. Call sg_outbox_drain and sg_outbox_record first. */
void sg_outbox_destroy(sg_outbox_t *ob);

/* The sender's verdict on a message of row id. A failed row is released
 * for a later attempt after retry_ms (0: at once); why is a reason code
 * or a status, never data. A row of several messages is recorded once
 * all of them are reported: sent if all were delivered. */
void sg_outbox_done(sg_outbox_t *ob, long long id, bool delivered,
                    const char *why, int retry_ms);

/* Inserts one message into channel, in the caller's transaction. Returns
 * 0, or -1 with err. */
int sg_outbox_add(PGconn *conn, const char *channel, const char *key,
                  const char *payload, long long ref_id,
                  sg_pg_err_t *err) SG_MUST_CHECK;

/* Inserts n messages into channel, in the caller's transaction (or
 * pipeline): several per row (sql/018, at most 500), a message whose key
 * or value cannot be a line in a row of its own. Returns 0, or -1 with
 * err. */
int sg_outbox_add_many(PGconn *conn, const char *channel,
                       const char *const *keys, const char *const *payloads,
                       size_t n, sg_pg_err_t *err) SG_MUST_CHECK;

/* Leases the oldest unsent rows of the channel (none held by an
 * unexpired lease) holding up to limit messages (at least one row), and
 * hands their messages to the sender. Returns how many rows, or -1 with
 * err. */
int sg_outbox_sweep(sg_outbox_t *ob, PGconn *conn, int limit,
                    sg_pg_err_t *err) SG_MUST_CHECK;

/* Serves the sender's reports (up to timeout_ms). */
void sg_outbox_poll(sg_outbox_t *ob, int timeout_ms);

/* Writes the reports so far: sent_at for the delivered rows, the lease
 * released (attempts + 1, last_error) for the failed ones. Returns 0, or
 * -1 with err (the reports are kept for the next call). */
int sg_outbox_record(sg_outbox_t *ob, PGconn *conn,
                     sg_pg_err_t *err) SG_MUST_CHECK;

/* Reports waiting to be recorded. */
int sg_outbox_unrecorded(const sg_outbox_t *ob);

/* Messages handed to the sender and not reported yet. */
int sg_outbox_inflight(const sg_outbox_t *ob);

const sg_outbox_stats_t *sg_outbox_stats(const sg_outbox_t *ob);

/* At exit: lets the sender finish (up to timeout_ms); what it could not
 * is reported failed. Record afterwards. */
void sg_outbox_drain(sg_outbox_t *ob, int timeout_ms);

/* Unsent rows of channel. Returns 0, or -1 with err. */
int sg_outbox_backlog(PGconn *conn, const char *channel, long long *unsent,
                      sg_pg_err_t *err) SG_MUST_CHECK;

#endif
