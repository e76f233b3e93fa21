/* sg-compliance's stage (docs/compliance.md): valid events are buffered
 * by add; flush evaluates the batch with the rules engine
 * (compliance/rules.h, split mode) on the state held in memory, and
 * writes, in the engine's transaction, the flags the batch raised or
 * escalated, the partitions' highest event times, the cross-partition
 * windows' counts, the risk and late counts, and closes the windows the
 * watermark passed. New and escalated flags go to the outbox in the same
 * transaction; tick sends them to Kafka after commit.
 *
 * The rules' state (users' recent events, current flags) is not written
 * per batch: each partition's is snapshotted into compliance_snapshots
 * (with the offset it stands at) every --snapshot-s seconds, when the
 * stream goes idle, and at exit, together with the flag extensions
 * gathered since the last snapshot. A partition this process does not
 * hold yet is restored from its snapshot and the messages from the
 * snapshot's offset up to the batch's are replayed (consumers/replay.h):
 * state and extensions only, since everything else they produced was
 * committed. */

#include "compliance.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "flag_store.h"
#include "replay.h"
#include "rules.h"
#include "sg_buf.h"
#include "sg_defs.h"
#include "sg_hash.h"
#include "sg_log.h"
#include "sg_outbox.h"
#include "sg_outbox_kafka.h"
#include "sg_pg.h"
#include "sg_signal.h"
#include "sg_time.h"

#define MAX_PARTS 1024         /* partitions of the topic we can follow */
#define LOCK_KEY "7163411"     /* pg_advisory_xact_lock: one closer */
/* Flags handed to the producer and not yet reported, at most (a sweep
 * leases outbox rows up to what is left of it). */
#define INFLIGHT_MAX 20000
#define RECONNECT_MS 5000      /* the outbox's connection, when it broke */
#define DRAIN_MS 5000
#define REPLAY_CHUNK 5000      /* events evaluated per erasure lookup */
#define REPLAY_TIMEOUT_MS 30000
/* Events evaluated per part of a batch while it is gathered (feed): their
 * flags go to the backend, which writes them while the next part is read
 * (--eval-chunk). */
#define FEED_CHUNK 2500
#define SNAP_PER_BATCH 8      /* periodic snapshots written per batch */
#define ERS_MAX 500000 /* users whose erasure is kept (then: read again) */
#define ERS_ALL_MAX 50000 /* erased users read all at once (more: per
                             user; --erasure-preload) */
#define ARENA_BLOCK (4 << 20)  /* bytes of messages per arena block */
#define PUBLISH_EVERY 256      /* messages handed to the parser at once */
#define PARSE_STEP 512         /* messages parsed between progress reports */

typedef struct sg_cpl_conf {
        const char *rules_path;
        const char *flags_topic;
        bool no_publish;
        long long snapshot_s;
        long long feed_chunk;
        long long erasure_preload;
        int alert_sev; /* sg_severity_t; 0: no alerts */
} sg_cpl_conf_t;

static const char *const sg_cpl_alert_choices[] = {"off", "low", "medium",
                                                   "high", NULL};

typedef struct sg_cev {
        sg_event_t ev; /* metadata freed: the rules do not read it */
        int32_t partition;
        int64_t offset;
} sg_cev_t;

typedef struct sg_erased {
        char user_id[37];
        long long at_us;
} sg_erased_t;

/* A message of the batch as read, waiting for the parser thread. */
typedef struct sg_cpl_raw {
        const char *value; /* in the arena; NULL: none */
        size_t len;
        int32_t partition;
        int64_t offset;
} sg_cpl_raw_t;

/* The batch's message bytes: blocks that never move (the parser reads
 * them while more are added), kept for the next batch. */
typedef struct sg_cpl_arena {
        char **block;
        size_t nblocks, cur, used;
} sg_cpl_arena_t;

typedef struct sg_ers_map {
        sg_erased_t *v;
        size_t cap, n;
} sg_ers_map_t;

typedef struct sg_cpl_totals {
        long long evaluated, duplicates, late, invalid;
        sg_flag_counts_t flags;
        long long windows_closed;
        long long snapshots, replayed;
} sg_cpl_totals_t;

/* Per partition (ids below MAX_PARTS). */
typedef struct sg_cpl_part {
        int64_t first, next; /* this batch's messages: first offset, next */
        int64_t done;        /* the next offset after the last commit, -1 */
        bool evaluated;      /* state changed since its snapshot */
        bool snap;           /* this transaction writes its snapshot */
        bool want_snap;      /* no snapshot stored: write one now */
        bool marker;         /* this transaction writes want_snap's marker */
        int64_t empty_at;    /* want_snap: the offset its state started
                                empty at */
        bool loaded;         /* its state is in memory (restored) */
        bool assigned;       /* this member's (engine's word) */
        bool probed;         /* looked at between batches since */
        int64_t snap_at;     /* its stored snapshot's offset as last seen
                                here, -1: none */
        long long snap_ms;   /* when its last snapshot was written */
} sg_cpl_part_t;

typedef struct sg_compliance {
        const sg_cpl_conf_t *conf;
        const sg_cli_common_t *common;
        char topic[256];
        sg_rules_conf_t rules_conf;
        sg_rules_t *rules;
        const sg_stage_services_t *svc;

        sg_replay_t *replay;
        sg_cpl_part_t part[MAX_PARTS];
        long long erasure_ms; /* this flush's erasure lookups (debug) */
        long long wait_parse_ms, wait_pg_ms; /* flush's waits (debug) */

        /* The batch's messages (raw, in order) and its valid events (evs,
         * in the same order), parsed by the parser thread: this thread
         * adds to raw and evaluates the evs parsed so far. Under mu: the
         * parser's progress (nparsed messages, nev_pub events) and what it
         * may parse (nraw_pub); raw and evs move (grow) only while it is
         * idle (nparsed == nraw_pub). batch_invalid and batch_by_reason
         * are the parser's until it is idle. */
        sg_cpl_raw_t *raw;
        size_t nraw, rawcap;
        sg_cpl_arena_t arena;
        sg_cev_t *evs;
        size_t nev; /* the evs parsed, as last read from nev_pub */
        pthread_t parser;
        bool parser_on, parser_stop;
        pthread_mutex_t mu;
        pthread_cond_t work, idle;
        size_t nraw_pub, nparsed, nev_pub;
        size_t publish_every; /* PUBLISH_EVERY, or --eval-chunk if less */
        long long nmsgs; /* this batch's messages, valid or not */
        long long batch_invalid;
        long long batch_by_reason[SG_REASON__CNT];
        /* This batch's flags by rule, severity and change (metrics). */
        long long batch_flags[SG_RULE__CNT][SG_SEV_HIGH + 1][3];
        sg_metric_t *m_flags;  /* sg_compliance_flags_total */
        sg_series_t *m_late;   /* sg_compliance_late_events_total */
        sg_series_t *m_ext;    /* sg_compliance_flag_extensions_total */
        bool suspect; /* a flush ran and did not commit: reload the state */
        /* The batch is being evaluated while it is gathered (feed): evs
         * before fed are evaluated and their flags sent (pipeline). */
        bool streamed;
        size_t fed;
        int snap_next;          /* where the next batch's snapshots start */
        sg_ers_map_t ers;       /* users' erasures, as read */
        long long ers_version; /* of privacy_erasures_version, then (it
                                  starts at 0); -1: not read */
        bool ers_checked;      /* the version was read in this batch */
        bool ers_all;          /* ers holds every erased user: any other
                                  is not erased */
        sg_cpl_totals_t batch, total;

        /* The outbox's sender: its own connection, outside the engine's
         * transactions. */
        sg_outbox_kafka_t *kafka;
        sg_outbox_t *ob;
        sg_pg_session_t obpg;
        long long ob_retry_ms;

        /* Which partitions the group still has to read (the engine's
         * answer, at each flush). */
        bool behind[MAX_PARTS];
        int nparts;
} sg_compliance_t;

/* --- Options ---------------------------------------------------------------- */

static void sg_cpl_conf_init(void *conf, sg_opt_t *opts)
{
        sg_cpl_conf_t *c = conf;
        int i = 0;

        c->rules_path = SG_CONFIG_DIR "/compliance.rules";
        c->flags_topic = "compliance_flags";
        opts[i++] = (sg_opt_t){
            .name = "rules", .kind = SG_OPT_STRING, .dest = &c->rules_path,
            .arg = "FILE",
            .help = "the rules file (docs/compliance.md); checked whole at "
                    "start,\nread again on SIGHUP"};
        opts[i++] = (sg_opt_t){
            .name = "flags-topic", .kind = SG_OPT_STRING,
            .dest = &c->flags_topic, .arg = "TOPIC",
            .help = "where new and escalated flags are published"};
        opts[i++] = (sg_opt_t){
            .name = "no-publish", .kind = SG_OPT_FLAG, .dest = &c->no_publish,
            .help = "do not publish flags (they wait in the outbox)"};
        c->snapshot_s = 30;
        opts[i++] = (sg_opt_t){
            .name = "snapshot-s", .kind = SG_OPT_LLONG, .dest = &c->snapshot_s,
            .arg = "S", .min = 1, .max = 86400,
            .help = "snapshot each partition's rules state (and write the "
                    "flags'\nextensions) this often while events flow (at "
                    "most 8 partitions\nper batch, in turn); a restart "
                    "replays about this much of the\npartition"};
        c->feed_chunk = FEED_CHUNK;
        opts[i++] = (sg_opt_t){
            .name = "eval-chunk", .kind = SG_OPT_LLONG, .dest = &c->feed_chunk,
            .arg = "N", .min = 0, .max = 1000000,
            .help = "evaluate the batch N events at a time while it is "
                    "read, the\nflags of each part written by the server "
                    "meanwhile (in the batch's\ntransaction); 0: all at "
                    "commit"};
        c->erasure_preload = ERS_ALL_MAX;
        opts[i++] = (sg_opt_t){
            .name = "erasure-preload", .kind = SG_OPT_LLONG,
            .dest = &c->erasure_preload, .arg = "N",
            .min = 0, .max = ERS_MAX,
            .help = "read every erased user at once (again when an "
                    "erasure\ncommits) while there are at most N; beyond, "
                    "and with 0, look\nusers up as their events come"};
        c->alert_sev = SG_SEV_HIGH;
        opts[i++] = (sg_opt_t){
            .name = "alert-severity", .kind = SG_OPT_CHOICE,
            .dest = &c->alert_sev, .arg = "LEVEL",
            .choices = sg_cpl_alert_choices,
            .help = "a new or escalated flag of this severity or above "
                    "is also an\nalert (sg-alert delivers it): low, medium, "
                    "high or off"};
        opts[i] = (sg_opt_t)SG_OPT_END;
}

