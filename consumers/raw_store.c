#include "raw_store.h"
#include "sg_defs.h"
#include "sg_log.h"
#include "sg_mask.h"
#include "sg_pg.h"
#include "sg_time.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_RAW_STORE_COLUMNS                                                   \
        "event_id, user_id, event_type, event_timestamp, event_date, "        \
        "country, is_eu, amount, currency, has_consent, do_not_track, "        \
        "device_id, content_id, watch_seconds, error_code, ip_truncated, "     \
        "metadata, kafka_topic, kafka_partition, kafka_offset"

void sg_raw_store_init(sg_raw_store_t *rs, const char *group,
                       const char *topic)
{
        memset(rs, 0, sizeof(*rs));
        rs->group = group;
        rs->topic = topic;
        sg_buf_init(&rs->rows);
        sg_buf_init(&rs->rejects);
        sg_buf_init(&rs->ids);
}

void sg_raw_store_fini(sg_raw_store_t *rs)
{
        sg_buf_fini(&rs->rows);
        sg_buf_fini(&rs->rejects);
        sg_buf_fini(&rs->ids);
        sg_dlw_fini(&rs->dlw);
}

static void sg_raw_store_opt_text(sg_buf_t *b, const char *s)
{
        if (*s)
                sg_buf_copy_text(b, s, strlen(s));
        else
                sg_buf_copy_null(b);
}

/* Called for every stored event: plain appends, no printf. The fields
 * written raw are validated tokens (UUIDs, type names, dates, country,
 * currency) that hold no COPY special character. */
void sg_raw_store_encode_row(sg_buf_t *b, const sg_event_t *ev,
                             const char *topic, int32_t partition,
                             int64_t offset)
{
        char ts[40], day[11];
        long long cents = ev->amount_cents;
        unsigned long long mag = cents < 0 ? 0ULL - (unsigned long long)cents
                                           : (unsigned long long)cents;
        char frac[3] = {(char)('0' + mag % 100 / 10), (char)('0' + mag % 10),
                        '\t'};
        size_t tslen = sg_time_format_pg(ev->ts_us, ts, sizeof(ts));

        sg_time_format_day(sg_time_utc_day(ev->ts_us), day);
        sg_buf_append(b, ev->event_id, 36);
        sg_buf_putc(b, '\t');
        sg_buf_append(b, ev->user_id, 36);
        sg_buf_putc(b, '\t');
        sg_buf_puts(b, sg_event_type_name(ev->type));
        sg_buf_putc(b, '\t');
        sg_buf_append(b, ts, tslen);
        sg_buf_putc(b, '\t');
        sg_buf_append(b, day, 10);
        sg_buf_putc(b, '\t');
        sg_buf_puts(b, ev->country);
        sg_buf_append(b, ev->is_eu ? "\tt\t" : "\tf\t", 3);
        if (cents < 0)
                sg_buf_putc(b, '-');
        sg_buf_put_int(b, (long long)(mag / 100));
        sg_buf_putc(b, '.');
        sg_buf_append(b, frac, 3);
        sg_buf_puts(b, ev->currency);
        sg_buf_append(b, ev->has_consent ? "\tt\t" : "\tf\t", 3);
        sg_buf_append(b, ev->do_not_track ? "t\t" : "f\t", 2);
        sg_raw_store_opt_text(b, ev->device_id);
        sg_buf_putc(b, '\t');
        sg_raw_store_opt_text(b, ev->content_id);
        sg_buf_putc(b, '\t');
        if (ev->watch_seconds >= 0)
                sg_buf_put_int(b, ev->watch_seconds);
        else
                sg_buf_copy_null(b);
        sg_buf_putc(b, '\t');
        sg_raw_store_opt_text(b, ev->error_code);
        sg_buf_putc(b, '\t');
        sg_raw_store_opt_text(b, ev->ip);
        sg_buf_putc(b, '\t');
        if (ev->metadata)
                sg_buf_copy_text(b, ev->metadata, strlen(ev->metadata));
        else
                sg_buf_copy_null(b);
        sg_buf_putc(b, '\t');
        sg_buf_copy_text(b, topic, strlen(topic));
        sg_buf_putc(b, '\t');
        sg_buf_put_int(b, partition);
        sg_buf_putc(b, '\t');
        sg_buf_put_int(b, offset);
        sg_buf_putc(b, '\n');
}

sg_reason_t sg_raw_store_add_value(sg_raw_store_t *rs, const char *value,
                                   size_t len, int32_t partition,
                                   int64_t offset)
{
        sg_msg_t msg = {rs->topic, partition, offset, NULL, 0, value, len, -1};

        return sg_raw_store_add_msg(rs, &msg);
}

