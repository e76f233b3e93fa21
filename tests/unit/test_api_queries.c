/* sg-api's query parameters (api/queries.h): the path patterns, dates and
 * ranges, integers, and the /compliance/flags cursor (a round trip, and
 * every tampered or foreign cursor refused). Problem details name the
 * parameter and never echo the value. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "queries.h"
#include "sg_time.h"

TestSuite(api_queries, .timeout = 30);

static long long day(const char *s)
{
        long long d;

        cr_assert_eq(sg_time_parse_date(s, &d), 0, "%s", s);
        return d;
}

Test(api_queries, content_id_pattern)
{
        char long64[65], long65[66];

        memset(long64, 'a', 64);
        long64[64] = '\0';
        memset(long65, 'a', 65);
        long65[65] = '\0';
        cr_assert(sg_api_valid_content_id("c-0042"));
        cr_assert(sg_api_valid_content_id("A.b:c_d-9"));
        cr_assert(sg_api_valid_content_id(long64));
        cr_assert_not(sg_api_valid_content_id(long65));
        cr_assert_not(sg_api_valid_content_id(""));
        cr_assert_not(sg_api_valid_content_id(NULL));
        cr_assert_not(sg_api_valid_content_id("c 1"));
        cr_assert_not(sg_api_valid_content_id("c/1"));
        cr_assert_not(sg_api_valid_content_id("c'1"));
        cr_assert_not(sg_api_valid_content_id("c%1"));
        cr_assert_not(sg_api_valid_content_id("caf\xc3\xa9"));
}

Test(api_queries, country_pattern)
{
        cr_assert(sg_api_valid_country("DE"));
        cr_assert(sg_api_valid_country("US-CA"));
        cr_assert(sg_api_valid_country("FR-75"));
        cr_assert(sg_api_valid_country("GB-ENG"));
        cr_assert_not(sg_api_valid_country("de"));
        cr_assert_not(sg_api_valid_country("D"));
        cr_assert_not(sg_api_valid_country("DEU"));
        cr_assert_not(sg_api_valid_country("US-"));
        cr_assert_not(sg_api_valid_country("US-CAXX"));
        cr_assert_not(sg_api_valid_country("US-ca"));
        cr_assert_not(sg_api_valid_country("US_CA"));
        cr_assert_not(sg_api_valid_country(""));
        cr_assert_not(sg_api_valid_country(NULL));
}

Test(api_queries, rule_pattern)
{
        cr_assert(sg_api_valid_rule("eu_no_consent"));
        cr_assert_not(sg_api_valid_rule("EU"));
        cr_assert_not(sg_api_valid_rule("a-b"));
        cr_assert_not(sg_api_valid_rule("x' OR '1'='1"));
        cr_assert_not(sg_api_valid_rule(""));
}

Test(api_queries, positive_ids)
{
        long long id = -1;

        cr_assert_eq(sg_api_parse_id("17", &id), 0);
        cr_assert_eq(id, 17);
        cr_assert_eq(sg_api_parse_id("9223372036854775807", &id), 0);
        cr_assert_eq(id, 9223372036854775807LL);
        id = 5;
        cr_assert_eq(sg_api_parse_id("9223372036854775808", &id), -1);
        cr_assert_eq(sg_api_parse_id("0", &id), -1);
        cr_assert_eq(sg_api_parse_id("017", &id), -1);
        cr_assert_eq(sg_api_parse_id("-1", &id), -1);
        cr_assert_eq(sg_api_parse_id("+1", &id), -1);
        cr_assert_eq(sg_api_parse_id("1 ", &id), -1);
        cr_assert_eq(sg_api_parse_id("1e3", &id), -1);
        cr_assert_eq(sg_api_parse_id("", &id), -1);
        cr_assert_eq(sg_api_parse_id(NULL, &id), -1);
        cr_assert_eq(id, 5, "a refused id changed the output");
}

static void dates_ok(const char *from, const char *to, const char *want_from,
                     const char *want_to)
{
        sg_api_problem_t p = {0};
        char f[11], t[11];

        cr_assert_eq(sg_api_parse_dates(from, to, day("2026-11-29"), f, t, &p),
                     0, "refused %s..%s: %s", from ? from : "-",
                     to ? to : "-", p.detail);
        cr_assert_str_eq(f, want_from);
        cr_assert_str_eq(t, want_to);
}

static void dates_bad(const char *from, const char *to, const char *names)
{
        sg_api_problem_t p = {0};
        char f[11], t[11];

        cr_assert_eq(sg_api_parse_dates(from, to, day("2026-11-29"), f, t, &p),
                     400, "accepted %s..%s", from ? from : "-", to ? to : "-");
        cr_assert_eq(p.status, 400);
        cr_assert_str_eq(p.code, "invalid_parameter");
        cr_assert(strncmp(p.detail, names, strlen(names)) == 0,
                  "detail '%s' does not start with '%s'", p.detail, names);
        if (from && strlen(from) > 3)
                cr_assert_null(strstr(p.detail, from), "detail echoes from");
        if (to && strlen(to) > 3)
                cr_assert_null(strstr(p.detail, to), "detail echoes to");
}

Test(api_queries, dates_default_to_today_and_are_checked)
{
        dates_ok(NULL, NULL, "2026-11-29", "2026-11-29");
        dates_ok("2026-11-01", NULL, "2026-11-01", "2026-11-29");
        dates_ok("2024-02-29", "2024-02-29", "2024-02-29", "2024-02-29");
        /* 366 days inclusive: a leap year. */
        dates_ok("2024-01-01", "2024-12-31", "2024-01-01", "2024-12-31");
        dates_bad("2024-01-01", "2025-01-01", "from, to");
        dates_bad("2026-11-30", NULL, "to");
        dates_bad("2026-11-28", "2026-11-27", "to");
        dates_bad("2025-02-29", "2025-03-01", "from");
        dates_bad("2026-1-01", NULL, "from");
        dates_bad("2026-11-01 ", NULL, "from");
        dates_bad("2026-11-01T00:00:00Z", NULL, "from");
        dates_bad(NULL, "someone@example.com", "to");
        dates_bad(NULL, "", "to");
}

