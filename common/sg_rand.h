#ifndef SG_RAND_H
#define SG_RAND_H

/* A small seeded PRNG (xoshiro256**, seeded with splitmix64): the same
 * seed gives the same sequence on every machine. Not for secrets. */

#include <stdint.h>

typedef struct sg_rand {
        uint64_t s[4];
} sg_rand_t;

/* Seeds from (seed, stream): distinct streams give independent
 * sequences for the same seed. */
void sg_rand_init(sg_rand_t *r, uint64_t seed, uint64_t stream);

uint64_t sg_rand_next(sg_rand_t *r);

/* Uniform integer in [0, n); n > 0. */
uint64_t sg_rand_below(sg_rand_t *r, uint64_t n);

/* Uniform double in [0, 1). */
double sg_rand_double(sg_rand_t *r);

/* Writes a random version-4 UUID in canonical lower-case form. */
void sg_rand_uuid(sg_rand_t *r, char out[37]);

#endif