sg_reason_t sg_raw_store_add_msg(sg_raw_store_t *rs, const sg_msg_t *msg)
{
        const char *value = msg->value, *topic = msg->topic;
        size_t len = msg->value_len;
        int32_t partition = msg->partition;
        int64_t offset = msg->offset;
        sg_event_t ev;
        char why[256];
        sg_reason_t r;
        size_t n;

        r = sg_event_parse(value ? value : "", value ? len : 0, &ev, why,
                           sizeof(why));
        if (r == SG_REASON_OK) {
                char day[11];

                sg_raw_store_encode_row(&rs->rows, &ev, topic, partition,
                                        offset);
                sg_time_format_day(sg_time_utc_day(ev.ts_us), day);
                sg_buf_append(&rs->ids, ev.event_id, 36);
                sg_buf_putc(&rs->ids, '\t');
                sg_buf_append(&rs->ids, day, 10);
                sg_buf_putc(&rs->ids, '\n');
                rs->batch_rows++;
                sg_event_fini(&ev);
                return r;
        }
        sg_event_fini(&ev);
        if (!value)
                snprintf(why, sizeof(why), "empty value (tombstone)");
        /* consumer_group, kafka_topic, kafka_partition, kafka_offset,
         * reason, message, payload, payload_bytes */
        sg_buf_copy_text(&rs->rejects, rs->group, strlen(rs->group));
        sg_buf_putc(&rs->rejects, '\t');
        sg_buf_copy_text(&rs->rejects, topic, strlen(topic));
        sg_buf_printf(&rs->rejects, "\t%" PRId32 "\t%" PRId64 "\t%s\t",
                      partition, offset, sg_reason_name(r));
        sg_buf_copy_text(&rs->rejects, why, strlen(why));
        sg_buf_putc(&rs->rejects, '\t');
        n = sg_mask_dlq_payload(value ? value : "", value ? len : 0,
                                SG_EVENT_MAX_VALUE, rs->dlq, sizeof(rs->dlq));
        sg_buf_copy_text(&rs->rejects, rs->dlq, n);
        sg_buf_printf(&rs->rejects, "\t%zu\n", value ? len : 0);
        rs->batch_rejects++;
        rs->batch_by_reason[r]++;
        return r;
}

static int sg_raw_store_add(void *stage, const sg_msg_t *msg)
{
        sg_raw_store_t *rs = stage;

        sg_dlw_add(&rs->dlw, msg->partition, msg->offset,
                   sg_raw_store_add_msg(rs, msg) != SG_REASON_OK);
        return 0;
}

/* Rows are streamed in pieces of at least this size: large enough that a
 * batch takes a few dozen round trips, small enough that the backend
 * starts early. */
#define SG_RAW_STORE_FEED_BYTES (64 * 1024)

#define SG_RAW_STORE_COPY "COPY events_raw (" SG_RAW_STORE_COLUMNS ") FROM STDIN"

/* Streams the rows parsed so far into the batch's transaction (see
 * sg_stage_t.feed): the backend inserts them while the next
 * messages are parsed. The rows stay buffered: flush may need them all
 * again (the duplicate path, or a retry after a failure). */
static int sg_raw_store_feed(void *stage, PGconn *conn, sg_pg_err_t *err)
{
        sg_raw_store_t *rs = stage;

        if (rs->rows.len - rs->sent < SG_RAW_STORE_FEED_BYTES)
                return 0;
        if (!rs->copy_open) {
                if (sg_pg_exec(conn, "SAVEPOINT raw_copy", err) < 0 ||
                    sg_pg_copy_begin(conn, SG_RAW_STORE_COPY, err) < 0)
                        return -1;
                rs->copy_open = true;
        }
        if (sg_pg_copy_send(conn, rs->rows.data + rs->sent,
                            rs->rows.len - rs->sent, err) < 0)
                return -1;
        rs->sent = rs->rows.len;
        return 0;
}

static void sg_raw_store_feed_abort(void *stage, PGconn *conn)
{
        sg_raw_store_t *rs = stage;
        if (rs->copy_open && conn)
                sg_pg_copy_abort(conn, "batch abandoned");
        rs->copy_open = false;
        rs->sent = 0;
}

/* Slow path, only when the batch holds an event_id already stored (or
 * twice): stage the batch, register the first copy of each new id (by
 * partition and offset) in event_ids, insert those rows, and record the
 * rest as duplicates. event_ids, not events_raw, knows every stored id:
 * events_raw's primary key holds event_date (its partition key), so it
 * cannot see a copy stored in another month. */
