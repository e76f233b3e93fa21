/* The compliance report rendered from plain structs: empty sections in
 * one line and no empty table, the 30-day limit's boundary, the latency
 * percentiles, the countries no flag can honestly be given, and the
 * 7-day chart (a day without flags drawn as 0). */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "chart.h"
#include "report_compliance.h"

TestSuite(report_compliance, .timeout = 30);

static int count_of(const char *hay, const char *needle)
{
        int n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

static sg_compliance_report_t empty_report(sg_compliance_day_t *days)
{
        sg_compliance_report_t r;

        memset(&r, 0, sizeof(r));
        r.date = "2026-01-15";
        r.reference = "2026-01-16 00:00:00";
        r.generated_at = "2026-01-16 06:00:00 UTC";
        r.chart_file = "compliance_report_2026-01-15_flags_7d.svg";
        for (int d = 0; d < SG_COMPLIANCE_TREND_DAYS; d++) {
                static char dates[SG_COMPLIANCE_TREND_DAYS][11];

                snprintf(dates[d], sizeof(dates[d]), "2026-01-%02d", 9 + d);
                memset(&days[d], 0, sizeof(days[d]));
                days[d].date = dates[d];
        }
        r.ndays = SG_COMPLIANCE_TREND_DAYS;
        r.days = days;
        return r;
}

Test(report_compliance, empty_sections_say_so_in_one_line)
{
        sg_compliance_day_t days[SG_COMPLIANCE_TREND_DAYS];
        sg_compliance_report_t r = empty_report(days);
        sg_buf_t out;

        sg_buf_init(&out);
        sg_compliance_report_render(&r, &out);
        cr_assert_eq(count_of(out.data, "\n|"), 0, "%s", out.data);
        cr_assert(strstr(out.data,
                         "\nNo flag has a window starting on 2026-01-15.\n"));
        cr_assert(strstr(out.data,
                         "\nNo flag has a window starting in these 7 days.\n"));
        cr_assert(strstr(out.data, "\nNo alert was created on 2026-01-15.\n"));
        cr_assert(strstr(out.data, "\nNo privacy request was open at the end "
                                   "of the day.\n"));
        /* Every section heading is there all the same. */
        cr_assert_eq(count_of(out.data, "\n## "), 7, "%s", out.data);
        sg_buf_fini(&out);
}

Test(report_compliance, flags_countries_and_the_30_day_limit)
{
        static const sg_compliance_rule_t rules[2] = {
            {"content_error_rate", "content", {0, 0, 1}},
            {"eu_no_consent", "user", {0, 0, 2}}};
        static const sg_compliance_country_t countries[2] = {
            {"DE", NULL, {0, 0, 2}}, {NULL, "content", {0, 0, 1}}};
        static const sg_gdpr_pending_t open[3] = {
            {90, "2025-12-06 09:00:00", 40.5 * 86400.0},
            {95, "2025-12-17 00:00:00", 30.0 * 86400.0},
            {96, "2025-12-16 23:59:59", 30.0 * 86400.0 + 1.0}};
        static const double lat[5] = {40.0, 2.0, 0.5, 12.0, 5.0};
        static const sg_compliance_sink_t sinks[2] = {
            {"ops", 4, 3, 1, 0, 1, 0}, {"pager", 3, 2, 2, 0, 0, 1}};
        sg_compliance_day_t days[SG_COMPLIANCE_TREND_DAYS];
        sg_compliance_report_t r = empty_report(days);
        sg_buf_t out;

        r.nrules = 2;
        r.rules = rules;
        r.subjects = 2;
        r.ncountries = 2;
        r.countries = countries;
        r.alerts = 2;
        r.nsinks = 2;
        r.sinks = sinks;
        r.latencies_s = lat;
        r.nlatencies = 5;
        r.open = 3;
        r.overdue = 2;
        r.nopen = 3;
        r.open_requests = open;
        sg_buf_init(&out);
        sg_compliance_report_render(&r, &out);
        cr_assert(strstr(out.data, "| **All rules**        |         |   0 |"
                                   "      0 |    3 |     3 |"),
                  "%s", out.data);
        cr_assert(strstr(out.data, "| DE      |   0 |      0 |    2 |     2 |"));
        cr_assert(strstr(out.data, "- content flags (`content_error_rate`): "
                                   "a content's plays come from many "
                                   "countries: 1\n"));
        /* Exactly 30 days is at the limit, not over it. */
        cr_assert(strstr(out.data, "|     #95 | 2025-12-17 00:00:00 |       "
                                   "30.0 |       0.0 | open        |"),
                  "%s", out.data);
        cr_assert(strstr(out.data, "|     #90 | 2025-12-06 09:00:00 |       "
                                   "40.5 |     -10.5 | **overdue** |"));
        cr_assert_eq(count_of(out.data, "**overdue**"), 2);
        /* Unsorted latencies: p50 5 s, p95 12 + 0.8 * 28 = 34.4 s. */
        cr_assert(strstr(out.data, "| p50 (median) |            5.00 s |"));
        cr_assert(strstr(out.data, "| p95          |           34.40 s |"));
        /* The sinks add up; no dead delivery gives no error table. */
        cr_assert(strstr(out.data, "| **All sinks** |          7 |    5 |"
                                   "       3 |    0 |        1 |       1 |"),
                  "%s", out.data);
        cr_assert(!strstr(out.data, "Dead deliveries by last error"));
        sg_buf_fini(&out);
}

Test(report_compliance, chart_has_seven_days_and_zero_totals)
{
        sg_compliance_day_t days[SG_COMPLIANCE_TREND_DAYS];
        sg_compliance_report_t r = empty_report(days);
        sg_chart_t c;
        sg_buf_t out;

        days[6].by_sev[0] = 8;
        days[6].by_sev[2] = 7;
        days[2].by_sev[1] = 2;
        cr_assert_eq(sg_compliance_report_chart(&r, "t", &c), 0);
        cr_assert_eq(c.nslots, 7);
        cr_assert_eq(sg_chart_slot_total(&c, 6), 15);
        /* Low at the bottom, high on top. */
        cr_assert_str_eq(c.series[0].name, "low");
        cr_assert_str_eq(c.series[2].name, "high");
        sg_buf_init(&out);
        sg_chart_render_svg(&c, &out);
        cr_assert_eq(count_of(out.data, "class=\"bar\""), 3);
        cr_assert(strstr(out.data, "data-day=\"2026-01-15\" "
                                   "data-severity=\"high\" data-count=\"7\""),
                  "%s", out.data);
        cr_assert(strstr(out.data, "<title>2026-01-11, medium: 2 flags"
                                   "</title>"));
        cr_assert_eq(count_of(out.data, "data-total=\"0\""), 5);
        cr_assert(strstr(out.data, "data-day=\"2026-01-15\" "
                                   "data-total=\"15\""));
        cr_assert(strstr(out.data, ">Flags</text>"));
        cr_assert(!strstr(out.data, "No flags"));
        cr_assert(!strstr(out.data, "href"));
        sg_buf_fini(&out);
}
