/* sg_event: the user_events v1 validator and decoder. */

#include <criterion/criterion.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_event.h"
#include "sg_mask.h"
#include "sg_time.h"
#include "sg_country.h"

TestSuite(event, .timeout = 30);

#define EID "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b"
#define UID "5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d"
#define IDS "\"event_id\":\"" EID "\",\"user_id\":\"" UID "\""
#define TS "\"event_timestamp\":\"2026-01-02T12:34:56.123Z\""
#define TS_US 1767357296123000LL

/* Minimal valid events, without their closing brace. */
#define PV "{" IDS ",\"event_type\":\"page_view\"," TS ",\"country\":\"NL\""
#define BUY "{" IDS ",\"event_type\":\"purchase\"," TS ",\"country\":\"NL\""
#define PLAY(type)                                                             \
        "{" IDS ",\"event_type\":\"" type "\"," TS                             \
        ",\"country\":\"NL\",\"content_id\":\"movie-42\""
#define STOP PLAY("stop")
#define PERR PLAY("playback_error")

#define EXAMPLE                                                                \
        "{\"event_id\":\"0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b\","              \
        "\"user_id\":\"5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d\",\n"              \
        " \"event_type\":\"purchase\","                                        \
        "\"event_timestamp\":\"2026-01-02T12:34:56.123Z\",\"country\":\"NL\"," \
        "\n"                                                                   \
        " \"amount\":19.99,\"currency\":\"EUR\",\"has_consent\":true,"         \
        "\"device_id\":\"tv_lg_abc123\",\n"                                    \
        " \"ip_address\":\"203.0.113.10\","                                    \
        "\"metadata\":{\"app_version\":\"1.2.3\",\"network_type\":\"wifi\"}}"

static char g_msg[256];

static sg_reason_t parse_n(const char *buf, size_t len, sg_event_t *ev)
{
        return sg_event_parse(buf, len, ev, g_msg, sizeof g_msg);
}

static sg_reason_t parse(const char *s, sg_event_t *ev)
{
        return parse_n(s, strlen(s), ev);
}

static sg_reason_t verdict_n(const char *buf, size_t len)
{
        sg_event_t ev;
        sg_reason_t r = parse_n(buf, len, &ev);

        sg_event_fini(&ev);
        return r;
}

static sg_reason_t __attribute__((format(printf, 1, 2)))
verdictf(const char *fmt, ...)
{
        char buf[16384];
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(buf, sizeof buf, fmt, ap);
        va_end(ap);
        cr_assert(n >= 0 && (size_t)n < sizeof buf);
        return verdict_n(buf, (size_t)n);
}

#define expect(want, ...)                                                      \
        do {                                                                   \
                sg_reason_t got_ = verdictf(__VA_ARGS__);                      \
                cr_assert_eq(got_, (want), "got %s (%s), want %s",             \
                             sg_reason_name(got_), g_msg,                      \
                             sg_reason_name(want));                            \
        } while (0)

#define OK SG_REASON_OK
#define TOO_LARGE SG_REASON_TOO_LARGE
#define BAD_UTF8 SG_REASON_INVALID_UTF8
#define MALFORMED SG_REASON_MALFORMED_JSON
#define NOT_OBJECT SG_REASON_NOT_OBJECT
#define DUP SG_REASON_DUPLICATE_KEY
#define MISSING SG_REASON_MISSING_FIELD
#define WRONG_TYPE SG_REASON_WRONG_TYPE
#define INVALID SG_REASON_INVALID_VALUE
#define UNKNOWN SG_REASON_UNKNOWN_FIELD
#define INCONSISTENT SG_REASON_INCONSISTENT

static bool all_zero(const void *p, size_t n)
{
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++)
                if (b[i])
                        return false;
        return true;
}

/* --- names ------------------------------------------------------------ */

Test(event, names)
{
        cr_assert_str_eq(sg_reason_name(SG_REASON_OK), "ok");
        cr_assert_str_eq(sg_reason_name(SG_REASON_TOO_LARGE), "too_large");
        cr_assert_str_eq(sg_reason_name(SG_REASON_INVALID_UTF8),
                         "invalid_utf8");
        cr_assert_str_eq(sg_reason_name(SG_REASON_MALFORMED_JSON),
                         "malformed_json");
        cr_assert_str_eq(sg_reason_name(SG_REASON_NOT_OBJECT), "not_object");
        cr_assert_str_eq(sg_reason_name(SG_REASON_DUPLICATE_KEY),
                         "duplicate_key");
        cr_assert_str_eq(sg_reason_name(SG_REASON_MISSING_FIELD),
                         "missing_field");
        cr_assert_str_eq(sg_reason_name(SG_REASON_WRONG_TYPE), "wrong_type");
        cr_assert_str_eq(sg_reason_name(SG_REASON_INVALID_VALUE),
                         "invalid_value");
        cr_assert_str_eq(sg_reason_name(SG_REASON_UNKNOWN_FIELD),
                         "unknown_field");
        cr_assert_str_eq(sg_reason_name(SG_REASON_INCONSISTENT),
                         "inconsistent");
        cr_assert_str_eq(sg_event_type_name(SG_EV_PAGE_VIEW), "page_view");
        cr_assert_str_eq(sg_event_type_name(SG_EV_ADD_TO_CART), "add_to_cart");
        cr_assert_str_eq(sg_event_type_name(SG_EV_PURCHASE), "purchase");
        cr_assert_str_eq(sg_event_type_name(SG_EV_PLAY), "play");
        cr_assert_str_eq(sg_event_type_name(SG_EV_PAUSE), "pause");
        cr_assert_str_eq(sg_event_type_name(SG_EV_SEEK), "seek");
        cr_assert_str_eq(sg_event_type_name(SG_EV_STOP), "stop");
        cr_assert_str_eq(sg_event_type_name(SG_EV_PLAYBACK_ERROR),
                         "playback_error");
        cr_assert_not(sg_event_type_is_playback(SG_EV_PAGE_VIEW));
        cr_assert_not(sg_event_type_is_playback(SG_EV_ADD_TO_CART));
        cr_assert_not(sg_event_type_is_playback(SG_EV_PURCHASE));
        cr_assert(sg_event_type_is_playback(SG_EV_PLAY));
        cr_assert(sg_event_type_is_playback(SG_EV_PAUSE));
        cr_assert(sg_event_type_is_playback(SG_EV_SEEK));
        cr_assert(sg_event_type_is_playback(SG_EV_STOP));
        cr_assert(sg_event_type_is_playback(SG_EV_PLAYBACK_ERROR));
}

/* --- the contract's example ------------------------------------------- */

