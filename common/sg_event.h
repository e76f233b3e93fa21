#ifndef SG_EVENT_H
#define SG_EVENT_H

/* The user_events v1 contract (docs/event-contract.md: every field, rule,
 * reason code and the order of the checks): a pure validator and decoder.
 * Same bytes, same verdict: no wall clock, no locale, no I/O. */

#include <stdbool.h>
#include <stddef.h>

#define SG_EVENT_MAX_VALUE 8192     /* bytes; larger is too_large */
#define SG_EVENT_MAX_METADATA 2048  /* serialised bytes */
#define SG_EVENT_MAX_DEPTH 4        /* metadata object itself is depth 1 */

typedef enum sg_reason {
        SG_REASON_OK = 0,
        SG_REASON_TOO_LARGE,
        SG_REASON_INVALID_UTF8,
        SG_REASON_MALFORMED_JSON,
        SG_REASON_NOT_OBJECT,
        SG_REASON_DUPLICATE_KEY,
        SG_REASON_MISSING_FIELD,
        SG_REASON_WRONG_TYPE,
        SG_REASON_INVALID_VALUE,
        SG_REASON_UNKNOWN_FIELD,
        SG_REASON_INCONSISTENT,
        SG_REASON__CNT
} sg_reason_t;

typedef enum sg_event_type {
        SG_EV_PAGE_VIEW = 0,
        SG_EV_ADD_TO_CART,
        SG_EV_PURCHASE,
        SG_EV_PLAY,
        SG_EV_PAUSE,
        SG_EV_SEEK,
        SG_EV_STOP,
        SG_EV_PLAYBACK_ERROR,
        SG_EV__CNT
} sg_event_type_t;

typedef struct sg_event {
        char event_id[37];      /* canonical, lower-case */
        char user_id[37];       /* canonical, lower-case */
        sg_event_type_t type;
        long long ts_us;        /* event_timestamp, UTC microseconds */
        char country[8];        /* as sent: "DE" or "US-CA" */
        bool is_eu;             /* derived from the alpha-2 part */
        long long amount_cents; /* exact; 0 when absent */
        char currency[4];       /* "EUR" when absent */
        bool has_consent;       /* absent = false */
        bool do_not_track;      /* absent = false */
        char device_id[65];     /* "" = absent */
        char content_id[65];    /* "" = absent */
        int watch_seconds;      /* -1 = absent */
        char error_code[33];    /* "" = absent */
        char ip[46];            /* truncated (/24, /48); "" = absent */
        char *metadata;         /* compact JSON, e-mails redacted; NULL =
                                   absent. Owned: freed by sg_event_fini. */
} sg_event_t;

/* Name of a reason code as in the contract ("too_large", ...); "ok" for
 * SG_REASON_OK. */
const char *sg_reason_name(sg_reason_t r);

/* Name of an event type ("page_view", ...). */
const char *sg_event_type_name(sg_event_type_t t);

/* True for play, pause, seek, stop, playback_error. */
bool sg_event_type_is_playback(sg_event_type_t t);

/* Validates one message value of len bytes (not NUL-terminated) against
 * the v1 contract. On success fills *ev (the caller then owns it and calls
 * sg_event_fini) and returns SG_REASON_OK. On failure returns the reason
 * code, leaves *ev empty (sg_event_fini is still safe) and writes a short
 * human message to msg: it names the field and the rule, never the value. */
sg_reason_t sg_event_parse(const char *buf, size_t len, sg_event_t *ev,
                           char *msg, size_t msgsize);

/* The fast path (jsmn, no tree) is on by default; it only ever accepts,
 * and gives up to jansson on anything else. Tests and benchmarks turn it
 * off to compare the two: the results must be identical. */
void sg_event_set_fast_path(bool on);

/* How many messages the fast path has accepted in this process. */
unsigned long long sg_event_fast_path_accepted(void);

/* Frees what sg_event_parse allocated. NULL-safe, idempotent. */
void sg_event_fini(sg_event_t *ev);

/* Parses an event_timestamp (the contract's form: RFC 3339 with an
 * offset, years 2000-2099; sg_time_parse_rfc3339) into UTC microseconds.
 * Returns 0, or -1 if it breaks the rule. */
int sg_event_parse_timestamp(const char *s, long long *ts_us);

#endif
