/* The engine's configuration and poll loop: Kafka settings, the cluster
 * id, batches closed by count and age, --idle-exit over the whole topic,
 * the progress line, and the memory a drained backlog leaves behind. */

#include "engine_int.h"
#include "replay.h"
#include "offsets.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_signal.h"
#include "sg_time.h"

#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const sg_engine_gap_choices[] = {"continue", "stop", NULL};

void sg_engine_conf_init(sg_engine_conf_t *cc)
{
        memset(cc, 0, sizeof(*cc));
        cc->batch_rows = 5000;
        cc->batch_ms = 100;
        cc->idle_exit_s = 0;
        cc->progress_s = 10;
        cc->on_gap = SG_GAP_CONTINUE;
        cc->queue_kbytes = 65536;
}

void sg_engine_opts(sg_engine_conf_t *cc, sg_opt_t *out)
{
        const sg_opt_t opts[] = {
            {.name = "group", .kind = SG_OPT_STRING, .dest = &cc->group,
             .arg = "ID", .help = "consumer group"},
            {.name = "batch-rows", .kind = SG_OPT_INT, .dest = &cc->batch_rows,
             .arg = "N", .min = 1, .max = 1000000,
             .help = "commit after N messages"},
            {.name = "batch-ms", .kind = SG_OPT_INT, .dest = &cc->batch_ms,
             .arg = "MS", .min = 1, .max = 600000,
             .help = "... or when the batch is MS milliseconds old"},
            {.name = "idle-exit", .kind = SG_OPT_INT, .dest = &cc->idle_exit_s,
             .arg = "SECONDS", .min = 1, .max = 86400, .no_default = true,
             .help = "exit 0 once this instance's partitions have been at"
                     "\ntheir end this long and the group has read the whole"
                     "\ntopic; exit 1 if the rest stops moving (default: run"
                     "\nforever)"},
            {.name = "progress-interval", .kind = SG_OPT_INT,
             .dest = &cc->progress_s, .arg = "SECONDS", .min = 1, .max = 3600,
             .unit = "s", .help = "progress line period"},
            {.name = "on-gap", .kind = SG_OPT_CHOICE, .dest = &cc->on_gap,
             .arg = "POLICY", .choices = sg_engine_gap_choices,
             .help = "when stored offsets fell out of retention: continue"
                     "\n(record in offset_gaps, log, go on) or stop"},
            SG_OPT_END,
        };
        memcpy(out, opts, sizeof(opts));
}

/* glibc raises its mmap threshold to the largest block freed so far (up to
 * 32 MiB): after the first large Fetch response, such buffers come from
 * the heap, and what they leave behind is kept. A fixed threshold hands
 * blocks over 128 KiB back to the kernel when freed, and a 1 MiB trim
 * threshold returns the main heap's free top. No effect under
 * AddressSanitizer's allocator. */
static void sg_engine_malloc_tuning(void)
{
#ifdef __GLIBC__
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
#endif
}

/* Once a backlog is drained (every assigned partition at its end, after
 * at least 100,000 messages since the last time), hands the memory the
 * prefetch queue held back to the kernel. The thresholds above return
 * what lies at the top of the main heap only; librdkafka's threads
 * allocate the messages in arenas of their own, which keep it (bench/run,
 * memory: RSS after catching up 5M events stayed at 90-150 MiB against
 * ~15 MiB idle). malloc_trim(0) releases the free pages of every arena. */
static void sg_engine_trim(sg_engine_t *e)
{
        if (e->consumed - e->consumed_at_trim < 100000 ||
            !sg_ledger_all_eof(&e->ledger))
                return;
        e->consumed_at_trim = e->consumed;
#ifdef __GLIBC__
        malloc_trim(0);
#endif
}

/* librdkafka >= 2.1 has fetch.queue.backoff.ms: how long a partition
 * whose local queue is full waits before fetching again (1 s by default,
 * the same stall as 2.0's tick). Shortened when the library knows it and
 * the user did not set it. */
static void sg_engine_fetch_backoff(rd_kafka_conf_t *conf,
                                    const sg_cli_common_t *common)
{
        char err[256];

        for (int i = 0; i < common->nprops; i++)
                if (strcmp(common->prop_keys[i], "fetch.queue.backoff.ms") == 0)
                        return;
        if (rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", "20", err,
                              sizeof(err)) != RD_KAFKA_CONF_OK)
                sg_debug("fetch.queue.backoff.ms not supported by this "
                         "librdkafka (%s)",
                         rd_kafka_version_str());
}

