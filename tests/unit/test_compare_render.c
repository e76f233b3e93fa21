/* compare_render: the diff of batch vs streaming as a text table,
 * Markdown and JSON, from plain structs (no database). */

#include <criterion/criterion.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "compare_render.h"

TestSuite(compare_render, .timeout = 30);

static const sg_compare_row_t daily_rows[] = {
    /* a value differs */
    {.key = {"2025-06-01", "purchase"},
     .in_batch = true,
     .in_streaming = true,
     .batch = {"120", "3000.00"},
     .streaming = {"121", "3010.50"},
     .delta = {"1", "10.50"}},
    /* on the batch side only */
    {.key = {"2025-06-02", "play"},
     .in_batch = true,
     .batch = {"40", "0.00"},
     .delta = {"-40", "0.00"}},
};

static const sg_compare_row_t content_rows[] = {
    /* on the streaming side only; a key with markup and a control char */
    {.key = {"2025-06-03", "c|1*\n"},
     .in_streaming = true,
     .streaming = {"7", "1", "300"},
     .delta = {"7", "1", "300"}},
};

static const char *const unbatched[] = {"2025-06-04", "2025-06-05"};

static const sg_compare_partition_t partitions[] = {
    {.partition = 0,
     .raw_offset = 1000,
     .stream_offset = 990,
     .events = 500,
     .duplicates = 2},
    {.partition = 1,
     .raw_offset = 800,
     .stream_offset = -1,
     .events = 0,
     .duplicates = 0},
};

static sg_compare_table_t tables[3];
static sg_compare_result_t res;

/* A result with one difference of each kind, capped listings, one date
 * never batched out of three, lag, duplicates and a gap. */
static void setup_diff(void)
{
        memset(tables, 0, sizeof(tables));
        tables[0] = (sg_compare_table_t){
            .name = "daily",
            .nkeys = 2,
            .nvalues = 2,
            .key_names = {"event_date", "event_type"},
            .value_names = {"total_events", "total_amount"},
            .value_kinds = {SG_COMPARE_INT, SG_COMPARE_DECIMAL},
            .compared = 16,
            .differences = 5, /* 2 listed, 3 more */
            .nrows = 2,
            .rows = daily_rows};
        tables[1] = (sg_compare_table_t){
            .name = "country_daily",
            .nkeys = 3,
            .nvalues = 2,
            .key_names = {"event_date", "country", "event_type"},
            .value_names = {"total_events", "total_amount"},
            .value_kinds = {SG_COMPARE_INT, SG_COMPARE_DECIMAL},
            .compared = 40};
        tables[2] = (sg_compare_table_t){
            .name = "content_daily",
            .nkeys = 2,
            .nvalues = 3,
            .key_names = {"event_date", "content_id"},
            .value_names = {"plays", "playback_errors", "watch_seconds"},
            .value_kinds = {SG_COMPARE_INT, SG_COMPARE_INT, SG_COMPARE_INT},
            .compared = 9,
            .differences = 1,
            .nrows = 1,
            .rows = content_rows};
        memset(&res, 0, sizeof(res));
        res.range = "2025-06-01..2025-06-07";
        res.from = "2025-06-01";
        res.to = "2025-06-07";
        res.ntables = 3;
        res.tables = tables;
        res.unbatched = 3;
        res.nunbatched_listed = 2;
        res.unbatched_dates = unbatched;
        res.topic = "user_events";
        res.raw_group = "sg-raw-store";
        res.stream_group = "sg-stream-metrics";
        res.npartitions = 2;
        res.partitions = partitions;
        res.stream_gaps = 1;
        res.stream_lost = 10;
        res.duplicates = 2;
        res.duplicates_in_range = 1;
}

/* The same tables, all equal, nothing else to note. */
static void setup_equal(void)
{
        setup_diff();
        tables[0].differences = tables[0].nrows = 0;
        tables[2].differences = tables[2].nrows = 0;
        res.unbatched = 0;
        res.nunbatched_listed = 0;
        res.npartitions = 0;
        res.stream_gaps = res.stream_lost = 0;
        res.duplicates = res.duplicates_in_range = 0;
}

