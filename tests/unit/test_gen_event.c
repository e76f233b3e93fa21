#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen_event.h"
#include "seed_words.h"
#include "sg_event.h"
#include "sg_mask.h"

#define NUSERS 300
#define NOW_US 1767225600123456LL /* 2026-01-01T00:00:00.123456Z */

static sg_gen_user_t users[NUSERS];

static void setup(void)
{
        sg_seed_user_t u;

        for (size_t i = 0; i < NUSERS; i++) {
                sg_seed_user_make(42, i, &u);
                memcpy(users[i].user_id, u.user_id, 37);
                snprintf(users[i].country, sizeof(users[i].country), "%s",
                         u.country);
        }
}

TestSuite(gen_event, .init = setup);

static bool has_bytes(const char *buf, size_t len, const char *needle)
{
        size_t n = strlen(needle);

        for (size_t i = 0; i + n <= len; i++)
                if (memcmp(buf + i, needle, n) == 0)
                        return true;
        return false;
}

static const sg_gen_user_t *find_user(const char *id)
{
        for (size_t i = 0; i < NUSERS; i++)
                if (strcmp(users[i].user_id, id) == 0)
                        return &users[i];
        return NULL;
}

/* Builds n messages with conf and checks every verdict against the
 * intended one; returns the counts per reason. */
static void run_and_check(const sg_gen_conf_t *conf, uint64_t n,
                          long long per_reason[SG_REASON__CNT])
{
        static char buf[SG_GEN_EVENT_MAX];
        char key[37], msg[256];
        sg_reason_t intended, got;
        sg_event_t ev;

        memset(per_reason, 0, sizeof(long long) * SG_REASON__CNT);
        for (uint64_t i = 0; i < n; i++) {
                size_t len =
                    sg_gen_event_build(conf, users, NUSERS, i, NOW_US, buf,
                                       sizeof(buf), key, &intended);
                cr_assert(len > 0);
                got = sg_event_parse(buf, len, &ev, msg, sizeof(msg));
                cr_assert_eq(got, intended,
                             "message %llu: intended %s, validator says %s "
                             "(%s): %.*s",
                             (unsigned long long)i, sg_reason_name(intended),
                             sg_reason_name(got), msg,
                             (int)(len > 600 ? 600 : len), buf);
                per_reason[intended]++;
                cr_assert(find_user(key) != NULL, "key is a user id");
                if (got == SG_REASON_OK) {
                        const sg_gen_user_t *u = find_user(ev.user_id);
                        char id[37];
                        cr_assert_str_eq(ev.user_id, key);
                        cr_assert(u != NULL);
                        cr_assert_str_eq(ev.country, u->country);
                        sg_gen_event_id(conf->seed, i, id);
                        cr_assert_str_eq(ev.event_id, id);
                }
                sg_event_fini(&ev);
        }
}

Test(gen_event, valid_events_pass_the_validator)
{
        sg_gen_conf_t conf = {.seed = 7};
        long long per[SG_REASON__CNT];

        run_and_check(&conf, 20000, per);
        cr_assert_eq(per[SG_REASON_OK], 20000);
}

Test(gen_event, invalid_events_break_exactly_their_rule)
{
        const double ratios[] = {0.02, 0.3, 1.0};
        long long per[SG_REASON__CNT];

        for (size_t k = 0; k < sizeof(ratios) / sizeof(ratios[0]); k++) {
                sg_gen_conf_t conf = {.seed = 11 + k,
                                      .invalid_ratio = ratios[k]};
                const uint64_t n = 10000;
                long long invalid = 0;
                long long expect = (long long)floor((double)n * ratios[k]);

                run_and_check(&conf, n, per);
                for (int r = SG_REASON_TOO_LARGE; r < SG_REASON__CNT; r++) {
                        invalid += per[r];
                        cr_assert_eq(per[r], expect / 10,
                                     "ratio %g reason %s: %lld", ratios[k],
                                     sg_reason_name((sg_reason_t)r), per[r]);
                }
                cr_assert_eq(invalid, expect, "ratio %g", ratios[k]);
        }
}

