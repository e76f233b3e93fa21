#ifndef SG_PG_H
#define SG_PG_H

/* PostgreSQL, one failure model for every tool:
 *
 *  - A failure is an sg_pg_err_t: a one-line message, the SQLSTATE, and
 *    whether it is transient (wait it out, reconnect, retry: the
 *    connection was lost, the server restarts, a deadlock or
 *    serialization failure, too many connections) or permanent (report
 *    and stop: a wrong password, a missing role, database or table, a
 *    constraint violated). Classification branches on SQLSTATE fields,
 *    never on message text.
 *  - Messages are privacy-safe: the SQLSTATE, the object names (schema,
 *    table, column, constraint, type) and the server's primary message,
 *    except for data exceptions (class 22: their primary message quotes
 *    the input value); never DETAIL, which can quote a row.
 *  - Results: a function that returns a PGresult hands it to the caller,
 *    who clears it; no function clears or keeps a result it was given.
 *  - One backoff (sg_backoff_t: 0.5 s doubling to 10 s) for every wait.
 *
 * A refused connection has no SQLSTATE in libpq 15 (the server sends one;
 * libpq keeps it to itself), so connection failures are classified by how
 * far the attempt got: refused after a password was sent (wrong password,
 * unknown role or database, no CONNECT privilege) or a password needed
 * and none given is permanent; not reaching the server, or a refusal
 * before authentication (starting up, shutting down, too many
 * connections), is transient. */

#include <stdbool.h>
#include <stddef.h>
#include <libpq-fe.h>

#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_pg_err.h"


/* Records why res failed (res may be NULL: then the connection's own
 * error) as "what: SQLSTATE message [objects]", with its class. */
void sg_pg_err_set(sg_pg_err_t *err, PGconn *conn, const PGresult *res,
                   const char *what);

