/* sg-alert's retry policy (alert/retry.h): verdicts and reason codes,
 * backoff with jitter within its bounds, Retry-After in both forms. */

#include <criterion/criterion.h>

#include <curl/curl.h>

#include "retry.h"

TestSuite(alert_retry, .timeout = 30);

static void expect(int code, long status, sg_retry_verdict_t want,
                   const char *reason)
{
        char r[SG_RETRY_REASON_MAX];

        cr_assert_eq(sg_retry_classify(code, status, r), want,
                     "verdict of curl %d http %ld", code, status);
        cr_assert_str_eq(r, reason, "reason of curl %d http %ld", code, status);
}

Test(alert_retry, verdicts)
{
        expect(CURLE_OK, 200, SG_RETRY_SENT, "");
        expect(CURLE_OK, 204, SG_RETRY_SENT, "");
        expect(CURLE_WRITE_ERROR, 200, SG_RETRY_SENT, ""); /* body capped */
        expect(CURLE_OK, 408, SG_RETRY_AGAIN, "http_408");
        expect(CURLE_OK, 429, SG_RETRY_AGAIN, "http_429");
        expect(CURLE_OK, 500, SG_RETRY_AGAIN, "http_500");
        expect(CURLE_OK, 503, SG_RETRY_AGAIN, "http_503");
        expect(CURLE_OK, 599, SG_RETRY_AGAIN, "http_599");
        expect(CURLE_OK, 400, SG_RETRY_DEAD, "http_400");
        expect(CURLE_OK, 403, SG_RETRY_DEAD, "http_403");
        expect(CURLE_OK, 404, SG_RETRY_DEAD, "http_404");
        expect(CURLE_OK, 301, SG_RETRY_DEAD, "http_301"); /* no redirects */
        expect(CURLE_OPERATION_TIMEDOUT, 0, SG_RETRY_AGAIN, "timeout");
        expect(CURLE_COULDNT_CONNECT, 0, SG_RETRY_AGAIN, "connect");
        expect(CURLE_COULDNT_RESOLVE_HOST, 0, SG_RETRY_AGAIN, "connect");
        expect(CURLE_RECV_ERROR, 0, SG_RETRY_AGAIN, "connection_lost");
        expect(CURLE_GOT_NOTHING, 0, SG_RETRY_AGAIN, "connection_lost");
        expect(CURLE_PEER_FAILED_VERIFICATION, 0, SG_RETRY_AGAIN, "tls");
        /* A timeout after the status line: the timeout, not the status. */
        expect(CURLE_OPERATION_TIMEDOUT, 200, SG_RETRY_AGAIN, "timeout");
}

Test(alert_retry, backoff_doubles_within_jitter_and_cap)
{
        const long long min = 1000, max = 300000;

        for (int a = 1; a <= 40; a++) {
                long long base = min;

                for (int i = 1; i < a && base < max; i++)
                        base *= 2;
                if (base > max)
                        base = max;
                for (int k = 0; k <= 100; k++) {
                        double r = k / 100.0 * 0.999999;
                        long long d = sg_retry_backoff_ms(a, min, max, r);
                        long long lo = base * 8 / 10;
                        long long hi = base * 12 / 10 < max ? base * 12 / 10 : max;

                        cr_assert(d >= lo && d <= hi,
                                  "attempt %d r %.3f: %lld not in [%lld, %lld]",
                                  a, r, d, lo, hi);
                }
        }
        /* The extremes of the jitter. */
        cr_assert_eq(sg_retry_backoff_ms(1, 1000, 300000, 0.0), 800);
        cr_assert_eq(sg_retry_backoff_ms(3, 1000, 300000, 0.0), 3200);
        cr_assert_eq(sg_retry_backoff_ms(30, 1000, 300000, 0.999), 300000);
        /* A bad r is the middle, never out of bounds. */
        cr_assert_eq(sg_retry_backoff_ms(2, 1000, 300000, 7.0), 2000);
        /* The jitter spreads: not every r gives the same wait. */
        cr_assert_neq(sg_retry_backoff_ms(4, 1000, 300000, 0.1),
                      sg_retry_backoff_ms(4, 1000, 300000, 0.9));
}

Test(alert_retry, retry_after_seconds)
{
        long long d = -1;

        cr_assert_eq(sg_retry_after_parse("120", 0, &d), 0);
        cr_assert_eq(d, 120000);
        cr_assert_eq(sg_retry_after_parse(" 0 ", 0, &d), 0);
        cr_assert_eq(d, 0);
        cr_assert_eq(sg_retry_after_parse("99999999999999999999", 0, &d), 0);
        cr_assert_eq(d, SG_RETRY_AFTER_MAX_MS);
        cr_assert_eq(sg_retry_after_parse("-5", 0, &d), -1);
        cr_assert_eq(sg_retry_after_parse("5s", 0, &d), -1);
        cr_assert_eq(sg_retry_after_parse("1.5", 0, &d), -1);
        cr_assert_eq(sg_retry_after_parse("", 0, &d), -1);
        cr_assert_eq(sg_retry_after_parse("soon", 0, &d), -1);
        cr_assert_eq(sg_retry_after_parse(NULL, 0, &d), -1);
}

Test(alert_retry, retry_after_http_date)
{
        /* Wed, 21 Oct 2015 07:28:00 GMT = 1445412480. */
        const long long at = 1445412480;
        long long d = -1;

        cr_assert_eq(sg_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT",
                                          at - 90, &d), 0);
        cr_assert_eq(d, 90000);
        /* The obsolete forms RFC 9110 makes recipients accept. */
        cr_assert_eq(sg_retry_after_parse("Wednesday, 21-Oct-15 07:28:00 GMT",
                                          at - 5, &d), 0);
        cr_assert_eq(d, 5000);
        cr_assert_eq(sg_retry_after_parse("Wed Oct 21 07:28:00 2015", at - 7,
                                          &d), 0);
        cr_assert_eq(d, 7000);
        /* In the past: now. */
        cr_assert_eq(sg_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT",
                                          at + 100, &d), 0);
        cr_assert_eq(d, 0);
        /* Far ahead: capped. */
        cr_assert_eq(sg_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT",
                                          at - 10 * 86400, &d), 0);
        cr_assert_eq(d, SG_RETRY_AFTER_MAX_MS);
        cr_assert_eq(sg_retry_after_parse("Wed, 99 Foo 2015 07:28:00 GMT",
                                          at, &d), -1);
}

Test(alert_retry, delay_is_the_larger)
{
        cr_assert_eq(sg_retry_delay_ms(1000, -1), 1000);
        cr_assert_eq(sg_retry_delay_ms(1000, 3000), 3000);
        cr_assert_eq(sg_retry_delay_ms(5000, 3000), 5000);
}
