#include "load_access.h"
#include "load.h"
#include "sg_defs.h"
#include "sg_log.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Columns of PostgreSQL 15's csvlog. */
#define CSV_LOG_TIME 0
#define CSV_USER 1
#define CSV_DATABASE 2
#define CSV_SEVERITY 11
#define CSV_SQLSTATE 12
#define CSV_MESSAGE 13
#define CSV_FIELDS 26

#define LOG_FILES_MAX 64

#define SQL_DAY                                                                \
        " FROM pii_access_log"                                                 \
        " WHERE accessed_at >= $1::date::timestamp AT TIME ZONE 'UTC'"         \
        "   AND accessed_at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'"

static const char SQL_WHERE[] =
    "SELECT current_database(),"
    " coalesce((SELECT setting FROM pg_settings"
    "            WHERE name = 'log_directory'), ''),"
    " coalesce((SELECT setting FROM pg_settings"
    "            WHERE name = 'data_directory'), ''),"
    " coalesce((SELECT setting FROM pg_settings"
    "            WHERE name = 'log_destination'), '')";

static const char SQL_TOTALS[] =
    "SELECT count(*), count(DISTINCT user_id)" SQL_DAY;

static const char SQL_BY[] =
    "SELECT db_role, purpose, count(*), count(DISTINCT user_id)" SQL_DAY
    " GROUP BY 1, 2 ORDER BY db_role COLLATE \"C\", purpose COLLATE \"C\"";

static const char SQL_USERS[] =
    "SELECT coalesce(user_id::text, ''), count(*),"
    "       string_agg(DISTINCT purpose, ', ' ORDER BY purpose)" SQL_DAY
    " GROUP BY user_id ORDER BY count(*) DESC,"
    " coalesce(user_id::text, '') COLLATE \"C\" LIMIT $2";

static const char SQL_DAYS[] =
    "SELECT d::date::text, count(l.id), count(DISTINCT l.db_role)"
    "  FROM generate_series($1::date - ($2::int - 1), $1::date,"
    "                       interval '1 day') AS d"
    "  LEFT JOIN pii_access_log l"
    "    ON l.accessed_at >= d::date::timestamp AT TIME ZONE 'UTC'"
    "   AND l.accessed_at < (d::date + 1)::timestamp AT TIME ZONE 'UTC'"
    " GROUP BY d ORDER BY d";

/* The HTTP API's refused requests (sg-api, api_access_log): 401 and 403,
 * in time order, at most SG_ACCESS_REPORT_API_MAX. */
static const char SQL_API[] =
    "SELECT to_char(at AT TIME ZONE 'UTC', 'HH24:MI:SS.MS'),"
    "       coalesce(token_name, ''), coalesce(role, ''), method,"
    "       coalesce(route, ''), status"
    "  FROM api_access_log"
    " WHERE status IN (401, 403)"
    "   AND at >= $1::date::timestamp AT TIME ZONE 'UTC'"
    "   AND at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'"
    " ORDER BY at, id LIMIT $2";

static const char SQL_API_COUNT[] =
    "SELECT count(*) FROM api_access_log"
    " WHERE status IN (401, 403)"
    "   AND at >= $1::date::timestamp AT TIME ZONE 'UTC'"
    "   AND at < ($1::date + 1)::timestamp AT TIME ZONE 'UTC'";

void sg_load_access_init(sg_load_access_t *la)
{
        memset(la, 0, sizeof(*la));
}

void sg_load_access_fini(sg_load_access_t *la)
{
        for (int i = 0; i < la->nres; i++)
                PQclear(la->res[i]);
        for (int i = 0; i < la->report.nrefusals; i++) {
                free((char *)la->refusals[i].time);
                free((char *)la->refusals[i].role);
                free((char *)la->refusals[i].object);
        }
        for (int i = 0; i < la->report.naudit; i++)
                free((char *)la->audit[i].role);
        free(la->refusals);
        free(la->audit);
        free(la->by);
        free(la->days);
        free(la->users);
        free(la->api);
        memset(la, 0, sizeof(*la));
}

static PGresult *query(PGconn *conn, sg_load_access_t *la, const char *sql,
                       int np, const char *const *params, const char *what,
                       sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(conn, sql, np, params, 0, what, err);

        if (res)
                la->res[la->nres++] = res;
        return res;
}

static void *calloc_n(int n, size_t size)
{
        return n > 0 ? sg_xcalloc((size_t)n, size) : NULL;
}

