#include "consent.h"
#include "sg_buf.h"
#include "sg_log.h"
#include "sg_defs.h"
#include "sg_pg.h"
#include "sg_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The batch's earliest (event_timestamp, event_id) of each user: where
 * its history may change. */
#define SG_CONSENT_STARTS                                                      \
        "WITH s AS (SELECT DISTINCT ON (u) u, ts, e "                          \
        "FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) AS b(u, e, "  \
        "ts) ORDER BY u, ts, e) "

/* (1) The events join the users' ordered histories. An event_id sent
 * again keeps the least version, so the arrival order cannot matter. */
static const char SQL_EVENTS[] =
    "INSERT INTO consent_events AS c (user_id, event_id, event_timestamp, "
    "event_type, country, is_eu, has_consent, do_not_track) "
    "SELECT DISTINCT ON (u, e) u, e, ts, ty, co, eu, hc, dnt "
    "FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::text[], "
    "$5::text[], $6::boolean[], $7::boolean[], $8::boolean[]) "
    "AS b(u, e, ts, ty, co, eu, hc, dnt) "
    "ORDER BY u, e, ts, hc, dnt, co COLLATE \"C\", ty COLLATE \"C\" "
    "ON CONFLICT (user_id, event_id) DO UPDATE SET "
    "event_timestamp = EXCLUDED.event_timestamp, "
    "event_type = EXCLUDED.event_type, country = EXCLUDED.country, "
    "is_eu = EXCLUDED.is_eu, has_consent = EXCLUDED.has_consent, "
    "do_not_track = EXCLUDED.do_not_track "
    "WHERE (EXCLUDED.event_timestamp, EXCLUDED.has_consent, "
    "EXCLUDED.do_not_track, EXCLUDED.country COLLATE \"C\", "
    "EXCLUDED.event_type COLLATE \"C\") < (c.event_timestamp, "
    "c.has_consent, c.do_not_track, c.country COLLATE \"C\", "
    "c.event_type COLLATE \"C\")";

/* (2) The suffix of each user's log that the batch may change goes. */
static const char SQL_CUT[] =
    SG_CONSENT_STARTS
    "DELETE FROM consent_log l USING s WHERE l.user_id = s.u "
    "AND (l.changed_at, l.event_id) >= (s.ts, s.e)";

/* (3) ... and is computed again, in event-time order (ties by event_id),
 * from the state of the last row left (none: the first event sets the
 * initial state). */
static const char SQL_LOG[] =
    SG_CONSENT_STARTS
    ", p AS (SELECT s.u, s.ts, s.e, l.consent, l.do_not_track FROM s "
    "LEFT JOIN LATERAL (SELECT consent, do_not_track FROM consent_log "
    "WHERE user_id = s.u ORDER BY changed_at DESC, event_id DESC LIMIT 1) "
    "l ON true), "
    "ev AS (SELECT c.user_id, c.event_id, c.event_timestamp, c.event_type, "
    "c.country, c.has_consent, c.do_not_track, "
    "lag(c.has_consent, 1, p.consent) OVER w AS pc, "
    "lag(c.do_not_track, 1, p.do_not_track) OVER w AS pd "
    "FROM p JOIN consent_events c ON c.user_id = p.u "
    "AND (c.event_timestamp, c.event_id) >= (p.ts, p.e) "
    "WINDOW w AS (PARTITION BY c.user_id ORDER BY c.event_timestamp, "
    "c.event_id)) "
    "INSERT INTO consent_log (user_id, changed_at, event_id, consent, "
    "do_not_track, source, country, prev_consent, prev_do_not_track) "
    "SELECT user_id, event_timestamp, event_id, has_consent, do_not_track, "
    "event_type, country, pc, pd FROM ev "
    "WHERE pc IS DISTINCT FROM has_consent "
    "OR pd IS DISTINCT FROM do_not_track";

