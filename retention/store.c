#include "store.h"
#include "sg_time.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A NULL date in retention_log. */
#define SG_RETENTION_NO_DAY LLONG_MIN

/* Bounds as day numbers (date - date is an integer). */
static const char *const SQL_PARTS =
    "SELECT partition, is_default, "
    "       coalesce(range_from - date '1970-01-01', 0), "
    "       coalesce(range_to - date '1970-01-01', 0) "
    "  FROM retention_partitions WHERE parent = $1 "
    " ORDER BY is_default DESC, range_from";

static const char *const SQL_DEFAULT_MONTHS =
    "SELECT month - date '1970-01-01', rows "
    "  FROM sg_partition_default_months($1::regclass)";

static const char *const SQL_LOG =
    "INSERT INTO retention_log (action, table_name, partition, range_from, "
    "                           range_to, rows, dry_run) "
    "VALUES ($1, $2, $3, $4::date, $5::date, $6::bigint, $7::boolean)";

int sg_retention_store_load(PGconn *conn, const char *table,
                            sg_retention_part_t **parts, size_t *nparts,
                            sg_retention_month_t **months, size_t *nmonths,
                            sg_pg_err_t *err)
{
        const char *params[1] = {table};
        PGresult *res = NULL;
        int n, rc = -1;

        *parts = NULL;
        *months = NULL;
        *nparts = *nmonths = 0;
        res = sg_pg_query(conn, SQL_PARTS, 1, params, 0,
                          "reading the partitions", err);
        if (!res)
                goto out;
        n = PQntuples(res);
        if (n == 0) {
                sg_pg_err_fmt(err, false,
                              "%s is not partitioned (is migration 012 "
                              "applied?)",
                              table);
                goto out;
        }
        *parts = sg_xcalloc((size_t)n, sizeof(**parts));
        for (int i = 0; i < n; i++) {
                sg_retention_part_t *p = &(*parts)[i];

                snprintf(p->name, sizeof(p->name), "%s", PQgetvalue(res, i, 0));
                p->is_default = strcmp(PQgetvalue(res, i, 1), "t") == 0;
                p->from = strtoll(PQgetvalue(res, i, 2), NULL, 10);
                p->to = strtoll(PQgetvalue(res, i, 3), NULL, 10);
        }
        *nparts = (size_t)n;
        PQclear(res);

        res = sg_pg_query(conn, SQL_DEFAULT_MONTHS, 1, params, 0,
                          "reading the DEFAULT partition", err);
        if (!res)
                goto out;
        n = PQntuples(res);
        *months = sg_xcalloc((size_t)n + 1, sizeof(**months));
        for (int i = 0; i < n; i++) {
                (*months)[i].month = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                (*months)[i].rows = strtoll(PQgetvalue(res, i, 1), NULL, 10);
        }
        *nmonths = (size_t)n;
        rc = 0;
out:
        PQclear(res);
        return rc;
}

/* Runs a one-value query (params as given) into *value (0 for NULL);
 * *null says whether it was NULL (may be NULL). */
static int query_ll(PGconn *conn, const char *sql, int nparams,
                    const char *const *params, const char *what,
                    long long *value, bool *null, sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn, sql, nparams, params, 1, what, err);

        if (!res)
                return -1;
        if (null)
                *null = PQgetisnull(res, 0, 0);
        *value = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return 0;
}

static int log_action(PGconn *conn, const char *action, const char *table,
                      const char *partition, long long from, long long to,
                      long long rows, bool dry_run, sg_pg_err_t *err)
{
        char f[11], t[11], r[32];
        const char *params[7] = {action, table, partition, NULL, NULL, r,
                                 dry_run ? "true" : "false"};

        if (from != SG_RETENTION_NO_DAY) {
                sg_time_format_day(from, f);
                params[3] = f;
        }
        if (to != SG_RETENTION_NO_DAY) {
                sg_time_format_day(to, t);
                params[4] = t;
        }
        snprintf(r, sizeof(r), "%lld", rows);
        return sg_pg_command(conn, SQL_LOG, 7, params, "recording the action",
                             NULL, err);
}

int sg_retention_store_act(PGconn *conn, const char *table,
                           sg_retention_action_t *a, bool dry_run, bool *done,
                           sg_pg_err_t *err)
{
        char f[11], t[11];
        const char *params[4] = {table, a->partition, f, t};
        const char *part[1] = {a->partition};
        bool null = false;

        *done = true;
        sg_time_format_day(a->from, f);
        sg_time_format_day(a->to, t);
        switch (a->kind) {
        case SG_RETENTION_DEFAULT_ROWS:
                return log_action(conn, "default_rows", table, NULL, a->from,
                                  a->to, a->rows, dry_run, err);
        case SG_RETENTION_CREATE:
                if (!dry_run) {
                        if (query_ll(conn,
                                     "SELECT sg_partition_create($1::regclass, "
                                     "$2, $3::date, $4::date)",
                                     4, params, "creating a partition",
                                     &a->rows, &null, err) < 0)
                                return -1;
                        if (null) {
                                *done = false;
                                return 0;
                        }
                }
                return log_action(conn, "create", table, a->partition, a->from,
                                  a->to, a->rows, dry_run, err);
        case SG_RETENTION_DROP:
                /* A partition planned for creation in this dry run does
                 * not exist: its rows are the DEFAULT's, already known. */
                if (dry_run && a->rows < 0 &&
                    query_ll(conn,
                             "SELECT sg_partition_rows(quote_ident($1)::regclass)",
                             1, part, "counting a partition's rows", &a->rows,
                             NULL, err) < 0)
                        return -1;
                if (!dry_run &&
                    query_ll(conn,
                             "SELECT sg_partition_drop(quote_ident($1)::regclass)",
                             1, part, "dropping a partition", &a->rows, NULL,
                             err) < 0)
                        return -1;
                return log_action(conn, "drop", table, a->partition, a->from,
                                  a->to, a->rows, dry_run, err);
        }
        sg_pg_err_fmt(err, false, "unknown action %d", (int)a->kind);
        return -1;
}

int sg_retention_store_forget_ids(PGconn *conn, long long before,
                                  bool dry_run, long long expected,
                                  long long *rows, sg_pg_err_t *err)
{
        char b[11];
        const char *params[1] = {b};

        sg_time_format_day(before, b);
        *rows = expected;
        /* Only ids whose event is gone: an event of an old month that
         * sits in DEFAULT (or arrived since) keeps its id. */
        if (!dry_run &&
            sg_pg_command(conn,
                          "DELETE FROM event_ids i WHERE i.event_date < $1::date "
                          "AND NOT EXISTS (SELECT 1 FROM events_raw r "
                          "WHERE r.event_id = i.event_id "
                          "AND r.event_date = i.event_date)",
                          1, params, "forgetting dropped event ids", rows,
                          err) < 0)
                return -1;
        return log_action(conn, "forget_ids", "events_raw", "event_ids",
                          SG_RETENTION_NO_DAY,
                          before, *rows, dry_run, err);
}
