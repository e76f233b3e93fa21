/* The engine's assignments: where each partition starts (its offset in
 * PostgreSQL; its log start if nothing is stored), rebalances (commit what
 * we hold before letting go), offsets of another cluster, and offsets the
 * broker no longer holds (gaps, recorded and never skipped silently). */

#include "engine_int.h"
#include "offsets.h"
#include "sg_log.h"
#include "sg_signal.h"
#include "sg_time.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

typedef struct sg_gap_arg {
        const char *topic;
        int32_t partition;
        const char *reason;
        int64_t from, to, lost;
        bool advance; /* also move the stored offset to `to` */
} sg_gap_arg_t;

static int sg_engine_gap_tx(sg_engine_t *e, PGconn *conn, void *arg,
                            sg_pg_err_t *err)
{
        sg_gap_arg_t *g = arg;
        sg_ledger_batch_t b = {1, 1, &g->topic, &g->partition, &g->to,
                               &g->from};

        if (sg_offsets_record_gap(conn, e->cc->group, g->topic, g->partition,
                                  g->reason, g->from, g->to, g->lost,
                                  e->cluster_id, err) < 0)
                return -1;
        if (!g->advance)
                return 0;
        return sg_offsets_store(conn, e->cc->group, e->cluster_id, &b, err);
}

/* Where a partition with nothing stored starts: its log start offset,
 * asked for now. Assigning the logical BEGINNING instead makes librdkafka
 * 2.0 look it up itself, which delayed the first fetch by up to ~0.6 s
 * (measured with bench/run's preloaded topic). After one failure (broker
 * unreachable: this runs inside the rebalance callback) the rest of the
 * assignment starts at BEGINNING without asking. If retention moves the
 * log start in between, the fetch is out of range and recorded as a gap,
 * as for any stored offset. */
static int64_t sg_engine_log_start(sg_engine_t *e, const char *topic,
                                   int32_t partition, bool *ask)
{
        int64_t low = -1, high = -1;
        rd_kafka_resp_err_t err;

        if (!*ask)
                return RD_KAFKA_OFFSET_BEGINNING;
        err = rd_kafka_query_watermark_offsets(e->rk, topic, partition, &low,
                                               &high, 1000);
        if (err || low < 0) {
                sg_debug("log start of topic=%s partition=%d unknown (%s): "
                         "from the beginning",
                         topic, partition, rd_kafka_err2name(err));
                *ask = false;
                return RD_KAFKA_OFFSET_BEGINNING;
        }
        return low;
}

/* Reads the stored offsets of the list's partitions and prepares them for
 * assignment: rows of another cluster are reset to 0 for this one (and
 * the change recorded). Sets each element's offset and the ledger.
 * Returns 0, or -1 (fatal, or stopping). */