int sg_load_access(PGconn *conn, const char *date, sg_load_access_t *la,
                   sg_pg_err_t *err)
{
        char top[16], days[16];
        const char *params[2] = {date, top};
        sg_access_report_t *r = &la->report;
        PGresult *res;
        int n;

        sg_load_access_fini(la);
        snprintf(top, sizeof(top), "%d", SG_ACCESS_REPORT_TOP);
        snprintf(days, sizeof(days), "%d", SG_ACCESS_REPORT_DAYS);
        r->date = date;
        if (!(res = query(conn, la, SQL_WHERE, 0, NULL, "settings", err)))
                return -1;
        snprintf(la->database, sizeof(la->database), "%s",
                 PQgetvalue(res, 0, 0));
        snprintf(la->log_dir_setting, sizeof(la->log_dir_setting), "%s",
                 PQgetvalue(res, 0, 1));
        snprintf(la->data_dir_setting, sizeof(la->data_dir_setting), "%s",
                 PQgetvalue(res, 0, 2));
        snprintf(la->log_destination, sizeof(la->log_destination), "%s",
                 PQgetvalue(res, 0, 3));
        r->database = la->database;

        if (!(res = query(conn, la, SQL_TOTALS, 1, params, "access totals",
                          err)))
                return -1;
        r->accesses = sg_load_ll(res, 0, 0);
        r->distinct_users = sg_load_ll(res, 0, 1);

        if (!(res = query(conn, la, SQL_BY, 1, params, "accesses by purpose",
                          err)))
                return -1;
        n = PQntuples(res);
        la->by = calloc_n(n, sizeof(*la->by));
        for (int i = 0; i < n; i++)
                la->by[i] = (sg_access_by_purpose_t){
                    .role = PQgetvalue(res, i, 0),
                    .purpose = PQgetvalue(res, i, 1),
                    .accesses = sg_load_ll(res, i, 2),
                    .users = sg_load_ll(res, i, 3)};
        r->by = la->by;
        r->nby = n;

        if (!(res = query(conn, la, SQL_USERS, 2, params, "accessed users",
                          err)))
                return -1;
        n = PQntuples(res);
        la->users = calloc_n(n, sizeof(*la->users));
        for (int i = 0; i < n; i++)
                la->users[i] = (sg_access_user_t){
                    .user_id = PQgetvalue(res, i, 0),
                    .accesses = sg_load_ll(res, i, 1),
                    .purposes = PQgetvalue(res, i, 2)};
        r->users = la->users;
        r->nusers = n;

        params[1] = days;
        if (!(res = query(conn, la, SQL_DAYS, 2, params, "accesses per day",
                          err)))
                return -1;
        n = PQntuples(res);
        la->days = calloc_n(n, sizeof(*la->days));
        for (int i = 0; i < n; i++)
                la->days[i] = (sg_access_day_t){
                    .day = PQgetvalue(res, i, 0),
                    .accesses = sg_load_ll(res, i, 1),
                    .roles = sg_load_ll(res, i, 2)};
        r->days = la->days;
        r->ndays = n;

        snprintf(top, sizeof(top), "%d", SG_ACCESS_REPORT_API_MAX);
        params[1] = top;
        if (!(res = query(conn, la, SQL_API_COUNT, 1, params,
                          "refused API requests", err)))
                return -1;
        r->api_refused = sg_load_ll(res, 0, 0);
        if (!(res = query(conn, la, SQL_API, 2, params, "refused API requests",
                          err)))
                return -1;
        n = PQntuples(res);
        la->api = calloc_n(n, sizeof(*la->api));
        for (int i = 0; i < n; i++)
                la->api[i] = (sg_access_api_refusal_t){
                    .time = PQgetvalue(res, i, 0),
                    .token = PQgetvalue(res, i, 1),
                    .role = PQgetvalue(res, i, 2),
                    .method = PQgetvalue(res, i, 3),
                    .route = PQgetvalue(res, i, 4),
                    .status = (int)sg_load_ll(res, i, 5)};
        r->api = la->api;
        r->napi = n;
        return 0;
}

