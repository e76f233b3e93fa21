/* batch_eval (sg-batch-compliance's pure part): an events_raw row back
 * into the event sg_event_parse made (the IP prefix and the amount
 * above all), --only, the flags a run keeps, and the windows' closing in
 * one pass against sg-compliance's closer run batch by batch. And the
 * diff's rendering for sg-compare --compliance. */
#include <criterion/criterion.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_eval.h"
#include "compare_render.h"
#include "rules.h"
#include "sg_event.h"
#include "sg_mask.h"

TestSuite(batch_compliance, .timeout = 30);

#define S 1000000LL
#define T0 (1764547200LL * S) /* 2025-12-01T00:00:00Z */

/* --- the amount ----------------------------------------------------------- */

Test(batch_compliance, amount_as_postgresql_prints_numeric)
{
        static const struct {
                const char *text;
                long long cents;
        } ok[] = {{"500.00", 50000},       {"500.01", 50001},
                  {"0.00", 0},             {"0", 0},
                  {"12.5", 1250},          {"0.01", 1},
                  {"1000000.00", 100000000}, {"9999999999.99", 999999999999LL},
                  {"19.99", 1999}};
        static const char *const bad[] = {"",     "-1.00", "1.234", "1.",
                                          ".50",  "1e3",   "abc",   " 1.00",
                                          "1.00 ", "1,00", "+1.00",
                                          "1234567890123456.00"};
        long long cents;

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
                cents = -7;
                cr_assert_eq(sg_batch_eval_amount(ok[i].text, &cents), 0, "%s",
                             ok[i].text);
                cr_assert_eq(cents, ok[i].cents, "%s: %lld", ok[i].text, cents);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_eq(sg_batch_eval_amount(bad[i], &cents), -1, "%s",
                             bad[i]);
        cr_assert_eq(sg_batch_eval_amount(NULL, &cents), -1);
}

/* --- the IP prefix ------------------------------------------------------------ */

Test(batch_compliance, ip_back_to_the_validators_string)
{
        /* What PostgreSQL's host() prints for the stored prefixes, and
         * what the validator wrote for them. */
        static const struct {
                const char *pg;
                const char *want;
        } cases[] = {
            {"203.0.113.0", "203.0.113.0"},
            {"203.0.113.0/32", "203.0.113.0"}, /* inet::text keeps a mask */
            {"2001:db8:1::", "2001:db8:1::"},
            {"2001:db8:1::/128", "2001:db8:1::"},
            {"2001:0db8:0001:0000:0000:0000:0000:0000", "2001:db8:1::"},
            {"0:0:1::", "0:0:1::"},
            {"0:1::", "0:1::"},
            {"1::", "1::"},
            {"::", "::"},
            {"2001:DB8:A::", "2001:db8:a::"},
        };
        char out[46];

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                cr_assert_eq(sg_batch_eval_ip(cases[i].pg, out, sizeof(out)), 0,
                             "%s", cases[i].pg);
                cr_assert_str_eq(out, cases[i].want, "%s", cases[i].pg);
        }
        cr_assert_eq(sg_batch_eval_ip(NULL, out, sizeof(out)), 0);
        cr_assert_str_empty(out);
        cr_assert_eq(sg_batch_eval_ip("", out, sizeof(out)), 0);
        cr_assert_str_empty(out);
        cr_assert_eq(sg_batch_eval_ip("not-an-ip", out, sizeof(out)), -1);
        cr_assert_str_empty(out);
        cr_assert_eq(sg_batch_eval_ip("/24", out, sizeof(out)), -1);
}

