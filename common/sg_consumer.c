#include "sg_consumer.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_offsets.h"
#include "sg_pg.h"
#include "sg_signal.h"

#include <inttypes.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per-partition state, indexed by partition id. */
typedef struct sg_part {
        bool assigned;
        bool eof;
        int64_t stored;  /* what stream_offsets holds (SG_OFFSETS_NONE) */
        int64_t pending; /* next offset after the open batch, -1: none */
} sg_part_t;

typedef struct sg_consumer {
        const sg_consumer_conf_t *cc;
        const sg_consumer_ops_t *ops;
        void *app;
        rd_kafka_t *rk;
        PGconn *conn;
        char conninfo[1024];
        char cluster_id[256];
        sg_part_t *parts;
        int nparts;
        int batch_msgs;
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
        int session_ms;           /* session.timeout.ms in force */
        long long topic_check_ms; /* last whole-topic check (--idle-exit) */
        long long rest_lag;       /* ... what the group still had to read */
        long long rest_since_ms;  /* ... unchanged since then */
} sg_consumer_t;

/* A unit of work run inside one transaction. Returns 0, SG_OFFSETS_FENCED,
 * or -1 with errstr. */
typedef int (*sg_consumer_tx_fn)(sg_consumer_t *c, void *arg, char *errstr,
                                 size_t errstr_size);

void sg_consumer_conf_init(sg_consumer_conf_t *cc)
{
        memset(cc, 0, sizeof(*cc));
        cc->batch_rows = 5000;
        cc->batch_ms = 100;
        cc->idle_exit_s = 0;
        cc->progress_s = 10;
        cc->on_gap = SG_GAP_CONTINUE;
        cc->queue_kbytes = 65536;
}

int sg_consumer_gap_policy_parse(const char *s, sg_gap_policy_t *out)
{
        if (strcmp(s, "continue") == 0)
                *out = SG_GAP_CONTINUE;
        else if (strcmp(s, "stop") == 0)
                *out = SG_GAP_STOP;
        else
                return -1;
        return 0;
}

enum {
        SG_OPT_GROUP = 2000,
        SG_OPT_BATCH_ROWS,
        SG_OPT_BATCH_MS,
        SG_OPT_IDLE_EXIT,
        SG_OPT_PROGRESS,
        SG_OPT_ON_GAP,
};

void sg_consumer_usage(FILE *fp, const sg_consumer_conf_t *cc)
{
        fprintf(fp,
                "Consumer options:\n"
                "  --group ID           consumer group (default %s)\n"
                "  --batch-rows N       commit after N messages (default %d)\n"
                "  --batch-ms MS        ... or when the batch is MS "
                "milliseconds old (default %d)\n"
                "  --idle-exit SECONDS  exit 0 once this instance's "
                "partitions have been at\n"
                "                       their end this long and the group "
                "has read the whole\n"
                "                       topic; exit 1 if the rest stops "
                "moving (default: run\n"
                "                       forever)\n"
                "  --progress-interval SECONDS  progress line period "
                "(default %d)\n"
                "  --on-gap POLICY      when stored offsets fell out of "
                "retention: continue\n"
                "                       (record in offset_gaps, log, go on; "
                "default) or stop\n",
                cc->group, cc->batch_rows, cc->batch_ms, cc->progress_s);
}

int sg_consumer_parse_args(int argc, char **argv, const char *prog,
                           void (*usage)(FILE *), sg_cli_common_t *common,
                           sg_consumer_conf_t *cc)
{
        static const struct option own[] = {
            {"group", required_argument, NULL, SG_OPT_GROUP},
            {"batch-rows", required_argument, NULL, SG_OPT_BATCH_ROWS},
            {"batch-ms", required_argument, NULL, SG_OPT_BATCH_MS},
            {"idle-exit", required_argument, NULL, SG_OPT_IDLE_EXIT},
            {"progress-interval", required_argument, NULL, SG_OPT_PROGRESS},
            {"on-gap", required_argument, NULL, SG_OPT_ON_GAP},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        long long v;
        int opt, r;

        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                switch (opt) {
                case SG_OPT_GROUP:
                        if (!*optarg)
                                return sg_cli_usage_error(prog, usage,
                                                          "--group is empty");
                        cc->group = optarg;
                        break;
                case SG_OPT_BATCH_ROWS:
                        if (sg_cli_parse_long(optarg, 1, 1000000, &v))
                                return sg_cli_usage_error(
                                    prog, usage, "--batch-rows must be 1..1000000");
                        cc->batch_rows = (int)v;
                        break;
                case SG_OPT_BATCH_MS:
                        if (sg_cli_parse_long(optarg, 1, 600000, &v))
                                return sg_cli_usage_error(
                                    prog, usage, "--batch-ms must be 1..600000");
                        cc->batch_ms = (int)v;
                        break;
                case SG_OPT_IDLE_EXIT:
                        if (sg_cli_parse_long(optarg, 1, 86400, &v))
                                return sg_cli_usage_error(
                                    prog, usage,
                                    "--idle-exit must be 1..86400 seconds");
                        cc->idle_exit_s = (int)v;
                        break;
                case SG_OPT_PROGRESS:
                        if (sg_cli_parse_long(optarg, 1, 3600, &v))
                                return sg_cli_usage_error(
                                    prog, usage,
                                    "--progress-interval must be 1..3600 seconds");
                        cc->progress_s = (int)v;
                        break;
                case SG_OPT_ON_GAP:
                        if (sg_consumer_gap_policy_parse(optarg, &cc->on_gap))
                                return sg_cli_usage_error(
                                    prog, usage,
                                    "--on-gap must be continue or stop");
                        break;
                default:
                        r = sg_cli_common(common, opt, optarg, prog, usage);
                        if (r >= 0)
                                return r;
                }
        }
        if (optind < argc)
                return sg_cli_usage_error(prog, usage,
                                          "unexpected argument '%s'",
                                          argv[optind]);
        return -1;
}

