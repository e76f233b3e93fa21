/* sg_daterange: --date / --from / --to / --all, the yesterday-UTC
 * default, calendar validation and from <= to. */

#include <criterion/criterion.h>

#include <string.h>

#include "sg_daterange.h"

TestSuite(daterange, .timeout = 30);

/* 2025-03-01 00:30:00 UTC: yesterday is 2025-02-28 (not a leap year). */
#define NOW_MAR1 ((time_t)1740789000)

static int resolve(const char *date, const char *from, const char *to, bool all,
                   time_t now, sg_daterange_t *dr, char *err, size_t errsz)
{
        sg_daterange_args_t args;

        sg_daterange_args_init(&args);
        args.date = date;
        args.from = from;
        args.to = to;
        args.all = all;
        err[0] = '\0';
        return sg_daterange_resolve(&args, now, dr, err, errsz);
}

static void expect_range(const char *date, const char *from, const char *to,
                         const char *want_from, const char *want_to)
{
        sg_daterange_t dr;
        char err[256];

        cr_assert_eq(
            resolve(date, from, to, false, NOW_MAR1, &dr, err, sizeof(err)), 0,
            "rejected: %s", err);
        cr_assert_not(dr.all);
        cr_assert_str_eq(dr.from, want_from);
        cr_assert_str_eq(dr.to, want_to);
}

static void expect_error(const char *date, const char *from, const char *to,
                         bool all, const char *fragment)
{
        sg_daterange_t dr;
        char err[256];

        cr_assert_eq(
            resolve(date, from, to, all, NOW_MAR1, &dr, err, sizeof(err)), -1,
            "accepted date=%s from=%s to=%s all=%d", date ? date : "-",
            from ? from : "-", to ? to : "-", all);
        cr_assert(strstr(err, fragment) != NULL, "error '%s' lacks '%s'", err,
                  fragment);
}

Test(daterange, default_is_yesterday_utc)
{
        expect_range(NULL, NULL, NULL, "2025-02-28", "2025-02-28");
}

Test(daterange, yesterday_across_year_and_leap_day)
{
        sg_daterange_t dr;
        char err[256];

        /* 2025-01-01 00:00:00 UTC */
        cr_assert_eq(resolve(NULL, NULL, NULL, false, (time_t)1735689600, &dr,
                             err, sizeof(err)),
                     0);
        cr_assert_str_eq(dr.from, "2024-12-31");
        /* 2024-03-01 23:59:59 UTC: yesterday is the leap day */
        cr_assert_eq(resolve(NULL, NULL, NULL, false, (time_t)1709337599, &dr,
                             err, sizeof(err)),
                     0);
        cr_assert_str_eq(dr.from, "2024-02-29");
        cr_assert_str_eq(dr.to, "2024-02-29");
}

Test(daterange, single_date)
{
        expect_range("2025-06-01", NULL, NULL, "2025-06-01", "2025-06-01");
        expect_range("2024-02-29", NULL, NULL, "2024-02-29", "2024-02-29");
}

Test(daterange, from_to)
{
        expect_range(NULL, "2025-01-01", "2025-01-31", "2025-01-01",
                     "2025-01-31");
        expect_range(NULL, "2025-01-05", "2025-01-05", "2025-01-05",
                     "2025-01-05");
        /* --from alone runs to yesterday */
        expect_range(NULL, "2025-02-01", NULL, "2025-02-01", "2025-02-28");
        expect_range(NULL, "2025-02-28", NULL, "2025-02-28", "2025-02-28");
}

Test(daterange, all)
{
        sg_daterange_t dr;
        char err[256], desc[64];

        cr_assert_eq(
            resolve(NULL, NULL, NULL, true, NOW_MAR1, &dr, err, sizeof(err)),
            0);
        cr_assert(dr.all);
        cr_assert_str_eq(sg_daterange_lower(&dr), "-infinity");
        cr_assert_str_eq(sg_daterange_upper(&dr), "infinity");
        sg_daterange_describe(&dr, desc, sizeof(desc));
        cr_assert_str_eq(desc, "all dates");
}

Test(daterange, describe_and_bounds)
{
        sg_daterange_t dr;
        char err[256], desc[64];

        cr_assert_eq(resolve("2025-06-01", NULL, NULL, false, NOW_MAR1, &dr,
                             err, sizeof(err)),
                     0);
        sg_daterange_describe(&dr, desc, sizeof(desc));
        cr_assert_str_eq(desc, "2025-06-01");
        cr_assert_str_eq(sg_daterange_lower(&dr), "2025-06-01");
        cr_assert_str_eq(sg_daterange_upper(&dr), "2025-06-01");
        cr_assert_eq(resolve(NULL, "2025-06-01", "2025-06-07", false, NOW_MAR1,
                             &dr, err, sizeof(err)),
                     0);
        sg_daterange_describe(&dr, desc, sizeof(desc));
        cr_assert_str_eq(desc, "2025-06-01..2025-06-07");
}

Test(daterange, bad_values_name_the_flag)
{
        expect_error("2025-02-30", NULL, NULL, false, "--date");
        expect_error(NULL, "2025-2-01", NULL, false, "--from");
        expect_error(NULL, "2025-02-01", "tomorrow", false, "--to");
}

Test(daterange, from_after_to)
{
        expect_error(NULL, "2025-02-02", "2025-02-01", false,
                     "--from 2025-02-02 is after --to 2025-02-01");
        /* --from after the default --to (yesterday) */
        expect_error(NULL, "2025-03-01", NULL, false, "yesterday");
}

Test(daterange, conflicting_flags)
{
        expect_error("2025-01-01", NULL, NULL, true, "--all");
        expect_error(NULL, "2025-01-01", NULL, true, "--all");
        expect_error(NULL, NULL, "2025-01-01", true, "--all");
        expect_error("2025-01-01", "2025-01-01", NULL, false, "--date");
        expect_error("2025-01-01", NULL, "2025-01-02", false, "--date");
        expect_error(NULL, NULL, "2025-01-02", false, "--to needs --from");
}

Test(daterange, options_table_records_the_date_flags)
{
        sg_daterange_args_t args;
        sg_opt_t opts[5];
        sg_cli_common_t common;
        char *argv[] = {"sg-x", "--date", "2025-01-01", "--from",
                        "2025-01-02", "--to=2025-01-03", "--all", NULL};
        sg_cli_t cli = {.prog = "sg-x", .tables = {opts}};
        int first = -1;

        sg_daterange_args_init(&args);
        sg_daterange_opts(&args, opts);
        sg_cli_common_init(&common);
        cr_assert_eq(sg_cli_parse(&cli, &common, 7, argv, &first),
                     SG_CLI_RUN);
        cr_assert_eq(first, 7);
        cr_assert_str_eq(args.date, "2025-01-01");
        cr_assert_str_eq(args.from, "2025-01-02");
        cr_assert_str_eq(args.to, "2025-01-03");
        cr_assert(args.all);
}