/* --- Adding ------------------------------------------------------------------- */

/* Parses one message's value (NULL: none) into *e; returns whether it is
 * a valid event (an invalid one is never evaluated: the raw store keeps
 * it). */
static sg_reason_t sg_cpl_parse_one(const char *value, size_t len,
                                    int32_t partition, int64_t offset,
                                    sg_cev_t *e)
{
        char why[256];
        sg_reason_t r;

        r = sg_event_parse(value ? value : "", value ? len : 0, &e->ev, why,
                           sizeof(why));
        sg_event_fini(&e->ev); /* the metadata: not needed */
        e->partition = partition;
        e->offset = offset;
        return r;
}

/* The same into the next slot of *evs (grown as needed; (*n)++ when
 * valid). */
static sg_reason_t sg_cpl_parse(const sg_msg_t *msg, sg_cev_t **evs,
                                size_t *n, size_t *cap)
{
        sg_reason_t r;

        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 1024;
                *evs = sg_xrealloc(*evs, *cap * sizeof(**evs));
        }
        r = sg_cpl_parse_one(msg->value, msg->value_len, msg->partition,
                             msg->offset, &(*evs)[*n]);
        *n += r == SG_REASON_OK;
        return r;
}

/* --- The parser thread ---------------------------------------------------- */

/* Parses what was published, in order, into evs (the valid ones). */
static void *sg_cpl_parser(void *arg)
{
        sg_compliance_t *c = arg;

        pthread_mutex_lock(&c->mu);
        for (;;) {
                size_t i, end, k;
                while (c->nparsed == c->nraw_pub && !c->parser_stop)
                        pthread_cond_wait(&c->work, &c->mu);
                if (c->parser_stop)
                        break;
                i = c->nparsed;
                end = c->nraw_pub;
                if (end - i > PARSE_STEP)
                        end = i + PARSE_STEP; /* progress shows sooner */
                k = c->nev_pub;
                pthread_mutex_unlock(&c->mu);
                /* evs holds as many slots as raw: no growth here. */
                for (; i < end; i++) {
                        const sg_cpl_raw_t *m = &c->raw[i];
                        sg_reason_t r =
                            sg_cpl_parse_one(m->value, m->len, m->partition,
                                             m->offset, &c->evs[k]);
                        if (r == SG_REASON_OK) {
                                k++;
                        } else {
                                c->batch_invalid++;
                                c->batch_by_reason[r]++;
                        }
                }
                pthread_mutex_lock(&c->mu);
                c->nparsed = end;
                c->nev_pub = k;
                pthread_cond_broadcast(&c->idle);
        }
        pthread_mutex_unlock(&c->mu);
        return NULL;
}

/* Under mu: hands the messages added so far to the parser. */
static void sg_cpl_hand_over(sg_compliance_t *c)
{
        if (c->nraw_pub != c->nraw) {
                c->nraw_pub = c->nraw;
                pthread_cond_signal(&c->work);
        }
}

/* Hands them over, and notes how far the parser got. */
static void sg_cpl_publish(sg_compliance_t *c)
{
        pthread_mutex_lock(&c->mu);
        sg_cpl_hand_over(c);
        c->nev = c->nev_pub;
        pthread_mutex_unlock(&c->mu);
}

/* Publishes everything and waits until at least nev events are parsed,
 * or all messages are (then returns true: evs[0..nev) are the batch's
 * valid events, and the parser is idle). */
static bool sg_cpl_parsed_wait(sg_compliance_t *c, size_t nev)
{
        bool all;

        pthread_mutex_lock(&c->mu);
        sg_cpl_hand_over(c);
        while (c->nparsed != c->nraw_pub && c->nev_pub < nev)
                pthread_cond_wait(&c->idle, &c->mu);
        c->nev = c->nev_pub;
        all = c->nparsed == c->nraw_pub;
        pthread_mutex_unlock(&c->mu);
        return all;
}

static void sg_cpl_parsed_all(sg_compliance_t *c)
{
        (void)sg_cpl_parsed_wait(c, SIZE_MAX);
}

/* A copy of the message's value in the arena (a value above the
 * contract's limit is kept up to one byte over it: enough for the
 * validator to say too_large). */
static const char *sg_cpl_keep(sg_cpl_arena_t *a, const char *v, size_t *len)
{
        char *out;

        if (*len > SG_EVENT_MAX_VALUE + 1)
                *len = SG_EVENT_MAX_VALUE + 1;
        if (a->nblocks == 0 || a->used + *len > ARENA_BLOCK) {
                if (a->nblocks > 0)
                        a->cur++, a->used = 0;
                if (a->cur == a->nblocks) {
                        a->block = sg_xrealloc(a->block, (a->nblocks + 1) *
                                                             sizeof(*a->block));
                        a->block[a->nblocks++] = sg_xmalloc(ARENA_BLOCK);
                }
        }
        out = a->block[a->cur] + a->used;
        memcpy(out, v, *len);
        a->used += *len;
        return out;
}

static int sg_cpl_add(void *stage, const sg_msg_t *msg)
{
        sg_compliance_t *c = stage;
        sg_cpl_raw_t *m;

        if (msg->partition < 0 || msg->partition >= MAX_PARTS) {
                sg_error("partition %d of topic=%s: sg-compliance follows "
                         "partitions 0-%d",
                         msg->partition, msg->topic, MAX_PARTS - 1);
                return -1;
        }
        {
                sg_cpl_part_t *pp = &c->part[msg->partition];
                if (pp->next < 0) /* its first in this batch */
                        pp->first = msg->offset;
                if (msg->offset + 1 > pp->next)
                        pp->next = msg->offset + 1;
        }
        c->nmsgs++;
        if (c->nraw == c->rawcap) {
                /* Grown while the parser is idle. */
                sg_cpl_parsed_all(c);
                c->rawcap = c->rawcap ? c->rawcap * 2 : 4096;
                c->raw = sg_xrealloc(c->raw, c->rawcap * sizeof(*c->raw));
                c->evs = sg_xrealloc(c->evs, c->rawcap * sizeof(*c->evs));
        }
        m = &c->raw[c->nraw];
        m->len = msg->value ? msg->value_len : 0;
        m->value = msg->value ? sg_cpl_keep(&c->arena, msg->value, &m->len)
                              : NULL;
        m->partition = msg->partition;
        m->offset = msg->offset;
        c->nraw++;
        if (c->nraw % c->publish_every == 0)
                sg_cpl_publish(c);
        return 0;
}

/* --- Loading state ------------------------------------------------------------ */

/* Users' erasure times (-1: not erased) as read, kept while the erasures'
 * version (sql/017) stays the same: open addressing on the id; an empty
 * slot has id[0] == 0. */
static sg_erased_t *sg_ers_slot(sg_ers_map_t *m, const char *u)
{
        uint64_t h = sg_fnv1a(u, strlen(u), SG_FNV_OFFSET);
        size_t j;

        j = (size_t)(h ^ (h >> 29)) & (m->cap - 1);
        while (m->v[j].user_id[0] && strcmp(m->v[j].user_id, u) != 0)
                j = (j + 1) & (m->cap - 1);
        return &m->v[j];
}

static void sg_ers_reserve(sg_ers_map_t *m, size_t more)
{
        sg_ers_map_t old = *m;

        if ((m->n + more) * 2 <= m->cap)
                return;
        m->cap = m->cap ? m->cap : 1024;
        while ((m->n + more) * 2 > m->cap)
                m->cap *= 2;
        m->v = sg_xcalloc(m->cap, sizeof(*m->v));
        for (size_t i = 0; i < old.cap; i++)
                if (old.v[i].user_id[0])
                        *sg_ers_slot(m, old.v[i].user_id) = old.v[i];
        free(old.v);
}

static void sg_ers_clear(sg_ers_map_t *m)
{
        if (m->n)
                memset(m->v, 0, m->cap * sizeof(*m->v));
        m->n = 0;
}

/* Reads every erased user into the cache when there are at most
 * --erasure-preload of them (then no event needs a lookup); else leaves the
 * cache empty, to be filled user by user. */
static int sg_cpl_erasures_all(sg_compliance_t *c, PGconn *conn,
                               sg_pg_err_t *err)
{
        char limit[24];
        const char *params[1] = {limit};
        long long max = c->conf->erasure_preload;
        PGresult *res;
        int n;

        c->ers_all = false;
        if (max <= 0) {
                sg_debug("erasures read: user by user (--erasure-preload 0)");
                return 0;
        }
        snprintf(limit, sizeof(limit), "%lld", max + 1);
        res = sg_pg_query(conn,
                          "SELECT user_id::text, (extract(epoch FROM "
                          "min(processed_at)) * 1000000)::bigint "
                          "FROM privacy_requests WHERE status = 'anonymized' "
                          "AND user_id IS NOT NULL GROUP BY user_id "
                          "LIMIT $1::integer",
                          1, params, 0, "reading erasures", err);
        if (!res)
                return -1;
        n = PQntuples(res);
        c->ers_all = n <= max;
        sg_debug("erasures read: %s", c->ers_all ? "every erased user at once"
                                                 : "user by user (too many)");
        if (c->ers_all) {
                sg_ers_reserve(&c->ers, (size_t)n + 1); /* never empty */
                for (int i = 0; i < n; i++) {
                        sg_erased_t *e =
                            sg_ers_slot(&c->ers, PQgetvalue(res, i, 0));
                        snprintf(e->user_id, sizeof(e->user_id), "%s",
                                 PQgetvalue(res, i, 0));
                        e->at_us = strtoll(PQgetvalue(res, i, 1), NULL, 10);
                        c->ers.n++;
                }
        }
        PQclear(res);
        return 0;
}