Test(batch_compliance, ip_round_trip_of_what_the_validator_wrote)
{
        /* Addresses as producers send them: the validator's prefix, read
         * back, is the same string (multi_network compares strings). */
        static const char *const sent[] = {
            "203.0.113.77",       "10.1.2.3",          "0.0.0.0",
            "255.255.255.255",    "2001:db8:1:2:3:4:5:6",
            "2001:db8::1",        "::1",               "::ffff:192.0.2.1",
            "fe80::1",            "0:0:1:2::",         "2a00:1450:4001:82a::200e",
            "1:0:0:0:0:0:0:1"};
        char masked[46], back[46];

        for (size_t i = 0; i < sizeof(sent) / sizeof(sent[0]); i++) {
                cr_assert_eq(sg_mask_ip(sent[i], masked, sizeof(masked)), 0);
                cr_assert_eq(sg_batch_eval_ip(masked, back, sizeof(back)), 0);
                cr_assert_str_eq(back, masked, "%s", sent[i]);
        }
}

/* --- a row ------------------------------------------------------------------ */

/* The row PostgreSQL returns for the event ev as sg-raw-store stored it
 * (sg-batch-compliance's columns), in bufs. */
typedef struct row {
        char ts[32], amount[32], watch[16];
        const char *col[SG_BCOL__CNT];
} row_t;

static void row_of(const sg_event_t *ev, const char *ip_pg, row_t *r)
{
        snprintf(r->ts, sizeof(r->ts), "%lld", ev->ts_us);
        snprintf(r->amount, sizeof(r->amount), "%lld.%02lld",
                 ev->amount_cents / 100, ev->amount_cents % 100);
        snprintf(r->watch, sizeof(r->watch), "%d", ev->watch_seconds);
        r->col[SG_BCOL_EVENT_ID] = ev->event_id;
        r->col[SG_BCOL_USER_ID] = ev->user_id;
        r->col[SG_BCOL_TYPE] = sg_event_type_name(ev->type);
        r->col[SG_BCOL_TS_US] = r->ts;
        r->col[SG_BCOL_COUNTRY] = ev->country;
        r->col[SG_BCOL_IS_EU] = ev->is_eu ? "t" : "f";
        r->col[SG_BCOL_AMOUNT] = r->amount;
        r->col[SG_BCOL_CURRENCY] = ev->currency;
        r->col[SG_BCOL_HAS_CONSENT] = ev->has_consent ? "t" : "f";
        r->col[SG_BCOL_DO_NOT_TRACK] = ev->do_not_track ? "t" : "f";
        r->col[SG_BCOL_DEVICE_ID] = ev->device_id[0] ? ev->device_id : NULL;
        r->col[SG_BCOL_CONTENT_ID] = ev->content_id[0] ? ev->content_id : NULL;
        r->col[SG_BCOL_WATCH_SECONDS] = ev->watch_seconds >= 0 ? r->watch : NULL;
        r->col[SG_BCOL_ERROR_CODE] = ev->error_code[0] ? ev->error_code : NULL;
        r->col[SG_BCOL_IP] = ip_pg;
}

/* Parses json (must be valid), rebuilds the event from its row, and
 * checks that every field matches. */
static void check_round_trip(const char *json, const char *ip_pg)
{
        sg_event_t parsed, rebuilt;
        char why[256];
        row_t r;

        cr_assert_eq(sg_event_parse(json, strlen(json), &parsed, why,
                                    sizeof(why)),
                     SG_REASON_OK, "%s: %s", json, why);
        sg_event_fini(&parsed); /* sg-compliance frees it too */
        row_of(&parsed, ip_pg ? ip_pg : (parsed.ip[0] ? parsed.ip : NULL), &r);
        cr_assert_eq(sg_batch_eval_row(r.col, &rebuilt, why, sizeof(why)), 0,
                     "%s", why);
        cr_assert_str_eq(rebuilt.event_id, parsed.event_id);
        cr_assert_str_eq(rebuilt.user_id, parsed.user_id);
        cr_assert_eq(rebuilt.type, parsed.type);
        cr_assert_eq(rebuilt.ts_us, parsed.ts_us);
        cr_assert_str_eq(rebuilt.country, parsed.country);
        cr_assert_eq(rebuilt.is_eu, parsed.is_eu);
        cr_assert_eq(rebuilt.amount_cents, parsed.amount_cents);
        cr_assert_str_eq(rebuilt.currency, parsed.currency);
        cr_assert_eq(rebuilt.has_consent, parsed.has_consent);
        cr_assert_eq(rebuilt.do_not_track, parsed.do_not_track);
        cr_assert_str_eq(rebuilt.device_id, parsed.device_id);
        cr_assert_str_eq(rebuilt.content_id, parsed.content_id);
        cr_assert_eq(rebuilt.watch_seconds, parsed.watch_seconds);
        cr_assert_str_eq(rebuilt.error_code, parsed.error_code);
        cr_assert_str_eq(rebuilt.ip, parsed.ip);
        cr_assert_null(rebuilt.metadata);
        /* Nothing else either (the rules read whole structs' fields). */
        cr_assert(memcmp(&rebuilt, &parsed, sizeof(parsed)) == 0, "%s", json);
}

