/* sg-report's pure parts: numbers for people, percentiles as
 * percentile_cont computes them, Markdown tables and escaping, the SVG
 * chart's axis and bar geometry, and both reports rendered from plain
 * structs (verdicts, "no data" instead of zeros). */
#include <criterion/criterion.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "chart.h"
#include "sg_md.h"
#include "render.h"
#include "report_daily.h"
#include "report_gdpr.h"
#include "stats.h"

TestSuite(report_format, .timeout = 30);

static char buf[SG_RENDER_NUM_MAX];

/* ---- numbers ---------------------------------------------------------- */

Test(report_format, integers_get_thousands_separators)
{
        cr_assert_str_eq(sg_render_int(0, buf, sizeof(buf)), "0");
        cr_assert_str_eq(sg_render_int(999, buf, sizeof(buf)), "999");
        cr_assert_str_eq(sg_render_int(1000, buf, sizeof(buf)), "1,000");
        cr_assert_str_eq(sg_render_int(1234567, buf, sizeof(buf)), "1,234,567");
        cr_assert_str_eq(sg_render_int(-1234, buf, sizeof(buf)), "-1,234");
        cr_assert_str_eq(sg_render_int(-100, buf, sizeof(buf)), "-100");
        cr_assert_str_eq(sg_render_int(LLONG_MIN, buf, sizeof(buf)),
                         "-9,223,372,036,854,775,808");
}

Test(report_format, doubles_round_to_fixed_decimals)
{
        cr_assert_str_eq(sg_render_double(1234.5, 2, buf, sizeof(buf)),
                         "1,234.50");
        cr_assert_str_eq(sg_render_double(1234567.891, 1, buf, sizeof(buf)),
                         "1,234,567.9");
        cr_assert_str_eq(sg_render_double(0.5, 0, buf, sizeof(buf)), "0");
        cr_assert_str_eq(sg_render_double(-0.001, 2, buf, sizeof(buf)), "0.00",
                         "no negative zero: %s", buf);
        cr_assert_str_eq(sg_render_double(-2500.0, 1, buf, sizeof(buf)),
                         "-2,500.0");
        cr_assert_str_eq(sg_render_double(NAN, 2, buf, sizeof(buf)), "n/a");
        cr_assert_str_eq(sg_render_double(INFINITY, 2, buf, sizeof(buf)),
                         "n/a");
}

Test(report_format, numeric_text_keeps_every_digit)
{
        cr_assert_str_eq(sg_render_decimal("1234567.89", buf, sizeof(buf)),
                         "1,234,567.89");
        /* More than a double holds exactly. */
        cr_assert_str_eq(
            sg_render_decimal("123456789012345678.01", buf, sizeof(buf)),
            "123,456,789,012,345,678.01");
        cr_assert_str_eq(sg_render_decimal("-1000.00", buf, sizeof(buf)),
                         "-1,000.00");
        cr_assert_str_eq(sg_render_decimal("0.00", buf, sizeof(buf)), "0.00");
        cr_assert_str_eq(sg_render_decimal("12", buf, sizeof(buf)), "12");
        cr_assert_str_eq(sg_render_decimal("100", buf, sizeof(buf)), "100");
        const char *bad[] = {"",    "-",   "1.", ".5",    "1,000",
                             "1e5", "abc", " 1", "1.2.3", NULL};
        for (int i = 0; i < (int)(sizeof(bad) / sizeof(bad[0])); i++)
                cr_assert_str_eq(sg_render_decimal(bad[i], buf, sizeof(buf)),
                                 "n/a", "'%s'", bad[i] ? bad[i] : "NULL");
}

Test(report_format, percentages_and_missing_bases)
{
        cr_assert_str_eq(sg_render_percent(1, 8, 1, buf, sizeof(buf)), "12.5%");
        cr_assert_str_eq(sg_render_percent(3, 10, 1, buf, sizeof(buf)),
                         "30.0%");
        cr_assert_str_eq(sg_render_percent(1, 3, 2, buf, sizeof(buf)),
                         "33.33%");
        cr_assert_str_eq(sg_render_percent(6, 36, 2, buf, sizeof(buf)),
                         "16.67%");
        cr_assert_str_eq(sg_render_percent(0, 5, 1, buf, sizeof(buf)), "0.0%");
        cr_assert_str_eq(sg_render_percent(5, 0, 1, buf, sizeof(buf)), "n/a");
}