/* Sets at[i] to the erasure time of evs[i]'s user (-1: none). When the
 * erasures' version moved since the cache was filled (an erasure
 * committed meanwhile), the cache is read again, so that the answers are
 * those of a read now: every erased user when they are few, else those
 * of the events, as the cache does not hold them. */
static int sg_cpl_erasures(sg_compliance_t *c, const sg_cev_t *evs,
                           size_t nev, PGconn *conn, long long *at,
                           sg_pg_err_t *err)
{
        sg_ers_map_t *m = &c->ers;
        sg_erased_t **slot;
        sg_buf_t ids;
        const char *params[1];
        PGresult *res;
        size_t asked = 0;
        long long version;

        if (!c->ers_checked) {
                /* Once per batch, as the erasures were read before. */
                res = sg_pg_query(conn,
                                  "SELECT version FROM privacy_erasures_version",
                                  0, NULL, 1, "reading the erasures' version",
                                  err);
                if (!res)
                        return -1;
                version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
                PQclear(res);
                c->ers_checked = true;
                if (version != c->ers_version) {
                        sg_ers_clear(m);
                        c->ers_version = -1; /* until read again */
                        if (sg_cpl_erasures_all(c, conn, err) < 0)
                                return -1;
                        c->ers_version = version;
                }
        }
        if (c->ers_all) {
                for (size_t i = 0; i < nev; i++) {
                        const sg_erased_t *e =
                            sg_ers_slot(m, evs[i].ev.user_id);
                        at[i] = e->user_id[0] ? e->at_us : -1;
                }
                return 0;
        }
        if (m->n + nev > ERS_MAX) {
                sg_ers_clear(m);
        }
        sg_ers_reserve(m, nev);
        slot = sg_xcalloc(nev + 1, sizeof(*slot));
        sg_buf_init(&ids);
        sg_buf_array_begin(&ids);
        for (size_t i = 0; i < nev; i++) {
                const char *u = evs[i].ev.user_id;
                sg_erased_t *e = slot[i] = sg_ers_slot(m, u);
                if (e->user_id[0])
                        continue;
                snprintf(e->user_id, sizeof(e->user_id), "%s", u);
                e->at_us = -1;
                m->n++;
                sg_buf_array_str(&ids, u);
                asked++;
        }
        sg_buf_array_end(&ids);
        params[0] = ids.data;
        res = NULL;
        if (asked > 0) {
                res = sg_pg_query(
                    conn,
                    "SELECT user_id::text, (extract(epoch FROM "
                    "min(processed_at)) * 1000000)::bigint "
                    "FROM privacy_requests WHERE status = 'anonymized' "
                    "AND user_id = ANY($1::uuid[]) GROUP BY user_id",
                    1, params, 0, "reading erasures", err);
                if (!res) {
                        sg_buf_fini(&ids);
                        free(slot);
                        sg_ers_clear(m); /* asked, not answered */
                        return -1;
                }
        }
        sg_buf_fini(&ids);
        for (int i = 0; res && i < PQntuples(res); i++) {
                sg_erased_t *e = sg_ers_slot(m, PQgetvalue(res, i, 0));
                if (e->user_id[0])
                        e->at_us = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        }
        PQclear(res);
        /* No insertion since the slots were found: they still hold. */
        for (size_t i = 0; i < nev; i++)
                at[i] = slot[i]->at_us;
        free(slot);
        return 0;
}

/* Evaluates events (in partition order) against the erasures of their
 * users. Returns 0, or -1 with err. */
static int sg_cpl_eval(sg_compliance_t *c, PGconn *conn, const sg_cev_t *evs,
                       size_t n, sg_pg_err_t *err)
{
        long long *at;

        if (n == 0)
                return 0;
        at = sg_xcalloc(n, sizeof(*at));
        {
                long long t0 = sg_time_mono_ms();
                if (sg_cpl_erasures(c, evs, n, conn, at, err) < 0) {
                        free(at);
                        return -1;
                }
                c->erasure_ms += sg_time_mono_ms() - t0;
        }
        for (size_t i = 0; i < n; i++) {
                const sg_cev_t *e = &evs[i];
                sg_eval_result_t res;
                sg_rules_eval(c->rules, e->partition, e->offset, &e->ev, at[i],
                              &res);
                c->batch.evaluated += !res.duplicate;
                c->batch.duplicates += res.duplicate;
        }
        free(at);
        return 0;
}

typedef struct sg_cpl_replay {
        sg_compliance_t *c;
        PGconn *conn;
        sg_cev_t *evs;
        size_t n, cap;
        sg_pg_err_t *err;
} sg_cpl_replay_t;

static int sg_cpl_replay_msg(void *arg, const sg_msg_t *msg)
{
        sg_cpl_replay_t *r = arg;

        (void)sg_cpl_parse(msg, &r->evs, &r->n, &r->cap);
        if (r->n < REPLAY_CHUNK)
                return 0;
        if (sg_cpl_eval(r->c, r->conn, r->evs, r->n, r->err) < 0)
                return -1;
        r->n = 0;
        return 0;
}

/* Restores the partition from its snapshot and replays its events from
 * the snapshot's offset up to upto (the batch's first message). */
static int sg_cpl_load_part(sg_compliance_t *c, PGconn *conn, int32_t part,
                            int64_t upto, sg_pg_err_t *err)
{
        char pbuf[16];
        const char *params[2] = {c->topic, pbuf};
        int64_t from = upto;
        sg_cpl_totals_t keep = c->batch;
        sg_cpl_replay_t rp = {.c = c, .conn = conn, .err = err};
        long long read = 0, t0 = sg_time_mono_ms();
        PGresult *res;
        int rc;

        snprintf(pbuf, sizeof(pbuf), "%d", part);
        /* The bytes in binary: a snapshot can be megabytes. */
        res = sg_pg_query_bin(conn,
                              "SELECT next_offset, state FROM "
                              "compliance_snapshots WHERE topic = $1 AND "
                              "kafka_partition = $2",
                              2, params, NULL, NULL, 0,
                              "reading a partition's snapshot", err);
        if (!res)
                return -1;
        c->part[part].loaded = true;
        c->part[part].snap_at = -1;
        if (PQntuples(res) == 0) {
                PQclear(res);
                sg_rules_forget_part(c->rules, part);
                c->part[part].want_snap = true;
                c->part[part].empty_at = upto;
                sg_info("partition=%d has no snapshot yet: its rules state "
                        "starts empty at offset %" PRId64,
                        part, upto);
                return 0;
        }
        {
                const unsigned char *o =
                    (const unsigned char *)PQgetvalue(res, 0, 0);
                uint64_t v = 0;
                for (int i = 0; i < 8; i++)
                        v = (v << 8) | o[i];
                from = (int64_t)v;
                c->part[part].snap_at = from;
        }
        if (sg_rules_part_restore(c->rules, part, PQgetvalue(res, 0, 1),
                                  (size_t)PQgetlength(res, 0, 1)) < 0) {
                PQclear(res);
                sg_pg_err_fmt(err, false,
                              "compliance_snapshots: the snapshot of partition "
                              "%d is not one this version wrote",
                              part);
                return -1;
        }
        PQclear(res);
        if (from > upto) {
                /* The group's offset went back (sg-migrate reset, or a
                 * rewind): the state is from later events. Start empty. */
                sg_warn("partition=%d: its snapshot (offset %" PRId64 ") is "
                        "ahead of the group (offset %" PRId64 "): its rules "
                        "state starts empty",
                        part, from, upto);
                sg_rules_forget_part(c->rules, part);
                c->part[part].want_snap = true;
                c->part[part].empty_at = upto;
                return 0;
        }
        sg_rules_set_replay(c->rules, true);
        rc = sg_replay_read(c->replay, c->topic, part, from, upto,
                            REPLAY_TIMEOUT_MS, sg_cpl_replay_msg, &rp, &read,
                            err);
        if (rc == 0)
                rc = sg_cpl_eval(c, conn, rp.evs, rp.n, err);
        sg_rules_set_replay(c->rules, false);
        free(rp.evs);
        c->batch = keep; /* replayed events are not this batch's */
        c->batch.replayed += read;
        if (rc < 0)
                return -1;
        sg_info("partition=%d restored: snapshot at offset %" PRId64
                ", %lld events replayed up to %" PRId64 " users=%zu ms=%lld",
                part, from, read, upto, sg_rules_part_users(c->rules, part),
                sg_time_mono_ms() - t0);
        return 0;
}

/* --- Writing -------------------------------------------------------------------- */

typedef struct sg_cols {
        sg_buf_t b[8];
        const char *p[9];
        int n;
} sg_cols_t;

static void sg_cols_begin(sg_cols_t *k, int n)
{
        k->n = n;
        for (int i = 0; i < n; i++) {
                sg_buf_init(&k->b[i]);
                sg_buf_array_begin(&k->b[i]);
        }
}

static const char *const *sg_cols_end(sg_cols_t *k, const char *first)
{
        int j = 0;

        if (first)
                k->p[j++] = first;
        for (int i = 0; i < k->n; i++) {
                sg_buf_array_end(&k->b[i]);
                k->p[j++] = k->b[i].data;
        }
        return k->p;
}

static void sg_cols_fini(sg_cols_t *k)
{
        for (int i = 0; i < k->n; i++)
                sg_buf_fini(&k->b[i]);
}