Test(event, contract_example_decodes)
{
        sg_event_t ev;

        cr_assert_eq(parse(EXAMPLE, &ev), OK, "%s", g_msg);
        cr_assert_str_eq(g_msg, "");
        cr_assert_str_eq(ev.event_id, EID);
        cr_assert_str_eq(ev.user_id, UID);
        cr_assert_eq(ev.type, SG_EV_PURCHASE);
        cr_assert_eq(ev.ts_us, TS_US);
        cr_assert_str_eq(ev.country, "NL");
        cr_assert(ev.is_eu);
        cr_assert_eq(ev.amount_cents, 1999);
        cr_assert_str_eq(ev.currency, "EUR");
        cr_assert(ev.has_consent);
        cr_assert_not(ev.do_not_track);
        cr_assert_str_eq(ev.device_id, "tv_lg_abc123");
        cr_assert_str_eq(ev.content_id, "");
        cr_assert_eq(ev.watch_seconds, -1);
        cr_assert_str_eq(ev.error_code, "");
        cr_assert_str_eq(ev.ip, "203.0.113.0");
        cr_assert_str_eq(
            ev.metadata,
            "{\"app_version\":\"1.2.3\",\"network_type\":\"wifi\"}");
        sg_event_fini(&ev);
        cr_assert_null(ev.metadata);
        sg_event_fini(&ev); /* idempotent */
        sg_event_fini(NULL);
}

Test(event, minimal_defaults)
{
        sg_event_t ev;

        cr_assert_eq(parse(PV "}", &ev), OK, "%s", g_msg);
        cr_assert_eq(ev.type, SG_EV_PAGE_VIEW);
        cr_assert_eq(ev.amount_cents, 0);
        cr_assert_str_eq(ev.currency, "EUR");
        cr_assert_not(ev.has_consent);
        cr_assert_not(ev.do_not_track);
        cr_assert_str_eq(ev.device_id, "");
        cr_assert_eq(ev.watch_seconds, -1);
        cr_assert_str_eq(ev.ip, "");
        cr_assert_null(ev.metadata);
        sg_event_fini(&ev);
}

Test(event, optional_null_is_absent)
{
        sg_event_t ev;

        cr_assert_eq(parse(PV ",\"amount\":null,\"currency\":null,"
                              "\"has_consent\":null,\"is_eu\":null,"
                              "\"do_not_track\":null,\"device_id\":null,"
                              "\"content_id\":null,\"watch_seconds\":null,"
                              "\"error_code\":null,\"ip_address\":null,"
                              "\"metadata\":null}",
                           &ev),
                     OK, "%s", g_msg);
        cr_assert_str_eq(ev.currency, "EUR");
        cr_assert_eq(ev.watch_seconds, -1);
        cr_assert_null(ev.metadata);
        sg_event_fini(&ev);
}

Test(event, all_fields_decoded)
{
        sg_event_t ev;

        cr_assert_eq(parse(STOP ",\"amount\":0,\"currency\":\"USD\","
                                "\"has_consent\":false,\"is_eu\":true,"
                                "\"do_not_track\":true,\"device_id\":\"d-1\","
                                "\"watch_seconds\":3600,"
                                "\"ip_address\":\"2001:db8:abcd:1234::1\"}",
                           &ev),
                     OK, "%s", g_msg);
        cr_assert_eq(ev.type, SG_EV_STOP);
        cr_assert_str_eq(ev.currency, "USD");
        cr_assert_not(ev.has_consent);
        cr_assert(ev.do_not_track);
        cr_assert_str_eq(ev.content_id, "movie-42");
        cr_assert_eq(ev.watch_seconds, 3600);
        cr_assert_str_eq(ev.ip, "2001:db8:abcd::");
        sg_event_fini(&ev);

        cr_assert_eq(parse(PERR ",\"error_code\":\"E_DRM-42\"}", &ev), OK, "%s",
                     g_msg);
        cr_assert_eq(ev.type, SG_EV_PLAYBACK_ERROR);
        cr_assert_str_eq(ev.error_code, "E_DRM-42");
        sg_event_fini(&ev);
}

/* --- one minimal message per reason code ------------------------------ */

Test(event, each_reason_code)
{
        char big[SG_EVENT_MAX_VALUE + 2];

        memset(big, ' ', sizeof big);
        memcpy(big, PV "}", strlen(PV "}"));
        cr_assert_eq(verdict_n(big, sizeof big - 1), TOO_LARGE);
        expect(BAD_UTF8, PV ",\"device_id\":\"\xFF\"}");
        expect(MALFORMED, PV ",}");
        expect(NOT_OBJECT, "[]");
        expect(DUP, PV ",\"country\":\"DE\"}");
        expect(MISSING, "{" IDS ",\"event_type\":\"page_view\"," TS "}");
        expect(WRONG_TYPE, PV ",\"has_consent\":\"yes\"}");
        expect(INVALID, PV ",\"currency\":\"eur\"}");
        expect(UNKNOWN, PV ",\"email\":\"x\"}");
        expect(INCONSISTENT, PV ",\"is_eu\":false}");
}

Test(event, failure_leaves_event_zeroed)
{
        sg_event_t ev;

        /* Fails at the last stage, after most fields were decoded. */
        memset(&ev, 0xAA, sizeof ev);
        cr_assert_eq(parse(PV ",\"metadata\":{\"a\":1},\"is_eu\":false}", &ev),
                     INCONSISTENT);
        cr_assert(all_zero(&ev, sizeof ev));
        sg_event_fini(&ev);
        memset(&ev, 0xAA, sizeof ev);
        cr_assert_eq(parse_n(NULL, 0, &ev), MALFORMED);
        cr_assert(all_zero(&ev, sizeof ev));
        sg_event_fini(&ev);
}

Test(event, message_names_field_not_value)
{
        sg_event_t ev;

        cr_assert_eq(parse(PV ",\"device_id\":\"secret value\"}", &ev),
                     INVALID);
        cr_assert_not_null(strstr(g_msg, "device_id"), "%s", g_msg);
        cr_assert_null(strstr(g_msg, "secret"), "%s", g_msg);
        cr_assert_eq(parse(PV ",\"john@example.com\":1}", &ev), UNKNOWN);
        cr_assert_null(strstr(g_msg, "john"), "%s", g_msg);
        cr_assert_eq(parse("{\"a\": tru secret}", &ev), MALFORMED);
        cr_assert_null(strstr(g_msg, "secret"), "%s", g_msg);
        cr_assert_null(strstr(g_msg, "tru"), "%s", g_msg);
        cr_assert_eq(parse(PV ",\"amount\":12.345}", &ev), INVALID);
        cr_assert_not_null(strstr(g_msg, "amount"), "%s", g_msg);
        cr_assert_null(strstr(g_msg, "345"), "%s", g_msg);
        cr_assert_eq(parse_n(NULL, 0, &ev), MALFORMED);
        cr_assert_eq(sg_event_parse(PV "}", strlen(PV "}"), &ev, NULL, 0), OK);
        sg_event_fini(&ev);
}