Test(gen_event, invalid_share_is_exact_and_even)
{
        const double ratios[] = {0.0,     0.001, 0.02,  0.1,
                                 1.0 / 3, 0.5,   0.999, 1.0};

        for (size_t k = 0; k < sizeof(ratios) / sizeof(ratios[0]); k++) {
                for (uint64_t n = 1; n <= 5001; n += 500) {
                        uint64_t count = 0, kk, last_gap = 0, prev = 0;
                        for (uint64_t i = 0; i < n; i++) {
                                if (!sg_gen_is_invalid(ratios[k], i, &kk))
                                        continue;
                                cr_assert_eq(kk, count, "rank");
                                if (count > 0 && ratios[k] > 0)
                                        last_gap = i - prev;
                                prev = i;
                                count++;
                        }
                        cr_assert_eq(count,
                                     (uint64_t)floor((double)n * ratios[k]),
                                     "ratio %g n %llu", ratios[k],
                                     (unsigned long long)n);
                        if (count > 1)
                                cr_assert(last_gap <=
                                          (uint64_t)ceil(1 / ratios[k]));
                }
        }
        cr_assert_eq(sg_gen_invalid_reason(0), SG_REASON_TOO_LARGE);
        cr_assert_eq(sg_gen_invalid_reason(9), SG_REASON_INCONSISTENT);
        cr_assert_eq(sg_gen_invalid_reason(10), SG_REASON_TOO_LARGE);
        cr_assert_eq(sg_gen_invalid_reason(17), SG_REASON_INVALID_VALUE);
}

Test(gen_event, deterministic_per_seed_and_index)
{
        static char a[SG_GEN_EVENT_MAX], b[SG_GEN_EVENT_MAX];
        sg_gen_conf_t conf = {.seed = 99, .invalid_ratio = 0.2};
        sg_gen_conf_t other = {.seed = 100, .invalid_ratio = 0.2};
        char ka[37], kb[37];
        sg_reason_t ra, rb;

        for (uint64_t i = 0; i < 2000; i++) {
                size_t la = sg_gen_event_build(&conf, users, NUSERS, i, NOW_US,
                                               a, sizeof(a), ka, &ra);
                size_t lb = sg_gen_event_build(&conf, users, NUSERS, i, NOW_US,
                                               b, sizeof(b), kb, &rb);
                cr_assert_eq(la, lb);
                cr_assert(memcmp(a, b, la) == 0);
                cr_assert_str_eq(ka, kb);
                cr_assert_eq(ra, rb);
                lb = sg_gen_event_build(&other, users, NUSERS, i, NOW_US, b,
                                        sizeof(b), kb, &rb);
                cr_assert(la != lb || memcmp(a, b, la) != 0);
        }
}

Test(gen_event, default_timestamp_is_now)
{
        static char buf[SG_GEN_EVENT_MAX];
        sg_gen_conf_t conf = {.seed = 3};
        char key[37];
        sg_reason_t r;
        sg_event_t ev;
        size_t len;

        for (uint64_t i = 0; i < 50; i++) {
                len = sg_gen_event_build(&conf, users, NUSERS, i, NOW_US, buf,
                                         sizeof(buf), key, &r);
                cr_assert(strstr(buf, "\"event_timestamp\":"
                                      "\"2026-01-01T00:00:00.123456Z\""));
                cr_assert_eq(sg_event_parse(buf, len, &ev, NULL, 0),
                             SG_REASON_OK);
                cr_assert_eq(ev.ts_us, NOW_US);
                sg_event_fini(&ev);
        }
}

Test(gen_event, timestamps_spread_over_the_window)
{
        static char buf[SG_GEN_EVENT_MAX];
        /* 7 days from 2025-03-01T00:00:00Z */
        sg_gen_conf_t conf = {.seed = 5,
                              .ts_start_us = 1740787200000000LL,
                              .ts_span_us = 7 * 86400000000LL};
        long long per_day[7] = {0};
        char key[37];
        sg_reason_t r;
        sg_event_t ev;

        for (uint64_t i = 0; i < 7000; i++) {
                size_t len = sg_gen_event_build(&conf, users, NUSERS, i, 0, buf,
                                                sizeof(buf), key, &r);
                cr_assert_eq(sg_event_parse(buf, len, &ev, NULL, 0),
                             SG_REASON_OK);
                cr_assert(ev.ts_us >= conf.ts_start_us &&
                          ev.ts_us < conf.ts_start_us + conf.ts_span_us);
                per_day[(ev.ts_us - conf.ts_start_us) / 86400000000LL]++;
                sg_event_fini(&ev);
        }
        for (int d = 0; d < 7; d++)
                cr_assert(per_day[d] > 800 && per_day[d] < 1200, "day %d: %lld",
                          d, per_day[d]);
}

