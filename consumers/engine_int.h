#ifndef SG_ENGINE_INT_H
#define SG_ENGINE_INT_H

/* The engine's state, shared by engine.c, engine_tx.c and
 * engine_assign.c only. */

#include <librdkafka/rdkafka.h>
#include <libpq-fe.h>

#include "engine.h"
#include "ledger.h"
#include "sg_pg.h"

/* The engine's metrics (README, "Metrics"): handles looked up once. */
typedef struct sg_engine_metrics {
        sg_series_t *consumed;
        sg_series_t *stored;
        sg_series_t *duplicates;
        sg_series_t *rejected[SG_REASON__CNT];
        sg_series_t *batch_size;
        sg_series_t *commit_seconds;
        sg_metric_t *gaps; /* {group, reason} */
        sg_metric_t *lag;  /* {group, topic, partition} */
        long long lag_ms;  /* last update of the lag gauges */
} sg_engine_metrics_t;

#define SG_ENGINE_LAG_MS 1000 /* the lag gauges' refresh period */

typedef struct sg_engine {
        const sg_engine_conf_t *cc;
        const sg_stage_t *ops;
        void *stage;
        rd_kafka_t *rk;
        sg_pg_session_t pg;
        char cluster_id[256];
        sg_ledger_t ledger;
        long long batch_started_ms;
        long long last_activity_ms;
        bool fatal;
        bool streaming;     /* the open batch's transaction is open */
        bool stream_failed; /* ... and could not be: not again this batch */
        long long consumed;
        long long committed;
        long long batches;
        long long last_progress_ms;
        long long last_progress_committed;
        long long consumed_at_trim; /* consumed at the last malloc_trim */
        int session_ms;             /* session.timeout.ms in force */
        long long topic_check_ms;   /* last whole-topic check (--idle-exit) */
        long long rest_lag;         /* ... what the group still had to read */
        long long rest_since_ms;    /* ... unchanged since then */
        /* Waiting for an assignment since then (the start, a revocation);
         * 0 once the group assigned this member its share, even none. */
        long long awaiting_since_ms;
        sg_stage_services_t services; /* what the stage may call */
        long long last_tick_ms;       /* the stage's tick */
        char meta_topic[256];         /* the partitions of a topic, */
        int meta_n;                   /* as the last metadata said */
        int32_t *meta_ids;
        long long meta_at_ms;
        sg_engine_metrics_t m;
} sg_engine_t;

#define SG_ENGINE_TICK_MS 200
#define SG_ENGINE_META_MS 5000 /* a topic's partition count is reused */
#define SG_ENGINE_STATE_IDLE_MS 1000 /* quiet this long: ask wants_flush */

/* A unit of work run inside one transaction on conn. Returns 0,
 * SG_OFFSETS_FENCED, or -1 with err. */
typedef int (*sg_engine_tx_fn)(sg_engine_t *e, PGconn *conn, void *arg,
                               sg_pg_err_t *err);

/* engine.c */

/* Counts a recorded gap (offset_gaps) of this reason. */
void sg_engine_metrics_gap(sg_engine_t *e, const char *reason);

/* engine_tx.c */

/* The session's connection, waiting out outages. NULL when stopping or
 * on a permanent failure (then e->fatal is set, said in one line). */
PGconn *sg_engine_conn(sg_engine_t *e);

/* Runs fn in one transaction, retrying transient failures with backoff.
 * Returns 0, SG_OFFSETS_FENCED, or -1 (fatal: e->fatal is set; or a stop
 * was requested during an outage). */
int sg_engine_tx(sg_engine_t *e, const char *what, sg_engine_tx_fn fn,
                 void *arg);

/* Commits the open batch (the stage's rows + the offsets, one
 * transaction) and then, best effort, the offsets to Kafka. A fenced
 * batch is discarded; when rewind is set, the partitions are then
 * re-read from what is stored (not during a revocation: they are being
 * given up). Returns 0, or -1 if the batch was discarded (an outcome the
 * engine has already handled, not a failure to act on). */
/* The stage's state written in a transaction without a batch, if it
 * wants it (stage.h, wants_flush) once no message came for
 * SG_ENGINE_STATE_IDLE_MS (final: at once). Returns 0, or -1. */
int sg_engine_flush_state(sg_engine_t *e, bool final, long long now);
int sg_engine_commit(sg_engine_t *e, bool rewind);

/* The batch will never commit: the stage and the ledger forget it. */
void sg_engine_discard(sg_engine_t *e);

/* After a message was added: streams it to the server if the stage can
 * (the batch's transaction opens at its first message). */
void sg_engine_stream_feed(sg_engine_t *e);

/* Ends the open batch's stream (rolled back; the batch is written whole
 * at commit). Called before the connection is used for anything else. */
void sg_engine_stream_abort(sg_engine_t *e);

/* engine_assign.c */

void sg_engine_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts,
                            void *opaque);

/* The stored offset of (topic, partition) fell outside what the broker
 * holds: record the gap and go on or stop (--on-gap). */
void sg_engine_gap(sg_engine_t *e, const char *topic, int32_t partition);

/* Re-reads the stored offsets of every assigned partition and assigns
 * them there again (after a fenced batch). */
void sg_engine_rewind(sg_engine_t *e);

#endif