#define IDS                                                                    \
        "\"event_id\":\"0B8F6F3E-2C1A-4C8E-9A53-6F1F0E1D2C3B\","               \
        "\"user_id\":\"5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d\""

Test(batch_compliance, row_is_the_event_the_validator_made)
{
        check_round_trip(
            "{" IDS ",\"event_type\":\"purchase\","
            "\"event_timestamp\":\"2026-01-02T13:34:56.123456+01:00\","
            "\"country\":\"DE-BY\",\"amount\":19.99,\"currency\":\"USD\","
            "\"has_consent\":true,\"device_id\":\"tv_lg_abc123\","
            "\"ip_address\":\"203.0.113.10\",\"metadata\":{\"a\":1}}",
            NULL);
        /* Defaults: EUR, no consent, absent strings, an integer amount. */
        check_round_trip("{" IDS ",\"event_type\":\"purchase\","
                         "\"event_timestamp\":\"2026-01-02T12:00:00Z\","
                         "\"country\":\"FR\",\"amount\":500}",
                         NULL);
        /* IPv6, do_not_track, a playback event with its content. */
        check_round_trip("{" IDS ",\"event_type\":\"stop\","
                         "\"event_timestamp\":\"2026-01-02T12:00:00Z\","
                         "\"country\":\"US-CA\",\"do_not_track\":true,"
                         "\"content_id\":\"movie-42\",\"watch_seconds\":0,"
                         "\"ip_address\":\"2001:db8:1:2::7\"}",
                         "2001:db8:1::");
        check_round_trip("{" IDS ",\"event_type\":\"playback_error\","
                         "\"event_timestamp\":\"2026-01-02T12:00:00.5Z\","
                         "\"country\":\"NL\",\"is_eu\":true,"
                         "\"content_id\":\"movie-42\",\"error_code\":\"E42\","
                         "\"ip_address\":\"::ffff:192.0.2.1\"}",
                         "::");
        /* A zero amount on a non-purchase is 0 cents. */
        check_round_trip("{" IDS ",\"event_type\":\"page_view\","
                         "\"event_timestamp\":\"2026-01-02T12:00:00Z\","
                         "\"country\":\"NL\",\"amount\":0}",
                         NULL);
}

