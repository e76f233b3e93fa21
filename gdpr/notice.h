#ifndef SG_NOTICE_H
#define SG_NOTICE_H

/* Erasure notices, the pure part: the message format published on
 * privacy_erasures, lists of notices and of request ids, and the in-flight
 * tracker that tells when every notice of a request has been delivered.
 * No Kafka, no PostgreSQL: unit-tested on their own. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_buf.h"

#define SG_NOTICE_UUID_LEN 36
#define SG_NOTICE_TS_MAX 40

/* One notice: user user_id was erased by request request_id at erased_at
 * (RFC 3339, UTC). No personal data. */
typedef struct sg_notice {
        long long request_id;
        char user_id[SG_NOTICE_UUID_LEN + 1];
        char erased_at[SG_NOTICE_TS_MAX];
} sg_notice_t;

typedef struct sg_notice_list {
        sg_notice_t *v;
        int n;
        int cap;
} sg_notice_list_t;

typedef struct sg_notice_ids {
        long long *v;
        int n;
        int cap;
} sg_notice_ids_t;

/* True if s is a UUID in its canonical text form (8-4-4-4-12 hex digits,
 * either case). */
bool sg_notice_uuid_valid(const char *s);

/* True if s looks like an RFC 3339 UTC timestamp as PostgreSQL's to_char
 * writes it for us: YYYY-MM-DDTHH:MM:SS[.fraction]Z. */
bool sg_notice_ts_valid(const char *s);

/* Writes the JSON message of a notice into buf:
 *   {"user_id":"<uuid>","request_id":<n>,"erased_at":"<RFC 3339>"}
 * Returns its length, or -1 if a field is invalid (nothing in it ever
 * needs escaping, so anything else is refused) or buf is too small. */
int sg_notice_format(const sg_notice_t *nt, char *buf, size_t size)
    __attribute__((warn_unused_result));

/* Fills nt from text fields (as PostgreSQL returns them). Returns 0, or -1
 * if user_id or erased_at is invalid (nt is then unusable). */
int sg_notice_set(sg_notice_t *nt, long long request_id, const char *user_id,
                  const char *erased_at) __attribute__((warn_unused_result));

/* Parses a PostgreSQL uuid[] in text form ("{a,b}", or "" / "{}" for
 * none) and appends one notice per element to list, all with request_id
 * and erased_at. Returns the number appended, or -1 on malformed input
 * (list is then left as it was). */
int sg_notice_list_add_users(sg_notice_list_t *list, long long request_id,
                             const char *uuid_array, const char *erased_at)
    __attribute__((warn_unused_result));

/* Appends a copy of nt. Aborts on out-of-memory, as the rest of the
 * process would. */
void sg_notice_list_add(sg_notice_list_t *list, const sg_notice_t *nt);
void sg_notice_list_reset(sg_notice_list_t *list);
void sg_notice_list_fini(sg_notice_list_t *list);

/* Appends an id (aborts on out-of-memory). */
void sg_notice_ids_add(sg_notice_ids_t *ids, long long id);
void sg_notice_ids_reset(sg_notice_ids_t *ids);
void sg_notice_ids_fini(sg_notice_ids_t *ids);

/* Appends the ids as a PostgreSQL array literal "{1,2,3}" to b, for a
 * $n::bigint[] parameter. */
void sg_notice_ids_literal(const sg_notice_ids_t *ids, sg_buf_t *b);

/* The in-flight tracker: for each request whose notices are queued, how
 * many are outstanding and whether one failed. */
typedef struct sg_notice_track_entry {
        long long request_id;
        int outstanding;
        bool failed;
} sg_notice_track_entry_t;

typedef struct sg_notice_track {
        sg_notice_track_entry_t *v;
        int n;
        int cap;
} sg_notice_track_t;

/* Records that `messages` notices of request_id are queued (adds to an
 * entry already there). Aborts on out-of-memory. */
void sg_notice_track_add(sg_notice_track_t *t, long long request_id,
                         int messages);

/* True if request_id has notices outstanding. */
bool sg_notice_track_has(const sg_notice_track_t *t, long long request_id);

/* Records the delivery report of one notice of request_id. Returns 1 when
 * it was the request's last outstanding notice (the entry is removed and
 * *all_ok tells whether every one of them was delivered), 0 when more are
 * outstanding, -1 if request_id is not tracked. */
int sg_notice_track_done(sg_notice_track_t *t, long long request_id, bool ok,
                         bool *all_ok);

/* Requests with notices outstanding. */
int sg_notice_track_count(const sg_notice_track_t *t);

void sg_notice_track_fini(sg_notice_track_t *t);

#endif