static int sg_raw_store_flush_dups(sg_raw_store_t *rs, PGconn *conn,
                                   sg_pg_err_t *err)
{
        const char *params[1] = {rs->group};
        long long dups = 0;

        if (sg_pg_exec(conn,
                       "CREATE TEMP TABLE IF NOT EXISTS raw_stage "
                       "(LIKE events_raw INCLUDING DEFAULTS) "
                       "ON COMMIT DELETE ROWS",
                       err) < 0 ||
            sg_pg_exec(conn, "TRUNCATE raw_stage", err) < 0 ||
            sg_pg_copy(conn,
                       "COPY raw_stage (" SG_RAW_STORE_COLUMNS ") FROM STDIN",
                       rs->rows.data, rs->rows.len, err) < 0)
                return -1;
        if (sg_pg_command(
                conn,
                "WITH first AS (SELECT DISTINCT ON (event_id) event_id, "
                "event_date, kafka_partition, kafka_offset FROM raw_stage "
                "ORDER BY event_id, kafka_partition, kafka_offset), "
                "reg AS (INSERT INTO event_ids (event_id, event_date) "
                "SELECT event_id, event_date FROM first "
                "ON CONFLICT (event_id) DO NOTHING RETURNING event_id), "
                "ins AS (INSERT INTO events_raw SELECT s.* FROM raw_stage s "
                "JOIN first f ON f.kafka_partition = s.kafka_partition AND "
                "f.kafka_offset = s.kafka_offset "
                "JOIN reg ON reg.event_id = f.event_id "
                "RETURNING kafka_partition, kafka_offset) "
                "INSERT INTO events_duplicates (consumer_group, event_id, "
                "kafka_topic, kafka_partition, kafka_offset) "
                "SELECT $1, s.event_id, s.kafka_topic, s.kafka_partition, "
                "s.kafka_offset FROM raw_stage s WHERE NOT EXISTS (SELECT 1 "
                "FROM ins WHERE ins.kafka_partition = s.kafka_partition AND "
                "ins.kafka_offset = s.kafka_offset)",
                1, params, "storing a batch with duplicates", &dups, err) < 0)
                return -1;
        rs->batch_dups = dups;
        return 0;
}

/* The events_raw rows: the rest of the stream if feed opened one, else
 * one COPY of the whole batch; then one COPY of their ids into event_ids.
 * Either way after SAVEPOINT raw_copy: a unique violation (an event_id
 * seen before, in any month) rolls back to it and takes the slow path. */
static int sg_raw_store_flush_rows(sg_raw_store_t *rs, PGconn *conn,
                                   sg_pg_err_t *err)
{
        bool streamed = rs->copy_open;
        int rc;

        /* Whatever happens next, the stream is over: a retry after a
         * failure writes the whole batch again. */
        rs->copy_open = false;
        if (streamed) {
                rc = sg_pg_copy_send(conn, rs->rows.data + rs->sent,
                                     rs->rows.len - rs->sent, err);
                rs->sent = 0;
                if (rc < 0) {
                        sg_pg_copy_abort(conn, "client error");
                        return -1;
                }
                rc = sg_pg_copy_end(conn, err);
        } else {
                rs->sent = 0;
                if (sg_pg_exec(conn, "SAVEPOINT raw_copy", err) < 0)
                        return -1;
                rc = sg_pg_copy(conn, SG_RAW_STORE_COPY, rs->rows.data,
                                rs->rows.len, err);
        }
        if (rc == 0)
                rc = sg_pg_copy(conn,
                                "COPY event_ids (event_id, event_date) "
                                "FROM STDIN",
                                rs->ids.data, rs->ids.len, err);
        if (rc == 0)
                return 0;
        if (strcmp(err->sqlstate, "23505") != 0) /* unique_violation */
                return -1;
        if (sg_pg_exec(conn, "ROLLBACK TO SAVEPOINT raw_copy", err) < 0)
                return -1;
        return sg_raw_store_flush_dups(rs, conn, err);
}

static int sg_raw_store_flush(void *stage, PGconn *conn, sg_pg_err_t *err)
{
        sg_raw_store_t *rs = stage;

        rs->batch_dups = 0;
        if (rs->batch_rows > 0 || rs->copy_open) {
                if (sg_raw_store_flush_rows(rs, conn, err) < 0)
                        return -1;
        }
        /* After the rows: a streamed COPY holds the connection until
         * flush_rows ends it. */
        if (rs->batch_rejects > 0 &&
            sg_pg_copy(conn,
                       "COPY events_rejected (consumer_group, kafka_topic, "
                       "kafka_partition, kafka_offset, reason, message, "
                       "payload, payload_bytes) FROM STDIN",
                       rs->rejects.data, rs->rejects.len, err) < 0)
                return -1;
        return sg_dlw_flush(&rs->dlw, conn, rs->group, rs->topic, err);
}