/* --- transport-level stages ------------------------------------------- */

Test(event, size_boundary)
{
        char buf[SG_EVENT_MAX_VALUE + 1];

        /* Trailing whitespace is valid JSON: pad a valid event. */
        memset(buf, ' ', sizeof buf);
        memcpy(buf, PV "}", strlen(PV "}"));
        cr_assert_eq(verdict_n(buf, SG_EVENT_MAX_VALUE), OK, "%s", g_msg);
        cr_assert_eq(verdict_n(buf, SG_EVENT_MAX_VALUE + 1), TOO_LARGE);
        buf[0] = (char)0xFF;
        cr_assert_eq(verdict_n(buf, SG_EVENT_MAX_VALUE + 1), TOO_LARGE);
}

Test(event, not_json)
{
        cr_assert_eq(verdict_n("", 0), MALFORMED);
        expect(MALFORMED, "   ");
        expect(MALFORMED, "{");
        expect(MALFORMED, "nul");
        expect(MALFORMED, PV "} x");
        expect(MALFORMED, PV "}{}");
        expect(MALFORMED, PV "}}");
        expect(MALFORMED, "\xEF\xBB\xBF" PV "}");
        expect(MALFORMED, "{'a':1}");
        expect(MALFORMED, PV ",\"device_id\":\"a\\u0000b\"}");
        expect(MALFORMED, PV ",\"metadata\":{\"k\":NaN}}");
        cr_assert_eq(verdict_n(PV "}\0", strlen(PV "}") + 1), MALFORMED);
}

Test(event, not_object)
{
        expect(NOT_OBJECT, "null");
        expect(NOT_OBJECT, "[]");
        expect(NOT_OBJECT, "[" PV "}]");
        expect(NOT_OBJECT, "\"x\"");
        expect(NOT_OBJECT, "42");
        expect(NOT_OBJECT, " true ");
}

Test(event, invalid_utf8)
{
        expect(BAD_UTF8, PV ",\"metadata\":{\"k\":\"\xC0\x80\"}}");
        expect(BAD_UTF8, PV ",\"metadata\":{\"k\":\"\xED\xA0\x80\"}}");
        expect(BAD_UTF8, PV ",\"metadata\":{\"k\":\"\xF4\x90\x80\x80\"}}");
        expect(BAD_UTF8, PV ",\"metadata\":{\"k\":\"\xE2\x82\"}}");
        /* Wins over a syntax error that comes first, and over anything
         * later stages would find. */
        expect(BAD_UTF8, "{\"a\" x \"\xFF\"}");
        expect(BAD_UTF8, "\xFF");
        expect(BAD_UTF8, "{\"zz\":1,\"\xFF\":2}");
        /* Valid UTF-8 elsewhere is fine. */
        expect(OK, PV
               ",\"metadata\":{\"t\":\"\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80\"}}");
}

Test(event, duplicate_keys)
{
        expect(DUP, PV ",\"event_id\":\"" EID "\"}");
        expect(DUP, PV ",\"metadata\":{\"a\":1,\"a\":1}}");
        expect(DUP, PV ",\"metadata\":{\"x\":{\"a\":1,\"a\":2}}}");
        expect(DUP, PV ",\"zz\":1,\"zz\":1}");
}

Test(event, numeric_overflow_is_invalid_value)
{
        expect(INVALID, BUY ",\"amount\":1e400}");
        expect(INVALID, PV ",\"metadata\":{\"n\":-1e400}}");
        expect(INVALID, PV ",\"metadata\":{\"n\":99999999999999999999}}");
}

/* --- field stages and their precedence -------------------------------- */

Test(event, unknown_field)
{
        expect(UNKNOWN, PV ",\"Country\":\"NL\"}");
        expect(UNKNOWN, PV ",\"extra\":null}");
        expect(UNKNOWN, PV ",\"\":1}");
        expect(UNKNOWN, PV ",\"metadata\":{},\"meta\":{}}");
}

Test(event, missing_required)
{
        expect(MISSING, "{}");
        expect(MISSING,
               "{\"user_id\":\"" UID "\",\"event_type\":\"page_view\"," TS
               ",\"country\":\"NL\"}");
        expect(MISSING,
               "{\"event_id\":\"" EID "\",\"event_type\":\"page_view\"," TS
               ",\"country\":\"NL\"}");
        expect(MISSING, "{" IDS "," TS ",\"country\":\"NL\"}");
        expect(MISSING,
               "{" IDS ",\"event_type\":\"page_view\",\"country\":\"NL\"}");
        expect(MISSING, "{" IDS ",\"event_type\":\"page_view\"," TS "}");
        expect(MISSING, "{" IDS ",\"event_type\":\"page_view\"," TS
                        ",\"country\":null}");
        expect(MISSING,
               "{\"event_id\":null,\"user_id\":\"" UID
               "\",\"event_type\":\"page_view\"," TS ",\"country\":\"NL\"}");
}

Test(event, wrong_type)
{
        expect(WRONG_TYPE,
               "{\"event_id\":42,\"user_id\":\"" UID
               "\",\"event_type\":\"page_view\"," TS ",\"country\":\"NL\"}");
        expect(WRONG_TYPE, "{" IDS ",\"event_type\":[],"
                           "\"event_timestamp\":\"x\",\"country\":\"NL\"}");
        expect(WRONG_TYPE,
               "{" IDS ",\"event_type\":\"page_view\","
               "\"event_timestamp\":1767357296,\"country\":\"NL\"}");
        expect(WRONG_TYPE,
               "{" IDS ",\"event_type\":\"page_view\"," TS ",\"country\":{}}");
        expect(WRONG_TYPE, BUY ",\"amount\":\"19.99\"}");
        expect(WRONG_TYPE, BUY ",\"amount\":true}");
        expect(WRONG_TYPE, PV ",\"currency\":978}");
        expect(WRONG_TYPE, PV ",\"has_consent\":1}");
        expect(WRONG_TYPE, PV ",\"is_eu\":\"true\"}");
        expect(WRONG_TYPE, PV ",\"do_not_track\":0}");
        expect(WRONG_TYPE, PV ",\"device_id\":123}");
        expect(WRONG_TYPE, PV ",\"content_id\":[\"a\"]}");
        expect(WRONG_TYPE, STOP ",\"watch_seconds\":\"10\"}");
        expect(WRONG_TYPE, PV ",\"error_code\":500}");
        expect(WRONG_TYPE, PV ",\"ip_address\":3405803786}");
        expect(WRONG_TYPE, PV ",\"metadata\":\"x\"}");
        expect(WRONG_TYPE, PV ",\"metadata\":[]}");
        expect(WRONG_TYPE, PV ",\"metadata\":1}");
}

