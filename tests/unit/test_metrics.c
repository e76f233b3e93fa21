#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_metrics.h"
#include "sg_metrics_http.h"

static char *render(sg_metrics_t *m)
{
        sg_buf_t b;
        sg_buf_init(&b);
        sg_metrics_render(m, &b);
        sg_buf_putc(&b, '\0');
        return b.data;
}

/* The dropped family every registry holds, as it renders while empty. */
#define DROPPED_EMPTY                                                         \
        "# HELP sg_metrics_series_dropped_total Lookups of a new label "      \
        "combination beyond the family's bound, counted in its \"other\" "    \
        "series instead.\n"                                                   \
        "# TYPE sg_metrics_series_dropped_total counter\n"

TestSuite(metrics);

Test(metrics, exact_text_of_a_small_registry)
{
        sg_metrics_t *m = sg_metrics_new();
        static const char *const gr[] = {"group", "reason", NULL};
        sg_metric_t *rej = sg_metrics_counter(
            m, "sg_events_rejected_total", "Events rejected.", gr, 8);
        sg_metric_t *up = sg_metrics_gauge(m, "sg_up", "Up.", NULL, 1);
        static const double bounds[] = {0.5, 1, 2.5};
        static const char *const g[] = {"group", NULL};
        sg_metric_t *h = sg_metrics_histogram(m, "sg_commit_seconds",
                                              "Commit time.", g, 4, bounds, 3);
        cr_assert(rej && up && h);

        /* Created out of order: rendered by label values. */
        sg_series_add(sg_metric_series(rej, (const char *[]){"raw", "bad_type"}),
                      2);
        sg_series_inc(sg_metric_series(rej, (const char *[]){"raw", "bad_json"}));
        sg_series_t *z = sg_metric_series(rej, (const char *[]){"a", "zero"});
        (void)z;
        sg_series_set(sg_metric_series0(up), 1);
        sg_series_t *hs = sg_metric_series1(h, "raw");
        sg_series_observe(hs, 0.25);
        sg_series_observe(hs, 0.5); /* le is inclusive */
        sg_series_observe(hs, 2);
        sg_series_observe(hs, 100);

        char *text = render(m);
        const char *want =
            "# HELP sg_commit_seconds Commit time.\n"
            "# TYPE sg_commit_seconds histogram\n"
            "sg_commit_seconds_bucket{group=\"raw\",le=\"0.5\"} 2\n"
            "sg_commit_seconds_bucket{group=\"raw\",le=\"1\"} 2\n"
            "sg_commit_seconds_bucket{group=\"raw\",le=\"2.5\"} 3\n"
            "sg_commit_seconds_bucket{group=\"raw\",le=\"+Inf\"} 4\n"
            "sg_commit_seconds_sum{group=\"raw\"} 102.75\n"
            "sg_commit_seconds_count{group=\"raw\"} 4\n"
            "# HELP sg_events_rejected_total Events rejected.\n"
            "# TYPE sg_events_rejected_total counter\n"
            "sg_events_rejected_total{group=\"a\",reason=\"zero\"} 0\n"
            "sg_events_rejected_total{group=\"raw\",reason=\"bad_json\"} 1\n"
            "sg_events_rejected_total{group=\"raw\",reason=\"bad_type\"} 2\n" DROPPED_EMPTY
            "# HELP sg_up Up.\n"
            "# TYPE sg_up gauge\n"
            "sg_up 1\n";
        cr_assert_str_eq(text, want);
        free(text);
        sg_metrics_destroy(m);
}

Test(metrics, escaping_of_label_values_and_help)
{
        sg_metrics_t *m = sg_metrics_new();
        static const char *const l[] = {"v", NULL};
        sg_metric_t *c = sg_metrics_counter(m, "x_total", "a \\ b\nc \"q\"",
                                            l, 4);
        sg_series_inc(sg_metric_series1(c, "back\\slash \"quoted\"\nline"));
        char *text = render(m);
        cr_assert(strstr(text, "# HELP x_total a \\\\ b\\nc \"q\"\n") != NULL,
                  "%s", text);
        cr_assert(strstr(text, "x_total{v=\"back\\\\slash \\\"quoted\\\"\\nline\"} "
                               "1\n") != NULL,
                  "%s", text);
        free(text);
        sg_metrics_destroy(m);
}