Test(report_format, durations_pick_a_unit)
{
        static const struct {
                double s;
                const char *want;
        } cases[] = {
            {0.0, "0 ms"},
            {0.25, "250 ms"},
            {0.8, "800 ms"},
            {0.9996, "1.00 s"},
            {1.5, "1.50 s"},
            {45.0, "45.00 s"},
            {59.996, "1.0 min"},
            {101.25, "1.7 min"},
            {120.0, "2.0 min"},
            {3599.0, "1.0 h"},
            {5400.0, "1.5 h"},
            {47.0 * 3600, "47.0 h"},
            {45.5 * 86400, "45.5 days"},
            {40.0 * 86400, "40.0 days"},
            {-2.0, "-2.00 s"},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                cr_assert_str_eq(
                    sg_render_duration(cases[i].s, buf, sizeof(buf)),
                    cases[i].want, "%g s", cases[i].s);
        cr_assert_str_eq(sg_render_duration(NAN, buf, sizeof(buf)), "n/a");
}

/* ---- percentiles ------------------------------------------------------ */

Test(report_format, percentiles_match_percentile_cont)
{
        /* Expected values from PostgreSQL:
         * SELECT percentile_cont(p) WITHIN GROUP (ORDER BY v) ... */
        const double v[6] = {0.25, 0.8, 1.5, 3.0, 45.0, 120.0};
        const double four[4] = {1, 2, 3, 4};
        const double one[1] = {7};

        cr_assert_float_eq(sg_stats_percentile(v, 6, 0.5), 2.25, 1e-12);
        cr_assert_float_eq(sg_stats_percentile(v, 6, 0.95), 101.25, 1e-12);
        cr_assert_float_eq(sg_stats_percentile(v, 6, 0.0), 0.25, 1e-12);
        cr_assert_float_eq(sg_stats_percentile(v, 6, 1.0), 120.0, 1e-12);
        cr_assert_float_eq(sg_stats_percentile(four, 4, 0.5), 2.5, 1e-12);
        cr_assert_float_eq(sg_stats_percentile(four, 4, 0.95), 3.85, 1e-12);
        cr_assert_float_eq(sg_stats_percentile(one, 1, 0.95), 7.0, 1e-12);
        cr_assert(isnan(sg_stats_percentile(NULL, 0, 0.5)));
}

Test(report_format, summary_of_sorted_values)
{
        double v[6] = {45.0, 0.25, 120.0, 3.0, 0.8, 1.5};
        sg_stats_t st;

        cr_assert_eq(sg_stats_summary(v, 6, &st), -1, "unsorted accepted");
        sg_stats_sort(v, 6);
        cr_assert_eq(v[0], 0.25);
        cr_assert_eq(v[5], 120.0);
        cr_assert_eq(sg_stats_summary(v, 6, &st), 0);
        cr_assert_eq(st.n, 6);
        cr_assert_float_eq(st.mean, 28.425, 1e-9);
        cr_assert_float_eq(st.p50, 2.25, 1e-12);
        cr_assert_float_eq(st.p95, 101.25, 1e-12);
        cr_assert_eq(st.min, 0.25);
        cr_assert_eq(st.max, 120.0);
        cr_assert_eq(sg_stats_summary(NULL, 0, &st), 0);
        cr_assert_eq(st.n, 0);
        cr_assert(isnan(st.mean) && isnan(st.p95) && isnan(st.max));
}

/* ---- Markdown --------------------------------------------------------- */

Test(report_format, markdown_table_is_aligned_and_escaped)
{
        static const char *const head[3] = {"Name", "Count", "Amount"};
        static const sg_md_align_t al[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                            SG_MD_RIGHT};
        sg_md_table_t t;
        sg_buf_t out;

        sg_buf_init(&out);
        sg_md_table_init(&t, 3, head, al);
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "a|b");
        sg_md_table_set(&t, 1, "1,234");
        sg_md_table_set(&t, 2, "€5.00");
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "line\nbreak");
        sg_md_table_setf(&t, 1, "%d", 7);
        /* column 2 left empty */
        sg_md_table_render(&t, &out);
        sg_md_table_fini(&t);
        cr_assert_str_eq(out.data, "| Name       | Count | Amount |\n"
                                   "| :--------- | ----: | -----: |\n"
                                   "| a\\|b       | 1,234 |  €5.00 |\n"
                                   "| line?break |     7 |        |\n");
        sg_buf_fini(&out);
}