Test(event, precedence)
{
        /* unknown_field beats missing_field. */
        expect(UNKNOWN, "{" IDS ",\"event_type\":\"page_view\"," TS
                        ",\"colour\":\"red\"}");
        /* missing_field beats wrong_type. */
        expect(MISSING, "{\"event_id\":1,\"user_id\":\"" UID
                        "\",\"event_type\":\"page_view\"," TS "}");
        /* wrong_type beats invalid_value, whatever the field order. */
        expect(WRONG_TYPE, "{" IDS ",\"event_type\":\"page_view\"," TS
                           ",\"country\":\"XX\",\"metadata\":5}");
        expect(WRONG_TYPE,
               "{\"metadata\":5," IDS ",\"event_type\":\"page_view\"," TS
               ",\"country\":\"XX\"}");
        /* invalid_value beats the conditional missing_field. */
        expect(INVALID, "{" IDS ",\"event_type\":\"purchase\"," TS
                        ",\"country\":\"XX\"}");
        /* conditional missing_field beats inconsistent. */
        expect(MISSING, BUY ",\"is_eu\":false}");
        expect(MISSING, PLAY("playback_error") ",\"watch_seconds\":1}");
        /* invalid_value beats inconsistent. */
        expect(INVALID, PLAY("play") ",\"watch_seconds\":86401}");
        /* parse errors beat not_object and everything after. */
        expect(MALFORMED, "[1,]");
        expect(DUP, "{\"zz\":1,\"zz\":2}");
}

Test(event, key_order_does_not_matter)
{
        static const char a[] =
            "{\"event_id\":\"" EID "\",\"user_id\":\"" UID "\","
            "\"event_type\":\"purchase\",\"event_timestamp\":"
            "\"2026-01-02T12:34:56.123Z\",\"country\":\"NL\",\"amount\":19.99,"
            "\"is_eu\":true,\"metadata\":{\"a\":1,\"b\":[1,2]}}";
        static const char b[] =
            "{\"metadata\":{\"a\":1,\"b\":[1,2]},\"is_eu\":true,\"amount\":19."
            "99,"
            "\"country\":\"NL\",\"event_timestamp\":\"2026-01-02T12:34:56."
            "123Z\","
            "\"event_type\":\"purchase\",\"user_id\":\"" UID "\","
            "\"event_id\":\"" EID "\"}";
        sg_event_t ea, eb;

        cr_assert_eq(parse(a, &ea), OK, "%s", g_msg);
        cr_assert_eq(parse(b, &eb), OK, "%s", g_msg);
        cr_assert_str_eq(ea.metadata, eb.metadata);
        cr_assert_eq(ea.amount_cents, eb.amount_cents);
        cr_assert_eq(ea.ts_us, eb.ts_us);
        sg_event_fini(&ea);
        sg_event_fini(&eb);

        /* Two faults of different stages, in both orders. */
        expect(INVALID, PV ",\"currency\":\"eur\",\"is_eu\":false}");
        expect(INVALID,
               "{\"is_eu\":false,\"currency\":\"eur\"," IDS
               ",\"event_type\":\"page_view\"," TS ",\"country\":\"NL\"}");
        /* Two faults of the same stage: the verdict is the same. */
        expect(INVALID, PV ",\"currency\":\"eur\",\"device_id\":\"\"}");
        expect(INVALID,
               "{\"device_id\":\"\",\"currency\":\"eur\"," IDS
               ",\"event_type\":\"page_view\"," TS ",\"country\":\"NL\"}");
        expect(UNKNOWN, "{\"zz\":1,\"event_type\":\"page_view\"}");
        expect(UNKNOWN, "{\"event_type\":\"page_view\",\"zz\":1}");
}

/* --- invalid_value: ids and types ------------------------------------- */

Test(event, uuid_upper_case_stored_lower)
{
        sg_event_t ev;

        cr_assert_eq(
            parse("{\"event_id\":\"0B8F6F3E-2C1A-4C8E-9A53-6F1F0E1D2C3B\","
                  "\"user_id\":\"5D2f7A4e-9B61-4F0A-8C7D-1E2F3A4B5C6D\","
                  "\"event_type\":\"page_view\"," TS ",\"country\":\"NL\"}",
                  &ev),
            OK, "%s", g_msg);
        cr_assert_str_eq(ev.event_id, EID);
        cr_assert_str_eq(ev.user_id, UID);
        sg_event_fini(&ev);
}

static sg_reason_t uuid_verdict(const char *uuid)
{
        return verdictf("{\"event_id\":\"%s\",\"user_id\":\"" UID
                        "\",\"event_type\":\"page_view\"," TS
                        ",\"country\":\"NL\"}",
                        uuid);
}

Test(event, bad_uuids)
{
        cr_assert_eq(uuid_verdict("00000000-0000-0000-0000-000000000000"), OK);
        cr_assert_eq(uuid_verdict("0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3"),
                     INVALID);
        cr_assert_eq(uuid_verdict("0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3bb"),
                     INVALID);
        cr_assert_eq(uuid_verdict("0b8f6f3e2c1a4c8e9a536f1f0e1d2c3b"), INVALID);
        cr_assert_eq(uuid_verdict("0b8f6f3e-2c1a-4c8e-9a536f1f-0e1d2c3b"),
                     INVALID);
        cr_assert_eq(uuid_verdict("{b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3}"),
                     INVALID);
        cr_assert_eq(uuid_verdict("0b8f6f3g-2c1a-4c8e-9a53-6f1f0e1d2c3b"),
                     INVALID);
        cr_assert_eq(uuid_verdict(" 0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3"),
                     INVALID);
        cr_assert_eq(uuid_verdict(""), INVALID);
        expect(INVALID,
               "{\"event_id\":\"" EID "\",\"user_id\":\"x\","
               "\"event_type\":\"page_view\"," TS ",\"country\":\"NL\"}");
}

Test(event, event_types)
{
        expect(OK, "{" IDS ",\"event_type\":\"add_to_cart\"," TS
                   ",\"country\":\"NL\"}");
        expect(OK, PLAY("play") "}");
        expect(OK, PLAY("pause") "}");
        expect(OK, PLAY("seek") "}");
        expect(OK, PLAY("stop") "}");
        expect(INVALID, "{" IDS ",\"event_type\":\"PAGE_VIEW\"," TS
                        ",\"country\":\"NL\"}");
        expect(INVALID,
               "{" IDS ",\"event_type\":\"click\"," TS ",\"country\":\"NL\"}");
        expect(INVALID, "{" IDS ",\"event_type\":\"page_view \"," TS
                        ",\"country\":\"NL\"}");
        expect(INVALID,
               "{" IDS ",\"event_type\":\"\"," TS ",\"country\":\"NL\"}");
}