Test(batch_compliance, row_that_is_no_event)
{
        sg_event_t ev, out;
        char why[256];
        row_t r;

        memset(&ev, 0, sizeof(ev));
        snprintf(ev.event_id, sizeof(ev.event_id),
                 "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b");
        snprintf(ev.user_id, sizeof(ev.user_id),
                 "5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d");
        snprintf(ev.country, sizeof(ev.country), "NL");
        snprintf(ev.currency, sizeof(ev.currency), "EUR");
        ev.ts_us = T0;
        ev.watch_seconds = -1;
        row_of(&ev, NULL, &r);
        cr_assert_eq(sg_batch_eval_row(r.col, &out, why, sizeof(why)), 0, "%s",
                     why);

        r.col[SG_BCOL_TYPE] = "click";
        cr_assert_eq(sg_batch_eval_row(r.col, &out, why, sizeof(why)), -1);
        cr_assert_str_eq(why, "events_raw.event_type: not an event's value");
        r.col[SG_BCOL_TYPE] = "page_view";
        r.col[SG_BCOL_IP] = "secret-host.example";
        cr_assert_eq(sg_batch_eval_row(r.col, &out, why, sizeof(why)), -1);
        cr_assert_str_eq(why, "events_raw.ip_truncated: not an event's value");
        cr_assert_null(strstr(why, "secret"), "the value is never quoted");
        r.col[SG_BCOL_IP] = NULL;
        r.col[SG_BCOL_EVENT_ID] = NULL;
        cr_assert_eq(sg_batch_eval_row(r.col, &out, why, sizeof(why)), -1);
        r.col[SG_BCOL_EVENT_ID] = "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b";
        r.col[SG_BCOL_IS_EU] = "true";
        cr_assert_eq(sg_batch_eval_row(r.col, &out, why, sizeof(why)), -1);
        r.col[SG_BCOL_IS_EU] = "f";
        r.col[SG_BCOL_COUNTRY] = "NL-TOOLONG";
        cr_assert_eq(sg_batch_eval_row(r.col, &out, why, sizeof(why)), -1);
        r.col[SG_BCOL_COUNTRY] = "NL";
        r.col[SG_BCOL_TS_US] = "12x";
        cr_assert_eq(sg_batch_eval_row(r.col, &out, why, sizeof(why)), -1);
}

/* --- --only and the kept flags -------------------------------------------- */

Test(batch_compliance, only_rules)
{
        unsigned mask;
        char err[128];

        cr_assert_eq(sg_batch_eval_only("multi_country", &mask, err,
                                        sizeof(err)),
                     0);
        cr_assert_eq(mask, 1u << SG_RULE_MULTI_COUNTRY);
        cr_assert_eq(sg_batch_eval_only("eu_no_consent,traffic_anomaly,"
                                        "eu_no_consent",
                                        &mask, err, sizeof(err)),
                     0);
        cr_assert_eq(mask, (1u << SG_RULE_EU_NO_CONSENT) |
                               (1u << SG_RULE_TRAFFIC_ANOMALY));
        cr_assert_eq(sg_batch_eval_only("multi_country,nope", &mask, err,
                                        sizeof(err)),
                     -1);
        cr_assert_str_eq(err, "unknown rule 'nope'");
        cr_assert_eq(sg_batch_eval_only("multi_country,", &mask, err,
                                        sizeof(err)),
                     -1);
        cr_assert_str_eq(err, "empty rule name");
        cr_assert_eq(sg_batch_eval_only("", &mask, err, sizeof(err)), -1);
        cr_assert_eq(sg_batch_eval_only("Multi_Country", &mask, err,
                                        sizeof(err)),
                     -1);
}

Test(batch_compliance, keep_by_rule_and_window_start)
{
        sg_flag_t f = {.rule = SG_RULE_HIGH_FREQUENCY, .window_start_us = T0};
        long long day = 86400 * S;

        cr_assert(sg_batch_eval_keep(&f, SG_BATCH_ALL_RULES, LLONG_MIN,
                                     LLONG_MAX));
        cr_assert(sg_batch_eval_keep(&f, SG_BATCH_ALL_RULES, T0, T0 + day));
        cr_assert_not(sg_batch_eval_keep(&f, SG_BATCH_ALL_RULES, T0 + 1,
                                         T0 + day));
        cr_assert_not(sg_batch_eval_keep(&f, SG_BATCH_ALL_RULES, T0 - day, T0));
        cr_assert_not(sg_batch_eval_keep(&f, 1u << SG_RULE_MULTI_COUNTRY,
                                         LLONG_MIN, LLONG_MAX));
}

/* --- closing the windows: one pass = sg-compliance's closer ------------------ */

