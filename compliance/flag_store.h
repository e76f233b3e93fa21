#ifndef SG_FLAG_STORE_H
#define SG_FLAG_STORE_H

/* Writing flags (compliance/rules.h) to PostgreSQL, shared by sg-compliance
 * (compliance_flags, with the outbox) and sg-batch-compliance
 * (compliance_flags_batch): a flag new to the table is inserted; a known
 * one is extended (event_count adds up, last_event_id moves on, observed
 * keeps its maximum with the threshold and evidence of the first write
 * that reached it, severity only rises). In the caller's transaction. */

#include <stddef.h>

#include <libpq-fe.h>

#include "rules.h"
#include "sg_defs.h"
#include "sg_pg_err.h"

typedef enum sg_flag_table {
        SG_FLAGS_STREAM = 0, /* compliance_flags */
        SG_FLAGS_BATCH,      /* compliance_flags_batch */
} sg_flag_table_t;

#define SG_FLAG_CHANNEL "compliance_flag" /* the outbox channel */

typedef struct sg_flag_counts {
        long long raised;    /* new to the table */
        long long escalated; /* known, severity rose */
        long long extended;  /* known, otherwise */
} sg_flag_counts_t;

/* Stores the flags (topic: where their first events are). With outbox
 * set, raised and escalated flags are also inserted into the outbox
 * (channel SG_FLAG_CHANNEL, key = the subject id, payload = the flag as
 * JSON; several per row: sg_outbox_add_many), and those of severity alert_sev or above (an sg_severity_t; 0:
 * none) into alerts (common/sg_alert.h: source compliance, kind the rule,
 * one alert per flag and change). Adds to counts. Returns 0, or -1 with
 * err. */
int sg_flag_store(PGconn *conn, sg_flag_table_t table, const char *topic,
                  const sg_flag_t *flags, size_t n, bool outbox, int alert_sev,
                  sg_flag_counts_t *counts, sg_pg_err_t *err) SG_MUST_CHECK;

/* Writes the flags as they are (no lookup): with outbox set, those whose
 * change is SG_FLAG_RAISED or SG_FLAG_ESCALATED also go to the outbox
 * (and to alerts, from alert_sev on, as above);
 * sg-compliance knows what each entry is (rules.h, split mode). Returns 0,
 * or -1 with err. */
int sg_flag_write(PGconn *conn, sg_flag_table_t table, const char *topic,
                  const sg_flag_t *flags, size_t n, bool outbox, int alert_sev,
                  sg_pg_err_t *err) SG_MUST_CHECK;

/* The JSON message of a flag (published on compliance_flags): its fields
 * and change ("raised" or "escalated"). The caller frees the result. */
char *sg_flag_json(const sg_flag_t *f, const char *change);

#endif
