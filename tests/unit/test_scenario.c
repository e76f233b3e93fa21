#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "seed_words.h"
#include "sg_event.h"
#include "sg_time.h"

#define NUSERS 3000
#define MIN_US 60000000LL
#define SEC_US 1000000LL
#define T_2026_11_28 1795824000000000LL /* 2026-11-28T00:00:00Z */
#define T_2027_01_01 1798761600000000LL /* 2027-01-01T00:00:00Z */
/* 2026-12-31T22:15Z: the 3 hours cross midnight at minute 105. */
#define T_CROSS (T_2027_01_01 - 105 * MIN_US)

static sg_gen_user_t users[NUSERS];

static int user_cmp(const void *a, const void *b)
{
        return strcmp(((const sg_gen_user_t *)a)->user_id,
                      ((const sg_gen_user_t *)b)->user_id);
}

/* sg-seed-users' users, ordered by user_id as sg-generate reads them. */
static void setup(void)
{
        sg_seed_user_t u;

        for (size_t i = 0; i < NUSERS; i++) {
                sg_seed_user_make(42, i, &u);
                memcpy(users[i].user_id, u.user_id, 37);
                snprintf(users[i].country, sizeof(users[i].country), "%s",
                         u.country);
        }
        qsort(users, NUSERS, sizeof(users[0]), user_cmp);
}

TestSuite(scenario, .init = setup);

static void build(sg_scenario_t *sc, uint64_t seed, long long start,
                  const char *erased, long long erased_at)
{
        sg_scenario_conf_t conf = {.seed = seed,
                                   .start_us = start,
                                   .users = users,
                                   .nusers = NUSERS,
                                   .erased_user = erased,
                                   .erased_at_us = erased_at};
        char err[1024] = "";

        cr_assert_eq(sg_scenario_init(sc, &conf, err, sizeof(err)), 0, "%s",
                     err);
}

static void build_checked(sg_scenario_t *sc, uint64_t seed, long long start,
                          const char *erased, long long erased_at)
{
        char err[1024] = "";

        build(sc, seed, start, erased, erased_at);
        cr_assert_eq(sg_scenario_check(sc, err, sizeof(err)), 0,
                     "seed %llu start %lld: %s", (unsigned long long)seed,
                     start, err);
}

static size_t count_rule(const sg_scenario_t *sc, const char *rule)
{
        size_t n = 0;

        for (size_t i = 0; i < sc->nflags; i++)
                n += strcmp(sc->flags[i].rule, rule) == 0;
        return n;
}

static bool has_flag(const sg_scenario_t *sc, const char *rule,
                     const char *id, long long ws)
{
        for (size_t i = 0; i < sc->nflags; i++)
                if (strcmp(sc->flags[i].rule, rule) == 0 &&
                    strcmp(sc->flags[i].subject_id, id) == 0 &&
                    sc->flags[i].window_start_us == ws)
                        return true;
        return false;
}

/* The events of one role, parsed, grouped by user (users in the order
 * of their first event). Returns the number of users; ev[u][0..n[u]). */
#define MAXU 32
#define MAXE 32
static int role_events(const sg_scenario_t *sc, const char *role,
                       sg_event_t ev[MAXU][MAXE], int n[MAXU])
{
        int nu = 0;
        char msg[256];

        memset(n, 0, sizeof(int) * MAXU);
        for (size_t i = 0; i < sc->nevents; i++) {
                const sg_scenario_event_t *e = &sc->events[i];
                int u;

                if (strcmp(e->role, role) != 0)
                        continue;
                for (u = 0; u < nu; u++)
                        if (strcmp(ev[u][0].user_id, e->key) == 0)
                                break;
                if (u == nu)
                        nu++;
                cr_assert_lt(u, MAXU);
                cr_assert_lt(n[u], MAXE);
                cr_assert_eq(sg_event_parse(e->json, e->len, &ev[u][n[u]], msg,
                                            sizeof(msg)),
                             SG_REASON_OK);
                sg_event_fini(&ev[u][n[u]]); /* no metadata kept */
                n[u]++;
        }
        return nu;
}