#define NPART 2
#define MAXEV 4000

typedef struct tev {
        sg_event_t ev;
        int32_t part;
        int64_t offset;
} tev_t;

static tev_t evs[MAXEV];
static int nev;

static void add_ev(int32_t part, long long ts, const char *country,
                   sg_event_type_t type, const char *content)
{
        static int64_t next_offset[NPART];
        tev_t *e = &evs[nev];

        cr_assert_lt(nev, MAXEV);
        memset(e, 0, sizeof(*e));
        snprintf(e->ev.event_id, sizeof(e->ev.event_id),
                 "00000000-0000-4000-8000-%012d", nev + 1);
        /* One user per partition and window hour: keys stay in their
         * partition. */
        snprintf(e->ev.user_id, sizeof(e->ev.user_id),
                 "%08d-1111-4111-8111-111111111111", part * 1000 + nev % 7);
        e->ev.type = type;
        e->ev.ts_us = ts;
        snprintf(e->ev.country, sizeof(e->ev.country), "%s", country);
        e->ev.has_consent = true;
        snprintf(e->ev.currency, sizeof(e->ev.currency), "EUR");
        e->ev.watch_seconds = -1;
        if (content)
                snprintf(e->ev.content_id, sizeof(e->ev.content_id), "%s",
                         content);
        e->part = part;
        e->offset = next_offset[part]++;
        nev++;
}

/* Partition 0: Germany, 5 events a window for 14 windows, a spike of
 * 60, quiet, then 3 events. Partition 1: France, playing movie-1 with
 * errors (two windows above the rate); Italy, 5 events a window for 14
 * windows, then nothing (a drop: an empty window folded on the
 * watermark); a late event. */
static void build_log(void)
{
        long long W = 300 * S;

        nev = 0;
        for (int w = 0; w < 22; w++) {
                int n = w < 14 ? 5 : w == 14 ? 60 : w == 21 ? 3 : 0;
                for (int i = 0; i < n; i++)
                        add_ev(0, T0 + w * W + i * (W / (n + 1)), "DE",
                               SG_EV_PAGE_VIEW, NULL);
                for (int i = 0; i < 24; i++)
                        add_ev(1, T0 + w * W + i * S, "FR",
                               (w == 3 || w == 9) && i % 3 == 0
                                   ? SG_EV_PLAYBACK_ERROR
                                   : SG_EV_PLAY,
                               "movie-1");
                for (int i = 0; i < (w < 14 ? 5 : 0); i++)
                        add_ev(1, T0 + w * W + 24 * S + i * S, "IT",
                               SG_EV_PAGE_VIEW, NULL);
                if (w == 12) /* 20 minutes behind: late, in no window */
                        add_ev(1, T0 + 8 * W, "FR", SG_EV_PLAY, "movie-1");
        }
}

/* The order the stream reads in: batches of `size` events, partitions
 * interleaved (each in its own order). */
static int stream_order(int *order, int size)
{
        int next[NPART] = {0}, n = 0, p = 0;

        while (n < nev) {
                for (int k = 0; k < size && n < nev; k++) {
                        int i = next[p];
                        while (i < nev && evs[i].part != p)
                                i++;
                        if (i >= nev)
                                break;
                        order[n++] = i;
                        next[p] = i + 1;
                }
                p = (p + 1) % NPART;
        }
        return n;
}

/* sg-compliance's closer (consumers/compliance.c, sg_cpl_close) over
 * the windows table it keeps, called after every batch. */
typedef struct emu {
        sg_wpart_t win[512];
        bool closed[512];
        int nwin;
        sg_baseline_t base[8];
        int nbase;
        sg_flag_t flags[256];
        int nflags;
} emu_t;

static emu_t emu;

static void emu_emit(void *arg, const sg_flag_t *f)
{
        (void)arg;
        cr_assert_lt(emu.nflags, 256);
        emu.flags[emu.nflags++] = *f;
}