static int sg_engine_load(sg_engine_t *e, rd_kafka_topic_partition_list_t *list)
{
        int n = list->cnt;
        const char **topics = sg_xcalloc((size_t)n + 1, sizeof(*topics));
        int32_t *parts = sg_xcalloc((size_t)n + 1, sizeof(*parts));
        int64_t *stored = sg_xcalloc((size_t)n + 1, sizeof(*stored));
        int *other = sg_xcalloc((size_t)n + 1, sizeof(*other));
        sg_backoff_t backoff;
        bool ask = true;
        int rc = -1;

        for (int i = 0; i < n; i++) {
                topics[i] = list->elems[i].topic;
                parts[i] = list->elems[i].partition;
        }
        sg_engine_stream_abort(e); /* the connection is needed here */
        sg_backoff_init(&backoff, 500, 10000);
        for (;;) {
                sg_pg_err_t err;
                PGconn *conn = sg_engine_conn(e);
                if (!conn)
                        goto out;
                if (sg_offsets_load(conn, e->cc->group, e->cluster_id, n,
                                    topics, parts, stored, other, &err) == 0)
                        break;
                if (!err.transient) {
                        sg_error("cannot read stored offsets: %s", err.msg);
                        e->fatal = true;
                        goto out;
                }
                sg_warn("cannot read stored offsets, retrying in %d ms "
                        "reason=\"%s\"",
                        backoff.delay_ms, err.msg);
                sg_pg_session_drop(&e->pg);
                if (sg_backoff_wait(&backoff))
                        goto out;
        }
        for (int i = 0; i < n; i++) {
                sg_ledger_part_t *p;
                if (other[i]) {
                        sg_gap_arg_t g = {topics[i], parts[i], "cluster_changed",
                                          stored[i], 0, 0, true};
                        sg_warn("stored offsets belong to another Kafka "
                                "cluster; reading topic=%s partition=%d from "
                                "its beginning on cluster=%s "
                                "old_next_offset=%" PRId64,
                                topics[i], parts[i], e->cluster_id, stored[i]);
                        if (sg_engine_tx(e, "offset reset", sg_engine_gap_tx,
                                         &g) != 0) {
                                e->fatal = true;
                                goto out;
                        }
                        sg_engine_metrics_gap(e, g.reason);
                        stored[i] = 0;
                }
                p = sg_ledger_get(&e->ledger, topics[i], parts[i]);
                if (!p)
                        abort(); /* librdkafka gave a partition id < 0 */
                sg_ledger_assign(p, stored[i]);
                list->elems[i].offset =
                    stored[i] >= 0 ? stored[i]
                                   : sg_engine_log_start(e, topics[i], parts[i],
                                                         &ask);
        }
        rc = 0;
out:
        free(topics);
        free(parts);
        free(stored);
        free(other);
        return rc;
}

static bool sg_engine_coop(rd_kafka_t *rk)
{
        return strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
}

/* Assigns every assigned partition again at the offset the ledger holds
 * for it (the beginning where none). A fresh assignment restarts the
 * fetchers, which a seek does not do for a partition stopped by an
 * offset-reset error. */
static void sg_engine_reassign(sg_engine_t *e)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(8);
        rd_kafka_error_t *error = NULL;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(&e->ledger, p));)
                if (p->assigned)
                        rd_kafka_topic_partition_list_add(list, p->topic,
                                                          p->partition)
                            ->offset = p->stored >= 0
                                           ? p->stored
                                           : RD_KAFKA_OFFSET_BEGINNING;
        if (list->cnt > 0) {
                if (sg_engine_coop(e->rk)) {
                        error = rd_kafka_incremental_unassign(e->rk, list);
                        if (!error)
                                error = rd_kafka_incremental_assign(e->rk, list);
                } else {
                        err = rd_kafka_assign(e->rk, list);
                }
                if (error || err)
                        sg_warn("re-assignment failed: %s",
                                error ? rd_kafka_error_string(error)
                                      : rd_kafka_err2str(err));
                else
                        sg_info("re-assigned partitions=%d at their stored "
                                "offsets",
                                list->cnt);
                if (error)
                        rd_kafka_error_destroy(error);
        }
        rd_kafka_topic_partition_list_destroy(list);
}

void sg_engine_rewind(sg_engine_t *e)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(8);

        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(&e->ledger, p));)
                if (p->assigned)
                        rd_kafka_topic_partition_list_add(list, p->topic,
                                                          p->partition);
        /* Re-read what is stored: another writer may have moved it. */
        if (list->cnt > 0 && sg_engine_load(e, list) == 0)
                sg_engine_reassign(e);
        rd_kafka_topic_partition_list_destroy(list);
}

