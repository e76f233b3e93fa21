#ifndef SG_HASH_H
#define SG_HASH_H

/* FNV-1a, 64 bits: the hash of the in-memory tables (rules' state,
 * aggregates, the erasure cache, the API's rate limiter). Not for
 * anything an adversary chooses and could collide on purpose beyond a
 * longer probe, and never persisted: only placement depends on it. */

#include <stddef.h>
#include <stdint.h>

#define SG_FNV_OFFSET 1469598103934665603ULL

/* Folds len bytes of data into h (start with SG_FNV_OFFSET). */
static inline uint64_t sg_fnv1a(const void *data, size_t len, uint64_t h)
{
        const unsigned char *p = data;

        for (size_t i = 0; i < len; i++)
                h = (h ^ p[i]) * 1099511628211ULL;
        return h;
}

#endif
