/* notice: the erasure-notice format, notice and id lists, the in-flight
 * tracker (gdpr/notice.c). */

#include <criterion/criterion.h>

#include <string.h>

#include "notice.h"

TestSuite(notice, .timeout = 30);

#define UID "0138c3ca-1436-4bb3-a1bd-7fabbdf0e80a"
#define UID2 "ff501e64-57c4-4e74-a03e-de566535f66e"
#define TS "2026-11-22T04:40:35.069247Z"

/* --- validation ----------------------------------------------------- */

Test(notice, uuid_valid)
{
        cr_assert(sg_notice_uuid_valid(UID));
        cr_assert(sg_notice_uuid_valid("0138C3CA-1436-4BB3-A1BD-7FABBDF0E80A"));
        cr_assert_not(sg_notice_uuid_valid(NULL));
        cr_assert_not(sg_notice_uuid_valid(""));
        cr_assert_not(sg_notice_uuid_valid(UID "0"));
        cr_assert_not(
            sg_notice_uuid_valid("0138c3ca-1436-4bb3-a1bd-7fabbdf0e80"));
        cr_assert_not(
            sg_notice_uuid_valid("0138c3ca+1436-4bb3-a1bd-7fabbdf0e80a"));
        cr_assert_not(
            sg_notice_uuid_valid("0138c3cg-1436-4bb3-a1bd-7fabbdf0e80a"));
        cr_assert_not(
            sg_notice_uuid_valid("0138c3ca-1436-4bb3-a1bd-7fabbdf0e8\"a"));
}

Test(notice, ts_valid)
{
        cr_assert(sg_notice_ts_valid(TS));
        cr_assert(sg_notice_ts_valid("2026-11-22T04:40:35Z"));
        cr_assert(sg_notice_ts_valid("2026-11-22T04:40:35.1Z"));
        cr_assert_not(sg_notice_ts_valid(NULL));
        cr_assert_not(sg_notice_ts_valid(""));
        cr_assert_not(sg_notice_ts_valid("2026-11-22 04:40:35Z"));
        cr_assert_not(sg_notice_ts_valid("2026-11-22T04:40:35"));
        cr_assert_not(sg_notice_ts_valid("2026-11-22T04:40:35.Z"));
        cr_assert_not(sg_notice_ts_valid("2026-11-22T04:40:35+00:00"));
        cr_assert_not(sg_notice_ts_valid("2026-11-22T04:40:35.12\"Z"));
        cr_assert_not(sg_notice_ts_valid("2026-1a-22T04:40:35Z"));
}

/* --- format --------------------------------------------------------- */

Test(notice, format_exact)
{
        sg_notice_t nt;
        char buf[256];
        int n;

        cr_assert_eq(sg_notice_set(&nt, 42, UID, TS), 0);
        n = sg_notice_format(&nt, buf, sizeof(buf));
        cr_assert_str_eq(buf, "{\"user_id\":\"" UID "\",\"request_id\":42,"
                              "\"erased_at\":\"" TS "\"}");
        cr_assert_eq(n, (int)strlen(buf));
}

Test(notice, format_refuses_bad_fields_and_small_buffers)
{
        sg_notice_t nt;
        char buf[256];

        cr_assert_eq(sg_notice_set(&nt, 1, "someone@example.com", TS), -1);
        cr_assert_eq(sg_notice_set(&nt, 1, UID, "yesterday"), -1);
        cr_assert_eq(sg_notice_set(&nt, 1, UID, TS), 0);
        cr_assert_eq(sg_notice_format(&nt, buf, 20), -1);
        nt.request_id = -1;
        cr_assert_eq(sg_notice_format(&nt, buf, sizeof(buf)), -1);
        /* Fields changed behind sg_notice_set's back are checked again. */
        nt.request_id = 1;
        memcpy(nt.user_id, "x\"@example.com", 15);
        cr_assert_eq(sg_notice_format(&nt, buf, sizeof(buf)), -1);
}

/* --- lists ---------------------------------------------------------- */

Test(notice, list_add_users_parses_uuid_arrays)
{
        sg_notice_list_t l = {0};

        cr_assert_eq(sg_notice_list_add_users(&l, 7, "{" UID "}", TS), 1);
        cr_assert_eq(sg_notice_list_add_users(&l, 8, "{" UID "," UID2 "}", TS),
                     2);
        cr_assert_eq(l.n, 3);
        cr_assert_eq(l.v[0].request_id, 7);
        cr_assert_str_eq(l.v[1].user_id, UID);
        cr_assert_str_eq(l.v[2].user_id, UID2);
        cr_assert_eq(l.v[2].request_id, 8);
        cr_assert_str_eq(l.v[2].erased_at, TS);
        cr_assert_eq(sg_notice_list_add_users(&l, 9, "", TS), 0);
        cr_assert_eq(sg_notice_list_add_users(&l, 9, "{}", TS), 0);
        cr_assert_eq(sg_notice_list_add_users(&l, 9, NULL, TS), 0);
        cr_assert_eq(l.n, 3);
        sg_notice_list_fini(&l);
}

