#include "stream_metrics.h"
#include "sg_buf.h"
#include "sg_defs.h"
#include "sg_hash.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t sg_agg_hash(int32_t day, int type, const char *str)
{
        uint8_t t = (uint8_t)(type + 1);
        uint64_t h = sg_fnv1a(&day, sizeof(day), SG_FNV_OFFSET);

        h = sg_fnv1a(&t, 1, h);
        h = sg_fnv1a(str, strlen(str), h);
        return h ^ (h >> 29);
}

static sg_agg_entry_t *sg_agg_slot(sg_agg_entry_t *e, size_t cap, int32_t day,
                                   int type, const char *str)
{
        size_t i = sg_agg_hash(day, type, str) & (cap - 1);

        while (e[i].used && !(e[i].day == day && e[i].type == type &&
                              strcmp(e[i].str, str) == 0))
                i = (i + 1) & (cap - 1);
        return &e[i];
}

static void sg_agg_grow(sg_agg_map_t *m)
{
        size_t cap = m->cap ? m->cap * 2 : 256;
        sg_agg_entry_t *e = sg_xcalloc(cap, sizeof(*e));

        for (size_t i = 0; i < m->cap; i++)
                if (m->e[i].used)
                        *sg_agg_slot(e, cap, m->e[i].day, m->e[i].type,
                                     m->e[i].str) = m->e[i];
        free(m->e);
        m->e = e;
        m->cap = cap;
}

static void sg_agg_add(sg_agg_map_t *m, int32_t day, int type, const char *str,
                       long long a, long long b, long long c)
{
        sg_agg_entry_t *s;

        if ((m->n + 1) * 10 > m->cap * 7)
                sg_agg_grow(m);
        s = sg_agg_slot(m->e, m->cap, day, type, str);
        if (!s->used) {
                s->used = true;
                s->day = day;
                s->type = (int8_t)type;
                snprintf(s->str, sizeof(s->str), "%s", str);
                m->n++;
        }
        s->v[0] += a;
        s->v[1] += b;
        s->v[2] += c;
}

const sg_agg_entry_t *sg_agg_map_find(const sg_agg_map_t *m, int32_t day,
                                      int type, const char *str)
{
        const sg_agg_entry_t *s;

        if (!m->cap)
                return NULL;
        s = sg_agg_slot(m->e, m->cap, day, type, str);
        return s->used ? s : NULL;
}

static void sg_agg_clear(sg_agg_map_t *m)
{
        if (m->n)
                memset(m->e, 0, m->cap * sizeof(*m->e));
        m->n = 0;
}

void sg_stream_metrics_init(sg_stream_metrics_t *sm)
{
        memset(sm, 0, sizeof(*sm));
}

void sg_stream_metrics_fini(sg_stream_metrics_t *sm)
{
        free(sm->daily.e);
        free(sm->country.e);
        free(sm->content.e);
        free(sm->minute.e);
        memset(sm, 0, sizeof(*sm));
}

void sg_stream_metrics_reset(sg_stream_metrics_t *sm)
{
        sg_agg_clear(&sm->daily);
        sg_agg_clear(&sm->country);
        sg_agg_clear(&sm->content);
        sg_agg_clear(&sm->minute);
        sm->batch_valid = sm->batch_invalid = 0;
        memset(sm->batch_by_reason, 0, sizeof(sm->batch_by_reason));
}

int32_t sg_stream_metrics_minute(long long ts_us)
{
        long long q = ts_us / 60000000LL;

        if (ts_us % 60000000LL < 0)
                q--;
        return (int32_t)q;
}

void sg_stream_metrics_add_event(sg_stream_metrics_t *sm,
                                 const sg_event_t *ev)
{
        int32_t day = (int32_t)sg_time_utc_day(ev->ts_us);

        sg_agg_add(&sm->daily, day, ev->type, "", 1, ev->amount_cents, 0);
        sg_agg_add(&sm->country, day, ev->type, ev->country, 1,
                   ev->amount_cents, 0);
        if (ev->content_id[0])
                sg_agg_add(&sm->content, day, -1, ev->content_id,
                           ev->type == SG_EV_PLAY,
                           ev->type == SG_EV_PLAYBACK_ERROR,
                           ev->type == SG_EV_STOP && ev->watch_seconds > 0
                               ? ev->watch_seconds
                               : 0);
        sg_agg_add(&sm->minute, sg_stream_metrics_minute(ev->ts_us), -1, "", 1,
                   0, 0);
        sm->batch_valid++;
}