static char *render(sg_compare_format_t fmt)
{
        char *out = sg_compare_render(&res, fmt);

        cr_assert_not_null(out);
        return out;
}

static void assert_has(const char *out, const char *want)
{
        cr_assert(strstr(out, want) != NULL, "'%s' not in:\n%s", want, out);
}

static void assert_lacks(const char *out, const char *unwanted)
{
        cr_assert(strstr(out, unwanted) == NULL, "'%s' in:\n%s", unwanted, out);
}

/* The last line (without its newline). */
static const char *last_line(char *out)
{
        size_t n = strlen(out);

        cr_assert(n > 0 && out[n - 1] == '\n');
        out[n - 1] = '\0';
        return strrchr(out, '\n') ? strrchr(out, '\n') + 1 : out;
}

Test(compare_render, format_parse)
{
        sg_compare_format_t f = SG_COMPARE_JSON;

        cr_assert_eq(sg_compare_format_parse("table", &f), 0);
        cr_assert_eq(f, SG_COMPARE_TABLE);
        cr_assert_eq(sg_compare_format_parse("markdown", &f), 0);
        cr_assert_eq(f, SG_COMPARE_MARKDOWN);
        cr_assert_eq(sg_compare_format_parse("json", &f), 0);
        cr_assert_eq(f, SG_COMPARE_JSON);
        cr_assert_eq(sg_compare_format_parse("JSON", &f), -1);
        cr_assert_eq(sg_compare_format_parse("", &f), -1);
        cr_assert_eq(sg_compare_format_parse("csv", &f), -1);
}

Test(compare_render, counts_every_difference, .init = setup_diff)
{
        cr_assert_eq(sg_compare_differences(&res), 6);
        setup_equal();
        cr_assert_eq(sg_compare_differences(&res), 0);
}

Test(compare_render, text_equal, .init = setup_equal)
{
        char *out = render(SG_COMPARE_TABLE);

        assert_has(out, "dates 2025-06-01..2025-06-07");
        assert_has(out, "daily (metrics_batch_daily vs "
                        "metrics_streaming_daily): 16 rows compared, 0 "
                        "differences\n");
        assert_has(out, "no offsets stored");
        assert_lacks(out, "note:");
        cr_assert_str_eq(last_line(out),
                         "verdict: EQUAL: 0 differences in 3 tables (65 rows "
                         "compared)");
        free(out);
}

Test(compare_render, text_lists_rows_with_both_sides_and_delta,
     .init = setup_diff)
{
        char *out = render(SG_COMPARE_TABLE);

        assert_has(out, "16 rows compared, 5 differences\n");
        assert_has(out, "9 rows compared, 1 difference\n");
        assert_has(out, "  event_date  event_type  side       total_events  "
                        "total_amount\n");
        assert_has(out, "  2025-06-01  purchase    batch               120  "
                        "     3000.00\n"
                        "                          streaming           121  "
                        "     3010.50\n"
                        "                          delta                +1  "
                        "      +10.50\n");
        /* the missing side */
        assert_has(out, "  2025-06-02  play        batch                40  "
                        "        0.00\n"
                        "                          streaming      (no row)\n"
                        "                          delta               -40  "
                        "        0.00\n");
        assert_has(out, "  ... and 3 more not listed (--max-rows)\n");
        /* control characters never break a line */
        assert_has(out, "c|1*?");
        cr_assert_str_eq(last_line(out),
                         "verdict: DIFFERENT: 6 differences (daily 5, "
                         "country_daily 0, content_daily 1)");
        free(out);
}

Test(compare_render, text_has_no_trailing_blanks, .init = setup_diff)
{
        char *out = render(SG_COMPARE_TABLE);

        cr_assert(strstr(out, " \n") == NULL, "trailing blank in:\n%s", out);
        free(out);
}

