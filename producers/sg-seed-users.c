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
#include "sg_time.h"

#define PROG "sg-seed-users"
#define SEED_CHUNK 50000 /* rows per COPY, bounding the buffer */

typedef struct seed_counts {
        long long inserted;        /* new users (both tables) */
        long long already_present; /* same user_id already there */
        long long skipped;         /* e-mail taken by another user_id */
} seed_counts_t;

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

/* One count: the first column of a one-row query. Returns 0, or -1 with
 * err. */
static int query_count(PGconn *conn, const char *sql, long long *count,
                       sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn, sql, 0, NULL, 1, "counting", err);

        if (!res)
                return -1;
        *count = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return 0;
}

typedef struct seed_job {
        long long n;
        unsigned long long seed;
        seed_counts_t counts;
} seed_job_t;

/* Generates users 0..n-1 of seed and writes the new ones; a job of
 * sg_pg_run, in one transaction (rolled back on any failure, run again on
 * a new connection after a transient one). Returns 0, or -1 with err. */
static int seed_users(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        seed_job_t *job = arg;
        sg_buf_t buf;
        sg_seed_user_t u;
        long long present = 0, inserted = 0;
        int rc = -1;

        sg_buf_init(&buf);
        if (sg_pg_exec(conn,
                       "CREATE TEMP TABLE sg_seed_users_tmp ("
                       " user_id uuid, email text, first_name text,"
                       " last_name text, street_address text, city text,"
                       " postal_code text, country text, signup_date date)"
                       " ON COMMIT DROP",
                       err) < 0)
                goto out;

        for (long long i = 0; i < job->n;) {
                long long end = i + SEED_CHUNK < job->n ? i + SEED_CHUNK : job->n;

                if (sg_stop_requested) {
                        sg_pg_err_fmt(err, false, "interrupted");
                        goto out;
                }
                sg_buf_reset(&buf);
                for (; i < end; i++) {
                        sg_seed_user_make(job->seed, (unsigned long long)i, &u);
                        copy_row(&buf, &u);
                }
                if (sg_pg_copy(conn, "COPY sg_seed_users_tmp FROM STDIN",
                               buf.data, buf.len, err) < 0)
                        goto out;
        }

        /* No conflict target: a user_id already there and an e-mail held
         * by another user (another seed's) are both skipped, not errors.
         * sg_writer may insert into users_pii but not read it: which ids
         * are there comes from pii_users_present (ids only, sql/013). */
        if (sg_pg_command(conn,
                          "INSERT INTO users_pii (user_id, email, first_name,"
                          " last_name, street_address, city, postal_code,"
                          " country)"
                          " SELECT user_id, email, first_name, last_name,"
                          " street_address, city, postal_code, country"
                          " FROM sg_seed_users_tmp ORDER BY user_id"
                          " ON CONFLICT DO NOTHING",
                          0, NULL, "inserting users_pii", &inserted, err) < 0 ||
            sg_pg_command(conn,
                          "INSERT INTO users_public (user_id, country,"
                          " signup_date)"
                          " SELECT t.user_id, t.country, t.signup_date"
                          " FROM sg_seed_users_tmp t"
                          " WHERE t.user_id IN (SELECT pii_users_present("
                          "       ARRAY(SELECT user_id FROM sg_seed_users_tmp)))"
                          " ORDER BY t.user_id"
                          " ON CONFLICT (user_id) DO NOTHING",
                          0, NULL, "inserting users_public", NULL, err) < 0 ||
            query_count(conn,
                        "SELECT count(*) FROM pii_users_present("
                        "ARRAY(SELECT user_id FROM sg_seed_users_tmp))",
                        &present, err) < 0)
                goto out;

        job->counts.inserted = inserted;
        job->counts.already_present = present - inserted;
        job->counts.skipped = job->n - present;
        rc = 0;
out:
        sg_buf_fini(&buf);
        return rc;
}

int main(int argc, char **argv)
{
        long long users = 1000, seed = 42;
        const sg_opt_t opts[] = {
            {.name = "users", .kind = SG_OPT_LLONG, .dest = &users, .arg = "N",
             .min = 1, .max = 100000000, .help = "number of users"},
            {.name = "seed", .kind = SG_OPT_LLONG, .dest = &seed, .arg = "S",
             .min = 0, .max = 0x7fffffffffffffffLL, .help = "PRNG seed"},
            SG_OPT_END,
        };
        const sg_cli_t cli = {
            .prog = PROG,
            .about = "Writes N deterministic synthetic users (users_pii + "
                     "users_public) in one\ntransaction. User i is the same "
                     "for the same seed whatever N; re-running\nchanges "
                     "nothing. Connects as sg_writer by default; waits for "
                     "the database\nwhile it is unreachable, and exits 1 on a "
                     "permanent failure (a wrong password).",
            .tables = {opts},
        };
        sg_cli_common_t common;
        seed_job_t job;
        long long t0;
        int st;

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                return st;
        memset(&job, 0, sizeof(job));
        job.n = users;
        job.seed = (unsigned long long)seed;
        t0 = sg_time_mono_ms();
        sg_info("seeding users=%lld seed=%lld", users, seed);
        /* Until the database is there (or a stop), like the daemons. */
        if (sg_pg_run(&common, PROG,
                      &(sg_pg_job_t){.what = "seeding (nothing written)",
                                     .fn = seed_users,
                                     .arg = &job,
                                     .tx = SG_PG_TX_WRITE,
                                     .retry_s = 366LL * 86400}) < 0)
                return 1;
        sg_info("done users=%lld inserted=%lld already_present=%lld "
                "skipped_email_taken=%lld elapsed_ms=%lld",
                users, job.counts.inserted, job.counts.already_present,
                job.counts.skipped, sg_time_mono_ms() - t0);
        printf("{\"users\":%lld,\"inserted\":%lld,\"already_present\":%lld,"
               "\"skipped\":%lld,\"seed\":%lld}\n",
               users, job.counts.inserted, job.counts.already_present,
               job.counts.skipped, seed);
        if (job.counts.skipped > 0)
                sg_warn("skipped=%lld users whose e-mail another user "
                        "already has (seeded with another seed?)",
                        job.counts.skipped);
        return 0;
}