/* The partitions' highest event times (the watermark's input). */
static int sg_cpl_write_parts(sg_compliance_t *c, PGconn *conn,
                              sg_pg_err_t *err)
{
        int32_t parts[MAX_PARTS];
        long long max_ts[MAX_PARTS];
        size_t n = sg_rules_parts_touched(c->rules, parts, max_ts, MAX_PARTS);
        sg_cols_t k;
        int rc = 0;

        if (n > MAX_PARTS)
                n = MAX_PARTS;
        if (n == 0)
                return 0;
        sg_cols_begin(&k, 2);
        for (size_t i = 0; i < n; i++) {
                sg_buf_array_int(&k.b[0], parts[i]);
                sg_buf_array_int(&k.b[1], max_ts[i]);
        }
        rc = sg_pg_command(conn,
                           "INSERT INTO compliance_partitions (topic, "
                           "kafka_partition, max_ts_us) SELECT $1, t.p, t.m "
                           "FROM unnest($2::int[], $3::bigint[]) AS t(p, m) "
                           "ON CONFLICT (topic, kafka_partition) DO UPDATE SET "
                           "max_ts_us = EXCLUDED.max_ts_us, updated_at = now()",
                           3, sg_cols_end(&k, c->topic),
                           "storing partitions' state", NULL, err);
        sg_cols_fini(&k);
        return rc;
}

static int sg_cpl_write_counts(sg_compliance_t *c, PGconn *conn,
                               long long closed_late, sg_pg_err_t *err)
{
        size_t n;
        const sg_risk_count_t *risk = sg_rules_risk(c->rules, &n);
        const sg_late_count_t *late;
        sg_cols_t k;
        char day[11];
        int rc = 0;

        if (n) {
                sg_cols_begin(&k, 4);
                for (size_t i = 0; i < n; i++) {
                        sg_time_format_day(risk[i].day, day);
                        sg_buf_array_str(&k.b[0], day);
                        sg_buf_array_str(&k.b[1], risk[i].country);
                        sg_buf_array_str(&k.b[2],
                                         sg_severity_name(
                                             (sg_severity_t)risk[i].level));
                        sg_buf_array_int(&k.b[3], risk[i].events);
                }
                rc = sg_pg_command(
                    conn,
                    "INSERT INTO compliance_daily AS d (event_date, country, "
                    "risk_level, events) SELECT * FROM unnest($1::date[], "
                    "$2::text[], $3::text[], $4::bigint[]) ON CONFLICT "
                    "(event_date, country, risk_level) DO UPDATE SET "
                    "events = d.events + EXCLUDED.events, updated_at = now()",
                    4, sg_cols_end(&k, NULL), "adding to compliance_daily",
                    NULL, err);
                sg_cols_fini(&k);
        }
        late = sg_rules_late(c->rules, &n);
        if (rc == 0 && (n || closed_late)) {
                sg_cols_begin(&k, 3);
                for (size_t i = 0; i < n; i++) {
                        sg_time_format_day(late[i].day, day);
                        sg_buf_array_str(&k.b[0], day);
                        sg_buf_array_int(&k.b[1], late[i].partition);
                        sg_buf_array_int(&k.b[2], late[i].events);
                        c->batch.late += late[i].events;
                }
                if (closed_late) {
                        sg_time_format_day(sg_time_utc_day(sg_time_wall_us()),
                                           day);
                        sg_buf_array_str(&k.b[0], day);
                        sg_buf_array_int(&k.b[1], -1);
                        sg_buf_array_int(&k.b[2], closed_late);
                        c->batch.late += closed_late;
                }
                rc = sg_pg_command(
                    conn,
                    "INSERT INTO compliance_late AS l (event_date, "
                    "kafka_partition, events) SELECT * FROM unnest("
                    "$1::date[], $2::int[], $3::bigint[]) ON CONFLICT "
                    "(event_date, kafka_partition) DO UPDATE SET "
                    "events = l.events + EXCLUDED.events, updated_at = now()",
                    3, sg_cols_end(&k, NULL), "adding to compliance_late", NULL,
                    err);
                sg_cols_fini(&k);
        }
        return rc;
}

/* Adds the batch's window counts; a window closed already takes nothing
 * (its events are counted late). */
static int sg_cpl_write_windows(sg_compliance_t *c, PGconn *conn,
                                long long *closed_late, sg_pg_err_t *err)
{
        size_t n;
        const sg_wpart_t *w = sg_rules_windows(c->rules, &n);
        sg_buf_t b[8];
        const char *params[8];
        long long added = 0, want = 0;
        int rc;

        *closed_late = 0;
        if (n == 0)
                return 0;
        for (int i = 0; i < 8; i++) {
                sg_buf_init(&b[i]);
                sg_buf_array_begin(&b[i]);
        }
        for (size_t i = 0; i < n; i++) {
                char row[512];
                /* One text[] per window keeps this statement's parameter
                 * list short: rule, subject, start, a, b, first ts, first
                 * id, first partition, first offset, last ts, last id. */
                sg_buf_array_str(&b[0], sg_rule_name(w[i].rule));
                sg_buf_array_str(&b[1], w[i].subject);
                sg_buf_array_int(&b[2], w[i].start_us);
                sg_buf_array_int(&b[3], w[i].a);
                sg_buf_array_int(&b[4], w[i].b);
                snprintf(row, sizeof(row), "%lld,%s,%d,%lld", w[i].first_ts,
                         w[i].first_event_id, w[i].first_partition,
                         (long long)w[i].first_offset);
                sg_buf_array_str(&b[5], row);
                snprintf(row, sizeof(row), "%lld,%s", w[i].last_ts,
                         w[i].last_event_id);
                sg_buf_array_str(&b[6], row);
                sg_buf_array_int(&b[7], sg_rules_window_end(
                                            sg_rules_conf(c->rules), w[i].rule,
                                            w[i].start_us));
                want += w[i].a + w[i].b;
        }
        for (int i = 0; i < 8; i++) {
                sg_buf_array_end(&b[i]);
                params[i] = b[i].data;
        }
        rc = sg_pg_command(
            conn,
            "WITH t AS (SELECT r, s, ws, a, b, string_to_array(f, ',') AS f, "
            "string_to_array(l, ',') AS l, we FROM unnest($1::text[], "
            "$2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], "
            "$7::text[], $8::bigint[]) AS u(r, s, ws, a, b, f, l, we)) "
            "INSERT INTO compliance_windows AS w (rule, subject, "
            "window_start_us, window_end_us, a, b, first_ts_us, "
            "first_event_id, first_partition, first_offset, last_ts_us, "
            "last_event_id) SELECT r, s, ws, we, a, b, f[1]::bigint, "
            "f[2]::uuid, f[3]::int, f[4]::bigint, l[1]::bigint, l[2]::uuid "
            "FROM t ON CONFLICT (rule, subject, window_start_us) DO UPDATE SET "
            "a = w.a + EXCLUDED.a, b = w.b + EXCLUDED.b, "
            "first_ts_us = CASE WHEN (EXCLUDED.first_ts_us, "
            "EXCLUDED.first_event_id::text) < (w.first_ts_us, "
            "w.first_event_id::text) THEN EXCLUDED.first_ts_us ELSE "
            "w.first_ts_us END, "
            "first_partition = CASE WHEN (EXCLUDED.first_ts_us, "
            "EXCLUDED.first_event_id::text) < (w.first_ts_us, "
            "w.first_event_id::text) THEN EXCLUDED.first_partition ELSE "
            "w.first_partition END, "
            "first_offset = CASE WHEN (EXCLUDED.first_ts_us, "
            "EXCLUDED.first_event_id::text) < (w.first_ts_us, "
            "w.first_event_id::text) THEN EXCLUDED.first_offset ELSE "
            "w.first_offset END, "
            "first_event_id = CASE WHEN (EXCLUDED.first_ts_us, "
            "EXCLUDED.first_event_id::text) < (w.first_ts_us, "
            "w.first_event_id::text) THEN EXCLUDED.first_event_id ELSE "
            "w.first_event_id END, "
            "last_event_id = CASE WHEN (EXCLUDED.last_ts_us, "
            "EXCLUDED.last_event_id::text) > (w.last_ts_us, "
            "w.last_event_id::text) THEN EXCLUDED.last_event_id ELSE "
            "w.last_event_id END, "
            "last_ts_us = GREATEST(w.last_ts_us, EXCLUDED.last_ts_us) "
            "WHERE NOT w.closed",
            8, params, "adding to compliance_windows", &added, err);
        for (int i = 0; i < 8; i++)
                sg_buf_fini(&b[i]);
        if (rc == 0 && (size_t)added < n) {
                /* Some windows were closed: their events are late. The
                 * count is approximate by window (a later batch of a
                 * closed window is rare: an idle partition woke up). */
                *closed_late = want * (long long)(n - (size_t)added) /
                               (long long)n;
                if (*closed_late == 0)
                        *closed_late = (long long)(n - (size_t)added);
        }
        return rc;
}

/* --- Closing windows ------------------------------------------------------------- */

/* The watermark (docs/compliance.md): LLONG_MIN while a partition with
 * something to read has no state yet. */
static int sg_cpl_watermark(sg_compliance_t *c, PGconn *conn, long long *wm,
                            sg_pg_err_t *err)
{
        const bool *behind = c->behind;
        const char *params[1] = {c->topic};
        long long maxall = LLONG_MIN, minbehind = LLONG_MAX;
        bool seen[MAX_PARTS] = {false};
        int nparts;
        PGresult *res;

        c->nparts = c->svc ? c->svc->behind(c->svc->engine, conn, c->topic,
                                            c->behind, MAX_PARTS)
                           : -1;
        nparts = c->nparts;
        if (nparts < 0) {
                *wm = LLONG_MIN; /* cannot tell now: close nothing */
                return 0;
        }
        res = sg_pg_query(conn,
                          "SELECT kafka_partition, max_ts_us FROM "
                          "compliance_partitions WHERE topic = $1",
                          1, params, 0, "reading the partitions' state", err);
        if (!res)
                return -1;
        for (int i = 0; i < PQntuples(res); i++) {
                int p = atoi(PQgetvalue(res, i, 0));
                long long t = strtoll(PQgetvalue(res, i, 1), NULL, 10);
                if (t > maxall)
                        maxall = t;
                if (p < 0 || p >= MAX_PARTS)
                        continue;
                seen[p] = true;
                if (behind[p] && t < minbehind)
                        minbehind = t;
        }
        PQclear(res);
        for (int p = 0; p < nparts && p < MAX_PARTS; p++)
                if (behind[p] && !seen[p])
                        minbehind = LLONG_MIN; /* unread, no state: wait */
        if (minbehind == LLONG_MIN || maxall == LLONG_MIN) {
                *wm = LLONG_MIN;
                return 0;
        }
        *wm = (minbehind != LLONG_MAX ? minbehind : maxall) -
              sg_rules_conf(c->rules)->lateness_us;
        return 0;
}

