/* The small shared modules: UUIDs, PostgreSQL array literals, the
 * backoff, and tables rendered as text (Markdown rendering is tested in
 * test_report_format.c and test_compare_render.c). */
#include <criterion/criterion.h>

#include <string.h>

#include "sg_buf.h"
#include "sg_defs.h"
#include "sg_md.h"
#include "sg_uuid.h"

TestSuite(primitives, .timeout = 30);

Test(primitives, uuid_canonical_form)
{
        char out[SG_UUID_LEN + 1] = "untouched";
        const char *up = "0B8F6F3E-2C1A-4C8E-9A53-6F1F0E1D2C3B";

        cr_assert(sg_uuid_canon(up, strlen(up), out));
        cr_assert_str_eq(out, "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b");
        cr_assert(sg_uuid_valid("00000000-0000-0000-0000-000000000000"));
        cr_assert_not(sg_uuid_valid("0b8f6f3e2c1a4c8e9a536f1f0e1d2c3b"));
        cr_assert_not(sg_uuid_valid("{0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3b}"));
        cr_assert_not(sg_uuid_valid("0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3g"));
        cr_assert_not(sg_uuid_valid("0b8f6f3e-2c1a-4c8e-9a53_6f1f0e1d2c3b"));
        cr_assert_not(sg_uuid_valid("not-a-uuid"));
        cr_assert_not(sg_uuid_valid(NULL));
        strcpy(out, "untouched");
        cr_assert_not(sg_uuid_canon("0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c3x",
                                    36, out));
        cr_assert_str_eq(out, "untouched", "a rejected UUID writes nothing");
        /* the length is the caller's: a longer buffer is not a UUID */
        cr_assert_not(sg_uuid_canon(up, strlen(up) - 1, NULL));
}

Test(primitives, array_literals)
{
        sg_buf_t b;

        sg_buf_init(&b);
        sg_buf_array_begin(&b);
        sg_buf_array_end(&b);
        cr_assert_str_eq(b.data, "{}");
        sg_buf_reset(&b);
        cr_assert_str_eq(b.data, "", "reset empties the string too");
        sg_buf_array_begin(&b);
        sg_buf_array_int(&b, -5);
        sg_buf_array_int(&b, 9000000000LL);
        sg_buf_array_end(&b);
        cr_assert_str_eq(b.data, "{-5,9000000000}");
        sg_buf_reset(&b);
        sg_buf_array_begin(&b);
        sg_buf_array_str(&b, "NULL");
        sg_buf_array_str(&b, "a\"b\\c,{d}");
        sg_buf_array_str(&b, "");
        sg_buf_array_end(&b);
        cr_assert_str_eq(b.data, "{\"NULL\",\"a\\\"b\\\\c,{d}\",\"\"}");
        sg_buf_fini(&b);
}

Test(primitives, backoff_doubles_to_its_cap)
{
        sg_backoff_t b;
        int seen[6];

        sg_backoff_init(&b, 1, 5);
        for (int i = 0; i < 6; i++) {
                seen[i] = b.delay_ms;
                cr_assert_eq(sg_backoff_wait(&b), 0);
        }
        cr_assert_eq(seen[0], 1);
        cr_assert_eq(seen[1], 2);
        cr_assert_eq(seen[2], 4);
        cr_assert_eq(seen[3], 5);
        cr_assert_eq(seen[5], 5);
        cr_assert_eq(b.attempt, 6);
        sg_backoff_reset(&b);
        cr_assert_eq(b.delay_ms, 1);
        cr_assert_eq(b.attempt, 0);
}

Test(primitives, table_as_text)
{
        static const char *const head[3] = {"key", "n", "note"};
        static const sg_md_align_t al[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                            SG_MD_LEFT};
        sg_md_table_t t;
        sg_buf_t out;

        sg_buf_init(&out);
        sg_md_table_init(&t, 3, head, al);
        sg_md_table_add_row(&t);
        sg_md_table_set_text(&t, 0, "a_b|c");
        sg_md_table_setf(&t, 1, "%d", 1234);
        sg_md_table_add_row(&t);
        sg_md_table_set_text(&t, 0, "é");
        sg_md_table_set_text(&t, 1, "7");
        sg_md_table_set_text(&t, 2, "tab\there");
        sg_md_table_render_text(&t, &out, "  ");
        /* plain text is shown as is (control characters as '?'), widths
         * in code points, no trailing blanks */
        cr_assert_str_eq(out.data, "  key       n  note\n"
                                   "  -----  ----  --------\n"
                                   "  a_b|c  1234\n"
                                   "  é         7  tab?here\n");
        sg_buf_reset(&out);
        sg_md_table_render(&t, &out);
        /* the same cells as Markdown: data escaped */
        cr_assert_str_eq(out.data, "| key     | n    | note     |\n"
                                   "| :------ | ---: | :------- |\n"
                                   "| a\\_b\\|c | 1234 |          |\n"
                                   "| é       |    7 | tab?here |\n");
        sg_md_table_fini(&t);
        sg_buf_fini(&out);
}