/* Where the group stands on every partition of topic: the next offset it
 * reads (this member's ledger for a partition it holds, else what
 * PostgreSQL stores; nothing stored: the log start) and the log's end.
 * With local, what this member already knows is used without a round
 * trip: a partition count fetched in the last SG_ENGINE_META_MS, the end
 * of a partition it reads as its last Fetch saw it. Fills the arrays (the
 * caller frees them) and returns the partition count, or -1 when it
 * cannot tell now. */
static int sg_engine_positions(sg_engine_t *e, PGconn *conn, const char *topic,
                               bool local, int32_t **parts_out,
                               int64_t **from_out, int64_t **hi_out)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(e->rk, topic, NULL);
        const char **topics = NULL;
        int32_t *parts = NULL;
        int64_t *stored = NULL, *from = NULL, *hi = NULL;
        int *other = NULL;
        sg_pg_err_t err;
        int n = -1;

        if (!rkt)
                return -1;
        if (local && e->meta_n > 0 && strcmp(e->meta_topic, topic) == 0 &&
            sg_time_mono_ms() - e->meta_at_ms < SG_ENGINE_META_MS) {
                n = e->meta_n; /* the partition count, known recently */
        } else {
                if (rd_kafka_metadata(e->rk, 0, rkt, &md, 2000) ||
                    md->topic_cnt != 1 || md->topics[0].err)
                        goto out;
                n = md->topics[0].partition_cnt;
                snprintf(e->meta_topic, sizeof(e->meta_topic), "%s", topic);
                e->meta_n = n;
                e->meta_at_ms = sg_time_mono_ms();
                free(e->meta_ids);
                e->meta_ids = sg_xcalloc((size_t)n + 1, sizeof(*e->meta_ids));
                for (int i = 0; i < n; i++)
                        e->meta_ids[i] = md->topics[0].partitions[i].id;
        }
        topics = sg_xcalloc((size_t)n + 1, sizeof(*topics));
        parts = sg_xcalloc((size_t)n + 1, sizeof(*parts));
        stored = sg_xcalloc((size_t)n + 1, sizeof(*stored));
        from = sg_xcalloc((size_t)n + 1, sizeof(*from));
        hi = sg_xcalloc((size_t)n + 1, sizeof(*hi));
        other = sg_xcalloc((size_t)n + 1, sizeof(*other));
        for (int i = 0; i < n; i++) {
                topics[i] = topic;
                parts[i] = e->meta_ids[i];
        }
        if (sg_offsets_load(conn, e->cc->group, e->cluster_id, n, topics,
                            parts, stored, other, &err) < 0) {
                n = -1;
                goto out;
        }
        for (int i = 0; i < n; i++) {
                const sg_ledger_part_t *p =
                    sg_ledger_find(&e->ledger, topic, parts[i]);
                int64_t lo = -1;
                /* A partition this member reads: the log's end as its
                 * last Fetch saw it (no round trip). */
                bool known = local && p && p->assigned &&
                             !rd_kafka_get_watermark_offsets(
                                 e->rk, topic, parts[i], &lo, &hi[i]) &&
                             hi[i] >= 0;
                if (!known && rd_kafka_query_watermark_offsets(
                                  e->rk, topic, parts[i], &lo, &hi[i], 2000)) {
                        n = -1;
                        goto out;
                }
                from[i] = stored[i] >= 0 && !other[i] ? stored[i] : lo;
                if (p && p->assigned && sg_ledger_position(p) >= 0)
                        from[i] = sg_ledger_position(p);
        }
        *parts_out = parts;
        *from_out = from;
        *hi_out = hi;
        parts = NULL;
        from = hi = NULL;
out:
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        free(topics);
        free(parts);
        free(stored);
        free(from);
        free(hi);
        free(other);
        return n;
}

/* What the whole group still has to read of one topic (a partition with
 * nothing stored counts from its log start; one stored outside the log
 * counts 1 at least: its owner has a gap to record). Appends the
 * partitions not read to their end to rest ("user_events:3,4"). Returns
 * the events left, or -1 when it cannot tell now. */
