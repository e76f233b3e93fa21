/* sg-seed-users: writes N deterministic synthetic users (users_pii for
 * the personal data, users_public for what analytics may see) in one
 * transaction, in bulk. Re-running with the same seed changes nothing. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "seed_words.h"
#include "sg_buf.h"
#include "sg_cli.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#define PROG "sg-seed-users"
#define SEED_CHUNK 50000 /* rows per COPY, bounding the buffer */

enum { OPT_USERS = 1, OPT_SEED };

typedef struct seed_counts {
        long long inserted;        /* new users (both tables) */
        long long already_present; /* same user_id already there */
        long long skipped;         /* e-mail taken by another user_id */
} seed_counts_t;

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [--users N] [--seed S] [--dsn CONNINFO]\n"
                "Writes N deterministic synthetic users (users_pii + "
                "users_public) in one\ntransaction. User i is the same for "
                "the same seed whatever N; re-running\nchanges nothing. "
                "Connects as sg_writer by default.\n\n"
                "  --users N            number of users (default 1000)\n"
                "  --seed S             PRNG seed (default 42)\n",
                PROG);
        sg_cli_common_usage(fp);
}

/* One COPY text row of the temp table. */
static void copy_row(sg_buf_t *b, const sg_seed_user_t *u)
{
        const char *cols[] = {
            u->user_id,     u->email,          u->first_name,
            u->last_name,   u->street_address, u->city,
            u->postal_code, u->country,        u->signup_date};

        for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
                if (i > 0)
                        sg_buf_putc(b, '\t');
                sg_buf_copy_text(b, cols[i], strlen(cols[i]));
        }
        sg_buf_putc(b, '\n');
}

/* Runs a statement expected to end PGRES_COMMAND_OK (count = rows
 * affected, may be NULL) or PGRES_TUPLES_OK with one bigint (count =
 * that value). Returns 0, or -1 with errstr. */
static int exec_count(PGconn *conn, const char *sql, ExecStatusType expect,
                      long long *count, char *errstr, size_t errstr_size)
{
        PGresult *res = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 0);
        int rc = -1;

        if (PQresultStatus(res) != expect) {
                sg_pg_errstr(conn, res, errstr, errstr_size);
                goto out;
        }
        if (count && expect == PGRES_TUPLES_OK)
                *count = PQntuples(res) == 1 ? atoll(PQgetvalue(res, 0, 0)) : 0;
        else if (count)
                *count = atoll(PQcmdTuples(res));
        rc = 0;
out:
        PQclear(res);
        return rc;
}

/* Generates users 0..n-1 of seed and writes the new ones, all in one
 * transaction (rolled back on any failure). Returns 0, or -1 with
 * errstr. */