/* --- invalid_value: timestamps ---------------------------------------- */

static long long ts(const char *s)
{
        long long us = 42;

        cr_assert_eq(sg_event_parse_timestamp(s, &us), 0, "rejected %s", s);
        return us;
}

static void bad_ts(const char *s)
{
        long long us = 42;

        cr_assert_eq(sg_event_parse_timestamp(s, &us), -1, "accepted %s", s);
        cr_assert_eq(us, 42);
        cr_assert_eq(verdictf("{" IDS ",\"event_type\":\"page_view\","
                              "\"event_timestamp\":\"%s\",\"country\":\"NL\"}",
                              s),
                     INVALID, "%s", s);
}

Test(event, timestamps_valid)
{
        cr_assert_eq(ts("2026-01-02T12:34:56.123Z"), TS_US);
        cr_assert_eq(ts("2026-01-02t12:34:56.123z"), TS_US);
        cr_assert_eq(ts("2026-01-02T12:34:56.123000Z"), TS_US);
        cr_assert_eq(ts("2026-01-02T13:34:56.123+01:00"), TS_US);
        cr_assert_eq(ts("2026-01-02T12:34:56.123-00:00"), TS_US);
        cr_assert_eq(ts("2000-01-01T00:00:00Z"), 946684800000000LL);
        cr_assert_eq(ts("2024-02-29T00:00:00Z"), 1709164800000000LL);
        cr_assert_eq(ts("2099-12-31T23:59:59.999999Z"), 4102444799999999LL);
        cr_assert_eq(ts("2026-01-02T12:34:56.1Z"), TS_US - 23000);
        cr_assert_eq(ts("2026-01-02T12:34:56.000001Z"), TS_US - 123000 + 1);
        cr_assert_eq(ts("2000-02-29T00:00:00Z"), 951782400000000LL);
        /* The year range applies as written, not after conversion. */
        cr_assert_eq(ts("2000-01-01T00:30:00+01:00"),
                     946684800000000LL - 1800000000LL);
        cr_assert_eq(ts("2099-12-31T23:30:00-01:00"),
                     4102444800000000LL + 1800000000LL);
        expect(
            OK,
            "{" IDS ",\"event_type\":\"page_view\","
            "\"event_timestamp\":\"2024-02-29T23:59:59Z\",\"country\":\"NL\"}");
}

Test(event, timestamps_offsets_cross_midnight)
{
        /* +14:00: 10:00 local on the 2nd is 20:00 UTC on the 1st. */
        cr_assert_eq(ts("2026-01-02T10:00:00+14:00"), 1767297600000000LL);
        /* -05:30: 20:00 local on the 2nd is 01:30 UTC on the 3rd. */
        cr_assert_eq(ts("2026-01-02T20:00:00-05:30"), 1767403800000000LL);
        /* +05:30: 03:00 local on the 2nd is 21:30 UTC on the 1st. */
        cr_assert_eq(ts("2026-01-02T03:00:00+05:30"), 1767303000000000LL);
        cr_assert_eq(ts("2026-01-01T00:00:00+23:59"),
                     1767225600000000LL - (23 * 3600 + 59 * 60) * 1000000LL);
}

Test(event, timestamps_invalid)
{
        bad_ts("2023-02-29T00:00:00Z");
        bad_ts("2100-02-29T00:00:00Z");
        bad_ts("1999-12-31T23:59:59Z");
        bad_ts("2100-01-01T00:00:00Z");
        bad_ts("2026-01-02T12:34:56.1234567Z");
        bad_ts("2026-01-02T12:34:56.Z");
        bad_ts("2026-01-02T12:34:56,123Z");
        bad_ts("2026-01-02 12:34:56Z");
        bad_ts("2026-01-02T12:34:56");
        bad_ts("2026-01-02T12:34Z");
        bad_ts("2026-01-02");
        bad_ts("2026-01-02T24:00:00Z");
        bad_ts("2026-01-02T23:60:00Z");
        bad_ts("2026-12-31T23:59:60Z"); /* leap second: rejected */
        bad_ts("2026-13-01T00:00:00Z");
        bad_ts("2026-00-10T00:00:00Z");
        bad_ts("2026-04-31T00:00:00Z");
        bad_ts("2026-01-00T00:00:00Z");
        bad_ts("2026-01-32T00:00:00Z");
        bad_ts("2026-1-02T12:34:56Z");
        bad_ts("2026-01-02T12:34:56+24:00");
        bad_ts("2026-01-02T12:34:56+05:60");
        bad_ts("2026-01-02T12:34:56+0530");
        bad_ts("2026-01-02T12:34:56+05");
        bad_ts("2026-01-02T12:34:56+05:30x");
        bad_ts("2026-01-02T12:34:56ZZ");
        bad_ts("2026-01-02T12:34:56Z ");
        bad_ts(" 2026-01-02T12:34:56Z");
        bad_ts("2026-01-02T12:34:56UTC");
        bad_ts("+2026-01-02T12:34:56Z");
        bad_ts("");
        bad_ts("20x6-01-02T12:34:56Z");
        cr_assert_eq(sg_event_parse_timestamp(NULL, NULL), -1);
}

Test(event, format_ts_and_days)
{
        char out[64], day[11];

        cr_assert_eq(sg_time_format_pg(TS_US, out, sizeof out), 29);
        cr_assert_str_eq(out, "2026-01-02 12:34:56.123000+00");
        sg_time_format_pg(0, out, sizeof out);
        cr_assert_str_eq(out, "1970-01-01 00:00:00.000000+00");
        sg_time_format_pg(-1, out, sizeof out);
        cr_assert_str_eq(out, "1969-12-31 23:59:59.999999+00");
        sg_time_format_pg(4102444799999999LL, out, sizeof out);
        cr_assert_str_eq(out, "2099-12-31 23:59:59.999999+00");
        sg_time_format_pg(1709164800000000LL, out, sizeof out);
        cr_assert_str_eq(out, "2024-02-29 00:00:00.000000+00");
        cr_assert_eq(sg_time_format_pg(TS_US, out, 11), 10);
        cr_assert_str_eq(out, "2026-01-02");

        cr_assert_eq(sg_time_utc_day(0), 0);
        cr_assert_eq(sg_time_utc_day(86399999999LL), 0);
        cr_assert_eq(sg_time_utc_day(86400000000LL), 1);
        cr_assert_eq(sg_time_utc_day(-1), -1);
        cr_assert_eq(sg_time_utc_day(-86400000000LL), -1);
        cr_assert_eq(sg_time_utc_day(-86400000001LL), -2);
        cr_assert_eq(sg_time_utc_day(TS_US), 20455);
        /* -05:30 crossing midnight lands on the next UTC day. */
        cr_assert_eq(sg_time_utc_day(ts("2026-01-02T20:00:00-05:30")), 20456);

        sg_time_format_day(0, day);
        cr_assert_str_eq(day, "1970-01-01");
        sg_time_format_day(-1, day);
        cr_assert_str_eq(day, "1969-12-31");
        sg_time_format_day(19782, day);
        cr_assert_str_eq(day, "2024-02-29");
        sg_time_format_day(20455, day);
        cr_assert_str_eq(day, "2026-01-02");
        sg_time_format_day(sg_time_utc_day(4102444799999999LL), day);
        cr_assert_str_eq(day, "2099-12-31");
}