sg_reason_t sg_stream_metrics_add_value(sg_stream_metrics_t *sm,
                                        const char *value, size_t len)
{
        sg_event_t ev;
        char msg[256];
        sg_reason_t r = sg_event_parse(value ? value : "", value ? len : 0,
                                       &ev, msg, sizeof(msg));

        if (r == SG_REASON_OK)
                sg_stream_metrics_add_event(sm, &ev);
        else {
                sm->batch_invalid++;
                sm->batch_by_reason[r]++;
        }
        sg_event_fini(&ev);
        return r;
}

static int sg_stream_metrics_add(void *stage, const sg_msg_t *msg)
{
        sg_stream_metrics_add_value(stage, msg->value, msg->value_len);
        return 0;
}

static void sg_array_cents(sg_buf_t *b, long long cents)
{
        char s[32];

        snprintf(s, sizeof(s), "%s%lld.%02lld", cents < 0 ? "-" : "",
                 llabs(cents) / 100, llabs(cents) % 100);
        sg_buf_array_str(b, s);
}

/* Adds one map's aggregates to its table with one statement whose
 * parameters are arrays, one per column. kind: 0 daily, 1 country,
 * 2 content, 3 minute. The minutes are kept for the 7 days of event time
 * up to the latest minute seen (stored or in this batch; sql/016: GET
 * /stats/timeseries shows at most one day): the same statement prunes the
 * older ones (an index range of the primary key, usually empty) and adds
 * no minute older than that. Event time, not the clock: the same log
 * leaves the same rows, however it is batched and whenever it is read
 * (the rows kept are those within 7 days of the log's latest minute). */
static int sg_stream_metrics_upsert(PGconn *conn, const sg_agg_map_t *m,
                                    int kind, sg_pg_err_t *err)
{
        static const char *const sql[4] = {
            "INSERT INTO metrics_streaming_daily AS m (event_date, event_type, "
            "total_events, total_amount) "
            "SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[], "
            "$4::numeric[]) "
            "ON CONFLICT (event_date, event_type) DO UPDATE SET "
            "total_events = m.total_events + EXCLUDED.total_events, "
            "total_amount = m.total_amount + EXCLUDED.total_amount, "
            "updated_at = now()",
            "INSERT INTO metrics_streaming_country_daily AS m (event_date, "
            "event_type, country, total_events, total_amount) "
            "SELECT * FROM unnest($1::date[], $2::text[], $3::text[], "
            "$4::bigint[], $5::numeric[]) "
            "ON CONFLICT (event_date, country, event_type) DO UPDATE SET "
            "total_events = m.total_events + EXCLUDED.total_events, "
            "total_amount = m.total_amount + EXCLUDED.total_amount, "
            "updated_at = now()",
            "INSERT INTO metrics_streaming_content_daily AS m (event_date, "
            "content_id, plays, playback_errors, watch_seconds) "
            "SELECT * FROM unnest($1::date[], $2::text[], $3::bigint[], "
            "$4::bigint[], $5::bigint[]) "
            "ON CONFLICT (event_date, content_id) DO UPDATE SET "
            "plays = m.plays + EXCLUDED.plays, "
            "playback_errors = m.playback_errors + EXCLUDED.playback_errors, "
            "watch_seconds = m.watch_seconds + EXCLUDED.watch_seconds, "
            "updated_at = now()",
            "WITH lim AS (SELECT greatest((SELECT max(minute) FROM "
            "metrics_streaming_minute), (SELECT to_timestamp(max(mn) * 60) "
            "FROM unnest($1::bigint[]) AS mn)) - interval '7 days' AS t), "
            "pruned AS (DELETE FROM metrics_streaming_minute "
            "WHERE minute < (SELECT t FROM lim)) "
            "INSERT INTO metrics_streaming_minute AS m (minute, events) "
            "SELECT to_timestamp(u.mn * 60), u.n "
            "FROM unnest($1::bigint[], $2::bigint[]) AS u(mn, n) "
            "WHERE to_timestamp(u.mn * 60) >= (SELECT t FROM lim) "
            "ON CONFLICT (minute) DO UPDATE SET "
            "events = m.events + EXCLUDED.events, updated_at = now()",
        };
        static const char *const what[4] = {
            "adding to metrics_streaming_daily",
            "adding to metrics_streaming_country_daily",
            "adding to metrics_streaming_content_daily",
            "adding to metrics_streaming_minute"};
        int ncols = kind == 3 ? 2 : kind == 0 ? 4 : 5;
        sg_buf_t a[5];
        const char *params[5];
        int rc;

        if (m->n == 0)
                return 0;
        for (int i = 0; i < ncols; i++) {
                sg_buf_init(&a[i]);
                sg_buf_array_begin(&a[i]);
        }
        for (size_t i = 0; i < m->cap; i++) {
                const sg_agg_entry_t *e = &m->e[i];
                char day[11];
                int k = 0;
                if (!e->used)
                        continue;
                if (kind == 3) {
                        sg_buf_array_int(&a[0], e->day);
                        sg_buf_array_int(&a[1], e->v[0]);
                        continue;
                }
                sg_time_format_day(e->day, day);
                sg_buf_array_str(&a[k++], day);
                if (kind != 2)
                        sg_buf_array_str(&a[k++], sg_event_type_name(
                                                      (sg_event_type_t)e->type));
                if (kind != 0)
                        sg_buf_array_str(&a[k++], e->str);
                sg_buf_array_int(&a[k++], e->v[0]);
                if (kind == 2) {
                        sg_buf_array_int(&a[k++], e->v[1]);
                        sg_buf_array_int(&a[k++], e->v[2]);
                } else {
                        sg_array_cents(&a[k++], e->v[1]);
                }
        }
        for (int i = 0; i < ncols; i++) {
                sg_buf_array_end(&a[i]);
                params[i] = a[i].data;
        }
        rc = sg_pg_command(conn, sql[kind], ncols, params, what[kind], NULL,
                           err);
        for (int i = 0; i < ncols; i++)
                sg_buf_fini(&a[i]);
        return rc;
}

