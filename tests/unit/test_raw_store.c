/* sg-raw-store's pure part: COPY rows for events_raw and events_rejected. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "raw_store.h"
#include "sg_buf.h"

#define EXAMPLE                                                                \
        "{\"event_id\":\"0B8F6F3E-2C1A-4C8E-9A53-6F1F0E1D2C3B\","             \
        "\"user_id\":\"5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d\","               \
        "\"event_type\":\"purchase\","                                         \
        "\"event_timestamp\":\"2026-01-02T00:30:00.5+01:00\","                 \
        "\"country\":\"NL\",\"amount\":19.99,\"has_consent\":true,"            \
        "\"device_id\":\"tv_lg_abc123\",\"ip_address\":\"203.0.113.10\","      \
        "\"metadata\":{\"note\":\"tab\\there\",\"who\":\"a.b@example.com\"}}"

static sg_raw_store_t rs;

static void setup(void)
{
        sg_raw_store_init(&rs, "sg-raw-store", "user_events");
}

static void teardown(void)
{
        sg_raw_store_fini(&rs);
}

TestSuite(raw_store, .init = setup, .fini = teardown);

Test(raw_store, valid_event_becomes_one_copy_row)
{
        sg_reason_t r = sg_raw_store_add_value(&rs, EXAMPLE, strlen(EXAMPLE),
                                               3, 41);
        cr_assert_eq(r, SG_REASON_OK);
        cr_assert_eq(rs.batch_rows, 1);
        cr_assert_eq(rs.batch_rejects, 0);
        /* Lower-cased id; the +01:00 timestamp is the previous UTC day;
         * exact cents; truncated IP; metadata's tab escaped for COPY and
         * the e-mail redacted; NULL markers for absent fields. */
        cr_assert_str_eq(
            rs.rows.data,
            "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b\t"
            "5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d\tpurchase\t"
            "2026-01-01 23:30:00.500000+00\t2026-01-01\tNL\tt\t19.99\tEUR\t"
            "t\tf\ttv_lg_abc123\t\\N\t\\N\t\\N\t203.0.113.0\t"
            "{\"note\":\"tab\\\\there\",\"who\":\"[redacted]\"}\t"
            "user_events\t3\t41\n");
}

Test(raw_store, invalid_event_becomes_a_reject_row_without_the_email)
{
        const char *bad = "{\"contact\":\"jane.doe@example.org\",\"x\":";
        sg_reason_t r = sg_raw_store_add_value(&rs, bad, strlen(bad), 0, 7);
        cr_assert_eq(r, SG_REASON_MALFORMED_JSON);
        cr_assert_eq(rs.batch_rows, 0);
        cr_assert_eq(rs.batch_rejects, 1);
        cr_assert_eq(rs.batch_by_reason[SG_REASON_MALFORMED_JSON], 1);
        cr_assert(strncmp(rs.rejects.data,
                          "sg-raw-store\tuser_events\t0\t7\tmalformed_json\t",
                          44) == 0,
                  "row: %s", rs.rejects.data);
        cr_assert_null(strstr(rs.rejects.data, "jane.doe"));
        cr_assert_not_null(strstr(rs.rejects.data, "[redacted]"));
        /* payload_bytes is the size as received */
        char tail[32];
        snprintf(tail, sizeof(tail), "\t%zu\n", strlen(bad));
        cr_assert(strstr(rs.rejects.data, tail) != NULL);
}

Test(raw_store, tombstone_is_rejected_not_dropped)
{
        sg_reason_t r = sg_raw_store_add_value(&rs, NULL, 0, 1, 9);
        cr_assert_neq(r, SG_REASON_OK);
        cr_assert_eq(rs.batch_rejects, 1);
        cr_assert_not_null(strstr(rs.rejects.data, "tombstone"));
        cr_assert_not_null(strstr(rs.rejects.data, "\t\t0\n"));
}

Test(raw_store, copy_text_escapes_control_characters)
{
        sg_buf_t b;
        sg_buf_init(&b);
        sg_buf_copy_text(&b, "a\\b\tc\nd\re", 9);
        cr_assert_str_eq(b.data, "a\\\\b\\tc\\nd\\re");
        sg_buf_fini(&b);
}

Test(raw_store, encode_row_numbers_without_printf)
{
        sg_event_t ev;
        char msg[256];
        const char *stop =
            "{\"event_id\":\"0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b\","
            "\"user_id\":\"5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d\","
            "\"event_type\":\"stop\",\"event_timestamp\":\"2099-12-31T23:59:59Z\","
            "\"country\":\"US-CA\",\"do_not_track\":true,\"currency\":\"USD\","
            "\"content_id\":\"c_1\",\"watch_seconds\":0}";
        sg_buf_t b;

        cr_assert_eq(sg_event_parse(stop, strlen(stop), &ev, msg, sizeof msg),
                     SG_REASON_OK, "%s", msg);
        sg_buf_init(&b);
        sg_raw_store_encode_row(&b, &ev, "t\\x", 2147483647,
                                9223372036854775807LL);
        cr_assert_str_eq(b.data,
                         "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b\t"
                         "5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d\tstop\t"
                         "2099-12-31 23:59:59.000000+00\t2099-12-31\tUS-CA\tf\t"
                         "0.00\tUSD\tf\tt\t\\N\tc_1\t0\t\\N\t\\N\t\\N\t"
                         "t\\\\x\t2147483647\t9223372036854775807\n");
        /* Cents below one unit keep their leading zero. */
        ev.amount_cents = 5;
        sg_buf_reset(&b);
        sg_raw_store_encode_row(&b, &ev, "t", 0, 0);
        cr_assert(strstr(b.data, "\t0.05\tUSD\t") != NULL, "%s", b.data);
        ev.amount_cents = 100000000;
        sg_buf_reset(&b);
        sg_raw_store_encode_row(&b, &ev, "t", 0, 0);
        cr_assert(strstr(b.data, "\t1000000.00\tUSD\t") != NULL, "%s", b.data);
        sg_buf_fini(&b);
        sg_event_fini(&ev);
}
