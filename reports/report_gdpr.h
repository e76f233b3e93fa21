#ifndef SG_REPORT_GDPR_H
#define SG_REPORT_GDPR_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_buf.h"

/* The GDPR audit report as plain structs, and its rendering as Markdown
 * and as a console summary. Pure. Requests are identified by id only:
 * nothing here has a field for an e-mail, a name or an address, so the
 * report cannot show one. Every string is borrowed.
 *
 * Figures are "as of the reference time", the end of the report date
 * (date + 1 day, 00:00 UTC), not the time the report runs: a request is
 * pending at that time when it was made before it and not processed
 * before it. So the same database always gives the same report. */

/* The statuses of privacy_requests, in the order the report lists them. */
#define SG_GDPR_REPORT_NSTATUS 6
extern const char *const sg_gdpr_report_statuses[SG_GDPR_REPORT_NSTATUS];

/* Requests pending longer than this breach the legal deadline (GDPR
 * art. 12(3): one month). */
#define SG_GDPR_REPORT_SLA_DAYS 30

typedef struct sg_gdpr_request {
        long long id;
        const char *requested_at; /* "YYYY-MM-DD HH:MM:SS" UTC */
        const char *status;       /* at the reference time */
        bool processed;           /* before the reference time */
        double latency_s;         /* processed_at - requested_at */
} sg_gdpr_request_t;

/* A request pending at the reference time. */
typedef struct sg_gdpr_pending {
        long long id;
        const char *requested_at;
        double age_s; /* reference time - requested_at */
} sg_gdpr_pending_t;

typedef struct sg_gdpr_report {
        const char *date;      /* YYYY-MM-DD */
        const char *reference; /* "YYYY-MM-DD 00:00:00" UTC */
        const char *generated_at;

        /* Requests made on the date (requested_at on that UTC day). */
        long long requests; /* 0: the report says so */
        long long by_status[SG_GDPR_REPORT_NSTATUS];
        const double *latencies_s; /* of those processed, any order */
        size_t nlatencies;
        long long anonymised_users; /* distinct users erased for them */
        long long unaudited;        /* processed, no gdpr_audit_log row */
        int nrecent;
        const sg_gdpr_request_t *recent; /* most recent first */

        /* The backlog at the reference time, whatever the request date. */
        long long pending;
        bool has_oldest;
        sg_gdpr_pending_t oldest;
        long long sla_breaches; /* pending > SLA_DAYS */
        int nbreaches;
        const sg_gdpr_pending_t *breaches; /* oldest first, capped */
} sg_gdpr_report_t;

/* Appends the report as Markdown. With r->requests == 0 the section of
 * the day says that no request was made instead of showing zeros; the
 * backlog is shown either way. */
void sg_gdpr_report_render(const sg_gdpr_report_t *r, sg_buf_t *out);

/* Appends the console summary (a few lines, ids and counts only). */
void sg_gdpr_report_summary(const sg_gdpr_report_t *r, sg_buf_t *out);

#endif
