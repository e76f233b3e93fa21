#ifndef SG_REPORT_COMPLIANCE_H
#define SG_REPORT_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>

#include "chart.h"
#include "report_gdpr.h"
#include "sg_buf.h"

/* The daily compliance report as plain structs, and its rendering as
 * Markdown, as the 7-day chart of flags by severity and as a console
 * summary. Pure: the figures are loaded elsewhere (load.h). Subjects and
 * requests are identified by id only (user ids are pseudonymous UUIDs):
 * nothing here has a field for an e-mail, a name or an address, so the
 * report cannot show one. Every string is borrowed.
 *
 * "The flags of D" are the flags whose period starts (window_start, event
 * time) on the UTC day D: docs/compliance.md puts every window on event
 * time and keeps the wall clock to detected_at, which a replay or a late
 * consumer moves, so only window_start gives the same flags for D
 * whenever the report runs. */

/* Severities and risk levels, in the order of the report's columns. */
#define SG_COMPLIANCE_NSEV 3
extern const char *const sg_compliance_severities[SG_COMPLIANCE_NSEV];

/* Days in the trend chart: D-6..D. */
#define SG_COMPLIANCE_TREND_DAYS 7

/* How many subjects the top list holds. */
#define SG_COMPLIANCE_TOP 10

/* The flags of D of one rule, by severity. */
typedef struct sg_compliance_rule {
        const char *rule;
        const char *subject_type; /* user, content, country */
        long long by_sev[SG_COMPLIANCE_NSEV];
} sg_compliance_rule_t;

/* The flags of D attributed to a country (country != NULL), or a group of
 * flags no country can honestly be given (country == NULL, why says
 * which: "content", "several_countries", "event_not_stored"). */
typedef struct sg_compliance_country {
        const char *country;
        const char *why;
        long long by_sev[SG_COMPLIANCE_NSEV];
} sg_compliance_country_t;

/* A subject with flags on D. */
typedef struct sg_compliance_subject {
        const char *subject_type;
        const char *subject_id; /* a user id, content id or country code */
        long long flags;
        long long high;
        const char *rules; /* "a, b": its rules, by name */
} sg_compliance_subject_t;

/* compliance_daily of D for one country: events by risk level. */
typedef struct sg_compliance_risk {
        const char *country;
        long long by_level[SG_COMPLIANCE_NSEV];
} sg_compliance_risk_t;

/* Flags by severity of one day of the trend. */
typedef struct sg_compliance_day {
        const char *date; /* YYYY-MM-DD */
        long long by_sev[SG_COMPLIANCE_NSEV];
} sg_compliance_day_t;

/* compliance_late of D in one partition (-1: counted for a window
 * already closed). */
typedef struct sg_compliance_late {
        int partition;
        long long events;
} sg_compliance_late_t;

/* The deliveries of D's alerts to one sink, by state. */
typedef struct sg_compliance_sink {
        const char *sink;
        long long deliveries;
        long long sent;
        long long retried; /* attempts > 1, whatever the state */
        long long dead;
        long long digested;
        long long pending;
} sg_compliance_sink_t;

/* Dead deliveries with one last_error (NULL: none recorded). */
typedef struct sg_compliance_error {
        const char *error;
        long long deliveries;
} sg_compliance_error_t;

typedef struct sg_compliance_report {
        const char *date;      /* YYYY-MM-DD */
        const char *reference; /* "YYYY-MM-DD 00:00:00": the end of D */
        const char *generated_at;
        const char *chart_file; /* the SVG's file name (relative) */

        /* 1, 2: the flags of D. */
        long long subjects; /* distinct (subject_type, subject_id) */
        int nrules;
        const sg_compliance_rule_t *rules; /* by rule name */
        int ncountries;
        const sg_compliance_country_t *countries; /* attributed first */
        int ntop;
        const sg_compliance_subject_t *top; /* most flags first */

        /* 3: compliance_daily of D. */
        int nrisk;
        const sg_compliance_risk_t *risk; /* most high-risk events first */

        /* 4: D-6..D, oldest first (SG_COMPLIANCE_TREND_DAYS of them). */
        int ndays;
        const sg_compliance_day_t *days;

        /* 5: compliance_late of D. */
        int nlate;
        const sg_compliance_late_t *late; /* by partition */

        /* 6: alerts created on D and their deliveries. */
        long long alerts;
        long long unrouted; /* no delivery routed yet */
        int nsinks;
        const sg_compliance_sink_t *sinks; /* by sink name */
        int nerrors;
        const sg_compliance_error_t *errors; /* of dead deliveries */
        const double *latencies_s; /* sent_at - cause_at of sent ones */
        size_t nlatencies;

        /* 7: requests open at the reference time (any request date). */
        long long open;
        long long overdue; /* open longer than SG_GDPR_REPORT_SLA_DAYS */
        int nopen;
        const sg_gdpr_pending_t *open_requests; /* oldest first, capped */
} sg_compliance_report_t;

/* Fills c (initialised here) with the trend of r->days: one stacked bar
 * per day, low at the bottom, each day's total above its bar (0 for a
 * day without flags). title is borrowed. Returns 0, or -1 when r has
 * more days than a chart holds. */
int sg_compliance_report_chart(const sg_compliance_report_t *r,
                               const char *title, sg_chart_t *c)
    __attribute__((warn_unused_result));

/* Appends the report as Markdown; an empty section says so in one line. */
void sg_compliance_report_render(const sg_compliance_report_t *r,
                                 sg_buf_t *out);

/* Appends the console summary (a few lines, ids and counts only). */
void sg_compliance_report_summary(const sg_compliance_report_t *r,
                                  sg_buf_t *out);

#endif
