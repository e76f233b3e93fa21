#include "sg_pg.h"
#include "sg_log.h"
#include "sg_signal.h"
#include "sg_time.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_pg_conninfo(const sg_cli_common_t *c, const char *default_user,
                    char *out, size_t size)
{
        const char *env = getenv("PG_DSN");
        size_t n = 0;

        if (c && c->dsn && *c->dsn) {
                snprintf(out, size, "%s", c->dsn);
                return;
        }
        if (env && *env) {
                snprintf(out, size, "%s", env);
                return;
        }
        out[0] = '\0';
        if (!getenv("PGHOST") && !getenv("PGHOSTADDR"))
                n += (size_t)snprintf(out + n, size - n, "host=localhost ");
        if (!getenv("PGDATABASE") && n < size)
                n += (size_t)snprintf(out + n, size - n, "dbname=streamguard ");
        if (!getenv("PGUSER") && n < size)
                snprintf(out + n, size - n, "user=%s", default_user);
}

static void sg_pg_oneline(char *s)
{
        for (char *p = s; *p; p++)
                if (*p == '\n' || *p == '\r' || *p == '\t')
                        *p = ' ';
        for (size_t n = strlen(s); n > 0 && s[n - 1] == ' '; n--)
                s[n - 1] = '\0';
}

/* Server NOTICEs ("relation already exists, skipping", ...) go to our log
 * at debug level instead of libpq's bare stderr lines. */
static void sg_pg_notice(void *arg, const char *message)
{
        char line[512];

        (void)arg;
        snprintf(line, sizeof(line), "%s", message);
        sg_pg_oneline(line);
        sg_debug("postgres notice: %s", line);
}

void sg_pg_err_fmt(sg_pg_err_t *err, bool transient, const char *fmt, ...)
{
        va_list ap;

        err->sqlstate[0] = '\0';
        err->transient = transient;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        sg_pg_oneline(err->msg);
}

bool sg_pg_sqlstate_transient(const char *st)
{
        static const char *const exact[] = {"57P01", "57P02", "57P03",
                                            "57P04", "57P05", "40001",
                                            "40P01", "55P03", "25006", NULL};

        if (!st || strlen(st) != 5)
                return false;
        if (strncmp(st, "08", 2) == 0 || strncmp(st, "53", 2) == 0)
                return true;
        for (int i = 0; exact[i]; i++)
                if (strcmp(st, exact[i]) == 0)
                        return true;
        return false;
}

void sg_pg_err_objects(const PGresult *res, char *out, size_t size)
{
        static const struct {
                int field;
                const char *name;
        } fields[] = {
            {PG_DIAG_SCHEMA_NAME, "schema"},   {PG_DIAG_TABLE_NAME, "table"},
            {PG_DIAG_COLUMN_NAME, "column"},   {PG_DIAG_DATATYPE_NAME, "type"},
            {PG_DIAG_CONSTRAINT_NAME, "constraint"},
        };
        const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        size_t n;

        snprintf(out, size, "%s", st ? st : "");
        for (size_t i = 0; res && i < sizeof(fields) / sizeof(fields[0]); i++) {
                const char *v = PQresultErrorField(res, fields[i].field);
                n = strlen(out);
                if (v && n < size)
                        snprintf(out + n, size - n, "%s%s=%s", n ? " " : "",
                                 fields[i].name, v);
        }
}

void sg_pg_err_set(sg_pg_err_t *err, PGconn *conn, const PGresult *res,
                   const char *what)
{
        const char *st = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        const char *primary =
            res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
        char objects[256];
        bool link_ok = conn && PQstatus(conn) == CONNECTION_OK;

        snprintf(err->sqlstate, sizeof(err->sqlstate), "%s", st ? st : "");
        if (st) {
                /* Class 22 (data exception) messages quote the input. */
                if (strncmp(st, "22", 2) == 0)
                        primary = NULL;
                sg_pg_err_objects(res, objects, sizeof(objects));
                /* objects starts with the SQLSTATE. */
                snprintf(err->msg, sizeof(err->msg), "%s: %s%s%s",
                         what ? what : "postgres", objects,
                         primary ? ": " : "", primary ? primary : "");
                err->transient = !link_ok || sg_pg_sqlstate_transient(st);
        } else if (res && link_ok && PQresultStatus(res) != PGRES_FATAL_ERROR &&
                   PQresultStatus(res) != PGRES_BAD_RESPONSE) {
                /* A result of another kind than the caller expects (rows
                 * from a command): a bug, not an outage. */
                snprintf(err->msg, sizeof(err->msg),
                         "%s: unexpected result %s", what ? what : "postgres",
                         PQresStatus(PQresultStatus(res)));
                err->transient = false;
        } else {
                /* No server error: the link failed, or libpq refused
                 * (its messages carry no row data). */
                snprintf(err->msg, sizeof(err->msg), "%s: %s",
                         what ? what : "postgres",
                         conn ? PQerrorMessage(conn) : "no connection");
                err->transient = true;
        }
        sg_pg_oneline(err->msg);
}