static sg_part_t *sg_consumer_part(sg_consumer_t *c, int32_t p)
{
        if (p < 0 || p > 1000000)
                return NULL;
        if (p >= c->nparts) {
                int n = c->nparts ? c->nparts : 16;
                sg_part_t *np;
                while (n <= p)
                        n *= 2;
                np = realloc(c->parts, (size_t)n * sizeof(*np));
                if (!np)
                        return NULL;
                for (int i = c->nparts; i < n; i++) {
                        np[i].assigned = false;
                        np[i].eof = false;
                        np[i].stored = SG_OFFSETS_NONE;
                        np[i].pending = -1;
                }
                c->parts = np;
                c->nparts = n;
        }
        return &c->parts[p];
}

/* Makes sure there is a usable connection, waiting out an outage.
 * Returns 0, or -1 if a stop was requested meanwhile. */
static int sg_consumer_ensure_conn(sg_consumer_t *c)
{
        if (c->conn && PQstatus(c->conn) == CONNECTION_OK)
                return 0;
        PQfinish(c->conn);
        c->conn = sg_pg_open_retry(c->conninfo, c->cc->appname);
        return c->conn ? 0 : -1;
}

/* Is the failure described by errstr (from sg_pg_errstr: SQLSTATE first)
 * one to wait out? */
static bool sg_consumer_transient(sg_consumer_t *c, const char *errstr)
{
        static const char *const states[] = {"57P01", "57P02", "57P03",
                                             "40001", "40P01", NULL};

        if (!c->conn || PQstatus(c->conn) != CONNECTION_OK)
                return true;
        if (strncmp(errstr, "08", 2) == 0 || strncmp(errstr, "53", 2) == 0)
                return true;
        for (int i = 0; states[i]; i++)
                if (strncmp(errstr, states[i], 5) == 0)
                        return true;
        return false;
}

static int sg_consumer_batch_tx(sg_consumer_t *c, void *arg, char *errstr,
                                size_t errstr_size);

/* Ends the open batch's stream: the daemon forgets what it sent, the
 * transaction is rolled back. The batch stays buffered and is written
 * whole at commit. Called before the connection is used for anything
 * else, and when the batch is discarded. */
static void sg_consumer_stream_abort(sg_consumer_t *c)
{
        bool ok = c->conn && PQstatus(c->conn) == CONNECTION_OK;

        if (!c->streaming)
                return;
        c->streaming = false;
        c->stream_failed = true;
        c->ops->feed_abort(c->app, ok ? c->conn : NULL);
        if (ok)
                PQclear(PQexec(c->conn, "ROLLBACK"));
}

/* After a message was added: opens the batch's transaction at its first
 * message, then lets the daemon send what it has. Never waits out an
 * outage: without a healthy connection the batch is simply written at
 * commit, where outages are handled. */
static void sg_consumer_stream_feed(sg_consumer_t *c)
{
        char errstr[512];

        if (!c->ops->feed || c->stream_failed)
                return;
        if (!c->streaming) {
                if (!c->conn || PQstatus(c->conn) != CONNECTION_OK ||
                    PQtransactionStatus(c->conn) != PQTRANS_IDLE ||
                    sg_pg_exec(c->conn, "BEGIN", errstr, sizeof(errstr)) < 0) {
                        c->stream_failed = true;
                        return;
                }
                c->streaming = true;
        }
        if (c->ops->feed(c->app, c->conn, errstr, sizeof(errstr)) < 0) {
                sg_debug("streaming the batch stopped (it is written whole "
                         "at commit): %s", errstr);
                sg_consumer_stream_abort(c);
        }
}

/* Runs fn in one transaction, retrying transient failures with capped
 * backoff. Returns 0, SG_OFFSETS_FENCED, or -1 (fatal error: c->fatal is
 * set; or a stop was requested during an outage). */
static int sg_consumer_tx(sg_consumer_t *c, const char *what,
                          sg_consumer_tx_fn fn, void *arg)
{
        char errstr[1024];
        int delay = 500;
        int rc;

        for (;;) {
                PGresult *res;

                /* Only a batch commit continues the batch's stream, and
                 * only on a healthy connection. */
                if (c->streaming &&
                    (fn != sg_consumer_batch_tx || !c->conn ||
                     PQstatus(c->conn) != CONNECTION_OK))
                        sg_consumer_stream_abort(c);
                if (sg_consumer_ensure_conn(c) < 0)
                        return -1;
                errstr[0] = '\0';
                if (c->streaming) {
                        c->streaming = false; /* flush completes it */
                        rc = 0;
                } else {
                        rc = sg_pg_exec(c->conn, "BEGIN", errstr,
                                        sizeof(errstr));
                }
                if (rc == 0)
                        rc = fn(c, arg, errstr, sizeof(errstr));
                if (rc == 0)
                        rc = sg_pg_exec(c->conn, "COMMIT", errstr,
                                        sizeof(errstr));
                if (rc == 0)
                        return 0;
                res = PQexec(c->conn, "ROLLBACK");
                PQclear(res);
                if (rc == SG_OFFSETS_FENCED) {
                        sg_warn("%s rolled back: %s", what, errstr);
                        return SG_OFFSETS_FENCED;
                }
                if (!sg_consumer_transient(c, errstr)) {
                        sg_error("%s failed: %s", what, errstr);
                        c->fatal = true;
                        return -1;
                }
                sg_warn("%s failed, postgres unavailable; retrying in %d ms "
                        "reason=\"%s\"", what, delay, errstr);
                PQfinish(c->conn);
                c->conn = NULL;
                if (sg_sleep_ms(delay))
                        return -1;
                delay = delay * 2 > 10000 ? 10000 : delay * 2;
        }
}