Test(report_format, markdown_text_and_code_spans)
{
        sg_buf_t out;

        sg_buf_init(&out);
        sg_md_text(&out, "*bold* _x_ <b> [l](u) #1 `c`\t");
        cr_assert_str_eq(out.data, "\\*bold\\* \\_x\\_ \\<b\\> \\[l\\](u) \\#1 "
                                   "\\`c\\`?");
        sg_buf_reset(&out);
        sg_md_code(&out, "page_view");
        sg_md_code(&out, "a`b");
        sg_md_code(&out, "");
        cr_assert_str_eq(out.data, "`page_view``a?b`(empty)");
        sg_buf_fini(&out);
        cr_assert_eq(sg_md_width("€5.00"), 5);
        cr_assert_eq(sg_md_width(NULL), 0);
}

/* ---- the chart -------------------------------------------------------- */

Test(report_format, chart_axis_is_round)
{
        static const long long cases[][3] = {
            /* max, axis_max, step */
            {0, 1, 1},
            {1, 1, 1},
            {5, 5, 1},
            {7, 8, 2},
            {10, 10, 2},
            {20, 20, 5},
            {21, 25, 5},
            {101, 150, 50},
            {999, 1000, 200},
            {123456, 150000, 50000},
            /* Clamped: no overflow, whatever the input. */
            {LLONG_MAX, 1000000000000000LL, 200000000000000LL},
        };

        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                long long top, step;

                sg_chart_axis(cases[i][0], &top, &step);
                cr_assert_eq(top, cases[i][1], "max %lld: top %lld",
                             cases[i][0], top);
                cr_assert_eq(step, cases[i][2], "max %lld: step %lld",
                             cases[i][0], step);
                cr_assert(top / step <= 5);
        }
}

Test(report_format, chart_series_keep_the_contract_order)
{
        sg_chart_t c;

        sg_chart_init(&c, "t");
        cr_assert_eq(sg_chart_add(&c, "stop", 1, 1), 0);
        cr_assert_eq(sg_chart_add(&c, "zzz", 1, 1), 0);
        cr_assert_eq(sg_chart_add(&c, "page_view", 2, 3), 0);
        cr_assert_eq(sg_chart_add(&c, "aaa", 1, 1), 0);
        cr_assert_eq(sg_chart_add(&c, "page_view", 2, 4), 0);
        cr_assert_eq(c.nseries, 4);
        cr_assert_str_eq(c.series[0].name, "page_view");
        cr_assert_str_eq(c.series[1].name, "stop");
        cr_assert_str_eq(c.series[2].name, "aaa");
        cr_assert_str_eq(c.series[3].name, "zzz");
        cr_assert_eq(c.series[0].counts[2], 7);
        cr_assert_eq(sg_chart_slot_total(&c, 1), 3);
        cr_assert_eq(sg_chart_add(&c, "play", 24, 1), -1);
        cr_assert_eq(sg_chart_add(&c, "play", -1, 1), -1);
        cr_assert_eq(sg_chart_add(&c, "play", 0, -1), -1);
        cr_assert_str_eq(sg_chart_colour("purchase"), "#59a14f");
        cr_assert_str_eq(sg_chart_colour("zzz"), "#bab0ac");
}

Test(report_format, chart_has_too_many_series)
{
        static char names[SG_CHART_MAX_SERIES + 1][8];
        sg_chart_t c;

        sg_chart_init(&c, "t");
        for (int i = 0; i <= SG_CHART_MAX_SERIES; i++) {
                snprintf(names[i], sizeof(names[i]), "t%02d", i);
                cr_assert_eq(sg_chart_add(&c, names[i], 0, 1),
                             i < SG_CHART_MAX_SERIES ? 0 : -1);
        }
}

/* Counts occurrences of needle in hay. */
static int count_of(const char *hay, const char *needle)
{
        int n = 0;

        for (const char *p = hay; (p = strstr(p, needle)); p++)
                n++;
        return n;
}