static void emu_add(const sg_rules_t *r)
{
        size_t n;
        const sg_wpart_t *w = sg_rules_windows(r, &n);

        for (size_t i = 0; i < n; i++) {
                int j = 0;
                while (j < emu.nwin &&
                       !(emu.win[j].rule == w[i].rule &&
                         emu.win[j].start_us == w[i].start_us &&
                         strcmp(emu.win[j].subject, w[i].subject) == 0))
                        j++;
                if (j == emu.nwin) {
                        cr_assert_lt(emu.nwin, 512);
                        emu.win[emu.nwin++] = w[i];
                } else if (!emu.closed[j]) {
                        sg_wpart_merge(&emu.win[j], &w[i]);
                }
        }
}

static void emu_close(const sg_rules_conf_t *c, long long wm)
{
        sg_wpart_t w[512];
        int n = 0;

        for (int i = 0; i < emu.nwin; i++)
                if (!emu.closed[i] &&
                    sg_rules_window_end(c, emu.win[i].rule,
                                        emu.win[i].start_us) < wm) {
                        emu.closed[i] = true;
                        w[n++] = emu.win[i];
                }
        sg_wpart_sort(w, (size_t)n);
        for (int i = 0; i < n; i++) {
                sg_flag_t f;
                if (w[i].rule == SG_RULE_CONTENT_ERROR_RATE) {
                        if (sg_rules_judge_content(c, &w[i], &f))
                                emu_emit(NULL, &f);
                } else if (w[i].rule == SG_RULE_TRAFFIC_ANOMALY) {
                        int b = 0;
                        while (b < emu.nbase &&
                               strcmp(emu.base[b].country, w[i].subject))
                                b++;
                        if (b == emu.nbase) {
                                memset(&emu.base[b], 0, sizeof(emu.base[b]));
                                snprintf(emu.base[b].country,
                                         sizeof(emu.base[b].country), "%.7s",
                                         w[i].subject);
                                emu.nbase++;
                        }
                        sg_rules_country_advance(c, &emu.base[b], &w[i], wm,
                                                 emu_emit, NULL);
                }
        }
        for (int b = 0; b < emu.nbase; b++)
                sg_rules_country_advance(c, &emu.base[b], NULL, wm, emu_emit,
                                         NULL);
}

static int flag_cmp(const void *a, const void *b)
{
        return strcmp(((const sg_flag_t *)a)->flag_id,
                      ((const sg_flag_t *)b)->flag_id);
}