static long long sg_engine_topic_rest(sg_engine_t *e, PGconn *conn,
                                      const char *topic, char *rest,
                                      size_t rest_size)
{
        int32_t *parts = NULL;
        int64_t *from = NULL, *hi = NULL;
        bool named = false;
        long long left = 0;
        int n = sg_engine_positions(e, conn, topic, false, &parts, &from, &hi);

        for (int i = 0; i < n; i++) {
                size_t used = strlen(rest);
                if (from[i] == hi[i])
                        continue;
                left += from[i] < hi[i] ? hi[i] - from[i] : 1;
                if (used + 40 < rest_size) {
                        if (!named)
                                snprintf(rest + used, rest_size - used,
                                         "%s%s:%d", used ? " " : "", topic,
                                         parts[i]);
                        else
                                snprintf(rest + used, rest_size - used, ",%d",
                                         parts[i]);
                        named = true;
                }
        }
        free(parts);
        free(from);
        free(hi);
        return n < 0 ? -1 : left;
}

/* sg_stage_services_t.stored. */
static int sg_engine_stored(void *engine, PGconn *conn, const char *topic,
                            int n, const int32_t *parts, int64_t *stored,
                            sg_pg_err_t *err)
{
        sg_engine_t *e = engine;
        const char **topics = sg_xcalloc((size_t)n + 1, sizeof(*topics));
        int *other = sg_xcalloc((size_t)n + 1, sizeof(*other));
        int rc;

        for (int i = 0; i < n; i++)
                topics[i] = topic;
        rc = sg_offsets_load(conn, e->cc->group, e->cluster_id, n, topics,
                             parts, stored, other, err);
        for (int i = 0; i < n && rc == 0; i++)
                if (other[i] || stored[i] < 0)
                        stored[i] = -1;
        free(topics);
        free(other);
        return rc;
}

/* sg_stage_services_t.behind. */
static int sg_engine_behind(void *engine, PGconn *conn, const char *topic,
                            bool *behind, int cap)
{
        int32_t *parts = NULL;
        int64_t *from = NULL, *hi = NULL;
        int n = sg_engine_positions(engine, conn, topic, true, &parts, &from,
                                    &hi);

        for (int i = 0; i < cap; i++)
                behind[i] = false;
        for (int i = 0; i < n; i++)
                if (parts[i] >= 0 && parts[i] < cap)
                        behind[parts[i]] = from[i] < hi[i];
        free(parts);
        free(from);
        free(hi);
        return n;
}

/* --idle-exit: this instance's partitions have been at their end for the
 * given time and the group has read every topic (every partition, also
 * those other members hold or nobody holds yet: after a kill -9, the dead
 * member keeps its partitions until its session times out). While the
 * rest is still being read by others, waits; if it makes no progress for
 * three session timeouts (at least 30 s), gives up. Returns 0 (not idle),
 * 1 (done: exit 0), or -1 (exit 1: the group did not read it all, said in
 * one line). */
static int sg_engine_idle(sg_engine_t *e, long long now)
{
        long long stall_ms = 3LL * e->session_ms > 30000 ? 3LL * e->session_ms
                                                        : 30000;
        char rest[256] = "";
        long long left = 0;
        PGconn *conn;

        if (e->cc->idle_exit_s <= 0 || e->ledger.batch_msgs)
                return 0;
        /* A member between a revocation (or its start) and its assignment
         * is not idle: a slow rebalance must not end it. */
        if (e->awaiting_since_ms && now - e->awaiting_since_ms < stall_ms)
                return 0;
        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(&e->ledger, p));)
                if (p->assigned && !p->eof)
                        return 0;
        if (now - e->last_activity_ms < (long long)e->cc->idle_exit_s * 1000 ||
            now - e->topic_check_ms < 1000)
                return 0;
        e->topic_check_ms = now;
        sg_engine_stream_abort(e); /* the connection is needed here */
        conn = sg_engine_conn(e);
        if (!conn)
                return e->fatal ? -1 : 0;
        for (int t = 0; e->cc->topics[t]; t++) {
                long long l = sg_engine_topic_rest(e, conn, e->cc->topics[t],
                                                   rest, sizeof(rest));
                if (l < 0)
                        return 0; /* cannot tell now: ask again in a second */
                left += l;
        }
        if (left == 0) {
                sg_info("idle for %ds and the group has read the whole "
                        "topic=%s: exiting",
                        e->cc->idle_exit_s, e->cc->topics[0]);
                return 1;
        }
        if (left != e->rest_lag || e->rest_since_ms == 0) {
                if (e->rest_since_ms == 0)
                        sg_info("this instance's partitions are at their end; "
                                "waiting for the group to read the rest "
                                "partitions=%s events_left=%lld",
                                rest, left);
                e->rest_lag = left;
                e->rest_since_ms = now;
                return 0;
        }
        if (now - e->rest_since_ms < stall_ms)
                return 0;
        sg_error("--idle-exit: the group has not read its topics to their end "
                 "and nothing moved for %llds: partitions=%s events_left=%lld "
                 "(held by another member, or not assigned); exiting 1",
                 stall_ms / 1000, rest, left);
        return -1;
}

