/* The compliance rules at their boundaries (docs/compliance.md). */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "rules.h"
#include "sg_buf.h"

#define S 1000000LL
#define T0 (1764547200LL * S) /* 2025-12-01T00:00:00Z */

static sg_rules_conf_t conf;
static sg_rules_t *r;
static int seq;

static void setup(void)
{
        sg_rules_conf_defaults(&conf);
        r = sg_rules_new(&conf);
        seq = 0;
}

static void teardown(void)
{
        sg_rules_destroy(r);
}

static sg_event_t ev_at(const char *user, long long ts, const char *country)
{
        sg_event_t ev;

        memset(&ev, 0, sizeof(ev));
        snprintf(ev.event_id, sizeof(ev.event_id),
                 "00000000-0000-4000-8000-%012d", ++seq);
        snprintf(ev.user_id, sizeof(ev.user_id), "%s", user);
        ev.type = SG_EV_PAGE_VIEW;
        ev.ts_us = ts;
        snprintf(ev.country, sizeof(ev.country), "%s", country);
        ev.is_eu = strcmp(country, "DE") == 0 || strcmp(country, "FR") == 0;
        ev.has_consent = true;
        snprintf(ev.currency, sizeof(ev.currency), "EUR");
        ev.watch_seconds = -1;
        snprintf(ev.ip, sizeof(ev.ip), "198.51.100.0/24");
        return ev;
}

static const char *U1 = "11111111-1111-4111-8111-111111111111";
static const char *U2 = "22222222-2222-4222-8222-222222222222";

static sg_eval_result_t eval(sg_event_t *ev)
{
        sg_eval_result_t res;

        sg_rules_eval(r, 0, seq, ev, -1, &res);
        return res;
}

static size_t count_rule(sg_rule_id_t rule)
{
        size_t n, k = 0;
        const sg_flag_t *f = sg_rules_flags(r, &n);

        for (size_t i = 0; i < n; i++)
                k += f[i].rule == rule;
        return k;
}

static const sg_flag_t *find_rule(sg_rule_id_t rule)
{
        size_t n;
        const sg_flag_t *f = sg_rules_flags(r, &n);

        for (size_t i = 0; i < n; i++)
                if (f[i].rule == rule)
                        return &f[i];
        return NULL;
}

TestSuite(rules, .init = setup, .fini = teardown);

Test(rules, high_frequency_11th_event_in_an_hour)
{
        /* Ten events in the hour: nothing. */
        for (int i = 0; i < 10; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * 60 * S, "US");
                cr_assert_eq(eval(&ev).fired & (1u << SG_RULE_HIGH_FREQUENCY), 0u);
        }
        /* The 11th exactly one hour after the first: inclusive, fires. */
        sg_event_t ev = ev_at(U1, T0 + 3600 * S, "US");
        sg_eval_result_t res = eval(&ev);
        cr_assert(res.fired & (1u << SG_RULE_HIGH_FREQUENCY));
        const sg_flag_t *f = find_rule(SG_RULE_HIGH_FREQUENCY);
        cr_assert_not_null(f);
        cr_assert_eq(f->window_start_us, T0);
        cr_assert_eq(f->window_end_us, T0 + 3600 * S);
        cr_assert_float_eq(f->observed, 11.0, 1e-9);
        cr_assert_float_eq(f->threshold, 10.0, 1e-9);
        cr_assert_eq(f->severity, SG_SEV_LOW);
}

Test(rules, high_frequency_one_microsecond_outside)
{
        for (int i = 0; i < 10; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * 60 * S, "US");
                eval(&ev);
        }
        sg_event_t ev = ev_at(U1, T0 + 3600 * S + 1, "US");
        cr_assert_eq(eval(&ev).fired & (1u << SG_RULE_HIGH_FREQUENCY), 0u);
        cr_assert_eq(count_rule(SG_RULE_HIGH_FREQUENCY), 0);
}

