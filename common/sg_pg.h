#ifndef SG_PG_H
#define SG_PG_H

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#include "sg_cli.h"

/* Connection string: --dsn, else $PG_DSN, else the local defaults
 * (host=localhost dbname=streamguard user=<default_user>), each default
 * used only where libpq's own PGHOST/PGDATABASE/PGUSER is not set.
 * default_user is "sg_writer" for the daemons, "sg_owner" for sg-migrate. */
void sg_pg_conninfo(const sg_cli_common_t *c, const char *default_user,
                    char *out, size_t size);

/* One connection attempt (connect_timeout 5 s unless the conninfo says
 * otherwise). Returns NULL with a one-line reason in errstr. */
PGconn *sg_pg_open(const char *conninfo, const char *appname, char *errstr,
                   size_t errstr_size);

/* Connects, retrying with capped backoff (0.5 s doubling to 10 s) and a
 * log line per failed attempt, until it succeeds or a stop is requested
 * (then returns NULL). */
PGconn *sg_pg_open_retry(const char *conninfo, const char *appname);

/* Runs a statement that returns no rows. Returns 0, or -1 with errstr. */
int sg_pg_exec(PGconn *conn, const char *sql, char *errstr,
               size_t errstr_size);

/* True if the failure behind res (may be NULL) is one to wait out: the
 * connection is gone, or the SQLSTATE is in class 08 (connection),
 * 57P01-57P03 (shutdown, cannot connect now), 40001/40P01
 * (serialization, deadlock) or 53 (insufficient resources). */
bool sg_pg_is_transient(PGconn *conn, const PGresult *res);

/* Copies the error of res (or of conn) into errstr as one line, prefixed
 * by its SQLSTATE when there is one. */
void sg_pg_errstr(PGconn *conn, const PGresult *res, char *errstr,
                  size_t errstr_size);

/* Records why res (may be NULL) failed, as "what: error" in err, and in
 * *transient whether a retry may help (the batch jobs' error report). */
void sg_pg_fail(PGconn *conn, const PGresult *res, const char *what,
                char *err, size_t err_size, bool *transient);

/* Runs a statement that returns at least min_rows rows. Returns the result
 * (the caller clears it), or NULL after sg_pg_fail. */
PGresult *sg_pg_query(PGconn *conn, const char *sql, int nparams,
                      const char *const *params, int min_rows,
                      const char *what, char *err, size_t err_size,
                      bool *transient);

/* One unit of work of a one-shot tool, run on a fresh connection.
 * Returns 0, or -1 with a one-line reason in errstr; *transient (preset to
 * false) says whether a retry on a new connection may help. */
typedef int (*sg_pg_job_fn)(PGconn *conn, void *arg, char *errstr,
                            size_t errstr_size, bool *transient);

/* Connects and runs fn, retrying on a new connection with capped backoff
 * (0.5 s doubling to max_delay_ms) while the database is unreachable or the
 * failure is transient, until retry_s seconds have passed (0: one attempt)
 * or a stop is requested. Retry lines are logged at warn level, or at
 * debug level when quiet (the run then ends in at most one error line).
 * Returns 0, or -1 after one error line that starts with what. */
int sg_pg_run_retry(const char *conninfo, const char *appname,
                    long long retry_s, int max_delay_ms, bool quiet,
                    const char *what, sg_pg_job_fn fn, void *arg)
    __attribute__((warn_unused_result));

/* Sends one COPY ... FROM STDIN statement and the data (text format),
 * then checks the result. Returns 0, or -1 with errstr. */
int sg_pg_copy(PGconn *conn, const char *copy_sql, const char *data,
               size_t len, char *errstr, size_t errstr_size);

/* The same in steps, for data sent as it is produced: begin (the
 * connection is then in COPY IN until sg_pg_copy_end), send any number of
 * times, end. sg_pg_copy_end with abort_msg != NULL abandons the COPY (the
 * statement fails, so does the transaction) and returns -1. A server-side
 * error (e.g. a unique violation) is only reported by sg_pg_copy_end.
 * Each returns 0, or -1 with errstr. */
int sg_pg_copy_begin(PGconn *conn, const char *copy_sql, char *errstr,
                     size_t errstr_size);
int sg_pg_copy_send(PGconn *conn, const char *data, size_t len, char *errstr,
                    size_t errstr_size);
int sg_pg_copy_end(PGconn *conn, const char *abort_msg, char *errstr,
                   size_t errstr_size);

#endif