Test(scenario, deterministic)
{
        sg_scenario_t a, b, c;
        char *ta, *tb, *tc;

        build(&a, 7, T_2026_11_28, NULL, 0);
        build(&b, 7, T_2026_11_28, NULL, 0);
        build(&c, 8, T_2026_11_28, NULL, 0);
        cr_assert_eq(a.nevents, b.nevents);
        for (size_t i = 0; i < a.nevents; i++) {
                cr_assert_eq(a.events[i].len, b.events[i].len);
                cr_assert_eq(memcmp(a.events[i].json, b.events[i].json,
                                    a.events[i].len),
                             0);
                cr_assert_str_eq(a.events[i].key, b.events[i].key);
                cr_assert_eq(a.events[i].ts_us, b.events[i].ts_us);
        }
        ta = sg_scenario_truth_text(&a, NULL);
        tb = sg_scenario_truth_text(&b, NULL);
        tc = sg_scenario_truth_text(&c, NULL);
        cr_assert_str_eq(ta, tb);
        /* Another seed: other users, other times. */
        cr_assert_str_neq(ta, tc);
        cr_assert(a.nevents != c.nevents ||
                  strcmp(a.events[0].json, c.events[0].json) != 0);
        free(ta);
        free(tb);
        free(tc);
        sg_scenario_fini(&a);
        sg_scenario_fini(&b);
        sg_scenario_fini(&c);
}

Test(scenario, self_check_passes)
{
        static const uint64_t seeds[] = {1, 2, 42, 1234, 987654321};
        static const long long starts[] = {
            T_2026_11_28, T_CROSS,
            1907241900000000LL, /* 2030-06-09T13:25:00Z */
            946684800000000LL,  /* 2000-01-01T00:00:00Z */
        };

        for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
                for (size_t t = 0; t < sizeof(starts) / sizeof(starts[0]);
                     t++) {
                        sg_scenario_t sc;

                        build_checked(&sc, seeds[s], starts[t], NULL, 0);
                        cr_assert_gt(sc.nevents, 5000);
                        cr_assert_eq(sc.nbackground, 540);
                        cr_assert_gt(count_rule(&sc, "traffic_anomaly"), 0);
                        sg_scenario_fini(&sc);
                }
        }
}

Test(scenario, self_check_with_an_erased_user)
{
        static const long long at[] = {
            0, 90 * MIN_US, 179 * MIN_US + 59 * SEC_US,
            /* after the timeline: window 35 closes too */
            184 * MIN_US, 186 * MIN_US - 3 * SEC_US - 1};
        const char *erased = users[17].user_id;

        for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
                sg_scenario_t sc;

                build_checked(&sc, 3, T_2026_11_28, erased,
                              T_2026_11_28 + at[i]);
                cr_assert_eq(count_rule(&sc, "erased_user_activity"), 1);
                cr_assert(has_flag(&sc, "erased_user_activity", erased,
                                   T_2026_11_28));
                /* The erased user has no other role. */
                for (size_t j = 0; j < sc.nevents; j++)
                        if (strcmp(sc.events[j].key, erased) == 0)
                                cr_assert_str_eq(sc.events[j].role,
                                                 "erased_user_activity");
                sg_scenario_fini(&sc);
        }
}

Test(scenario, erased_user_not_in_the_list)
{
        sg_scenario_t sc;
        const char *id = "0d6f1c2e-0000-4000-8000-00000000abcd";

        build_checked(&sc, 5, T_2026_11_28, id, T_2026_11_28 + 100 * MIN_US);
        cr_assert(has_flag(&sc, "erased_user_activity", id, T_2026_11_28));
        sg_scenario_fini(&sc);
}

Test(scenario, erased_events_follow_the_erasure)
{
        sg_scenario_t sc;
        sg_event_t ev[MAXU][MAXE];
        int n[MAXU];
        long long at = T_2026_11_28 + 77 * MIN_US + 123456;

        build_checked(&sc, 1, T_2026_11_28, users[3].user_id, at);
        cr_assert_eq(role_events(&sc, "erased_user_activity", ev, n), 1);
        cr_assert_eq(n[0], 3);
        for (int i = 0; i < 3; i++)
                cr_assert_eq(ev[0][i].ts_us, at + (i + 1) * SEC_US);
        sg_scenario_fini(&sc);
}