Test(report_format, chart_bars_match_the_data)
{
        sg_chart_t c;
        sg_chart_geom_t g;
        sg_buf_t out;

        sg_chart_init(&c, "Events <&> \"per\" hour");
        cr_assert_eq(sg_chart_add(&c, "purchase", 3, 1), 0);
        cr_assert_eq(sg_chart_add(&c, "page_view", 3, 4), 0);
        cr_assert_eq(sg_chart_add(&c, "play", 5, 10), 0);
        sg_chart_layout(&c, &g);
        cr_assert_eq(g.axis_max, 10);
        cr_assert_eq(g.tick_step, 2);
        cr_assert_float_eq(g.plot_h, 390.0, 1e-9);
        cr_assert_float_eq(sg_chart_bar_height(&g, 4), 156.0, 1e-9);
        cr_assert_float_eq(sg_chart_bar_height(&g, 10), g.plot_h, 1e-9);

        sg_buf_init(&out);
        sg_chart_render_svg(&c, &out);
        cr_assert(strncmp(out.data,
                          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<svg xmlns=\"http://www.w3.org/2000/svg\"",
                          77) == 0);
        cr_assert(strstr(out.data, "viewBox=\"0 0 960 540\""));
        cr_assert_eq(count_of(out.data, "class=\"bar\""), 3);
        /* page_view at the bottom of hour 3: base 470, 4 of 10 -> 156. */
        cr_assert(strstr(out.data,
                         "data-hour=\"3\" data-type=\"page_view\" "
                         "data-count=\"4\" x=\"192.88\" y=\"314.00\" "
                         "width=\"25.08\" height=\"156.00\" fill=\"#4e79a7\">"
                         "<title>03:00-04:00 UTC, page_view: 4 events"
                         "</title>"),
                  "%s", out.data);
        /* purchase stacked on top of it: 5 of 10 -> y 275, height 39. */
        cr_assert(strstr(out.data, "data-hour=\"3\" data-type=\"purchase\" "
                                   "data-count=\"1\" x=\"192.88\" "
                                   "y=\"275.00\" width=\"25.08\" "
                                   "height=\"39.00\""));
        cr_assert(strstr(out.data, "purchase: 1 event</title>"));
        cr_assert(strstr(out.data, "data-hour=\"5\" data-type=\"play\" "
                                   "data-count=\"10\" x=\"264.54\" "
                                   "y=\"80.00\""));
        /* The title is escaped, both in <title> and in the heading. */
        cr_assert_eq(count_of(out.data, "Events &lt;&amp;&gt; &quot;per&quot; "
                                        "hour"),
                     2);
        /* A legend entry per series with data, 6 grid lines (0..10). */
        cr_assert_eq(count_of(out.data, "stroke=\"#e0e0e0\""), 5);
        cr_assert(strstr(out.data, ">page_view</text>"));
        cr_assert(!strstr(out.data, "href"));
        cr_assert(!strstr(out.data, "<script"));
        cr_assert(strstr(out.data, "</svg>\n"));
        sg_buf_fini(&out);
}

Test(report_format, empty_chart_says_so)
{
        sg_chart_t c;
        sg_buf_t out;

        sg_chart_init(&c, "t");
        sg_buf_init(&out);
        sg_chart_render_svg(&c, &out);
        cr_assert_eq(count_of(out.data, "class=\"bar\""), 0);
        cr_assert(strstr(out.data, ">No events</text>"));
        sg_buf_fini(&out);
}

/* ---- the daily report ------------------------------------------------- */

/* True if md has a table row whose first cell is key and whose last cell
 * is value (whatever the padding). */
static bool has_row(const char *md, const char *key, const char *value)
{
        char want[256];
        const char *p = md;

        snprintf(want, sizeof(want), "| %s ", key);
        while ((p = strstr(p, want))) {
                const char *end = strchr(p, '\n');
                size_t n = end ? (size_t)(end - p) : strlen(p);
                size_t vlen = strlen(value);

                if ((p == md || p[-1] == '\n') && n >= vlen + 3 &&
                    strncmp(p + n - vlen - 2, value, vlen) == 0 &&
                    p[n - vlen - 3] == ' ' && strncmp(p + n - 2, " |", 2) == 0)
                        return true;
                p++;
        }
        return false;
}

static sg_daily_report_t daily_report(sg_daily_compare_t *cmp, int ncmp,
                                      bool batch_run)
{
        static const sg_daily_type_count_t types[2] = {{"page_view", 900},
                                                       {"purchase", 100}};
        static const sg_daily_currency_t cur[1] = {
            {"EUR", 100, "12345.60", "123.46"}};
        static const sg_daily_country_t countries[1] = {
            {"DE", 100, "12345.60", "EUR"}};
        sg_daily_report_t r;

        memset(&r, 0, sizeof(r));
        r.date = "2026-01-15";
        r.generated_at = "2026-01-16 06:00:00 UTC";
        r.chart_file = "business_report_2026-01-15_events_per_hour.svg";
        r.events = 1000;
        r.active_users = 400;
        r.purchases = 100;
        r.revenue = "12345.60";
        r.aov = "123.46";
        r.page_viewers = 400;
        r.purchasers = 50;
        r.ntypes = 2;
        r.types = types;
        r.ncurrencies = 1;
        r.currencies = cur;
        r.ncountries = 1;
        r.countries = countries;
        r.plays = 0;
        r.watch_seconds = 5400;
        r.batch_run.found = batch_run;
        r.batch_run.id = 3;
        r.batch_run.date_from = "2026-01-15";
        r.batch_run.date_to = "2026-01-15";
        r.batch_run.finished_at = "2026-01-16 02:00:00";
        r.ncompare = ncmp;
        r.compare = cmp;
        return r;
}

