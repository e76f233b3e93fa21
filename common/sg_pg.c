#include "sg_pg.h"
#include "sg_log.h"
#include "sg_signal.h"

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

PGconn *sg_pg_open(const char *conninfo, const char *appname, char *errstr,
                   size_t errstr_size)
{
        const char *keys[] = {"dbname", "fallback_application_name",
                              "connect_timeout", NULL};
        const char *vals[] = {conninfo, appname, "5", NULL};
        PGconn *conn;

        /* expand_dbname: the conninfo's own settings win over ours. */
        conn = PQconnectdbParams(keys, vals, 1);
        if (!conn) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        if (PQstatus(conn) != CONNECTION_OK) {
                snprintf(errstr, errstr_size, "%s", PQerrorMessage(conn));
                sg_pg_oneline(errstr);
                PQfinish(conn);
                return NULL;
        }
        PQsetNoticeProcessor(conn, sg_pg_notice, NULL);
        return conn;
}

PGconn *sg_pg_open_retry(const char *conninfo, const char *appname)
{
        int delay = 500;
        int attempt = 0;
        char err[512];

        while (!sg_stop_requested) {
                PGconn *conn = sg_pg_open(conninfo, appname, err, sizeof(err));
                if (conn) {
                        if (attempt > 0)
                                sg_info("postgres connected after "
                                        "attempts=%d", attempt + 1);
                        return conn;
                }
                attempt++;
                sg_warn("postgres unavailable, retrying in %d ms attempt=%d "
                        "reason=\"%s\"", delay, attempt, err);
                if (sg_sleep_ms(delay))
                        break;
                delay = delay * 2 > 10000 ? 10000 : delay * 2;
        }
        return NULL;
}

void sg_pg_errstr(PGconn *conn, const PGresult *res, char *errstr,
                  size_t errstr_size)
{
        const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE)
                                : NULL;
        const char *msg = res ? PQresultErrorMessage(res) : "";

        if (!msg || !*msg)
                msg = conn ? PQerrorMessage(conn) : "unknown error";
        snprintf(errstr, errstr_size, "%s%s%s", state ? state : "",
                 state ? " " : "", msg);
        sg_pg_oneline(errstr);
}

bool sg_pg_is_transient(PGconn *conn, const PGresult *res)
{
        const char *state;

        if (!conn || PQstatus(conn) != CONNECTION_OK)
                return true;
        state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
        if (!state)
                return !res; /* no result at all: the link is in doubt */
        return strncmp(state, "08", 2) == 0 || strncmp(state, "53", 2) == 0 ||
               strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
               strcmp(state, "57P03") == 0 || strcmp(state, "40001") == 0 ||
               strcmp(state, "40P01") == 0;
}

int sg_pg_exec(PGconn *conn, const char *sql, char *errstr,
               size_t errstr_size)
{
        PGresult *res = PQexec(conn, sql);
        int rc = 0;

        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                sg_pg_errstr(conn, res, errstr, errstr_size);
                rc = -1;
        }
        PQclear(res);
        return rc;
}

void sg_pg_fail(PGconn *conn, const PGresult *res, const char *what,
                char *err, size_t err_size, bool *transient)
{
        char detail[400];

        sg_pg_errstr(conn, res, detail, sizeof(detail));
        snprintf(err, err_size, "%s: %s", what, detail);
        *transient = sg_pg_is_transient(conn, res);
}

PGresult *sg_pg_query(PGconn *conn, const char *sql, int nparams,
                      const char *const *params, int min_rows,
                      const char *what, char *err, size_t err_size,
                      bool *transient)
{
        PGresult *res =
            PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);

        if (PQresultStatus(res) != PGRES_TUPLES_OK ||
            PQntuples(res) < min_rows) {
                sg_pg_fail(conn, res, what, err, err_size, transient);
                PQclear(res);
                return NULL;
        }
        return res;
}

int sg_pg_copy_begin(PGconn *conn, const char *copy_sql, char *errstr,
                     size_t errstr_size)
{
        PGresult *res;

        errstr[0] = '\0';
        res = PQexec(conn, copy_sql);
        if (PQresultStatus(res) != PGRES_COPY_IN) {
                sg_pg_errstr(conn, res, errstr, errstr_size);
                PQclear(res);
                return -1;
        }
        PQclear(res);
        return 0;
}