Test(scenario, every_rule_in_the_truth)
{
        static const char *const rules[] = {
            "eu_no_consent",   "do_not_track",       "multi_country",
            "multi_network",   "high_frequency",     "large_purchase",
            "purchase_burst",  "repeat_offender",    "content_error_rate",
            "traffic_anomaly"};
        sg_scenario_t sc;

        build_checked(&sc, 1, T_2026_11_28, NULL, 0);
        for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
                cr_assert_gt(count_rule(&sc, rules[i]), 0, "%s", rules[i]);
        cr_assert_eq(count_rule(&sc, "erased_user_activity"), 0);
        /* The exact counts the layout promises. */
        cr_assert_eq(count_rule(&sc, "eu_no_consent"), 2);
        cr_assert_eq(count_rule(&sc, "do_not_track"), 2);
        cr_assert_eq(count_rule(&sc, "multi_country"), 2);
        cr_assert_eq(count_rule(&sc, "multi_network"), 1);
        cr_assert_eq(count_rule(&sc, "high_frequency"), 2);
        cr_assert_eq(count_rule(&sc, "large_purchase"), 6);
        cr_assert_eq(count_rule(&sc, "purchase_burst"), 2);
        cr_assert_eq(count_rule(&sc, "repeat_offender"), 1);
        cr_assert_eq(count_rule(&sc, "content_error_rate"), 1);
        cr_assert_eq(count_rule(&sc, "traffic_anomaly"), 1);
        cr_assert_eq(sc.nflags, 20);
        cr_assert(has_flag(&sc, "content_error_rate", "c_000900",
                           T_2026_11_28 + 90 * MIN_US));
        sg_scenario_fini(&sc);
}

Test(scenario, truth_text_sorted)
{
        sg_scenario_t sc;
        char *text, *line, *save = NULL, prev[256] = "";
        size_t len, rows = 0, comments = 0;

        build_checked(&sc, 1, T_2026_11_28, users[9].user_id,
                      T_2026_11_28 + 30 * MIN_US);
        text = sg_scenario_truth_text(&sc, &len);
        cr_assert_eq(strlen(text), len);
        cr_assert_eq(text[len - 1], '\n');
        cr_assert(strstr(text, "# seed 1\n") != NULL);
        cr_assert(strstr(text, "2026-11-28T00:00:00.000000Z") != NULL);
        for (line = strtok_r(text, "\n", &save); line;
             line = strtok_r(NULL, "\n", &save)) {
                char rule[64], type[16], id[64], ws[64];
                long long us;

                if (line[0] == '#') {
                        cr_assert_eq(rows, 0, "comments come first");
                        comments++;
                        continue;
                }
                cr_assert_eq(sscanf(line, "%63[^\t]\t%15[^\t]\t%63[^\t]\t%63s",
                                    rule, type, id, ws),
                             4, "%s", line);
                cr_assert_eq(strlen(ws), 27);
                cr_assert_eq(sg_event_parse_timestamp(ws, &us), 0);
                cr_assert_eq(us % SEC_US == 0 || strcmp(type, "user") == 0,
                             true);
                cr_assert_lt(strcmp(prev, line), 0, "%s after %s", line,
                             prev);
                snprintf(prev, sizeof(prev), "%s", line);
                rows++;
        }
        cr_assert_geq(comments, 3);
        cr_assert_eq(rows, sc.nflags);
        cr_assert_eq(rows, 21);
        free(text);
        sg_scenario_fini(&sc);
}

Test(scenario, events_valid_and_in_order)
{
        sg_scenario_t sc;
        char msg[256];

        build_checked(&sc, 42, T_CROSS, users[100].user_id,
                      T_CROSS + 170 * MIN_US);
        for (size_t i = 0; i < sc.nevents; i++) {
                const sg_scenario_event_t *e = &sc.events[i];
                sg_event_t ev;

                cr_assert_eq(sg_event_parse(e->json, e->len, &ev, msg,
                                            sizeof(msg)),
                             SG_REASON_OK, "event %zu: %s", i, msg);
                cr_assert_str_eq(ev.user_id, e->key);
                cr_assert_str_eq(ev.event_id, e->event_id);
                cr_assert_eq(ev.ts_us, e->ts_us);
                cr_assert_eq(strlen(e->json), e->len);
                /* No e-mail, not even in metadata. */
                cr_assert_null(strchr(e->json, '@'));
                if (i > 0)
                        cr_assert_geq(e->ts_us, sc.events[i - 1].ts_us);
                cr_assert_geq(e->ts_us, T_CROSS);
                sg_event_fini(&ev);
        }
        cr_assert_eq(sc.max_ts_us, sc.events[sc.nevents - 1].ts_us);
        sg_scenario_fini(&sc);
}