/* Collects the partitions with a pending offset. Returns their count;
 * the arrays are heap-allocated (caller frees) or NULL when count is 0. */
static int sg_consumer_pending(sg_consumer_t *c, int32_t **parts,
                               int64_t **next, int64_t **expected)
{
        int n = 0, k = 0;

        *parts = NULL;
        *next = NULL;
        *expected = NULL;
        for (int p = 0; p < c->nparts; p++)
                if (c->parts[p].pending >= 0)
                        n++;
        if (n == 0)
                return 0;
        *parts = malloc((size_t)n * sizeof(**parts));
        *next = malloc((size_t)n * sizeof(**next));
        *expected = malloc((size_t)n * sizeof(**expected));
        if (!*parts || !*next || !*expected) {
                sg_error("out of memory");
                abort();
        }
        for (int p = 0; p < c->nparts; p++) {
                if (c->parts[p].pending < 0)
                        continue;
                (*parts)[k] = p;
                (*next)[k] = c->parts[p].pending;
                (*expected)[k] = c->parts[p].stored;
                k++;
        }
        return n;
}

typedef struct sg_batch_arg {
        int n;
        int32_t *parts;
        int64_t *next;
        int64_t *expected;
} sg_batch_arg_t;

static int sg_consumer_batch_tx(sg_consumer_t *c, void *arg, char *errstr,
                                size_t errstr_size)
{
        sg_batch_arg_t *b = arg;

        if (c->ops->flush(c->app, c->conn, errstr, errstr_size) < 0)
                return -1;
        return sg_offsets_store(c->conn, c->cc->group, c->cc->common->topic,
                                c->cluster_id, b->n, b->parts, b->next,
                                b->expected, errstr, errstr_size);
}

/* Seeks every assigned partition back to its stored offset (after a batch
 * was discarded). */
static void sg_consumer_rewind(sg_consumer_t *c);

static void sg_consumer_discard(sg_consumer_t *c)
{
        sg_consumer_stream_abort(c);
        c->stream_failed = false;
        c->ops->discard(c->app);
        for (int p = 0; p < c->nparts; p++)
                c->parts[p].pending = -1;
        c->batch_msgs = 0;
}

/* Tells Kafka how far we got, best effort: only lag tools read it. */
static void sg_consumer_kafka_commit(sg_consumer_t *c, const sg_batch_arg_t *b)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(b->n);

        for (int i = 0; i < b->n; i++)
                rd_kafka_topic_partition_list_add(list, c->cc->common->topic,
                                                  b->parts[i])
                    ->offset = b->next[i];
        rd_kafka_commit(c->rk, list, 1);
        rd_kafka_topic_partition_list_destroy(list);
}

/* Commits the open batch (rows + offsets in one transaction). Returns 0,
 * or -1 if the batch was discarded (fenced, fatal, or stopping during an
 * outage). */
static int sg_consumer_commit(sg_consumer_t *c)
{
        sg_batch_arg_t b;
        long long t0 = sg_now_ms();
        int rc;

        b.n = sg_consumer_pending(c, &b.parts, &b.next, &b.expected);
        if (b.n == 0) {
                sg_consumer_stream_abort(c);
                c->stream_failed = false;
                c->batch_msgs = 0;
                return 0;
        }
        rc = sg_consumer_tx(c, "batch commit", sg_consumer_batch_tx, &b);
        c->stream_failed = false; /* the next batch may stream again */
        if (rc == 0) {
                sg_debug("batch committed messages=%d partitions=%d "
                         "gathered_ms=%lld commit_ms=%lld",
                         c->batch_msgs, b.n, t0 - c->batch_started_ms,
                         sg_now_ms() - t0);
                for (int i = 0; i < b.n; i++) {
                        c->parts[b.parts[i]].stored = b.next[i];
                        c->parts[b.parts[i]].pending = -1;
                }
                c->committed += c->batch_msgs;
                c->batches++;
                c->batch_msgs = 0;
                c->ops->committed(c->app);
                sg_consumer_kafka_commit(c, &b);
        } else {
                sg_consumer_discard(c);
                if (rc == SG_OFFSETS_FENCED)
                        sg_consumer_rewind(c);
                rc = -1;
        }
        free(b.parts);
        free(b.next);
        free(b.expected);
        return rc;
}

typedef struct sg_gap_arg {
        int32_t partition;
        const char *reason;
        int64_t from, to, lost;
        bool advance; /* also move the stored offset to `to` */
} sg_gap_arg_t;