static void sg_engine_progress(sg_engine_t *e, long long now, bool final)
{
        char extra[512] = "";
        long long lag = 0;
        double secs = (double)(now - e->last_progress_ms) / 1000.0;

        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(&e->ledger, p));) {
                int64_t lo, hi, pos;
                if (!p->assigned)
                        continue;
                pos = sg_ledger_position(p);
                if (rd_kafka_get_watermark_offsets(e->rk, p->topic, p->partition,
                                                   &lo, &hi) == 0 &&
                    hi >= 0)
                        lag += hi - (pos >= 0 ? pos : lo);
        }
        if (e->ops->progress)
                e->ops->progress(e->stage, extra, sizeof(extra));
        sg_info("%s rate=%.0f/s committed=%lld batches=%lld partitions=%d "
                "lag=%lld%s",
                final ? "final" : "progress",
                secs > 0 ? (double)(e->committed - e->last_progress_committed) /
                               secs
                         : 0.0,
                e->committed, e->batches, sg_ledger_assigned(&e->ledger), lag,
                extra);
        e->last_progress_ms = now;
        e->last_progress_committed = e->committed;
}

/* The engine's families in cc->metrics, and the handles of its group's
 * series (every rejection reason at 0, so that a scrape shows them all). */
static void sg_engine_metrics_init(sg_engine_t *e)
{
        sg_metrics_t *m = e->cc->metrics;
        const char *group = e->cc->group;
        static const char *const g[] = {"group", NULL};
        static const char *const gr[] = {"group", "reason", NULL};
        static const char *const gtp[] = {"group", "topic", "partition",
                                          NULL};
        sg_metric_t *f;

        if (!m)
                return;
        e->m.consumed = sg_metric_series1(
            sg_metrics_counter(m, "sg_events_consumed_total",
                               "Messages read from Kafka and handed to the "
                               "stage.",
                               g, 4),
            group);
        e->m.stored = sg_metric_series1(
            sg_metrics_counter(m, "sg_events_stored_total",
                               "Valid events of committed batches (stored, "
                               "counted or evaluated).",
                               g, 4),
            group);
        e->m.duplicates = sg_metric_series1(
            sg_metrics_counter(m, "sg_events_duplicate_total",
                               "Events of committed batches whose event_id "
                               "was seen before (not stored again).",
                               g, 4),
            group);
        f = sg_metrics_counter(m, "sg_events_rejected_total",
                               "Invalid events of committed batches, by the "
                               "contract's reason code.",
                               gr, 4 * SG_REASON__CNT);
        for (int r = 1; r < SG_REASON__CNT; r++) {
                const char *v[2] = {group, sg_reason_name((sg_reason_t)r)};
                e->m.rejected[r] = sg_metric_series(f, v);
        }
        e->m.batch_size = sg_metric_series1(
            sg_metrics_histogram(m, "sg_batch_size",
                                 "Messages per committed batch.", g, 4,
                                 sg_metrics_size_buckets,
                                 sg_metrics_size_nbuckets),
            group);
        e->m.commit_seconds = sg_metric_series1(
            sg_metrics_histogram(m, "sg_commit_seconds",
                                 "Time to commit a batch (rows and offsets, "
                                 "one transaction), retries included.",
                                 g, 4, sg_metrics_seconds_buckets,
                                 sg_metrics_seconds_nbuckets),
            group);
        e->m.gaps = sg_metrics_counter(
            m, "sg_offset_gaps_total",
            "Offset gaps recorded in offset_gaps (events lost to retention, "
            "out of range, cluster changed).",
            gr, 16);
        e->m.lag = sg_metrics_gauge(
            m, "sg_consumer_lag",
            "High watermark minus the next offset to read, per partition "
            "this member holds.",
            gtp, 1024);
}

void sg_engine_metrics_gap(sg_engine_t *e, const char *reason)
{
        const char *v[2] = {e->cc->group, reason};

        sg_series_inc(sg_metric_series(e->m.gaps, v));
}