Test(scenario, crossing_midnight_gives_both_days)
{
        sg_scenario_t sc;
        size_t day1 = 0, day2 = 0;
        bool same_user_both = false;

        /* The erased user's 3 events straddle midnight too. */
        build_checked(&sc, 1, T_CROSS, users[11].user_id,
                      T_2027_01_01 - 1500000);
        for (size_t i = 0; i < sc.nflags; i++) {
                const sg_scenario_flag_t *f = &sc.flags[i];
                if (strcmp(f->rule, "eu_no_consent") != 0 &&
                    strcmp(f->rule, "do_not_track") != 0 &&
                    strcmp(f->rule, "erased_user_activity") != 0)
                        continue;
                cr_assert(f->window_start_us == T_2027_01_01 ||
                          f->window_start_us ==
                              T_2027_01_01 - SG_TIME_US_PER_DAY);
                if (f->window_start_us == T_2027_01_01)
                        day2++;
                else
                        day1++;
                for (size_t j = 0; j < sc.nflags; j++)
                        if (j != i && strcmp(sc.flags[j].rule, f->rule) == 0 &&
                            strcmp(sc.flags[j].subject_id, f->subject_id) ==
                                0)
                                same_user_both = true;
        }
        cr_assert_gt(day1, 0);
        cr_assert_gt(day2, 0);
        cr_assert(same_user_both, "one user's day rule on both days");
        cr_assert(has_flag(&sc, "erased_user_activity", users[11].user_id,
                           T_2027_01_01));
        cr_assert(has_flag(&sc, "erased_user_activity", users[11].user_id,
                           T_2027_01_01 - SG_TIME_US_PER_DAY));
        sg_scenario_fini(&sc);
}

/* The span of the purchases of a user, first to last. */
static long long purchase_span(const sg_event_t *ev, int n, int *count)
{
        long long first = 0, last = 0;

        *count = 0;
        for (int i = 0; i < n; i++) {
                if (ev[i].type != SG_EV_PURCHASE)
                        continue;
                if ((*count)++ == 0)
                        first = ev[i].ts_us;
                last = ev[i].ts_us;
        }
        return last - first;
}

Test(scenario, boundary_controls)
{
        sg_scenario_t sc;
        static sg_event_t ev[MAXU][MAXE];
        int n[MAXU], nu, np;
        bool burst_10s = false, hf_1h = false;

        build_checked(&sc, 1, T_2026_11_28, NULL, 0);

        /* purchase_burst: 6 purchases over exactly 10 s fire, over
         * 10 s + 1 us do not. */
        nu = role_events(&sc, "purchase_burst", ev, n);
        cr_assert_eq(nu, 2);
        for (int u = 0; u < nu; u++) {
                long long span = purchase_span(ev[u], n[u], &np);
                cr_assert_eq(np, 6);
                cr_assert_leq(span, 10 * SEC_US);
                burst_10s |= span == 10 * SEC_US;
                cr_assert_eq(count_rule(&sc, "purchase_burst"), 2);
        }
        cr_assert(burst_10s);
        nu = role_events(&sc, "control:purchase_burst", ev, n);
        cr_assert_eq(nu, 1);
        cr_assert_eq(purchase_span(ev[0], n[0], &np), 10 * SEC_US + 1);
        cr_assert_eq(np, 6);
        for (size_t i = 0; i < sc.nflags; i++)
                cr_assert_str_neq(sc.flags[i].subject_id, ev[0][0].user_id);

        /* large_purchase: exactly 500.00 raises nothing. */
        nu = role_events(&sc, "control:large_purchase", ev, n);
        cr_assert_eq(nu, 1);
        cr_assert_eq(purchase_span(ev[0], n[0], &np), 0);
        cr_assert_eq(np, 1);
        cr_assert_eq(ev[0][n[0] - 1].amount_cents, 50000);
        cr_assert_eq(count_rule(&sc, "large_purchase"), 6);

        /* high_frequency: 11 in exactly 1 h fires; 10 in an hour, or 11
         * over 1 h + 1 us, do not. */
        nu = role_events(&sc, "high_frequency", ev, n);
        cr_assert_eq(nu, 2);
        for (int u = 0; u < nu; u++) {
                long long span = ev[u][n[u] - 1].ts_us - ev[u][0].ts_us;
                cr_assert_eq(n[u], 11);
                cr_assert_leq(span, 60 * MIN_US);
                hf_1h |= span == 60 * MIN_US;
                cr_assert(has_flag(&sc, "high_frequency", ev[u][0].user_id,
                                   ev[u][0].ts_us));
        }
        cr_assert(hf_1h);
        nu = role_events(&sc, "control:high_frequency", ev, n);
        cr_assert_eq(nu, 2);
        cr_assert_eq(n[0] + n[1], 21);
        for (int u = 0; u < nu; u++) {
                long long span = ev[u][n[u] - 1].ts_us - ev[u][0].ts_us;
                if (n[u] == 10)
                        cr_assert_leq(span, 60 * MIN_US);
                else
                        cr_assert_eq(span, 60 * MIN_US + 1);
        }

        /* multi_network control: 3 prefixes; multi_country control: 2
         * countries. Neither has any flag. */
        cr_assert_eq(role_events(&sc, "control:multi_network", ev, n), 1);
        cr_assert_eq(n[0], 4);
        cr_assert_eq(role_events(&sc, "control:multi_country", ev, n), 1);
        for (size_t i = 0; i < sc.nflags; i++)
                cr_assert_str_neq(sc.flags[i].subject_id, ev[0][0].user_id);

        /* content_error_rate controls: 4 of 20 (0.20), 10 of 19. */
        cr_assert_eq(role_events(&sc, "control:content_error_rate", ev, n),
                     8);
        sg_scenario_fini(&sc);
}

