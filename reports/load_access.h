#ifndef SG_LOAD_ACCESS_H
#define SG_LOAD_ACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "sg_pg.h"

#include "report_access.h"

/* The figures of sg-report access-audit: pii_access_log and the HTTP
 * API's refused requests (api_access_log) from PostgreSQL
 * (sg_load_access, in the report's one read-only snapshot; the analytics
 * role may read that table), then the server's CSV log of the date
 * (sg_load_access_log, files only). The structs point into the context:
 * they live until sg_load_access_fini. */

typedef struct sg_load_access {
        PGresult *res[8];
        int nres;
        sg_access_by_purpose_t *by;
        sg_access_day_t *days;
        sg_access_user_t *users;
        sg_access_api_refusal_t *api;
        char database[128];
        char log_dir_setting[1024];  /* "" when not visible */
        char data_dir_setting[1024]; /* "" when not visible */
        char log_destination[128];   /* "" when not visible */
        char log_source[4096];
        char log_note[512];
        sg_access_refusal_t *refusals;
        int cap_refusals;
        sg_access_audit_role_t *audit;
        int cap_audit;
        sg_access_report_t report; /* generated_at: caller */
} sg_load_access_t;

void sg_load_access_init(sg_load_access_t *la);
void sg_load_access_fini(sg_load_access_t *la);

/* Reads pii_access_log for date (YYYY-MM-DD, UTC) and where the server
 * log is. Returns 0, or -1 with err. */
int sg_load_access(PGconn *conn, const char *date, sg_load_access_t *la,
                   sg_pg_err_t *err) SG_MUST_CHECK;

/* Reads the server's CSV log: path is a file or a folder (its *.csv files,
 * those whose name holds the date if any does), or NULL for the server's
 * own log_directory when this role may see it. Keeps the records of the
 * date in this database: SQLSTATE 42501 errors (refused attempts),
 * pgaudit's OBJECT lines on users_pii and FUNCTION lines of pii_*. Never
 * fails: what cannot be read
 * becomes report.log_note, one line. */
void sg_load_access_log(sg_load_access_t *la, const char *path);

/* One CSV record (RFC 4180, quoted fields may hold newlines) from fp into
 * fields (at most nfields; pointers into buf, which it owns and grows).
 * Returns the number of fields, or -1 at the end of the file. Pure but
 * for the FILE. */
int sg_load_csv_record(FILE *fp, char **buf, size_t *cap, char **fields,
                       int nfields);

#endif