Test(report_format, daily_report_renders_kpis_and_verdict)
{
        sg_daily_compare_t cmp[2] = {
            {"page_view", true, true, 900, 900, "0.00", "0.00", 0, "0.00",
             false},
            {"purchase", true, true, 100, 101, "12345.60", "12355.60", 1,
             "10.00", true},
        };
        sg_daily_report_t r = daily_report(cmp, 2, true);
        sg_buf_t out;
        int ndiff;

        cr_assert_eq(sg_daily_report_verdict(&r, &ndiff), SG_DAILY_DIFFERS);
        cr_assert_eq(ndiff, 1);
        sg_buf_init(&out);
        sg_daily_report_render(&r, &out);
        cr_assert(strstr(out.data, "# Business report: 2026-01-15\n\n"
                                   "Generated at 2026-01-16 06:00:00 UTC "
                                   "by sg-report "));
        cr_assert(has_row(out.data, "Total events", "1,000"), "%s", out.data);
        cr_assert(has_row(out.data, "Revenue (sum of amounts, all currencies)",
                          "12,345.60"));
        cr_assert(has_row(out.data,
                          "Conversion (users with a purchase / "
                          "users with a page view)",
                          "12.5% (50 of 400)"));
        /* No plays: a rate over nothing is n/a, never 0%. */
        cr_assert(has_row(out.data,
                          "Playback error rate (errors / (plays + "
                          "errors))",
                          "n/a"));
        cr_assert(has_row(out.data, "Watch hours (watch time of `stop` events)",
                          "1.5 h"));
        cr_assert(strstr(out.data, "none (no playback errors)"));
        cr_assert(strstr(out.data, "![Events per hour](business_report_"
                                   "2026-01-15_events_per_hour.svg)\n"));
        cr_assert(strstr(out.data, "**Verdict: differs.** 1 of 2 event "
                                   "types differ"));
        cr_assert(strstr(out.data, "+10.00 |"));
        cr_assert(strstr(out.data, "Batch run #3 (date 2026-01-15) finished "
                                   "at 2026-01-16 02:00:00 UTC.\n"));
        cr_assert(strstr(out.data, "**differs** |"));
        cr_assert_eq(count_of(out.data, "\nGenerated at "), 1);
        sg_buf_reset(&out);
        sg_daily_report_summary(&r, &out);
        cr_assert(strstr(out.data, "Batch vs streaming: differs (1 of 2 "
                                   "event types)\n"));
        sg_buf_fini(&out);

        /* sg-batch-metrics --all records -infinity..infinity. */
        r.batch_run.date_from = "-infinity";
        r.batch_run.date_to = "infinity";
        sg_buf_init(&out);
        sg_daily_report_render(&r, &out);
        cr_assert(strstr(out.data, "Batch run #3 (all dates) finished"));
        sg_buf_fini(&out);

        cmp[1] = cmp[0];
        cmp[1].event_type = "purchase";
        cr_assert_eq(sg_daily_report_verdict(&r, NULL), SG_DAILY_MATCH);
        r.batch_run.found = false;
        cr_assert_eq(sg_daily_report_verdict(&r, NULL), SG_DAILY_NOT_BATCHED);
        cr_assert_str_eq(sg_daily_report_verdict_name(SG_DAILY_NOT_BATCHED),
                         "batch not run yet");
}