Test(rules, large_purchase_boundaries)
{
        long long amounts[] = {50000, 50001, 999999, 1000000};
        sg_severity_t want[] = {0, SG_SEV_MEDIUM, SG_SEV_MEDIUM, SG_SEV_HIGH};

        for (int i = 0; i < 4; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * 600 * S, "US");
                ev.type = SG_EV_PURCHASE;
                ev.amount_cents = amounts[i];
                sg_eval_result_t res = eval(&ev);
                cr_assert_eq(!!(res.fired & (1u << SG_RULE_LARGE_PURCHASE)),
                             want[i] != 0, "amount %lld", amounts[i]);
        }
        size_t n;
        const sg_flag_t *f = sg_rules_flags(r, &n);
        cr_assert_eq(count_rule(SG_RULE_LARGE_PURCHASE), 3);
        for (size_t i = 0; i < n; i++) {
                if (f[i].rule != SG_RULE_LARGE_PURCHASE)
                        continue;
                cr_assert_eq(f[i].window_start_us, f[i].window_end_us);
                if (f[i].observed >= 10000.0)
                        cr_assert_eq(f[i].severity, SG_SEV_HIGH);
                else
                        cr_assert_eq(f[i].severity, SG_SEV_MEDIUM);
        }
}

static int burst(long long span_us)
{
        for (int i = 0; i < 6; i++) {
                sg_event_t ev =
                    ev_at(U1, T0 + (i == 5 ? span_us : i * S), "US");
                ev.type = SG_EV_PURCHASE;
                ev.amount_cents = 1000;
                eval(&ev);
        }
        return (int)count_rule(SG_RULE_PURCHASE_BURST);
}

Test(rules, purchase_burst_exactly_ten_seconds)
{
        cr_assert_eq(burst(10 * S), 1);
        const sg_flag_t *f = find_rule(SG_RULE_PURCHASE_BURST);
        cr_assert_eq(f->window_start_us, T0);
        cr_assert(strstr(f->evidence, "\"purchases\":6"), "%s", f->evidence);
}

Test(rules, purchase_burst_ten_seconds_and_a_microsecond)
{
        cr_assert_eq(burst(10 * S + 1), 0);
}

Test(rules, multi_country_raises_then_escalates_one_flag)
{
        const char *c[] = {"US", "BR", "JP", "CA"};
        for (int i = 0; i < 4; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * 600 * S, c[i]);
                sg_eval_result_t res = eval(&ev);
                cr_assert_eq(!!(res.fired & (1u << SG_RULE_MULTI_COUNTRY)), i >= 2);
                cr_assert_eq(!!(res.raised & (1u << SG_RULE_MULTI_COUNTRY)), i == 2);
        }
        cr_assert_eq(count_rule(SG_RULE_MULTI_COUNTRY), 1);
        const sg_flag_t *f = find_rule(SG_RULE_MULTI_COUNTRY);
        cr_assert_eq(f->severity, SG_SEV_HIGH);
        cr_assert_eq(f->event_count, 2);
        cr_assert_float_eq(f->observed, 4.0, 1e-9);
        cr_assert_float_eq(f->threshold, 3.0, 1e-9);
        cr_assert_str_eq(f->evidence, "{\"countries\":[\"BR\",\"CA\",\"JP\",\"US\"]}");
        cr_assert_eq(f->window_start_us, T0);
}

Test(rules, multi_network_four_prefixes)
{
        for (int i = 0; i < 4; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * 60 * S, "US");
                snprintf(ev.ip, sizeof(ev.ip), "203.0.%d.0/24", i);
                eval(&ev);
        }
        const sg_flag_t *f = find_rule(SG_RULE_MULTI_NETWORK);
        cr_assert_not_null(f);
        cr_assert(strstr(f->evidence, "203.0.3.0/24"), "%s", f->evidence);
        cr_assert_eq(f->severity, SG_SEV_MEDIUM);
}

Test(rules, eu_no_consent_one_flag_per_day)
{
        for (int i = 0; i < 3; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * 3600 * S, "DE");
                ev.has_consent = false;
                eval(&ev);
        }
        sg_event_t next = ev_at(U1, T0 + 86400 * S, "DE");
        next.has_consent = false;
        eval(&next);
        sg_event_t us = ev_at(U2, T0, "US");
        us.has_consent = false;
        eval(&us);
        cr_assert_eq(count_rule(SG_RULE_EU_NO_CONSENT), 2);
        const sg_flag_t *f = find_rule(SG_RULE_EU_NO_CONSENT);
        cr_assert_eq(f->event_count, 3);
        cr_assert_eq(f->window_start_us, T0);
        cr_assert_eq(f->window_end_us, T0 + 86400 * S - 1);
}