Test(event, timestamp_roundtrip_every_day)
{
        /* Every day of the range through parse, format and back. */
        char txt[40], out[64], day[11];

        for (long long d = sg_time_utc_day(946684800000000LL);
             d <= sg_time_utc_day(4102444799999999LL); d++) {
                long long us = d * 86400000000LL + 45296000007LL;

                sg_time_format_day(d, day);
                snprintf(txt, sizeof txt, "%sT12:34:56.000007Z", day);
                cr_assert_eq(ts(txt), us, "%s", txt);
                sg_time_format_pg(us, out, sizeof out);
                cr_assert_eq(strncmp(out, day, 10), 0);
                cr_assert_str_eq(out + 10, " 12:34:56.000007+00");
        }
}

/* --- invalid_value: countries ----------------------------------------- */

static sg_reason_t country_verdict(const char *cc, const char *extra)
{
        return verdictf("{" IDS ",\"event_type\":\"page_view\"," TS
                        ",\"country\":\"%s\"%s}",
                        cc, extra);
}

Test(event, countries)
{
        static const char *const good[] = {
            "DE", "US-CA", "US-C12", "FR-75", "GB", "GR", "AQ",
            "AX", "BQ",    "SS",     "ZW",    "AD", "CW", "GB-ENG",
        };
        static const char *const bad[] = {
            "de",    "De",    "XX",    "ZZ",    "UK", "EL",  "XK",
            "EU",    "AA",    "D",     "DEU",   "",   "US-", "US-CA12",
            "US-ca", "US_CA", "US CA", "US-C-", "U1", "12",
        };

        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
                cr_assert_eq(country_verdict(good[i], ""), OK, "%s: %s",
                             good[i], g_msg);
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
                cr_assert_eq(country_verdict(bad[i], ""), INVALID, "%s",
                             bad[i]);
}

Test(event, country_decoded)
{
        sg_event_t ev;

        cr_assert_eq(parse("{" IDS ",\"event_type\":\"page_view\"," TS
                           ",\"country\":\"US-CA\"}",
                           &ev),
                     OK);
        cr_assert_str_eq(ev.country, "US-CA");
        cr_assert_not(ev.is_eu);
        sg_event_fini(&ev);
        cr_assert_eq(parse("{" IDS ",\"event_type\":\"page_view\"," TS
                           ",\"country\":\"DE-BY\"}",
                           &ev),
                     OK);
        cr_assert(ev.is_eu);
        sg_event_fini(&ev);
}

Test(event, eu_membership)
{
        static const char *const eu[] = {
            "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI",
            "FR", "DE", "GR", "IE", "IT", "LV", "LT", "LU", "MT",
            "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE", "HU",
        };
        static const char *const not_eu[] = {
            "GB", "US", "CH", "NO", "IS", "LI",
            "TR", "EL", "UK", "EU", "de", "",
        };

        cr_assert_eq(sizeof eu / sizeof eu[0], 27);
        for (size_t i = 0; i < 27; i++) {
                cr_assert(sg_country_is_eu(eu[i]), "%s", eu[i]);
                cr_assert_eq(country_verdict(eu[i], ",\"is_eu\":true"), OK,
                             "%s", eu[i]);
                cr_assert_eq(country_verdict(eu[i], ",\"is_eu\":false"),
                             INCONSISTENT, "%s", eu[i]);
        }
        for (size_t i = 0; i < sizeof not_eu / sizeof not_eu[0]; i++)
                cr_assert_not(sg_country_is_eu(not_eu[i]), "%s",
                              not_eu[i]);
        cr_assert_not(sg_country_is_eu(NULL));
        cr_assert_eq(country_verdict("GB", ",\"is_eu\":false"), OK);
        cr_assert_eq(country_verdict("GB", ",\"is_eu\":true"), INCONSISTENT);
        cr_assert_eq(country_verdict("US-CA", ",\"is_eu\":true"), INCONSISTENT);
        cr_assert_eq(country_verdict("FR-75", ",\"is_eu\":true"), OK);
}

/* --- invalid_value: amounts ------------------------------------------- */

static long long cents(const char *amount)
{
        sg_event_t ev;
        char buf[1024];
        long long c;

        snprintf(buf, sizeof buf, BUY ",\"amount\":%s}", amount);
        cr_assert_eq(parse(buf, &ev), OK, "%s: %s", amount, g_msg);
        c = ev.amount_cents;
        sg_event_fini(&ev);
        return c;
}

Test(event, amounts_on_purchase)
{
        cr_assert_eq(cents("19.99"), 1999);
        cr_assert_eq(cents("0.01"), 1);
        cr_assert_eq(cents("0.1"), 10);
        cr_assert_eq(cents("20"), 2000);
        cr_assert_eq(cents("20.0"), 2000);
        cr_assert_eq(cents("1e2"), 10000);
        cr_assert_eq(cents("1000000"), 100000000);
        cr_assert_eq(cents("1000000.00"), 100000000);
        cr_assert_eq(cents("999999.99"), 99999999);
        cr_assert_eq(cents("0.29"), 29);
        cr_assert_eq(cents("1.005e2"), 10050);

        expect(INVALID, BUY ",\"amount\":1000000.01}");
        expect(INVALID, BUY ",\"amount\":1000001}");
        expect(INVALID, BUY ",\"amount\":0}");
        expect(INVALID, BUY ",\"amount\":0.0}");
        expect(INVALID, BUY ",\"amount\":-0}");
        expect(INVALID, BUY ",\"amount\":-1}");
        expect(INVALID, BUY ",\"amount\":-0.01}");
        expect(INVALID, BUY ",\"amount\":19.999}");
        expect(INVALID, BUY ",\"amount\":19.9900000001}");
        expect(INVALID, BUY ",\"amount\":0.001}");
        expect(INVALID, BUY ",\"amount\":1e-300}");
        expect(INVALID, BUY ",\"amount\":1e400}");
        expect(INVALID, BUY ",\"amount\":1e300}");
        expect(INVALID, BUY ",\"amount\":9223372036854775807}");
        expect(MISSING, BUY "}");
        expect(MISSING, BUY ",\"amount\":null}");
}

