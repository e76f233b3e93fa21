#ifndef SG_REPORT_CONSENT_H
#define SG_REPORT_CONSENT_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_buf.h"

/* The consent report of a UTC day D as plain structs, and its rendering
 * as Markdown and as a console summary. Pure: the figures are loaded
 * elsewhere (load_consent.h) from sg-consent's tables (docs/consent.md).
 * "Of D" means event time: events whose event_timestamp, and consent_log
 * rows whose changed_at, fall on D (UTC), so the report of D is the same
 * whenever it runs once the events of D are in. Counts and country codes
 * only: nothing here has a field for a person. Every string is borrowed. */

/* One country's figures of D. */
typedef struct sg_consent_country {
        const char *country; /* as sent: "DE", "US-CA" */
        bool is_eu;
        long long events;
        long long with_consent;
        long long dnt;
        long long granted;   /* consent_log rows of D: false -> true */
        long long withdrawn; /* true -> false */
} sg_consent_country_t;

typedef struct sg_consent_report {
        const char *date; /* YYYY-MM-DD */
        const char *generated_at;

        /* Events of D (consent_events). */
        long long events;
        long long users;
        long long eu_events;
        long long eu_with_consent;
        long long dnt_events;

        /* consent_log rows of D. */
        long long initial;   /* a user's first event */
        long long granted;   /* consent false -> true */
        long long withdrawn; /* consent true -> false */
        long long dnt_on;
        long long dnt_off;
        long long users_changed; /* users with a non-initial row */

        /* The state at the end of D of every user seen by then. */
        long long known_users;
        long long known_consent;
        long long known_dnt;

        int ncountries;
        const sg_consent_country_t *countries; /* most events first */
} sg_consent_report_t;

/* Appends the report as Markdown; an empty section says so in one line. */
void sg_consent_report_render(const sg_consent_report_t *r, sg_buf_t *out);

/* Appends the console summary (one line, counts only). */
void sg_consent_report_summary(const sg_consent_report_t *r, sg_buf_t *out);

#endif