Test(rules, erased_user_activity_after_the_erasure_only)
{
        sg_eval_result_t res;
        sg_event_t before = ev_at(U1, T0 + 10 * S, "US");
        sg_event_t at = ev_at(U1, T0 + 20 * S, "US");
        sg_event_t after = ev_at(U1, T0 + 20 * S + 1, "US");

        sg_rules_eval(r, 0, 1, &before, T0 + 20 * S, &res);
        cr_assert_eq(res.fired & (1u << SG_RULE_ERASED_USER_ACTIVITY), 0u);
        sg_rules_eval(r, 0, 2, &at, T0 + 20 * S, &res);
        cr_assert_eq(res.fired & (1u << SG_RULE_ERASED_USER_ACTIVITY), 0u);
        sg_rules_eval(r, 0, 3, &after, T0 + 20 * S, &res);
        cr_assert(res.fired & (1u << SG_RULE_ERASED_USER_ACTIVITY));
}

Test(rules, do_not_track)
{
        sg_event_t ev = ev_at(U1, T0, "US");
        ev.do_not_track = true;
        cr_assert(eval(&ev).fired & (1u << SG_RULE_DO_NOT_TRACK));
}

Test(rules, late_event_is_judged_in_its_partition)
{
        sg_event_t a = ev_at(U1, T0 + 3600 * S, "US");
        sg_event_t ok = ev_at(U2, T0 + 3600 * S - 60 * S, "US");
        sg_event_t late = ev_at(U2, T0 + 3600 * S - 60 * S - 1, "DE");
        late.has_consent = false;

        cr_assert_not(eval(&a).late);
        cr_assert_not(eval(&ok).late);
        sg_eval_result_t res = eval(&late);
        cr_assert(res.late);
        /* Per-event rules still apply to a late event. */
        cr_assert(res.fired & (1u << SG_RULE_EU_NO_CONSENT));
        size_t n;
        const sg_late_count_t *lc = sg_rules_late(r, &n);
        cr_assert_eq(n, 1);
        cr_assert_eq(lc[0].events, 1);
        /* Another partition has its own clock: not late there. */
        sg_event_t other = ev_at(U1, T0, "US");
        sg_rules_eval(r, 1, 1, &other, -1, &res);
        cr_assert_not(res.late);
}

Test(rules, duplicate_is_skipped)
{
        sg_event_t ev = ev_at(U1, T0, "DE");
        ev.has_consent = false;
        eval(&ev);
        sg_eval_result_t res = eval(&ev);
        cr_assert(res.duplicate);
        cr_assert_eq(find_rule(SG_RULE_EU_NO_CONSENT)->event_count, 1);
}

Test(rules, late_duplicate_is_skipped)
{
        sg_event_t a = ev_at(U1, T0 + 3600 * S, "US");
        sg_event_t late = ev_at(U2, T0 + 3000 * S, "DE");
        late.has_consent = false;

        eval(&a);
        cr_assert(eval(&late).late);
        sg_eval_result_t res = eval(&late); /* a producer's retry */
        cr_assert(res.duplicate);
        cr_assert_eq(find_rule(SG_RULE_EU_NO_CONSENT)->event_count, 1);
        /* A late event enters no window: eleven of them are no burst. */
        for (int i = 0; i < 11; i++) {
                sg_event_t l = ev_at(U2, T0 + 3000 * S + i, "US");
                cr_assert(eval(&l).late);
        }
        cr_assert_eq(count_rule(SG_RULE_HIGH_FREQUENCY), 0);
}

Test(rules, repeat_offender_on_the_fourth_offending_event)
{
        for (int i = 0; i < 4; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * 60 * S, "US");
                ev.type = SG_EV_PURCHASE;
                ev.amount_cents = 60000;
                sg_eval_result_t res = eval(&ev);
                cr_assert_eq(!!(res.fired & (1u << SG_RULE_REPEAT_OFFENDER)), i == 3);
        }
        const sg_flag_t *f = find_rule(SG_RULE_REPEAT_OFFENDER);
        cr_assert_eq(f->window_start_us, T0);
}

Test(rules, risk_score_levels)
{
        sg_event_t ev = ev_at(U1, T0, "DE");
        ev.has_consent = false;
        ev.type = SG_EV_PLAYBACK_ERROR;
        sg_eval_result_t res = eval(&ev);
        cr_assert_eq(res.score, 8);
        cr_assert_eq(res.level, SG_SEV_HIGH);
        sg_event_t plain = ev_at(U2, T0, "US");
        res = eval(&plain);
        cr_assert_eq(res.score, 0);
        cr_assert_eq(res.level, SG_SEV_LOW);
}