Test(report_format, daily_report_without_batch_or_events)
{
        sg_daily_compare_t cmp[1] = {
            {"page_view", false, true, 0, 900, NULL, "0.00", 900, "0.00", true},
        };
        sg_daily_report_t r = daily_report(cmp, 1, false);
        sg_buf_t out;

        sg_buf_init(&out);
        sg_daily_report_render(&r, &out);
        cr_assert(strstr(out.data, "**Verdict: batch not run yet.**"));
        cr_assert(strstr(out.data, "not run yet |"));
        sg_buf_reset(&out);

        r.events = 0;
        sg_daily_report_render(&r, &out);
        cr_assert(strstr(out.data, "**No events stored for 2026-01-15.**"));
        cr_assert(!strstr(out.data, "Total events"));
        cr_assert(!strstr(out.data, "Revenue"));
        cr_assert(!strstr(out.data, ".svg"));
        sg_buf_reset(&out);
        sg_daily_report_summary(&r, &out);
        cr_assert_str_eq(out.data, "Business report 2026-01-15: no events "
                                   "stored for this date.\n");
        sg_buf_fini(&out);
}

/* ---- the GDPR audit --------------------------------------------------- */

Test(report_format, gdpr_report_latencies_and_backlog)
{
        /* Unsorted on purpose: the renderer sorts a copy. */
        const double lat[6] = {120.0, 0.25, 45.0, 1.5, 3.0, 0.8};
        const sg_gdpr_request_t recent[2] = {
            {107, "2026-01-15 23:50:00", "pending", false, 0},
            {101, "2026-01-15 08:00:00", "anonymized", true, 0.25},
        };
        const sg_gdpr_pending_t breaches[1] = {
            {90, "2025-12-06 09:00:00", 40.625 * 86400}};
        sg_gdpr_report_t r;
        sg_buf_t out;

        memset(&r, 0, sizeof(r));
        r.date = "2026-01-15";
        r.reference = "2026-01-16 00:00:00";
        r.generated_at = "now";
        r.requests = 8;
        r.by_status[0] = 2;
        r.by_status[1] = 6;
        r.latencies_s = lat;
        r.nlatencies = 6;
        r.anonymised_users = 5;
        r.nrecent = 2;
        r.recent = recent;
        r.pending = 3;
        r.has_oldest = true;
        r.oldest = breaches[0];
        r.sla_breaches = 2;
        r.nbreaches = 1;
        r.breaches = breaches;

        sg_buf_init(&out);
        sg_gdpr_report_render(&r, &out);
        cr_assert(strstr(out.data, "| Mean         | 28.43 s |") ||
                      strstr(out.data, "| Mean         | 28.42 s |"),
                  "%s", out.data);
        cr_assert(strstr(out.data, "| p50 (median) |  2.25 s |"));
        cr_assert(strstr(out.data, "| p95          | 1.7 min |"));
        cr_assert(strstr(out.data, "| Max          | 2.0 min |"));
        cr_assert(strstr(out.data, "| `pending`            |        2 | "
                                   "25.0% |"));
        cr_assert(strstr(out.data, "| `failed`             |        0 |  "
                                   "0.0% |"));
        cr_assert(strstr(out.data, "#107 | 2026-01-15 23:50:00 | `pending`"));
        cr_assert(strstr(out.data, "not processed |"));
        cr_assert(strstr(out.data, "**2 requests have been pending longer "
                                   "than the legal 30 days.** Oldest first "
                                   "(the first 1):"));
        cr_assert(strstr(out.data, "40.6 days |"));
        cr_assert(strstr(out.data, "**2026-01-16 00:00:00 UTC**"));
        cr_assert(!strstr(out.data, "@"));
        sg_buf_reset(&out);
        sg_gdpr_report_summary(&r, &out);
        cr_assert_str_eq(out.data,
                         "GDPR audit 2026-01-15: 8 requests, 5 anonymised "
                         "users, p95 latency 1.7 min\n"
                         "Backlog at 2026-01-16 00:00:00 UTC: 3 pending, 2 "
                         "SLA breaches (> 30 days)\n");
        sg_buf_fini(&out);
}

Test(report_format, gdpr_report_without_requests)
{
        sg_gdpr_report_t r;
        sg_buf_t out;

        memset(&r, 0, sizeof(r));
        r.date = "2026-01-10";
        r.reference = "2026-01-11 00:00:00";
        r.generated_at = "now";
        sg_buf_init(&out);
        sg_gdpr_report_render(&r, &out);
        cr_assert(strstr(out.data, "**No privacy requests were made on "
                                   "2026-01-10.**"));
        cr_assert(!strstr(out.data, "### By status"));
        cr_assert(!strstr(out.data, "Mean"));
        cr_assert(strstr(out.data, "| Oldest pending request "));
        cr_assert(strstr(out.data, "No request had been pending longer than "
                                   "the legal 30 days.\n"));
        sg_buf_fini(&out);
}