Test(api_queries, integers_in_range)
{
        sg_api_problem_t p = {0};
        long long v = -7;

        cr_assert_eq(sg_api_parse_int("limit", NULL, 1, 500, 50, &v, &p), 0);
        cr_assert_eq(v, 50);
        cr_assert_eq(sg_api_parse_int("limit", "1", 1, 500, 50, &v, &p), 0);
        cr_assert_eq(v, 1);
        cr_assert_eq(sg_api_parse_int("limit", "500", 1, 500, 50, &v, &p), 0);
        cr_assert_eq(v, 500);
        v = -7;
        const char *bad[] = {"0",  "501", "-1",  "+5", " 5",  "5 ",
                             "5x", "",    "1e2", "0x10", "99999999999999999999"};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                memset(&p, 0, sizeof(p));
                cr_assert_eq(
                    sg_api_parse_int("limit", bad[i], 1, 500, 50, &v, &p), 400,
                    "accepted '%s'", bad[i]);
                cr_assert_str_eq(p.code, "invalid_parameter");
                cr_assert(strncmp(p.detail, "limit:", 6) == 0, "%s", p.detail);
        }
        cr_assert_eq(v, -7, "a refused value changed the output");
}

#define ID "0b5e3a52-7c1d-8e2f-9a3b-4c5d6e7f8091"

Test(api_queries, cursor_round_trip)
{
        const long long ts[] = {0, 1, 946684800000000LL, 1796000000123456LL,
                                7258118399999999LL};
        char c[SG_API_CURSOR_MAX], id[37];
        long long back;

        for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
                sg_api_cursor_encode(ts[i], ID, c);
                cr_assert(strlen(c) < SG_API_CURSOR_MAX);
                cr_assert_null(strpbrk(c, "+/=.\"' "), "not URL-safe: %s", c);
                cr_assert_eq(sg_api_cursor_decode(c, &back, id), 0, "%s", c);
                cr_assert_eq(back, ts[i]);
                cr_assert_str_eq(id, ID);
        }
}