static void check_close_like_the_stream(int batch)
{
        sg_rules_conf_t conf;
        sg_rules_t *one, *stream;
        static int order[MAXEV];
        sg_flag_t *got;
        size_t n;
        long long wm;
        int nord, content = 0, traffic = 0, drops = 0;
        long long maxts = LLONG_MIN;

        sg_rules_conf_defaults(&conf);
        build_log();
        memset(&emu, 0, sizeof(emu));

        /* The batch: every event in partition order, no reset. */
        one = sg_rules_new(&conf);
        for (int p = 0; p < NPART; p++)
                for (int i = 0; i < nev; i++)
                        if (evs[i].part == p)
                                sg_rules_eval(one, p, evs[i].offset,
                                              &evs[i].ev, -1, NULL);
        got = sg_batch_eval_close(one, &wm, &n);

        /* The stream: batches, the closer after each. */
        stream = sg_rules_new(&conf);
        nord = stream_order(order, batch);
        cr_assert_eq(nord, nev);
        for (int start = 0; start < nord; start += batch) {
                int end = start + batch < nord ? start + batch : nord;
                long long low = LLONG_MAX, high = LLONG_MIN;
                bool behind_unseen = false;

                for (int k = start; k < end; k++) {
                        const tev_t *e = &evs[order[k]];
                        sg_rules_eval(stream, e->part, e->offset, &e->ev, -1,
                                      NULL);
                }
                emu_add(stream);
                sg_rules_batch_reset(stream);
                /* The watermark: the lowest maximum of the partitions with
                 * events left, or the highest when none has. */
                for (int p = 0; p < NPART; p++) {
                        bool left = false;
                        long long m = sg_rules_part_max(stream, p);
                        for (int k = end; k < nord && !left; k++)
                                left = evs[order[k]].part == p;
                        if (m > high)
                                high = m;
                        if (left && m == LLONG_MIN)
                                behind_unseen = true;
                        if (left && m < low)
                                low = m;
                }
                if (behind_unseen || high == LLONG_MIN)
                        continue;
                emu_close(&conf, (low != LLONG_MAX ? low : high) -
                                     conf.lateness_us);
        }

        for (int i = 0; i < nev; i++)
                if (evs[i].ev.ts_us > maxts)
                        maxts = evs[i].ev.ts_us;
        cr_assert_eq(wm, maxts - conf.lateness_us);
        cr_assert_eq(n, (size_t)emu.nflags, "batch %d: %zu flags, stream %d",
                     batch, n, emu.nflags);
        qsort(got, n, sizeof(*got), flag_cmp);
        qsort(emu.flags, (size_t)emu.nflags, sizeof(emu.flags[0]), flag_cmp);
        for (size_t i = 0; i < n; i++) {
                const sg_flag_t *a = &got[i], *b = &emu.flags[i];
                cr_assert_str_eq(a->flag_id, b->flag_id);
                cr_assert_eq(a->rule, b->rule);
                cr_assert_eq(a->window_start_us, b->window_start_us);
                cr_assert_eq(a->window_end_us, b->window_end_us);
                cr_assert_eq(a->event_count, b->event_count);
                cr_assert(a->observed == b->observed);
                cr_assert(a->threshold == b->threshold);
                cr_assert_str_eq(a->evidence, b->evidence);
                cr_assert_str_eq(a->first_event_id, b->first_event_id);
                cr_assert_eq(a->first_partition, b->first_partition);
                cr_assert_eq(a->first_offset, b->first_offset);
                cr_assert_str_eq(a->last_event_id, b->last_event_id);
                content += a->rule == SG_RULE_CONTENT_ERROR_RATE;
                traffic += a->rule == SG_RULE_TRAFFIC_ANOMALY;
                drops += a->rule == SG_RULE_TRAFFIC_ANOMALY &&
                         strstr(a->evidence, "\"drop\"") != NULL;
        }
        cr_assert_eq(content, 2, "windows 3 and 9 of movie-1");
        cr_assert_geq(traffic, 2, "the spike and a drop at least");
        cr_assert_geq(drops, 1);
        free(got);
        sg_rules_destroy(one);
        sg_rules_destroy(stream);
}

Test(batch_compliance, close_in_one_pass_is_the_streams_closing)
{
        check_close_like_the_stream(1);
        check_close_like_the_stream(7);
        check_close_like_the_stream(50);
        check_close_like_the_stream(100000);
}

Test(batch_compliance, close_with_no_event)
{
        sg_rules_conf_t conf;
        sg_rules_t *r;
        long long wm = 0;
        size_t n = 7;

        sg_rules_conf_defaults(&conf);
        r = sg_rules_new(&conf);
        cr_assert_null(sg_batch_eval_close(r, &wm, &n));
        cr_assert_eq(n, 0);
        cr_assert_eq(wm, LLONG_MIN);
        sg_rules_destroy(r);
}

/* --- sg-compare --compliance's rendering ------------------------------------ */

static sg_compare_flag_t rows[2];
static sg_compare_flags_t diff;

