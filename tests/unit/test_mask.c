/* sg_mask: IP truncation, e-mail redaction, dead-letter payloads, UTF-8. */

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "sg_mask.h"

TestSuite(mask, .timeout = 30);

/* --- sg_mask_ip ------------------------------------------------------- */

static void expect_ip(const char *in, const char *want)
{
        char out[64];
        int rc = sg_mask_ip(in, out, sizeof out);

        cr_assert_eq(rc, 0, "sg_mask_ip(%s) failed", in);
        cr_assert_str_eq(out, want, "sg_mask_ip(%s)", in);
}

static void expect_bad_ip(const char *in)
{
        char out[64] = "garbage";

        cr_assert_eq(sg_mask_ip(in, out, sizeof out), -1, "accepted %s", in);
        cr_assert_str_eq(out, "", "out not emptied for %s", in);
}

Test(mask, ipv4_truncated_to_24)
{
        expect_ip("203.0.113.10", "203.0.113.0");
        expect_ip("203.0.113.0", "203.0.113.0");
        expect_ip("255.255.255.255", "255.255.255.0");
        expect_ip("0.0.0.0", "0.0.0.0");
        expect_ip("10.1.2.3", "10.1.2.0");
}

Test(mask, ipv6_truncated_to_48)
{
        expect_ip("2001:db8:abcd:1234::1", "2001:db8:abcd::");
        expect_ip("2001:db8:1::", "2001:db8:1::");
        expect_ip("2001:DB8:1:2:3:4:5:6", "2001:db8:1::");
        expect_ip("2001:0db8:0001:ffff:ffff:ffff:ffff:ffff", "2001:db8:1::");
        expect_ip("::1", "::");
        expect_ip("::", "::");
        expect_ip("fe80::1", "fe80::");
        /* IPv4-mapped: treated as IPv6, the /48 keeps nothing of it. */
        expect_ip("::ffff:203.0.113.10", "::");
}

Test(mask, invalid_ip)
{
        expect_bad_ip("");
        expect_bad_ip("203.0.113");
        expect_bad_ip("203.0.113.256");
        expect_bad_ip("203.0.113.10 ");
        expect_bad_ip(" 203.0.113.10");
        expect_bad_ip("203.0.113.10/24");
        expect_bad_ip("hello");
        expect_bad_ip("2001:db8::1::2");
        expect_bad_ip("12345::");
        expect_bad_ip("fe80::1%eth0");
        expect_bad_ip("[::1]");
        expect_bad_ip("a@b.cc");
}

Test(mask, ip_output_too_small)
{
        char out[8] = "garbage";

        cr_assert_eq(sg_mask_ip("203.0.113.10", out, sizeof out), -1);
        cr_assert_str_eq(out, "");
        cr_assert_eq(sg_mask_ip(NULL, out, sizeof out), -1);
}

/* --- e-mail detection and redaction ----------------------------------- */

static void expect_redact(const char *in, const char *want)
{
        char out[256];
        size_t n = sg_mask_redact_emails(in, strlen(in), out, sizeof out);

        cr_assert_str_eq(out, want, "redact(%s)", in);
        cr_assert_eq(n, strlen(want));
        cr_assert_eq(sg_mask_has_email(in, strlen(in)), strcmp(in, want) != 0,
                     "has_email(%s) disagrees with redaction", in);
}

Test(mask, has_email_basic)
{
        cr_assert(sg_mask_has_email("a@b.cc", 6));
        cr_assert(sg_mask_has_email("x john.doe+tag@mail.example.org y", 33));
        cr_assert_not(sg_mask_has_email("@", 1));
        cr_assert_not(sg_mask_has_email("a@b", 3));
        cr_assert_not(sg_mask_has_email("a@b.c", 5));
        cr_assert_not(sg_mask_has_email("user@localhost", 14));
        cr_assert_not(sg_mask_has_email("x@1.23", 6));
        cr_assert_not(sg_mask_has_email("@example.com", 12));
        cr_assert_not(sg_mask_has_email("foo@.com", 8));
        cr_assert_not(sg_mask_has_email("a@b..cc", 7));
        cr_assert_not(sg_mask_has_email("", 0));
        cr_assert_not(sg_mask_has_email(NULL, 0));
        /* Length is honoured: the domain is cut before its last label. */
        cr_assert_not(sg_mask_has_email("a@b.cc", 4));
}

Test(mask, redact_several)
{
        expect_redact("contact a@b.cc or john.doe@example.org, thanks",
                      "contact [redacted] or [redacted], thanks");
        expect_redact("mail x@y.com.", "mail [redacted].");
        expect_redact("<First.Last%x@Sub-1.Example.CO.uk>", "<[redacted]>");
        expect_redact("a@b.cc@d.ee", "[redacted]@d.ee");
        expect_redact("a@b@c.com", "a@[redacted]");
        expect_redact("x@host.de5 rest", "[redacted]5 rest");
        expect_redact("no mail here", "no mail here");
        expect_redact("@", "@");
        expect_redact("a@b", "a@b");
        expect_redact("", "");
        expect_redact("é a@b.cc é", "é [redacted] é");
}