int sg_load_csv_record(FILE *fp, char **buf, size_t *cap, char **fields,
                       int nfields)
{
        size_t len = 0, starts[CSV_FIELDS + 1];
        int nf = 0, c;
        bool quoted = false, any = false;

        if (nfields > CSV_FIELDS)
                nfields = CSV_FIELDS;
        starts[nf++] = 0;
        for (;;) {
                c = getc(fp);
                if (c == EOF) {
                        if (!any)
                                return -1;
                        break;
                }
                any = true;
                if (quoted) {
                        if (c == '"') {
                                int d = getc(fp);
                                if (d == '"') {
                                        c = '"';
                                } else {
                                        quoted = false;
                                        if (d != EOF)
                                                ungetc(d, fp);
                                        continue;
                                }
                        }
                } else if (c == '"') {
                        quoted = true;
                        continue;
                } else if (c == '\n') {
                        break;
                } else if (c == ',') {
                        c = '\0';
                }
                if (len + 2 > *cap) {
                        *cap = *cap ? *cap * 2 : 4096;
                        *buf = sg_xrealloc(*buf, *cap);
                }
                (*buf)[len++] = (char)c;
                if (c == '\0' && nf <= CSV_FIELDS)
                        starts[nf++] = len;
        }
        if (len + 1 > *cap) {
                *cap = *cap ? *cap * 2 : 4096;
                *buf = sg_xrealloc(*buf, *cap);
        }
        (*buf)[len] = '\0';
        for (int i = 0; i < nfields; i++)
                fields[i] = i < nf ? *buf + starts[i] : "";
        return nf;
}

static void add_refusal(sg_load_access_t *la, const char *time,
                        const char *role, const char *message)
{
        sg_access_report_t *r = &la->report;
        static const char prefix[] = "permission denied for ";
        const char *object = message;
        char obj[160];

        if (strncmp(message, prefix, sizeof(prefix) - 1) == 0)
                object = message + sizeof(prefix) - 1;
        snprintf(obj, sizeof(obj), "%s", object);
        obj[strcspn(obj, "\r\n")] = '\0';
        if (r->nrefusals == la->cap_refusals) {
                la->cap_refusals = la->cap_refusals ? la->cap_refusals * 2 : 32;
                la->refusals = sg_xrealloc(
                    la->refusals, (size_t)la->cap_refusals * sizeof(*la->refusals));
        }
        la->refusals[r->nrefusals++] = (sg_access_refusal_t){
            .time = sg_xstrdup(time), .role = sg_xstrdup(role),
            .object = sg_xstrdup(obj)};
}

static void add_audit(sg_load_access_t *la, const char *role, bool call)
{
        sg_access_report_t *r = &la->report;

        for (int i = 0; i < r->naudit; i++) {
                if (strcmp(la->audit[i].role, role) == 0) {
                        la->audit[i].statements += !call;
                        la->audit[i].calls += call;
                        return;
                }
        }
        if (r->naudit == la->cap_audit) {
                la->cap_audit = la->cap_audit ? la->cap_audit * 2 : 8;
                la->audit = sg_xrealloc(la->audit, (size_t)la->cap_audit *
                                                       sizeof(*la->audit));
        }
        la->audit[r->naudit++] = (sg_access_audit_role_t){
            .role = sg_xstrdup(role), .statements = !call, .calls = call};
}

/* Reads one csvlog file. Returns 0, or -1 (errno) when it cannot be
 * opened. */
