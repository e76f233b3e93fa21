/* sg-api's tokens (api_tokens) and the failed-authentication limiter. */

#include "auth.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "sg_buf.h"
#include "sg_hash.h"
#include "sg_pg.h"
#include "sg_time.h"

#define TOKEN_PREFIX "sgt_"
#define TOKEN_RANDOM 32

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* URL-safe base64 without padding; out holds 4 * ceil(n / 3) + 1. */
static void b64url_encode(const uint8_t *in, size_t n, char *out)
{
        size_t i = 0;
        char *o = out;

        for (; i + 3 <= n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
                             in[i + 2];
                *o++ = b64url[v >> 18 & 63];
                *o++ = b64url[v >> 12 & 63];
                *o++ = b64url[v >> 6 & 63];
                *o++ = b64url[v & 63];
        }
        if (n - i == 1) {
                uint32_t v = (uint32_t)in[i] << 16;
                *o++ = b64url[v >> 18 & 63];
                *o++ = b64url[v >> 12 & 63];
        } else if (n - i == 2) {
                uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
                *o++ = b64url[v >> 18 & 63];
                *o++ = b64url[v >> 12 & 63];
                *o++ = b64url[v >> 6 & 63];
        }
        *o = '\0';
}

void sg_api_token_digest(const char *token, uint8_t digest[32])
{
        SHA256((const unsigned char *)token, strlen(token), digest);
}

int sg_api_token_new(char *out, uint8_t digest[32])
{
        uint8_t rnd[TOKEN_RANDOM];

        if (RAND_bytes(rnd, sizeof(rnd)) != 1)
                return -1;
        memcpy(out, TOKEN_PREFIX, 4);
        b64url_encode(rnd, sizeof(rnd), out + 4);
        OPENSSL_cleanse(rnd, sizeof(rnd));
        sg_api_token_digest(out, digest);
        return 0;
}

bool sg_api_token_shape(const char *s)
{
        if (!s || strncmp(s, TOKEN_PREFIX, 4) != 0 ||
            strlen(s) != SG_API_TOKEN_LEN)
                return false;
        for (const char *p = s + 4; *p; p++)
                if (!strchr(b64url, *p))
                        return false;
        return true;
}

bool sg_api_token_name_ok(const char *name)
{
        size_t n = name ? strlen(name) : 0;

        if (n < 1 || n > SG_API_TOKEN_NAME_MAX)
                return false;
        return strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                            "wxyz0123456789_.-") == n;
}

/* ------------------------------------------------------------ the table */

typedef struct token {
        long long id;
        uint8_t digest[32];
        char name[SG_API_TOKEN_NAME_MAX + 1];
        sg_api_role_t role;
        _Atomic long long used_us; /* last use not yet written; 0: none */
} token_t;

struct sg_api_tokens {
        pthread_rwlock_t lock;
        token_t *v;
        int n;
        long long loaded_ms; /* monotonic; 0: never */
        int cache_ms;
};

sg_api_tokens_t *sg_api_tokens_new(int cache_ms)
{
        sg_api_tokens_t *t = sg_xcalloc(1, sizeof(*t));

        pthread_rwlock_init(&t->lock, NULL);
        t->cache_ms = cache_ms;
        return t;
}

void sg_api_tokens_destroy(sg_api_tokens_t *t)
{
        if (!t)
                return;
        if (t->v)
                OPENSSL_cleanse(t->v, (size_t)t->n * sizeof(*t->v));
        free(t->v);
        pthread_rwlock_destroy(&t->lock);
        free(t);
}

sg_api_auth_t sg_api_tokens_check(sg_api_tokens_t *t, const char *token,
                                  char *name, sg_api_role_t *role)
{
        uint8_t d[32];
        sg_api_auth_t a = SG_API_AUTH_UNKNOWN;
        int found = -1;

        pthread_rwlock_rdlock(&t->lock);
        if (t->loaded_ms == 0 ||
            sg_time_mono_ms() - t->loaded_ms > t->cache_ms) {
                pthread_rwlock_unlock(&t->lock);
                return SG_API_AUTH_UNAVAILABLE;
        }
        if (!sg_api_token_shape(token)) {
                pthread_rwlock_unlock(&t->lock);
                return SG_API_AUTH_UNKNOWN;
        }
        sg_api_token_digest(token, d);
        /* Every entry is compared, each in constant time: the time taken
         * says nothing about which digest, or how much of one, matched. */
        for (int i = 0; i < t->n; i++)
                if (CRYPTO_memcmp(d, t->v[i].digest, sizeof(d)) == 0)
                        found = i;
        if (found >= 0) {
                token_t *k = &t->v[found];
                memcpy(name, k->name, sizeof(k->name));
                *role = k->role;
                atomic_store(&k->used_us, sg_time_wall_us());
                a = SG_API_AUTH_OK;
        }
        pthread_rwlock_unlock(&t->lock);
        return a;
}