/* The lag gauges of the partitions this member holds (the high watermark
 * as the last Fetch saw it: no round trip); a partition it no longer
 * holds is hidden. At most every SG_ENGINE_LAG_MS unless forced. */
static void sg_engine_metrics_lag(sg_engine_t *e, long long now, bool force)
{
        if (!e->m.lag || (!force && now - e->m.lag_ms < SG_ENGINE_LAG_MS))
                return;
        e->m.lag_ms = now;
        for (sg_ledger_part_t *p = NULL; (p = sg_ledger_next(&e->ledger, p));) {
                char part[16];
                int64_t lo, hi, pos;
                snprintf(part, sizeof(part), "%d", (int)p->partition);
                const char *v[3] = {e->cc->group, p->topic, part};
                sg_series_t *s = sg_metric_series(e->m.lag, v);
                if (!p->assigned) {
                        sg_series_hide(s);
                        continue;
                }
                if (rd_kafka_get_watermark_offsets(e->rk, p->topic,
                                                   p->partition, &lo,
                                                   &hi) != 0 ||
                    hi < 0)
                        continue; /* not fetched yet: nothing known */
                pos = sg_ledger_position(p);
                if (pos < 0)
                        pos = lo >= 0 ? lo : 0;
                sg_series_set(s, hi > pos ? (double)(hi - pos) : 0.0);
        }
}

/* Waits until the cluster answers and reads its id (it tells one
 * cluster's stored offsets from another's), backing off between attempts.
 * A cluster that answers without an id is older than Kafka 0.10.1, below
 * what StreamGuard supports (README, "Kafka versions"). Returns 0, 1 if
 * stopping, or -1 (fatal: said in one line). */
static int sg_engine_cluster_id(sg_engine_t *e, bool embedded)
{
        sg_backoff_t backoff;

        sg_backoff_init(&backoff, 250, 10000);
        while (!sg_stop_requested) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_resp_err_t err =
                    rd_kafka_metadata(e->rk, 0, NULL, &md, 5000);
                char run_id[64];
                char *id;

                if (err) {
                        sg_warn("kafka cluster not reachable yet, retrying in "
                                "%d ms attempt=%d reason=\"%s\"",
                                backoff.delay_ms, backoff.attempt + 1,
                                rd_kafka_err2str(err));
                        if (sg_backoff_wait(&backoff))
                                break;
                        continue;
                }
                rd_kafka_metadata_destroy(md);
                /* Metadata arrived: the id is there now, or never. */
                id = rd_kafka_clusterid(e->rk, 1000);
                if (!id) {
                        sg_error("the Kafka cluster answers without a cluster "
                                 "id: it is older than Kafka 0.10.1, and "
                                 "StreamGuard needs Kafka 0.11 or newer");
                        return -1;
                }
                /* sg-broker: each run is a new, empty cluster. */
                if (embedded &&
                    sg_kafka_embedded_run_id(run_id, sizeof(run_id)) == 0)
                        snprintf(e->cluster_id, sizeof(e->cluster_id), "%s/%s",
                                 id, run_id);
                else
                        snprintf(e->cluster_id, sizeof(e->cluster_id), "%s",
                                 id);
                rd_kafka_mem_free(e->rk, id);
                return 0;
        }
        return 1;
}

