#include "notice.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool sg_notice_is_hex(char c)
{
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
               (c >= 'A' && c <= 'F');
}

static bool sg_notice_is_digit(char c)
{
        return c >= '0' && c <= '9';
}

bool sg_notice_uuid_valid(const char *s)
{
        if (!s || strlen(s) != SG_NOTICE_UUID_LEN)
                return false;
        for (int i = 0; i < SG_NOTICE_UUID_LEN; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : !sg_notice_is_hex(s[i]))
                        return false;
        }
        return true;
}

bool sg_notice_ts_valid(const char *s)
{
        /* "YYYY-MM-DDTHH:MM:SS": digits except these positions. */
        static const char fixed[] = "....-..-..T..:..:..";
        size_t len, i;

        if (!s)
                return false;
        len = strlen(s);
        if (len < 20 || len >= SG_NOTICE_TS_MAX || s[len - 1] != 'Z')
                return false;
        for (i = 0; i < 19; i++) {
                if (fixed[i] == '.' ? !sg_notice_is_digit(s[i])
                                    : s[i] != fixed[i])
                        return false;
        }
        if (i == len - 1)
                return true;
        /* A fraction: ".d+" before the Z. */
        if (s[i] != '.' || i + 1 >= len - 1)
                return false;
        for (i++; i < len - 1; i++)
                if (!sg_notice_is_digit(s[i]))
                        return false;
        return true;
}

int sg_notice_set(sg_notice_t *nt, long long request_id, const char *user_id,
                  const char *erased_at)
{
        if (!sg_notice_uuid_valid(user_id) || !sg_notice_ts_valid(erased_at))
                return -1;
        nt->request_id = request_id;
        memcpy(nt->user_id, user_id, SG_NOTICE_UUID_LEN + 1);
        snprintf(nt->erased_at, sizeof(nt->erased_at), "%s", erased_at);
        return 0;
}

int sg_notice_format(const sg_notice_t *nt, char *buf, size_t size)
{
        int n;

        if (!sg_notice_uuid_valid(nt->user_id) ||
            !sg_notice_ts_valid(nt->erased_at) || nt->request_id < 0)
                return -1;
        n = snprintf(buf, size,
                     "{\"user_id\":\"%s\",\"request_id\":%lld,"
                     "\"erased_at\":\"%s\"}",
                     nt->user_id, nt->request_id, nt->erased_at);
        if (n < 0 || (size_t)n >= size)
                return -1;
        return n;
}

void sg_notice_list_add(sg_notice_list_t *list, const sg_notice_t *nt)
{
        if (list->n == list->cap) {
                int cap = list->cap ? list->cap * 2 : 64;
                sg_notice_t *v = realloc(list->v, (size_t)cap * sizeof(*v));
                if (!v)
                        abort();
                list->v = v;
                list->cap = cap;
        }
        list->v[list->n++] = *nt;
}

int sg_notice_list_add_users(sg_notice_list_t *list, long long request_id,
                             const char *uuid_array, const char *erased_at)
{
        int before = list->n;
        sg_notice_t nt;
        const char *p;
        char id[SG_NOTICE_UUID_LEN + 1];

        if (!uuid_array || !*uuid_array || strcmp(uuid_array, "{}") == 0)
                return 0;
        if (uuid_array[0] != '{')
                return -1;
        p = uuid_array + 1;
        for (;;) {
                size_t len = strcspn(p, ",}");
                if (len != SG_NOTICE_UUID_LEN)
                        goto bad;
                memcpy(id, p, len);
                id[len] = '\0';
                if (sg_notice_set(&nt, request_id, id, erased_at) < 0)
                        goto bad;
                sg_notice_list_add(list, &nt);
                p += len;
                if (*p == '}') {
                        if (p[1] != '\0')
                                goto bad;
                        break;
                }
                if (*p != ',')
                        goto bad; /* unterminated */
                p++;
        }
        return list->n - before;
bad:
        list->n = before;
        return -1;
}

void sg_notice_list_reset(sg_notice_list_t *list)
{
        list->n = 0;
}

void sg_notice_list_fini(sg_notice_list_t *list)
{
        free(list->v);
        memset(list, 0, sizeof(*list));
}

void sg_notice_ids_add(sg_notice_ids_t *ids, long long id)
{
        if (ids->n == ids->cap) {
                int cap = ids->cap ? ids->cap * 2 : 64;
                long long *v = realloc(ids->v, (size_t)cap * sizeof(*v));
                if (!v)
                        abort();
                ids->v = v;
                ids->cap = cap;
        }
        ids->v[ids->n++] = id;
}

void sg_notice_ids_reset(sg_notice_ids_t *ids)
{
        ids->n = 0;
}

void sg_notice_ids_fini(sg_notice_ids_t *ids)
{
        free(ids->v);
        memset(ids, 0, sizeof(*ids));
}

void sg_notice_ids_literal(const sg_notice_ids_t *ids, sg_buf_t *b)
{
        sg_buf_putc(b, '{');
        for (int i = 0; i < ids->n; i++)
                sg_buf_printf(b, i ? ",%lld" : "%lld", ids->v[i]);
        sg_buf_putc(b, '}');
}

/* Index of request_id's entry, or -1. Delivery reports come back roughly
 * in the order notices were queued, so the oldest entries are looked at
 * first. */
static int sg_notice_track_find(const sg_notice_track_t *t,
                                long long request_id)
{
        for (int i = 0; i < t->n; i++)
                if (t->v[i].request_id == request_id)
                        return i;
        return -1;
}

void sg_notice_track_add(sg_notice_track_t *t, long long request_id,
                         int messages)
{
        int i = sg_notice_track_find(t, request_id);

        if (i >= 0) {
                t->v[i].outstanding += messages;
                return;
        }
        if (t->n == t->cap) {
                int cap = t->cap ? t->cap * 2 : 64;
                sg_notice_track_entry_t *v =
                    realloc(t->v, (size_t)cap * sizeof(*v));
                if (!v)
                        abort();
                t->v = v;
                t->cap = cap;
        }
        t->v[t->n].request_id = request_id;
        t->v[t->n].outstanding = messages;
        t->v[t->n].failed = false;
        t->n++;
}

bool sg_notice_track_has(const sg_notice_track_t *t, long long request_id)
{
        return sg_notice_track_find(t, request_id) >= 0;
}

int sg_notice_track_done(sg_notice_track_t *t, long long request_id, bool ok,
                         bool *all_ok)
{
        int i = sg_notice_track_find(t, request_id);

        if (i < 0)
                return -1;
        if (!ok)
                t->v[i].failed = true;
        if (--t->v[i].outstanding > 0)
                return 0;
        *all_ok = !t->v[i].failed;
        /* Keep the order (oldest first) for the next lookups. */
        memmove(&t->v[i], &t->v[i + 1],
                (size_t)(t->n - i - 1) * sizeof(t->v[0]));
        t->n--;
        return 1;
}

int sg_notice_track_count(const sg_notice_track_t *t)
{
        return t->n;
}

void sg_notice_track_fini(sg_notice_track_t *t)
{
        free(t->v);
        memset(t, 0, sizeof(*t));
}