static int sg_consumer_gap_tx(sg_consumer_t *c, void *arg, char *errstr,
                              size_t errstr_size)
{
        sg_gap_arg_t *g = arg;
        int64_t expected = g->from;

        if (sg_offsets_record_gap(c->conn, c->cc->group, c->cc->common->topic,
                                  g->partition, g->reason, g->from, g->to,
                                  g->lost, c->cluster_id, errstr,
                                  errstr_size) < 0)
                return -1;
        if (!g->advance)
                return 0;
        return sg_offsets_store(c->conn, c->cc->group, c->cc->common->topic,
                                c->cluster_id, 1, &g->partition, &g->to,
                                &expected, errstr, errstr_size);
}

/* Where a partition with nothing stored starts: its log start offset,
 * asked for now. Assigning the logical BEGINNING instead makes librdkafka
 * 2.0 look it up itself, which delayed the first fetch by up to ~0.6 s
 * (measured with bench/run's preloaded topic). After one failure (broker
 * unreachable: this runs inside the rebalance callback) the rest of the
 * assignment starts at BEGINNING without asking, as before. If retention
 * moves the log start in between, the fetch is out of range and recorded
 * as a gap, as for any stored offset. */
static int64_t sg_consumer_log_start(sg_consumer_t *c, int32_t partition,
                                     bool *ask)
{
        int64_t low = -1, high = -1;
        rd_kafka_resp_err_t err;

        if (!*ask)
                return RD_KAFKA_OFFSET_BEGINNING;
        err = rd_kafka_query_watermark_offsets(c->rk, c->cc->common->topic,
                                               partition, &low, &high, 1000);
        if (err || low < 0) {
                sg_debug("log start of partition=%d unknown (%s): from the "
                         "beginning", partition, rd_kafka_err2name(err));
                *ask = false;
                return RD_KAFKA_OFFSET_BEGINNING;
        }
        return low;
}

/* Reads the stored offsets of n partitions and prepares them for
 * assignment: rows of another cluster are reset to 0 for this one (and
 * the change recorded). Sets each list element's offset. Returns 0, or -1
 * (fatal, or stopping). */
static int sg_consumer_load(sg_consumer_t *c,
                            rd_kafka_topic_partition_list_t *list)
{
        int n = list->cnt;
        int32_t *parts = calloc((size_t)n + 1, sizeof(*parts));
        int64_t *stored = calloc((size_t)n + 1, sizeof(*stored));
        int *other = calloc((size_t)n + 1, sizeof(*other));
        char errstr[1024];
        int delay = 500, rc = -1;
        bool ask = true;

        if (!parts || !stored || !other)
                abort();
        for (int i = 0; i < n; i++)
                parts[i] = list->elems[i].partition;
        sg_consumer_stream_abort(c); /* the connection is needed here */
        for (;;) {
                if (sg_consumer_ensure_conn(c) < 0)
                        goto out;
                if (sg_offsets_load(c->conn, c->cc->group, c->cc->common->topic,
                                    c->cluster_id, n, parts, stored, other,
                                    errstr, sizeof(errstr)) == 0)
                        break;
                if (!sg_consumer_transient(c, errstr)) {
                        sg_error("cannot read stored offsets: %s", errstr);
                        c->fatal = true;
                        goto out;
                }
                sg_warn("cannot read stored offsets, retrying in %d ms "
                        "reason=\"%s\"", delay, errstr);
                PQfinish(c->conn);
                c->conn = NULL;
                if (sg_sleep_ms(delay))
                        goto out;
                delay = delay * 2 > 10000 ? 10000 : delay * 2;
        }
        for (int i = 0; i < n; i++) {
                if (other[i]) {
                        sg_gap_arg_t g = {parts[i], "cluster_changed",
                                          stored[i], 0, 0, true};
                        sg_warn("stored offsets belong to another Kafka "
                                "cluster; reading partition=%d from its "
                                "beginning on cluster=%s old_next_offset=%" PRId64,
                                parts[i], c->cluster_id, stored[i]);
                        if (sg_consumer_tx(c, "offset reset", sg_consumer_gap_tx,
                                           &g) != 0) {
                                c->fatal = true;
                                goto out;
                        }
                        stored[i] = 0;
                }
                sg_part_t *sp = sg_consumer_part(c, parts[i]);
                if (!sp)
                        abort();
                sp->stored = stored[i];
                sp->pending = -1;
                sp->eof = false;
                list->elems[i].offset = stored[i] >= 0
                                            ? stored[i]
                                            : sg_consumer_log_start(
                                                  c, parts[i], &ask);
        }
        rc = 0;
out:
        free(parts);
        free(stored);
        free(other);
        return rc;
}

/* Re-assigns every assigned partition at the offset stream_offsets holds
 * for it (the beginning where none). Used after a batch was discarded and
 * after an offset gap: a fresh assignment restarts the fetchers, which a
 * seek does not do for a partition stopped by an offset-reset error. */
static void sg_consumer_reassign(sg_consumer_t *c)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(8);
        bool coop =
            strcmp(rd_kafka_rebalance_protocol(c->rk), "COOPERATIVE") == 0;
        rd_kafka_error_t *error = NULL;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;

        for (int p = 0; p < c->nparts; p++)
                if (c->parts[p].assigned)
                        rd_kafka_topic_partition_list_add(
                            list, c->cc->common->topic, p)
                            ->offset = c->parts[p].stored >= 0
                                           ? c->parts[p].stored
                                           : RD_KAFKA_OFFSET_BEGINNING;
        if (list->cnt > 0) {
                if (coop) {
                        error = rd_kafka_incremental_unassign(c->rk, list);
                        if (!error)
                                error = rd_kafka_incremental_assign(c->rk,
                                                                    list);
                } else {
                        err = rd_kafka_assign(c->rk, list);
                }
                if (error || err)
                        sg_warn("re-assignment failed: %s",
                                error ? rd_kafka_error_string(error)
                                      : rd_kafka_err2str(err));
                else
                        sg_info("re-assigned partitions=%d at their stored "
                                "offsets", list->cnt);
                if (error)
                        rd_kafka_error_destroy(error);
        }
        rd_kafka_topic_partition_list_destroy(list);
}

