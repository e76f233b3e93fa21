#ifndef SG_UUID_H
#define SG_UUID_H

/* UUIDs as the event contract and the database write them: canonical
 * 8-4-4-4-12 hex (any version), stored lower-cased. The one check every
 * module uses. */

#include <stdbool.h>
#include <stddef.h>

#define SG_UUID_LEN 36

/* True if s[0..len) is a canonical UUID (hex digits of either case);
 * then out (may be NULL) receives it lower-cased and NUL-terminated;
 * otherwise out is left alone. */
bool sg_uuid_canon(const char *s, size_t len, char out[SG_UUID_LEN + 1]);

/* True if the NUL-terminated s is a canonical UUID. NULL-safe. */
bool sg_uuid_valid(const char *s);

/* A name-based UUID (version 8, RFC 9562): the first 128 bits of the
 * SHA-256 of text[0..len), lower-case canonical. The same name always
 * gives the same id: flags' and alerts' ids, so that a cause replayed
 * after a crash names the same row. */
void sg_uuid_from_name(const char *text, size_t len,
                       char out[SG_UUID_LEN + 1]);

#endif