static void sg_raw_store_reset(sg_raw_store_t *rs)
{
        sg_buf_reset(&rs->rows);
        sg_buf_reset(&rs->rejects);
        sg_buf_reset(&rs->ids);
        rs->sent = 0;
        rs->copy_open = false;
        rs->batch_rows = rs->batch_rejects = rs->batch_dups = 0;
        memset(rs->batch_by_reason, 0, sizeof(rs->batch_by_reason));
}

static void sg_raw_store_committed(void *app)
{
        sg_raw_store_t *rs = app;

        rs->stored += rs->batch_rows - rs->batch_dups;
        rs->duplicates += rs->batch_dups;
        rs->rejected += rs->batch_rejects;
        for (int i = 0; i < SG_REASON__CNT; i++)
                rs->by_reason[i] += rs->batch_by_reason[i];
        sg_dlw_committed(&rs->dlw);
        sg_raw_store_reset(rs);
}

static void sg_raw_store_counts(void *app, sg_stage_counts_t *out)
{
        const sg_raw_store_t *rs = app;

        out->stored = rs->batch_rows - rs->batch_dups;
        out->duplicates = rs->batch_dups;
        for (int i = 0; i < SG_REASON__CNT; i++)
                out->rejected[i] = rs->batch_by_reason[i];
}

static void sg_raw_store_discard(void *app)
{
        sg_raw_store_t *rs = app;

        sg_dlw_discard(&rs->dlw);
        sg_raw_store_reset(rs);
}

static void sg_raw_store_progress(void *app, char *buf, size_t size)
{
        sg_raw_store_t *rs = app;

        snprintf(buf, size,
                 " stored=%lld rejected=%lld duplicates=%lld "
                 "dead_letter_alerts=%lld",
                 rs->stored, rs->rejected, rs->duplicates, rs->dlw.alerts);
}

static void sg_raw_store_conf_init(void *conf, sg_opt_t *opts)
{
        sg_raw_store_conf_t *c = conf;
        int i = 0;

        c->dl_window = 1000;
        c->dl_pct = 5.0;
        opts[i++] = (sg_opt_t){
            .name = "dead-letter-window", .kind = SG_OPT_LLONG,
            .dest = &c->dl_window, .arg = "N", .min = 0, .max = 100000000,
            .help = "judge the dead-letter share per partition in windows of "
                    "N\noffsets (0: never)"};
        opts[i++] = (sg_opt_t){
            .name = "dead-letter-alert-pct", .kind = SG_OPT_DOUBLE,
            .dest = &c->dl_pct, .arg = "P", .dmin = 0, .dmax = 100,
            .help = "a window with more than P % invalid messages is an "
                    "alert\n(sg-alert delivers it)"};
        opts[i] = (sg_opt_t)SG_OPT_END;
}

static int sg_raw_store_stage_init(void *stage, const sg_stage_env_t *env)
{
        const sg_raw_store_conf_t *c = env->conf;
        sg_raw_store_t *rs = stage;

        sg_raw_store_init(rs, env->group, env->topic);
        if (c)
                sg_dlw_init(&rs->dlw, c->dl_window, c->dl_pct);
        return 0;
}

static void sg_raw_store_stage_fini(void *stage)
{
        sg_raw_store_fini(stage);
}

const sg_stage_t sg_raw_store_stage = {
    .prog = "sg-raw-store",
    .about = "Stores user_events into events_raw (invalid messages into "
             "events_rejected\nwith a reason code, repeated event_ids into "
             "events_duplicates), exactly\nonce: rows and Kafka offsets are "
             "committed to PostgreSQL in one transaction.",
    .group = "sg-raw-store",
    .size = sizeof(sg_raw_store_t),
    .init = sg_raw_store_stage_init,
    .fini = sg_raw_store_stage_fini,
    .add = sg_raw_store_add,
    .flush = sg_raw_store_flush,
    .committed = sg_raw_store_committed,
    .counts = sg_raw_store_counts,
    .discard = sg_raw_store_discard,
    .progress = sg_raw_store_progress,
    .feed = sg_raw_store_feed,
    .feed_abort = sg_raw_store_feed_abort,
    .conf_size = sizeof(sg_raw_store_conf_t),
    .conf_init = sg_raw_store_conf_init,
    .opts_title = "Dead letters",
};