static void sg_consumer_rewind(sg_consumer_t *c)
{
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(8);

        for (int p = 0; p < c->nparts; p++)
                if (c->parts[p].assigned)
                        rd_kafka_topic_partition_list_add(
                            list, c->cc->common->topic, p);
        /* Re-read what is stored: another writer may have moved it. */
        if (list->cnt > 0 && sg_consumer_load(c, list) == 0)
                sg_consumer_reassign(c);
        rd_kafka_topic_partition_list_destroy(list);
}

/* glibc raises its mmap threshold to the largest block freed so far (up to
 * 32 MiB): after the first large Fetch response, such buffers come from
 * the heap, and what they leave behind is kept. A fixed threshold hands
 * blocks over 128 KiB back to the kernel when freed, and a 1 MiB trim
 * threshold returns the heap's free top: the consumers' RSS then falls
 * back once a backlog is drained (bench/run's memory samples: RSS after
 * 5M events 26-38 MiB before, ~15 MiB after for sg-stream-metrics). No
 * effect under AddressSanitizer's allocator. */
static void sg_consumer_malloc_tuning(void)
{
#ifdef __GLIBC__
        mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
#endif
}

/* librdkafka >= 2.1 has fetch.queue.backoff.ms: how long a partition
 * whose local queue is full waits before fetching again (1 s by default,
 * the same stall as 2.0's tick). Shortened when the library knows it and
 * the user did not set it. */
static void sg_consumer_fetch_backoff(rd_kafka_conf_t *conf,
                                      const sg_cli_common_t *common)
{
        char err[256];

        for (int i = 0; i < common->nprops; i++)
                if (strcmp(common->prop_keys[i], "fetch.queue.backoff.ms") == 0)
                        return;
        if (rd_kafka_conf_set(conf, "fetch.queue.backoff.ms", "20", err,
                              sizeof(err)) != RD_KAFKA_CONF_OK)
                sg_debug("fetch.queue.backoff.ms not supported by this "
                         "librdkafka (%s)", rd_kafka_version_str());
}