static int sg_cpl_baselines_load(PGconn *conn, sg_baselines_t *out,
                                 sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn,
                                    "SELECT country, mean, var, n, "
                                    "next_start_us FROM compliance_baselines "
                                    "ORDER BY country",
                                    0, NULL, 0, "reading baselines", err);

        if (!res)
                return -1;
        for (int i = 0; i < PQntuples(res); i++) {
                sg_baseline_t *b = sg_baselines_get(out, PQgetvalue(res, i, 0));
                b->mean = strtod(PQgetvalue(res, i, 1), NULL);
                b->var = strtod(PQgetvalue(res, i, 2), NULL);
                b->n = strtoll(PQgetvalue(res, i, 3), NULL, 10);
                b->next_start_us = strtoll(PQgetvalue(res, i, 4), NULL, 10);
        }
        PQclear(res);
        return 0;
}

static int sg_cpl_baselines_store(PGconn *conn, const sg_baseline_t *b,
                                  size_t n, sg_pg_err_t *err)
{
        sg_cols_t k;
        char num[40];
        int rc;

        if (n == 0)
                return 0;
        sg_cols_begin(&k, 5);
        for (size_t i = 0; i < n; i++) {
                sg_buf_array_str(&k.b[0], b[i].country);
                snprintf(num, sizeof(num), "%.17g", b[i].mean);
                sg_buf_array_str(&k.b[1], num);
                snprintf(num, sizeof(num), "%.17g", b[i].var);
                sg_buf_array_str(&k.b[2], num);
                sg_buf_array_int(&k.b[3], b[i].n);
                sg_buf_array_int(&k.b[4], b[i].next_start_us);
        }
        rc = sg_pg_command(conn,
                           "INSERT INTO compliance_baselines AS b (country, "
                           "mean, var, n, next_start_us) SELECT * FROM unnest("
                           "$1::text[], $2::float8[], $3::float8[], "
                           "$4::bigint[], $5::bigint[]) ON CONFLICT (country) "
                           "DO UPDATE SET mean = EXCLUDED.mean, var = "
                           "EXCLUDED.var, n = EXCLUDED.n, next_start_us = "
                           "EXCLUDED.next_start_us",
                           5, sg_cols_end(&k, NULL), "storing baselines", NULL,
                           err);
        sg_cols_fini(&k);
        return rc;
}

/* Closes the windows the watermark passed (sg_rules_close) and stores
 * their flags and the baselines. */
static int sg_cpl_close(sg_compliance_t *c, PGconn *conn, sg_pg_err_t *err)
{
        const sg_rules_conf_t *rc = sg_rules_conf(c->rules);
        sg_flag_list_t out = {0};
        sg_baselines_t base = {0};
        sg_wpart_t *w = NULL;
        char wbuf[32];
        const char *params[1] = {wbuf};
        long long wm;
        PGresult *res = NULL;
        int ret = -1, n;

        if (sg_cpl_watermark(c, conn, &wm, err) < 0)
                return -1;
        if (wm == LLONG_MIN)
                return 0;
        snprintf(wbuf, sizeof(wbuf), "%lld", wm);
        res = sg_pg_query(conn,
                          "UPDATE compliance_windows SET closed = true WHERE "
                          "NOT closed AND window_end_us < $1 RETURNING rule, "
                          "subject, window_start_us, a, b, "
                          "coalesce(first_ts_us, 0), "
                          "coalesce(first_event_id::text, ''), "
                          "coalesce(first_partition, -1), "
                          "coalesce(first_offset, 0), coalesce(last_ts_us, 0), "
                          "coalesce(last_event_id::text, '')",
                          1, params, 0, "closing windows", err);
        if (!res)
                return -1;
        n = PQntuples(res);
        w = sg_xcalloc((size_t)n + 1, sizeof(*w));
        for (int i = 0; i < n; i++) {
                int rule = sg_rule_from_name(PQgetvalue(res, i, 0));
                w[i].rule = rule < 0 ? SG_RULE__CNT : (sg_rule_id_t)rule;
                snprintf(w[i].subject, sizeof(w[i].subject), "%s",
                         PQgetvalue(res, i, 1));
                w[i].start_us = strtoll(PQgetvalue(res, i, 2), NULL, 10);
                w[i].a = strtoll(PQgetvalue(res, i, 3), NULL, 10);
                w[i].b = strtoll(PQgetvalue(res, i, 4), NULL, 10);
                w[i].first_ts = strtoll(PQgetvalue(res, i, 5), NULL, 10);
                snprintf(w[i].first_event_id, sizeof(w[i].first_event_id),
                         "%s", PQgetvalue(res, i, 6));
                w[i].first_partition = atoi(PQgetvalue(res, i, 7));
                w[i].first_offset = strtoll(PQgetvalue(res, i, 8), NULL, 10);
                w[i].last_ts = strtoll(PQgetvalue(res, i, 9), NULL, 10);
                snprintf(w[i].last_event_id, sizeof(w[i].last_event_id), "%s",
                         PQgetvalue(res, i, 10));
        }
        if (sg_cpl_baselines_load(conn, &base, err) < 0)
                goto out;
        sg_rules_close(rc, w, (size_t)n, &base, wm, &out);
        c->batch.windows_closed += n;
        if (sg_cpl_baselines_store(conn, base.v, base.n, err) < 0 ||
            sg_flag_store(conn, SG_FLAGS_STREAM, c->topic, out.v, out.n, true,
                          c->conf->alert_sev, &c->batch.flags, err) < 0)
                goto out;
        ret = 0;
out:
        PQclear(res);
        free(w);
        free(base.v);
        sg_flag_list_fini(&out);
        return ret;
}

/* --- Snapshots --------------------------------------------------------------- */

/* Writes the partition's pending extensions and its snapshot at offset
 * next (where the group's offset stands once this transaction commits). */
static int sg_cpl_snapshot(sg_compliance_t *c, PGconn *conn, int32_t part,
                           int64_t next, sg_pg_err_t *err)
{
        char pbuf[16], obuf[24], mbuf[24], ubuf[24], kbuf[24];
        const char *params[7] = {c->topic, pbuf, obuf, mbuf, ubuf, NULL, kbuf};
        int lengths[7] = {0}, formats[7] = {0};
        const sg_flag_t *pend;
        size_t n;
        sg_buf_t dump;
        long long written = 0;
        int rc;

        (void)sg_rules_prune(c->rules, part);
        pend = sg_rules_pending(c->rules, part, &n);
        if (sg_flag_write(conn, SG_FLAGS_STREAM, c->topic, pend, n, false, 0,
                          err) < 0)
                return -1;
        sg_buf_init(&dump);
        sg_rules_part_dump(c->rules, part, &dump);
        snprintf(pbuf, sizeof(pbuf), "%d", part);
        snprintf(obuf, sizeof(obuf), "%" PRId64, next);
        snprintf(mbuf, sizeof(mbuf), "%lld", sg_rules_part_max(c->rules, part));
        snprintf(ubuf, sizeof(ubuf), "%zu", sg_rules_part_users(c->rules, part));
        snprintf(kbuf, sizeof(kbuf), "%" PRId64, c->part[part].snap_at);
        params[5] = dump.data ? dump.data : "";
        lengths[5] = (int)dump.len;
        formats[5] = 1; /* bytea, binary */
        rc = sg_pg_command_bin(
            conn,
            "INSERT INTO compliance_snapshots AS s (topic, kafka_partition, "
            "next_offset, max_ts_us, users, state) VALUES ($1, $2, $3, $4, "
            "$5, $6) ON CONFLICT (topic, kafka_partition) DO UPDATE SET "
            "next_offset = EXCLUDED.next_offset, max_ts_us = "
            "EXCLUDED.max_ts_us, users = EXCLUDED.users, state = "
            "EXCLUDED.state, taken_at = now() WHERE s.next_offset = $7",
            7, params, lengths, formats, "storing a snapshot", &written, err);
        if (rc == 0 && written != 1) {
                /* Another member wrote this partition's snapshot since
                 * this process read or wrote it: its state here is stale.
                 * Roll back; the retry reloads everything. */
                sg_pg_err_fmt(err, true,
                              "partition %d's snapshot moved under this "
                              "process (another member wrote it): reloading",
                              part);
                rc = -1;
        }
        if (rc == 0) {
                c->part[part].snap_at = next;
                sg_rules_pending_clear(c->rules, part);
                c->part[part].snap = true;
                c->batch.snapshots++;
                sg_debug("snapshot partition=%d offset=%" PRId64
                         " users=%zu bytes=%zu extensions_written=%zu",
                         part, next, sg_rules_part_users(c->rules, part),
                         dump.len, n);
        }
        sg_buf_fini(&dump);
        return rc;
}

/* The partitions of the batch that had no snapshot (their state started
 * empty at empty_at): instead of their state, a snapshot of the empty
 * state at that offset, all in one statement. A restart replays them
 * from there, as from any snapshot; their state itself is written when
 * it is next due (--snapshot-s, or between batches). A partition's first
 * batch thus costs no more than the others (33 partitions' states and
 * extensions were most of a first batch's commit). */