Test(event, amounts_on_other_types)
{
        expect(OK, PV ",\"amount\":0}");
        expect(OK, PV ",\"amount\":0.0}");
        expect(OK, PV ",\"amount\":-0}");
        expect(OK, PV ",\"amount\":-0.0}");
        expect(OK, PV ",\"amount\":null}");
        expect(INCONSISTENT, PV ",\"amount\":5}");
        expect(INCONSISTENT, PV ",\"amount\":0.01}");
        expect(INCONSISTENT, PV ",\"amount\":5e300}");
        expect(INCONSISTENT, PV ",\"amount\":9223372036854775807}");
        expect(INCONSISTENT, PLAY("play") ",\"amount\":1}");
        expect(INVALID, PV ",\"amount\":-1}");
        expect(INVALID, PV ",\"amount\":-9223372036854775808}");
        expect(INVALID, PV ",\"amount\":0.001}");
}

Test(event, currency)
{
        sg_event_t ev;

        cr_assert_eq(parse(BUY ",\"amount\":1,\"currency\":\"USD\"}", &ev), OK);
        cr_assert_str_eq(ev.currency, "USD");
        sg_event_fini(&ev);
        expect(INVALID, PV ",\"currency\":\"usd\"}");
        expect(INVALID, PV ",\"currency\":\"EURO\"}");
        expect(INVALID, PV ",\"currency\":\"EU\"}");
        expect(INVALID, PV ",\"currency\":\"E1R\"}");
        expect(INVALID, PV ",\"currency\":\"\"}");
        expect(INVALID, PV ",\"currency\":\"\xC3\x89UR\"}");
}

/* --- invalid_value: short strings ------------------------------------- */

static char *repeat(char c, size_t n)
{
        static char buf[256];

        cr_assert(n < sizeof buf);
        memset(buf, c, n);
        buf[n] = '\0';
        return buf;
}

Test(event, device_and_content_ids)
{
        sg_event_t ev;
        char buf[1024];

        snprintf(buf, sizeof buf, PV ",\"device_id\":\"%s\"}", repeat('d', 64));
        cr_assert_eq(parse(buf, &ev), OK);
        cr_assert_str_eq(ev.device_id, repeat('d', 64));
        sg_event_fini(&ev);
        expect(INVALID, PV ",\"device_id\":\"%s\"}", repeat('d', 65));
        expect(INVALID, PV ",\"device_id\":\"\"}");
        expect(INVALID, PV ",\"device_id\":\"tv lg\"}");
        expect(INVALID, PV ",\"device_id\":\"tv\\tlg\"}");
        expect(INVALID, PV ",\"device_id\":\"tv\\u007f\"}");
        expect(INVALID, PV ",\"device_id\":\"t\xC3\xA9l\xC3\xA9\"}");
        expect(OK, PV ",\"device_id\":\"!~{}[]\\\"\\\\/\"}");

        snprintf(buf, sizeof buf, PLAY("play") ",\"content_id\":\"%s\"}",
                 repeat('c', 64));
        expect(DUP, "%s", buf); /* PLAY already has one */
        expect(OK,
               "{" IDS ",\"event_type\":\"play\"," TS
               ",\"country\":\"NL\",\"content_id\":\"%s\"}",
               repeat('c', 64));
        expect(INVALID,
               "{" IDS ",\"event_type\":\"play\"," TS
               ",\"country\":\"NL\",\"content_id\":\"%s\"}",
               repeat('c', 65));
        expect(INVALID, "{" IDS ",\"event_type\":\"play\"," TS
                        ",\"country\":\"NL\",\"content_id\":\"a b\"}");
        expect(OK, PV ",\"content_id\":\"c-1\"}");
}

Test(event, error_codes)
{
        expect(OK, PERR ",\"error_code\":\"%s\"}", repeat('E', 32));
        expect(INVALID, PERR ",\"error_code\":\"%s\"}", repeat('E', 33));
        expect(INVALID, PERR ",\"error_code\":\"\"}");
        expect(INVALID, PERR ",\"error_code\":\"E 1\"}");
        expect(MISSING, PERR "}");
        expect(MISSING, PERR ",\"error_code\":null}");
        expect(INCONSISTENT, PV ",\"error_code\":\"E1\"}");
        expect(INCONSISTENT, PLAY("play") ",\"error_code\":\"E1\"}");
        expect(OK, PV ",\"error_code\":null}");
}

Test(event, watch_seconds)
{
        expect(OK, STOP ",\"watch_seconds\":0}");
        expect(OK, STOP ",\"watch_seconds\":86400}");
        expect(INVALID, STOP ",\"watch_seconds\":86401}");
        expect(INVALID, STOP ",\"watch_seconds\":-1}");
        expect(INVALID, STOP ",\"watch_seconds\":9223372036854775807}");
        expect(WRONG_TYPE, STOP ",\"watch_seconds\":1.5}");
        expect(WRONG_TYPE, STOP ",\"watch_seconds\":10.0}");
        expect(WRONG_TYPE, STOP ",\"watch_seconds\":1e3}");
        expect(INCONSISTENT, PLAY("play") ",\"watch_seconds\":10}");
        expect(INCONSISTENT, PV ",\"watch_seconds\":0}");
        expect(OK, PV ",\"watch_seconds\":null}");
}

Test(event, content_id_required_on_playback)
{
        static const char *const types[] = {"play", "pause", "seek", "stop",
                                            "playback_error"};

        for (size_t i = 0; i < 5; i++) {
                cr_assert_eq(verdictf("{" IDS ",\"event_type\":\"%s\"," TS
                                      ",\"country\":\"NL\"%s}",
                                      types[i],
                                      i == 4 ? ",\"error_code\":\"E1\"" : ""),
                             INCONSISTENT, "%s", types[i]);
                cr_assert_not_null(strstr(g_msg, "content_id"), "%s", g_msg);
        }
        expect(OK, PV "}");
        expect(OK, "{" IDS ",\"event_type\":\"add_to_cart\"," TS
                   ",\"country\":\"NL\",\"content_id\":null}");
}

Test(event, ip_addresses)
{
        sg_event_t ev;

        cr_assert_eq(
            parse(PV ",\"ip_address\":\"2001:db8:abcd:1234::1\"}", &ev), OK);
        cr_assert_str_eq(ev.ip, "2001:db8:abcd::");
        sg_event_fini(&ev);
        cr_assert_eq(parse(PV ",\"ip_address\":\"::1\"}", &ev), OK);
        cr_assert_str_eq(ev.ip, "::");
        sg_event_fini(&ev);
        expect(INVALID, PV ",\"ip_address\":\"not-an-ip\"}");
        expect(INVALID, PV ",\"ip_address\":\"203.0.113\"}");
        expect(INVALID, PV ",\"ip_address\":\"203.0.113.10:8080\"}");
        expect(INVALID, PV ",\"ip_address\":\"\"}");
}