static void sg_consumer_rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                                     rd_kafka_topic_partition_list_t *parts,
                                     void *opaque)
{
        sg_consumer_t *c = opaque;
        bool coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
        rd_kafka_error_t *error = NULL;

        c->last_activity_ms = sg_now_ms();
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                if (sg_consumer_load(c, parts) < 0) {
                        /* Stopping or fatal: take nothing. */
                        if (!coop)
                                rd_kafka_assign(rk, NULL);
                        return;
                }
                for (int i = 0; i < parts->cnt; i++) {
                        sg_part_t *sp = sg_consumer_part(c, parts->elems[i].partition);
                        sp->assigned = true;
                        if (sp->stored >= 0)
                                sg_info("assigned partition=%d offset=%" PRId64,
                                        parts->elems[i].partition, sp->stored);
                        else
                                sg_info("assigned partition=%d offset=beginning "
                                        "(nothing stored yet)",
                                        parts->elems[i].partition);
                }
                if (coop)
                        error = rd_kafka_incremental_assign(rk, parts);
                else
                        rd_kafka_assign(rk, parts);
        } else {
                /* Commit what we have before letting go, unless the
                 * partitions are already someone else's. */
                if (rd_kafka_assignment_lost(rk))
                        sg_consumer_discard(c);
                else
                        sg_consumer_commit(c);
                for (int i = 0; i < parts->cnt; i++) {
                        sg_part_t *sp = sg_consumer_part(c, parts->elems[i].partition);
                        if (sp) {
                                sp->assigned = false;
                                sp->pending = -1;
                        }
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

/* The stored offset of partition p fell outside what the broker holds. */
static void sg_consumer_gap(sg_consumer_t *c, int32_t p)
{
        sg_part_t *sp = sg_consumer_part(c, p);
        int64_t lo = -1, hi = -1;
        rd_kafka_resp_err_t err;
        sg_gap_arg_t g;

        if (!sp || !sp->assigned)
                return;
        if (sg_consumer_commit(c) < 0 && c->fatal)
                return;
        while ((err = rd_kafka_query_watermark_offsets(
                    c->rk, c->cc->common->topic, p, &lo, &hi, 5000))) {
                sg_warn("cannot read the offsets of partition=%d: %s; "
                        "retrying", p, rd_kafka_err2str(err));
                if (sg_sleep_ms(1000))
                        return;
        }
        g.partition = p;
        g.from = sp->stored >= 0 ? sp->stored : 0;
        g.to = lo;
        if (g.from < lo) {
                g.reason = "retention";
                g.lost = lo - g.from;
        } else {
                g.reason = "out_of_range";
                g.lost = 0;
        }
        g.advance = c->cc->on_gap == SG_GAP_CONTINUE;
        sg_error("events lost before they were read: partition=%d "
                 "reason=%s stored_offset=%" PRId64 " low=%" PRId64
                 " high=%" PRId64 " lost=%" PRId64 " policy=%s",
                 p, g.reason, g.from, lo, hi, g.lost,
                 g.advance ? "continue" : "stop");
        if (sg_consumer_tx(c, "gap record", sg_consumer_gap_tx, &g) != 0) {
                c->fatal = true;
                return;
        }
        if (!g.advance) {
                sg_error("stopping (--on-gap stop): the gap is recorded in "
                         "offset_gaps; rerun with --on-gap continue to go on "
                         "from offset %" PRId64, lo);
                c->fatal = true;
                return;
        }
        sp->stored = lo;
        sg_consumer_reassign(c);
}

/* Once a backlog is drained (every assigned partition at its end, after
 * at least 100,000 messages since the last time), hands the memory the
 * prefetch queue held back to the kernel. The mmap and trim thresholds
 * (sg_consumer_malloc_tuning) return what lies at the top of the main
 * heap only; librdkafka's threads allocate the messages in arenas of
 * their own, which keep it (bench/run, memory: RSS after catching up 5M
 * events stayed at 90-150 MiB against ~15 MiB idle). malloc_trim(0)
 * releases the free pages of every arena. */
static void sg_consumer_trim(sg_consumer_t *c)
{
        if (c->consumed - c->consumed_at_trim < 100000)
                return;
        for (int p = 0; p < c->nparts; p++)
                if (c->parts[p].assigned && !c->parts[p].eof)
                        return;
        c->consumed_at_trim = c->consumed;
#ifdef __GLIBC__
        malloc_trim(0);
#endif
}

static void sg_consumer_handle_error(sg_consumer_t *c,
                                     const rd_kafka_message_t *rkm)
{
        sg_part_t *sp;

        switch (rkm->err) {
        case RD_KAFKA_RESP_ERR__PARTITION_EOF:
                sp = sg_consumer_part(c, rkm->partition);
                if (sp)
                        sp->eof = true;
                sg_consumer_trim(c);
                return;
        case RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET:
        case RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE:
                sg_consumer_gap(c, rkm->partition);
                return;
        default:
                sg_warn("consumer err=%s partition=%d reason=\"%s\"",
                        rd_kafka_err2name(rkm->err), rkm->partition,
                        rd_kafka_message_errstr(rkm));
                if (rkm->err == RD_KAFKA_RESP_ERR__FATAL)
                        c->fatal = true;
        }
}

/* What the whole group still has to read of the topic, from the broker's
 * high watermarks and the offsets stored in PostgreSQL (a partition with
 * nothing stored counts from its log start). Describes the partitions
 * not read to their end in rest ("3,4,5"). Returns the number of events
 * left (a partition whose stored offset lies outside the log counts 1 at
 * least), or -1 when it cannot tell now (broker or database
 * unavailable). */
static long long sg_consumer_topic_rest(sg_consumer_t *c, char *rest,
                                        size_t rest_size)
{
        const char *topic = c->cc->common->topic;
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->rk, topic, NULL);
        int32_t *parts = NULL;
        int64_t *stored = NULL;
        int *other = NULL;
        char errstr[512];
        long long left = -1;
        size_t used = 0;
        int n = 0;

        rest[0] = '\0';
        if (!rkt)
                return -1;
        if (rd_kafka_metadata(c->rk, 0, rkt, &md, 2000) || md->topic_cnt != 1 ||
            md->topics[0].err)
                goto out;
        n = md->topics[0].partition_cnt;
        parts = calloc((size_t)n + 1, sizeof(*parts));
        stored = calloc((size_t)n + 1, sizeof(*stored));
        other = calloc((size_t)n + 1, sizeof(*other));
        if (!parts || !stored || !other)
                abort();
        for (int i = 0; i < n; i++)
                parts[i] = md->topics[0].partitions[i].id;
        if (sg_consumer_ensure_conn(c) < 0 ||
            sg_offsets_load(c->conn, c->cc->group, topic, c->cluster_id, n,
                            parts, stored, other, errstr, sizeof(errstr)) < 0)
                goto out;
        left = 0;
        for (int i = 0; i < n; i++) {
                int64_t lo = -1, hi = -1, from;
                if (rd_kafka_query_watermark_offsets(c->rk, topic, parts[i],
                                                     &lo, &hi, 2000)) {
                        left = -1;
                        goto out;
                }
                /* Stored beyond the end or below the log start is a gap
                 * the partition's owner has still to record. */
                from = stored[i] >= 0 && !other[i] ? stored[i] : lo;
                if (from == hi && from >= lo)
                        continue;
                left += from < hi ? hi - from : 1;
                if (used + 12 < rest_size)
                        used += (size_t)snprintf(rest + used, rest_size - used,
                                                 "%s%d", used ? "," : "",
                                                 parts[i]);
        }
out:
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        free(parts);
        free(stored);
        free(other);
        return left;
}

/* --idle-exit: this instance's partitions have been at their end for the
 * given time and the group has read the whole topic (every partition,
 * also those other members hold or nobody holds yet: after a kill -9, the
 * dead member keeps its partitions until its session times out). While
 * the rest is still being read by others, waits; if it makes no progress
 * for three session timeouts (at least 30 s), gives up. Returns 0 (not
 * idle), 1 (done: exit 0), or -1 (exit 1: the group did not read it all,
 * said in one line). */
static int sg_consumer_idle(sg_consumer_t *c, long long now)
{
        long long stall_ms = 3LL * c->session_ms > 30000 ? 3LL * c->session_ms
                                                        : 30000;
        char rest[256];
        long long left;

        if (c->cc->idle_exit_s <= 0 || c->batch_msgs)
                return 0;
        for (int p = 0; p < c->nparts; p++)
                if (c->parts[p].assigned && !c->parts[p].eof)
                        return 0;
        if (now - c->last_activity_ms < (long long)c->cc->idle_exit_s * 1000 ||
            now - c->topic_check_ms < 1000)
                return 0;
        c->topic_check_ms = now;
        sg_consumer_stream_abort(c); /* the connection is needed here */
        left = sg_consumer_topic_rest(c, rest, sizeof(rest));
        if (left == 0) {
                sg_info("idle for %ds and the group has read the whole "
                        "topic=%s: exiting", c->cc->idle_exit_s,
                        c->cc->common->topic);
                return 1;
        }
        if (left < 0)
                return 0; /* cannot tell now: ask again in a second */
        if (left != c->rest_lag || c->rest_since_ms == 0) {
                if (c->rest_since_ms == 0)
                        sg_info("this instance's partitions are at their end; "
                                "waiting for the group to read the rest of "
                                "topic=%s partitions=%s events_left=%lld",
                                c->cc->common->topic, rest, left);
                c->rest_lag = left;
                c->rest_since_ms = now;
                return 0;
        }
        if (now - c->rest_since_ms < stall_ms)
                return 0;
        sg_error("--idle-exit: the group has not read topic=%s to its end "
                 "and nothing moved for %llds: partitions=%s events_left=%lld "
                 "(held by another member, or not assigned); exiting 1",
                 c->cc->common->topic, stall_ms / 1000, rest, left);
        return -1;
}

static void sg_consumer_progress(sg_consumer_t *c, long long now, bool final)
{
        char extra[512] = "";
        long long lag = 0;
        int assigned = 0;
        double secs = (double)(now - c->last_progress_ms) / 1000.0;

        for (int p = 0; p < c->nparts; p++) {
                int64_t lo, hi, pos;
                if (!c->parts[p].assigned)
                        continue;
                assigned++;
                pos = c->parts[p].pending >= 0 ? c->parts[p].pending
                                               : c->parts[p].stored;
                if (rd_kafka_get_watermark_offsets(c->rk, c->cc->common->topic,
                                                   p, &lo, &hi) == 0 &&
                    hi >= 0)
                        lag += hi - (pos >= 0 ? pos : lo);
        }
        if (c->ops->progress)
                c->ops->progress(c->app, extra, sizeof(extra));
        sg_info("%s rate=%.0f/s committed=%lld batches=%lld partitions=%d "
                "lag=%lld%s",
                final ? "final" : "progress",
                secs > 0 ? (double)(c->committed - c->last_progress_committed) / secs
                         : 0.0,
                c->committed, c->batches, assigned, lag, extra);
        c->last_progress_ms = now;
        c->last_progress_committed = c->committed;
}

/* Waits until the cluster answers and reads its id (it tells one
 * cluster's stored offsets from another's), backing off between attempts.
 * A cluster that answers without an id is older than Kafka 0.10.1, below
 * what StreamGuard supports (README, "Kafka versions"). Returns 0, 1 if
 * stopping, or -1 (fatal: said in one line). */
static int sg_consumer_cluster_id(sg_consumer_t *c, bool embedded)
{
        int delay = 250;

        for (int attempt = 1; !sg_stop_requested; attempt++) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_resp_err_t err =
                    rd_kafka_metadata(c->rk, 0, NULL, &md, 5000);
                char run_id[64];
                char *id;

                if (err) {
                        sg_warn("kafka cluster not reachable yet, retrying in "
                                "%d ms attempt=%d reason=\"%s\"",
                                delay, attempt, rd_kafka_err2str(err));
                        if (sg_sleep_ms(delay))
                                break;
                        delay = delay * 2 > 10000 ? 10000 : delay * 2;
                        continue;
                }
                rd_kafka_metadata_destroy(md);
                /* Metadata arrived: the id is there now, or never. */
                id = rd_kafka_clusterid(c->rk, 1000);
                if (!id) {
                        sg_error("the Kafka cluster answers without a cluster "
                                 "id: it is older than Kafka 0.10.1, and "
                                 "StreamGuard needs Kafka 0.11 or newer");
                        return -1;
                }
                /* sg-broker: each run is a new, empty cluster. */
                if (embedded &&
                    sg_kafka_embedded_run_id(run_id, sizeof(run_id)) == 0)
                        snprintf(c->cluster_id, sizeof(c->cluster_id),
                                 "%s/%s", id, run_id);
                else
                        snprintf(c->cluster_id, sizeof(c->cluster_id), "%s",
                                 id);
                rd_kafka_mem_free(c->rk, id);
                return 0;
        }
        return 1;
}

