#ifndef SG_REPORT_ACCESS_H
#define SG_REPORT_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_buf.h"

/* The access-audit report (sg-report access-audit) as plain structs, and
 * its rendering as Markdown and as a console summary. Pure. Who read
 * personal data (pii_access_log: database role, purpose, user ids), and
 * every refused attempt of the date read from the server's CSV log
 * (SQLSTATE 42501 in this database), with pgaudit's lines counted per
 * role: direct statements on users_pii (object audit) and calls of the
 * pii_* access functions (function audit); and the requests the HTTP API
 * (sg-api) refused with 401 or 403. Users appear by id only: nothing here has a
 * field for an e-mail, a name or an address. Every string is borrowed. */

/* Days in the trend table, ending on the report date. */
#define SG_ACCESS_REPORT_DAYS 7
/* Users listed at most (most accessed first). */
#define SG_ACCESS_REPORT_TOP 10

typedef struct sg_access_by_purpose {
        const char *role;
        const char *purpose;
        long long accesses; /* rows of pii_access_log */
        long long users;    /* distinct user ids (none: lookups that found
                               nobody) */
} sg_access_by_purpose_t;

typedef struct sg_access_day {
        const char *day; /* YYYY-MM-DD */
        long long accesses;
        long long roles;
} sg_access_day_t;

typedef struct sg_access_user {
        const char *user_id; /* "" for lookups that found nobody */
        long long accesses;
        const char *purposes; /* comma-separated, sorted */
} sg_access_user_t;

typedef struct sg_access_refusal {
        const char *time;   /* "HH:MM:SS.mmm" UTC */
        const char *role;   /* the session's user */
        const char *object; /* e.g. "table users_pii" */
} sg_access_refusal_t;

/* A request sg-api refused (401: no or unknown token; 403: a role that may
 * not use the route), from api_access_log: no address, no raw path. */
typedef struct sg_access_api_refusal {
        const char *time;   /* "HH:MM:SS.mmm" UTC */
        const char *token;  /* the token's name, "" when none was known */
        const char *role;   /* "" when none */
        const char *method;
        const char *route;  /* the route template, "" when none matched */
        int status;         /* 401 or 403 */
} sg_access_api_refusal_t;

/* API refusals listed at most (all are counted). */
#define SG_ACCESS_REPORT_API_MAX 200

typedef struct sg_access_audit_role {
        const char *role;
        long long statements; /* pgaudit OBJECT lines naming users_pii */
        long long calls;      /* pgaudit FUNCTION lines of pii_* functions */
} sg_access_audit_role_t;

typedef struct sg_access_report {
        const char *date;
        const char *database;
        const char *generated_at;

        long long accesses; /* on the date; 0: the section says so */
        int nby;
        const sg_access_by_purpose_t *by; /* role, then purpose */
        int ndays;
        const sg_access_day_t *days; /* oldest first, every day */
        int nusers;
        const sg_access_user_t *users; /* most accessed first, capped */
        long long distinct_users;

        /* The server log: NULL log_note when it was read. */
        const char *log_note;   /* one line: why it is not covered */
        const char *log_source; /* what was read (a path) */
        long long log_lines;    /* records of the date in this database */
        int nrefusals;
        const sg_access_refusal_t *refusals; /* in time order */
        bool pgaudit;                        /* AUDIT lines seen at all */
        int naudit;
        const sg_access_audit_role_t *audit; /* by role */

        /* The HTTP API (api_access_log), whatever the server log says */
        long long api_refused;               /* 401 and 403 of the date */
        int napi;
        const sg_access_api_refusal_t *api;  /* in time order, capped */
} sg_access_report_t;

/* Appends the report as Markdown. */
void sg_access_report_render(const sg_access_report_t *r, sg_buf_t *out);

/* Appends the console summary (counts only). */
void sg_access_report_summary(const sg_access_report_t *r, sg_buf_t *out);

#endif