/* (4) The current state of the batch's users. */
static const char SQL_CURRENT[] =
    "INSERT INTO user_consent AS uc (user_id, consent, do_not_track, since, "
    "since_event_id, first_event_at, last_event_at, last_event_id, changes, "
    "updated_at) "
    "SELECT s.u, l.consent, l.do_not_track, l.changed_at, l.event_id, "
    "f.event_timestamp, z.event_timestamp, z.event_id, n.changes, now() "
    "FROM (SELECT DISTINCT u FROM unnest($1::uuid[]) AS b(u)) s "
    "CROSS JOIN LATERAL (SELECT consent, do_not_track, changed_at, event_id "
    "FROM consent_log WHERE user_id = s.u "
    "ORDER BY changed_at DESC, event_id DESC LIMIT 1) l "
    "CROSS JOIN LATERAL (SELECT event_timestamp FROM consent_events "
    "WHERE user_id = s.u ORDER BY event_timestamp, event_id LIMIT 1) f "
    "CROSS JOIN LATERAL (SELECT event_timestamp, event_id FROM "
    "consent_events WHERE user_id = s.u "
    "ORDER BY event_timestamp DESC, event_id DESC LIMIT 1) z "
    "CROSS JOIN LATERAL (SELECT count(*)::int AS changes FROM consent_log "
    "WHERE user_id = s.u) n "
    "ON CONFLICT (user_id) DO UPDATE SET consent = EXCLUDED.consent, "
    "do_not_track = EXCLUDED.do_not_track, since = EXCLUDED.since, "
    "since_event_id = EXCLUDED.since_event_id, "
    "first_event_at = EXCLUDED.first_event_at, "
    "last_event_at = EXCLUDED.last_event_at, "
    "last_event_id = EXCLUDED.last_event_id, changes = EXCLUDED.changes, "
    "updated_at = EXCLUDED.updated_at";

void sg_consent_init(sg_consent_t *c)
{
        memset(c, 0, sizeof(*c));
}

void sg_consent_fini(sg_consent_t *c)
{
        free(c->rows);
        memset(c, 0, sizeof(*c));
}

void sg_consent_reset(sg_consent_t *c)
{
        c->n = 0;
        c->batch_invalid = 0;
        memset(c->batch_by_reason, 0, sizeof(c->batch_by_reason));
        c->batch_changes = 0;
}

sg_reason_t sg_consent_add_value(sg_consent_t *c, const char *value,
                                 size_t len)
{
        sg_event_t ev;
        sg_consent_row_t *row;
        char msg[256];
        sg_reason_t r = sg_event_parse(value ? value : "", value ? len : 0,
                                       &ev, msg, sizeof(msg));

        if (r != SG_REASON_OK) {
                c->batch_invalid++;
                c->batch_by_reason[r]++;
                sg_event_fini(&ev);
                return r;
        }
        if (c->n == c->cap) {
                c->cap = c->cap ? c->cap * 2 : 1024;
                c->rows = sg_xrealloc(c->rows, c->cap * sizeof(*c->rows));
        }
        row = &c->rows[c->n++];
        memcpy(row->event_id, ev.event_id, sizeof(row->event_id));
        memcpy(row->user_id, ev.user_id, sizeof(row->user_id));
        row->ts_us = ev.ts_us;
        row->type = ev.type;
        memcpy(row->country, ev.country, sizeof(row->country));
        row->is_eu = ev.is_eu;
        row->has_consent = ev.has_consent;
        row->do_not_track = ev.do_not_track;
        sg_event_fini(&ev);
        return r;
}

static int sg_consent_add(void *stage, const sg_msg_t *msg)
{
        (void)sg_consent_add_value(stage, msg->value, msg->value_len);
        return 0;
}

#define SG_CONSENT_NCOLS 8

/* Writes the batch: the four statements above, in the engine's
 * transaction. Repeatable: the batch stays in memory until committed. */
