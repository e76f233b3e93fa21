#ifndef SG_LOAD_H
#define SG_LOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "sg_pg.h"

#include "chart.h"
#include "report_compliance.h"
#include "report_daily.h"
#include "report_gdpr.h"

/* Reads a report's figures from PostgreSQL into the plain structs the
 * renderers take. The caller runs a load in one REPEATABLE READ, READ ONLY
 * transaction (sg_pg_run with SG_PG_TX_SNAPSHOT: one snapshot for every
 * query). Reads only columns the sg_analytics role may
 * read: never users_pii, never privacy_requests.email. Every ORDER BY is
 * total and compares text with COLLATE "C", so the same rows always come
 * back in the same order. The structs point into the PGresults kept in
 * the context: they live until its _fini. */

#define SG_LOAD_MAX_RES 16

typedef struct sg_load_daily {
        PGresult *res[SG_LOAD_MAX_RES];
        int nres;
        sg_daily_type_count_t *types;
        sg_daily_currency_t *currencies;
        sg_daily_country_t *countries;
        sg_daily_compare_t *compare;
        char chart_title[96];
        sg_chart_t chart;
        sg_daily_report_t report; /* chart_file, generated_at: caller */
} sg_load_daily_t;

typedef struct sg_load_gdpr {
        PGresult *res[SG_LOAD_MAX_RES];
        int nres;
        double *latencies;
        sg_gdpr_request_t *recent;
        sg_gdpr_pending_t *breaches;
        char reference[24];
        sg_gdpr_report_t report; /* generated_at: caller */
} sg_load_gdpr_t;

typedef struct sg_load_compliance {
        PGresult *res[SG_LOAD_MAX_RES];
        int nres;
        sg_compliance_rule_t *rules;
        sg_compliance_country_t *countries;
        sg_compliance_subject_t *top;
        sg_compliance_risk_t *risk;
        sg_compliance_day_t *days;
        sg_compliance_late_t *late;
        sg_compliance_sink_t *sinks;
        sg_compliance_error_t *errors;
        double *latencies;
        sg_gdpr_pending_t *open;
        sg_compliance_report_t report; /* chart_file, generated_at: caller */
} sg_load_compliance_t;

/* A result cell as a number, a boolean ("t") or a string (NULL for SQL
 * NULL; owned by res); sg_load_calloc: n zeroed elements (one when n is 0,
 * so that a list is never NULL). The loaders of every report use them. */
long long sg_load_ll(const PGresult *res, int row, int col);
double sg_load_double(const PGresult *res, int row, int col);
bool sg_load_bool(const PGresult *res, int row, int col);
const char *sg_load_str(const PGresult *res, int row, int col);
void *sg_load_calloc(int n, size_t size);

void sg_load_daily_init(sg_load_daily_t *ld);
void sg_load_daily_fini(sg_load_daily_t *ld);
void sg_load_gdpr_init(sg_load_gdpr_t *lg);
void sg_load_gdpr_fini(sg_load_gdpr_t *lg);
void sg_load_compliance_init(sg_load_compliance_t *lc);
void sg_load_compliance_fini(sg_load_compliance_t *lc);

/* Loads the daily report of date (YYYY-MM-DD) into ld->report (ld is
 * reset first). Returns 0, or -1 with err. */
int sg_load_daily(PGconn *conn, const char *date, sg_load_daily_t *ld,
                  sg_pg_err_t *err) SG_MUST_CHECK;

/* Loads the GDPR audit of date into lg->report; same contract. */
int sg_load_gdpr(PGconn *conn, const char *date, sg_load_gdpr_t *lg,
                 sg_pg_err_t *err) SG_MUST_CHECK;

/* Loads the compliance report of date into lc->report; same contract. */
int sg_load_compliance(PGconn *conn, const char *date,
                       sg_load_compliance_t *lc,
                       sg_pg_err_t *err) SG_MUST_CHECK;

#endif