Test(mask, redact_truncates_and_terminates)
{
        char out[8];
        const char *in = "hi a@b.cc there";
        size_t n = sg_mask_redact_emails(in, strlen(in), out, sizeof out);

        cr_assert_eq(n, 7);
        cr_assert_str_eq(out, "hi [red");
        cr_assert_eq(sg_mask_redact_emails(in, strlen(in), out, 1), 0);
        cr_assert_str_eq(out, "");
}

/* 1 MiB of hostile input: a quadratic scan would hit the suite timeout. */
#define HOSTILE (1024 * 1024)

static char *hostile(const char *pattern)
{
        size_t plen = strlen(pattern);
        char *s = malloc(HOSTILE + 1);

        cr_assert_not_null(s);
        for (size_t i = 0; i < HOSTILE; i++)
                s[i] = pattern[i % plen];
        s[HOSTILE] = '\0';
        return s;
}

Test(mask, hostile_inputs_are_fast)
{
        static const char *const patterns[] = {
            "@", "a", "a@", "a.", "a@b.", "@a.", ".@", "aa@", "a@1.",
        };
        char *out = malloc(3 * HOSTILE + 1);

        cr_assert_not_null(out);
        for (size_t p = 0; p < sizeof patterns / sizeof patterns[0]; p++) {
                char *s = hostile(patterns[p]);

                cr_assert_not(sg_mask_has_email(s, HOSTILE), "%s", patterns[p]);
                cr_assert_eq(
                    sg_mask_redact_emails(s, HOSTILE, out, 3 * HOSTILE + 1),
                    HOSTILE);
                sg_mask_dlq_payload(s, HOSTILE, HOSTILE, out, 3 * HOSTILE + 1);
                free(s);
        }
        free(out);
}

Test(mask, hostile_local_part_then_domain)
{
        /* A 1 MiB local part followed by one domain: one token. */
        char *s = hostile("a");
        char out[64];

        memcpy(s + HOSTILE - 6, "@b.com", 6);
        cr_assert(sg_mask_has_email(s, HOSTILE));
        cr_assert_eq(sg_mask_redact_emails(s, HOSTILE, out, sizeof out), 10);
        cr_assert_str_eq(out, "[redacted]");
        free(s);
}

Test(mask, many_emails_redacted)
{
        char *s = hostile("a@b.cc ");
        char *out = malloc(3 * HOSTILE + 1);
        size_t n;

        cr_assert_not_null(out);
        n = sg_mask_redact_emails(s, HOSTILE, out, 3 * HOSTILE + 1);
        /* 149796 whole "a@b.cc " and a trailing "a@b." (no e-mail). */
        cr_assert_eq(n, 149796 * 11 + 4);
        cr_assert_eq(n, strlen(out));
        cr_assert_eq(strncmp(out, "[redacted] [redacted] ", 22), 0);
        cr_assert_str_eq(out + n - 4, "a@b.");
        cr_assert_null(strstr(out, "a@b.cc"));
        free(s);
        free(out);
}

/* --- dead-letter payloads --------------------------------------------- */

static size_t dlq(const char *in, size_t len, size_t max, char *out,
                  size_t outsize)
{
        size_t n = sg_mask_dlq_payload(in, len, max, out, outsize);

        cr_assert_eq(n, strlen(out), "length or NUL wrong");
        cr_assert(sg_mask_utf8_valid(out, n), "output not valid UTF-8");
        return n;
}

Test(mask, dlq_passthrough_and_redaction)
{
        char out[3 * 64 + 1];
        const char *in = "{\"m\":\"write to a@b.cc\"}";

        dlq(in, strlen(in), 64, out, sizeof out);
        cr_assert_str_eq(out, "{\"m\":\"write to [redacted]\"}");
}

Test(mask, dlq_truncates_to_max_bytes)
{
        char out[3 * 5 + 1];

        cr_assert_eq(dlq("abcdefgh", 8, 5, out, sizeof out), 5);
        cr_assert_str_eq(out, "abcde");
}

Test(mask, dlq_cuts_at_character_boundary)
{
        char out[3 * 8 + 1];
        const char *in = "a\xE2\x82\xAC"
                         "b"; /* a € b */

        cr_assert_eq(dlq(in, 5, 2, out, sizeof out), 1);
        cr_assert_str_eq(out, "a");
        cr_assert_eq(dlq(in, 5, 3, out, sizeof out), 1);
        cr_assert_eq(dlq(in, 5, 4, out, sizeof out), 4);
        cr_assert_str_eq(out, "a\xE2\x82\xAC");
}

