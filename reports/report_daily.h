#ifndef SG_REPORT_DAILY_H
#define SG_REPORT_DAILY_H

#include <stdbool.h>

#include "chart.h"
#include "sg_buf.h"

/* The daily business report as plain structs, and its rendering as
 * Markdown and as a short console summary. Pure: the figures are loaded
 * elsewhere (load.h), so unit tests need no database. Every string is
 * borrowed; amounts are NUMERIC text as PostgreSQL prints it ("1234.50"),
 * so that no cent is lost to a double. */

typedef struct sg_daily_type_count {
        const char *event_type;
        long long events;
} sg_daily_type_count_t;

/* Purchases in one currency. */
typedef struct sg_daily_currency {
        const char *currency;
        long long purchases;
        const char *revenue; /* sum of amounts */
        const char *aov;     /* revenue / purchases, 2 decimals */
} sg_daily_currency_t;

/* A country's purchases; revenue sums amounts over its currencies. */
typedef struct sg_daily_country {
        const char *country;
        long long purchases;
        const char *revenue;
        const char *currencies; /* "EUR" or "EUR, USD" */
} sg_daily_country_t;

/* One event type in metrics_batch_daily vs metrics_streaming_daily. A
 * side without the row has in_<side> false and its values unused. */
typedef struct sg_daily_compare {
        const char *event_type;
        bool in_batch;
        bool in_streaming;
        long long batch_events;
        long long streaming_events;
        const char *batch_amount;
        const char *streaming_amount;
        long long delta_events; /* streaming - batch, missing = 0 */
        const char *delta_amount;
        bool differs;
} sg_daily_compare_t;

/* The latest sg-batch-metrics run whose dates cover the report date. */
typedef struct sg_daily_batch_run {
        bool found;
        long long id;
        const char *date_from;
        const char *date_to;
        const char *finished_at; /* "YYYY-MM-DD HH:MM:SS" UTC */
} sg_daily_batch_run_t;

typedef enum sg_daily_verdict {
        SG_DAILY_MATCH = 0,
        SG_DAILY_DIFFERS,
        SG_DAILY_NOT_BATCHED, /* no batch run covers the date */
} sg_daily_verdict_t;

typedef struct sg_daily_report {
        const char *date;         /* YYYY-MM-DD */
        const char *generated_at; /* the one line that changes */
        const char *chart_file;   /* the SVG's file name (relative) */

        long long events;       /* 0: the report says so, no KPIs */
        long long active_users; /* distinct user_id */
        long long purchases;
        const char *revenue;    /* sum of purchase amounts */
        const char *aov;        /* NULL when no purchases */
        long long page_viewers; /* distinct users with a page_view */
        long long purchasers;   /* distinct users with a purchase */
        int ntypes;
        const sg_daily_type_count_t *types; /* events desc, type */
        int ncurrencies;
        const sg_daily_currency_t *currencies;
        int ncountries;
        const sg_daily_country_t *countries; /* top by revenue */

        long long plays;
        long long playback_errors;
        long long watch_seconds;   /* over 'stop' events */
        const char *worst_content; /* most errors; NULL when none */
        long long worst_content_errors;

        sg_daily_batch_run_t batch_run;
        int ncompare;
        const sg_daily_compare_t *compare; /* by event type */

        const sg_chart_t *chart; /* events per hour by type */
} sg_daily_report_t;

/* The batch-vs-streaming verdict; *ndiff (may be NULL) gets the number of
 * differing event types. */
sg_daily_verdict_t sg_daily_report_verdict(const sg_daily_report_t *r,
                                           int *ndiff);

/* "match", "differs" or "batch not run yet". */
const char *sg_daily_report_verdict_name(sg_daily_verdict_t v);

/* Appends the report as Markdown. With r->events == 0 it says that no
 * events are stored for the date instead of showing zeros. */
void sg_daily_report_render(const sg_daily_report_t *r, sg_buf_t *out);

/* Appends the console summary: a few lines of the headline figures. */
void sg_daily_report_summary(const sg_daily_report_t *r, sg_buf_t *out);

#endif