static int read_log(sg_load_access_t *la, const char *file)
{
        sg_access_report_t *r = &la->report;
        char *buf = NULL, *f[CSV_FIELDS];
        size_t cap = 0;
        FILE *fp = fopen(file, "r");

        if (!fp)
                return -1;
        while (sg_load_csv_record(fp, &buf, &cap, f, CSV_FIELDS) >= 0) {
                char time[16];

                if (strncmp(f[CSV_MESSAGE], "AUDIT: ", 7) == 0)
                        r->pgaudit = true;
                if (strncmp(f[CSV_LOG_TIME], r->date, 10) != 0 ||
                    strcmp(f[CSV_DATABASE], la->database) != 0)
                        continue;
                r->log_lines++;
                snprintf(time, sizeof(time), "%.12s", f[CSV_LOG_TIME] + 11);
                if (strcmp(f[CSV_SEVERITY], "ERROR") == 0 &&
                    strcmp(f[CSV_SQLSTATE], "42501") == 0)
                        add_refusal(la, time, f[CSV_USER], f[CSV_MESSAGE]);
                else if (strncmp(f[CSV_MESSAGE], "AUDIT: OBJECT,", 14) == 0 &&
                         strstr(f[CSV_MESSAGE], ",TABLE,public.users_pii,"))
                        add_audit(la, f[CSV_USER], false);
                else if (strncmp(f[CSV_MESSAGE], "AUDIT: SESSION,", 15) == 0 &&
                         strstr(f[CSV_MESSAGE],
                                ",FUNCTION,EXECUTE,FUNCTION,public.pii_"))
                        add_audit(la, f[CSV_USER], true);
        }
        free(buf);
        fclose(fp);
        return 0;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_refusal(const void *a, const void *b)
{
        const sg_access_refusal_t *x = a, *y = b;
        int c = strcmp(x->time, y->time);

        if (c == 0)
                c = strcmp(x->role, y->role);
        return c ? c : strcmp(x->object, y->object);
}

static int cmp_audit(const void *a, const void *b)
{
        return strcmp(((const sg_access_audit_role_t *)a)->role,
                      ((const sg_access_audit_role_t *)b)->role);
}

void sg_load_access_log(sg_load_access_t *la, const char *path)
{
        sg_access_report_t *r = &la->report;
        char dir[4096], *names[LOG_FILES_MAX];
        int nnames = 0, ndated = 0;
        struct stat st;
        DIR *d;
        struct dirent *de;

        r->log_source = la->log_source;
        if (!path) {
                if (la->log_destination[0] &&
                    !strstr(la->log_destination, "csvlog")) {
                        snprintf(la->log_note, sizeof(la->log_note),
                                 "the server writes no CSV log (log_destination "
                                 "= %s; see scripts/pg-audit.sh)",
                                 la->log_destination);
                        r->log_note = la->log_note;
                        return;
                }
                if (la->log_dir_setting[0] == '/')
                        snprintf(dir, sizeof(dir), "%s", la->log_dir_setting);
                else if (la->log_dir_setting[0] && la->data_dir_setting[0])
                        snprintf(dir, sizeof(dir), "%s/%s",
                                 la->data_dir_setting, la->log_dir_setting);
                else {
                        snprintf(la->log_note, sizeof(la->log_note),
                                 "the server log's location is not visible to "
                                 "this role (give --server-log)");
                        r->log_note = la->log_note;
                        return;
                }
                path = dir;
        }
        snprintf(la->log_source, sizeof(la->log_source), "%s", path);
        if (stat(path, &st) < 0) {
                snprintf(la->log_note, sizeof(la->log_note),
                         "cannot read the server log %.300s: %s", path,
                         strerror(errno));
                r->log_note = la->log_note;
                return;
        }
        if (!S_ISDIR(st.st_mode)) {
                if (read_log(la, path) < 0) {
                        snprintf(la->log_note, sizeof(la->log_note),
                                 "cannot read the server log %.300s: %s", path,
                                 strerror(errno));
                        r->log_note = la->log_note;
                }
                goto sort;
        }
        if (!(d = opendir(path))) {
                snprintf(la->log_note, sizeof(la->log_note),
                         "cannot read the server log folder %.300s: %s", path,
                         strerror(errno));
                r->log_note = la->log_note;
                return;
        }
        while ((de = readdir(d)) && nnames < LOG_FILES_MAX) {
                size_t n = strlen(de->d_name);
                if (n > 4 && strcmp(de->d_name + n - 4, ".csv") == 0)
                        names[nnames++] = sg_xstrdup(de->d_name);
        }
        closedir(d);
        qsort(names, (size_t)nnames, sizeof(*names), cmp_str);
        for (int i = 0; i < nnames; i++)
                ndated += strstr(names[i], r->date) != NULL;
        if (nnames == 0) {
                snprintf(la->log_note, sizeof(la->log_note),
                         "no CSV log file (*.csv) in %.300s", path);
                r->log_note = la->log_note;
        }
        for (int i = 0; i < nnames; i++) {
                char file[8192];

                if ((ndated == 0 || strstr(names[i], r->date)) &&
                    (size_t)snprintf(file, sizeof(file), "%s/%s", path,
                                     names[i]) < sizeof(file) &&
                    read_log(la, file) < 0 && !r->log_note) {
                        snprintf(la->log_note, sizeof(la->log_note),
                                 "cannot read the server log %.300s: %s", file,
                                 strerror(errno));
                        r->log_note = la->log_note;
                }
                free(names[i]);
        }
sort:
        if (r->nrefusals > 1)
                qsort(la->refusals, (size_t)r->nrefusals, sizeof(*la->refusals),
                      cmp_refusal);
        if (r->naudit > 1)
                qsort(la->audit, (size_t)r->naudit, sizeof(*la->audit),
                      cmp_audit);
        r->refusals = la->refusals;
        r->audit = la->audit;
}