static int hexval(char c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        return -1;
}

int sg_api_tokens_load(sg_api_tokens_t *t, PGconn *conn, sg_pg_err_t *err)
{
        PGresult *res = sg_pg_query(
            conn,
            "SELECT id, name, role, encode(token_sha256, 'hex') "
            "FROM api_tokens WHERE revoked_at IS NULL",
            0, NULL, 0, "reading api_tokens", err);
        token_t *v;
        int n, k = 0;

        if (!res)
                return -1;
        n = PQntuples(res);
        v = sg_xcalloc((size_t)(n > 0 ? n : 1), sizeof(*v));
        for (int i = 0; i < n; i++) {
                const char *hex = PQgetvalue(res, i, 3);
                token_t *e = &v[k];
                bool ok = strlen(hex) == 64;

                for (int j = 0; ok && j < 32; j++) {
                        int hi = hexval(hex[2 * j]), lo = hexval(hex[2 * j + 1]);
                        ok = hi >= 0 && lo >= 0;
                        e->digest[j] = (uint8_t)(hi << 4 | lo);
                }
                e->role = sg_api_role_parse(PQgetvalue(res, i, 2));
                if (!ok || e->role == SG_API_ROLE_NONE)
                        continue;
                e->id = atoll(PQgetvalue(res, i, 0));
                snprintf(e->name, sizeof(e->name), "%s", PQgetvalue(res, i, 1));
                k++;
        }
        PQclear(res);

        pthread_rwlock_wrlock(&t->lock);
        /* Uses not yet written carry over to the new table. */
        for (int i = 0; i < k; i++)
                for (int j = 0; j < t->n; j++)
                        if (t->v[j].id == v[i].id)
                                atomic_store(&v[i].used_us,
                                             atomic_load(&t->v[j].used_us));
        if (t->v)
                OPENSSL_cleanse(t->v, (size_t)t->n * sizeof(*t->v));
        free(t->v);
        t->v = v;
        t->n = k;
        t->loaded_ms = sg_time_mono_ms();
        pthread_rwlock_unlock(&t->lock);
        return 0;
}

int sg_api_tokens_store_use(sg_api_tokens_t *t, PGconn *conn, sg_pg_err_t *err)
{
        sg_buf_t ids, ats;
        int n = 0, rc = 0;
        long long *taken = NULL, *taken_ids = NULL;

        sg_buf_init(&ids);
        sg_buf_init(&ats);
        sg_buf_array_begin(&ids);
        sg_buf_array_begin(&ats);
        pthread_rwlock_rdlock(&t->lock);
        if (t->n > 0) {
                taken = sg_xcalloc((size_t)t->n, sizeof(*taken));
                taken_ids = sg_xcalloc((size_t)t->n, sizeof(*taken_ids));
        }
        for (int i = 0; i < t->n; i++) {
                long long us = atomic_exchange(&t->v[i].used_us, 0);
                char ts[40];

                if (us == 0)
                        continue;
                sg_time_format_pg(us, ts, sizeof(ts));
                sg_buf_array_int(&ids, t->v[i].id);
                sg_buf_array_str(&ats, ts);
                taken[n] = us;
                taken_ids[n] = t->v[i].id;
                n++;
        }
        pthread_rwlock_unlock(&t->lock);
        sg_buf_array_end(&ids);
        sg_buf_array_end(&ats);
        if (n > 0) {
                const char *params[2] = {ids.data, ats.data};
                rc = sg_pg_command(
                    conn,
                    "UPDATE api_tokens t SET last_used_at = u.at "
                    "FROM unnest($1::bigint[], $2::timestamptz[]) AS u(id, at) "
                    "WHERE t.id = u.id",
                    2, params, "recording token use", NULL, err);
                if (rc < 0) {
                        /* Not written: put them back unless a newer use
                         * came meanwhile. */
                        pthread_rwlock_rdlock(&t->lock);
                        for (int i = 0; i < n; i++)
                                for (int j = 0; j < t->n; j++) {
                                        long long zero = 0;
                                        if (t->v[j].id == taken_ids[i])
                                                atomic_compare_exchange_strong(
                                                    &t->v[j].used_us, &zero,
                                                    taken[i]);
                                }
                        pthread_rwlock_unlock(&t->lock);
                }
        }
        free(taken);
        free(taken_ids);
        sg_buf_fini(&ids);
        sg_buf_fini(&ats);
        return rc;
}

