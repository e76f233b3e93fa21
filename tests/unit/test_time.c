/* sg_time: civil dates, RFC 3339, the PostgreSQL forms, the UTC date of
 * "now"; and sg_country. (The contract's timestamp verdicts are tested
 * through the validator in test_event.c.) */

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg_country.h"
#include "sg_time.h"

TestSuite(time, .timeout = 30);
TestSuite(country, .timeout = 30);

/* 2025-03-01 00:30:00 UTC: yesterday is 2025-02-28 (not a leap year). */
#define NOW_MAR1 1740789000LL

static bool valid_date(const char *s)
{
        long long day;

        return sg_time_parse_date(s, &day) == 0;
}

Test(time, utc_date_ignores_local_timezone)
{
        char d[11];

        setenv("TZ", "Pacific/Kiritimati", 1); /* UTC+14 */
        tzset();
        sg_time_utc_date(NOW_MAR1, 0, d);
        cr_assert_str_eq(d, "2025-03-01");
        sg_time_utc_date(NOW_MAR1, 1, d);
        cr_assert_str_eq(d, "2025-02-28");
        sg_time_utc_date(NOW_MAR1, 29, d);
        cr_assert_str_eq(d, "2025-01-31");
        unsetenv("TZ");
        tzset();
}


Test(time, calendar_validation)
{
        const char *good[] = {"2024-02-29", "2000-02-29", "0001-01-01",
                              "9999-12-31", "2025-12-31", "2025-04-30"};
        const char *bad[] = {"2025-02-29",  "1900-02-29", "2025-04-31",
                             "2025-13-01",  "2025-00-10", "2025-01-00",
                             "2025-01-32",  "0000-01-01", "2025-1-01",
                             "2025/01/01",  "20250101",   "2025-01-01x",
                             " 2025-01-01", "2025-01-0a", "",
                             "yesterday",   "+025-01-01", "2025-01--1"};

        for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
                cr_assert(valid_date(good[i]), "%s", good[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_not(valid_date(bad[i]), "%s", bad[i]);
        cr_assert_not(valid_date(NULL));
}


Test(time, parse_date_gives_the_day_number)
{
        long long day = 12345;

        cr_assert_eq(sg_time_parse_date("1970-01-01", &day), 0);
        cr_assert_eq(day, 0);
        cr_assert_eq(sg_time_parse_date("1969-12-31", &day), 0);
        cr_assert_eq(day, -1);
        cr_assert_eq(sg_time_parse_date("2026-01-02", &day), 0);
        cr_assert_eq(day, 20455);
        cr_assert_eq(sg_time_parse_date("2026-02-30", &day), -1);
        cr_assert_eq(day, 20455, "a rejected date leaves the output alone");
}

Test(time, every_day_round_trips)
{
        char out[11];

        /* 0001-01-01 .. 9999-12-31, through text and back */
        for (long long d = sg_time_days_from_civil(1, 1, 1);
             d <= sg_time_days_from_civil(9999, 12, 31); d += 7) {
                long long back = -1;

                sg_time_format_day(d, out);
                cr_assert_eq(sg_time_parse_date(out, &back), 0, "%s", out);
                cr_assert_eq(back, d, "%s", out);
        }
}

Test(time, rfc3339_offsets_and_year_bounds)
{
        long long us = 0, z = 0;

        cr_assert_eq(sg_time_parse_rfc3339("2026-01-02T00:30:00.5+01:00",
                                           2000, 2099, &us),
                     0);
        cr_assert_eq(sg_time_parse_rfc3339("2026-01-01T23:30:00.500000Z",
                                           2000, 2099, &z),
                     0);
        cr_assert_eq(us, z);
        cr_assert_eq(sg_time_parse_rfc3339("1999-12-31T23:59:59Z", 2000,
                                           2099, &us),
                     -1);
        cr_assert_eq(sg_time_parse_rfc3339("1999-12-31T23:59:59Z", 1900,
                                           2099, &us),
                     0);
        cr_assert_eq(sg_time_parse_rfc3339("2026-01-01 23:30:00Z", 2000,
                                           2099, &us),
                     -1, "space separator");
        cr_assert_eq(sg_time_parse_rfc3339("2026-06-30T23:59:60Z", 2000,
                                           2099, &us),
                     -1, "leap second");
}

Test(time, formats)
{
        char pg[40], rfc[28];
        long long us = 0;

        cr_assert_eq(sg_time_parse_rfc3339("2024-02-29T12:34:56.000789-02:00",
                                           2000, 2099, &us),
                     0);
        cr_assert_eq(sg_time_format_pg(us, pg, sizeof(pg)), 29);
        cr_assert_str_eq(pg, "2024-02-29 14:34:56.000789+00");
        sg_time_format_rfc3339(us, rfc);
        cr_assert_str_eq(rfc, "2024-02-29T14:34:56.000789Z");
        sg_time_format_rfc3339(-1, rfc);
        cr_assert_str_eq(rfc, "1969-12-31T23:59:59.999999Z");
        cr_assert_eq(sg_time_utc_day(-1), -1);
}

Test(country, codes_and_subdivisions)
{
        const char *ok[] = {"DE", "US-CA", "FR-75", "GB", "CN-BJ", "AQ"};
        const char *bad[] = {"UK", "EL", "XK", "de", "D", "DEU", "US-",
                             "US-CAXX", "US_CA", "US-ca"};

        for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
                cr_assert(sg_country_valid(ok[i], strlen(ok[i])), "%s", ok[i]);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                cr_assert_not(sg_country_valid(bad[i], strlen(bad[i])), "%s",
                              bad[i]);
        cr_assert(sg_country_is_eu("DE-BY"));
        cr_assert_not(sg_country_is_eu("DEX"));
        cr_assert(sg_country_is_us_ca("US-CA"));
        cr_assert_not(sg_country_is_us_ca("US-NY"));
        cr_assert_not(sg_country_is_us_ca(NULL));
}