Test(notice, list_add_users_rejects_malformed_input_atomically)
{
        static const char *const bad[] = {UID,     /* no braces */
                                          "{" UID, /* unterminated */
                                          "{" UID "," UID2
                                          "}x",         /* trailing garbage */
                                          "{" UID ",}", /* empty element */
                                          "{" UID ",abc}", /* not a uuid */
                                          "{\"" UID "\"}", /* quoted */
                                          NULL};
        sg_notice_list_t l = {0};

        for (int i = 0; bad[i]; i++) {
                cr_assert_eq(sg_notice_list_add_users(&l, 1, bad[i], TS), -1,
                             "accepted %s", bad[i]);
                cr_assert_eq(l.n, 0, "partial append for %s", bad[i]);
        }
        cr_assert_eq(sg_notice_list_add_users(&l, 1, "{" UID "}", "now"), -1);
        cr_assert_eq(l.n, 0);
        sg_notice_list_fini(&l);
}

Test(notice, list_grows)
{
        sg_notice_list_t l = {0};
        sg_notice_t nt;

        cr_assert_eq(sg_notice_set(&nt, 0, UID, TS), 0);
        for (int i = 0; i < 1000; i++) {
                nt.request_id = i;
                sg_notice_list_add(&l, &nt);
        }
        cr_assert_eq(l.n, 1000);
        cr_assert_eq(l.v[999].request_id, 999);
        sg_notice_list_reset(&l);
        cr_assert_eq(l.n, 0);
        sg_notice_list_fini(&l);
        cr_assert_null(l.v);
}

Test(notice, ids_literal)
{
        sg_notice_ids_t ids = {0};
        sg_buf_t b;

        sg_buf_init(&b);
        sg_notice_ids_literal(&ids, &b);
        sg_buf_putc(&b, '\0');
        cr_assert_str_eq(b.data, "{}");
        sg_buf_reset(&b);
        sg_notice_ids_add(&ids, 1);
        sg_notice_ids_add(&ids, 9223372036854775807LL);
        sg_notice_ids_add(&ids, 42);
        sg_notice_ids_literal(&ids, &b);
        sg_buf_putc(&b, '\0');
        cr_assert_str_eq(b.data, "{1,9223372036854775807,42}");
        sg_buf_fini(&b);
        sg_notice_ids_fini(&ids);
}

/* --- tracker -------------------------------------------------------- */

Test(notice, track_single_message_requests)
{
        sg_notice_track_t t = {0};
        bool ok = false;

        sg_notice_track_add(&t, 1, 1);
        sg_notice_track_add(&t, 2, 1);
        cr_assert_eq(sg_notice_track_count(&t), 2);
        cr_assert(sg_notice_track_has(&t, 2));
        cr_assert_eq(sg_notice_track_done(&t, 2, true, &ok), 1);
        cr_assert(ok);
        cr_assert_not(sg_notice_track_has(&t, 2));
        cr_assert_eq(sg_notice_track_done(&t, 1, false, &ok), 1);
        cr_assert_not(ok);
        cr_assert_eq(sg_notice_track_count(&t), 0);
        cr_assert_eq(sg_notice_track_done(&t, 1, true, &ok), -1);
        sg_notice_track_fini(&t);
}

Test(notice, track_request_done_when_all_reported_any_failure_fails_it)
{
        sg_notice_track_t t = {0};
        bool ok = true;

        sg_notice_track_add(&t, 5, 2);
        sg_notice_track_add(&t, 5, 1); /* three in all */
        cr_assert_eq(sg_notice_track_done(&t, 5, true, &ok), 0);
        cr_assert_eq(sg_notice_track_done(&t, 5, false, &ok), 0);
        cr_assert_eq(sg_notice_track_done(&t, 5, true, &ok), 1);
        cr_assert_not(ok);
        cr_assert_eq(sg_notice_track_count(&t), 0);
        sg_notice_track_fini(&t);
}

Test(notice, track_many_out_of_order)
{
        sg_notice_track_t t = {0};
        bool ok;
        int done = 0;

        for (long long id = 0; id < 3000; id++)
                sg_notice_track_add(&t, id, 1);
        for (long long id = 2999; id >= 0; id -= 2) {
                ok = false;
                done += sg_notice_track_done(&t, id, true, &ok);
                cr_assert(ok);
        }
        for (long long id = 0; id < 3000; id += 2)
                done += sg_notice_track_done(&t, id, true, &ok);
        cr_assert_eq(done, 3000);
        cr_assert_eq(sg_notice_track_count(&t), 0);
        sg_notice_track_fini(&t);
}