static int sg_cpl_markers(sg_compliance_t *c, PGconn *conn, sg_pg_err_t *err)
{
        char minbuf[24];
        const char *params[5] = {c->topic, NULL, NULL, minbuf, NULL};
        int lengths[5] = {0}, formats[5] = {0};
        sg_buf_t parts, offs, empty;
        long long n = 0, written = 0;
        int rc;

        sg_buf_init(&parts);
        sg_buf_init(&offs);
        sg_buf_array_begin(&parts);
        sg_buf_array_begin(&offs);
        for (int p = 0; p < MAX_PARTS; p++) {
                sg_cpl_part_t *pp = &c->part[p];
                if (pp->next < 0 || !pp->want_snap || pp->snap_at >= 0)
                        continue;
                sg_buf_array_int(&parts, p);
                sg_buf_array_int(&offs, pp->empty_at);
                n++;
        }
        sg_buf_array_end(&parts);
        sg_buf_array_end(&offs);
        if (n == 0) {
                sg_buf_fini(&parts);
                sg_buf_fini(&offs);
                return 0;
        }
        sg_buf_init(&empty);
        sg_rules_empty_dump(&empty);
        snprintf(minbuf, sizeof(minbuf), "%lld", LLONG_MIN);
        params[1] = parts.data;
        params[2] = offs.data;
        params[4] = empty.data;
        lengths[4] = (int)empty.len;
        formats[4] = 1; /* bytea, binary */
        rc = sg_pg_command_bin(
            conn,
            "INSERT INTO compliance_snapshots (topic, kafka_partition, "
            "next_offset, max_ts_us, users, state) SELECT $1, t.p, t.o, $4, "
            "0, $5 FROM unnest($2::int[], $3::bigint[]) AS t(p, o) "
            "ON CONFLICT (topic, kafka_partition) DO NOTHING",
            5, params, lengths, formats, "storing empty snapshots", &written,
            err);
        sg_buf_fini(&parts);
        sg_buf_fini(&offs);
        sg_buf_fini(&empty);
        if (rc < 0)
                return -1;
        if (written != n) {
                /* Another member wrote a snapshot of one of them since
                 * this process found none. */
                sg_pg_err_fmt(err, true,
                              "a partition's snapshot appeared under this "
                              "process (another member wrote it): reloading");
                return -1;
        }
        for (int p = 0; p < MAX_PARTS; p++) {
                sg_cpl_part_t *pp = &c->part[p];
                if (pp->next < 0 || !pp->want_snap || pp->snap_at >= 0)
                        continue;
                pp->snap_at = pp->empty_at;
                pp->snap = pp->marker = true;
        }
        sg_debug("empty snapshots written partitions=%lld", n);
        return 0;
}

/* Between batches (wants_flush): snapshots of the partitions changed
 * since theirs, where the group's stored offset is still this process's
 * (else the partition went elsewhere: its state here is dropped). */
static int sg_cpl_flush_state(sg_compliance_t *c, PGconn *conn,
                              sg_pg_err_t *err)
{
        int32_t parts[MAX_PARTS];
        int64_t got[MAX_PARTS], stored[MAX_PARTS];
        int held = 0;

        for (int p = 0; p < MAX_PARTS; p++) {
                stored[p] = -1;
                if (c->part[p].loaded || c->part[p].assigned)
                        parts[held++] = p;
        }
        if (held && c->svc->stored(c->svc->engine, conn, c->topic, held, parts,
                                   got, err) < 0)
                return -1;
        for (int i = 0; i < held; i++)
                stored[parts[i]] = got[i];
        /* A partition this member holds but has had no message of since it
         * came: its extensions since the snapshot are nowhere but in the
         * log (the member that had them may have died). Restore it. */
        for (int p = 0; p < MAX_PARTS; p++) {
                sg_cpl_part_t *pp = &c->part[p];
                long long before = c->batch.replayed;
                if (!pp->assigned || pp->loaded || pp->probed)
                        continue;
                pp->probed = true;
                if (stored[p] < 0)
                        continue; /* nothing read yet: nothing to restore */
                if (sg_cpl_load_part(c, conn, p, stored[p], err) < 0)
                        return -1;
                pp->done = stored[p];
                pp->evaluated = pp->want_snap || c->batch.replayed > before;
        }
        for (int p = 0; p < MAX_PARTS; p++) {
                sg_cpl_part_t *pp = &c->part[p];
                size_t n;
                (void)sg_rules_pending(c->rules, p, &n);
                if (!pp->loaded || (!pp->evaluated && n == 0))
                        continue;
                if (stored[p] != pp->done) {
                        sg_info("partition=%d: the group's offset moved on "
                                "elsewhere: its state here is dropped",
                                p);
                        sg_rules_forget_part(c->rules, p);
                        pp->loaded = pp->evaluated = false;
                        continue;
                }
                if (sg_cpl_snapshot(c, conn, p, pp->done, err) < 0)
                        return -1;
        }
        return 0;
}

static void sg_cpl_forget_all(sg_compliance_t *c)
{
        sg_rules_forget(c->rules);
        for (int p = 0; p < MAX_PARTS; p++) {
                c->part[p].loaded = c->part[p].evaluated = false;
                c->part[p].snap = c->part[p].probed = false;
                c->part[p].marker = false;
        }
}

/* --- The batch ----------------------------------------------------------------- */

static PGconn *sg_cpl_obconn(sg_compliance_t *c);

/* The start of a batch's evaluation (its first part, or flush). */
static void sg_cpl_batch_begin(sg_compliance_t *c)
{
        /* A flush that did not commit left the state half-advanced: start
         * again from what is stored. */
        if (c->suspect)
                sg_cpl_forget_all(c);
        c->suspect = true;
        c->fed = 0;
        c->ers_checked = false;
        memset(&c->batch, 0, sizeof(c->batch));
        memset(c->batch_flags, 0, sizeof(c->batch_flags));
        c->erasure_ms = 0;
        c->wait_parse_ms = c->wait_pg_ms = 0;
        for (int p = 0; p < MAX_PARTS; p++)
                c->part[p].snap = c->part[p].marker = false;
}

/* Evaluates the batch's events from fed on, their partitions restored
 * first (which waits for what the pipeline holds); erasures read on
 * econn. */
static int sg_cpl_eval_rest(sg_compliance_t *c, PGconn *conn, PGconn *econn,
                            sg_pg_err_t *err)
{
        for (size_t i = c->fed; i < c->nev; i++) {
                int32_t p = c->evs[i].partition;
                if (c->part[p].loaded)
                        continue;
                if (sg_pg_pipe_end(conn, err) < 0 ||
                    sg_cpl_load_part(c, conn, p, c->part[p].first, err) < 0)
                        return -1;
        }
        if (sg_cpl_eval(c, econn, c->evs + c->fed, c->nev - c->fed, err) < 0)
                return -1;
        c->fed = c->nev;
        return 0;
}

/* Writes the raises and escalations evaluated since the last write (in
 * pipeline mode: sent). */
static int sg_cpl_write_flags(sg_compliance_t *c, PGconn *conn,
                              sg_pg_err_t *err)
{
        size_t nflags;
        const sg_flag_t *flags = sg_rules_flags(c->rules, &nflags);

        if (sg_flag_write(conn, SG_FLAGS_STREAM, c->topic, flags, nflags, true,
                          c->conf->alert_sev, err) < 0)
                return -1;
        for (size_t i = 0; i < nflags; i++) {
                if ((int)flags[i].rule >= 0 && flags[i].rule < SG_RULE__CNT &&
                    flags[i].severity >= 0 &&
                    flags[i].severity <= SG_SEV_HIGH &&
                    flags[i].change >= 0 && flags[i].change <= 2)
                        c->batch_flags[flags[i].rule][flags[i].severity]
                                      [flags[i].change]++;
                c->batch.flags.raised += flags[i].change == SG_FLAG_RAISED;
                c->batch.flags.escalated += flags[i].change == SG_FLAG_ESCALATED;
        }
        sg_rules_flags_clear(c->rules);
        return 0;
}

/* While the batch is gathered (the engine opened its transaction): every
 * FEED_CHUNK events, evaluates them and sends their flags in pipeline
 * mode, so that the backend writes them on its core while the next
 * events are read and parsed. Erasures are read on the outbox's
 * connection (this one is busy). Any failure: the engine calls
 * sg_cpl_feed_abort and flush evaluates the whole batch again from the
 * stored state. */
static int sg_cpl_feed(void *stage, PGconn *conn, sg_pg_err_t *err)
{
        sg_compliance_t *c = stage;
        PGconn *econn;

        /* c->nev: what the parser had done when add last handed it
         * messages (every publish_every). */
        if (c->conf->feed_chunk <= 0 || c->nraw % c->publish_every != 0 ||
            c->nev < c->fed + (size_t)c->conf->feed_chunk)
                return 0;
        econn = sg_cpl_obconn(c);
        if (!econn)
                return 0; /* none now: flush does it all */
        if (!c->streamed) {
                sg_cpl_batch_begin(c);
                c->streamed = true;
        }
        if (sg_cpl_eval_rest(c, conn, econn, err) < 0)
                return -1;
        if (!sg_pg_pipe_on(conn) && sg_pg_pipe_begin(conn, err) < 0)
                return -1;
        if (sg_cpl_write_flags(c, conn, err) < 0)
                return -1;
        return sg_pg_pipe_flush(conn, err);
}

/* In flush (the batch's partitions restored): evaluates the rest of the
 * batch as the parser delivers it, a part at a time, each part's flags
 * sent in pipeline mode while the next is parsed and evaluated; returns
 * once all are written. Without a second connection for the erasures,
 * or with --eval-chunk 0: all at once, one statement after another. */