Test(compare_render, text_consumer_progress_and_notes, .init = setup_diff)
{
        char *out = render(SG_COMPARE_TABLE);

        assert_has(out, "consumer progress (topic user_events)");
        assert_has(out, "partition  sg-raw-store  sg-stream-metrics  "
                        "streaming behind");
        /* partition 0: both stored; partition 1: nothing for streaming */
        assert_has(out, "        0          1000                990  "
                        "              10");
        assert_has(out, "        1           800                  -  "
                        "             800");
        assert_has(out, "offset_gaps: sg-raw-store 0 (0 events lost), "
                        "sg-stream-metrics 1 (10 events lost)\n");
        assert_has(out, "note: sg-batch-metrics has never run for 3 of the "
                        "selected dates (metrics_batch_runs): 2025-06-04, "
                        "2025-06-05, ...;");
        assert_has(out, "note: sg-stream-metrics is behind sg-raw-store on 2 "
                        "partitions (810 offsets)");
        assert_has(out, "note: events_duplicates holds 2 upstream duplicates "
                        "(1 of them for events in the selected dates)");
        assert_has(out, "but the streaming path counts every delivery");
        free(out);
}

Test(compare_render, raw_store_behind_is_noted, .init = setup_equal)
{
        static const sg_compare_partition_t p[] = {
            {.partition = 3, .raw_offset = 5, .stream_offset = 9}};
        char *out;

        res.npartitions = 1;
        res.partitions = p;
        out = render(SG_COMPARE_TABLE);
        assert_has(out, "note: sg-raw-store is behind sg-stream-metrics on 1 "
                        "partition (4 offsets)");
        assert_lacks(out, "sg-stream-metrics is behind");
        free(out);
}

Test(compare_render, markdown, .init = setup_diff)
{
        char *out = render(SG_COMPARE_MARKDOWN);

        assert_has(out, "# Batch vs streaming metrics: 2025-06-01..2025-06-07");
        assert_has(out, "## daily (metrics_batch_daily vs "
                        "metrics_streaming_daily): 16 rows compared, 5 "
                        "differences\n\n");
        /* one table implementation (sg_md): padded columns, alignment
         * in the delimiter row */
        assert_has(out, "| event_date | event_type | status     | "
                        "total_events batch | total_events streaming | "
                        "total_events delta | total_amount batch | "
                        "total_amount streaming | total_amount delta |\n"
                        "| :--------- | :--------- | :--------- | "
                        "-----------------: | ---------------------: | "
                        "-----------------: | -----------------: | "
                        "---------------------: | -----------------: |\n");
        assert_has(out, "| 2025-06-01 | purchase   | differs    | "
                        "               120 |                    121 | "
                        "                +1 |            3000.00 | "
                        "               3010.50 |             +10.50 |\n");
        assert_has(out, "| 2025-06-02 | play       | batch only | "
                        "                40 |                      - | "
                        "               -40 |               0.00 | "
                        "                     - |               0.00 |\n");
        /* data is escaped: the pipe cannot end the cell */
        assert_has(out, "| 2025-06-03 | c\\|1\\*?    | streaming only | "
                        "          - |               7 |          +7 |");
        assert_has(out, "... and 3 more not listed (`--max-rows`).");
        assert_has(out, "## Consumer progress (topic user_events)");
        assert_has(out, "|         0 |         1000 |               990 | "
                        "              10 |                      500 | "
                        "         2 |\n");
        assert_has(out, "- sg-batch-metrics has never run for 3");
        cr_assert_str_eq(last_line(out),
                         "**Verdict: DIFFERENT: 6 differences (daily 5, "
                         "country_daily 0, content_daily 1)**");
        free(out);
}

