#ifndef SG_API_INGEST_H
#define SG_API_INGEST_H

/* POST /events, the pure part: a body (one JSON event, or NDJSON: one per
 * line) split, validated with the consumers' validator (sg_event_parse)
 * and masked before anything leaves the process: ip_address becomes the
 * prefix the validator truncated it to (/24, /48) and metadata the
 * validator's redacted copy (e-mail-like strings "[redacted]"); everything
 * else is kept as sent. No Kafka, no I/O. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_event.h"

typedef enum sg_api_body_kind {
        SG_API_BODY_JSON,   /* application/json: the whole body is one event */
        SG_API_BODY_NDJSON, /* application/x-ndjson: one event per line */
} sg_api_body_kind_t;

typedef struct sg_api_ingest_item {
        char key[37];       /* user_id */
        char event_id[37];
        const char *value;  /* into the body, or into owned */
        size_t len;
        char *owned;        /* a masked copy (freed by fini), or NULL */
} sg_api_ingest_item_t;

typedef struct sg_api_ingest_error {
        int line;           /* 1-based */
        sg_reason_t reason;
} sg_api_ingest_error_t;

typedef struct sg_api_ingest {
        sg_api_ingest_item_t *items;
        int n;
        sg_api_ingest_error_t *errors;
        int nerrors;
        int lines;          /* non-empty lines seen */
} sg_api_ingest_t;

typedef enum sg_api_ingest_rc {
        SG_API_INGEST_OK = 0,   /* items ready, no error */
        SG_API_INGEST_INVALID,  /* errors holds every invalid line */
        SG_API_INGEST_EMPTY,    /* no event at all */
        SG_API_INGEST_TOO_MANY, /* over max_events lines */
        SG_API_INGEST_INTERNAL, /* a valid event could not be masked */
} sg_api_ingest_rc_t;

/* Splits, validates and masks body (len bytes; it must outlive the
 * items, which may point into it). NDJSON: lines end with \n (a \r before
 * it is dropped), blank lines are skipped but counted in line numbers.
 * Returns what happened; in->items hold the events only on OK. Every
 * invalid line is in in->errors (all or nothing: on INVALID no item is to
 * be produced). Aborts on out of memory. */
sg_api_ingest_rc_t sg_api_ingest_prepare(const char *body, size_t len,
                                         sg_api_body_kind_t kind,
                                         int max_events, sg_api_ingest_t *in);

/* Frees what prepare allocated. NULL-safe, idempotent. */
void sg_api_ingest_fini(sg_api_ingest_t *in);

/* The masked form of one valid event (ev from sg_event_parse of value):
 * value itself when nothing needs masking (*owned NULL), else a compact
 * rewrite with ip_address and metadata replaced (*owned: the caller
 * frees it). Returns 0, or -1 if value cannot be rewritten. */
int sg_api_ingest_mask(const char *value, size_t len, const sg_event_t *ev,
                       char **owned, size_t *owned_len);

#endif