Test(gen_event, realistic_mix)
{
        static char buf[SG_GEN_EVENT_MAX];
        const int n = 50000;
        const double want[SG_EV__CNT] = {0.40, 0.12, 0.05, 0.18,
                                         0.08, 0.05, 0.10, 0.02};
        long long types[SG_EV__CNT] = {0};
        long long consent_true = 0, consent_absent = 0, is_eu_present = 0;
        long long notes = 0, v6 = 0, ip = 0, purchases_eur = 0;
        long long dnt_ca = 0, ca = 0;
        sg_gen_conf_t conf = {.seed = 1};
        char key[37];
        sg_reason_t r;
        sg_event_t ev;

        for (int i = 0; i < n; i++) {
                size_t len =
                    sg_gen_event_build(&conf, users, NUSERS, (uint64_t)i,
                                       NOW_US, buf, sizeof(buf), key, &r);
                cr_assert_eq(sg_event_parse(buf, len, &ev, NULL, 0),
                             SG_REASON_OK);
                types[ev.type]++;
                consent_true += ev.has_consent;
                consent_absent += strstr(buf, "\"has_consent\"") == NULL;
                is_eu_present += strstr(buf, "\"is_eu\"") != NULL;
                if (strstr(buf, "\"note\":\"contact ")) {
                        notes++;
                        cr_assert(sg_mask_has_email(buf, len));
                        cr_assert(strstr(ev.metadata, "[redacted]"));
                }
                if (ev.ip[0]) {
                        ip++;
                        v6 += strchr(ev.ip, ':') != NULL;
                }
                if (strcmp(ev.country, "US-CA") == 0) {
                        ca++;
                        dnt_ca += ev.do_not_track;
                }
                if (ev.type == SG_EV_PURCHASE) {
                        cr_assert(ev.amount_cents >= 99 &&
                                  ev.amount_cents <= 50000);
                        if (strncmp(ev.country, "US", 2) == 0)
                                cr_assert_str_eq(ev.currency, "USD");
                        if (strcmp(ev.country, "GB") == 0)
                                cr_assert_str_eq(ev.currency, "GBP");
                        purchases_eur += strcmp(ev.currency, "EUR") == 0;
                } else {
                        cr_assert_eq(ev.amount_cents, 0);
                }
                if (sg_event_type_is_playback(ev.type))
                        cr_assert(strncmp(ev.content_id, "c_000", 5) == 0);
                if (ev.type == SG_EV_STOP)
                        cr_assert(ev.watch_seconds >= 0 &&
                                  ev.watch_seconds <= 7200);
                if (ev.type == SG_EV_PLAYBACK_ERROR)
                        cr_assert(strncmp(ev.error_code, "E_", 2) == 0);
                if (ev.device_id[0])
                        cr_assert(strncmp(ev.device_id, "tv_", 3) == 0 ||
                                  strncmp(ev.device_id, "ios_", 4) == 0 ||
                                  strncmp(ev.device_id, "android_", 8) == 0 ||
                                  strncmp(ev.device_id, "web_", 4) == 0);
                sg_event_fini(&ev);
        }
        for (int t = 0; t < SG_EV__CNT; t++)
                cr_assert(fabs((double)types[t] / n - want[t]) < 0.01,
                          "%s: %lld", sg_event_type_name((sg_event_type_t)t),
                          types[t]);
        cr_assert(fabs((double)consent_true / n - 0.85) < 0.01);
        cr_assert(fabs((double)consent_absent / n - 0.05) < 0.01);
        cr_assert(fabs((double)is_eu_present / n - 0.50) < 0.02);
        cr_assert(notes > n / 200 && notes < n / 50, "notes %lld", notes);
        /* v4 or v6 is drawn per network, and most events come from the
         * user's two: over 300 users the share is looser. */
        cr_assert(fabs((double)v6 / ip - 0.20) < 0.06, "v6 %lld of %lld", v6,
                  ip);
        cr_assert(purchases_eur > 0);
        cr_assert(ca > 0 && fabs((double)dnt_ca / ca - 0.20) < 0.04,
                  "dnt %lld of %lld", dnt_ca, ca);
}

/* A user comes from a home and a mobile network, rarely from elsewhere
 * (the masked prefixes are what multi_network counts). */
Test(gen_event, users_keep_their_networks)
{
        static char buf[SG_GEN_EVENT_MAX];
        static struct {
                char ip[48];
                int n;
        } seen[NUSERS][64];
        const int n = 30000;
        sg_gen_conf_t conf = {.seed = 3};
        long long ip = 0, top2 = 0;
        int two = 0;
        char key[37];
        sg_reason_t r;
        sg_event_t ev;

        memset(seen, 0, sizeof(seen));
        for (int i = 0; i < n; i++) {
                size_t len =
                    sg_gen_event_build(&conf, users, NUSERS, (uint64_t)i,
                                       NOW_US, buf, sizeof(buf), key, &r);
                size_t u = 0;
                int k = 0;
                cr_assert_eq(sg_event_parse(buf, len, &ev, NULL, 0),
                             SG_REASON_OK);
                while (u < NUSERS && strcmp(users[u].user_id, ev.user_id))
                        u++;
                cr_assert_lt(u, NUSERS);
                if (ev.ip[0]) {
                        ip++;
                        while (k < 64 && seen[u][k].n &&
                               strcmp(seen[u][k].ip, ev.ip))
                                k++;
                        cr_assert_lt(k, 64, "user %zu: over 64 networks", u);
                        snprintf(seen[u][k].ip, 48, "%s", ev.ip);
                        seen[u][k].n++;
                }
                sg_event_fini(&ev);
        }
        for (size_t u = 0; u < NUSERS; u++) {
                int a = 0, b = 0, many = 0;
                for (int k = 0; k < 64 && seen[u][k].n; k++) {
                        int c = seen[u][k].n;
                        many += c > 1;
                        if (c > a)
                                b = a, a = c;
                        else if (c > b)
                                b = c;
                }
                top2 += a + b;
                two += many == 2 && a > b;
        }
        /* 99 % from the two networks (home about 70/29 of mobile). */
        cr_assert(fabs((double)top2 / ip - 0.99) < 0.005, "%lld of %lld",
                  top2, ip);
        cr_assert_gt(two, NUSERS * 9 / 10, "%d users", two);
}

