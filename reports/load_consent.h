#ifndef SG_LOAD_CONSENT_H
#define SG_LOAD_CONSENT_H

/* Loads the consent report's figures (report_consent.h) from sg-consent's
 * tables, with load.h's rules: the caller runs it in one read-only
 * snapshot (SG_PG_TX_SNAPSHOT), only tables sg_analytics may read, every
 * ORDER BY total. The report points into the PGresults kept here: it
 * lives until sg_load_consent_fini. */

#include <libpq-fe.h>

#include "report_consent.h"
#include "sg_pg.h"

typedef struct sg_load_consent {
        PGresult *res[2];
        sg_consent_country_t *countries;
        sg_consent_report_t report; /* generated_at: caller */
} sg_load_consent_t;

void sg_load_consent_init(sg_load_consent_t *lc);
void sg_load_consent_fini(sg_load_consent_t *lc);

/* Loads the consent report of date (YYYY-MM-DD) into lc->report (lc is
 * reset first). Returns 0, or -1 with err. */
int sg_load_consent(PGconn *conn, const char *date, sg_load_consent_t *lc,
                    sg_pg_err_t *err) SG_MUST_CHECK;

#endif