static int sg_consent_flush(void *stage, PGconn *conn, sg_pg_err_t *err)
{
        sg_consent_t *c = stage;
        sg_buf_t a[SG_CONSENT_NCOLS];
        const char *params[SG_CONSENT_NCOLS];
        long long changes = 0, t[5];
        int rc = -1;

        c->batch_changes = 0;
        if (c->n == 0)
                return 0;
        for (int i = 0; i < SG_CONSENT_NCOLS; i++) {
                sg_buf_init(&a[i]);
                sg_buf_array_begin(&a[i]);
        }
        for (size_t i = 0; i < c->n; i++) {
                const sg_consent_row_t *row = &c->rows[i];
                char ts[40];

                sg_time_format_pg(row->ts_us, ts, sizeof(ts));
                sg_buf_array_str(&a[0], row->user_id);
                sg_buf_array_str(&a[1], row->event_id);
                sg_buf_array_str(&a[2], ts);
                sg_buf_array_str(&a[3], sg_event_type_name(row->type));
                sg_buf_array_str(&a[4], row->country);
                sg_buf_array_str(&a[5], row->is_eu ? "t" : "f");
                sg_buf_array_str(&a[6], row->has_consent ? "t" : "f");
                sg_buf_array_str(&a[7], row->do_not_track ? "t" : "f");
        }
        for (int i = 0; i < SG_CONSENT_NCOLS; i++) {
                sg_buf_array_end(&a[i]);
                params[i] = a[i].data;
        }
        t[0] = sg_time_mono_ms();
        if (sg_pg_command(conn, SQL_EVENTS, 8, params,
                          "adding to consent_events", NULL, err) < 0)
                goto out;
        t[1] = sg_time_mono_ms();
        if (sg_pg_command(conn, SQL_CUT, 3, params,
                          "cutting consent_log at the batch's first event",
                          NULL, err) < 0)
                goto out;
        t[2] = sg_time_mono_ms();
        if (sg_pg_command(conn, SQL_LOG, 3, params, "recomputing consent_log",
                          &changes, err) < 0)
                goto out;
        t[3] = sg_time_mono_ms();
        if (sg_pg_command(conn, SQL_CURRENT, 1, params,
                          "updating user_consent", NULL, err) < 0)
                goto out;
        t[4] = sg_time_mono_ms();
        sg_debug("consent batch events=%zu log_rows=%lld events_ms=%lld "
                 "cut_ms=%lld log_ms=%lld current_ms=%lld",
                 c->n, changes, t[1] - t[0], t[2] - t[1], t[3] - t[2],
                 t[4] - t[3]);
        c->batch_changes = changes;
        rc = 0;
out:
        for (int i = 0; i < SG_CONSENT_NCOLS; i++)
                sg_buf_fini(&a[i]);
        return rc;
}

static void sg_consent_committed(void *stage)
{
        sg_consent_t *c = stage;

        c->events += (long long)c->n;
        c->skipped_invalid += c->batch_invalid;
        c->changes += c->batch_changes;
        sg_consent_reset(c);
}

static void sg_consent_counts(void *stage, sg_stage_counts_t *out)
{
        const sg_consent_t *c = stage;

        out->stored = (long long)c->n;
        memcpy(out->rejected, c->batch_by_reason, sizeof(out->rejected));
}

static void sg_consent_discard(void *stage)
{
        sg_consent_reset(stage);
}

static void sg_consent_progress(void *stage, char *buf, size_t size)
{
        sg_consent_t *c = stage;

        snprintf(buf, size, " events=%lld log_rows_written=%lld "
                            "invalid_skipped=%lld",
                 c->events, c->changes, c->skipped_invalid);
}

static int sg_consent_stage_init(void *stage, const sg_stage_env_t *env)
{
        (void)env;
        sg_consent_init(stage);
        return 0;
}

static void sg_consent_stage_fini(void *stage)
{
        sg_consent_fini(stage);
}

const sg_stage_t sg_consent_stage = {
    .prog = "sg-consent",
    .about = "Derives each user's consent history from the consent flags "
             "of user_events\n(has_consent, do_not_track), exactly once: "
             "consent_log gets one row each time\na user's state changes, in "
             "EVENT-TIME order (ties by event_id; a late event is\nput in "
             "its place and the history after it recomputed), user_consent "
             "the\ncurrent state. Each batch's rows and Kafka offsets commit "
             "in one transaction.\nInvalid events are skipped (sg-raw-store "
             "keeps them in the dead-letter store).\n--batch-rows and "
             "--batch-ms bound a batch (docs/consent.md).",
    .group = "sg-consent",
    .batch_rows = 20000,
    .batch_ms = 500,
    .size = sizeof(sg_consent_t),
    .init = sg_consent_stage_init,
    .fini = sg_consent_stage_fini,
    .add = sg_consent_add,
    .flush = sg_consent_flush,
    .committed = sg_consent_committed,
    .counts = sg_consent_counts,
    .discard = sg_consent_discard,
    .progress = sg_consent_progress,
};