Test(compare_render, json, .init = setup_diff)
{
        char *out = render(SG_COMPARE_JSON);
        json_error_t jerr;
        json_t *root = json_loads(out, 0, &jerr), *t, *row, *p;

        cr_assert_not_null(root, "invalid JSON (%s):\n%s", jerr.text, out);
        cr_assert(json_is_false(json_object_get(root, "equal")));
        cr_assert_eq(json_integer_value(json_object_get(root, "differences")),
                     6);
        cr_assert_str_eq(json_string_value(json_object_get(root, "from")),
                         "2025-06-01");
        cr_assert_eq(json_array_size(json_object_get(root, "tables")), 3);

        t = json_array_get(json_object_get(root, "tables"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(t, "batch_table")),
                         "metrics_batch_daily");
        cr_assert_eq(json_integer_value(json_object_get(t, "differences")), 5);
        cr_assert_eq(json_integer_value(json_object_get(t, "listed")), 2);
        row = json_array_get(json_object_get(t, "rows"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(row, "status")),
                         "differs");
        cr_assert_str_eq(json_string_value(json_object_get(
                             json_object_get(row, "key"), "event_type")),
                         "purchase");
        /* counts are numbers, amounts exact strings */
        cr_assert_eq(json_integer_value(json_object_get(
                         json_object_get(row, "streaming"), "total_events")),
                     121);
        cr_assert_str_eq(json_string_value(json_object_get(
                             json_object_get(row, "delta"), "total_amount")),
                         "10.50");
        row = json_array_get(json_object_get(t, "rows"), 1);
        cr_assert_str_eq(json_string_value(json_object_get(row, "status")),
                         "batch_only");
        cr_assert(json_is_null(json_object_get(row, "streaming")));

        t = json_array_get(json_object_get(root, "tables"), 2);
        row = json_array_get(json_object_get(t, "rows"), 0);
        cr_assert_str_eq(json_string_value(json_object_get(row, "status")),
                         "streaming_only");
        cr_assert(json_is_null(json_object_get(row, "batch")));
        cr_assert_str_eq(json_string_value(json_object_get(
                             json_object_get(row, "key"), "content_id")),
                         "c|1*\n");

        cr_assert_eq(json_integer_value(json_object_get(
                         json_object_get(root, "never_batched"), "count")),
                     3);
        p = json_array_get(
            json_object_get(json_object_get(root, "consumers"), "partitions"),
            1);
        cr_assert_eq(json_integer_value(json_object_get(
                         json_object_get(p, "next_offset"), "sg-raw-store")),
                     800);
        cr_assert(json_is_null(json_object_get(
            json_object_get(p, "next_offset"), "sg-stream-metrics")));
        cr_assert_eq(json_integer_value(json_object_get(
                         json_object_get(
                             json_object_get(json_object_get(root, "consumers"),
                                             "offset_gaps"),
                             "sg-stream-metrics"),
                         "lost_events")),
                     10);
        json_decref(root);
        free(out);
}

Test(compare_render, json_equal, .init = setup_equal)
{
        char *out = render(SG_COMPARE_JSON);
        json_t *root = json_loads(out, 0, NULL);

        cr_assert_not_null(root);
        cr_assert(json_is_true(json_object_get(root, "equal")));
        cr_assert_eq(
            json_array_size(json_object_get(
                json_array_get(json_object_get(root, "tables"), 0), "rows")),
            0);
        json_decref(root);
        free(out);
}

Test(compare_render, json_all_dates_has_no_bounds, .init = setup_equal)
{
        char *out;
        json_t *root;

        res.all = true;
        res.range = "all dates";
        res.from = res.to = NULL;
        out = render(SG_COMPARE_JSON);
        root = json_loads(out, 0, NULL);
        cr_assert_not_null(root);
        cr_assert(json_is_true(json_object_get(root, "all")));
        cr_assert(json_is_null(json_object_get(root, "from")));
        json_decref(root);
        free(out);
        out = render(SG_COMPARE_TABLE);
        assert_has(out, "batch vs streaming metrics, all dates\n");
        free(out);
}