int sg_pg_copy_send(PGconn *conn, const char *data, size_t len, char *errstr,
                    size_t errstr_size)
{
        /* In bounded chunks: PQputCopyData copies into libpq's buffer. */
        for (size_t off = 0; off < len;) {
                size_t chunk = len - off > (1u << 20) ? (1u << 20) : len - off;

                if (PQputCopyData(conn, data + off, (int)chunk) != 1) {
                        sg_pg_errstr(conn, NULL, errstr, errstr_size);
                        return -1;
                }
                off += chunk;
        }
        return 0;
}

int sg_pg_copy_end(PGconn *conn, const char *abort_msg, char *errstr,
                   size_t errstr_size)
{
        PGresult *res;
        int rc = abort_msg ? -1 : 0;

        errstr[0] = '\0';
        if (PQputCopyEnd(conn, abort_msg) != 1)
                rc = -1;
        while ((res = PQgetResult(conn)) != NULL) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK && rc == 0) {
                        sg_pg_errstr(conn, res, errstr, errstr_size);
                        rc = -1;
                } else if (rc < 0 && errstr[0] == '\0') {
                        sg_pg_errstr(conn, res, errstr, errstr_size);
                }
                PQclear(res);
        }
        if (rc < 0 && errstr[0] == '\0')
                sg_pg_errstr(conn, NULL, errstr, errstr_size);
        return rc;
}

int sg_pg_copy(PGconn *conn, const char *copy_sql, const char *data,
               size_t len, char *errstr, size_t errstr_size)
{
        char senderr[256];

        if (sg_pg_copy_begin(conn, copy_sql, errstr, errstr_size) < 0)
                return -1;
        if (sg_pg_copy_send(conn, data, len, senderr, sizeof(senderr)) < 0) {
                /* The server's answer, if any, says more than libpq's. */
                if (sg_pg_copy_end(conn, "client error", errstr,
                                   errstr_size) < 0 &&
                    errstr[0] == '\0')
                        snprintf(errstr, errstr_size, "%s", senderr);
                return -1;
        }
        return sg_pg_copy_end(conn, NULL, errstr, errstr_size);
}

int sg_pg_run_retry(const char *conninfo, const char *appname,
                    long long retry_s, int max_delay_ms, bool quiet,
                    const char *what, sg_pg_job_fn fn, void *arg)
{
        long long started = sg_now_ms(), deadline = started + retry_s * 1000;
        long long now;
        int attempt, delay = 500, rc;
        char err[1024];
        bool transient;
        PGconn *conn;

        for (attempt = 1;; attempt++) {
                transient = true; /* an unreachable database is */
                conn = sg_pg_open(conninfo, appname, err, sizeof(err));
                if (conn) {
                        transient = false;
                        rc = fn(conn, arg, err, sizeof(err), &transient);
                        PQfinish(conn);
                        if (rc == 0)
                                return 0;
                        if (!transient) {
                                sg_error("%s failed: %s", what, err);
                                return -1;
                        }
                }
                now = sg_now_ms();
                if (sg_stop_requested || now >= deadline) {
                        sg_error("%s failed: PostgreSQL unreachable, gave up "
                                 "after attempts=%d in %lld s: %s",
                                 what, attempt, (now - started + 500) / 1000,
                                 err);
                        return -1;
                }
                /* The last wait ends at the deadline, for one last try. */
                if (now + delay > deadline)
                        delay = (int)(deadline - now);
                sg_log(quiet ? SG_LOG_DEBUG : SG_LOG_WARN,
                       "postgres unavailable, retrying in %d ms attempt=%d "
                       "reason=\"%s\"",
                       delay, attempt, err);
                if (sg_sleep_ms(delay)) {
                        sg_error("%s stopped by a signal while waiting for "
                                 "PostgreSQL", what);
                        return -1;
                }
                delay = delay * 2 > max_delay_ms ? max_delay_ms : delay * 2;
        }
}
