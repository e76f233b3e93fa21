/* sg-alert's bodies (alert/payload.h): the signature against a vector
 * computed elsewhere (Python's hmac, openssl dgst -hmac), a byte-exact
 * body that never changes between calls, the text line, redaction and
 * the digest's counts and summary. */

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "payload.h"

TestSuite(alert_payload, .timeout = 30);

Test(alert_payload, signature_vector)
{
        const char *body = "what do ya want for nothing?";
        char sig[SG_PAYLOAD_SIG_LEN + 1];

        /* printf '1700000000.what do ya want for nothing?' |
         *   openssl dgst -sha256 -hmac Jefe */
        cr_assert_eq(sg_payload_sign("Jefe", 4, 1700000000, body, strlen(body),
                                     sig), 0);
        cr_assert_str_eq(sig, "1cdd0650c8be1cb0974b1788d458b1e781206cfef59b85"
                              "faafc582d2e182c57e");
        /* An empty body: HMAC("key", "0."). */
        cr_assert_eq(sg_payload_sign("key", 3, 0, "", 0, sig), 0);
        cr_assert_str_eq(sig, "85841b4efc3cd7776c3c8f9b7cca9e281c550e5d19889d"
                              "78e9e669c6337f000d");
        /* The timestamp is signed too. */
        cr_assert_eq(sg_payload_sign("key", 3, 1, "", 0, sig), 0);
        cr_assert_str_neq(sig, "85841b4efc3cd7776c3c8f9b7cca9e281c550e5d1988"
                               "9d78e9e669c6337f000d");
}

static const sg_payload_alert_t alert = {
    .alert_id = "0b6c6d1e-4f0a-8a3b-9c1d-2e3f4a5b6c7d",
    .source = "compliance",
    .kind = "eu_no_consent",
    .severity = "high",
    .subject_type = "user",
    .subject_id = "u-42",
    .counts = "{\"events\": 3, \"a\": {\"z\": 1, \"b\": 2}}",
    .summary = "user u-42 <3 events & no consent",
    .created_at = "2026-01-02T03:04:05.000006Z",
    .cause_at = "2026-01-02T03:04:05.000001Z",
};

Test(alert_payload, body_exact_and_deterministic)
{
        char err[128];
        char *b1 = sg_payload_body(&alert, err, sizeof(err));
        char *b2 = sg_payload_body(&alert, err, sizeof(err));

        cr_assert_not_null(b1, "%s", err);
        cr_assert_not_null(b2);
        cr_assert_str_eq(b1, b2);
        cr_assert_str_eq(
            b1,
            "{\"alert_id\":\"0b6c6d1e-4f0a-8a3b-9c1d-2e3f4a5b6c7d\","
            "\"cause_at\":\"2026-01-02T03:04:05.000001Z\","
            "\"counts\":{\"a\":{\"b\":2,\"z\":1},\"events\":3},"
            "\"created_at\":\"2026-01-02T03:04:05.000006Z\","
            "\"kind\":\"eu_no_consent\",\"severity\":\"high\","
            "\"source\":\"compliance\",\"subject_id\":\"u-42\","
            "\"subject_type\":\"user\","
            "\"summary\":\"user u-42 <3 events & no consent\","
            "\"text\":\"[HIGH] compliance eu_no_consent \xe2\x80\x94 user u-42 "
            "&lt;3 events &amp; no consent\"}");
        free(b1);
        free(b2);
}

Test(alert_payload, nulls_redaction_and_bad_counts)
{
        sg_payload_alert_t a = alert;
        char err[128];
        char *b;

        a.subject_type = NULL;
        a.subject_id = NULL;
        a.counts = NULL;
        a.summary = "mail jane.doe@example.com\nnow";
        b = sg_payload_body(&a, err, sizeof(err));
        cr_assert_not_null(b, "%s", err);
        cr_assert_null(strchr(b, '@'), "an address in %s", b);
        cr_assert_not_null(strstr(b, "\"subject_id\":null"));
        cr_assert_not_null(strstr(b, "\"counts\":{}"));
        /* The text is one line; the summary keeps its JSON escape. */
        cr_assert_not_null(strstr(b, "mail [redacted] now\"}"), "%s", b);
        free(b);
        a.counts = "[1, 2]";
        cr_assert_null(sg_payload_body(&a, err, sizeof(err)));
        cr_assert_str_eq(err, "counts is not a JSON object");
        a.counts = "{}";
        a.summary = "bad \xff byte";
        cr_assert_null(sg_payload_body(&a, err, sizeof(err)));
}

Test(alert_payload, text_is_bounded_on_a_character)
{
        char out[40];
        sg_payload_alert_t a = alert;

        a.summary = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";
        sg_payload_text(&a, out, sizeof(out));
        cr_assert_lt(strlen(out), sizeof(out));
        /* Never half a character: the last byte is not a lead byte. */
        cr_assert_neq((unsigned char)out[strlen(out) - 1], 0xc3);
}

Test(alert_payload, digest)
{
        const char *kinds[] = {"eu_no_consent", "do_not_track", "eu_no_consent",
                               "eu_no_consent", "high_frequency"};
        const char *sevs[] = {"high", "high", "medium", "high", "low"};
        char summary[256];
        char *counts = NULL;
        int sev = 0;

        sg_payload_digest(kinds, sevs, 5, &counts, summary, sizeof(summary),
                          &sev);
        cr_assert_str_eq(counts,
                         "{\"alerts\":5,\"by_kind\":{\"do_not_track\":1,"
                         "\"eu_no_consent\":3,\"high_frequency\":1},"
                         "\"by_severity\":{\"high\":3,\"low\":1,\"medium\":1}}");
        cr_assert_str_eq(summary,
                         "5 more alerts in the last minute (high 3, medium 1, "
                         "low 1), by kind: eu_no_consent 3, do_not_track 1, "
                         "high_frequency 1");
        cr_assert_eq(sev, 3);
        free(counts);
}