int sg_consumer_run(const sg_consumer_conf_t *cc, const sg_consumer_ops_t *ops,
                    void *app)
{
        sg_consumer_t c;
        char errstr[512];
        char session[16], heartbeat[16];
        char queue_kbytes[16];
        bool embedded = false;
        rd_kafka_conf_t *conf = NULL;
        rd_kafka_topic_partition_list_t *topics = NULL;
        rd_kafka_resp_err_t err;
        int rc = 1;

        memset(&c, 0, sizeof(c));
        snprintf(queue_kbytes, sizeof(queue_kbytes), "%d", cc->queue_kbytes);
        c.cc = cc;
        c.ops = ops;
        c.app = app;
        sg_pg_conninfo(cc->common, "sg_writer", c.conninfo, sizeof(c.conninfo));

        {
                bool probe = false;
                char brokers[1024];
                if (sg_kafka_brokers(cc->common, brokers, sizeof(brokers),
                                     &probe, errstr, sizeof(errstr)) < 0) {
                        sg_error("%s", errstr);
                        return 1;
                }
                /* How long a member that died (kill -9, a crash, a lost
                 * host) keeps its partitions before the group moves them:
                 * librdkafka's default is 45 s. Ours is 10 s on a real
                 * broker: librdkafka heartbeats from its own thread, so a
                 * slow batch or a database outage never misses one, and
                 * three heartbeats (every 3 s) must be lost in a row
                 * before a live member is dropped, which a broker GC pause
                 * or a loaded 2-core machine does not do; 10 s is also
                 * above the brokers' default group.min.session.timeout.ms
                 * (6 s). sg-broker (local, in memory) takes 6 s with a
                 * 1 s heartbeat. -X session.timeout.ms=... wins. */
                c.session_ms = probe ? 6000 : 10000;
        }
        snprintf(session, sizeof(session), "%d", c.session_ms);
        snprintf(heartbeat, sizeof(heartbeat), "%d",
                 c.session_ms == 6000 ? 1000 : 3000);
        for (int i = 0; i < cc->common->nprops; i++)
                if (strcmp(cc->common->prop_keys[i], "session.timeout.ms") == 0)
                        c.session_ms = atoi(cc->common->prop_values[i]);
        const char *defaults[] = {
            "group.id", cc->group,
            "client.id", cc->appname,
            "enable.auto.commit", "false",
            "enable.auto.offset.store", "false",
            "auto.offset.reset", "error",
            "enable.partition.eof", "true",
            "session.timeout.ms", session,
            "heartbeat.interval.ms", heartbeat,
            /* New partitions of the topic (added while we run) are seen
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
        conf = sg_kafka_conf_new(cc->common, defaults, &embedded, errstr,
                                 sizeof(errstr));
        if (!conf) {
                sg_error("%s", errstr);
                return 1;
        }
        sg_consumer_fetch_backoff(conf, cc->common);
        sg_consumer_malloc_tuning();
        rd_kafka_conf_set_opaque(conf, &c);
        rd_kafka_conf_set_rebalance_cb(conf, sg_consumer_rebalance_cb);

        /* PostgreSQL first: without it nothing can be committed. */
        c.conn = sg_pg_open_retry(c.conninfo, cc->appname);
        if (!c.conn) {
                rd_kafka_conf_destroy(conf);
                return 0; /* stop requested while waiting */
        }
        c.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!c.rk) {
                sg_error("cannot create the consumer: %s", errstr);
                rd_kafka_conf_destroy(conf);
                goto out;
        }
        conf = NULL; /* owned by rk */
        rd_kafka_poll_set_consumer(c.rk);
        rc = sg_consumer_cluster_id(&c, embedded);
        if (rc != 0) {
                if (rc < 0)
                        c.fatal = true;
                rc = rc < 0 ? 1 : 0;
                goto out_close;
        }
        topics = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, cc->common->topic,
                                          RD_KAFKA_PARTITION_UA);
        err = rd_kafka_subscribe(c.rk, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (err) {
                sg_error("cannot subscribe topic=%s: %s", cc->common->topic,
                         rd_kafka_err2str(err));
                goto out_close;
        }
        sg_info("started group=%s topic=%s cluster=%s batch_rows=%d "
                "batch_ms=%d idle_exit=%ds",
                cc->group, cc->common->topic, c.cluster_id, cc->batch_rows,
                cc->batch_ms, cc->idle_exit_s);
        c.last_activity_ms = c.last_progress_ms = sg_now_ms();

        while (!sg_stop_requested && !c.fatal) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(c.rk, 100);
                int idle;
                /* One clock read per message (it showed in profiles). */
                long long now = sg_now_ms();

                if (rkm) {
                        sg_part_t *sp = sg_consumer_part(&c, rkm->partition);
                        if (rkm->err) {
                                sg_consumer_handle_error(&c, rkm);
                        } else if (sp && sp->assigned) {
                                if (ops->add(app, rkm) < 0) {
                                        c.fatal = true;
                                } else {
                                        if (c.batch_msgs++ == 0)
                                                c.batch_started_ms = now;
                                        sp->pending = rkm->offset + 1;
                                        sp->eof = false;
                                        c.consumed++;
                                        c.last_activity_ms = now;
                                        sg_consumer_stream_feed(&c);
                                }
                        }
                        rd_kafka_message_destroy(rkm);
                }
                if (c.batch_msgs > 0 && !c.fatal &&
                    (c.batch_msgs >= cc->batch_rows ||
                     now - c.batch_started_ms >= cc->batch_ms))
                        sg_consumer_commit(&c);
                if (now - c.last_progress_ms >= (long long)cc->progress_s * 1000)
                        sg_consumer_progress(&c, now, false);
                sg_kafka_watch(c.rk);
                idle = sg_consumer_idle(&c, now);
                if (idle < 0)
                        c.fatal = true;
                if (idle != 0)
                        break;
        }
        rc = c.fatal ? 1 : 0;
        if (!c.fatal)
                sg_consumer_commit(&c);

out_close:
        /* Leaves the group: the revoke callback commits what is left. */
        rd_kafka_consumer_close(c.rk);
        sg_consumer_progress(&c, sg_now_ms(), true);
        rd_kafka_destroy(c.rk);
out:
        PQfinish(c.conn);
        free(c.parts);
        return c.fatal ? 1 : rc;
}