Test(metrics, cardinality_cap_goes_to_other_and_counts)
{
        sg_metrics_t *m = sg_metrics_new();
        static const char *const l[] = {"route", NULL};
        sg_metric_t *c = sg_metrics_counter(m, "req_total", "R.", l, 2);
        sg_series_t *a = sg_metric_series1(c, "/a");
        sg_series_t *b = sg_metric_series1(c, "/b");
        sg_series_t *o1 = sg_metric_series1(c, "/c");
        sg_series_t *o2 = sg_metric_series1(c, "/d");
        cr_assert(a != b && a != o1 && b != o1);
        cr_assert_eq(o1, o2);
        /* Existing series are still found once the family is full. */
        cr_assert_eq(sg_metric_series1(c, "/a"), a);
        sg_series_inc(a);
        sg_series_add(o1, 5);
        char *text = render(m);
        cr_assert(strstr(text, "req_total{route=\"/a\"} 1\n"
                               "req_total{route=\"/b\"} 0\n"
                               "req_total{route=\"other\"} 5\n") != NULL,
                  "%s", text);
        cr_assert(strstr(text, "sg_metrics_series_dropped_total{metric="
                               "\"req_total\"} 2\n") != NULL,
                  "%s", text);
        cr_assert(strstr(text, "/c") == NULL && strstr(text, "/d") == NULL);
        free(text);

        /* A thousand ids in a label: still three series. */
        for (int i = 0; i < 1000; i++) {
                char id[32];
                snprintf(id, sizeof id, "user-%d", i);
                sg_series_inc(sg_metric_series1(c, id));
        }
        text = render(m);
        int lines = 0;
        for (char *p = text; (p = strstr(p, "\nreq_total{")) != NULL; p++)
                lines++;
        cr_assert_eq(lines, 3, "%s", text);
        cr_assert(strstr(text, "req_total{route=\"other\"} 1005\n") != NULL);
        free(text);
        sg_metrics_destroy(m);
}

Test(metrics, histogram_buckets_are_cumulative_and_count_matches_inf)
{
        sg_metrics_t *m = sg_metrics_new();
        sg_metric_t *h = sg_metrics_histogram(
            m, "sg_batch_size", "B.", NULL, 1, sg_metrics_size_buckets,
            sg_metrics_size_nbuckets);
        sg_series_t *s = sg_metric_series0(h);
        for (int i = 1; i <= 200; i++)
                sg_series_observe(s, i);
        char *text = render(m);
        cr_assert(strstr(text, "sg_batch_size_bucket{le=\"1\"} 1\n"));
        cr_assert(strstr(text, "sg_batch_size_bucket{le=\"5\"} 5\n"));
        cr_assert(strstr(text, "sg_batch_size_bucket{le=\"100\"} 100\n"));
        cr_assert(strstr(text, "sg_batch_size_bucket{le=\"500\"} 200\n"));
        cr_assert(strstr(text, "sg_batch_size_bucket{le=\"100000\"} 200\n"));
        cr_assert(strstr(text, "sg_batch_size_bucket{le=\"+Inf\"} 200\n"));
        cr_assert(strstr(text, "sg_batch_size_sum 20100\n"));
        cr_assert(strstr(text, "sg_batch_size_count 200\n"));
        cr_assert_float_eq(sg_series_value(s), 200, 0);
        free(text);
        sg_metrics_destroy(m);
}

Test(metrics, hidden_gauges_and_numbers)
{
        sg_metrics_t *m = sg_metrics_new();
        static const char *const l[] = {"partition", NULL};
        sg_metric_t *g = sg_metrics_gauge(m, "lag", "L.", l, 8);
        sg_series_t *p0 = sg_metric_series1(g, "0");
        sg_series_t *p1 = sg_metric_series1(g, "1");
        sg_series_set(p0, 0.1);
        sg_series_set(p1, -3);
        sg_series_hide(p1);
        char *text = render(m);
        cr_assert(strstr(text, "lag{partition=\"0\"} 0.1\n"), "%s", text);
        cr_assert(strstr(text, "partition=\"1\"") == NULL, "%s", text);
        free(text);
        sg_series_set(p1, 1e20);
        text = render(m);
        cr_assert(strstr(text, "lag{partition=\"1\"} 1e+20\n"), "%s", text);
        free(text);
        /* Counters never go down; gauges and counters ignore observe. */
        sg_metric_t *c = sg_metrics_counter(m, "c_total", "C.", NULL, 1);
        sg_series_add(sg_metric_series0(c), -1);
        sg_series_observe(sg_metric_series0(c), 1);
        cr_assert_float_eq(sg_series_value(sg_metric_series0(c)), 0, 0);
        sg_metrics_destroy(m);
}

Test(metrics, registration_rules)
{
        sg_metrics_t *m = sg_metrics_new();
        static const char *const l[] = {"a", NULL};
        static const char *const l2[] = {"b", NULL};
        static const char *const le[] = {"le", NULL};
        static const char *const bad[] = {"__x", NULL};
        sg_metric_t *c = sg_metrics_counter(m, "c_total", "C.", l, 2);
        cr_assert_not_null(c);
        cr_assert_eq(sg_metrics_counter(m, "c_total", "C.", l, 2), c);
        cr_assert_null(sg_metrics_counter(m, "c_total", "C.", l2, 2));
        cr_assert_null(sg_metrics_gauge(m, "c_total", "C.", l, 2));
        cr_assert_null(sg_metrics_counter(m, "1bad", "x", NULL, 1));
        cr_assert_null(sg_metrics_counter(m, "bad-name", "x", NULL, 1));
        cr_assert_null(sg_metrics_counter(m, "x_total", "x", bad, 1));
        double b[] = {1, 1};
        cr_assert_null(sg_metrics_histogram(m, "h", "x", NULL, 1, b, 2));
        cr_assert_null(sg_metrics_histogram(m, "h", "x", le, 1, b, 1));
        /* NULL-safety: code runs without a registry. */
        cr_assert_null(sg_metrics_counter(NULL, "x", "x", NULL, 1));
        sg_series_inc(sg_metric_series1(NULL, "x"));
        sg_metrics_destroy(NULL);
        sg_metrics_destroy(m);
}

