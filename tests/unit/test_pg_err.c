/* sg_pg's failure model, the pure parts: the SQLSTATE classifier (wait
 * out or stop) and one-line, privacy-safe messages. Connection failures
 * (a wrong password, an unknown role, no server) are tested end to end in
 * tests/integration/test_cli.sh. */
#include <criterion/criterion.h>

#include <string.h>

#include "sg_pg.h"

TestSuite(pg_err, .timeout = 30);

Test(pg_err, transient_sqlstates)
{
        static const char *const transient[] = {
            "08000", "08003", "08006", "08001", "08P01", /* connection */
            "53000", "53100", "53200", "53300",          /* resources */
            "57P01", "57P02", "57P03", "57P04", "57P05", /* shutdown */
            "40001", "40P01",                            /* retry the tx */
            "55P03",                                     /* lock */
            "25006",                                     /* standby */
        };

        for (size_t i = 0; i < sizeof(transient) / sizeof(transient[0]); i++)
                cr_assert(sg_pg_sqlstate_transient(transient[i]), "%s",
                          transient[i]);
}

Test(pg_err, permanent_sqlstates)
{
        static const char *const permanent[] = {
            "28P01", "28000", /* wrong password, no such role/rule */
            "3D000",          /* no such database */
            "42501",          /* insufficient privilege */
            "42P01", "42703", /* no such table, column */
            "23505", "23503", /* unique, foreign key */
            "22P02", "22003", /* bad input, out of range */
            "57014",          /* query cancelled (a statement timeout) */
            "XX000", "0A000",
        };

        for (size_t i = 0; i < sizeof(permanent) / sizeof(permanent[0]); i++)
                cr_assert_not(sg_pg_sqlstate_transient(permanent[i]), "%s",
                              permanent[i]);
}

Test(pg_err, malformed_sqlstates_are_not_transient)
{
        cr_assert_not(sg_pg_sqlstate_transient(NULL));
        cr_assert_not(sg_pg_sqlstate_transient(""));
        cr_assert_not(sg_pg_sqlstate_transient("08"));
        cr_assert_not(sg_pg_sqlstate_transient("080000"));
        cr_assert_not(sg_pg_sqlstate_transient("57P0"));
}

Test(pg_err, client_side_failures_are_one_line)
{
        sg_pg_err_t err;

        memcpy(err.sqlstate, "23505", 6);
        sg_pg_err_fmt(&err, true, "expected %d row,\ngot %d\t ", 1, 0);
        cr_assert_str_eq(err.msg, "expected 1 row, got 0");
        cr_assert_str_eq(err.sqlstate, "");
        cr_assert(err.transient);
}

Test(pg_err, no_result_no_connection_is_transient)
{
        sg_pg_err_t err;

        sg_pg_err_set(&err, NULL, NULL, "storing a batch");
        cr_assert(err.transient);
        cr_assert_str_eq(err.sqlstate, "");
        cr_assert_str_eq(err.msg, "storing a batch: no connection");
}

Test(pg_err, conninfo_precedence)
{
        sg_cli_common_t c;
        char out[256];

        sg_cli_common_init(&c);
        unsetenv("PGHOST");
        unsetenv("PGHOSTADDR");
        unsetenv("PGDATABASE");
        unsetenv("PGUSER");
        unsetenv("PG_DSN");
        sg_pg_conninfo(&c, "sg_writer", out, sizeof(out));
        cr_assert_str_eq(out,
                         "host=localhost dbname=streamguard user=sg_writer");
        setenv("PGDATABASE", "other", 1);
        sg_pg_conninfo(&c, "sg_owner", out, sizeof(out));
        cr_assert_str_eq(out, "host=localhost user=sg_owner");
        setenv("PG_DSN", "dbname=from_env", 1);
        sg_pg_conninfo(&c, "sg_writer", out, sizeof(out));
        cr_assert_str_eq(out, "dbname=from_env");
        c.dsn = "dbname=from_flag";
        sg_pg_conninfo(&c, "sg_writer", out, sizeof(out));
        cr_assert_str_eq(out, "dbname=from_flag");
        unsetenv("PG_DSN");
        unsetenv("PGDATABASE");
}