PGconn *sg_pg_open(const char *conninfo, const char *appname,
                   sg_pg_err_t *err)
{
        const char *keys[] = {"dbname", "fallback_application_name",
                              "connect_timeout", NULL};
        const char *vals[] = {conninfo, appname, "5", NULL};
        PGconn *conn;

        /* expand_dbname: the conninfo's own settings win over ours. */
        conn = PQconnectdbParams(keys, vals, 1);
        if (!conn)
                sg_oom("PQconnectdbParams");
        if (PQstatus(conn) == CONNECTION_OK) {
                PQsetNoticeProcessor(conn, sg_pg_notice, NULL);
                return conn;
        }
        /* See the header: libpq gives no SQLSTATE here; how far the
         * attempt got says whether waiting can help. */
        if (PQconnectionNeedsPassword(conn)) {
                sg_pg_err_fmt(err, false,
                              "PostgreSQL wants a password for user %s and "
                              "none was given (PGPASSWORD, ~/.pgpass or "
                              "PGPASSFILE)",
                              PQuser(conn));
        } else if (PQconnectionUsedPassword(conn)) {
                sg_pg_err_fmt(err, false,
                              "PostgreSQL refused user %s on database %s "
                              "after authentication (wrong password, unknown "
                              "role or database, or no CONNECT privilege): %s",
                              PQuser(conn), PQdb(conn), PQerrorMessage(conn));
        } else {
                sg_pg_err_fmt(err, true, "%s", PQerrorMessage(conn));
        }
        PQfinish(conn);
        return NULL;
}

void sg_pg_session_init(sg_pg_session_t *s, const sg_cli_common_t *c,
                        const char *default_user, const char *appname)
{
        memset(s, 0, sizeof(*s));
        sg_pg_conninfo(c, default_user, s->conninfo, sizeof(s->conninfo));
        s->appname = appname;
}

PGconn *sg_pg_session_get(sg_pg_session_t *s, sg_pg_err_t *err)
{
        sg_backoff_t b;

        err->msg[0] = '\0';
        if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
                return s->conn;
        sg_pg_session_drop(s);
        sg_backoff_init(&b, 500, 10000);
        while (!sg_stop_requested) {
                s->conn = sg_pg_open(s->conninfo, s->appname, err);
                if (s->conn) {
                        if (b.attempt > 0)
                                sg_info("postgres connected after "
                                        "attempts=%d", b.attempt + 1);
                        err->msg[0] = '\0';
                        return s->conn;
                }
                if (!err->transient)
                        return NULL;
                sg_log(s->quiet ? SG_LOG_DEBUG : SG_LOG_WARN,
                       "postgres unavailable, retrying in %d ms attempt=%d "
                       "reason=\"%s\"",
                       b.delay_ms, b.attempt + 1, err->msg);
                if (sg_backoff_wait(&b))
                        break;
        }
        err->msg[0] = '\0'; /* stopping */
        return NULL;
}

PGconn *sg_pg_session_conn(sg_pg_session_t *s)
{
        sg_pg_err_t err;
        PGconn *conn = sg_pg_session_get(s, &err);

        if (!conn && err.msg[0]) {
                sg_error("%s", err.msg);
                s->failed = true;
        }
        return conn;
}

void sg_pg_session_drop(sg_pg_session_t *s)
{
        PQfinish(s->conn);
        s->conn = NULL;
}

void sg_pg_session_close(sg_pg_session_t *s)
{
        if (s)
                sg_pg_session_drop(s);
}

#define SG_PG_RETRY_PAUSE_MS 200 /* after a transient failure on a live link */

bool sg_pg_session_failure(sg_pg_session_t *s, const char *what,
                           const sg_pg_err_t *err)
{
        if (!err->transient) {
                sg_error("%s failed: %s", what, err->msg);
                return true;
        }
        sg_warn("%s failed, will retry reason=\"%s\"", what, err->msg);
        if (!s->conn || PQstatus(s->conn) != CONNECTION_OK)
                sg_pg_session_drop(s);
        else
                (void)sg_sleep_ms(SG_PG_RETRY_PAUSE_MS);
        return false;
}