Test(rules, content_error_rate_judge)
{
        sg_wpart_t w = {.rule = SG_RULE_CONTENT_ERROR_RATE, .subject = "tt1",
                        .start_us = T0, .a = 15, .b = 5};
        sg_flag_t f;

        cr_assert(sg_rules_judge_content(&conf, &w, &f)); /* 0.25, 20 events */
        cr_assert_eq(f.event_count, 20);
        cr_assert_eq(f.window_end_us, T0 + 300 * S - 1);
        w.a = 16, w.b = 4; /* exactly 0.20: not above */
        cr_assert_not(sg_rules_judge_content(&conf, &w, &f));
        w.a = 9, w.b = 10; /* 19 events */
        cr_assert_not(sg_rules_judge_content(&conf, &w, &f));
}

static int nemitted;
static sg_flag_t emitted;
static void emit(void *arg, const sg_flag_t *f)
{
        (void)arg;
        nemitted++;
        emitted = *f;
}

Test(rules, traffic_anomaly_after_twelve_windows)
{
        sg_baseline_t b = {.country = "DE"};
        long long W = 300 * S;
        sg_wpart_t w = {.rule = SG_RULE_TRAFFIC_ANOMALY, .subject = "DE"};

        nemitted = 0;
        for (int i = 0; i < 12; i++) {
                w.start_us = T0 + i * W;
                w.a = i == 11 ? 1000 : 100; /* judged too early: no flag */
                sg_rules_country_advance(&conf, &b, &w, LLONG_MAX, emit, NULL);
        }
        cr_assert_eq(nemitted, 0);
        cr_assert_eq(b.n, 12);
        /* The 13th window is far above the baseline: a spike. */
        w.start_us = T0 + 12 * W;
        w.a = 100000;
        sg_rules_country_advance(&conf, &b, &w, LLONG_MAX, emit, NULL);
        cr_assert_eq(nemitted, 1);
        cr_assert_eq(emitted.subject_type, SG_SUBJECT_COUNTRY);
        cr_assert(strstr(emitted.evidence, "\"spike\""), "%s", emitted.evidence);
}

Test(rules, traffic_anomaly_flat_history_and_gaps)
{
        sg_baseline_t b = {.country = "FR"};
        long long W = 300 * S;
        sg_wpart_t w = {.rule = SG_RULE_TRAFFIC_ANOMALY, .subject = "FR"};

        nemitted = 0;
        for (int i = 0; i < 13; i++) {
                w.start_us = T0 + i * W;
                w.a = 50;
                sg_rules_country_advance(&conf, &b, &w, LLONG_MAX, emit, NULL);
        }
        cr_assert_eq(nemitted, 0);
        w.start_us = T0 + 13 * W; /* 4 above a flat history: not above 4 */
        w.a = 54;
        sg_rules_country_advance(&conf, &b, &w, LLONG_MAX, emit, NULL);
        cr_assert_eq(nemitted, 0);
        /* Nothing for two windows, then the watermark passes them: the
         * first empty window is a drop. */
        sg_rules_country_advance(&conf, &b, NULL, T0 + 16 * W, emit, NULL);
        cr_assert_geq(nemitted, 1);
        cr_assert(strstr(emitted.evidence, "\"drop\""), "%s", emitted.evidence);
        cr_assert_eq(b.next_start_us, T0 + 16 * W);
        cr_assert_str_empty(emitted.first_event_id);
}

Test(rules, flag_id_is_deterministic)
{
        char a[37], b[37], c[37];

        sg_flag_id(SG_RULE_MULTI_COUNTRY, SG_SUBJECT_USER, U1, T0, NULL, a);
        sg_flag_id(SG_RULE_MULTI_COUNTRY, SG_SUBJECT_USER, U1, T0, NULL, b);
        sg_flag_id(SG_RULE_MULTI_COUNTRY, SG_SUBJECT_USER, U1, T0 + 1, NULL, c);
        cr_assert_str_eq(a, b);
        cr_assert_str_neq(a, c);
        cr_assert_eq(a[14], '8'); /* version 8 */
}

/* A stand-in for compliance_flags: flag_store.c's upsert, in memory. */
typedef struct db_flag {
        char id[37];
        long long count;
        int sev;
        char last[37];
        double observed;
        char evidence[SG_FLAG_EVIDENCE_MAX];
} db_flag_t;

typedef struct db {
        db_flag_t v[256];
        int n;
} db_t;