/* ------------------------------------------------------------ limiter */

#define LIMITER_SLOTS 4096
#define LIMITER_WINDOW_MS 60000

typedef struct slot {
        uint8_t addr[16];
        uint8_t len;
        long long window_ms; /* start of its window; 0: free */
        int fails;
} slot_t;

struct sg_api_limiter {
        pthread_mutex_t lock;
        int limit;
        slot_t *slots;
};

sg_api_limiter_t *sg_api_limiter_new(int limit)
{
        sg_api_limiter_t *l = sg_xcalloc(1, sizeof(*l));

        pthread_mutex_init(&l->lock, NULL);
        l->limit = limit;
        l->slots = sg_xcalloc(LIMITER_SLOTS, sizeof(*l->slots));
        return l;
}

void sg_api_limiter_destroy(sg_api_limiter_t *l)
{
        if (!l)
                return;
        pthread_mutex_destroy(&l->lock);
        free(l->slots);
        free(l);
}

#define LIMITER_PROBE 8

/* Where addr lives: a hash picks the first of LIMITER_PROBE slots. */
static size_t limiter_home(const void *addr, size_t len)
{
        return (size_t)(sg_fnv1a(addr, len, SG_FNV_OFFSET) % LIMITER_SLOTS);
}

/* The slot of addr, or NULL. Lock held. Expired windows are freed on the
 * way. */
static slot_t *limiter_find(sg_api_limiter_t *l, const void *addr, size_t len,
                            long long now_ms)
{
        size_t home = limiter_home(addr, len);

        for (int i = 0; i < LIMITER_PROBE; i++) {
                slot_t *s = &l->slots[(home + (size_t)i) % LIMITER_SLOTS];
                if (s->window_ms == 0)
                        continue;
                if (now_ms - s->window_ms >= LIMITER_WINDOW_MS) {
                        memset(s, 0, sizeof(*s)); /* forget it */
                        continue;
                }
                if (s->len == len && memcmp(s->addr, addr, len) == 0)
                        return s;
        }
        return NULL;
}

int sg_api_limiter_blocked(sg_api_limiter_t *l, const void *addr, size_t len,
                           long long now_ms)
{
        slot_t *s;
        int wait = 0;

        if (len > 16)
                len = 16;
        pthread_mutex_lock(&l->lock);
        s = limiter_find(l, addr, len, now_ms);
        if (s && s->fails >= l->limit) {
                wait = (int)((s->window_ms + LIMITER_WINDOW_MS - now_ms + 999) /
                             1000);
                if (wait < 1)
                        wait = 1;
        }
        pthread_mutex_unlock(&l->lock);
        return wait;
}

void sg_api_limiter_fail(sg_api_limiter_t *l, const void *addr, size_t len,
                         long long now_ms)
{
        slot_t *s;

        if (len > 16)
                len = 16;
        pthread_mutex_lock(&l->lock);
        s = limiter_find(l, addr, len, now_ms);
        if (!s) {
                /* A free slot of its probe sequence, else the oldest. */
                size_t home = limiter_home(addr, len);
                slot_t *oldest = &l->slots[home];
                for (int i = 0; i < LIMITER_PROBE; i++) {
                        slot_t *c = &l->slots[(home + (size_t)i) % LIMITER_SLOTS];
                        if (c->window_ms == 0) {
                                oldest = c;
                                break;
                        }
                        if (c->window_ms < oldest->window_ms)
                                oldest = c;
                }
                s = oldest;
                memset(s, 0, sizeof(*s));
                memcpy(s->addr, addr, len);
                s->len = (uint8_t)len;
                s->window_ms = now_ms > 0 ? now_ms : 1;
        }
        s->fails++;
        pthread_mutex_unlock(&l->lock);
}
