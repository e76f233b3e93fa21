/* The engine's PostgreSQL side: one transaction per batch (the stage's
 * rows and the offsets), retried through outages, and the batch's stream
 * into an open transaction while it is gathered. */

#include "engine_int.h"
#include "offsets.h"
#include "sg_log.h"
#include "sg_signal.h"
#include "sg_time.h"

#include <string.h>

static bool sg_engine_healthy(const PGconn *conn)
{
        return conn && PQstatus(conn) == CONNECTION_OK;
}

PGconn *sg_engine_conn(sg_engine_t *e)
{
        PGconn *conn = sg_pg_session_conn(&e->pg);

        e->fatal |= e->pg.failed;
        return conn;
}

void sg_engine_stream_abort(sg_engine_t *e)
{
        bool ok = sg_engine_healthy(e->pg.conn);

        if (!e->streaming)
                return;
        e->streaming = false;
        e->stream_failed = true;
        e->ops->feed_abort(e->stage, ok ? e->pg.conn : NULL);
        sg_pg_rollback(e->pg.conn);
}

/* Never waits out an outage: without a healthy connection the batch is
 * simply written at commit, where outages are handled. */
void sg_engine_stream_feed(sg_engine_t *e)
{
        sg_pg_err_t err;

        if (!e->ops->feed || e->stream_failed)
                return;
        if (!e->streaming) {
                if (!sg_engine_healthy(e->pg.conn) ||
                    PQtransactionStatus(e->pg.conn) != PQTRANS_IDLE ||
                    sg_pg_begin(e->pg.conn, &err) < 0) {
                        e->stream_failed = true;
                        return;
                }
                e->streaming = true;
        }
        if (e->ops->feed(e->stage, e->pg.conn, &err) < 0) {
                sg_debug("streaming the batch stopped (it is written whole "
                         "at commit): %s", err.msg);
                sg_engine_stream_abort(e);
        }
}

static int sg_engine_batch_tx(sg_engine_t *e, PGconn *conn, void *arg,
                              sg_pg_err_t *err)
{
        const sg_ledger_batch_t *b = arg;

        if (e->ops->flush(e->stage, conn, err) < 0)
                return -1;
        return sg_offsets_store(conn, e->cc->group, e->cluster_id, b, err);
}

int sg_engine_tx(sg_engine_t *e, const char *what, sg_engine_tx_fn fn,
                 void *arg)
{
        sg_backoff_t backoff;

        sg_backoff_init(&backoff, 500, 10000);
        for (;;) {
                sg_pg_err_t err;
                PGconn *conn;
                int rc;

                /* Only a batch commit continues the batch's stream, and
                 * only on a healthy connection. */
                if (e->streaming && (fn != sg_engine_batch_tx ||
                                     !sg_engine_healthy(e->pg.conn)))
                        sg_engine_stream_abort(e);
                conn = sg_engine_conn(e);
                if (!conn)
                        return -1;
                if (e->streaming) {
                        e->streaming = false; /* fn completes it */
                        rc = 0;
                } else {
                        rc = sg_pg_begin(conn, &err);
                }
                if (rc == 0)
                        rc = fn(e, conn, arg, &err);
                if (rc == 0)
                        rc = sg_pg_commit(conn, &err);
                if (rc == 0)
                        return 0;
                sg_pg_rollback(conn);
                if (rc == SG_OFFSETS_FENCED) {
                        sg_warn("%s rolled back: %s", what, err.msg);
                        return SG_OFFSETS_FENCED;
                }
                if (!err.transient) {
                        sg_error("%s failed: %s", what, err.msg);
                        e->fatal = true;
                        return -1;
                }
                /* A serialization failure or a deadlock (class 40) is
                 * not an outage: say which. */
                sg_warn("%s failed, %s; retrying in %d ms reason=\"%s\"",
                        what,
                        strncmp(err.sqlstate, "40", 2) == 0
                            ? "rolled back by the server (serialization "
                              "failure or deadlock)"
                            : "postgres unavailable",
                        backoff.delay_ms, err.msg);
                sg_pg_session_drop(&e->pg);
                if (sg_backoff_wait(&backoff))
                        return -1;
        }
}