/* "what" of a bare statement: its first two words. */
static void sg_pg_what(const char *sql, char *out, size_t size)
{
        size_t n = 0;
        int words = 0;

        while (sql[n] && n + 1 < size) {
                if (sql[n] == ' ' && ++words == 2)
                        break;
                n++;
        }
        memcpy(out, sql, n);
        out[n] = '\0';
}

int sg_pg_exec(PGconn *conn, const char *sql, sg_pg_err_t *err)
{
        PGresult *res = PQexec(conn, sql);
        int rc = 0;

        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                char what[32];
                sg_pg_what(sql, what, sizeof(what));
                sg_pg_err_set(err, conn, res, what);
                rc = -1;
        }
        PQclear(res);
        return rc;
}

static PGresult *sg_pg_query_fmt(PGconn *conn, const char *sql, int nparams,
                                 const char *const *params,
                                 const int *lengths, const int *formats,
                                 int result_format, int min_rows,
                                 const char *what, sg_pg_err_t *err)
{
        PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, lengths,
                                     formats, result_format);

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                sg_pg_err_set(err, conn, res, what);
                PQclear(res);
                return NULL;
        }
        if (PQntuples(res) < min_rows) {
                sg_pg_err_fmt(err, false, "%s: %d rows, expected at least %d",
                              what, PQntuples(res), min_rows);
                PQclear(res);
                return NULL;
        }
        return res;
}

PGresult *sg_pg_query(PGconn *conn, const char *sql, int nparams,
                      const char *const *params, int min_rows,
                      const char *what, sg_pg_err_t *err)
{
        return sg_pg_query_fmt(conn, sql, nparams, params, NULL, NULL, 0,
                               min_rows, what, err);
}

PGresult *sg_pg_query_bin(PGconn *conn, const char *sql, int nparams,
                          const char *const *params, const int *lengths,
                          const int *formats, int min_rows, const char *what,
                          sg_pg_err_t *err)
{
        return sg_pg_query_fmt(conn, sql, nparams, params, lengths, formats, 1,
                               min_rows, what, err);
}

int sg_pg_command(PGconn *conn, const char *sql, int nparams,
                  const char *const *params, const char *what,
                  long long *affected, sg_pg_err_t *err)
{
        return sg_pg_command_bin(conn, sql, nparams, params, NULL, NULL, what,
                                 affected, err);
}

/* The statements sent in pipeline mode and not yet answered (what each
 * is, for the error): one pipeline per thread at a time. */
#define SG_PG_PIPE_MAX 256
static _Thread_local struct {
        const PGconn *conn;
        int n;
        const char *what[SG_PG_PIPE_MAX];
} sg_pipe;

bool sg_pg_pipe_on(const PGconn *conn)
{
        return conn && PQpipelineStatus(conn) != PQ_PIPELINE_OFF;
}

int sg_pg_pipe_begin(PGconn *conn, sg_pg_err_t *err)
{
        if (sg_pipe.conn && sg_pipe.conn != conn && sg_pg_pipe_on(sg_pipe.conn)) {
                sg_pg_err_fmt(err, false, "a pipeline is open on another "
                                          "connection of this thread");
                return -1;
        }
        if (PQenterPipelineMode(conn) != 1) {
                sg_pg_err_set(err, conn, NULL, "entering pipeline mode");
                return -1;
        }
        sg_pipe.conn = conn;
        sg_pipe.n = 0;
        return 0;
}

static int sg_pg_pipe_send(PGconn *conn, const char *sql, int nparams,
                           const char *const *params, const int *lengths,
                           const int *formats, const char *what,
                           sg_pg_err_t *err)
{
        if (sg_pipe.conn != conn) {
                sg_pg_err_fmt(err, false, "%s: pipeline not begun here", what);
                return -1;
        }
        /* As many statements as we can name: then wait for them (a sync
         * point; the transaction goes on) and go on sending. */
        if (sg_pipe.n >= SG_PG_PIPE_MAX &&
            (sg_pg_pipe_end(conn, err) < 0 || sg_pg_pipe_begin(conn, err) < 0))
                return -1;
        if (PQsendQueryParams(conn, sql, nparams, NULL, params, lengths,
                              formats, 0) != 1) {
                sg_pg_err_set(err, conn, NULL, what);
                return -1;
        }
        sg_pipe.what[sg_pipe.n++] = what;
        return 0;
}