void sg_engine_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                            rd_kafka_topic_partition_list_t *parts,
                            void *opaque)
{
        sg_engine_t *e = opaque;
        bool coop = sg_engine_coop(rk);
        rd_kafka_error_t *error = NULL;

        e->last_activity_ms = sg_time_mono_ms();
        e->awaiting_since_ms =
            err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? 0 : e->last_activity_ms;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                if (sg_engine_load(e, parts) < 0) {
                        /* Stopping or fatal: take nothing. */
                        if (!coop)
                                rd_kafka_assign(rk, NULL);
                        return;
                }
                for (int i = 0; i < parts->cnt; i++) {
                        const rd_kafka_topic_partition_t *tp = &parts->elems[i];
                        sg_ledger_part_t *p = sg_ledger_find(
                            &e->ledger, tp->topic, tp->partition);
                        if (e->ops->assigned)
                                e->ops->assigned(e->stage, tp->topic,
                                                 tp->partition);
                        if (p && p->stored >= 0)
                                sg_info("assigned partition=%d "
                                        "offset=%" PRId64 " topic=%s",
                                        tp->partition, p->stored, tp->topic);
                        else
                                sg_info("assigned partition=%d "
                                        "offset=beginning (nothing stored "
                                        "yet) topic=%s",
                                        tp->partition, tp->topic);
                }
                if (coop)
                        error = rd_kafka_incremental_assign(rk, parts);
                else
                        rd_kafka_assign(rk, parts);
        } else {
                /* Commit what we hold before letting go, unless the
                 * partitions are someone else's already. A fenced commit
                 * here is discarded, not rewound: these partitions are
                 * being given up. */
                if (rd_kafka_assignment_lost(rk))
                        sg_engine_discard(e);
                else
                        (void)sg_engine_commit(e, false);
                for (int i = 0; i < parts->cnt; i++) {
                        sg_ledger_part_t *p =
                            sg_ledger_find(&e->ledger, parts->elems[i].topic,
                                           parts->elems[i].partition);
                        if (p)
                                sg_ledger_revoke(p);
                        if (e->ops->revoked)
                                e->ops->revoked(e->stage,
                                                parts->elems[i].topic,
                                                parts->elems[i].partition);
                }
                sg_info("revoked partitions=%d", parts->cnt);
                if (coop)
                        error = rd_kafka_incremental_unassign(rk, parts);
                else
                        rd_kafka_assign(rk, NULL);
        }
        if (error) {
                sg_warn("rebalance: %s", rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
}

void sg_engine_gap(sg_engine_t *e, const char *topic, int32_t partition)
{
        sg_ledger_part_t *p = sg_ledger_find(&e->ledger, topic, partition);
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t err;
        sg_gap_arg_t g;

        if (!p || !p->assigned)
                return;
        if (sg_engine_commit(e, true) < 0 && e->fatal)
                return;
        while ((err = rd_kafka_query_watermark_offsets(e->rk, topic, partition,
                                                       &lo, &hi, 5000))) {
                sg_warn("cannot read the offsets of topic=%s partition=%d: "
                        "%s; retrying",
                        topic, partition, rd_kafka_err2str(err));
                if (sg_sleep_ms(1000))
                        return;
        }
        p = sg_ledger_find(&e->ledger, topic, partition);
        g.topic = p->topic;
        g.partition = partition;
        g.from = p->stored >= 0 ? p->stored : 0;
        g.to = lo;
        if (g.from < lo) {
                g.reason = "retention";
                g.lost = lo - g.from;
        } else {
                g.reason = "out_of_range";
                g.lost = 0;
        }
        g.advance = e->cc->on_gap == SG_GAP_CONTINUE;
        sg_error("events lost before they were read: partition=%d "
                 "reason=%s stored_offset=%" PRId64 " low=%" PRId64
                 " high=%" PRId64 " lost=%" PRId64 " policy=%s topic=%s",
                 partition, g.reason, g.from, lo, hi, g.lost,
                 g.advance ? "continue" : "stop", topic);
        if (sg_engine_tx(e, "gap record", sg_engine_gap_tx, &g) != 0) {
                e->fatal = true;
                return;
        }
        sg_engine_metrics_gap(e, g.reason);
        if (!g.advance) {
                sg_error("stopping (--on-gap stop): the gap is recorded in "
                         "offset_gaps; rerun with --on-gap continue to go on "
                         "from offset %" PRId64,
                         lo);
                e->fatal = true;
                return;
        }
        p->stored = lo;
        sg_engine_reassign(e);
}
