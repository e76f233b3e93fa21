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

/* Evaluates a fixed mix for two users, optionally persisting and reloading
 * the state every k events; returns the flags as text. */
static void run_mix(int k, char *out, size_t size)
{
        sg_rules_t *x = sg_rules_new(&conf);
        sg_buf_t state;
        const char *c[] = {"US", "BR", "JP", "CA", "MX"};
        size_t used = 0;

        sg_buf_init(&state);
        out[0] = '\0';
        seq = 0; /* the same event ids in every run */
        for (int i = 0; i < 40; i++) {
                sg_event_t ev = ev_at(i % 2 ? U1 : U2, T0 + i * 30 * S, c[i % 5]);
                if (i % 7 == 0) {
                        ev.type = SG_EV_PURCHASE;
                        ev.amount_cents = 70000;
                }
                sg_rules_eval(x, 0, i, &ev, -1, NULL);
                if (k && (i + 1) % k == 0) {
                        /* A commit: flags out, state dumped, engine
                         * restarted from the dump. */
                        size_t n, it = 0;
                        const sg_flag_t *f = sg_rules_flags(x, &n);
                        int32_t part;
                        const char *user;
                        long long max_ts;
                        sg_rules_t *y = sg_rules_new(&conf);
                        for (size_t j = 0; j < n; j++)
                                used += (size_t)snprintf(out + used, size - used,
                                                         "%s:%lld\n", f[j].flag_id,
                                                         f[j].event_count);
                        sg_rules_part_load(y, 0, sg_rules_part_max(x, 0));
                        /* every user, not only the dirty ones, is stored */
                        while (sg_rules_dirty_next(x, &it, &part, &user,
                                                   &max_ts, &state))
                                cr_assert_eq(sg_rules_user_load(y, part, user,
                                                                state.data,
                                                                state.len),
                                             0);
                        sg_rules_destroy(x);
                        x = y;
                }
        }
        size_t n;
        const sg_flag_t *f = sg_rules_flags(x, &n);
        for (size_t j = 0; j < n; j++)
                used += (size_t)snprintf(out + used, size - used, "%s:%lld\n",
                                         f[j].flag_id, f[j].event_count);
        sg_buf_fini(&state);
        sg_rules_destroy(x);
}

/* Sums event counts per flag id, so that per-batch lists compare. */
static long long total_for(const char *text, const char *id)
{
        long long sum = 0;
        const char *p = text;

        while ((p = strstr(p, id)) != NULL) {
                sum += atoll(p + 37);
                p += 37;
        }
        return sum;
}

Test(rules, restarts_from_the_stored_state_change_nothing)
{
        static char one[65536], split[65536];

        run_mix(0, one, sizeof(one));
        run_mix(3, split, sizeof(split));
        cr_assert_neq(strlen(one), 0);
        for (const char *p = one; *p; p = strchr(p, '\n') + 1) {
                char id[37];
                memcpy(id, p, 36);
                id[36] = '\0';
                cr_assert_eq(total_for(split, id), total_for(one, id), "%s", id);
        }
        for (const char *p = split; *p; p = strchr(p, '\n') + 1) {
                char id[37];
                memcpy(id, p, 36);
                id[36] = '\0';
                cr_assert_neq(total_for(one, id), 0, "extra flag %s", id);
        }
}
