#include "sg_rand.h"


static uint64_t sg_rand_splitmix(uint64_t *x)
{
        uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static uint64_t sg_rand_rotl(uint64_t x, int k)
{
        return (x << k) | (x >> (64 - k));
}

void sg_rand_init(sg_rand_t *r, uint64_t seed, uint64_t stream)
{
        uint64_t x = seed ^ sg_rand_splitmix(&stream);

        for (int i = 0; i < 4; i++)
                r->s[i] = sg_rand_splitmix(&x);
}

uint64_t sg_rand_next(sg_rand_t *r)
{
        uint64_t *s = r->s;
        uint64_t result = sg_rand_rotl(s[1] * 5, 7) * 9;
        uint64_t t = s[1] << 17;

        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = sg_rand_rotl(s[3], 45);
        return result;
}

uint64_t sg_rand_below(sg_rand_t *r, uint64_t n)
{
        /* Rejection sampling: no modulo bias. */
        uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t v;

        do
                v = sg_rand_next(r);
        while (v >= limit);
        return v % n;
}

double sg_rand_double(sg_rand_t *r)
{
        return (double)(sg_rand_next(r) >> 11) * 0x1.0p-53;
}

void sg_rand_uuid(sg_rand_t *r, char out[37])
{
        uint64_t hi = sg_rand_next(r), lo = sg_rand_next(r);

        static const char hex[] = "0123456789abcdef";
        int o = 0;

        hi = (hi & ~0xf000ULL) | 0x4000ULL;                     /* version 4 */
        lo = (lo & ~(0xc000ULL << 48)) | (0x8000ULL << 48);     /* variant */
        /* hi's 16 hex digits then lo's, dashes after 8, 12, 16 and 20
         * digits: what "%08x-%04x-%04x-%04x-%012llx" printed, without
         * snprintf (it was 6% of sg-generate's main thread). */
        for (int i = 0; i < 32; i++) {
                uint64_t w = i < 16 ? hi : lo;
                if (i == 8 || i == 12 || i == 16 || i == 20)
                        out[o++] = '-';
                out[o++] = hex[(w >> (60 - 4 * (i % 16))) & 0xf];
        }
        out[o] = '\0';
}