/* The consumer's Kafka configuration. Returns NULL after a line. */
static rd_kafka_conf_t *sg_engine_kafka_conf(sg_engine_t *e, bool *embedded)
{
        const sg_engine_conf_t *cc = e->cc;
        char session[16], heartbeat[16], queue_kbytes[16], errstr[512];
        char brokers[1024];
        rd_kafka_conf_t *conf;

        if (sg_kafka_brokers(cc->common, brokers, sizeof(brokers), embedded,
                             errstr, sizeof(errstr)) < 0) {
                sg_error("%s", errstr);
                return NULL;
        }
        /* How long a member that died (kill -9, a crash, a lost host) keeps
         * its partitions before the group moves them: librdkafka's default
         * is 45 s. Ours is 10 s on a real broker: librdkafka heartbeats from
         * its own thread, so a slow batch or a database outage never misses
         * one, and three heartbeats (every 3 s) must be lost in a row before
         * a live member is dropped, which a broker GC pause or a loaded
         * 2-core machine does not do; 10 s is also above the brokers'
         * default group.min.session.timeout.ms (6 s). sg-broker (local, in
         * memory) takes 6 s with a 1 s heartbeat. -X session.timeout.ms
         * wins. */
        e->session_ms = *embedded ? 6000 : 10000;
        snprintf(session, sizeof(session), "%d", e->session_ms);
        snprintf(heartbeat, sizeof(heartbeat), "%d", *embedded ? 1000 : 3000);
        for (int i = 0; i < cc->common->nprops; i++)
                if (strcmp(cc->common->prop_keys[i], "session.timeout.ms") == 0)
                        e->session_ms = atoi(cc->common->prop_values[i]);
        snprintf(queue_kbytes, sizeof(queue_kbytes), "%d", cc->queue_kbytes);
        const char *defaults[] = {
            "group.id", cc->group,
            "client.id", cc->appname,
            "enable.auto.commit", "false",
            "enable.auto.offset.store", "false",
            "auto.offset.reset", "error",
            "enable.partition.eof", "true",
            "session.timeout.ms", session,
            "heartbeat.interval.ms", heartbeat,
            /* New partitions of a topic (added while we run) are seen
             * within 10 s instead of librdkafka's 5 minutes. */
            "topic.metadata.refresh.interval.ms", "10000",
            /* A Fetch with nothing to return waits at most this long
             * (500 ms by default). A real broker answers as soon as data
             * arrives; sg-broker (librdkafka's mock) always waits the
             * full time, which alone put ~0.5 s on end-to-end latency. */
            "fetch.wait.max.ms", "100",
            /* Prefetch bounds (memory, measured by bench/run): the local
             * queue holds at most cc->queue_kbytes of payload (librdkafka
             * adds ~450 bytes per message on top) and one Fetch response
             * at most 8 MiB more (50 MiB by default). The count limit is
             * lifted so that the byte bound governs. */
            "queued.max.messages.kbytes", queue_kbytes,
            "queued.min.messages", "10000000",
            "fetch.max.bytes", "8388608",
            NULL};
        conf = sg_kafka_conf_new(cc->common, defaults, embedded, errstr,
                                 sizeof(errstr));
        if (!conf) {
                sg_error("%s", errstr);
                return NULL;
        }
        sg_engine_fetch_backoff(conf, cc->common);
        rd_kafka_conf_set_opaque(conf, e);
        rd_kafka_conf_set_rebalance_cb(conf, sg_engine_rebalance_cb);
        return conf;
}

static void sg_engine_handle_error(sg_engine_t *e, const rd_kafka_message_t *rkm)
{
        const char *topic = rkm->rkt ? rd_kafka_topic_name(rkm->rkt) : "";

        switch (rkm->err) {
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                sg_ledger_eof(sg_ledger_find(&e->ledger, topic, rkm->partition));
                sg_engine_trim(e);
                return;
        case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
                sg_engine_gap(e, topic, rkm->partition);
                return;
        default:
                sg_warn("consumer err=%s partition=%d reason=\"%s\"",
                        rd_kafka_err2name(rkm->err), rkm->partition,
                        rd_kafka_message_errstr(rkm));
                if (rkm->err == RD_KAFKA_RESP_ERR__FATAL)
                        e->fatal = true;
        }
}

/* One message: to the stage, and into the ledger. */
static void sg_engine_message(sg_engine_t *e, const rd_kafka_message_t *rkm,
                              long long now)
{
        const char *topic = rd_kafka_topic_name(rkm->rkt);
        sg_ledger_part_t *p = sg_ledger_find(&e->ledger, topic, rkm->partition);
        sg_msg_t msg;

        if (!p || !p->assigned)
                return; /* left over from before a rebalance */
        sg_replay_msg(&msg, topic, rkm);
        if (e->ops->add(e->stage, &msg) < 0) {
                e->fatal = true;
                return;
        }
        if (e->ledger.batch_msgs == 0)
                e->batch_started_ms = now;
        (void)sg_ledger_add(&e->ledger, p, rkm->offset);
        e->consumed++;
        sg_series_inc(e->m.consumed);
        e->last_activity_ms = now;
        sg_engine_stream_feed(e);
}