Test(metrics, long_label_values_are_cut)
{
        sg_metrics_t *m = sg_metrics_new();
        static const char *const l[] = {"a", NULL};
        sg_metric_t *c = sg_metrics_counter(m, "c_total", "C.", l, 2);
        char v[300];
        memset(v, 'x', sizeof v - 1);
        v[sizeof v - 1] = '\0';
        sg_series_t *s = sg_metric_series1(c, v);
        cr_assert_eq(sg_metric_series1(c, v), s);
        char *text = render(m);
        char want[SG_METRICS_VALUE_MAX + 3];
        memset(want, 'x', SG_METRICS_VALUE_MAX);
        strcpy(want + SG_METRICS_VALUE_MAX, "\"}");
        cr_assert(strstr(text, want) != NULL);
        free(text);
        sg_metrics_destroy(m);
}

static void *bump(void *arg)
{
        sg_series_t **s = arg;
        for (int i = 0; i < 100000; i++) {
                sg_series_inc(s[0]);
                sg_series_observe(s[1], 0.001 * (i % 10));
        }
        return NULL;
}

Test(metrics, concurrent_updates_lose_nothing)
{
        sg_metrics_t *m = sg_metrics_new();
        sg_series_t *s[2] = {
            sg_metric_series0(sg_metrics_counter(m, "n_total", "N.", NULL, 1)),
            sg_metric_series0(sg_metrics_histogram(
                m, "d_seconds", "D.", NULL, 1, sg_metrics_seconds_buckets,
                sg_metrics_seconds_nbuckets))};
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
                cr_assert_eq(pthread_create(&t[i], NULL, bump, s), 0);
        for (int i = 0; i < 20; i++)
                free(render(m));
        for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        cr_assert_float_eq(sg_series_value(s[0]), 400000, 0);
        cr_assert_float_eq(sg_series_value(s[1]), 400000, 0);
        sg_metrics_destroy(m);
}

Test(metrics, process_basics)
{
        sg_metrics_t *m = sg_metrics_new();
        sg_metrics_process(m, "1.2.3");
        char *text = render(m);
        cr_assert(strstr(text, "sg_build_info{version=\"1.2.3\"} 1\n"));
        cr_assert(strstr(text, "\nprocess_start_time_seconds 1"));
        const char *rss = strstr(text, "\nprocess_resident_memory_bytes ");
        cr_assert_not_null(rss);
        cr_assert_gt(atof(rss + strlen("\nprocess_resident_memory_bytes ")),
                     1e5);
        free(text);
        sg_metrics_destroy(m);
}

Test(metrics, listen_addresses)
{
        char host[64];
        int port = -1;
        cr_assert_eq(sg_metrics_parse_listen("9100", host, sizeof host, &port), 0);
        cr_assert_str_eq(host, "127.0.0.1");
        cr_assert_eq(port, 9100);
        cr_assert_eq(sg_metrics_parse_listen(":0", host, sizeof host, &port), 0);
        cr_assert_str_eq(host, "127.0.0.1");
        cr_assert_eq(port, 0);
        cr_assert_eq(sg_metrics_parse_listen("localhost:80", host, sizeof host,
                                             &port), 0);
        cr_assert_str_eq(host, "localhost");
        cr_assert_eq(sg_metrics_parse_listen("[::1]:9", host, sizeof host,
                                             &port), 0);
        cr_assert_str_eq(host, "::1");
        cr_assert_eq(port, 9);
        const char *bad[] = {"", "x", "1:2:3", "::1:9", "[::1]9", "h:65536",
                             "h:-1", "h:", "a b:1"};
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                cr_assert_eq(sg_metrics_parse_listen(bad[i], host, sizeof host,
                                                     &port), -1, "%s", bad[i]);
}

Test(metrics, http_request_counters)
{
        sg_metrics_t *m = sg_metrics_new();
        sg_metrics_http_requests_t r;
        sg_metrics_http_requests_init(&r, m, 4);
        sg_metrics_http_count(&r, "/stats/summary", 200, 0.003);
        sg_metrics_http_count(&r, "/stats/summary", 200, 0.02);
        sg_metrics_http_count(&r, "/privacy-requests/{id}", 404, 0.001);
        char *text = render(m);
        cr_assert(strstr(text, "sg_http_requests_total{route=\"/privacy-"
                               "requests/{id}\",status=\"404\"} 1\n"
                               "sg_http_requests_total{route=\"/stats/"
                               "summary\",status=\"200\"} 2\n"),
                  "%s", text);
        cr_assert(strstr(text, "sg_http_request_duration_seconds_count{route="
                               "\"/stats/summary\"} 2\n"),
                  "%s", text);
        free(text);
        sg_metrics_destroy(m);
}