/* --- metadata --------------------------------------------------------- */

static char *metadata_of(const char *json)
{
        sg_event_t ev;
        char *m;

        cr_assert_eq(parse(json, &ev), OK, "%s", g_msg);
        cr_assert_not_null(ev.metadata);
        m = strdup(ev.metadata);
        sg_event_fini(&ev);
        return m;
}

static void expect_metadata(const char *in, const char *want)
{
        char buf[4096];
        char *got;

        snprintf(buf, sizeof buf, PV ",\"metadata\":%s}", in);
        got = metadata_of(buf);
        cr_assert_str_eq(got, want);
        free(got);
}

Test(event, metadata_preserved_compact)
{
        expect_metadata("{}", "{}");
        expect_metadata("{ \"b\" : 1 , \"a\" : [ true, null, \"x\" ] }",
                        "{\"b\":1,\"a\":[true,null,\"x\"]}");
        expect_metadata("{\"t\":\"caf\xC3\xA9\",\"n\":-3}",
                        "{\"t\":\"caf\xC3\xA9\",\"n\":-3}");
        expect_metadata("{\"r\":1.5}", "{\"r\":1.5}");
}

Test(event, metadata_depth)
{
        expect(OK, PV ",\"metadata\":{\"a\":{\"b\":{\"c\":{\"d\":1}}}}}");
        expect(INVALID, PV ",\"metadata\":{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}}");
        expect(OK, PV ",\"metadata\":{\"a\":[[[1]]]}}");
        expect(INVALID, PV ",\"metadata\":{\"a\":[[[[]]]]}}");
        expect(OK, PV ",\"metadata\":{\"a\":[{\"b\":[\"x\"]}]}}");
        expect(INVALID, PV ",\"metadata\":{\"a\":[{\"b\":[{}]}]}}");
        /* Deeper than the JSON parser allows at all. */
        char buf[SG_EVENT_MAX_VALUE];
        size_t n = 0, depth = 3000;

        n += (size_t)snprintf(buf, sizeof buf, PV ",\"metadata\":{\"a\":");
        memset(buf + n, '[', depth);
        memset(buf + n + depth, ']', depth);
        n += 2 * depth;
        memcpy(buf + n, "}}", 2);
        n += 2;
        cr_assert_neq(verdict_n(buf, n), OK);
}

Test(event, metadata_size)
{
        /* {"k":"..."} is 8 bytes plus the string. */
        expect(OK, PV ",\"metadata\":{\"k\":\"%s\"}}", repeat('x', 200));
        char big[2100];

        memset(big, 'x', 2040);
        big[2040] = '\0';
        expect(OK, PV ",\"metadata\":{\"k\":\"%s\"}}", big);
        big[2040] = 'x';
        big[2041] = '\0';
        expect(INVALID, PV ",\"metadata\":{\"k\":\"%s\"}}", big);
        /* Measured compact: whitespace in the message does not count. */
        big[2040] = '\0';
        expect(OK, PV ",\"metadata\" : {  \"k\"  :  \"%s\"  } }", big);
        /* Escapes count as serialised: 1020 quotes are 2040 bytes. */
        char q[2100] = "";
        for (int i = 0; i < 1020; i++)
                strcat(q, "\\\"");
        expect(OK, PV ",\"metadata\":{\"k\":\"%s\"}}", q);
        strcat(q, "x");
        expect(INVALID, PV ",\"metadata\":{\"k\":\"%s\"}}", q);
}

Test(event, metadata_emails_redacted)
{
        expect_metadata(
            "{\"a\":{\"b\":{\"c\":\"mail me: john.doe@example.com\"}}}",
            "{\"a\":{\"b\":{\"c\":\"[redacted]\"}}}");
        expect_metadata("{\"l\":[\"x\",\"a@b.cc\",1,[\"c@d.ee\"]]}",
                        "{\"l\":[\"x\",\"[redacted]\",1,[\"[redacted]\"]]}");
        expect_metadata("{\"a\":{\"b\":[{\"c\":\"x@y.org\"}]}}",
                        "{\"a\":{\"b\":[{\"c\":\"[redacted]\"}]}}");
        expect_metadata("{\"at\":\"@\",\"n\":\"a@b\",\"ok\":\"1.2.3\"}",
                        "{\"at\":\"@\",\"n\":\"a@b\",\"ok\":\"1.2.3\"}");
}

Test(event, metadata_email_keys_redacted)
{
        expect_metadata("{\"john@x.org\":1,\"z\":2}",
                        "{\"[redacted]\":1,\"z\":2}");
        expect_metadata("{\"a@b.cc\":1,\"[redacted]\":2,\"c@d.ee\":3,"
                        "\"[redacted]_3\":4}",
                        "{\"[redacted]_2\":1,\"[redacted]\":2,"
                        "\"[redacted]_4\":3,\"[redacted]_3\":4}");
        expect_metadata("{\"x\":{\"a@b.cc\":\"c@d.ee\"}}",
                        "{\"x\":{\"[redacted]\":\"[redacted]\"}}");
}

Test(event, metadata_redaction_after_size_check)
{
        /* Redaction may grow the text; the limit is on what was sent. */
        char m[4096] = "{";

        for (int i = 0; i < 136; i++) {
                char kv[32];
                snprintf(kv, sizeof kv, "%s\"%03d\":\"a@b.cc\"", i ? "," : "",
                         i);
                strcat(m, kv);
        }
        strcat(m, "}");
        cr_assert_leq(strlen(m), 2048);
        char *got;
        char buf[8192];

        snprintf(buf, sizeof buf, PV ",\"metadata\":%s}", m);
        got = metadata_of(buf);
        cr_assert_gt(strlen(got), 2048);
        cr_assert_null(strchr(got, '@'));
        free(got);
}

Test(event, identifier_fields_with_emails_redacted)
{
        sg_event_t ev;

        cr_assert_eq(parse("{" IDS ",\"event_type\":\"playback_error\"," TS
                           ",\"country\":\"NL\",\"content_id\":\"bob@mail.example.net\","
                           "\"device_id\":\"jane.doe@example.com\","
                           "\"error_code\":\"x@y.org\"}",
                           &ev),
                     OK, "%s", g_msg);
        cr_assert_str_eq(ev.device_id, "[redacted]");
        cr_assert_str_eq(ev.content_id, "[redacted]");
        cr_assert_str_eq(ev.error_code, "[redacted]");
        sg_event_fini(&ev);
        /* An ordinary identifier with an '@' but no e-mail stays. */
        cr_assert_eq(parse(PV ",\"device_id\":\"tv@home\"}", &ev), OK, "%s", g_msg);
        cr_assert_str_eq(ev.device_id, "tv@home");
        sg_event_fini(&ev);
}
