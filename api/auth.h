#ifndef SG_API_AUTH_H
#define SG_API_AUTH_H

/* sg-api's bearer tokens and the failed-authentication limiter.
 *
 * A token is "sgt_" and 32 random bytes in URL-safe base64 without
 * padding (47 characters). Only its SHA-256 is stored (api_tokens). The
 * server keeps the tokens in force in memory, reloaded from PostgreSQL
 * every SG_API_TOKEN_RELOAD_MS; a token is checked by hashing it and
 * comparing the digest with every one in memory in constant time
 * (CRYPTO_memcmp). A revoked token is refused within the reload period;
 * when PostgreSQL cannot be read, the table in memory is trusted for
 * cache_ms after its last successful load and then no token is accepted
 * (503), so a revocation is never ignored for longer than cache_ms. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "routes.h"
#include "sg_defs.h"
#include "sg_pg_err.h"

#define SG_API_TOKEN_LEN 47          /* "sgt_" + 43 */
#define SG_API_TOKEN_NAME_MAX 64
#define SG_API_TOKEN_RELOAD_MS 500

/* A new token into out (>= SG_API_TOKEN_LEN + 1 bytes) and its SHA-256.
 * Returns 0, or -1 if the system's random source failed. */
int sg_api_token_new(char *out, uint8_t digest[32]) SG_MUST_CHECK;

/* True if s has a token's shape (prefix, length, alphabet). */
bool sg_api_token_shape(const char *s);

/* SHA-256 of the token's text. */
void sg_api_token_digest(const char *token, uint8_t digest[32]);

/* True if name is a valid token name: [A-Za-z0-9_.-]{1,64}. */
bool sg_api_token_name_ok(const char *name);

typedef struct sg_api_tokens sg_api_tokens_t;

sg_api_tokens_t *sg_api_tokens_new(int cache_ms);
void sg_api_tokens_destroy(sg_api_tokens_t *t);

typedef enum sg_api_auth {
        SG_API_AUTH_OK,
        SG_API_AUTH_UNKNOWN,     /* no such token in force: 401 */
        SG_API_AUTH_UNAVAILABLE, /* the table is too old to trust: 503 */
} sg_api_auth_t;

/* Checks a token (any text: the shape is checked first). On OK, name
 * (SG_API_TOKEN_NAME_MAX + 1 bytes) and *role are set and its last use
 * noted. Thread-safe. */
sg_api_auth_t sg_api_tokens_check(sg_api_tokens_t *t, const char *token,
                                  char *name, sg_api_role_t *role);

/* Reloads the tokens in force from api_tokens. Returns 0, or -1 with err
 * (the table in memory is kept). */
int sg_api_tokens_load(sg_api_tokens_t *t, PGconn *conn,
                       sg_pg_err_t *err) SG_MUST_CHECK;

/* Writes the last use of the tokens used since the previous call
 * (UPDATE api_tokens SET last_used_at). Returns 0, or -1 with err (they
 * are written next time). */
int sg_api_tokens_store_use(sg_api_tokens_t *t, PGconn *conn,
                            sg_pg_err_t *err) SG_MUST_CHECK;

/* The failed-authentication limiter: at most limit failures per client
 * address in a minute (a fixed window per address), then
 * sg_api_limiter_blocked answers the seconds until the window ends. The
 * addresses live in memory only (a bounded table; the oldest entry makes
 * room). Thread-safe. */
typedef struct sg_api_limiter sg_api_limiter_t;

sg_api_limiter_t *sg_api_limiter_new(int limit);
void sg_api_limiter_destroy(sg_api_limiter_t *l);

/* addr: the client address as bytes (len <= 16). Returns 0 when allowed,
 * else the seconds to wait (>= 1). now_ms: a monotonic clock. */
int sg_api_limiter_blocked(sg_api_limiter_t *l, const void *addr, size_t len,
                           long long now_ms);

/* Counts one failure of addr. */
void sg_api_limiter_fail(sg_api_limiter_t *l, const void *addr, size_t len,
                         long long now_ms);

#endif
