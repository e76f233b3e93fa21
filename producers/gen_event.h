#ifndef SG_GEN_EVENT_H
#define SG_GEN_EVENT_H

/* The pure event builder of sg-generate: message i of a seed, valid v1
 * JSON or a message that breaks the contract in exactly one chosen way.
 * No allocation, no I/O, no clock: the caller passes "now". */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sg_event.h"

/* A buffer of this size holds any message the builder writes (the
 * too_large ones are at most 9000 bytes). */
#define SG_GEN_EVENT_MAX 9216

typedef struct sg_gen_user {
        char user_id[37]; /* canonical UUID */
        char country[8];  /* "DE", "US-CA", ... */
} sg_gen_user_t;

typedef struct sg_gen_conf {
        uint64_t seed;
        double invalid_ratio;  /* 0..1 */
        long long ts_start_us; /* window of event_timestamp, UTC us, */
        long long ts_span_us;  /* used when span > 0; else "now" */
} sg_gen_conf_t;

/* True if message index is one of the invalid ones for ratio: exactly
 * floor(N * ratio) of messages 0..N-1 are, evenly spread. When true and
 * k is not NULL, *k is its rank among the invalid ones (0, 1, 2, ...);
 * the reason it breaks is sg_gen_invalid_reason(*k). */
bool sg_gen_is_invalid(double ratio, uint64_t index, uint64_t *k);

/* The reason the k-th invalid message breaks: the contract's table order,
 * too_large first, cycling every 10. */
sg_reason_t sg_gen_invalid_reason(uint64_t k);

/* The event_id of message index (what its JSON carries, when it carries
 * a well-formed one). */
void sg_gen_event_id(uint64_t seed, uint64_t index, char out[37]);

/* The currency a user of country (its alpha-2 part) pays in: "USD",
 * "GBP", ...; "EUR" for the rest. */
const char *sg_gen_currency_for(const char *country);

/* Builds message index into buf (size >= SG_GEN_EVENT_MAX) and its key
 * (the user's id) into key. Everything but a default timestamp depends
 * only on (conf, users, index); now_us is used as event_timestamp when
 * conf->ts_span_us is 0. *intended is SG_REASON_OK for a valid event,
 * else the one reason the message breaks. users must hold nusers > 0
 * entries. Returns the message length (not NUL-terminated; a NUL follows
 * when room is left), or 0 if size is too small. */
size_t sg_gen_event_build(const sg_gen_conf_t *conf, const sg_gen_user_t *users,
                          size_t nusers, uint64_t index, long long now_us,
                          char *buf, size_t size, char key[37],
                          sg_reason_t *intended);

#endif
