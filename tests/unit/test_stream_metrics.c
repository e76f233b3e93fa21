/* sg-stream-metrics' in-memory aggregation: exact cents, UTC dates at
 * midnight and across time-zone offsets, playback health, invalid events
 * skipped. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "stream_metrics.h"
#include "sg_time.h"

static sg_stream_metrics_t sm;

static void setup(void)
{
        sg_stream_metrics_init(&sm);
}

static void teardown(void)
{
        sg_stream_metrics_fini(&sm);
}

TestSuite(stream_metrics, .init = setup, .fini = teardown);

/* Adds an event built from a few fields; returns the verdict. */
static sg_reason_t add(const char *type, const char *ts, const char *country,
                       const char *extra)
{
        static int n;
        char buf[1024];
        int len = snprintf(
            buf, sizeof(buf),
            "{\"event_id\":\"00000000-0000-4000-8000-%012d\","
            "\"user_id\":\"5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d\","
            "\"event_type\":\"%s\",\"event_timestamp\":\"%s\","
            "\"country\":\"%s\"%s}",
            ++n, type, ts, country, extra);
        return sg_stream_metrics_add_value(&sm, buf, (size_t)len);
}

static int32_t day_of(const char *ts)
{
        long long us;
        cr_assert_eq(sg_event_parse_timestamp(ts, &us), 0);
        return (int32_t)sg_time_utc_day(us);
}

Test(stream_metrics, amounts_add_up_in_exact_cents)
{
        /* 0.10 + 0.20 + 0.70 in binary floating point is not 1.00. */
        cr_assert_eq(add("purchase", "2026-03-01T10:00:00Z", "DE", ",\"amount\":0.1"), SG_REASON_OK);
        cr_assert_eq(add("purchase", "2026-03-01T11:00:00Z", "DE", ",\"amount\":0.2"), SG_REASON_OK);
        cr_assert_eq(add("purchase", "2026-03-01T12:00:00Z", "DE", ",\"amount\":0.7"), SG_REASON_OK);
        cr_assert_eq(add("purchase", "2026-03-01T13:00:00Z", "DE", ",\"amount\":999999.99"), SG_REASON_OK);
        const sg_agg_entry_t *e = sg_agg_map_find(
            &sm.daily, day_of("2026-03-01T00:00:00Z"), SG_EV_PURCHASE, "");
        cr_assert_not_null(e);
        cr_assert_eq(e->v[0], 4);
        cr_assert_eq(e->v[1], 100000099LL, "cents: %lld", e->v[1]);
}

Test(stream_metrics, midnight_utc_splits_days)
{
        add("page_view", "2026-03-01T23:59:59.999999Z", "FR", "");
        add("page_view", "2026-03-02T00:00:00Z", "FR", "");
        add("page_view", "2026-03-02T00:00:00.000001Z", "FR", "");
        const sg_agg_entry_t *d1 = sg_agg_map_find(
            &sm.daily, day_of("2026-03-01T12:00:00Z"), SG_EV_PAGE_VIEW, "");
        const sg_agg_entry_t *d2 = sg_agg_map_find(
            &sm.daily, day_of("2026-03-02T12:00:00Z"), SG_EV_PAGE_VIEW, "");
        cr_assert_not_null(d1);
        cr_assert_not_null(d2);
        cr_assert_eq(d1->v[0], 1);
        cr_assert_eq(d2->v[0], 2);
}

Test(stream_metrics, offsets_are_converted_to_the_utc_date)
{
        /* 00:30 in Berlin is 23:30 UTC the day before; 20:00 in New York
         * (-05:00) is 01:00 UTC the day after. */
        add("page_view", "2026-01-02T00:30:00+01:00", "DE", "");
        add("page_view", "2026-01-01T20:00:00-05:00", "US-NY", "");
        const sg_agg_entry_t *de = sg_agg_map_find(
            &sm.country, day_of("2026-01-01T00:00:00Z"), SG_EV_PAGE_VIEW, "DE");
        const sg_agg_entry_t *us = sg_agg_map_find(
            &sm.country, day_of("2026-01-02T00:00:00Z"), SG_EV_PAGE_VIEW, "US-NY");
        cr_assert_not_null(de, "Berlin event not on 2026-01-01 UTC");
        cr_assert_not_null(us, "New York event not on 2026-01-02 UTC");
        cr_assert_null(sg_agg_map_find(&sm.country, day_of("2026-01-02T00:00:00Z"),
                                       SG_EV_PAGE_VIEW, "DE"));
}

Test(stream_metrics, countries_and_types_are_separate_keys)
{
        add("purchase", "2026-03-01T10:00:00Z", "US-CA", ",\"amount\":5");
        add("purchase", "2026-03-01T10:00:00Z", "US-NY", ",\"amount\":7.5");
        add("add_to_cart", "2026-03-01T10:00:00Z", "US-CA", "");
        int32_t d = day_of("2026-03-01T00:00:00Z");
        cr_assert_eq(sg_agg_map_find(&sm.country, d, SG_EV_PURCHASE, "US-CA")->v[1], 500);
        cr_assert_eq(sg_agg_map_find(&sm.country, d, SG_EV_PURCHASE, "US-NY")->v[1], 750);
        cr_assert_eq(sg_agg_map_find(&sm.country, d, SG_EV_ADD_TO_CART, "US-CA")->v[0], 1);
        cr_assert_eq(sg_agg_map_find(&sm.daily, d, SG_EV_PURCHASE, "")->v[0], 2);
        cr_assert_eq(sm.country.n, 3);
}