static int sg_cpl_eval_stream(sg_compliance_t *c, PGconn *conn,
                              sg_pg_err_t *err)
{
        size_t chunk = c->conf->feed_chunk > 0 ? (size_t)c->conf->feed_chunk
                                               : SIZE_MAX;
        PGconn *econn = chunk != SIZE_MAX ? sg_cpl_obconn(c) : NULL;

        if (!econn) {
                sg_cpl_parsed_all(c);
                if (sg_pg_pipe_end(conn, err) < 0 ||
                    sg_cpl_eval_rest(c, conn, conn, err) < 0)
                        return -1;
                return sg_cpl_write_flags(c, conn, err);
        }
        for (;;) {
                long long w0 = sg_time_mono_ms();
                bool all = sg_cpl_parsed_wait(c, c->fed + chunk);
                c->wait_parse_ms += sg_time_mono_ms() - w0;
                if (sg_cpl_eval_rest(c, conn, econn, err) < 0)
                        return -1;
                if (!sg_pg_pipe_on(conn) && sg_pg_pipe_begin(conn, err) < 0)
                        return -1;
                if (sg_cpl_write_flags(c, conn, err) < 0 ||
                    sg_pg_pipe_flush(conn, err) < 0)
                        return -1;
                if (all)
                        break;
        }
        {
                long long w0 = sg_time_mono_ms();
                int rc = sg_pg_pipe_end(conn, err);
                c->wait_pg_ms += sg_time_mono_ms() - w0;
                return rc;
        }
}

static void sg_cpl_feed_abort(void *stage, PGconn *conn)
{
        sg_compliance_t *c = stage;
        sg_pg_err_t err;

        /* Rolled back next: leave pipeline mode (a broken connection is
         * dropped by the engine). suspect stays set: flush reloads. */
        if (conn && sg_pg_pipe_end(conn, &err) < 0)
                sg_debug("ending the batch's pipeline: %s", err.msg);
        c->streamed = false;
        c->fed = 0;
}

static int sg_cpl_flush(void *stage, PGconn *conn, sg_pg_err_t *err)
{
        sg_compliance_t *c = stage;
        bool cont = c->streamed;
        size_t fed = cont ? c->fed : 0;
        long long closed_late = 0, t[5] = {sg_time_mono_ms(), 0, 0, 0, 0};
        long long snap_ms = c->conf->snapshot_s * 1000;

        /* A retry (this flush fails) evaluates the whole batch again. */
        c->streamed = false;
        if (!cont)
                sg_cpl_batch_begin(c);
        else if (sg_pg_pipe_end(conn, err) < 0)
                return -1; /* the flags sent while gathering */
        c->wait_pg_ms += sg_time_mono_ms() - t[0];
        {
                PGresult *res = sg_pg_query(
                    conn, "SELECT pg_advisory_xact_lock(" LOCK_KEY ")", 0, NULL,
                    1, "taking the compliance lock", err);
                if (!res)
                        return -1;
                PQclear(res);
        }
        if (c->nmsgs == 0)
                return sg_cpl_flush_state(c, conn, err);
        for (int p = 0; p < MAX_PARTS; p++)
                if (c->part[p].next >= 0 && !c->part[p].loaded &&
                    sg_cpl_load_part(c, conn, p, c->part[p].first, err) < 0)
                        return -1;
        if (sg_cpl_eval_stream(c, conn, err) < 0)
                return -1;
        t[1] = sg_time_mono_ms();
        c->batch.flags.extended = sg_rules_extensions(c->rules);
        if (sg_cpl_write_flags(c, conn, err) < 0 ||
            sg_cpl_write_parts(c, conn, err) < 0)
                return -1;
        t[2] = sg_time_mono_ms();
        if (sg_cpl_write_windows(c, conn, &closed_late, err) < 0 ||
            sg_cpl_write_counts(c, conn, closed_late, err) < 0 ||
            sg_cpl_close(c, conn, err) < 0)
                return -1;
        t[3] = sg_time_mono_ms();
        if (sg_cpl_markers(c, conn, err) < 0)
                return -1;
        /* The partitions whose snapshot is due, at most SNAP_PER_BATCH
         * per batch, in turn from where the last batch stopped: a
         * partition's snapshot (its state and the extensions since the
         * last one) is milliseconds, and all of them in one batch held
         * that batch's events back (129 partitions: 0.7 s). */
        for (int k = 0, budget = SNAP_PER_BATCH; k < MAX_PARTS; k++) {
                int p = (c->snap_next + k) % MAX_PARTS;
                sg_cpl_part_t *pp = &c->part[p];
                if (pp->next < 0 || pp->marker ||
                    !(pp->want_snap || t[3] - pp->snap_ms >= snap_ms))
                        continue;
                if (!pp->want_snap && budget == 0)
                        continue;
                if (sg_cpl_snapshot(c, conn, p, pp->next, err) < 0)
                        return -1;
                if (!pp->want_snap && --budget == 0)
                        c->snap_next = (p + 1) % MAX_PARTS;
        }
        t[4] = sg_time_mono_ms();
        sg_debug("flush events=%zu flags=%lld streamed=%zu ms: load+eval=%lld "
                 "(erasures=%lld waiting for the parser=%lld, for the "
                 "server=%lld) flags=%lld windows+close=%lld snapshots=%lld",
                 c->nev, c->batch.flags.raised + c->batch.flags.escalated,
                 fed, t[1] - t[0], c->erasure_ms, c->wait_parse_ms,
                 c->wait_pg_ms, t[2] - t[1], t[3] - t[2], t[4] - t[3]);
        return 0;
}

static void sg_cpl_batch_clear(sg_compliance_t *c)
{
        sg_cpl_parsed_all(c); /* the parser idle: its counts are final */
        pthread_mutex_lock(&c->mu);
        c->nraw_pub = c->nparsed = c->nev_pub = 0;
        pthread_mutex_unlock(&c->mu);
        c->nraw = 0;
        c->arena.cur = c->arena.used = 0;
        c->nev = 0;
        c->fed = 0;
        c->streamed = false;
        c->nmsgs = 0;
        c->batch_invalid = 0;
        memset(c->batch_by_reason, 0, sizeof(c->batch_by_reason));
        memset(c->batch_flags, 0, sizeof(c->batch_flags));
        memset(&c->batch, 0, sizeof(c->batch));
        for (int p = 0; p < MAX_PARTS; p++) {
                c->part[p].next = -1;
                c->part[p].snap = c->part[p].marker = false;
        }
}

/* The committed batch's flags and late events, into the metrics. */
static void sg_cpl_count_metrics(sg_compliance_t *c)
{
        static const char *const changes[] = {"extended", "raised",
                                              "escalated"};

        sg_series_add(c->m_late, (double)c->batch.late);
        sg_series_add(c->m_ext, (double)c->batch.flags.extended);
        if (!c->m_flags)
                return;
        for (int r = 0; r < SG_RULE__CNT; r++)
                for (int s = 0; s <= SG_SEV_HIGH; s++)
                        for (int k = SG_FLAG_RAISED; k < 3; k++) {
                                const char *v[3];
                                if (!c->batch_flags[r][s][k])
                                        continue;
                                v[0] = sg_rule_name((sg_rule_id_t)r);
                                v[1] = sg_severity_name((sg_severity_t)s);
                                v[2] = changes[k];
                                sg_series_add(sg_metric_series(c->m_flags, v),
                                              (double)c->batch_flags[r][s][k]);
                        }
}

static void sg_cpl_counts(void *stage, sg_stage_counts_t *out)
{
        const sg_compliance_t *c = stage;

        out->stored = c->batch.evaluated;
        out->duplicates = c->batch.duplicates;
        memcpy(out->rejected, c->batch_by_reason, sizeof(out->rejected));
}

static void sg_cpl_committed(void *stage)
{
        sg_compliance_t *c = stage;
        long long now = sg_time_mono_ms();

        sg_cpl_count_metrics(c);

        c->total.evaluated += c->batch.evaluated;
        c->total.duplicates += c->batch.duplicates;
        c->total.late += c->batch.late;
        c->total.invalid += c->batch_invalid;
        c->total.flags.raised += c->batch.flags.raised;
        c->total.flags.escalated += c->batch.flags.escalated;
        c->total.flags.extended += c->batch.flags.extended;
        c->total.windows_closed += c->batch.windows_closed;
        c->total.snapshots += c->batch.snapshots;
        c->total.replayed += c->batch.replayed;
        for (int p = 0; p < MAX_PARTS; p++) {
                sg_cpl_part_t *pp = &c->part[p];
                if (pp->next >= 0) {
                        pp->done = pp->next;
                        pp->evaluated = true;
                }
                if (pp->snap) {
                        /* After an empty snapshot, the state is still to
                         * be written. */
                        pp->evaluated = pp->marker;
                        pp->want_snap = pp->marker = false;
                        pp->snap_ms = now;
                }
        }
        c->suspect = false;
        sg_rules_batch_reset(c->rules);
        sg_cpl_batch_clear(c);
}

static void sg_cpl_discard(void *stage)
{
        sg_compliance_t *c = stage;

        /* The partitions may have moved or been rewound: reload. */
        sg_cpl_forget_all(c);
        c->suspect = false;
        sg_cpl_batch_clear(c);
}

static void sg_cpl_revoked(void *stage, const char *topic, int32_t partition)
{
        sg_compliance_t *c = stage;

        if (strcmp(topic, c->topic) != 0 || partition < 0 ||
            partition >= MAX_PARTS)
                return;
        sg_rules_forget_part(c->rules, partition);
        c->part[partition].loaded = c->part[partition].evaluated = false;
        c->part[partition].assigned = c->part[partition].probed = false;
        c->part[partition].done = -1;
}

static void sg_cpl_assigned(void *stage, const char *topic, int32_t partition)
{
        sg_compliance_t *c = stage;

        if (strcmp(topic, c->topic) == 0 && partition >= 0 &&
            partition < MAX_PARTS)
                c->part[partition].assigned = true;
        c->part[partition].probed = false;
}

static bool sg_cpl_wants_flush(void *stage, bool final)
{
        sg_compliance_t *c = stage;

        (void)final; /* the engine asks when the stream is quiet */
        for (int p = 0; p < MAX_PARTS; p++) {
                size_t n;
                (void)sg_rules_pending(c->rules, p, &n);
                if (c->part[p].loaded && (c->part[p].evaluated || n > 0))
                        return true;
                if (c->part[p].assigned && !c->part[p].loaded &&
                    !c->part[p].probed)
                        return true;
        }
        return false;
}