Test(scenario, repeat_offender_and_periods)
{
        sg_scenario_t sc;
        static sg_event_t ev[MAXU][MAXE];
        int n[MAXU], np = 0;
        long long first = 0;

        build_checked(&sc, 2, T_2026_11_28, NULL, 0);
        cr_assert_eq(role_events(&sc, "repeat_offender", ev, n), 1);
        for (int i = 0; i < n[0]; i++) {
                if (ev[0][i].type != SG_EV_PURCHASE)
                        continue;
                if (np++ == 0)
                        first = ev[0][i].ts_us;
                cr_assert_eq(ev[0][i].amount_cents, 60000);
                cr_assert(has_flag(&sc, "large_purchase", ev[0][i].user_id,
                                   ev[0][i].ts_us));
        }
        cr_assert_eq(np, 4);
        cr_assert(has_flag(&sc, "repeat_offender", ev[0][0].user_id, first));
        /* multi_country's period starts at the window's first event. */
        cr_assert_eq(role_events(&sc, "multi_country", ev, n), 2);
        cr_assert_eq(n[0], 4);
        cr_assert_eq(n[1], 3);
        for (int u = 0; u < 2; u++)
                cr_assert(has_flag(&sc, "multi_country", ev[u][0].user_id,
                                   ev[u][0].ts_us));
        sg_scenario_fini(&sc);
}

Test(scenario, traffic_levels)
{
        sg_scenario_t sc;
        int cnt[3][SG_SCENARIO_WINDOWS + 1];
        const char *anomaly = NULL;

        build_checked(&sc, 1, T_2026_11_28, NULL, 0);
        memset(cnt, 0, sizeof(cnt));
        for (size_t i = 0; i < sc.nevents; i++) {
                const char *c = strstr(sc.events[i].json, "\"country\":\"");
                long long k = (sc.events[i].ts_us - sc.start_us) /
                              SG_SCENARIO_WINDOW_US;
                cr_assert_not_null(c);
                for (int p = 0; p < 3; p++) {
                        size_t l = strlen(sc.countries[p]);
                        if (strncmp(c + 11, sc.countries[p], l) == 0 &&
                            c[11 + l] == '"')
                                cnt[p][k]++;
                }
        }
        for (size_t i = 0; i < sc.nflags; i++)
                if (strcmp(sc.flags[i].rule, "traffic_anomaly") == 0)
                        anomaly = sc.flags[i].subject_id;
        cr_assert_not_null(anomaly);
        for (int p = 0; p < 3; p++) {
                int level = sc.levels[p];

                /* Enough users: the full level. */
                cr_assert_geq(level, 58);
                cr_assert_leq(level, 66);
                for (int k = 0; k < SG_SCENARIO_WINDOWS; k++) {
                        if (strcmp(sc.countries[p], anomaly) == 0 && k == 20) {
                                /* About 3 times the level. */
                                cr_assert_geq(cnt[p][k], 2 * level + 45);
                                continue;
                        }
                        /* The level, +-22%. */
                        cr_assert_geq(cnt[p][k] * 100, level * 77, "%s %d",
                                      sc.countries[p], k);
                        cr_assert_leq(cnt[p][k] * 100, level * 123, "%s %d",
                                      sc.countries[p], k);
                }
        }
        sg_scenario_fini(&sc);
}

/* The integration test's users: sg-seed-users --users 1000 --seed 42
 * (the first 1000 here). The level follows the users; the rest holds. */