Test(stream_metrics, playback_health_per_content)
{
        const char *c = ",\"content_id\":\"c_000042\"";
        char stop[128];
        add("play", "2026-03-01T10:00:00Z", "SE", c);
        add("play", "2026-03-01T10:01:00Z", "SE", c);
        add("pause", "2026-03-01T10:02:00Z", "SE", c);
        add("playback_error", "2026-03-01T10:03:00Z", "SE",
            ",\"content_id\":\"c_000042\",\"error_code\":\"E_DRM\"");
        snprintf(stop, sizeof(stop), "%s,\"watch_seconds\":3600", c);
        add("stop", "2026-03-01T11:00:00Z", "SE", stop);
        snprintf(stop, sizeof(stop), "%s,\"watch_seconds\":15", c);
        add("stop", "2026-03-01T11:05:00Z", "SE", stop);
        const sg_agg_entry_t *e = sg_agg_map_find(
            &sm.content, day_of("2026-03-01T00:00:00Z"), -1, "c_000042");
        cr_assert_not_null(e);
        cr_assert_eq(e->v[0], 2, "plays");
        cr_assert_eq(e->v[1], 1, "playback_errors");
        cr_assert_eq(e->v[2], 3615, "watch_seconds");
}

Test(stream_metrics, invalid_events_are_not_counted)
{
        cr_assert_eq(add("purchase", "2026-03-01T10:00:00Z", "DE", ""),
                     SG_REASON_MISSING_FIELD);
        cr_assert_eq(add("page_view", "2026-13-01T10:00:00Z", "DE", ""),
                     SG_REASON_INVALID_VALUE);
        cr_assert_eq(sg_stream_metrics_add_value(&sm, "{", 1),
                     SG_REASON_MALFORMED_JSON);
        cr_assert_eq(sm.daily.n, 0);
        cr_assert_eq(sm.batch_invalid, 3);
        cr_assert_eq(sm.batch_valid, 0);
}

Test(stream_metrics, many_keys_survive_growth_and_reset)
{
        char ts[40];
        for (int d = 1; d <= 28; d++) {
                snprintf(ts, sizeof(ts), "2026-02-%02dT12:00:00Z", d);
                for (int i = 0; i < 3; i++)
                        add("page_view", ts, "NL", "");
        }
        cr_assert_eq(sm.daily.n, 28);
        for (int d = 1; d <= 28; d++) {
                snprintf(ts, sizeof(ts), "2026-02-%02dT00:00:00Z", d);
                cr_assert_eq(sg_agg_map_find(&sm.daily, day_of(ts), SG_EV_PAGE_VIEW, "")->v[0], 3);
        }
        sg_stream_metrics_reset(&sm);
        cr_assert_eq(sm.daily.n, 0);
        cr_assert_null(sg_agg_map_find(&sm.daily, day_of("2026-02-01T00:00:00Z"),
                                       SG_EV_PAGE_VIEW, ""));
}

/* The minute of metrics_streaming_minute: UTC, floor (59.999999 s stays in
 * its minute), offsets converted, every valid event type counted once. */
static int32_t minute_of(const char *ts)
{
        long long us;

        cr_assert_eq(sg_time_parse_rfc3339(ts, 2000, 2099, &us), 0);
        return sg_stream_metrics_minute(us);
}

Test(stream_metrics, events_per_utc_minute)
{
        add("page_view", "2026-03-01T10:15:00Z", "FR", "");
        add("purchase", "2026-03-01T10:15:59.999999Z", "FR",
            ",\"amount\":1.50,\"currency\":\"EUR\"");
        add("page_view", "2026-03-01T11:16:00+01:00", "DE", "");
        add("page_view", "2026-03-01T10:16:00.000001Z", "FR", "");
        add("page_view", "not a time", "FR", "");
        const sg_agg_entry_t *m15 = sg_agg_map_find(
            &sm.minute, minute_of("2026-03-01T10:15:30Z"), -1, "");
        const sg_agg_entry_t *m16 = sg_agg_map_find(
            &sm.minute, minute_of("2026-03-01T10:16:30Z"), -1, "");
        cr_assert_not_null(m15);
        cr_assert_not_null(m16);
        cr_assert_eq(m15->v[0], 2);
        cr_assert_eq(m16->v[0], 2);
        cr_assert_eq(sm.minute.n, 2);
        cr_assert_eq(minute_of("2026-03-01T10:16:00Z") -
                         minute_of("2026-03-01T10:15:59.999999Z"),
                     1);
        cr_assert_eq(sg_stream_metrics_minute(-1), -1);
        sg_stream_metrics_reset(&sm);
        cr_assert_eq(sm.minute.n, 0);
}
