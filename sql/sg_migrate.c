/* sg-migrate: applies the numbered SQL migrations (NNN_name.sql) of a
 * folder in order, each in its own transaction together with its row in
 * schema_migrations, so re-running applies only the new ones. */

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "sg_cli.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_signal.h"

#define PROG "sg-migrate"
#define MAX_FILES 1000

enum { OPT_DIR = 1, OPT_STATUS };

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [--dir DIR] [--status] [--dsn CONNINFO]\n"
                "Applies the numbered migrations NNN_name.sql of DIR in "
                "order, each in one\ntransaction recorded in "
                "schema_migrations. Connects as sg_owner by default.\n\n"
                "  --dir DIR            migrations folder (default %s)\n"
                "  --status             list applied and pending migrations, "
                "change nothing\n",
                PROG, SG_SQL_DIR);
        sg_cli_common_usage(fp);
}

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
                buf = malloc((size_t)size + 1);
                if (buf && fread(buf, 1, (size_t)size, fp) != (size_t)size) {
                        free(buf);
                        buf = NULL;
                } else if (buf) {
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
        PGresult *res = PQexecParams(
            conn,
            "SELECT checksum = md5($2) FROM schema_migrations "
            "WHERE version = $1",
            2, NULL, params, NULL, NULL, 0);
        int rc;

        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                char err[512];
                sg_pg_errstr(conn, res, err, sizeof(err));
                sg_error("cannot read schema_migrations: %s", err);
                rc = -1;
        } else if (PQntuples(res) == 0) {
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
        char err[1024];
        PGresult *res;

        if (sg_pg_exec(conn, "BEGIN", err, sizeof(err)) < 0)
                goto fail;
        /* A migration file may hold several statements: simple query
         * protocol, no parameters, inside our transaction. */
        res = PQexec(conn, sql);
        if (PQresultStatus(res) != PGRES_COMMAND_OK &&
            PQresultStatus(res) != PGRES_TUPLES_OK) {
                sg_pg_errstr(conn, res, err, sizeof(err));
                PQclear(res);
                goto fail;
        }
        PQclear(res);
        res = PQexecParams(conn,
                           "INSERT INTO schema_migrations (version, checksum) "
                           "VALUES ($1, md5($2))",
                           2, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                sg_pg_errstr(conn, res, err, sizeof(err));
                PQclear(res);
                goto fail;
        }
        PQclear(res);
        if (sg_pg_exec(conn, "COMMIT", err, sizeof(err)) < 0)
                goto fail;
        return 0;
fail:
        sg_error("migration %s failed, rolled back: %s", version, err);
        res = PQexec(conn, "ROLLBACK");
        PQclear(res);
        return -1;
}

int main(int argc, char **argv)
{
        static const struct option own[] = {
            {"dir", required_argument, NULL, OPT_DIR},
            {"status", no_argument, NULL, OPT_STATUS},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        const char *dir = SG_SQL_DIR;
        int status_only = 0;
        char conninfo[1024], err[512], path[4096];
        char *files[MAX_FILES];
        int nfiles = 0, applied = 0, pending = 0, rc = 1, opt, r;
        PGconn *conn = NULL;
        DIR *d;
        struct dirent *de;

        sg_cli_common_init(&common);
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                switch (opt) {
                case OPT_DIR:
                        dir = optarg;
                        break;
                case OPT_STATUS:
                        status_only = 1;
                        break;
                default:
                        r = sg_cli_common(&common, opt, optarg, PROG, usage);
                        if (r >= 0)
                                return r;
                }
        }
        if (optind < argc)
                return sg_cli_usage_error(PROG, usage,
                                          "unexpected argument '%s'",
                                          argv[optind]);
        sg_log_init(PROG, common.log_level);

        d = opendir(dir);
        if (!d) {
                sg_error("cannot open the migrations folder dir=%s", dir);
                return 1;
        }
        while ((de = readdir(d)) != NULL && nfiles < MAX_FILES)
                if (is_migration_name(de->d_name))
                        files[nfiles++] = strdup(de->d_name);
        closedir(d);
        qsort(files, (size_t)nfiles, sizeof(files[0]), cmp_str);

        sg_pg_conninfo(&common, "sg_owner", conninfo, sizeof(conninfo));
        conn = sg_pg_open(conninfo, PROG, err, sizeof(err));
        if (!conn) {
                sg_error("cannot connect to PostgreSQL: %s", err);
                goto out;
        }
        /* One migrator at a time per database. */
        {
                PGresult *res = PQexec(
                    conn, "SELECT pg_advisory_lock(hashtext('sg-migrate'))");
                if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                        sg_pg_errstr(conn, res, err, sizeof(err));
                        PQclear(res);
                        sg_error("cannot take the migration lock: %s", err);
                        goto out;
                }
                PQclear(res);
        }
        if (sg_pg_exec(conn,
                       "CREATE TABLE IF NOT EXISTS schema_migrations ("
                       " version text PRIMARY KEY,"
                       " checksum text NOT NULL,"
                       " applied_at timestamptz NOT NULL DEFAULT now())",
                       err, sizeof(err)) < 0) {
                sg_error("cannot create schema_migrations: %s", err);
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