int sg_engine_run(const sg_engine_conf_t *cc, const sg_stage_t *ops,
                  void *stage)
{
        sg_engine_t e;
        char errstr[512];
        bool embedded = false;
        rd_kafka_conf_t *conf;
        rd_kafka_topic_partition_list_t *topics;
        rd_kafka_resp_err_t err;
        int rc = 1;

        memset(&e, 0, sizeof(e));
        e.cc = cc;
        e.ops = ops;
        e.stage = stage;
        sg_ledger_init(&e.ledger);
        sg_engine_metrics_init(&e);
        sg_pg_session_init(&e.pg, cc->common, "sg_writer", cc->appname);
        conf = sg_engine_kafka_conf(&e, &embedded);
        if (!conf)
                goto out;
        sg_engine_malloc_tuning();

        /* PostgreSQL first: without it nothing can be committed. */
        if (!sg_engine_conn(&e)) {
                rd_kafka_conf_destroy(conf);
                rc = e.fatal ? 1 : 0; /* permanent failure, or stopping */
                goto out;
        }
        e.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!e.rk) {
                sg_error("cannot create the consumer: %s", errstr);
                rd_kafka_conf_destroy(conf);
                goto out;
        }
        /* conf is owned by rk now */
        rd_kafka_poll_set_consumer(e.rk);
        rc = sg_engine_cluster_id(&e, embedded);
        if (rc != 0) {
                e.fatal = rc < 0;
                rc = rc < 0 ? 1 : 0;
                goto out_close;
        }
        topics = rd_kafka_topic_partition_list_new(SG_ENGINE_MAX_TOPICS);
        for (int t = 0; cc->topics[t]; t++)
                rd_kafka_topic_partition_list_add(topics, cc->topics[t],
                                                  RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(e.rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err) {
                sg_error("cannot subscribe topic=%s: %s", cc->topics[0],
                         rd_kafka_err2str(err));
                e.fatal = true;
                goto out_close;
        }
        sg_info("started group=%s topic=%s%s%s cluster=%s batch_rows=%d "
                "batch_ms=%d idle_exit=%ds",
                cc->group, cc->topics[0], cc->topics[1] ? "," : "",
                cc->topics[1] ? cc->topics[1] : "", e.cluster_id,
                cc->batch_rows, cc->batch_ms, cc->idle_exit_s);
        e.last_activity_ms = e.last_progress_ms = sg_time_mono_ms();
        e.awaiting_since_ms = e.last_activity_ms;
        if (ops->attach) {
                e.services.engine = &e;
                e.services.behind = sg_engine_behind;
                e.services.stored = sg_engine_stored;
                ops->attach(stage, &e.services);
        }

        while (!sg_stop_requested && !e.fatal) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(e.rk, 100);
                /* One clock read per message (it showed in profiles). */
                long long now = sg_time_mono_ms();
                int idle;

                if (rkm) {
                        if (rkm->err)
                                sg_engine_handle_error(&e, rkm);
                        else
                                sg_engine_message(&e, rkm, now);
                        rd_kafka_message_destroy(rkm);
                }
                if (e.ledger.batch_msgs > 0 && !e.fatal &&
                    (e.ledger.batch_msgs >= cc->batch_rows ||
                     now - e.batch_started_ms >= cc->batch_ms))
                        (void)sg_engine_commit(&e, true);
                else if (e.ledger.batch_msgs == 0 && !e.fatal)
                        (void)sg_engine_flush_state(&e, false, now);
                if (now - e.last_progress_ms >= (long long)cc->progress_s * 1000)
                        sg_engine_progress(&e, now, false);
                if (ops->tick && now - e.last_tick_ms >= SG_ENGINE_TICK_MS) {
                        e.last_tick_ms = now;
                        ops->tick(stage);
                }
                sg_kafka_watch(e.rk);
                sg_engine_metrics_lag(&e, now, false);
                idle = sg_engine_idle(&e, now);
                if (idle < 0)
                        e.fatal = true;
                if (idle != 0)
                        break;
        }
        if (!e.fatal && sg_engine_commit(&e, true) == 0 && !e.fatal)
                (void)sg_engine_flush_state(&e, true, sg_time_mono_ms());
        sg_engine_metrics_lag(&e, sg_time_mono_ms(), true);

out_close:
        /* Leaves the group: the revoke callback commits what is left. */
        rd_kafka_consumer_close(e.rk);
        sg_engine_progress(&e, sg_time_mono_ms(), true);
        rd_kafka_destroy(e.rk);
out:
        sg_pg_session_close(&e.pg);
        sg_ledger_fini(&e.ledger);
        free(e.meta_ids);
        return e.fatal ? 1 : rc;
}