static int sg_stream_metrics_flush(void *stage, PGconn *conn,
                                   sg_pg_err_t *err)
{
        sg_stream_metrics_t *sm = stage;

        if (sg_stream_metrics_upsert(conn, &sm->daily, 0, err) < 0 ||
            sg_stream_metrics_upsert(conn, &sm->country, 1, err) < 0 ||
            sg_stream_metrics_upsert(conn, &sm->content, 2, err) < 0 ||
            sg_stream_metrics_upsert(conn, &sm->minute, 3, err) < 0)
                return -1;
        return 0;
}

static void sg_stream_metrics_committed(void *app)
{
        sg_stream_metrics_t *sm = app;

        sm->counted += sm->batch_valid;
        sm->skipped_invalid += sm->batch_invalid;
        sg_stream_metrics_reset(sm);
}

static void sg_stream_metrics_counts(void *app, sg_stage_counts_t *out)
{
        const sg_stream_metrics_t *sm = app;

        out->stored = sm->batch_valid;
        memcpy(out->rejected, sm->batch_by_reason, sizeof(out->rejected));
}

static void sg_stream_metrics_discard(void *app)
{
        sg_stream_metrics_reset(app);
}

static void sg_stream_metrics_progress(void *app, char *buf, size_t size)
{
        sg_stream_metrics_t *sm = app;

        snprintf(buf, size, " counted=%lld invalid_skipped=%lld", sm->counted,
                 sm->skipped_invalid);
}

static int sg_stream_metrics_stage_init(void *stage,
                                        const sg_stage_env_t *env)
{
        (void)env;
        sg_stream_metrics_init(stage);
        return 0;
}

static void sg_stream_metrics_stage_fini(void *stage)
{
        sg_stream_metrics_fini(stage);
}

const sg_stage_t sg_stream_metrics_stage = {
    .prog = "sg-stream-metrics",
    .about = "Keeps metrics_streaming_daily, metrics_streaming_country_daily,\n"
             "metrics_streaming_content_daily and metrics_streaming_minute "
             "(events per\nminute of event time, the last 7 days) up to date "
             "from user_events, exactly\nonce: events are aggregated in "
             "memory and each flush adds the aggregates\nand stores the "
             "Kafka offsets in one transaction. Invalid events are skipped\n"
             "(sg-raw-store keeps them in the dead-letter store). "
             "--batch-rows and\n--batch-ms bound a flush.",
    .group = "sg-stream-metrics",
    /* Aggregates are small: flush less often than the raw store.
     * librdkafka 2.0 looks at a full prefetch queue again only once a
     * second, so the queue must hold about a second of consumption or the
     * consumer idles (bench/RESULTS.md). */
    .batch_rows = 50000,
    .batch_ms = 1000,
    .queue_kbytes = 131072,
    .size = sizeof(sg_stream_metrics_t),
    .init = sg_stream_metrics_stage_init,
    .fini = sg_stream_metrics_stage_fini,
    .add = sg_stream_metrics_add,
    .flush = sg_stream_metrics_flush,
    .committed = sg_stream_metrics_committed,
    .counts = sg_stream_metrics_counts,
    .discard = sg_stream_metrics_discard,
    .progress = sg_stream_metrics_progress,
};
