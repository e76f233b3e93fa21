/* sg-retention's planner (retention/plan.c): the cutoffs (calendar months
 * with the day clamped, days), "entirely older" as the only reason to
 * drop, the months ahead, the DEFAULT's months created then dropped when
 * too old, and partitions that overlap a month. */
#include <criterion/criterion.h>

#include <string.h>

#include "plan.h"
#include "sg_time.h"

TestSuite(retention_plan, .timeout = 30);

static long long day(const char *s)
{
        long long d = 0;

        cr_assert_eq(sg_time_parse_date(s, &d), 0, "%s", s);
        return d;
}

static const char *fmt(long long d)
{
        static char buf[4][11];
        static int i;

        i = (i + 1) % 4;
        sg_time_format_day(d, buf[i]);
        return buf[i];
}

/* A monthly partition of events_raw starting at first (YYYY-MM-01). */
static sg_retention_part_t month_part(const char *first)
{
        sg_retention_part_t p;

        memset(&p, 0, sizeof(p));
        p.from = day(first);
        p.to = sg_retention_add_months(p.from, 1);
        sg_retention_name("events_raw", p.from, p.name, sizeof(p.name));
        return p;
}

static const sg_retention_policy_t EVENTS = {.table = "events_raw",
                                             .keep_months = 13,
                                             .ahead_months = 2};
static const sg_retention_policy_t DEAD = {.table = "events_rejected",
                                           .keep_days = 30,
                                           .ahead_months = 2};

Test(retention_plan, month_arithmetic)
{
        cr_assert_str_eq(fmt(sg_retention_month_of(day("2026-11-29"))),
                         "2026-11-01");
        cr_assert_str_eq(fmt(sg_retention_add_months(day("2026-11-01"), 2)),
                         "2027-01-01");
        cr_assert_str_eq(fmt(sg_retention_add_months(day("2026-01-01"), -13)),
                         "2024-12-01");
        cr_assert_str_eq(fmt(sg_retention_add_months(day("2026-01-01"), -12)),
                         "2025-01-01");
}

Test(retention_plan, cutoffs)
{
        cr_assert_str_eq(fmt(sg_retention_cutoff(&EVENTS, day("2026-11-29"))),
                         "2025-10-29");
        /* 31 March 2025 minus 13 months: 29 February 2024 (leap year). */
        cr_assert_str_eq(fmt(sg_retention_cutoff(&EVENTS, day("2025-03-31"))),
                         "2024-02-29");
        cr_assert_str_eq(fmt(sg_retention_cutoff(&DEAD, day("2026-11-29"))),
                         "2026-10-30");
}

Test(retention_plan, names)
{
        char name[SG_RETENTION_NAME_MAX];

        sg_retention_name("events_rejected", day("2027-01-01"), name,
                          sizeof(name));
        cr_assert_str_eq(name, "events_rejected_2027_01");
}

/* 15 months of partitions up to today's: the oldest (ending on the first
 * day of the cutoff's month) goes, the next one (holding the cutoff) and
 * the DEFAULT stay; the two months ahead are created. */
Test(retention_plan, drops_only_partitions_entirely_before_the_cutoff)
{
        sg_retention_part_t parts[16];
        sg_retention_action_t out[64];
        size_t n, np = 0;
        long long m = day("2025-09-01");

        for (int i = 0; i < 15; i++) {
                parts[np++] = month_part(fmt(m));
                m = sg_retention_add_months(m, 1);
        }
        memset(&parts[np], 0, sizeof(parts[np]));
        parts[np].is_default = true;
        strcpy(parts[np++].name, "events_raw_default");
        cr_assert_leq(sg_retention_plan_max(np, 0, &EVENTS), 64);

        n = sg_retention_plan(&EVENTS, parts, np, NULL, 0, day("2026-11-29"),
                              out);
        cr_assert_eq(n, 3);
        cr_assert_eq(out[0].kind, SG_RETENTION_CREATE);
        cr_assert_str_eq(out[0].partition, "events_raw_2026_12");
        cr_assert_eq(out[0].rows, 0);
        cr_assert_str_eq(out[1].partition, "events_raw_2027_01");
        cr_assert_eq(out[2].kind, SG_RETENTION_DROP);
        cr_assert_str_eq(out[2].partition, "events_raw_2025_09");
        cr_assert_eq(out[2].rows, -1);

        /* On 1 November 2026 the cutoff is 1 October 2025, where
         * September 2025 ends: entirely before it. */
        n = sg_retention_plan(&EVENTS, parts, np, NULL, 0, day("2026-11-01"),
                              out);
        cr_assert_eq(out[n - 1].kind, SG_RETENTION_DROP);
        cr_assert_str_eq(out[n - 1].partition, "events_raw_2025_09");
        cr_assert_eq(out[n - 2].kind, SG_RETENTION_CREATE);
        /* ... and the day before (cutoff 30 September 2025), it is not. */
        n = sg_retention_plan(&EVENTS, parts, np, NULL, 0, day("2026-10-31"),
                              out);
        for (size_t i = 0; i < n; i++)
                cr_assert_neq(out[i].kind, SG_RETENTION_DROP, "%s",
                              out[i].partition);
}

/* Rows in DEFAULT: reported, their month created (rows moved); a month
 * too old is then dropped as well. A month that an existing partition
 * overlaps is not created. */
Test(retention_plan, default_months)
{
        sg_retention_part_t parts[2] = {month_part("2026-11-01"),
                                        month_part("2026-12-01")};
        sg_retention_month_t months[2] = {{day("2020-01-01"), 4},
                                          {day("2027-05-01"), 5}};
        sg_retention_action_t out[32];
        size_t n;

        cr_assert_leq(sg_retention_plan_max(2, 2, &DEAD), 32);
        n = sg_retention_plan(&EVENTS, parts, 2, months, 2, day("2026-11-29"),
                              out);
        cr_assert_eq(n, 6);
        cr_assert_eq(out[0].kind, SG_RETENTION_DEFAULT_ROWS);
        cr_assert_str_eq(fmt(out[0].from), "2020-01-01");
        cr_assert_eq(out[0].rows, 4);
        cr_assert_eq(out[1].kind, SG_RETENTION_DEFAULT_ROWS);
        cr_assert_eq(out[2].kind, SG_RETENTION_CREATE);
        cr_assert_str_eq(out[2].partition, "events_raw_2020_01");
        cr_assert_eq(out[2].rows, 4);
        cr_assert_str_eq(out[3].partition, "events_raw_2027_01");
        cr_assert_str_eq(out[4].partition, "events_raw_2027_05");
        cr_assert_eq(out[4].rows, 5);
        cr_assert_eq(out[5].kind, SG_RETENTION_DROP);
        cr_assert_str_eq(out[5].partition, "events_raw_2020_01");
        cr_assert_eq(out[5].rows, 4);
}

Test(retention_plan, overlapping_partition_is_not_created_again)
{
        sg_retention_part_t wide;
        sg_retention_action_t out[16];
        size_t n;

        memset(&wide, 0, sizeof(wide));
        strcpy(wide.name, "events_rejected_q4");
        wide.from = day("2026-10-01");
        wide.to = day("2027-01-01");
        n = sg_retention_plan(&DEAD, &wide, 1, NULL, 0, day("2026-11-29"),
                              out);
        cr_assert_eq(n, 1);
        cr_assert_str_eq(out[0].partition, "events_rejected_2027_01");
}