/* Records a client-side failure ("expected one row"). */
void sg_pg_err_fmt(sg_pg_err_t *err, bool transient, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes res's SQLSTATE and object names only ("23505 table=x
 * constraint=y"): what may be stored where anyone can read it. */
void sg_pg_err_objects(const PGresult *res, char *out, size_t size);

/* The classifier: is a failure with this SQLSTATE worth waiting out?
 * Class 08 (connection), 53 (insufficient resources), 57P01-57P05
 * (shutdown, cannot connect now, idle session timeout), 40001 and 40P01
 * (serialization, deadlock), 55P03 (lock not available), 25006 (read-only
 * transaction: a standby answered, a failover is under way). */
bool sg_pg_sqlstate_transient(const char *sqlstate);

/* Connection string: --dsn, else $PG_DSN, else the local defaults
 * (host=localhost dbname=streamguard user=<default_user>), each default
 * used only where libpq's own PGHOST/PGDATABASE/PGUSER is not set.
 * default_user is "sg_writer" for the daemons, "sg_owner" for sg-migrate. */
void sg_pg_conninfo(const sg_cli_common_t *c, const char *default_user,
                    char *out, size_t size);

/* One connection attempt (connect_timeout 5 s unless the conninfo says
 * otherwise; application_name falls back to appname; server notices go to
 * the log at debug level). Returns NULL with err on failure, classified as
 * above. */
PGconn *sg_pg_open(const char *conninfo, const char *appname,
                   sg_pg_err_t *err) SG_MUST_CHECK;

/* A daemon's connection: opened when first needed, dropped after a
 * transient failure, reopened (waiting out the outage) when next needed. */
typedef struct sg_pg_session {
        char conninfo[1024];
        const char *appname;
        PGconn *conn;
        bool quiet;  /* retry lines at debug level (one-shot tools) */
        bool failed; /* a permanent failure was reported (sg_pg_session_conn) */
} sg_pg_session_t;

void sg_pg_session_init(sg_pg_session_t *s, const sg_cli_common_t *c,
                        const char *default_user, const char *appname);

/* The session's connection, healthy: the current one, or a new one,
 * retrying with backoff (a line per attempt) while the failure is
 * transient. Returns NULL when a stop was requested (err->msg empty) or
 * the failure is permanent (err says why). */
PGconn *sg_pg_session_get(sg_pg_session_t *s, sg_pg_err_t *err) SG_MUST_CHECK;

/* The same for a daemon's loop: a permanent failure is logged (one error
 * line) and marks the session failed; NULL also when a stop was
 * requested. */
PGconn *sg_pg_session_conn(sg_pg_session_t *s);

/* Drops the connection (after a transient failure: the next get
 * reconnects). */
void sg_pg_session_drop(sg_pg_session_t *s);

/* Closes the connection. NULL-safe. */
void sg_pg_session_close(sg_pg_session_t *s);

/* A daemon's statement failed (what: "request batch"). Permanent: one
 * error line, returns true (the daemon stops). Transient: one warning;
 * a broken connection is dropped (the next sg_pg_session_conn waits the
 * outage out), a live one gets a short pause; returns false. */
bool sg_pg_session_failure(sg_pg_session_t *s, const char *what,
                           const sg_pg_err_t *err);

/* Runs a statement that returns no rows (PGRES_COMMAND_OK). Returns 0, or
 * -1 with err (what: the statement's first words). */
int sg_pg_exec(PGconn *conn, const char *sql, sg_pg_err_t *err) SG_MUST_CHECK;

/* Runs a parameterised statement that returns at least min_rows rows.
 * Returns the result (the caller clears it), or NULL with err. */
PGresult *sg_pg_query(PGconn *conn, const char *sql, int nparams,
                      const char *const *params, int min_rows,
                      const char *what, sg_pg_err_t *err) SG_MUST_CHECK;

/* Runs a parameterised statement that returns no rows; *affected (may be
 * NULL) receives the rows it changed. Returns 0, or -1 with err. */
int sg_pg_command(PGconn *conn, const char *sql, int nparams,
                  const char *const *params, const char *what,
                  long long *affected, sg_pg_err_t *err) SG_MUST_CHECK;

/* Pipeline mode (libpq's, on one connection of one thread): while it is
 * on, sg_pg_command and sg_pg_command_bin send their statement and return
 * at once (0, or -1 when it cannot be sent; *affected must be NULL); the
 * backend works through them while the caller goes on (every 256
 * statements, the next waits for them: a sync point). sg_pg_pipe_end
 * waits for all of them and leaves pipeline mode: 0, or -1 with the first
 * statement's error (the open transaction is then aborted). Queries
 * (sg_pg_query) are refused while it is on. sg_pg_pipe_flush sends what
 * libpq still buffers and reads what has come back, without waiting for
 * the backend. */
int sg_pg_pipe_begin(PGconn *conn, sg_pg_err_t *err) SG_MUST_CHECK;
bool sg_pg_pipe_on(const PGconn *conn);
int sg_pg_pipe_flush(PGconn *conn, sg_pg_err_t *err) SG_MUST_CHECK;
int sg_pg_pipe_end(PGconn *conn, sg_pg_err_t *err) SG_MUST_CHECK;

/* The same two with binary values (lengths and formats as PQexecParams';
 * NULL: all text) and, for sg_pg_query_bin, binary results: bytea
 * without hex escaping both ways. */
PGresult *sg_pg_query_bin(PGconn *conn, const char *sql, int nparams,
                          const char *const *params, const int *lengths,
                          const int *formats, int min_rows, const char *what,
                          sg_pg_err_t *err) SG_MUST_CHECK;
int sg_pg_command_bin(PGconn *conn, const char *sql, int nparams,
                      const char *const *params, const int *lengths,
                      const int *formats, const char *what,
                      long long *affected, sg_pg_err_t *err) SG_MUST_CHECK;

/* Transactions of the daemons (a one-shot tool's job gets its own from
 * sg_pg_run). sg_pg_rollback ends whatever transaction is open (nothing if
 * none, or if the connection is gone). */
int sg_pg_begin(PGconn *conn, sg_pg_err_t *err) SG_MUST_CHECK;
int sg_pg_commit(PGconn *conn, sg_pg_err_t *err) SG_MUST_CHECK;
void sg_pg_rollback(PGconn *conn);

/* One unit of work of a one-shot tool, run on a fresh connection.
 * Returns 0, or -1 with err. */
typedef int (*sg_pg_job_fn)(PGconn *conn, void *arg, sg_pg_err_t *err);

/* The transaction a job runs in: sg_pg_run begins it, commits it when the
 * job returns 0 and rolls it back when it fails. */
typedef enum sg_pg_tx {
        SG_PG_TX_NONE = 0,   /* the job manages its own, if any */
        SG_PG_TX_WRITE,      /* BEGIN ... COMMIT */
        SG_PG_TX_REPEATABLE, /* REPEATABLE READ: one snapshot, writes allowed */
        SG_PG_TX_SNAPSHOT,   /* REPEATABLE READ, READ ONLY: reports, diffs */
} sg_pg_tx_t;

typedef struct sg_pg_job {
        const char *what; /* the error line starts with it: "comparison" */
        const char *user; /* the default role (sg_pg_conninfo); NULL:
                             "sg_writer" */
        sg_pg_job_fn fn;
        void *arg;
        sg_pg_tx_t tx;
        long long retry_s; /* keep retrying a transient failure this long
                              (0: one attempt) */
        int max_delay_ms;  /* the backoff's cap (0: 10 s) */
        bool quiet;        /* retry lines at debug level: the run ends in
                              at most one error line (cron) */
} sg_pg_job_t;

/* The --retry-for option of a one-shot tool, over job->retry_s (seconds,
 * 0..max): one row for sg_cli's table. */
sg_opt_t sg_pg_retry_opt(long long *retry_s, long long max);

/* Connects (the conninfo from c, sg_pg_conninfo; application_name
 * appname) and runs the job in its transaction, retrying on a new
 * connection with backoff (0.5 s doubling to max_delay_ms) while the
 * failure is transient, until retry_s seconds have passed or a stop is
 * requested; a permanent failure is not retried. Returns 0, or -1 after
 * one error line that starts with job->what. */
int sg_pg_run(const sg_cli_common_t *c, const char *appname,
              const sg_pg_job_t *job) SG_MUST_CHECK;

/* Sends one COPY ... FROM STDIN statement and the data (text format),
 * then checks the result. Returns 0, or -1 with err. */
int sg_pg_copy(PGconn *conn, const char *copy_sql, const char *data,
               size_t len, sg_pg_err_t *err) SG_MUST_CHECK;

/* The same in steps, for data sent as it is produced: begin (the
 * connection is then in COPY IN until the COPY ends), send any number of
 * times, then end (the statement's result: a server-side error such as a
 * unique violation is only reported here) or abort (abandons the COPY: the
 * statement fails, and so does the transaction). */
int sg_pg_copy_begin(PGconn *conn, const char *copy_sql,
                     sg_pg_err_t *err) SG_MUST_CHECK;
int sg_pg_copy_send(PGconn *conn, const char *data, size_t len,
                    sg_pg_err_t *err) SG_MUST_CHECK;
int sg_pg_copy_end(PGconn *conn, sg_pg_err_t *err) SG_MUST_CHECK;
void sg_pg_copy_abort(PGconn *conn, const char *why);

#endif
