#ifndef SG_CONSUMER_H
#define SG_CONSUMER_H

/* The exactly-once consumer loop every PostgreSQL-writing daemon shares
 * (DESIGN.md, "Exactly-once into PostgreSQL"):
 *  - offsets live in stream_offsets and are read back on every assignment;
 *  - messages are gathered into a batch bounded by count and time, and the
 *    batch's rows and its next offsets are committed in one transaction,
 *    fenced against a consumer that lost its partitions;
 *  - on revocation and shutdown the open batch is committed first;
 *  - PostgreSQL outages are waited out (the batch is retried); Kafka
 *    offsets are committed afterwards, best effort, for lag tools only.
 * The daemon supplies what a batch is through sg_consumer_ops_t. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>

#include "sg_cli.h"

typedef struct sg_consumer_ops {
        /* Adds one message to the open batch. Returns 0, or -1 for a fatal
         * error (the daemon stops with status 1). */
        int (*add)(void *app, const rd_kafka_message_t *rkm);
        /* Writes the open batch inside the transaction the engine opened.
         * Must be repeatable: after a failure the engine may roll back and
         * call it again with the same batch. Returns 0, or -1 with errstr;
         * the engine inspects the connection to tell transient failures. */
        int (*flush)(void *app, PGconn *conn, char *errstr,
                     size_t errstr_size);
        /* The batch is committed: account for it and empty it. */
        void (*committed)(void *app);
        /* The batch will never be committed (its partitions were lost or
         * rewound): empty it without accounting. */
        void (*discard)(void *app);
        /* Appends " key=value" fields to the periodic progress line. */
        void (*progress)(void *app, char *buf, size_t size);
        /* Optional: streaming. When set, the engine opens the batch's
         * transaction at its first message and calls feed after each
         * message, so that the daemon can send what it has to the server
         * while the next messages are read (the backend then works on
         * another core); flush completes the batch in that transaction.
         * Returns 0, or -1 with errstr: the engine then calls feed_abort,
         * rolls back, and the batch is written whole by flush at commit
         * (as it is when no stream was possible: flush must always be able
         * to write the whole batch). */
        int (*feed)(void *app, PGconn *conn, char *errstr,
                    size_t errstr_size);
        /* Forget the stream (conn may be NULL or broken): whatever feed
         * sent is being rolled back. */
        void (*feed_abort)(void *app, PGconn *conn);
} sg_consumer_ops_t;

typedef enum sg_gap_policy {
        SG_GAP_CONTINUE = 0, /* record the gap, log it, go on */
        SG_GAP_STOP,         /* record the gap, log it, exit 1 */
} sg_gap_policy_t;

typedef struct sg_consumer_conf {
        const sg_cli_common_t *common;
        const char *group;       /* consumer group id */
        const char *appname;     /* application_name and client.id */
        int batch_rows;          /* commit after this many messages */
        int batch_ms;            /* ... or when the batch is this old */
        int idle_exit_s;         /* 0: run forever */
        int progress_s;          /* progress line period */
        sg_gap_policy_t on_gap;
        int queue_kbytes;        /* prefetch bound, queued.max.messages.kbytes
                                    (-X overrides it) */
} sg_consumer_conf_t;

/* Fills the defaults: 5000 rows, 100 ms, no idle exit, progress every
 * 10 s, gap policy continue, a 64 MiB prefetch queue. */
void sg_consumer_conf_init(sg_consumer_conf_t *cc);

/* Parses "continue" or "stop". Returns 0 or -1. */
int sg_consumer_gap_policy_parse(const char *s, sg_gap_policy_t *out);

/* Prints the help lines of the consumer options, showing cc's values as
 * the defaults. */
void sg_consumer_usage(FILE *fp, const sg_consumer_conf_t *cc);

/* Parses a consumer daemon's command line: the consumer options (--group,
 * --batch-rows, --batch-ms, --idle-exit, --progress-interval, --on-gap)
 * into cc, the common ones into common. usage prints the daemon's help.
 * Returns -1 when the daemon should run, else the status main() returns
 * (0 after --help/--version, 2 on a usage error, after a message). */
int sg_consumer_parse_args(int argc, char **argv, const char *prog,
                           void (*usage)(FILE *), sg_cli_common_t *common,
                           sg_consumer_conf_t *cc);

/* Runs the consumer until a stop is requested, --idle-exit is reached or a
 * fatal error occurs; commits the open batch and leaves the group cleanly.
 * Returns the process exit status (0 or 1). */
int sg_consumer_run(const sg_consumer_conf_t *cc, const sg_consumer_ops_t *ops,
                    void *app);

#endif