static void sg_cpl_progress(void *stage, char *buf, size_t size)
{
        sg_compliance_t *c = stage;
        const sg_outbox_stats_t *ob = c->ob ? sg_outbox_stats(c->ob) : NULL;

        snprintf(buf, size,
                 " evaluated=%lld invalid_skipped=%lld duplicates=%lld "
                 "late=%lld flags_raised=%lld flags_escalated=%lld "
                 "flags_extended=%lld windows_closed=%lld snapshots=%lld "
                 "replayed=%lld published=%lld",
                 c->total.evaluated, c->total.invalid, c->total.duplicates,
                 c->total.late, c->total.flags.raised,
                 c->total.flags.escalated, c->total.flags.extended,
                 c->total.windows_closed, c->total.snapshots,
                 c->total.replayed, ob ? ob->delivered : 0);
}

/* --- The outbox and the rules file, between batches --------------------------- */

static PGconn *sg_cpl_obconn(sg_compliance_t *c)
{
        long long now = sg_time_mono_ms();
        sg_pg_err_t err;

        if (c->obpg.conn && PQstatus(c->obpg.conn) == CONNECTION_OK)
                return c->obpg.conn;
        if (now < c->ob_retry_ms)
                return NULL;
        c->ob_retry_ms = now + RECONNECT_MS;
        sg_pg_session_drop(&c->obpg);
        c->obpg.conn = sg_pg_open(c->obpg.conninfo, c->obpg.appname, &err);
        if (!c->obpg.conn)
                sg_warn("outbox: cannot connect, will retry reason=\"%s\"",
                        err.msg);
        return c->obpg.conn;
}

static void sg_cpl_reload(sg_compliance_t *c)
{
        sg_rules_conf_t next;
        char errstr[512];

        sg_reload_requested = 0;
        sg_rules_conf_defaults(&next);
        if (sg_rules_conf_load(&next, c->conf->rules_path, errstr,
                               sizeof(errstr)) < 0) {
                sg_error("SIGHUP: the rules file is refused, the rules in "
                         "force stay: %s",
                         errstr);
                return;
        }
        c->rules_conf = next;
        sg_rules_set_conf(c->rules, &c->rules_conf);
        sg_info("SIGHUP: rules reloaded file=%s", c->conf->rules_path);
}

static void sg_cpl_tick(void *stage)
{
        sg_compliance_t *c = stage;
        sg_pg_err_t err;
        PGconn *conn;

        if (sg_reload_requested)
                sg_cpl_reload(c);
        if (!c->ob)
                return;
        sg_outbox_poll(c->ob, 0);
        conn = sg_cpl_obconn(c);
        if (!conn)
                return;
        if (sg_outbox_unrecorded(c->ob) > 0 &&
            sg_outbox_record(c->ob, conn, &err) < 0)
                sg_warn("outbox: recording deliveries failed, will retry "
                        "reason=\"%s\"", err.msg);
        if (sg_outbox_inflight(c->ob) < INFLIGHT_MAX &&
            sg_outbox_sweep(c->ob, conn,
                            INFLIGHT_MAX - sg_outbox_inflight(c->ob), &err) < 0)
                sg_warn("outbox: sweep failed, will retry reason=\"%s\"",
                        err.msg);
}

static void sg_cpl_attach(void *stage, const sg_stage_services_t *svc)
{
        ((sg_compliance_t *)stage)->svc = svc;
}

/* --- Life cycle ----------------------------------------------------------------- */

static void sg_cpl_log_rules(const sg_rules_conf_t *rc)
{
        char line[1024];
        size_t used = 0;

        for (int i = 0; i < SG_RULE__CNT && used + 40 < sizeof(line); i++)
                used += (size_t)snprintf(line + used, sizeof(line) - used,
                                         " %s=%s", sg_rule_name(i),
                                         rc->rule[i].enabled
                                             ? rc->rule[i].version
                                             : "off");
        sg_info("rules%s", line);
}

static int sg_cpl_init(void *stage, const sg_stage_env_t *env)
{
        sg_compliance_t *c = stage;
        char errstr[512];
        bool no_broker = false;

        c->conf = env->conf;
        c->common = env->common;
        c->ers_version = -1;
        snprintf(c->topic, sizeof(c->topic), "%s", env->topic);
        sg_rules_conf_defaults(&c->rules_conf);
        if (sg_rules_conf_load(&c->rules_conf, c->conf->rules_path, errstr,
                               sizeof(errstr)) < 0) {
                sg_error("%s", errstr);
                return -2;
        }
        c->rules = sg_rules_new(&c->rules_conf);
        sg_rules_set_split(c->rules, true);
        pthread_mutex_init(&c->mu, NULL);
        pthread_cond_init(&c->work, NULL);
        pthread_cond_init(&c->idle, NULL);
        if (pthread_create(&c->parser, NULL, sg_cpl_parser, c) != 0) {
                sg_error("cannot start the parser thread");
                sg_rules_destroy(c->rules);
                c->rules = NULL;
                return -1;
        }
        c->parser_on = true;
        c->publish_every = PUBLISH_EVERY;
        if (c->conf->feed_chunk > 0 && c->conf->feed_chunk < PUBLISH_EVERY)
                c->publish_every = (size_t)c->conf->feed_chunk;
        c->replay = sg_replay_new(env->common);
        for (int p = 0; p < MAX_PARTS; p++)
                c->part[p].next = c->part[p].done = -1;
        sg_cpl_log_rules(&c->rules_conf);
        sg_signal_install_reload();
        {
                static const char *const fl[] = {"rule", "severity", "change",
                                                 NULL};
                c->m_flags = sg_metrics_counter(
                    env->metrics, "sg_compliance_flags_total",
                    "Flags of committed batches by rule, severity and change "
                    "(raised: new; escalated: to a higher severity).",
                    fl, SG_RULE__CNT * 3 * 2);
                c->m_ext = sg_metric_series0(sg_metrics_counter(
                    env->metrics, "sg_compliance_flag_extensions_total",
                    "Events that extended a flag already open.", NULL, 1));
                c->m_late = sg_metric_series0(sg_metrics_counter(
                    env->metrics, "sg_compliance_late_events_total",
                    "Events that arrived after their window closed "
                    "(counted in compliance_late).",
                    NULL, 1));
        }
        sg_pg_session_init(&c->obpg, env->common, "sg_writer",
                           "sg-compliance-outbox");
        if (c->conf->no_publish) {
                sg_info("publishing disabled (--no-publish): flags wait in the "
                        "outbox");
                return 0;
        }
        c->kafka = sg_outbox_kafka_new(env->common, c->conf->flags_topic,
                                       "sg-compliance", &no_broker, errstr,
                                       sizeof(errstr));
        if (!c->kafka) {
                sg_error("cannot create the flags' producer: %s", errstr);
                sg_rules_destroy(c->rules);
                c->rules = NULL;
                return -1;
        }
        c->ob = sg_outbox_new(SG_FLAG_CHANNEL, sg_outbox_kafka_lease_s(c->kafka),
                              &sg_outbox_kafka_ops, c->kafka);
        sg_outbox_kafka_attach(c->kafka, c->ob);
        return 0;
}

static void sg_cpl_fini(void *stage)
{
        sg_compliance_t *c = stage;

        if (c->ob) {
                PGconn *conn;
                sg_pg_err_t err;
                sg_outbox_drain(c->ob, DRAIN_MS);
                c->ob_retry_ms = 0;
                conn = sg_cpl_obconn(c);
                if (conn && sg_outbox_unrecorded(c->ob) > 0 &&
                    sg_outbox_record(c->ob, conn, &err) < 0)
                        sg_warn("outbox state not recorded: flags will be "
                                "published again reason=\"%s\"",
                                err.msg);
        }
        sg_outbox_destroy(c->ob);
        sg_outbox_kafka_destroy(c->kafka);
        sg_pg_session_close(&c->obpg);
        sg_rules_destroy(c->rules);
        sg_replay_destroy(c->replay);
        if (c->parser_on) {
                pthread_mutex_lock(&c->mu);
                c->parser_stop = true;
                pthread_cond_signal(&c->work);
                pthread_mutex_unlock(&c->mu);
                pthread_join(c->parser, NULL);
                c->parser_on = false;
        }
        for (size_t i = 0; i < c->arena.nblocks; i++)
                free(c->arena.block[i]);
        free(c->arena.block);
        free(c->raw);
        free(c->evs);
        free(c->ers.v);
}

const sg_stage_t sg_compliance_stage = {
    .prog = "sg-compliance",
    .about = "Evaluates the compliance rules (docs/compliance.md) on "
             "user_events, exactly\nonce: flags, the rules' state and the "
             "offsets commit in one transaction;\nnew and escalated flags are "
             "published on the flags topic after commit.\nInvalid events are "
             "never evaluated (sg-raw-store keeps them).",
    .group = "sg-compliance",
    .batch_rows = 50000,
    .batch_ms = 500,
    /* As sg-stream-metrics's: the prefetch queue must hold about a second
     * of consumption (~200,000 events/s here), or the consumer idles
     * while librdkafka backs off a full queue (bench/RESULTS.md). */
    .queue_kbytes = 131072,
    .size = sizeof(sg_compliance_t),
    .init = sg_cpl_init,
    .fini = sg_cpl_fini,
    .add = sg_cpl_add,
    .flush = sg_cpl_flush,
    .feed = sg_cpl_feed,
    .feed_abort = sg_cpl_feed_abort,
    .committed = sg_cpl_committed,
    .counts = sg_cpl_counts,
    .discard = sg_cpl_discard,
    .progress = sg_cpl_progress,
    .conf_size = sizeof(sg_cpl_conf_t),
    .conf_init = sg_cpl_conf_init,
    .opts_title = "Compliance options",
    .attach = sg_cpl_attach,
    .tick = sg_cpl_tick,
    .wants_flush = sg_cpl_wants_flush,
    .revoked = sg_cpl_revoked,
    .assigned = sg_cpl_assigned,
};