int sg_pg_pipe_flush(PGconn *conn, sg_pg_err_t *err)
{
        if (PQflush(conn) != 0 || PQconsumeInput(conn) != 1) {
                sg_pg_err_set(err, conn, NULL, "sending a pipeline");
                return -1;
        }
        return 0;
}

int sg_pg_pipe_end(PGconn *conn, sg_pg_err_t *err)
{
        int i = 0, nulls = 0, rc = 0;
        bool synced = false;

        if (!sg_pg_pipe_on(conn))
                return 0;
        if (PQpipelineSync(conn) != 1) {
                sg_pg_err_set(err, conn, NULL, "ending a pipeline");
                rc = -1;
        }
        /* Each statement's result, then NULL; at the end the sync. */
        while (!synced) {
                PGresult *res = PQgetResult(conn);
                ExecStatusType st;
                if (!res) {
                        if (++nulls > 1 || PQstatus(conn) != CONNECTION_OK) {
                                if (rc == 0)
                                        sg_pg_err_set(err, conn, NULL,
                                                      "ending a pipeline");
                                rc = -1;
                                break;
                        }
                        continue;
                }
                nulls = 0;
                st = PQresultStatus(res);
                if (st == PGRES_PIPELINE_SYNC) {
                        PQclear(res);
                        synced = true;
                        continue;
                }
                if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK &&
                    rc == 0) {
                        sg_pg_err_set(err, conn, res,
                                      i < sg_pipe.n ? sg_pipe.what[i]
                                                    : "a pipelined statement");
                        rc = -1;
                }
                i++;
                PQclear(res);
        }
        if (PQexitPipelineMode(conn) != 1) {
                if (rc == 0)
                        sg_pg_err_set(err, conn, NULL, "leaving pipeline mode");
                rc = -1;
        }
        sg_pipe.n = 0;
        return rc;
}

int sg_pg_command_bin(PGconn *conn, const char *sql, int nparams,
                      const char *const *params, const int *lengths,
                      const int *formats, const char *what,
                      long long *affected, sg_pg_err_t *err)
{
        PGresult *res;
        int rc = 0;

        if (sg_pg_pipe_on(conn)) {
                if (affected) {
                        sg_pg_err_fmt(err, false,
                                      "%s: no row count in pipeline mode",
                                      what);
                        return -1;
                }
                return sg_pg_pipe_send(conn, sql, nparams, params, lengths,
                                       formats, what, err);
        }
        res = PQexecParams(conn, sql, nparams, NULL, params, lengths, formats,
                           0);

        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                sg_pg_err_set(err, conn, res, what);
                rc = -1;
        } else if (affected) {
                *affected = strtoll(PQcmdTuples(res), NULL, 10);
        }
        PQclear(res);
        return rc;
}

int sg_pg_begin(PGconn *conn, sg_pg_err_t *err)
{
        return sg_pg_exec(conn, "BEGIN", err);
}

int sg_pg_commit(PGconn *conn, sg_pg_err_t *err)
{
        return sg_pg_exec(conn, "COMMIT", err);
}

void sg_pg_rollback(PGconn *conn)
{
        if (conn && PQstatus(conn) == CONNECTION_OK &&
            PQtransactionStatus(conn) != PQTRANS_IDLE)
                PQclear(PQexec(conn, "ROLLBACK"));
}

int sg_pg_copy_begin(PGconn *conn, const char *copy_sql, sg_pg_err_t *err)
{
        PGresult *res = PQexec(conn, copy_sql);

        if (PQresultStatus(res) != PGRES_COPY_IN) {
                sg_pg_err_set(err, conn, res, "COPY");
                PQclear(res);
                return -1;
        }
        PQclear(res);
        return 0;
}

int sg_pg_copy_send(PGconn *conn, const char *data, size_t len,
                    sg_pg_err_t *err)
{
        /* In bounded chunks: PQputCopyData copies into libpq's buffer. */
        for (size_t off = 0; off < len;) {
                size_t chunk = len - off > (1u << 20) ? (1u << 20) : len - off;

                if (PQputCopyData(conn, data + off, (int)chunk) != 1) {
                        sg_pg_err_set(err, conn, NULL, "COPY data");
                        return -1;
                }
                off += chunk;
        }
        return 0;
}

static int sg_pg_copy_finish(PGconn *conn, const char *abort_msg,
                             sg_pg_err_t *err)
{
        PGresult *res;
        int rc = abort_msg ? -1 : 0;
        bool have = false;

        if (PQputCopyEnd(conn, abort_msg) != 1)
                rc = -1;
        while ((res = PQgetResult(conn)) != NULL) {
                /* The first failure the server reports says the most. */
                if (PQresultStatus(res) != PGRES_COMMAND_OK && !have) {
                        sg_pg_err_set(err, conn, res, "COPY");
                        have = true;
                        rc = -1;
                }
                PQclear(res);
        }
        if (rc < 0 && !have)
                sg_pg_err_set(err, conn, NULL, "COPY end");
        return rc;
}