static void db_upsert(db_t *db, const sg_flag_t *f, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                db_flag_t *d = NULL;
                for (int j = 0; j < db->n && !d; j++)
                        if (strcmp(db->v[j].id, f[i].flag_id) == 0)
                                d = &db->v[j];
                if (!d) {
                        cr_assert_lt(db->n, 256);
                        d = &db->v[db->n++];
                        memset(d, 0, sizeof(*d));
                        strcpy(d->id, f[i].flag_id);
                        d->observed = f[i].observed;
                        strcpy(d->evidence, f[i].evidence);
                        d->sev = (int)f[i].severity;
                } else if (f[i].observed > d->observed) {
                        d->observed = f[i].observed;
                        strcpy(d->evidence, f[i].evidence);
                }
                if ((int)f[i].severity > d->sev)
                        d->sev = (int)f[i].severity;
                d->count += f[i].event_count;
                if (f[i].last_event_id[0])
                        strcpy(d->last, f[i].last_event_id);
        }
}

#define MIX 60

/* A fixed mix of events for two users over two UTC days: countries (EU
 * ones without consent now and then), purchases, all rules' fodder. */
static void mix_events(sg_event_t *evs)
{
        const char *c[] = {"US", "DE", "JP", "FR", "MX"};

        seq = 0; /* the same event ids in every run */
        for (int i = 0; i < MIX; i++) {
                /* Starts 20 min before midnight; 30 s apart, with one
                 * step back in time (within the lateness). */
                long long ts = T0 - 1200 * S + i * 30 * S - (i == 41 ? 50 * S : 0);
                evs[i] = ev_at(i % 2 ? U1 : U2, ts, c[i % 5]);
                evs[i].has_consent = i % 3 != 0;
                if (i % 7 == 0) {
                        evs[i].type = SG_EV_PURCHASE;
                        evs[i].amount_cents = 70000 + i;
                }
                if (i % 11 == 0)
                        evs[i].do_not_track = true;
        }
}

/* The stream: split mode, a commit every k events (raised and escalated
 * flags written), a snapshot every snap commits (extensions written,
 * state dumped), and a crash after the events in crash[] (the state is
 * restored from the last snapshot and the events since it replayed). */
static void run_stream(int k, int snap, const int *crash, int ncrash, db_t *db)
{
        sg_event_t evs[MIX];
        sg_rules_t *x = sg_rules_new(&conf);
        sg_buf_t dump;
        int snap_at = 0, commits = 0, c = 0;

        sg_buf_init(&dump);
        /* The empty state at 0, as sg-compliance stores it before a
         * partition's first snapshot: the same bytes as the dump of a
         * partition never fed. */
        sg_rules_empty_dump(&dump);
        {
                sg_buf_t fresh;
                sg_buf_init(&fresh);
                sg_rules_part_dump(x, 0, &fresh);
                cr_assert_eq(fresh.len, dump.len);
                cr_assert(memcmp(fresh.data, dump.data, dump.len) == 0);
                sg_buf_fini(&fresh);
        }
        mix_events(evs);
        sg_rules_set_split(x, true);
        for (int i = 0; i < MIX; i++) {
                size_t n;
                const sg_flag_t *f;
                sg_rules_eval(x, 0, i, &evs[i], -1, NULL);
                if ((i + 1) % k && i + 1 < MIX)
                        continue;
                if (c < ncrash && i >= crash[c]) {
                        /* The batch never committed: back to the snapshot,
                         * replay what was committed since, redo the batch. */
                        int from = i + 1 - ((i + 1) % k ? (i + 1) % k : k);
                        c++;
                        sg_rules_destroy(x);
                        x = sg_rules_new(&conf);
                        sg_rules_set_split(x, true);
                        cr_assert_eq(sg_rules_part_restore(x, 0, dump.data,
                                                           dump.len),
                                     0);
                        sg_rules_set_replay(x, true);
                        for (int j = snap_at; j < from; j++)
                                sg_rules_eval(x, 0, j, &evs[j], -1, NULL);
                        sg_rules_set_replay(x, false);
                        for (int j = from; j <= i; j++)
                                sg_rules_eval(x, 0, j, &evs[j], -1, NULL);
                }
                f = sg_rules_flags(x, &n);
                db_upsert(db, f, n);
                sg_rules_batch_reset(x);
                if (++commits % snap == 0 || i + 1 == MIX) {
                        f = sg_rules_pending(x, 0, &n);
                        db_upsert(db, f, n);
                        sg_rules_pending_clear(x, 0);
                        sg_buf_reset(&dump);
                        (void)sg_rules_prune(x, 0);
                        sg_rules_part_dump(x, 0, &dump);
                        snap_at = i + 1;
                }
        }
        sg_buf_fini(&dump);
        sg_rules_destroy(x);
}

