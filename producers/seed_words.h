#ifndef SG_SEED_WORDS_H
#define SG_SEED_WORDS_H

/* Synthetic users without a faker library: our own word lists (names,
 * streets, cities and postal-code formats per country) and a pure
 * generator. User i of a seed is the same on every run and every machine,
 * whatever the number of users asked for. */

#include <stddef.h>
#include <stdint.h>

#include "sg_rand.h"

typedef struct sg_seed_user {
        char user_id[37];    /* canonical lower-case UUID (v4) */
        char email[128];     /* lower-case ASCII, unique per index */
        char first_name[64]; /* UTF-8, may hold accents */
        char last_name[64];
        char street_address[128];
        char city[64];
        char postal_code[16];
        char country[8];      /* "DE", "US-CA", ... */
        char signup_date[11]; /* "YYYY-MM-DD", 2023-01-01..2025-12-31 */
} sg_seed_user_t;

/* Fills *u with user number index of seed. Pure: depends on (seed, index)
 * only. */
void sg_seed_user_make(uint64_t seed, uint64_t index, sg_seed_user_t *u);

/* Number of countries the generator uses, and the i-th code
 * (0 <= i < count); NULL when i is out of range. */
size_t sg_seed_country_count(void);
const char *sg_seed_country_code(size_t i);

/* Writes an e-mail-like string made from the word lists
 * ("anna.schmidt@example.net"), lower-case ASCII, drawing from r.
 * Always NUL-terminates (size > 0). Returns the length written. */
size_t sg_seed_words_email(sg_rand_t *r, char *out, size_t size);

/* Transliterates a UTF-8 name to the lower-case ASCII of an e-mail's
 * local part: letters and digits only ("Müller" -> "mueller",
 * "O'Sullivan" -> "osullivan", "Łukasz" -> "lukasz"); characters with no
 * mapping are dropped. Always NUL-terminates (size > 0), truncating if
 * needed. Returns the length written. */
size_t sg_seed_words_ascii(const char *in, char *out, size_t size);

#endif