static int seed_users(PGconn *conn, long long n, unsigned long long seed,
                      seed_counts_t *counts, char *errstr, size_t errstr_size)
{
        sg_buf_t buf;
        sg_seed_user_t u;
        long long present = 0, inserted = 0;
        int rc = -1;

        sg_buf_init(&buf);
        if (sg_pg_exec(conn, "BEGIN", errstr, errstr_size) < 0)
                goto out;
        if (sg_pg_exec(conn,
                       "CREATE TEMP TABLE sg_seed_users_tmp ("
                       " user_id uuid, email text, first_name text,"
                       " last_name text, street_address text, city text,"
                       " postal_code text, country text, signup_date date)"
                       " ON COMMIT DROP",
                       errstr, errstr_size) < 0)
                goto out;

        for (long long i = 0; i < n;) {
                long long end = i + SEED_CHUNK < n ? i + SEED_CHUNK : n;

                if (sg_stop_requested) {
                        snprintf(errstr, errstr_size, "interrupted");
                        goto out;
                }
                sg_buf_reset(&buf);
                for (; i < end; i++) {
                        sg_seed_user_make(seed, (unsigned long long)i, &u);
                        copy_row(&buf, &u);
                }
                if (sg_pg_copy(conn, "COPY sg_seed_users_tmp FROM STDIN",
                               buf.data, buf.len, errstr, errstr_size) < 0)
                        goto out;
        }

        /* No conflict target: a user_id already there and an e-mail held
         * by another user (another seed's) are both skipped, not errors. */
        if (exec_count(conn,
                       "INSERT INTO users_pii (user_id, email, first_name,"
                       " last_name, street_address, city, postal_code,"
                       " country)"
                       " SELECT user_id, email, first_name, last_name,"
                       " street_address, city, postal_code, country"
                       " FROM sg_seed_users_tmp ORDER BY user_id"
                       " ON CONFLICT DO NOTHING",
                       PGRES_COMMAND_OK, &inserted, errstr, errstr_size) < 0)
                goto out;
        if (exec_count(conn,
                       "INSERT INTO users_public (user_id, country,"
                       " signup_date)"
                       " SELECT t.user_id, t.country, t.signup_date"
                       " FROM sg_seed_users_tmp t"
                       " WHERE EXISTS (SELECT 1 FROM users_pii p"
                       "               WHERE p.user_id = t.user_id)"
                       " ORDER BY t.user_id"
                       " ON CONFLICT (user_id) DO NOTHING",
                       PGRES_COMMAND_OK, NULL, errstr, errstr_size) < 0)
                goto out;
        if (exec_count(conn,
                       "SELECT count(*) FROM sg_seed_users_tmp t"
                       " JOIN users_pii p USING (user_id)",
                       PGRES_TUPLES_OK, &present, errstr, errstr_size) < 0)
                goto out;
        if (sg_pg_exec(conn, "COMMIT", errstr, errstr_size) < 0)
                goto out;

        counts->inserted = inserted;
        counts->already_present = present - inserted;
        counts->skipped = n - present;
        rc = 0;
out:
        if (rc < 0 && PQtransactionStatus(conn) != PQTRANS_IDLE) {
                PGresult *res = PQexec(conn, "ROLLBACK");
                PQclear(res);
        }
        sg_buf_fini(&buf);
        return rc;
}

int main(int argc, char **argv)
{
        static const struct option own[] = {
            {"users", required_argument, NULL, OPT_USERS},
            {"seed", required_argument, NULL, OPT_SEED},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        long long users = 1000, seed = 42;
        char conninfo[1024], err[1024];
        seed_counts_t counts = {0, 0, 0};
        PGconn *conn = NULL;
        long long t0;
        int opt, r, rc = 1;

        sg_cli_common_init(&common);
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                switch (opt) {
                case OPT_USERS:
                        if (sg_cli_parse_long(optarg, 1, 100000000, &users))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--users must be 1..100000000");
                        break;
                case OPT_SEED:
                        if (sg_cli_parse_long(optarg, 0, 0x7fffffffffffffffLL,
                                              &seed))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--seed must be a non-negative integer");
                        break;
                default:
                        r = sg_cli_common(&common, opt, optarg, PROG, usage);
                        if (r >= 0)
                                return r;
                }
        }
        if (optind < argc)
                return sg_cli_usage_error(
                    PROG, usage, "unexpected argument '%s'", argv[optind]);
        sg_log_init(PROG, common.log_level);
        sg_signal_install();

        sg_pg_conninfo(&common, "sg_writer", conninfo, sizeof(conninfo));
        conn = sg_pg_open_retry(conninfo, PROG);
        if (!conn) {
                sg_error("no PostgreSQL connection (stopped while "
                         "retrying)");
                goto out;
        }

        t0 = sg_now_ms();
        sg_info("seeding users=%lld seed=%lld", users, seed);
        if (seed_users(conn, users, (unsigned long long)seed, &counts, err,
                       sizeof(err)) < 0) {
                sg_error("seeding failed, nothing written: %s", err);
                goto out;
        }
        sg_info("done users=%lld inserted=%lld already_present=%lld "
                "skipped_email_taken=%lld elapsed_ms=%lld",
                users, counts.inserted, counts.already_present, counts.skipped,
                sg_now_ms() - t0);
        printf("{\"users\":%lld,\"inserted\":%lld,\"already_present\":%lld,"
               "\"skipped\":%lld,\"seed\":%lld}\n",
               users, counts.inserted, counts.already_present, counts.skipped,
               seed);
        if (counts.skipped > 0)
                sg_warn("skipped=%lld users whose e-mail another user "
                        "already has (seeded with another seed?)",
                        counts.skipped);
        rc = 0;
out:
        PQfinish(conn);
        return rc;
}
