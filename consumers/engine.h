#ifndef SG_ENGINE_H
#define SG_ENGINE_H

/* The exactly-once consumer engine every PostgreSQL-writing consumer runs
 * on (DESIGN.md, "Exactly-once into PostgreSQL"):
 *  - offsets live in stream_offsets and are read back on every
 *    assignment (offsets.h); the per-partition ledger (ledger.h) says what
 *    is assigned, stored and pending;
 *  - messages are gathered into a batch bounded by count and time, and the
 *    batch's rows (written by the stage, stage.h) and its next offsets are
 *    committed in one transaction, fenced against a member that lost its
 *    partitions;
 *  - on revocation and shutdown the open batch is committed first;
 *  - PostgreSQL outages are waited out (the batch is retried); permanent
 *    failures stop the consumer with status 1; Kafka offsets are committed
 *    afterwards, best effort, for lag tools only.
 *
 * Its files: engine.c (configuration, the poll loop, --idle-exit,
 * progress), engine_tx.c (transactions, the batch commit, streaming),
 * engine_assign.c (rebalances, stored offsets, gaps, cluster changes). */

#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_metrics.h"
#include "stage.h"

#define SG_ENGINE_MAX_TOPICS 4

typedef enum sg_gap_policy {
        SG_GAP_CONTINUE = 0, /* record the gap, log it, go on */
        SG_GAP_STOP,         /* record the gap, log it, exit 1 */
} sg_gap_policy_t;

/* "continue", "stop" (the --on-gap choices, in sg_gap_policy_t order). */
extern const char *const sg_engine_gap_choices[];

typedef struct sg_engine_conf {
        const sg_cli_common_t *common;
        const char *group;   /* consumer group id */
        const char *appname; /* application_name and client.id */
        /* Topics, NULL-terminated; none given: the common --topic. */
        const char *topics[SG_ENGINE_MAX_TOPICS + 1];
        int batch_rows;      /* commit after this many messages */
        int batch_ms;        /* ... or when the batch is this old */
        int idle_exit_s;     /* 0: run forever */
        int progress_s;      /* progress line period */
        int on_gap;          /* sg_gap_policy_t */
        int queue_kbytes;    /* prefetch bound, queued.max.messages.kbytes
                                (-X overrides it) */
        sg_metrics_t *metrics; /* where the engine counts; NULL: nowhere */
} sg_engine_conf_t;

/* Fills the defaults: 5000 rows, 100 ms, no idle exit, progress every
 * 10 s, gap policy continue, a 64 MiB prefetch queue. */
void sg_engine_conf_init(sg_engine_conf_t *cc);

/* The consumer options (--group, --batch-rows, --batch-ms, --idle-exit,
 * --progress-interval, --on-gap) as an option table over cc, for sg_cli;
 * out holds at least 7 entries. */
void sg_engine_opts(sg_engine_conf_t *cc, sg_opt_t *out);

/* Runs the consumer until a stop is requested, --idle-exit is reached or
 * a fatal error occurs; commits the open batch and leaves the group
 * cleanly. Returns the process exit status (0 or 1). */
int sg_engine_run(const sg_engine_conf_t *cc, const sg_stage_t *ops,
                  void *stage) SG_MUST_CHECK;

#endif