Test(mask, dlq_replaces_nul_and_invalid_bytes)
{
        char out[3 * 16 + 1];
        const char in[] = {'a',        '\0',       'b', (char)0xFF, 'c',
                           (char)0xC0, (char)0x80, 'd', (char)0xE2, (char)0x82};
        size_t n = dlq(in, sizeof in, 16, out, sizeof out);

        /* C0 80 is two ill-formed bytes; E2 82 (truncated) is one. */
        cr_assert_str_eq(out, "a\xEF\xBF\xBD"
                              "b\xEF\xBF\xBD"
                              "c"
                              "\xEF\xBF\xBD\xEF\xBF\xBD"
                              "d\xEF\xBF\xBD");
        cr_assert_eq(n, 4 + 4 + 7 + 4);
}

Test(mask, dlq_email_straddling_cut_is_redacted)
{
        char out[3 * 16 + 1];
        const char *in = "hi john.doe@example.org";

        /* The cut falls inside the address: no half address leaks. */
        dlq(in, strlen(in), 12, out, sizeof out);
        cr_assert_str_eq(out, "hi [redacted]");
}

Test(mask, dlq_respects_outsize)
{
        char out[6];
        const char in[] = {'a', 'b', 'c', 'd', (char)0xFF, 'e'};

        /* No room for the whole U+FFFD: stop before it, never split it. */
        cr_assert_eq(dlq(in, sizeof in, 6, out, sizeof out), 4);
        cr_assert_str_eq(out, "abcd");
        cr_assert_eq(sg_mask_dlq_payload(in, sizeof in, 6, out, 0), 0);
}

Test(mask, dlq_worst_case_fits_documented_size)
{
        enum { MAX = 300 };
        char in[MAX], out[3 * MAX + 1];

        memset(in, 0xFF, sizeof in);
        cr_assert_eq(dlq(in, sizeof in, MAX, out, sizeof out), 3 * MAX);
        /* 42 x "a@b.cc\xFF" then "a@b.cc": 43 markers, 42 U+FFFD. */
        for (size_t i = 0; i + 6 <= MAX; i += 7)
                memcpy(in + i, "a@b.cc", 6);
        cr_assert_eq(dlq(in, sizeof in, MAX, out, sizeof out),
                     43 * 10 + 42 * 3);
}

/* --- UTF-8 ------------------------------------------------------------ */

static bool valid(const char *s)
{
        return sg_mask_utf8_valid(s, strlen(s));
}

Test(mask, utf8_valid_sequences)
{
        cr_assert(valid(""));
        cr_assert(valid("plain ascii, long enough for the fast path"));
        cr_assert(valid("\xC3\xA9"));             /* é */
        cr_assert(valid("\xE2\x82\xAC"));         /* € */
        cr_assert(valid("\xF0\x9F\x98\x80"));     /* U+1F600 */
        cr_assert(valid("\xED\x9F\xBF"));         /* U+D7FF */
        cr_assert(valid("\xEE\x80\x80"));         /* U+E000 */
        cr_assert(valid("\xF4\x8F\xBF\xBF"));     /* U+10FFFF */
        cr_assert(sg_mask_utf8_valid("a\0b", 3)); /* U+0000 is UTF-8 */
}

Test(mask, utf8_invalid_sequences)
{
        cr_assert_not(valid("\xC0\x80"));         /* overlong NUL */
        cr_assert_not(valid("\xC1\xBF"));         /* overlong */
        cr_assert_not(valid("\xE0\x80\x80"));     /* overlong */
        cr_assert_not(valid("\xF0\x80\x80\x80")); /* overlong */
        cr_assert_not(valid("\xED\xA0\x80"));     /* U+D800 */
        cr_assert_not(valid("\xED\xBF\xBF"));     /* U+DFFF */
        cr_assert_not(valid("\xF4\x90\x80\x80")); /* U+110000 */
        cr_assert_not(valid("\xF5\x80\x80\x80"));
        cr_assert_not(valid("\xFF"));
        cr_assert_not(valid("\x80"));         /* lone continuation */
        cr_assert_not(valid("\xE2\x82"));     /* truncated */
        cr_assert_not(valid("\xF0\x9F\x98")); /* truncated */
        cr_assert_not(valid("\xC3"));         /* truncated */
        cr_assert_not(valid("\xC3"
                            "a"));
}

Test(mask, utf8_invalid_byte_at_any_position)
{
        char buf[40];

        for (size_t pos = 0; pos < sizeof buf; pos++) {
                memset(buf, 'x', sizeof buf);
                buf[pos] = (char)0xFF;
                cr_assert_not(sg_mask_utf8_valid(buf, sizeof buf), "pos %zu",
                              pos);
                /* The length is honoured: the bad byte past it is unseen. */
                cr_assert(sg_mask_utf8_valid(buf, pos), "pos %zu", pos);
        }
}
