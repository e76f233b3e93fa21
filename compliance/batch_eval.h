#ifndef SG_BATCH_EVAL_H
#define SG_BATCH_EVAL_H

/* sg-batch-compliance's pure part (docs/compliance.md): an events_raw row
 * back into the sg_event_t that sg_event_parse filled when the event was
 * consumed, the closing of the cross-partition windows once the whole log
 * is read (what sg-compliance's closer does, in one pass), and the
 * selection of the flags a run keeps (--only, the dates). No PostgreSQL:
 * rows arrive as the text libpq returns. */

#include <stdbool.h>
#include <stddef.h>

#include "rules.h"
#include "sg_defs.h"
#include "sg_event.h"

/* The columns of an events_raw row, in the order sg-batch-compliance
 * selects them (text as libpq returns it; NULL: SQL NULL). */
typedef enum sg_batch_col {
        SG_BCOL_EVENT_ID = 0, /* event_id::text */
        SG_BCOL_USER_ID,      /* user_id::text */
        SG_BCOL_TYPE,         /* event_type */
        SG_BCOL_TS_US,        /* event_timestamp as microseconds (bigint) */
        SG_BCOL_COUNTRY,
        SG_BCOL_IS_EU,        /* "t" / "f" */
        SG_BCOL_AMOUNT,       /* numeric(12,2) */
        SG_BCOL_CURRENCY,
        SG_BCOL_HAS_CONSENT,
        SG_BCOL_DO_NOT_TRACK,
        SG_BCOL_DEVICE_ID,
        SG_BCOL_CONTENT_ID,
        SG_BCOL_WATCH_SECONDS,
        SG_BCOL_ERROR_CODE,
        SG_BCOL_IP,           /* host(ip_truncated) */
        SG_BCOL__CNT
} sg_batch_col_t;

/* An amount as PostgreSQL prints numeric ("500.00", "0", "12.5") in
 * cents, exactly. Returns 0, or -1 if s is not a non-negative decimal
 * with at most two decimals (or too large). */
int sg_batch_eval_amount(const char *s, long long *cents) SG_MUST_CHECK;

/* events_raw.ip_truncated as PostgreSQL prints it back into the string
 * the validator wrote (sg_mask_ip's canonical text: "203.0.113.0",
 * "2001:db8:1::"): the rules compare prefixes as strings, so the form
 * matters. NULL or "" is "" (no address). A "/bits" suffix is dropped
 * (the address is the prefix already). Returns 0, or -1 (out is then "")
 * if s is not an IP address. */
int sg_batch_eval_ip(const char *s, char *out, size_t size) SG_MUST_CHECK;

/* Fills ev (zeroed first; metadata stays NULL: the rules do not read it)
 * from one row's columns as sg_event_parse would have: ids lower-case,
 * time in microseconds, country as sent, currency, flags, the optional
 * strings "" when NULL, watch_seconds -1 when NULL, the IP as above.
 * Returns 0, or -1 with the column that cannot be an event's in errstr
 * (the column's name only, never its value). */
int sg_batch_eval_row(const char *const *col, sg_event_t *ev, char *errstr,
                      size_t errstr_size) SG_MUST_CHECK;

/* Parses --only's "RULE[,RULE...]" into a mask of (1u << rule). Returns
 * 0, or -1 with "unknown rule 'x'" or "empty rule name" in errstr. */
int sg_batch_eval_only(const char *list, unsigned *mask, char *errstr,
                       size_t errstr_size) SG_MUST_CHECK;

/* Every rule: the mask when --only is not given. */
#define SG_BATCH_ALL_RULES ((1u << SG_RULE__CNT) - 1u)

/* True if the run keeps f: its rule is in mask and its window_start is in
 * [from_us, to_us) (LLONG_MIN / LLONG_MAX: no bound). */
bool sg_batch_eval_keep(const sg_flag_t *f, unsigned mask, long long from_us,
                        long long to_us);

/* Closes the cross-partition windows of r once every event has been
 * evaluated (r never reset: its windows hold every partition's counts), as
 * sg-compliance's closer does when no partition has anything left to
 * read: the watermark is the highest event time seen in any partition
 * minus the lateness; the windows that end below it close in (rule,
 * subject, start) order, content windows through sg_rules_judge_content,
 * country windows through sg_rules_country_advance on baselines that
 * start empty, then each baseline folds its trailing empty windows.
 * *watermark receives it (LLONG_MIN when r saw no event: nothing
 * closes). Returns the flags raised (the caller frees them; NULL when
 * none) and their count in *n. */
sg_flag_t *sg_batch_eval_close(const sg_rules_t *r, long long *watermark,
                               size_t *n);

#endif