Test(gen_event, invalid_variants_look_as_described)
{
        static char buf[SG_GEN_EVENT_MAX];
        sg_gen_conf_t conf = {.seed = 8, .invalid_ratio = 1.0};
        bool seen_id = false, seen_ts = false, seen_type = false;
        bool seen_is_eu = false, seen_amount = false;
        char key[37];
        sg_reason_t r;

        for (uint64_t i = 0; i < 200; i++) {
                size_t len = sg_gen_event_build(&conf, users, NUSERS, i, NOW_US,
                                                buf, sizeof(buf), key, &r);
                cr_assert_eq(r, sg_gen_invalid_reason(i));
                switch (r) {
                case SG_REASON_TOO_LARGE: {
                        /* Without its padding it is a valid event. */
                        sg_event_t ev;
                        size_t n = len - 1;
                        cr_assert(len >= 8300 && len <= 9000, "len %zu", len);
                        cr_assert_eq(buf[len - 1], '}');
                        while (buf[n - 1] == ' ')
                                n--;
                        buf[n++] = '}';
                        cr_assert_eq(sg_event_parse(buf, n, &ev, NULL, 0),
                                     SG_REASON_OK);
                        sg_event_fini(&ev);
                        break;
                }
                case SG_REASON_INVALID_UTF8:
                        cr_assert(has_bytes(buf, len, "\xC3\x28"));
                        break;
                case SG_REASON_MALFORMED_JSON: {
                        /* Only the closing brace is missing. */
                        sg_event_t ev;
                        buf[len] = '}';
                        cr_assert_eq(sg_event_parse(buf, len + 1, &ev, NULL, 0),
                                     SG_REASON_OK);
                        sg_event_fini(&ev);
                        break;
                }
                case SG_REASON_NOT_OBJECT: {
                        sg_event_t ev;
                        cr_assert_eq(buf[0], '[');
                        cr_assert_eq(buf[len - 1], ']');
                        cr_assert_eq(
                            sg_event_parse(buf + 1, len - 2, &ev, NULL, 0),
                            SG_REASON_OK);
                        sg_event_fini(&ev);
                        break;
                }
                case SG_REASON_MISSING_FIELD:
                        cr_assert(strstr(buf, "\"country\"") == NULL);
                        break;
                case SG_REASON_WRONG_TYPE:
                        cr_assert(strstr(buf, "\"has_consent\":\"yes\""));
                        break;
                case SG_REASON_INVALID_VALUE:
                        seen_id |= strstr(buf, "not-a-uuid") != NULL;
                        seen_ts |= strstr(buf, "2026-13-45") != NULL;
                        seen_type |= strstr(buf, "teleport") != NULL;
                        break;
                case SG_REASON_UNKNOWN_FIELD:
                        cr_assert(strstr(buf, "\"session_token\""));
                        break;
                case SG_REASON_INCONSISTENT:
                        if (strstr(buf, "\"amount\""))
                                seen_amount = true;
                        else
                                seen_is_eu |= strstr(buf, "\"is_eu\"") != NULL;
                        break;
                default:
                        break;
                }
        }
        cr_assert(seen_id && seen_ts && seen_type);
        cr_assert(seen_is_eu && seen_amount);
}

Test(gen_event, small_buffer_is_refused)
{
        char buf[512], key[37];
        sg_gen_conf_t conf = {.seed = 1};
        sg_reason_t r;

        cr_assert_eq(sg_gen_event_build(&conf, users, NUSERS, 0, NOW_US, buf,
                                        sizeof(buf), key, &r),
                     0);
        cr_assert_eq(sg_gen_event_build(&conf, users, 0, 0, NOW_US, buf,
                                        sizeof(buf), key, &r),
                     0);
}
