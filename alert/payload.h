#ifndef SG_PAYLOAD_H
#define SG_PAYLOAD_H

/* What sg-alert sends (docs/alerts.md): the JSON body of an alert,
 * compact with sorted keys and nothing that changes between attempts (no
 * attempt number, no send time), so a duplicate is an exact repeat; its
 * one-line text for Slack-compatible endpoints; and the signature
 * header's value. Pure. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_defs.h"

#define SG_PAYLOAD_SIG_LEN 64 /* hex digits of an HMAC-SHA256 */
#define SG_PAYLOAD_TEXT_MAX 1024
#define SG_PAYLOAD_FIELD_MAX 1024 /* summary, ids: longer is cut */

/* An alert's columns, as text (NULL: SQL NULL where allowed). */
typedef struct sg_payload_alert {
        const char *alert_id;
        const char *source;
        const char *kind;
        const char *severity;
        const char *subject_type; /* NULL: null */
        const char *subject_id;   /* NULL: null */
        const char *counts;       /* a JSON object; NULL: {} */
        const char *summary;
        const char *created_at;   /* RFC 3339 */
        const char *cause_at;     /* RFC 3339 */
} sg_payload_alert_t;

/* The body: alert_id, cause_at, counts, created_at, kind, severity,
 * source, subject_id, subject_type, summary, text; e-mail-like strings in
 * summary and subject_id redacted. Returns a string the caller frees with
 * free(), or NULL with errstr (counts is not a JSON object). */
char *sg_payload_body(const sg_payload_alert_t *a, char *errstr,
                      size_t errstr_size) SG_MUST_CHECK;

/* "[HIGH] compliance eu_no_consent — <summary>" on one line: control
 * bytes become spaces, '&', '<' and '>' are escaped as Slack wants,
 * e-mail-like strings redacted, at most size - 1 bytes (cut on a UTF-8
 * boundary). */
void sg_payload_text(const sg_payload_alert_t *a, char *out, size_t size);

/* The X-StreamGuard-Signature value's hex part: HMAC-SHA256(secret,
 * "<ts>.<body>"), lower-case hex. Returns 0, or -1 (libcrypto failed). */
int sg_payload_sign(const char *secret, size_t secret_len, long long ts,
                    const char *body, size_t body_len,
                    char out[SG_PAYLOAD_SIG_LEN + 1]) SG_MUST_CHECK;

/* A digest of n throttled alerts (kinds[i], severities[i]): counts
 * {"alerts": n, "by_kind": {...}, "by_severity": {...}} (compact, sorted
 * keys) into *counts (the caller frees it), the summary line "37 more
 * alerts in the last minute (high 30, medium 7), by kind: eu_no_consent
 * 30, ..." (kinds by count, then name; cut to size), and the highest
 * severity's rank (1..3). n > 0. */
void sg_payload_digest(const char *const *kinds, const char *const *severities,
                       int n, char **counts, char *summary, size_t size,
                       int *severity);

#endif