Test(scenario, thousand_users)
{
        static const uint64_t seeds[] = {1, 11, 77};

        for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
                sg_seed_user_t su;
                static sg_gen_user_t few[1000];
                sg_scenario_conf_t conf = {.seed = seeds[s],
                                           .start_us = T_2026_11_28,
                                           .users = few,
                                           .nusers = 1000,
                                           .erased_user = NULL,
                                           .erased_at_us = 0};
                sg_scenario_t sc;
                char err[1024] = "";

                for (size_t i = 0; i < 1000; i++) {
                        sg_seed_user_make(42, i, &su);
                        memcpy(few[i].user_id, su.user_id, 37);
                        snprintf(few[i].country, sizeof(few[i].country), "%s",
                                 su.country);
                }
                qsort(few, 1000, sizeof(few[0]), user_cmp);
                conf.erased_user = few[7].user_id;
                conf.erased_at_us = T_2026_11_28 + 178 * MIN_US;
                cr_assert_eq(sg_scenario_init(&sc, &conf, err, sizeof(err)), 0,
                             "%s", err);
                cr_assert_eq(sg_scenario_check(&sc, err, sizeof(err)), 0,
                             "seed %llu: %s", (unsigned long long)seeds[s],
                             err);
                cr_assert_eq(sc.nflags, 21);
                cr_assert_geq(sc.nbackground, 200);
                for (int p = 0; p < 3; p++)
                        cr_assert_geq(sc.levels[p], 25);
                sg_scenario_fini(&sc);
        }
}

Test(scenario, self_check_catches_a_wrong_truth)
{
        sg_scenario_t sc;
        char err[1024] = "";
        sg_scenario_flag_t saved;

        build_checked(&sc, 1, T_2026_11_28, NULL, 0);
        /* One flag left out. */
        sc.nflags--;
        cr_assert_eq(sg_scenario_check(&sc, err, sizeof(err)), -1);
        cr_assert(strstr(err, "not declared") != NULL, "%s", err);
        sc.nflags++;
        /* One flag at another time. */
        saved = sc.flags[0];
        sc.flags[0].window_start_us -= SEC_US;
        cr_assert_eq(sg_scenario_check(&sc, err, sizeof(err)), -1);
        sc.flags[0] = saved;
        cr_assert_eq(sg_scenario_check(&sc, err, sizeof(err)), 0, "%s", err);
        sg_scenario_fini(&sc);
}

Test(scenario, bad_configurations)
{
        sg_scenario_t sc;
        sg_scenario_conf_t conf = {.seed = 1,
                                   .start_us = T_2026_11_28 + SEC_US,
                                   .users = users,
                                   .nusers = NUSERS};
        char err[1024] = "";

        cr_assert_eq(sg_scenario_init(&sc, &conf, err, sizeof(err)), -1);
        cr_assert(strstr(err, "5 minutes") != NULL, "%s", err);
        sg_scenario_fini(&sc);

        conf.start_us = T_2026_11_28;
        conf.nusers = 500;
        cr_assert_eq(sg_scenario_init(&sc, &conf, err, sizeof(err)), -1);
        cr_assert(strstr(err, "not enough users") != NULL, "%s", err);
        sg_scenario_fini(&sc);

        conf.nusers = NUSERS;
        conf.erased_user = users[0].user_id;
        conf.erased_at_us = T_2026_11_28 - 1;
        cr_assert_eq(sg_scenario_init(&sc, &conf, err, sizeof(err)), -1);
        cr_assert(strstr(err, "erasure time") != NULL, "%s", err);
        sg_scenario_fini(&sc);
        conf.erased_at_us = T_2026_11_28 + 186 * MIN_US - 3 * SEC_US;
        cr_assert_eq(sg_scenario_init(&sc, &conf, err, sizeof(err)), -1);
        sg_scenario_fini(&sc);
        conf.erased_user = "not-a-uuid";
        conf.erased_at_us = T_2026_11_28;
        cr_assert_eq(sg_scenario_init(&sc, &conf, err, sizeof(err)), -1);
        sg_scenario_fini(&sc);
        sg_scenario_fini(NULL);
}

Test(scenario, default_start)
{
        /* 2026-11-28T10:07:31.5Z: floored to 10:05, minus 3 h. */
        long long now = T_2026_11_28 + 607 * MIN_US + 31500000;

        cr_assert_eq(sg_scenario_default_start(now),
                     T_2026_11_28 + 425 * MIN_US);
        cr_assert_eq(sg_scenario_default_start(T_2026_11_28),
                     T_2026_11_28 - SG_SCENARIO_SPAN_US);
}