/* base64url of raw[0..n), for forged cursors. */
static void b64(const char *raw, size_t n, char *out)
{
        static const char A[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrst"
                                "uvwxyz0123456789-_";
        size_t i, o = 0;

        for (i = 0; i + 2 < n; i += 3) {
                unsigned v = (unsigned char)raw[i] << 16 |
                             (unsigned char)raw[i + 1] << 8 |
                             (unsigned char)raw[i + 2];
                out[o++] = A[v >> 18 & 63];
                out[o++] = A[v >> 12 & 63];
                out[o++] = A[v >> 6 & 63];
                out[o++] = A[v & 63];
        }
        if (n - i == 1) {
                unsigned v = (unsigned char)raw[i] << 16;
                out[o++] = A[v >> 18 & 63];
                out[o++] = A[v >> 12 & 63];
        } else if (n - i == 2) {
                unsigned v = (unsigned char)raw[i] << 16 |
                             (unsigned char)raw[i + 1] << 8;
                out[o++] = A[v >> 18 & 63];
                out[o++] = A[v >> 12 & 63];
                out[o++] = A[v >> 6 & 63];
        }
        out[o] = '\0';
}

static void cursor_bad(const char *c)
{
        long long ts = 42;
        char id[37] = "unchanged";

        cr_assert_eq(sg_api_cursor_decode(c, &ts, id), -1, "accepted '%s'",
                     c ? c : "(null)");
        cr_assert_eq(ts, 42);
        cr_assert_str_eq(id, "unchanged");
}

static void raw_bad(const char *raw)
{
        char c[512];

        b64(raw, strlen(raw), c);
        cursor_bad(c);
}

Test(api_queries, tampered_cursors_are_refused)
{
        char c[SG_API_CURSOR_MAX], t[SG_API_CURSOR_MAX + 8];
        size_t n;

        sg_api_cursor_encode(1796000000123456LL, ID, c);
        n = strlen(c);
        /* Every single-character change of a valid cursor that still
         * decodes to a valid position is a different position; any change
         * that breaks the structure is refused. Check the latter for
         * characters outside the alphabet, truncation and extension. */
        for (size_t i = 0; i < n; i++) {
                strcpy(t, c);
                t[i] = '+';
                cursor_bad(t);
                t[i] = '=';
                cursor_bad(t);
                t[i] = '.';
                cursor_bad(t);
        }
        for (size_t k = 1; k < n; k++) {
                snprintf(t, sizeof(t), "%.*s", (int)k, c);
                cursor_bad(t);
        }
        snprintf(t, sizeof(t), "%s=", c);
        cursor_bad(t);
        snprintf(t, sizeof(t), "%sAAAA", c);
        cursor_bad(t);
        cursor_bad("");
        cursor_bad(NULL);
        /* The same bytes, encoded non-canonically: "<16 digits>.<uuid>" is
         * 53 bytes, so the last character carries 2 unused low bits; set
         * one. */
        {
                static const char A[] =
                    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                    "0123456789-_";
                cr_assert_eq(n % 4, 3);
                strcpy(t, c);
                t[n - 1] = A[(strchr(A, t[n - 1]) - A) ^ 1];
                cursor_bad(t);
        }
        /* Well-formed base64url of text that is not a position. */
        raw_bad("1796000000123456");
        raw_bad("1796000000123456.");
        raw_bad("." ID);
        raw_bad("-1." ID);
        raw_bad("+1." ID);
        raw_bad("01." ID);
        raw_bad(" 1." ID);
        raw_bad("7258118400000000." ID);
        raw_bad("99999999999999999999." ID);
        raw_bad("1." "0B5E3A52-7C1D-8E2F-9A3B-4C5D6E7F8091");
        raw_bad("1." "0b5e3a52-7c1d-8e2f-9a3b-4c5d6e7f809");
        raw_bad("1." ID "0");
        raw_bad("1." "0b5e3a52x7c1d-8e2f-9a3b-4c5d6e7f8091");
        raw_bad("1.' OR '1'='1");
        raw_bad("1;" ID);
        {
                /* A NUL inside: "1.<id>", NUL, 'x', encoded whole. */
                char raw[64], out[128];
                int len = snprintf(raw, sizeof(raw), "1.%s", ID);

                raw[len + 1] = 'x';
                b64(raw, (size_t)len + 2, out);
                cursor_bad(out);
        }
}
