/* sg-consent's batch (what it keeps of an event: ids lower-cased, event
 * time in UTC microseconds, absent flags false, invalid events skipped)
 * and the consent report's rendering (rates, empty sections). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "consent.h"
#include "report_consent.h"

static sg_consent_t cs;

static void setup(void)
{
        sg_consent_init(&cs);
}

static void teardown(void)
{
        sg_consent_fini(&cs);
}

TestSuite(consent, .init = setup, .fini = teardown);

static sg_reason_t add(const char *ts, const char *country, const char *extra)
{
        static int n;
        char buf[1024];
        int len = snprintf(
            buf, sizeof(buf),
            "{\"event_id\":\"00000000-0000-4000-8000-%010dAB\","
            "\"user_id\":\"5D2F7A4E-9B61-4F0A-8C7D-1E2F3A4B5C6D\","
            "\"event_type\":\"page_view\",\"event_timestamp\":\"%s\","
            "\"country\":\"%s\"%s}",
            ++n, ts, country, extra);
        return sg_consent_add_value(&cs, buf, (size_t)len);
}

Test(consent, keeps_flags_and_event_time)
{
        cr_assert_eq(add("2026-01-02T01:30:00+02:00", "DE",
                         ",\"has_consent\":true"),
                     SG_REASON_OK);
        cr_assert_eq(add("2026-01-01T23:00:00.5Z", "US", ",\"do_not_track\":true,"
                                                         "\"has_consent\":false"),
                     SG_REASON_OK);
        cr_assert_eq(add("2026-01-01T23:00:00Z", "FR", ""), SG_REASON_OK);
        cr_assert_eq(cs.n, 3);
        /* +02:00 is UTC 23:30 of the day before. */
        cr_assert_eq(cs.rows[0].ts_us, 1767310200000000LL);
        cr_assert(cs.rows[0].has_consent && !cs.rows[0].do_not_track);
        cr_assert(cs.rows[0].is_eu);
        cr_assert_str_eq(cs.rows[0].user_id,
                         "5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d");
        cr_assert_eq(cs.rows[1].ts_us, 1767308400500000LL);
        cr_assert(!cs.rows[1].has_consent && cs.rows[1].do_not_track);
        cr_assert(!cs.rows[1].is_eu);
        /* Absent means false. */
        cr_assert(!cs.rows[2].has_consent && !cs.rows[2].do_not_track);
}

Test(consent, skips_invalid)
{
        cr_assert_eq(sg_consent_add_value(&cs, "{\"event_id\":", 12),
                     SG_REASON_MALFORMED_JSON);
        cr_assert_eq(sg_consent_add_value(&cs, NULL, 0),
                     SG_REASON_MALFORMED_JSON);
        cr_assert_eq(cs.n, 0);
        cr_assert_eq(cs.batch_invalid, 2);
        sg_consent_reset(&cs);
        cr_assert_eq(cs.batch_invalid, 0);
}

Test(consent, report_rates_and_empty_sections)
{
        sg_consent_country_t de = {.country = "DE", .is_eu = true,
                                   .events = 8, .with_consent = 1, .dnt = 2,
                                   .granted = 1, .withdrawn = 0};
        sg_consent_report_t r = {.date = "2026-01-15", .generated_at = "x",
                                 .events = 8, .users = 2, .eu_events = 8,
                                 .eu_with_consent = 1, .dnt_events = 2,
                                 .granted = 1, .known_users = 2,
                                 .known_consent = 1, .ncountries = 1,
                                 .countries = &de};
        sg_consent_report_t empty = {.date = "2026-01-16",
                                     .generated_at = "x"};
        sg_buf_t out;

        sg_buf_init(&out);
        sg_consent_report_render(&r, &out);
        cr_assert(strstr(out.data, "| **Consent rate among EU events**    | "
                                   "12.5% |") != NULL,
                  "%s", out.data);
        cr_assert(strstr(out.data, "| `DE`    | yes |      8 |") != NULL);
        sg_buf_reset(&out);
        sg_consent_report_render(&empty, &out);
        cr_assert(strstr(out.data, "No event of 2026-01-16 in "
                                   "`consent_events`.\n") != NULL);
        cr_assert(strstr(out.data, "`consent_log` has no row of "
                                   "2026-01-16.\n") != NULL);
        cr_assert(strchr(out.data, '|') == NULL);
        sg_buf_reset(&out);
        sg_consent_report_summary(&r, &out);
        cr_assert_str_eq(out.data,
                         "Consent report 2026-01-15: 8 EU events, 12.5% with "
                         "consent; 1 granted, 0 withdrawn; do-not-track 25.0% "
                         "of 8 events\n");
        sg_buf_fini(&out);
}
