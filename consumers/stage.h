#ifndef SG_STAGE_H
#define SG_STAGE_H

/* A consumer: a stage on the exactly-once engine (engine.h), described by
 * one sg_stage_t that its module exports and its main passes to
 * sg_consumer_main (consumer_main.h). The engine reads Kafka, keeps the
 * per-partition ledger and the offsets in PostgreSQL, and calls the
 * stage:
 *
 *   add       for each message, in partition order;
 *   flush     inside the batch's transaction, just before the offsets are
 *             stored: write the batch (must be repeatable: after a
 *             transient failure the engine rolls back, reconnects and
 *             calls flush again with the same batch);
 *   committed the transaction committed: account for the batch, empty it;
 *   discard   the batch will never commit (its partitions went to another
 *             member, or were rewound): empty it without accounting;
 *   progress  the stage's totals, for the progress line and the exit line
 *             ("exit status=0" and the same fields).
 *
 * Stages see plain messages and an opaque connection: this header needs
 * neither librdkafka nor libpq. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_cli.h"
#include "sg_event.h"
#include "sg_metrics.h"
#include "sg_pg_err.h"

struct pg_conn; /* libpq's PGconn */

#define SG_STAGE_MAX_OPTS 24 /* a stage's option table, SG_OPT_END included */

/* One Kafka message, valid during the add call. */
typedef struct sg_msg {
        const char *topic;
        int32_t partition;
        int64_t offset;
        const char *key; /* NULL: no key */
        size_t key_len;
        const char *value; /* NULL: no value (a tombstone) */
        size_t value_len;
        int64_t timestamp_ms; /* the message's timestamp, -1 if none */
} sg_msg_t;

/* What a stage is initialised with. */
typedef struct sg_stage_env {
        const char *group; /* the consumer group */
        const char *topic; /* the event topic */
        const void *conf;  /* the stage's own options (conf_init), or NULL */
        const sg_cli_common_t *common; /* the common options (brokers, DSN) */
        /* The process's metrics registry, for a stage's own families
         * (registered in init); NULL: none (the stage counts nothing). */
        sg_metrics_t *metrics;
} sg_stage_env_t;

/* A committed batch's outcome, for the engine's metrics (counts). */
typedef struct sg_stage_counts {
        long long stored;     /* in the stage's word: rows stored, events
                                 counted or evaluated */
        long long duplicates; /* repeated event_ids, not stored again */
        long long rejected[SG_REASON__CNT]; /* invalid, by reason code */
} sg_stage_counts_t;

/* What the engine offers a stage during flush (stage attach). */
typedef struct sg_stage_services {
        void *engine;
        /* For each partition of topic (behind[partition id], ids below
         * cap): whether the group still has messages to read there (its
         * position, this member's pending one or the stored one, is below
         * the log's end). In the flush's transaction. Returns the
         * partition count, or -1 when it cannot tell now. */
        int (*behind)(void *engine, struct pg_conn *conn, const char *topic,
                      bool *behind, int cap);
        /* The group's stored next offset of n partitions of topic (-1
         * where none is stored for this cluster), read in the caller's
         * transaction. Returns 0, or -1 with err. */
        int (*stored)(void *engine, struct pg_conn *conn, const char *topic,
                      int n, const int32_t *parts, int64_t *stored,
                      sg_pg_err_t *err);
} sg_stage_services_t;

typedef struct sg_stage {
        /* The binary. */
        const char *prog;  /* "sg-raw-store" */
        const char *about; /* --help's paragraph */
        const char *group; /* default consumer group */
        int batch_rows;    /* defaults; 0: the engine's (engine.h) */
        int batch_ms;
        int queue_kbytes;
        const char *extra_topic; /* a second topic to read, or NULL */

        /* The stage's state: size bytes, zeroed, then init (returns 0, or
         * after a line -1: the daemon exits 1, or -2 for a configuration
         * the user must fix: exit 2); fini at exit. */
        size_t size;
        int (*init)(void *stage, const sg_stage_env_t *env);
        void (*fini)(void *stage);

        /* Adds one message to the open batch. Returns 0, or -1 for a
         * fatal error (the daemon stops with status 1). */
        int (*add)(void *stage, const sg_msg_t *msg);
        /* Writes the open batch in the engine's transaction. Returns 0,
         * or -1 with err (err->transient: the engine retries). */
        int (*flush)(void *stage, struct pg_conn *conn, sg_pg_err_t *err);
        void (*committed)(void *stage);
        void (*discard)(void *stage);
        /* Appends " key=value" totals to buf. */
        void (*progress)(void *stage, char *buf, size_t size);
        /* Optional: the open batch's outcome (out is zeroed), asked after
         * its transaction committed, just before committed. */
        void (*counts)(void *stage, sg_stage_counts_t *out);

        /* Optional, streaming: the engine opens the batch's transaction
         * at its first message and calls feed after each message, so that
         * the stage can send what it has while the next messages are read
         * (the backend works on another core meanwhile); flush completes
         * the batch in that transaction. Returns 0, or -1 with err: the
         * engine then calls feed_abort, rolls back, and flush writes the
         * whole batch at commit (as it does when no stream was possible:
         * flush must always be able to write the whole batch). */
        int (*feed)(void *stage, struct pg_conn *conn, sg_pg_err_t *err);
        /* Forget the stream (conn may be NULL or broken): it is being
         * rolled back. */
        void (*feed_abort)(void *stage, struct pg_conn *conn);

        /* Optional, for a stage with options of its own (thresholds,
         * windows): conf_size bytes of configuration, which conf_init
         * fills with the defaults while it writes the option table over
         * them into opts (SG_STAGE_MAX_OPTS entries at most); the parsed
         * result reaches init as env->conf. */
        size_t conf_size;
        void (*conf_init)(void *conf, sg_opt_t *opts);
        const char *opts_title; /* their title in --help */

        /* Optional: the engine's services, once it runs (before the
         * first add). */
        void (*attach)(void *stage, const sg_stage_services_t *svc);
        /* Optional: called every 200 ms of the poll loop, outside any
         * transaction (an outbox sender's turn). */
        void (*tick)(void *stage);
        /* Optional, for a stage that keeps state in memory and writes it
         * now and then: asked between batches, once no message has come
         * for a second, whether it has something to write; final: the
         * daemon is about to stop.
         * When true, the engine runs flush with an empty batch in a
         * transaction of its own (no offset moves; the stage checks that
         * it still owns what it writes), then committed (or discard). */
        bool (*wants_flush)(void *stage, bool final);
        /* Optional: the partition is this member's now (its messages
         * follow from the group's stored offset). */
        void (*assigned)(void *stage, const char *topic, int32_t partition);
        /* Optional: the partition went to another member (after its last
         * batch committed, or was discarded): forget its state. */
        void (*revoked)(void *stage, const char *topic, int32_t partition);
} sg_stage_t;

#endif