static void setup_flags(void)
{
        memset(rows, 0, sizeof(rows));
        rows[0] = (sg_compare_flag_t){
            .flag_id = "6f1c7c1e-0c1a-8c8e-9a53-6f1f0e1d2c3b",
            .rule = "multi_country",
            .subject_type = "user",
            .subject_id = "5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d",
            .window_start = "2025-12-01 00:00:00+00",
            .in_batch = true,
            .in_streaming = true,
            .ncols = 2,
            .col = {"severity", "evidence"},
            .batch = {"medium", "{\"countries\": [\"BR\", \"JP\", \"US\"]}"},
            .streaming = {"high",
                          "{\"countries\": [\"BR\", \"CA\", \"JP\", \"US\", "
                          "\"DE\", \"FR\", \"NL\", \"GB\", \"IT\"]}"}};
        rows[1] = (sg_compare_flag_t){
            .flag_id = "7f1c7c1e-0c1a-8c8e-9a53-6f1f0e1d2c3b",
            .rule = "traffic_anomaly",
            .subject_type = "country",
            .subject_id = "DE",
            .window_start = "2025-12-01 01:10:00+00",
            .in_batch = false,
            .in_streaming = true,
            .ncols = 2,
            .col = {"severity", "event_count"},
            .streaming = {"medium", "0"}};
        diff = (sg_compare_flags_t){.range = "all dates", .all = true,
                                    .compared = 12, .batch_flags = 11,
                                    .streaming_flags = 12, .differences = 3,
                                    .batch_only = 0, .streaming_only = 2,
                                    .nrows = 2, .rows = rows};
}

Test(batch_compliance, render_flags_text, .init = setup_flags)
{
        char *out = sg_compare_flags_render(&diff, SG_COMPARE_TABLE);

        cr_assert_not_null(out);
        cr_assert(strstr(out, "12 flags compared (batch 11, streaming 12), 3 "
                              "differences"),
                  "%s", out);
        cr_assert(strstr(out, "multi_country"), "%s", out);
        cr_assert(strstr(out, "streaming only"), "%s", out);
        cr_assert(strstr(out, "(no row)"), "%s", out);
        /* A long value is cut in a table. */
        cr_assert(strstr(out, "..."), "%s", out);
        cr_assert_null(strstr(out, "\"IT\"]}"), "%s", out);
        cr_assert(strstr(out, "... and 1 more not listed"), "%s", out);
        cr_assert(strstr(out, "verdict: DIFFERENT: 3 differences (1 differ, 0 "
                              "batch only, 2 streaming only)"),
                  "%s", out);
        for (const char *p = out; (p = strchr(p, '\n')); p++)
                cr_assert(p == out || p[-1] != ' ', "trailing blank: %s", out);
        free(out);
}

Test(batch_compliance, render_flags_markdown_and_json, .init = setup_flags)
{
        char *md = sg_compare_flags_render(&diff, SG_COMPARE_MARKDOWN);
        char *js = sg_compare_flags_render(&diff, SG_COMPARE_JSON);

        cr_assert_not_null(md);
        cr_assert_not_null(js);
        cr_assert(strstr(md, "| flag_id"), "%s", md);
        cr_assert(strstr(md, "**Verdict: DIFFERENT"), "%s", md);
        cr_assert(strstr(js, "\"mode\": \"compliance\""), "%s", js);
        cr_assert(strstr(js, "\"status\": \"streaming_only\""), "%s", js);
        cr_assert(strstr(js, "\"IT\\\"]}"), "JSON keeps whole values: %s", js);
        cr_assert(strstr(js, "\"equal\": false"), "%s", js);
        free(md);
        free(js);
}

Test(batch_compliance, render_flags_equal, .init = setup_flags)
{
        char *out;

        diff.differences = diff.streaming_only = diff.nrows = 0;
        diff.batch_flags = diff.streaming_flags = diff.compared = 12;
        out = sg_compare_flags_render(&diff, SG_COMPARE_TABLE);
        cr_assert_not_null(out);
        cr_assert(strstr(out, "verdict: EQUAL: 0 differences (12 flags "
                              "compared)"),
                  "%s", out);
        cr_assert_null(strstr(out, "flag_id"), "%s", out);
        free(out);
}
