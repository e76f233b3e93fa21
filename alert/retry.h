#ifndef SG_RETRY_H
#define SG_RETRY_H

/* sg-alert's retry policy (docs/alerts.md), pure: what an attempt's
 * outcome means (sent, try again, dead), the reason code recorded for it,
 * the capped exponential backoff with jitter, and Retry-After. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_defs.h"

#define SG_RETRY_REASON_MAX 32
/* Retry-After beyond this is taken as this (the row's max_age still
 * decides when it is dead). */
#define SG_RETRY_AFTER_MAX_MS (6LL * 3600 * 1000)

typedef enum sg_retry_verdict {
        SG_RETRY_SENT = 0, /* 2xx */
        SG_RETRY_AGAIN,    /* timeout, connection, TLS, 408, 429, 5xx */
        SG_RETRY_DEAD,     /* any other status: dead at once */
} sg_retry_verdict_t;

/* The verdict on one attempt: curl_code is the transfer's CURLcode,
 * http_status its response's status (0: none). reason receives the code
 * recorded as last_error ("timeout", "connect", "http_503", ...; "" when
 * sent). */
sg_retry_verdict_t sg_retry_classify(int curl_code, long http_status,
                                     char reason[SG_RETRY_REASON_MAX]);

/* The wait before attempt attempts + 1, after attempts (>= 1) failed:
 * min_ms * 2^(attempts - 1), capped at max_ms, times a jitter factor
 * 0.8 + 0.4 * r (r uniform in [0, 1)), capped at max_ms again. The result
 * is within [0.8 * base, min(1.2 * base, max_ms)]. */
long long sg_retry_backoff_ms(int attempts, long long min_ms, long long max_ms,
                              double r);

/* Parses a Retry-After value: delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT", and the obsolete forms RFC 9110
 * makes recipients accept), relative to now_s (seconds since the epoch;
 * a date in the past is 0). Capped at SG_RETRY_AFTER_MAX_MS. Returns 0
 * with *delay_ms, or -1 for anything else. */
int sg_retry_after_parse(const char *value, long long now_s,
                         long long *delay_ms) SG_MUST_CHECK;

/* The delay before the next attempt: the larger of the backoff and
 * Retry-After (retry_after_ms < 0: none given). */
long long sg_retry_delay_ms(long long backoff_ms, long long retry_after_ms);

#endif