static void db_check_equal(const db_t *a, const db_t *b)
{
        cr_assert_eq(a->n, b->n, "flags: %d vs %d", a->n, b->n);
        for (int i = 0; i < a->n; i++) {
                const db_flag_t *d = NULL;
                for (int j = 0; j < b->n && !d; j++)
                        if (strcmp(a->v[i].id, b->v[j].id) == 0)
                                d = &b->v[j];
                cr_assert_not_null(d, "flag %s missing", a->v[i].id);
                cr_assert_eq(a->v[i].count, d->count, "%s count", d->id);
                cr_assert_eq(a->v[i].sev, d->sev, "%s severity", d->id);
                cr_assert_str_eq(a->v[i].last, d->last, "%s last", d->id);
                cr_assert_float_eq(a->v[i].observed, d->observed, 1e-9);
                cr_assert_str_eq(a->v[i].evidence, d->evidence, "%s", d->id);
        }
}

Test(rules, snapshots_replays_and_batches_change_nothing)
{
        static db_t whole, db;
        static const int crash_a[] = {10, 31, 50};
        static const int crash_b[] = {4, 5, 58};
        sg_event_t evs[MIX];
        size_t n;
        unsigned rules_seen = 0;

        /* The reference: everything in one merged batch. */
        r = r ? r : sg_rules_new(&conf);
        mix_events(evs);
        for (int i = 0; i < MIX; i++)
                sg_rules_eval(r, 0, i, &evs[i], -1, NULL);
        const sg_flag_t *f = sg_rules_flags(r, &n);
        db_upsert(&whole, f, n);
        for (size_t i = 0; i < n; i++)
                rules_seen |= 1u << f[i].rule;
        /* The mix exercises the rules the split concerns. */
        cr_assert(rules_seen & (1u << SG_RULE_EU_NO_CONSENT));
        cr_assert(rules_seen & (1u << SG_RULE_DO_NOT_TRACK));
        cr_assert(rules_seen & (1u << SG_RULE_MULTI_COUNTRY));
        cr_assert(rules_seen & (1u << SG_RULE_HIGH_FREQUENCY));
        cr_assert(rules_seen & (1u << SG_RULE_LARGE_PURCHASE));
        cr_assert(rules_seen & (1u << SG_RULE_REPEAT_OFFENDER));
        for (int i = 0; i < whole.n; i++)
                if (whole.v[i].sev == SG_SEV_HIGH &&
                    strstr(whole.v[i].evidence, "countries"))
                        goto escalated;
        cr_assert_fail("no multi_country flag escalated to high");
escalated:
        for (int k = 1; k <= 7; k += 2)
                for (int snap = 1; snap <= 4; snap++) {
                        memset(&db, 0, sizeof(db));
                        run_stream(k, snap, NULL, 0, &db);
                        db_check_equal(&whole, &db);
                        memset(&db, 0, sizeof(db));
                        run_stream(k, snap, crash_a, 3, &db);
                        db_check_equal(&whole, &db);
                        memset(&db, 0, sizeof(db));
                        run_stream(k, snap, crash_b, 3, &db);
                        db_check_equal(&whole, &db);
                }
}

Test(rules, split_mode_reports_raises_and_extensions_apart)
{
        sg_rules_set_split(r, true);
        for (int i = 0; i < 3; i++) {
                sg_event_t ev = ev_at(U1, T0 + i * S, "DE");
                ev.has_consent = false;
                eval(&ev);
        }
        size_t n, np;
        const sg_flag_t *f = sg_rules_flags(r, &n);
        const sg_flag_t *p = sg_rules_pending(r, 0, &np);
        cr_assert_eq(n, 1);
        cr_assert_eq(f[0].change, SG_FLAG_RAISED);
        cr_assert_eq(f[0].event_count, 1);
        cr_assert_eq(np, 1);
        cr_assert_str_eq(p[0].flag_id, f[0].flag_id);
        cr_assert_eq(p[0].event_count, 2);
        cr_assert_eq(sg_rules_extensions(r), 2);
        /* The next batch: the day's flag is known, only an extension. */
        sg_rules_batch_reset(r);
        sg_event_t ev = ev_at(U1, T0 + 10 * S, "FR");
        ev.has_consent = false;
        eval(&ev);
        sg_rules_flags(r, &n);
        cr_assert_eq(n, 0);
        sg_rules_pending(r, 0, &np);
        cr_assert_eq(np, 1);
}
