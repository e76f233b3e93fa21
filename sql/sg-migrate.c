/* sg-migrate: applies the numbered SQL migrations (NNN_name.sql) of a
 * folder in order, each in its own transaction together with its row in
 * schema_migrations, so re-running applies only the new ones. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#define PROG "sg-migrate"
#define MAX_FILES 1000


static int is_migration_name(const char *n)
{
        size_t len = strlen(n);

        return len > 8 && n[0] >= '0' && n[0] <= '9' && n[1] >= '0' &&
               n[1] <= '9' && n[2] >= '0' && n[2] <= '9' && n[3] == '_' &&
               strcmp(n + len - 4, ".sql") == 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads a whole file into a NUL-terminated heap buffer; caller frees.
 * Returns NULL on failure. */
static char *read_file(const char *path)
{
        FILE *fp = fopen(path, "rb");
        char *buf = NULL;
        long size;

        if (!fp)
                return NULL;
        if (fseek(fp, 0, SEEK_END) == 0 && (size = ftell(fp)) >= 0 &&
            fseek(fp, 0, SEEK_SET) == 0) {
                buf = sg_xmalloc((size_t)size + 1);
                if (fread(buf, 1, (size_t)size, fp) != (size_t)size) {
                        free(buf);
                        buf = NULL;
                } else {
                        buf[size] = '\0';
                }
        }
        fclose(fp);
        return buf;
}

/* Returns 1 if version is recorded (and warns when its checksum changed),
 * 0 if not, -1 on error. */
static int is_applied(PGconn *conn, const char *version, const char *sql)
{
        const char *params[2] = {version, sql};
        sg_pg_err_t err;
        PGresult *res = sg_pg_query(conn,
                                    "SELECT checksum = md5($2) FROM "
                                    "schema_migrations WHERE version = $1",
                                    2, params, 0, "reading schema_migrations",
                                    &err);
        int rc;

        if (!res) {
                sg_error("%s", err.msg);
                return -1;
        }
        if (PQntuples(res) == 0) {
                rc = 0;
        } else {
                if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
                        sg_warn("migration %s was edited after it was "
                                "applied; edits are not re-applied: add a "
                                "new migration instead", version);
                rc = 1;
        }
        PQclear(res);
        return rc;
}

/* Applies one migration and its schema_migrations row in one
 * transaction. Returns 0 or -1 (rolled back). */
static int apply(PGconn *conn, const char *version, const char *sql)
{
        const char *params[2] = {version, sql};
        sg_pg_err_t err;
        PGresult *res;

        if (sg_pg_begin(conn, &err) < 0)
                goto fail;
        /* A migration file may hold several statements: simple query
         * protocol, no parameters, inside our transaction. */
        res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK &&
            PQresultStatus(res) != PGRES_TUPLES_OK) {
                sg_pg_err_set(&err, conn, res, "migration");
                PQclear(res);
                goto fail;
        }
        PQclear(res);
        if (sg_pg_command(conn,
                          "INSERT INTO schema_migrations (version, checksum) "
                          "VALUES ($1, md5($2))",
                          2, params, "recording the migration", NULL,
                          &err) < 0 ||
            sg_pg_commit(conn, &err) < 0)
                goto fail;
        return 0;
fail:
        sg_error("migration %s failed, rolled back: %s", version, err.msg);
        sg_pg_rollback(conn);
        return -1;
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        const char *dir = SG_SQL_DIR;
        bool status_only = false;
        const sg_opt_t opts[] = {
            {.name = "dir", .kind = SG_OPT_STRING, .dest = &dir, .arg = "DIR",
             .help = "the migrations folder"},
            {.name = "status", .kind = SG_OPT_FLAG, .dest = &status_only,
             .help = "list applied and pending migrations, apply nothing"},
            SG_OPT_END,
        };
        const sg_cli_t cli = {
            .prog = PROG,
            .about = "Applies sql/NNN_*.sql in order, each in one transaction "
                     "with its\nschema_migrations row (an advisory lock keeps "
                     "one migrator at a time).\nConnects as sg_owner by "
                     "default.",
            .tables = {opts},
        };
        char conninfo[1024], path[4096];
        char *files[MAX_FILES];
        int nfiles = 0, applied = 0, pending = 0, rc = 1, st, r;
        sg_pg_err_t err;
        PGconn *conn = NULL;
        PGresult *res;
        DIR *d;
        struct dirent *de;

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                return st;

        d = opendir(dir);
        if (!d) {
                sg_error("cannot open the migrations folder dir=%s", dir);
                return 1;
        }
        while ((de = readdir(d)) != NULL && nfiles < MAX_FILES)
                if (is_migration_name(de->d_name))
                        files[nfiles++] = sg_xstrdup(de->d_name);
        closedir(d);
        qsort(files, (size_t)nfiles, sizeof(files[0]), cmp_str);

        sg_pg_conninfo(&common, "sg_owner", conninfo, sizeof(conninfo));
        conn = sg_pg_open(conninfo, PROG, &err);
        if (!conn) {
                sg_error("cannot connect to PostgreSQL: %s", err.msg);
                goto out;
        }
        /* One migrator at a time per database. */
        res = sg_pg_query(conn, "SELECT pg_advisory_lock(hashtext('sg-migrate'))",
                          0, NULL, 1, "taking the migration lock", &err);
        if (!res) {
                sg_error("%s", err.msg);
                goto out;
        }
        PQclear(res);
        if (sg_pg_exec(conn,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version text PRIMARY KEY,"
                       " checksum text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       &err) < 0) {
                sg_error("cannot create schema_migrations: %s", err.msg);
                goto out;
        }
        for (int i = 0; i < nfiles; i++) {
                char version[256];
                char *sql;

                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                snprintf(version, sizeof(version), "%.*s",
                         (int)(strlen(files[i]) - 4), files[i]);
                sql = read_file(path);
                if (!sql) {
                        sg_error("cannot read %s", path);
                        goto out;
                }
                r = is_applied(conn, version, sql);
                if (r < 0) {
                        free(sql);
                        goto out;
                }
                if (r == 1) {
                        applied++;
                        if (status_only)
                                printf("applied  %s\n", version);
                } else if (status_only) {
                        printf("pending  %s\n", version);
                        pending++;
                } else {
                        if (apply(conn, version, sql) < 0) {
                                free(sql);
                                goto out;
                        }
                        sg_info("applied migration=%s", version);
                        pending++;
                }
                free(sql);
        }
        if (status_only)
                sg_info("status applied=%d pending=%d", applied, pending);
        else
                sg_info("schema up to date already_applied=%d "
                        "newly_applied=%d", applied, pending);
        rc = 0;
out:
        for (int i = 0; i < nfiles; i++)
                free(files[i]);
        PQfinish(conn);
        return rc;
}