/* Tells Kafka how far we got, best effort: only lag tools read it. */
static void sg_engine_kafka_commit(sg_engine_t *e, const sg_ledger_batch_t *b)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(b->n);

        for (int i = 0; i < b->n; i++)
                rd_kafka_topic_partition_list_add(list, b->topics[i],
                                                  b->parts[i])
                    ->offset = b->next[i];
        rd_kafka_commit(e->rk, list, 1);
        rd_kafka_topic_partition_list_destroy(list);
}

void sg_engine_discard(sg_engine_t *e)
{
        sg_engine_stream_abort(e);
        e->stream_failed = false;
        e->ops->discard(e->stage);
        sg_ledger_discard(&e->ledger);
}

static int sg_engine_state_tx(sg_engine_t *e, PGconn *conn, void *arg,
                              sg_pg_err_t *err)
{
        (void)arg;
        return e->ops->flush(e->stage, conn, err);
}

int sg_engine_flush_state(sg_engine_t *e, bool final, long long now)
{
        int rc;

        if (!e->ops->wants_flush || e->ledger.batch_msgs > 0 ||
            (!final && now - e->last_activity_ms < SG_ENGINE_STATE_IDLE_MS) ||
            !e->ops->wants_flush(e->stage, final))
                return 0;
        rc = sg_engine_tx(e, "state commit", sg_engine_state_tx, NULL);
        if (rc == 0) {
                e->ops->committed(e->stage);
                return 0;
        }
        e->stream_failed = false;
        e->ops->discard(e->stage);
        return -1;
}

/* A committed batch of msgs messages into the metrics (the stage says
 * what became of them). */
static void sg_engine_count(sg_engine_t *e, int msgs, long long commit_ms)
{
        sg_stage_counts_t c;

        sg_series_observe(e->m.batch_size, msgs);
        sg_series_observe(e->m.commit_seconds, (double)commit_ms / 1000.0);
        if (!e->ops->counts || !e->m.stored)
                return;
        memset(&c, 0, sizeof(c));
        e->ops->counts(e->stage, &c);
        sg_series_add(e->m.stored, (double)c.stored);
        sg_series_add(e->m.duplicates, (double)c.duplicates);
        for (int r = 1; r < SG_REASON__CNT; r++)
                if (c.rejected[r])
                        sg_series_add(e->m.rejected[r], (double)c.rejected[r]);
}

int sg_engine_commit(sg_engine_t *e, bool rewind)
{
        sg_ledger_batch_t b;
        long long t0 = sg_time_mono_ms();
        int msgs = e->ledger.batch_msgs;
        int rc = 0;

        sg_ledger_batch_init(&b);
        if (sg_ledger_pending(&e->ledger, &b) == 0) {
                sg_engine_stream_abort(e);
                e->stream_failed = false;
                e->ledger.batch_msgs = 0;
                goto out;
        }
        rc = sg_engine_tx(e, "batch commit", sg_engine_batch_tx, &b);
        e->stream_failed = false; /* the next batch may stream again */
        if (rc == 0) {
                sg_debug("batch committed messages=%d partitions=%d "
                         "gathered_ms=%lld commit_ms=%lld",
                         msgs, b.n, t0 - e->batch_started_ms,
                         sg_time_mono_ms() - t0);
                sg_ledger_committed(&e->ledger, &b);
                e->committed += msgs;
                e->batches++;
                sg_engine_count(e, msgs, sg_time_mono_ms() - t0);
                e->ops->committed(e->stage);
                sg_engine_kafka_commit(e, &b);
        } else {
                sg_engine_discard(e);
                if (rc == SG_OFFSETS_FENCED && rewind)
                        sg_engine_rewind(e);
                rc = -1;
        }
out:
        sg_ledger_batch_fini(&b);
        return rc;
}