int sg_pg_copy_end(PGconn *conn, sg_pg_err_t *err)
{
        return sg_pg_copy_finish(conn, NULL, err);
}

void sg_pg_copy_abort(PGconn *conn, const char *why)
{
        sg_pg_err_t ignored;

        if (sg_pg_copy_finish(conn, why, &ignored) < 0)
                return; /* it always fails: the statement was abandoned */
}

int sg_pg_copy(PGconn *conn, const char *copy_sql, const char *data,
               size_t len, sg_pg_err_t *err)
{
        sg_pg_err_t senderr;

        if (sg_pg_copy_begin(conn, copy_sql, err) < 0)
                return -1;
        if (sg_pg_copy_send(conn, data, len, &senderr) < 0) {
                /* The server's answer, if any, says more than libpq's. */
                if (sg_pg_copy_finish(conn, "client error", err) < 0 &&
                    err->sqlstate[0] == '\0')
                        *err = senderr;
                return -1;
        }
        return sg_pg_copy_end(conn, err);
}

/* One attempt: the job in its transaction. */
static int sg_pg_run_once(PGconn *conn, const sg_pg_job_t *job,
                          sg_pg_err_t *err)
{
        static const char *const begin[] = {
            [SG_PG_TX_WRITE] = "BEGIN",
            [SG_PG_TX_REPEATABLE] = "BEGIN ISOLATION LEVEL REPEATABLE READ",
            [SG_PG_TX_SNAPSHOT] =
                "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY",
        };

        if (job->tx != SG_PG_TX_NONE &&
            sg_pg_exec(conn, begin[job->tx], err) < 0)
                return -1;
        if (job->fn(conn, job->arg, err) < 0 ||
            (job->tx != SG_PG_TX_NONE && sg_pg_commit(conn, err) < 0)) {
                sg_pg_rollback(conn);
                return -1;
        }
        return 0;
}

int sg_pg_run(const sg_cli_common_t *c, const char *appname,
              const sg_pg_job_t *job)
{
        char conninfo[1024];
        long long started = sg_time_mono_ms();
        long long deadline = started + job->retry_s * 1000, now;
        sg_backoff_t b;
        sg_pg_err_t err;
        PGconn *conn;

        sg_pg_conninfo(c, job->user ? job->user : "sg_writer", conninfo,
                       sizeof(conninfo));
        sg_backoff_init(&b, 500, job->max_delay_ms ? job->max_delay_ms : 10000);
        for (;;) {
                conn = sg_pg_open(conninfo, appname, &err);
                if (conn) {
                        int rc = sg_pg_run_once(conn, job, &err);

                        PQfinish(conn);
                        if (rc == 0)
                                return 0;
                }
                if (!err.transient) {
                        sg_error("%s failed: %s", job->what, err.msg);
                        return -1;
                }
                now = sg_time_mono_ms();
                if (sg_stop_requested || now >= deadline) {
                        sg_error("%s failed: PostgreSQL unreachable, gave up "
                                 "after attempts=%d in %lld s: %s",
                                 job->what, b.attempt + 1,
                                 (now - started + 500) / 1000, err.msg);
                        return -1;
                }
                /* The last wait ends at the deadline, for one last try. */
                if (now + b.delay_ms > deadline)
                        b.delay_ms = (int)(deadline - now);
                sg_log(job->quiet ? SG_LOG_DEBUG : SG_LOG_WARN,
                       "postgres unavailable, retrying in %d ms attempt=%d "
                       "reason=\"%s\"",
                       b.delay_ms, b.attempt + 1, err.msg);
                if (sg_backoff_wait(&b)) {
                        sg_error("%s stopped by a signal while waiting for "
                                 "PostgreSQL", job->what);
                        return -1;
                }
        }
}

sg_opt_t sg_pg_retry_opt(long long *retry_s, long long max)
{
        return (sg_opt_t){
            .name = "retry-for",
            .kind = SG_OPT_LLONG,
            .dest = retry_s,
            .arg = "SECONDS",
            .min = 0,
            .max = max,
            .unit = "s",
            .help = "keep retrying an unreachable database (and a"
                    "\ntransaction that failed for a transient reason) this"
                    "\nlong, then exit 1 (0: one attempt)"};
}
