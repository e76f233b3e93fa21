/* sg-alert's sinks file (alert/sinks.h): defaults, a good file, and each
 * error with its FILE:LINE; a bad file leaves the sinks unchanged. */

#include <criterion/criterion.h>

#include <stdio.h>
#include <string.h>

#include "sinks.h"

TestSuite(alert_sinks, .timeout = 30);

static int parse(sg_sinks_t *s, const char *text, char *err, size_t size)
{
        return sg_sinks_parse(s, "t.sinks", text, strlen(text), err, size);
}

Test(alert_sinks, good_file)
{
        static const char text[] =
            "# comment\n"
            "max_age = 2h\n"
            "timeout = 3s   # inline\n"
            "backoff_max = 90s\n"
            "\n"
            "[sink ops]\n"
            "url = https://hooks.example.com/x?y=1\n"
            "secret_env = OPS_KEY\n"
            "sources = gdpr , compare\n"
            "min_severity = medium\n"
            "rate_per_minute = 5\n"
            "ca_file = /etc/ca.pem\n"
            "[sink all.2]\n"
            "url = http://127.0.0.1:8080/\n"
            "secret_env = K2\n";
        sg_sinks_t s;
        char err[256] = "";
        char list[128];

        sg_sinks_defaults(&s);
        cr_assert_eq(parse(&s, text, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(s.max_age_ms, 2 * 3600 * 1000LL);
        cr_assert_eq(s.timeout_ms, 3000);
        cr_assert_eq(s.connect_timeout_ms, 5000);
        cr_assert_eq(s.backoff_min_ms, 1000);
        cr_assert_eq(s.backoff_max_ms, 90000);
        cr_assert_eq(s.lease_ms, 60000);
        cr_assert_eq(s.n, 2);
        cr_assert_str_eq(s.sink[0].name, "ops");
        cr_assert_str_eq(s.sink[0].url, "https://hooks.example.com/x?y=1");
        cr_assert_str_eq(s.sink[0].secret_env, "OPS_KEY");
        cr_assert_eq(s.sink[0].sources, SG_SINK_GDPR | SG_SINK_COMPARE);
        cr_assert_eq(s.sink[0].min_severity, 2);
        cr_assert_eq(s.sink[0].rate_per_minute, 5);
        cr_assert_str_eq(s.sink[0].ca_file, "/etc/ca.pem");
        sg_sinks_sources_list(s.sink[0].sources, list, sizeof(list));
        cr_assert_str_eq(list, "gdpr,compare");
        /* The defaults of a sink. */
        cr_assert_eq(s.sink[1].sources, SG_SINK_ALL_SOURCES);
        cr_assert_eq(s.sink[1].min_severity, 1);
        cr_assert_eq(s.sink[1].rate_per_minute, 60);
        cr_assert_str_eq(s.sink[1].ca_file, "");
        cr_assert_not_null(sg_sinks_find(&s, "all.2"));
        cr_assert_null(sg_sinks_find(&s, "nope"));
}

static void expect_error(const char *text, const char *want)
{
        sg_sinks_t s;
        char err[256] = "";

        sg_sinks_defaults(&s);
        s.max_age_ms = 12345; /* a bad file changes nothing */
        cr_assert_eq(parse(&s, text, err, sizeof(err)), -1, "accepted: %s",
                     text);
        cr_assert_str_eq(err, want, "for: %s", text);
        cr_assert_eq(s.max_age_ms, 12345);
        cr_assert_eq(s.n, 0);
}

#define SINK "[sink a]\nurl = http://h/\nsecret_env = K\n"

Test(alert_sinks, errors_with_file_and_line)
{
        expect_error("", "t.sinks:1: no [sink NAME] section: nothing to "
                         "deliver to");
        expect_error("max_age = 1h\n", "t.sinks:1: no [sink NAME] section: "
                                       "nothing to deliver to");
        expect_error("max_age = 1 day\n" SINK,
                     "t.sinks:1: max_age: '1 day' is not a duration (an "
                     "integer and ms, s, m or h)");
        expect_error("timeout = 0s\n" SINK,
                     "t.sinks:1: timeout: '0s' is out of range (1ms to 1h)");
        expect_error("backoff_min = 10s\nbackoff_max = 5s\n" SINK,
                     "t.sinks:2: backoff_min must not be above backoff_max");
        expect_error("timeout = 1m\nlease = 30s\n" SINK,
                     "t.sinks:2: lease must be longer than timeout + "
                     "connect_timeout");
        expect_error("colour = blue\n" SINK, "t.sinks:1: unknown key 'colour'");
        expect_error("url = http://h/\n" SINK,
                     "t.sinks:1: 'url' is a sink's key: it goes in a [sink "
                     "NAME] section");
        expect_error(SINK "max_age = 1h\n",
                     "t.sinks:4: 'max_age' is a global setting: it goes "
                     "before the first section");
        expect_error("[receiver a]\n",
                     "t.sinks:1: unknown section [receiver a] (expected "
                     "[sink NAME])");
        expect_error("[sink a b]\n",
                     "t.sinks:1: sink name 'a b': only letters, digits, '_', "
                     "'-' and '.'");
        expect_error("[sink a\n", "t.sinks:1: malformed section header "
                                  "'[sink a' (expected [sink NAME])");
        expect_error(SINK SINK, "t.sinks:4: duplicate section [sink a]");
        expect_error("[sink a]\nurl = ftp://h/\n",
                     "t.sinks:2: url: 'ftp://h/' is not an http:// or "
                     "https:// URL");
        expect_error("[sink a]\nurl = https://\n",
                     "t.sinks:2: url: 'https://' is not an http:// or "
                     "https:// URL");
        expect_error("[sink a]\nurl = http://h/\n",
                     "t.sinks:1: [sink a] has no secret_env (the name of the "
                     "environment variable holding its HMAC key)");
        expect_error("[sink a]\nsecret_env = K\n", "t.sinks:1: [sink a] has no url");
        expect_error("[sink a]\nurl = http://h/\nsecret_env = hunter2!\n",
                     "t.sinks:3: secret_env: 'hunter2!' is not an environment "
                     "variable's name (the secret itself never goes in this "
                     "file)");
        expect_error(SINK "sources = gdpr, kafka\n",
                     "t.sinks:4: sources: 'gdpr, kafka' is not a comma list of "
                     "compliance, gdpr, compare, consumer");
        expect_error(SINK "sources = ,\n",
                     "t.sinks:4: sources: ',' names no source");
        expect_error(SINK "min_severity = urgent\n",
                     "t.sinks:4: min_severity: 'urgent' is not a severity "
                     "(low, medium or high)");
        expect_error(SINK "rate_per_minute = 0\n",
                     "t.sinks:4: rate_per_minute: '0' is not an integer from "
                     "1 to 1000000");
        expect_error(SINK "url = http://i/\n",
                     "t.sinks:4: duplicate key 'url' in [sink a] (first at "
                     "line 2)");
        expect_error(SINK "ca_file =\n", "t.sinks:4: ca_file: empty value");
        expect_error("max_age = 1h\nmax_age = 2h\n" SINK,
                     "t.sinks:2: duplicate key 'max_age' (first at line 1)");
        expect_error("just words\n", "t.sinks:1: missing '=' in 'just words' "
                                     "(expected key = value or [sink NAME])");
}

Test(alert_sinks, load_missing_file)
{
        sg_sinks_t s;
        char err[256];

        sg_sinks_defaults(&s);
        cr_assert_eq(sg_sinks_load(&s, "/nonexistent/x.sinks", err,
                                   sizeof(err)), -1);
        cr_assert_str_eq(err, "/nonexistent/x.sinks: No such file or directory");
}

Test(alert_sinks, shipped_example_parses)
{
        sg_sinks_t s;
        char err[256] = "";

        sg_sinks_defaults(&s);
        cr_assert_eq(sg_sinks_load(&s, SG_CONFIG_DIR "/alert.sinks", err,
                                   sizeof(err)), 0, "%s", err);
        cr_assert_eq(s.n, 2);
        cr_assert_not_null(sg_sinks_find(&s, "ops"));
}
