#include "rules.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_defs.h"
#include "sg_hash.h"
#include "sg_time.h"
#include "sg_uuid.h"

#define DAY_US 86400000000LL
#define UEV_PURCHASE 1u
#define UEV_OFFENDING 2u
#define UEV_LATE 4u /* kept for duplicates only: in no window */
#define DICT_MAX 254   /* distinct strings a user's state names */
#define DICT_NONE 255  /* no string (an event without an IP) */
#define STATE_MAGIC "SGU2"
#define SNAP_MAGIC "SGP2"

/* --- A small open-addressing index: keys live in the caller's vector --- */

typedef struct sg_imap {
        size_t *slot; /* index + 1; 0: empty */
        size_t cap;
        size_t n;
} sg_imap_t;

typedef bool (*sg_imap_eq_fn)(const void *ctx, size_t idx, const void *key);
typedef uint64_t (*sg_imap_hash_fn)(const void *ctx, size_t idx);

static uint64_t sg_mix(uint64_t h)
{
        return h ^ (h >> 31);
}

/* Finds key (hash h); returns the slot (empty or holding it). */
static size_t *sg_imap_slot(const sg_imap_t *m, uint64_t h, const void *key,
                            sg_imap_eq_fn eq, const void *ctx)
{
        size_t i = (size_t)sg_mix(h) & (m->cap - 1);

        while (m->slot[i] && !eq(ctx, m->slot[i] - 1, key))
                i = (i + 1) & (m->cap - 1);
        return &m->slot[i];
}

static void sg_imap_grow(sg_imap_t *m, sg_imap_hash_fn hash, const void *ctx)
{
        size_t cap = m->cap ? m->cap * 2 : 64;
        size_t *slot = sg_xcalloc(cap, sizeof(*slot));

        for (size_t i = 0; i < m->cap; i++) {
                size_t j;
                if (!m->slot[i])
                        continue;
                j = (size_t)sg_mix(hash(ctx, m->slot[i] - 1)) & (cap - 1);
                while (slot[j])
                        j = (j + 1) & (cap - 1);
                slot[j] = m->slot[i];
        }
        free(m->slot);
        m->slot = slot;
        m->cap = cap;
}

static void sg_imap_clear(sg_imap_t *m)
{
        if (m->n)
                memset(m->slot, 0, m->cap * sizeof(*m->slot));
        m->n = 0;
}

static void sg_imap_fini(sg_imap_t *m)
{
        free(m->slot);
        memset(m, 0, sizeof(*m));
}

/* A growable vector of fixed-size elements. */
#define VEC_PUSH(arr, n, cap)                                                  \
        do {                                                                   \
                if ((n) == (cap)) {                                            \
                        (cap) = (cap) ? (cap) * 2 : 64;                        \
                        (arr) = sg_xrealloc((arr), (cap) * sizeof(*(arr)));    \
                }                                                              \
                memset(&(arr)[(n)], 0, sizeof(*(arr)));                        \
                (n)++;                                                         \
        } while (0)

/* --- State --------------------------------------------------------------- */


typedef struct sg_uev {
        long long ts;
        uint64_t idh;
        long long cents;
        uint8_t country;
        uint8_t ip;
        uint8_t flags;
} sg_uev_t;

typedef struct sg_open {
        long long start;
        long long end;
        long long prev; /* per-day rules: the day before this one's start,
                           LLONG_MIN if none (events around midnight) */
        uint8_t sev; /* 0: no current flag */
        char id[37]; /* its flag id ("" until computed; not stored) */
        uint32_t pend_idx, pend_gen; /* its pending entry, if pend_gen is
                                        the partition's (not stored) */
} sg_open_t;

typedef struct sg_dstr {
        uint32_t h; /* hash of s: compared before s */
        uint8_t len;
        bool safe; /* may be quoted in evidence as it is */
        char s[46];
} sg_dstr_t;

typedef struct sg_user {
        char id[37];
        long long max_ts;
        sg_uev_t *ev;
        int nev, evcap;
        sg_dstr_t *dict; /* the countries and IP prefixes its events name */
        uint8_t *order;  /* dict's indexes in the strings' order (evidence) */
        int ndict, dcap;
        sg_open_t open[SG_RULE__CNT];
} sg_user_t;

/* Flags by id, in a vector (the batch's, or a partition's pending
 * extensions). */
typedef struct sg_fmap {
        sg_flag_t *v;
        size_t n, cap;
        sg_imap_t map;
} sg_fmap_t;

static bool sg_fmap_eq(const void *ctx, size_t idx, const void *key)
{
        return memcmp(((const sg_fmap_t *)ctx)->v[idx].flag_id, key, 36) == 0;
}

/* A flag id is hex from SHA-256: 16 of its characters hash it well. */
static uint64_t sg_id_hash(const char *id)
{
        uint64_t a, b;

        memcpy(&a, id, 8);
        memcpy(&b, id + 24, 8);
        return (a ^ (b * 0x9e3779b97f4a7c15ULL)) * 0xff51afd7ed558ccdULL;
}

static uint64_t sg_fmap_hash(const void *ctx, size_t idx)
{
        return sg_id_hash(((const sg_fmap_t *)ctx)->v[idx].flag_id);
}

/* The entry for flag id (appended, zeroed but for the id, with *fresh
 * set, if absent). */
static sg_flag_t *sg_fmap_get(sg_fmap_t *m, const char *id, bool *fresh)
{
        size_t *slot;

        if ((m->map.n + 1) * 10 > m->map.cap * 7)
                sg_imap_grow(&m->map, sg_fmap_hash, m);
        slot = sg_imap_slot(&m->map, sg_id_hash(id), id, sg_fmap_eq, m);
        *fresh = !*slot;
        if (*slot)
                return &m->v[*slot - 1];
        VEC_PUSH(m->v, m->n, m->cap);
        *slot = m->n;
        m->map.n++;
        memcpy(m->v[m->n - 1].flag_id, id, 36);
        m->v[m->n - 1].flag_id[36] = '\0';
        return &m->v[m->n - 1];
}

static void sg_fmap_clear(sg_fmap_t *m)
{
        m->n = 0;
        sg_imap_clear(&m->map);
}

static void sg_fmap_fini(sg_fmap_t *m)
{
        free(m->v);
        sg_imap_fini(&m->map);
        memset(m, 0, sizeof(*m));
}

typedef struct sg_part {
        int32_t id;
        long long max_ts;
        bool touched;
        sg_user_t **users; /* open addressing on the id, NULL: empty */
        size_t ucap, nusers;
        sg_fmap_t pending; /* split mode: extensions not yet written */
        uint32_t pend_gen; /* changes whenever pending is emptied */
} sg_part_t;

struct sg_rules {
        sg_rules_conf_t conf;
        long long wmax; /* the longest user window */

        sg_part_t *parts;
        size_t nparts, partcap;

        bool split, replay;
        long long extensions;

        sg_fmap_t flags;
        sg_wpart_t *win;
        size_t nwin, wincap;
        sg_imap_t winmap;
        sg_risk_count_t *risk;
        size_t nrisk, riskcap;
        sg_imap_t riskmap;
        sg_late_count_t *late;
        size_t nlate, latecap;
};

static void sg_user_free(sg_user_t *u)
{
        if (!u)
                return;
        free(u->ev);
        free(u->dict);
        free(u->order);
        free(u);
}

static uint64_t sg_user_hash(const char *id)
{
        return sg_fnv1a(id, strlen(id), SG_FNV_OFFSET);
}

static sg_user_t **sg_part_user_slot(sg_part_t *p, const char *id)
{
        size_t i = (size_t)sg_mix(sg_user_hash(id)) & (p->ucap - 1);

        while (p->users[i] && strcmp(p->users[i]->id, id) != 0)
                i = (i + 1) & (p->ucap - 1);
        return &p->users[i];
}

static void sg_part_rehash(sg_part_t *p, size_t cap)
{
        sg_user_t **old = p->users;
        size_t oldcap = p->ucap;

        p->users = sg_xcalloc(cap, sizeof(*p->users));
        p->ucap = cap;
        p->nusers = 0;
        for (size_t i = 0; i < oldcap; i++)
                if (old[i]) {
                        *sg_part_user_slot(p, old[i]->id) = old[i];
                        p->nusers++;
                }
        free(old);
}

static sg_user_t *sg_part_user(sg_part_t *p, const char *id, bool create)
{
        sg_user_t **slot;

        if (!p->ucap) {
                if (!create)
                        return NULL;
                sg_part_rehash(p, 256);
        }
        slot = sg_part_user_slot(p, id);
        if (*slot || !create)
                return *slot;
        if ((p->nusers + 1) * 10 > p->ucap * 7) {
                sg_part_rehash(p, p->ucap * 2);
                slot = sg_part_user_slot(p, id);
        }
        *slot = sg_xcalloc(1, sizeof(**slot));
        snprintf((*slot)->id, sizeof((*slot)->id), "%s", id);
        (*slot)->max_ts = LLONG_MIN;
        p->nusers++;
        return *slot;
}

static void sg_part_clear(sg_part_t *p)
{
        for (size_t i = 0; i < p->ucap; i++)
                sg_user_free(p->users[i]);
        free(p->users);
        p->users = NULL;
        p->ucap = p->nusers = 0;
        sg_fmap_clear(&p->pending);
        p->pend_gen++;
}

static sg_part_t *sg_rules_part(const sg_rules_t *r, int32_t partition)
{
        for (size_t i = 0; i < r->nparts; i++)
                if (r->parts[i].id == partition)
                        return &r->parts[i];
        return NULL;
}

static sg_part_t *sg_rules_part_get(sg_rules_t *r, int32_t partition)
{
        sg_part_t *p = sg_rules_part(r, partition);

        if (p)
                return p;
        VEC_PUSH(r->parts, r->nparts, r->partcap);
        p = &r->parts[r->nparts - 1];
        p->id = partition;
        p->max_ts = LLONG_MIN;
        p->pend_gen = 1;
        return p;
}

/* --- Construction -------------------------------------------------------- */

sg_rules_t *sg_rules_new(const sg_rules_conf_t *conf)
{
        sg_rules_t *r = sg_xcalloc(1, sizeof(*r));

        sg_rules_set_conf(r, conf);
        return r;
}

void sg_rules_set_conf(sg_rules_t *r, const sg_rules_conf_t *conf)
{
        r->conf = *conf;
        r->wmax = sg_rules_conf_user_window_us(conf);
}

const sg_rules_conf_t *sg_rules_conf(const sg_rules_t *r)
{
        return &r->conf;
}

void sg_rules_destroy(sg_rules_t *r)
{
        if (!r)
                return;
        for (size_t i = 0; i < r->nparts; i++) {
                sg_part_clear(&r->parts[i]);
                sg_fmap_fini(&r->parts[i].pending);
        }
        free(r->parts);
        sg_fmap_fini(&r->flags);
        free(r->win);
        sg_imap_fini(&r->winmap);
        free(r->risk);
        sg_imap_fini(&r->riskmap);
        free(r->late);
        free(r);
}

void sg_rules_set_split(sg_rules_t *r, bool split)
{
        r->split = split;
}

void sg_rules_set_replay(sg_rules_t *r, bool replay)
{
        r->replay = replay;
}

void sg_rules_batch_reset(sg_rules_t *r)
{
        r->nwin = r->nrisk = r->nlate = 0;
        r->extensions = 0;
        sg_fmap_clear(&r->flags);
        sg_imap_clear(&r->winmap);
        sg_imap_clear(&r->riskmap);
        for (size_t i = 0; i < r->nparts; i++)
                r->parts[i].touched = false;
}

void sg_rules_flags_clear(sg_rules_t *r)
{
        sg_fmap_clear(&r->flags);
}

void sg_rules_forget_part(sg_rules_t *r, int32_t partition)
{
        for (size_t i = 0; i < r->nparts; i++) {
                if (r->parts[i].id != partition)
                        continue;
                sg_part_clear(&r->parts[i]);
                sg_fmap_fini(&r->parts[i].pending);
                r->parts[i] = r->parts[--r->nparts];
                return;
        }
}

void sg_rules_forget(sg_rules_t *r)
{
        sg_rules_batch_reset(r);
        while (r->nparts)
                sg_rules_forget_part(r, r->parts[0].id);
}

const sg_flag_t *sg_rules_pending(const sg_rules_t *r, int32_t partition,
                                  size_t *n)
{
        const sg_part_t *p = sg_rules_part(r, partition);

        *n = p ? p->pending.n : 0;
        return p ? p->pending.v : NULL;
}

void sg_rules_pending_clear(sg_rules_t *r, int32_t partition)
{
        sg_part_t *p = sg_rules_part(r, partition);

        if (p) {
                sg_fmap_clear(&p->pending);
                p->pend_gen++;
        }
}

long long sg_rules_extensions(const sg_rules_t *r)
{
        return r->extensions;
}

size_t sg_rules_part_users(const sg_rules_t *r, int32_t partition)
{
        const sg_part_t *p = sg_rules_part(r, partition);

        return p ? p->nusers : 0;
}

bool sg_rules_part_known(const sg_rules_t *r, int32_t partition)
{
        return sg_rules_part(r, partition) != NULL;
}

long long sg_rules_part_max(const sg_rules_t *r, int32_t partition)
{
        const sg_part_t *p = sg_rules_part(r, partition);

        return p ? p->max_ts : LLONG_MIN;
}

size_t sg_rules_parts_touched(const sg_rules_t *r, int32_t *parts,
                              long long *max_ts, size_t cap)
{
        size_t n = 0;

        for (size_t i = 0; i < r->nparts; i++) {
                if (!r->parts[i].touched)
                        continue;
                if (n < cap) {
                        parts[n] = r->parts[i].id;
                        max_ts[n] = r->parts[i].max_ts;
                }
                n++;
        }
        return n;
}

/* --- A user's state ------------------------------------------------------ */

static bool sg_safe_text(const char *s);

static int sg_user_dict(sg_user_t *u, const char *s)
{
        uint32_t h = (uint32_t)sg_fnv1a(s, strlen(s), SG_FNV_OFFSET);

        for (int i = 0; i < u->ndict; i++)
                if (u->dict[i].h == h && strcmp(u->dict[i].s, s) == 0)
                        return i;
        if (u->ndict >= DICT_MAX)
                return DICT_MAX - 1; /* saturated: counts as one more */
        if (u->ndict == u->dcap) {
                u->dcap = u->dcap ? u->dcap * 2 : 4;
                u->dict = sg_xrealloc(u->dict, (size_t)u->dcap * sizeof(*u->dict));
                u->order = sg_xrealloc(u->order, (size_t)u->dcap);
        }
        {
                sg_dstr_t *d = &u->dict[u->ndict];
                int pos = u->ndict;
                d->h = h;
                snprintf(d->s, sizeof(d->s), "%s", s);
                d->len = (uint8_t)strlen(d->s);
                d->safe = sg_safe_text(d->s);
                /* Its place in the order: once per new string, so that
                 * evidence never sorts. */
                while (pos > 0 && strcmp(u->dict[u->order[pos - 1]].s, d->s) > 0) {
                        u->order[pos] = u->order[pos - 1];
                        pos--;
                }
                u->order[pos] = (uint8_t)u->ndict;
        }
        return u->ndict++;
}

/* Drops the strings no event names any more. */
static void sg_user_dict_compact(sg_user_t *u)
{
        uint8_t map[256];
        bool used[256] = {false};
        int n = 0;

        for (int i = 0; i < u->nev; i++) {
                used[u->ev[i].country] = true;
                used[u->ev[i].ip] = true;
        }
        for (int i = 0; i < u->ndict; i++) {
                if (!used[i])
                        continue;
                if (n != i)
                        u->dict[n] = u->dict[i];
                map[i] = (uint8_t)n++;
        }
        for (int i = 0; i < u->nev; i++) {
                u->ev[i].country = map[u->ev[i].country];
                if (u->ev[i].ip != DICT_NONE)
                        u->ev[i].ip = map[u->ev[i].ip];
        }
        n = 0;
        for (int i = 0; i < u->ndict; i++)
                if (used[u->order[i]])
                        u->order[n++] = map[u->order[i]];
        u->ndict = n;
}

/* Drops the events older than cut, then the oldest beyond the cap. */
static void sg_user_trim(sg_user_t *u, long long cut, int cap)
{
        int n = 0;

        for (int i = 0; i < u->nev; i++)
                if (u->ev[i].ts >= cut)
                        u->ev[n++] = u->ev[i];
        u->nev = n;
        if (u->nev > cap) {
                memmove(u->ev, u->ev + (u->nev - cap),
                        (size_t)cap * sizeof(*u->ev));
                u->nev = cap;
        }
        if (u->ndict > DICT_MAX / 2)
                sg_user_dict_compact(u);
}

static void sg_put_u8(sg_buf_t *b, unsigned v)
{
        char c = (char)(v & 0xff);

        sg_buf_append(b, &c, 1);
}

static void sg_put_u64(sg_buf_t *b, uint64_t v)
{
        char s[8];

        for (int i = 0; i < 8; i++)
                s[i] = (char)((v >> (8 * i)) & 0xff);
        sg_buf_append(b, s, 8);
}

typedef struct sg_rd {
        const unsigned char *p;
        size_t left;
        bool bad;
} sg_rd_t;

static unsigned sg_get_u8(sg_rd_t *r)
{
        if (r->left < 1) {
                r->bad = true;
                return 0;
        }
        r->left--;
        return *r->p++;
}

static uint64_t sg_get_u64(sg_rd_t *r)
{
        uint64_t v = 0;

        if (r->left < 8) {
                r->bad = true;
                return 0;
        }
        for (int i = 0; i < 8; i++)
                v |= (uint64_t)r->p[i] << (8 * i);
        r->p += 8;
        r->left -= 8;
        return v;
}

/* A string of at most size - 1 bytes, behind its length byte. */
static void sg_get_str(sg_rd_t *r, char *out, size_t size)
{
        unsigned l = sg_get_u8(r);

        if (r->bad || l >= size || r->left < l) {
                r->bad = true;
                out[0] = '\0';
                return;
        }
        memcpy(out, r->p, l);
        out[l] = '\0';
        r->p += l;
        r->left -= l;
}

static void sg_user_dump(const sg_user_t *u, sg_buf_t *b)
{
        int nopen = 0;

        sg_buf_append(b, STATE_MAGIC, 4);
        sg_put_u64(b, (uint64_t)u->max_ts);
        sg_put_u8(b, (unsigned)u->ndict);
        for (int i = 0; i < u->ndict; i++) {
                size_t len = strlen(u->dict[i].s);
                sg_put_u8(b, (unsigned)len);
                sg_buf_append(b, u->dict[i].s, len);
        }
        sg_put_u8(b, (unsigned)(u->nev & 0xff));
        sg_put_u8(b, (unsigned)(u->nev >> 8));
        for (int i = 0; i < u->nev; i++) {
                const sg_uev_t *e = &u->ev[i];
                sg_put_u64(b, (uint64_t)e->ts);
                sg_put_u64(b, e->idh);
                sg_put_u64(b, (uint64_t)e->cents);
                sg_put_u8(b, e->country);
                sg_put_u8(b, e->ip);
                sg_put_u8(b, e->flags);
        }
        for (int i = 0; i < SG_RULE__CNT; i++)
                nopen += u->open[i].sev != 0;
        sg_put_u8(b, (unsigned)nopen);
        for (int i = 0; i < SG_RULE__CNT; i++) {
                if (!u->open[i].sev)
                        continue;
                sg_put_u8(b, (unsigned)i);
                sg_put_u64(b, (uint64_t)u->open[i].start);
                sg_put_u64(b, (uint64_t)u->open[i].end);
                sg_put_u64(b, (uint64_t)u->open[i].prev);
                sg_put_u8(b, u->open[i].sev);
        }
}

/* Reads one user's state (sg_user_dump's bytes, len of them) from rd into
 * the partition. Returns 0, or -1 (rd->bad set). */
static int sg_user_load(sg_part_t *p, const char *user_id, sg_rd_t *in,
                        size_t len)
{
        sg_rd_t rd = {.p = in->p, .left = len, .bad = false};
        sg_user_t *u;
        unsigned n;

        if (len > in->left || len < 4 || memcmp(in->p, STATE_MAGIC, 4) != 0) {
                in->bad = true;
                return -1;
        }
        in->p += len;
        in->left -= len;
        rd.p += 4;
        rd.left -= 4;
        u = sg_part_user(p, user_id, true);
        u->nev = u->ndict = 0;
        memset(u->open, 0, sizeof(u->open));
        u->max_ts = (long long)sg_get_u64(&rd);
        n = sg_get_u8(&rd);
        for (unsigned i = 0; i < n && !rd.bad; i++) {
                char s[46];
                sg_get_str(&rd, s, sizeof(s));
                if (!rd.bad)
                        (void)sg_user_dict(u, s);
        }
        n = sg_get_u8(&rd);
        n |= sg_get_u8(&rd) << 8;
        for (unsigned i = 0; i < n && !rd.bad; i++) {
                sg_uev_t e;
                e.ts = (long long)sg_get_u64(&rd);
                e.idh = sg_get_u64(&rd);
                e.cents = (long long)sg_get_u64(&rd);
                e.country = (uint8_t)sg_get_u8(&rd);
                e.ip = (uint8_t)sg_get_u8(&rd);
                e.flags = (uint8_t)sg_get_u8(&rd);
                if ((int)e.country >= u->ndict ||
                    (e.ip != DICT_NONE && (int)e.ip >= u->ndict)) {
                        rd.bad = true;
                        break;
                }
                if (u->nev == u->evcap) {
                        u->evcap = u->evcap ? u->evcap * 2 : 8;
                        u->ev = sg_xrealloc(u->ev,
                                            (size_t)u->evcap * sizeof(*u->ev));
                }
                u->ev[u->nev++] = e;
        }
        n = sg_get_u8(&rd);
        for (unsigned i = 0; i < n && !rd.bad; i++) {
                unsigned rule = sg_get_u8(&rd);
                sg_open_t o = {0};
                o.start = (long long)sg_get_u64(&rd);
                o.end = (long long)sg_get_u64(&rd);
                o.prev = (long long)sg_get_u64(&rd);
                o.sev = (uint8_t)sg_get_u8(&rd);
                if (rule >= SG_RULE__CNT || o.sev < SG_SEV_LOW ||
                    o.sev > SG_SEV_HIGH) {
                        rd.bad = true;
                        break;
                }
                u->open[rule] = o;
        }
        if (rd.bad || rd.left != 0) {
                in->bad = true;
                return -1;
        }
        return 0;
}

void sg_rules_empty_dump(sg_buf_t *out)
{
        sg_buf_append(out, SNAP_MAGIC, 4);
        sg_put_u64(out, (uint64_t)LLONG_MIN);
        sg_put_u64(out, 0);
}

void sg_rules_part_dump(const sg_rules_t *r, int32_t partition, sg_buf_t *out)
{
        const sg_part_t *p = sg_rules_part(r, partition);
        sg_buf_t one;

        if (!p) {
                sg_rules_empty_dump(out);
                return;
        }
        sg_buf_append(out, SNAP_MAGIC, 4);
        sg_put_u64(out, (uint64_t)p->max_ts);
        sg_put_u64(out, p->nusers);
        sg_buf_init(&one);
        for (size_t i = 0; i < p->ucap; i++) {
                const sg_user_t *u = p->users[i];
                size_t idlen;
                if (!u)
                        continue;
                idlen = strlen(u->id);
                sg_buf_reset(&one);
                sg_user_dump(u, &one);
                sg_put_u8(out, (unsigned)idlen);
                sg_buf_append(out, u->id, idlen);
                sg_put_u64(out, one.len);
                sg_buf_append(out, one.data, one.len);
        }
        sg_buf_fini(&one);
}

int sg_rules_part_restore(sg_rules_t *r, int32_t partition, const void *data,
                          size_t len)
{
        sg_part_t *p = sg_rules_part_get(r, partition);
        sg_rd_t rd = {.p = data, .left = len, .bad = false};
        uint64_t n;

        sg_part_clear(p);
        p->max_ts = LLONG_MIN;
        if (len < 4 || memcmp(data, SNAP_MAGIC, 4) != 0)
                return -1;
        rd.p += 4;
        rd.left -= 4;
        p->max_ts = (long long)sg_get_u64(&rd);
        n = sg_get_u64(&rd);
        for (uint64_t i = 0; i < n && !rd.bad; i++) {
                char id[37];
                uint64_t ulen;
                sg_get_str(&rd, id, sizeof(id));
                ulen = sg_get_u64(&rd);
                if (rd.bad || ulen > rd.left ||
                    sg_user_load(p, id, &rd, (size_t)ulen) < 0)
                        rd.bad = true;
        }
        if (rd.bad || rd.left != 0) {
                sg_part_clear(p);
                p->max_ts = LLONG_MIN;
                return -1;
        }
        return 0;
}

static long long sg_rules_cut(const sg_rules_t *r, const sg_part_t *p)
{
        if (p->max_ts == LLONG_MIN)
                return LLONG_MIN;
        return p->max_ts - r->conf.lateness_us - r->wmax;
}

/* Whether a per-day flag of the user is still current at cut (a later
 * event of that day extends it: the user must stay). */
static bool sg_user_day_open(const sg_user_t *u, long long cut)
{
        static const sg_rule_id_t day_rules[] = {SG_RULE_EU_NO_CONSENT,
                                                 SG_RULE_ERASED_USER_ACTIVITY,
                                                 SG_RULE_DO_NOT_TRACK};

        for (size_t i = 0; i < sizeof(day_rules) / sizeof(day_rules[0]); i++) {
                const sg_open_t *o = &u->open[day_rules[i]];
                if (o->sev && (o->end >= cut || (o->prev != LLONG_MIN &&
                                                 o->prev + DAY_US > cut)))
                        return true;
        }
        return false;
}

long long sg_rules_prune(sg_rules_t *r, int32_t partition)
{
        sg_part_t *p = sg_rules_part(r, partition);
        long long cut;
        size_t kept = 0;

        if (!p)
                return LLONG_MIN;
        cut = sg_rules_cut(r, p);
        if (cut == LLONG_MIN)
                return cut;
        for (size_t i = 0; i < p->ucap; i++) {
                sg_user_t *u = p->users[i];
                if (!u)
                        continue;
                if (u->max_ts < cut && !sg_user_day_open(u, cut)) {
                        sg_user_free(u);
                        p->users[i] = NULL;
                        continue;
                }
                kept++;
        }
        if (kept != p->nusers)
                sg_part_rehash(p, p->ucap);
        return cut;
}

/* --- Batch outputs --------------------------------------------------------- */

typedef struct sg_wkey {
        sg_rule_id_t rule;
        const char *subject;
        long long start;
} sg_wkey_t;

static uint64_t sg_wkey_hash(sg_rule_id_t rule, const char *subject,
                             long long start)
{
        uint64_t h = sg_fnv1a(&rule, sizeof(rule), SG_FNV_OFFSET);

        h = sg_fnv1a(subject, strlen(subject), h);
        return sg_fnv1a(&start, sizeof(start), h);
}

static bool sg_win_eq(const void *ctx, size_t idx, const void *key)
{
        const sg_wpart_t *w = &((const sg_rules_t *)ctx)->win[idx];
        const sg_wkey_t *k = key;

        return w->rule == k->rule && w->start_us == k->start &&
               strcmp(w->subject, k->subject) == 0;
}

static uint64_t sg_win_hash(const void *ctx, size_t idx)
{
        const sg_wpart_t *w = &((const sg_rules_t *)ctx)->win[idx];

        return sg_wkey_hash(w->rule, w->subject, w->start_us);
}

static sg_wpart_t *sg_rules_win(sg_rules_t *r, sg_rule_id_t rule,
                                const char *subject, long long start)
{
        sg_wkey_t k = {rule, subject, start};
        size_t *slot;
        sg_wpart_t *w;

        if ((r->winmap.n + 1) * 10 > r->winmap.cap * 7)
                sg_imap_grow(&r->winmap, sg_win_hash, r);
        slot = sg_imap_slot(&r->winmap, sg_wkey_hash(rule, subject, start), &k,
                            sg_win_eq, r);
        if (*slot)
                return &r->win[*slot - 1];
        VEC_PUSH(r->win, r->nwin, r->wincap);
        *slot = r->nwin;
        r->winmap.n++;
        w = &r->win[r->nwin - 1];
        w->rule = rule;
        snprintf(w->subject, sizeof(w->subject), "%s", subject);
        w->start_us = start;
        w->first_ts = LLONG_MAX;
        w->last_ts = LLONG_MIN;
        w->first_partition = -1;
        return w;
}

typedef struct sg_rkey {
        int32_t day;
        const char *country;
        int level;
} sg_rkey_t;

static uint64_t sg_rkey_hash(int32_t day, const char *country, int level)
{
        uint64_t h = sg_fnv1a(&day, sizeof(day), SG_FNV_OFFSET);

        h = sg_fnv1a(country, strlen(country), h);
        return sg_fnv1a(&level, sizeof(level), h);
}

static bool sg_risk_eq(const void *ctx, size_t idx, const void *key)
{
        const sg_risk_count_t *c = &((const sg_rules_t *)ctx)->risk[idx];
        const sg_rkey_t *k = key;

        return c->day == k->day && c->level == k->level &&
               strcmp(c->country, k->country) == 0;
}

static uint64_t sg_risk_hash(const void *ctx, size_t idx)
{
        const sg_risk_count_t *c = &((const sg_rules_t *)ctx)->risk[idx];

        return sg_rkey_hash(c->day, c->country, c->level);
}

static void sg_rules_risk_add(sg_rules_t *r, int32_t day, const char *country,
                              int level)
{
        sg_rkey_t k = {day, country, level};
        size_t *slot;
        sg_risk_count_t *c;

        if ((r->riskmap.n + 1) * 10 > r->riskmap.cap * 7)
                sg_imap_grow(&r->riskmap, sg_risk_hash, r);
        slot = sg_imap_slot(&r->riskmap, sg_rkey_hash(day, country, level), &k,
                            sg_risk_eq, r);
        if (!*slot) {
                VEC_PUSH(r->risk, r->nrisk, r->riskcap);
                *slot = r->nrisk;
                r->riskmap.n++;
                c = &r->risk[r->nrisk - 1];
                c->day = day;
                snprintf(c->country, sizeof(c->country), "%s", country);
                c->level = level;
        }
        r->risk[*slot - 1].events++;
}

static void sg_rules_late_add(sg_rules_t *r, int32_t day, int32_t partition)
{
        for (size_t i = 0; i < r->nlate; i++)
                if (r->late[i].day == day && r->late[i].partition == partition) {
                        r->late[i].events++;
                        return;
                }
        VEC_PUSH(r->late, r->nlate, r->latecap);
        r->late[r->nlate - 1].day = day;
        r->late[r->nlate - 1].partition = partition;
        r->late[r->nlate - 1].events = 1;
}

const sg_flag_t *sg_rules_flags(const sg_rules_t *r, size_t *n)
{
        *n = r->flags.n;
        return r->flags.v;
}

const sg_wpart_t *sg_rules_windows(const sg_rules_t *r, size_t *n)
{
        *n = r->nwin;
        return r->win;
}

const sg_risk_count_t *sg_rules_risk(const sg_rules_t *r, size_t *n)
{
        *n = r->nrisk;
        return r->risk;
}

const sg_late_count_t *sg_rules_late(const sg_rules_t *r, size_t *n)
{
        *n = r->nlate;
        return r->late;
}

/* --- Ids ------------------------------------------------------------------ */

void sg_flag_id(sg_rule_id_t rule, sg_subject_t subject_type,
                const char *subject_id, long long start_us,
                const char *event_id, char out[37])
{
        char text[256];
        int n = snprintf(text, sizeof(text), "%s|%s|%s|%lld|%s",
                         sg_rule_name(rule), sg_subject_name(subject_type),
                         subject_id, start_us, event_id ? event_id : "");

        if (n < 0 || (size_t)n >= sizeof(text))
                sg_oom("a flag id's name"); /* bounded inputs: cannot fail */
        sg_uuid_from_name(text, (size_t)n, out);
}

sg_severity_t sg_rules_level(const sg_rules_conf_t *c, int score)
{
        if (score >= c->level_high)
                return SG_SEV_HIGH;
        if (score >= c->level_medium)
                return SG_SEV_MEDIUM;
        return SG_SEV_LOW;
}

/* --- Raising and extending flags -------------------------------------------- */

/* What a rule found. Its evidence is written only when the flag takes
 * it (raised, or the highest observed so far): by evidence(earg, out,
 * size), or copied from text. */
typedef struct sg_hit {
        sg_rule_id_t rule;
        sg_severity_t severity;
        long long start;   /* the period's start when raised */
        long long end;     /* its end */
        double observed;
        double threshold;
        const char *text;
        void (*evidence)(const void *earg, char *out, size_t size);
        const void *earg;
        const char *id; /* the flag's id, when known */
        const char *event_key; /* large_purchase: the event id */
        sg_open_t *open; /* the user's current flag it extends, or NULL */
} sg_hit_t;

static void sg_hit_evidence(const sg_hit_t *h, char *out, size_t size)
{
        if (h->evidence)
                h->evidence(h->earg, out, size);
        else
                snprintf(out, size, "%s", h->text);
}

typedef struct sg_ctx {
        sg_rules_t *r;
        sg_part_t *part;
        int32_t partition;
        int64_t offset;
        const sg_event_t *ev;
        sg_user_t *user; /* NULL for a late event */
        unsigned fired;
        unsigned raised;
} sg_ctx_t;

/* A new entry: the hit's flag, count events. */
static void sg_flag_fill(const sg_ctx_t *x, sg_flag_t *f, const sg_hit_t *h,
                         long long count)
{
        f->rule = h->rule;
        memcpy(f->rule_version, x->r->conf.rule[h->rule].version,
               sizeof(f->rule_version));
        f->severity = h->severity;
        f->subject_type = SG_SUBJECT_USER;
        memcpy(f->subject_id, x->ev->user_id, sizeof(x->ev->user_id));
        f->window_start_us = h->start;
        f->window_end_us = h->end;
        memcpy(f->first_event_id, x->ev->event_id, sizeof(f->first_event_id));
        f->first_ts_us = x->ev->ts_us;
        f->first_partition = x->partition;
        f->first_offset = x->offset;
        f->observed = h->observed;
        f->threshold = h->threshold;
        sg_hit_evidence(h, f->evidence, sizeof(f->evidence));
        memcpy(f->last_event_id, x->ev->event_id, sizeof(f->last_event_id));
        f->event_count = count;
}

/* One more event for the entry. The evidence is the first that reached
 * the highest observed value (the store keeps it the same way, so that
 * the result does not depend on how events were grouped into writes). */
static void sg_flag_merge(const sg_ctx_t *x, sg_flag_t *f, const sg_hit_t *h)
{
        if (h->severity > f->severity)
                f->severity = h->severity;
        if (h->observed > f->observed) {
                f->observed = h->observed;
                f->threshold = h->threshold;
                sg_hit_evidence(h, f->evidence, sizeof(f->evidence));
        }
        memcpy(f->last_event_id, x->ev->event_id, sizeof(f->last_event_id));
        f->event_count++;
}

/* Adds the hit: merged, to the batch's entry; split (rules.h), a raise
 * or an escalation to the batch's list (unless replaying: those were
 * written), and every event but a raising one to the partition's
 * pending extensions. */
static void sg_ctx_flag(sg_ctx_t *x, const sg_hit_t *h, sg_flag_change_t change)
{
        sg_rules_t *r = x->r;
        char id[37];
        bool fresh, extension = change != SG_FLAG_RAISED;
        sg_flag_t *f;

        if (h->id)
                memcpy(id, h->id, sizeof(id));
        else
                sg_flag_id(h->rule, SG_SUBJECT_USER, x->ev->user_id, h->start,
                           h->event_key, id);
        if (!r->split) {
                f = sg_fmap_get(&r->flags, id, &fresh);
                if (fresh) {
                        sg_flag_fill(x, f, h, 1);
                        f->change = change == SG_FLAG_RAISED ? SG_FLAG_RAISED
                                                             : SG_FLAG_EXTENDED;
                } else {
                        sg_flag_merge(x, f, h);
                }
        } else {
                if (change != SG_FLAG_EXTENDED && !r->replay) {
                        f = sg_fmap_get(&r->flags, id, &fresh);
                        if (fresh) {
                                sg_flag_fill(x, f, h,
                                             change == SG_FLAG_RAISED ? 1 : 0);
                                f->change = change;
                        } else {
                                /* Raised again (events out of order), or
                                 * escalated again: one write. */
                                if (h->severity > f->severity)
                                        f->severity = h->severity;
                                if (change == SG_FLAG_RAISED) {
                                        f->event_count++;
                                        f->change = SG_FLAG_RAISED;
                                }
                        }
                }
                if (extension) {
                        sg_part_t *p = x->part;
                        sg_open_t *o = h->open;
                        /* The user's current flag remembers its entry:
                         * no lookup (the entries are big: cache misses). */
                        if (o && o->pend_gen == p->pend_gen &&
                            o->pend_idx < p->pending.n &&
                            memcmp(p->pending.v[o->pend_idx].flag_id, id, 36) ==
                                0) {
                                f = &p->pending.v[o->pend_idx];
                                fresh = false;
                        } else {
                                f = sg_fmap_get(&p->pending, id, &fresh);
                                if (o) {
                                        o->pend_idx = (uint32_t)(f - p->pending.v);
                                        o->pend_gen = p->pend_gen;
                                }
                        }
                        if (fresh)
                                sg_flag_fill(x, f, h, 1);
                        else
                                sg_flag_merge(x, f, h);
                        if (!r->replay)
                                r->extensions++;
                }
        }
        x->fired |= 1u << h->rule;
        if (change == SG_FLAG_RAISED)
                x->raised |= 1u << h->rule;
}

/* A per-day rule: the user's flag of the event's day (or of the day
 * before, for events around midnight), else a new one. */
static void sg_ctx_fire_day(sg_ctx_t *x, sg_rule_id_t rule, long long start,
                            sg_severity_t sev, const char *evidence)
{
        sg_open_t *o = &x->user->open[rule];
        sg_hit_t h = {rule, sev, start, start + DAY_US - 1, 1, 0, evidence,
                      NULL, NULL, NULL, NULL};
        sg_flag_change_t change = SG_FLAG_EXTENDED;
        char prev_id[37];

        if (o->sev && o->start == start) {
                if (sev > o->sev) {
                        o->sev = (uint8_t)sev;
                        change = SG_FLAG_ESCALATED;
                }
                h.severity = (sg_severity_t)o->sev;
                h.open = o;
        } else if (o->sev && o->prev == start) {
                sg_flag_id(rule, SG_SUBJECT_USER, x->ev->user_id, start, NULL,
                           prev_id);
                h.id = prev_id;
        } else {
                o->prev = o->sev ? o->start : LLONG_MIN;
                o->start = start;
                o->end = start + DAY_US - 1;
                o->sev = (uint8_t)sev;
                o->id[0] = '\0';
                o->pend_gen = 0;
                change = SG_FLAG_RAISED;
        }
        if (!h.id) {
                if (!o->id[0]) /* once per flag: the id is a SHA-256 */
                        sg_flag_id(rule, SG_SUBJECT_USER, x->ev->user_id,
                                   o->start, NULL, o->id);
                h.id = o->id;
        }
        sg_ctx_flag(x, &h, change);
}

/* large_purchase: each purchase is its own flag. */
static void sg_ctx_fire_event(sg_ctx_t *x, sg_rule_id_t rule, long long at,
                              double observed, double threshold,
                              sg_severity_t sev, const char *evidence,
                              const char *event_key)
{
        sg_hit_t h = {rule, sev, at, at, observed, threshold, evidence,
                      NULL, NULL, NULL, event_key};

        sg_ctx_flag(x, &h, SG_FLAG_RAISED);
}

/* A windowed user rule fired; start: the earliest event the rule counted
 * in the window. Raises a flag or extends the current one. */
static void sg_ctx_fire_window(sg_ctx_t *x, sg_rule_id_t rule, long long start,
                               double observed, double threshold,
                               sg_severity_t sev,
                               void (*evidence)(const void *, char *, size_t),
                               const void *earg)
{
        sg_open_t *o = &x->user->open[rule];
        long long ts = x->ev->ts_us;
        sg_hit_t h = {rule, sev, 0, 0, observed, threshold, NULL,
                      evidence, earg, NULL, NULL};
        sg_flag_change_t change = SG_FLAG_EXTENDED;

        if (o->sev && o->start <= ts && ts <= o->end) {
                if (sev > o->sev) {
                        o->sev = (uint8_t)sev;
                        change = SG_FLAG_ESCALATED;
                }
                h.severity = (sg_severity_t)o->sev;
        } else {
                o->start = start;
                o->end = start + x->r->conf.rule[rule].window_us;
                o->sev = (uint8_t)sev;
                o->id[0] = '\0';
                o->pend_gen = 0;
                change = SG_FLAG_RAISED;
        }
        h.open = o;
        if (!o->id[0]) /* once per flag: the id is a SHA-256 */
                sg_flag_id(rule, SG_SUBJECT_USER, x->ev->user_id, o->start,
                           NULL, o->id);
        h.start = o->start;
        h.end = o->end;
        h.id = o->id;
        sg_ctx_flag(x, &h, change);
}

/* --- The rules ------------------------------------------------------------- */

static bool sg_safe_text(const char *s)
{
        for (; *s; s++)
                if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
                      (*s >= 'A' && *s <= 'Z') || *s == '.' || *s == ':' ||
                      *s == '/' || *s == '-'))
                        return false;
        return true;
}

/* Appends the distinct strings (dict indexes set in seen) as a sorted
 * JSON array. */
static void sg_json_strings(const sg_user_t *u, const bool *seen, char *out,
                            size_t size)
{
        size_t n = 0, used;

        /* Evidence is rebuilt whenever a flag's observed value rises (each
         * event, for some traffic): the dict keeps its strings' order, and
         * plain copies. */
        used = strlen(out);
        if (used + 1 < size)
                out[used++] = '[';
        for (int k = 0; k < u->ndict && used + 50 < size; k++) {
                const sg_dstr_t *d = &u->dict[u->order[k]];
                const char *t = d->safe ? d->s : "?";
                size_t len = d->safe ? d->len : 1; /* < 46: fits the margin */
                if (!seen[u->order[k]])
                        continue;
                if (n++)
                        out[used++] = ',';
                out[used++] = '"';
                memcpy(out + used, t, len);
                used += len;
                out[used++] = '"';
        }
        out[used] = '\0';
        if (used + 2 < size) {
                out[used++] = ']';
                out[used] = '\0';
        }
}

static void sg_cents_text(long long cents, char *out, size_t size)
{
        snprintf(out, size, "%s%lld.%02lld", cents < 0 ? "-" : "",
                 llabs(cents) / 100, llabs(cents) % 100);
}

/* What a rule's evidence is written from, when it is needed. */
typedef struct sg_earg {
        const sg_user_t *u;
        const bool *seen;  /* distinct: the strings seen */
        bool ip;           /* ... IP prefixes, else countries */
        sg_rule_id_t rule; /* count: the rule */
        long long n;       /* ... the count */
        long long lo, t;   /* ... the window */
} sg_earg_t;

static void sg_evidence_distinct(const void *arg, char *out, size_t size)
{
        const sg_earg_t *a = arg;

        snprintf(out, size, "{\"%s\":", a->ip ? "ip_prefixes" : "countries");
        sg_json_strings(a->u, a->seen, out, size - 2);
        strcat(out, "}");
}

/* multi_country, multi_network: distinct strings in the window. */
static void sg_rule_distinct(sg_ctx_t *x, sg_rule_id_t rule, bool ip)
{
        const sg_rule_conf_t *rc = &x->r->conf.rule[rule];
        const sg_user_t *u = x->user;
        long long t = x->ev->ts_us, lo = t - rc->window_us, start = LLONG_MAX;
        bool seen[256] = {false};
        sg_earg_t earg = {.u = u, .seen = seen, .ip = ip};
        int distinct = 0;
        sg_severity_t sev = rc->severity;

        for (int i = 0; i < u->nev; i++) {
                const sg_uev_t *e = &u->ev[i];
                uint8_t k = ip ? e->ip : e->country;
                if (e->ts < lo || e->ts > t || k == DICT_NONE ||
                    (e->flags & UEV_LATE))
                        continue;
                if (e->ts < start)
                        start = e->ts;
                if (!seen[k]) {
                        seen[k] = true;
                        distinct++;
                }
        }
        if (distinct <= rc->threshold)
                return;
        if (rc->high_threshold > 0 && distinct > rc->high_threshold)
                sev = SG_SEV_HIGH;
        sg_ctx_fire_window(x, rule, start, distinct,
                           sev == SG_SEV_HIGH && rc->high_threshold > 0
                               ? (double)rc->high_threshold
                               : (double)rc->threshold,
                           sev, sg_evidence_distinct, &earg);
}

typedef struct sg_tsidx {
        long long ts;
        int idx;
} sg_tsidx_t;

static int sg_cmp_tsidx(const void *a, const void *b)
{
        const sg_tsidx_t *x = a, *y = b;

        if (x->ts != y->ts)
                return x->ts < y->ts ? -1 : 1;
        return x->idx - y->idx;
}

static void sg_evidence_count(const void *arg, char *out, size_t size)
{
        const sg_earg_t *a = arg;
        const sg_user_t *u = a->u;
        size_t used;

        {
                /* Also rebuilt on every rise: no printf. */
                const char *key = a->rule == SG_RULE_PURCHASE_BURST ? "purchases"
                                  : a->rule == SG_RULE_REPEAT_OFFENDER
                                      ? "offending_events"
                                      : "events";
                char digits[24];
                size_t nd = 0, klen = strlen(key);
                unsigned long long v = a->n > 0 ? (unsigned long long)a->n : 0;
                do {
                        digits[nd++] = (char)('0' + v % 10);
                        v /= 10;
                } while (v);
                used = 0;
                out[used++] = '{';
                out[used++] = '"';
                memcpy(out + used, key, klen);
                used += klen;
                out[used++] = '"';
                out[used++] = ':';
                while (nd)
                        out[used++] = digits[--nd];
                out[used] = '\0';
        }
        if (a->rule == SG_RULE_PURCHASE_BURST) {
                /* The first 20 amounts, in the window's time order. */
                sg_tsidx_t p[20];
                int np = 0;
                for (int i = 0; i < u->nev && np < 20; i++) {
                        const sg_uev_t *e = &u->ev[i];
                        if (e->ts >= a->lo && e->ts <= a->t &&
                            (e->flags & (UEV_PURCHASE | UEV_LATE)) ==
                                UEV_PURCHASE)
                                p[np++] = (sg_tsidx_t){e->ts, i};
                }
                qsort(p, (size_t)np, sizeof(p[0]), sg_cmp_tsidx);
                used += (size_t)snprintf(out + used, size - used,
                                         ",\"amounts\":[");
                for (int i = 0; i < np && used + 40 < size; i++) {
                        char c[32];
                        sg_cents_text(u->ev[p[i].idx].cents, c, sizeof(c));
                        used += (size_t)snprintf(out + used, size - used,
                                                 "%s\"%s\"", i ? "," : "", c);
                }
                used += (size_t)snprintf(out + used, size - used, "]");
        }
        snprintf(out + used, size - used, "}");
}

/* high_frequency, purchase_burst, repeat_offender: events (with the
 * given flags) in the window. */
static void sg_rule_count(sg_ctx_t *x, sg_rule_id_t rule, unsigned need)
{
        const sg_rule_conf_t *rc = &x->r->conf.rule[rule];
        const sg_user_t *u = x->user;
        long long t = x->ev->ts_us, lo = t - rc->window_us, start = LLONG_MAX;
        sg_earg_t earg = {.u = u, .rule = rule, .lo = lo, .t = t};
        long long n = 0;

        for (int i = 0; i < u->nev; i++) {
                const sg_uev_t *e = &u->ev[i];
                if (e->ts < lo || e->ts > t || (e->flags & need) != need ||
                    (e->flags & UEV_LATE))
                        continue;
                if (e->ts < start)
                        start = e->ts;
                n++;
        }
        if (n <= rc->threshold)
                return;
        earg.n = n;
        sg_ctx_fire_window(x, rule, start, (double)n, (double)rc->threshold,
                           rc->severity, sg_evidence_count, &earg);
}

/* Adds the event to the user's state (dropping what no window can see). */
static void sg_ctx_remember(sg_ctx_t *x, const sg_part_t *p, uint64_t idh,
                            bool late)
{
        sg_user_t *u = x->user;
        const sg_event_t *ev = x->ev;
        sg_uev_t e;

        sg_user_trim(u, sg_rules_cut(x->r, p), x->r->conf.max_user_events - 1);
        e.ts = ev->ts_us;
        e.idh = idh;
        e.cents = ev->type == SG_EV_PURCHASE ? ev->amount_cents : 0;
        e.flags = (uint8_t)((ev->type == SG_EV_PURCHASE ? UEV_PURCHASE : 0) |
                            (late ? UEV_LATE : 0));
        e.country = (uint8_t)sg_user_dict(u, ev->country);
        e.ip = ev->ip[0] ? (uint8_t)sg_user_dict(u, ev->ip) : DICT_NONE;
        if (u->nev == u->evcap) {
                u->evcap = u->evcap ? u->evcap * 2 : 8;
                u->ev = sg_xrealloc(u->ev, (size_t)u->evcap * sizeof(*u->ev));
        }
        u->ev[u->nev++] = e;
        if (ev->ts_us > u->max_ts)
                u->max_ts = ev->ts_us;
}

static void sg_ctx_window(sg_ctx_t *x, sg_rule_id_t rule, const char *subject,
                          long long a, long long b)
{
        const sg_event_t *ev = x->ev;
        sg_wpart_t *w = sg_rules_win(
            x->r, rule, subject, sg_rules_window_start(&x->r->conf, rule,
                                                       ev->ts_us));

        w->a += a;
        w->b += b;
        if (ev->ts_us < w->first_ts ||
            (ev->ts_us == w->first_ts &&
             strcmp(ev->event_id, w->first_event_id) < 0)) {
                w->first_ts = ev->ts_us;
                snprintf(w->first_event_id, sizeof(w->first_event_id), "%s",
                         ev->event_id);
                w->first_partition = x->partition;
                w->first_offset = x->offset;
        }
        if (ev->ts_us > w->last_ts ||
            (ev->ts_us == w->last_ts &&
             strcmp(ev->event_id, w->last_event_id) > 0)) {
                w->last_ts = ev->ts_us;
                snprintf(w->last_event_id, sizeof(w->last_event_id), "%s",
                         ev->event_id);
        }
}

/* The event's user, created if new. */
static sg_user_t *sg_ctx_user(sg_ctx_t *x)
{
        if (!x->user)
                x->user = sg_part_user(x->part, x->ev->user_id, true);
        return x->user;
}

/* Whether the user's state holds the event id among its events not
 * older than cut (older ones may or may not have been dropped yet: looking
 * at them would make the answer depend on when that happened). */
static bool sg_user_has(const sg_user_t *u, uint64_t idh, long long cut)
{
        for (int i = 0; i < u->nev; i++)
                if (u->ev[i].idh == idh && u->ev[i].ts >= cut)
                        return true;
        return false;
}

void sg_rules_eval(sg_rules_t *r, int32_t partition, int64_t offset,
                   const sg_event_t *ev, long long erased_at_us,
                   sg_eval_result_t *res)
{
        const sg_rule_conf_t *rule = r->conf.rule;
        sg_part_t *p = sg_rules_part_get(r, partition);
        uint64_t idh = sg_fnv1a(ev->event_id, strlen(ev->event_id), SG_FNV_OFFSET);
        long long day = sg_time_utc_day(ev->ts_us);
        long long day_start = day * DAY_US;
        sg_ctx_t x = {r, p, partition, offset, ev, NULL, 0, 0};
        sg_eval_result_t local;
        char evidence[SG_FLAG_EVIDENCE_MAX];
        bool late;
        int score = 0;

        if (!res)
                res = &local;
        memset(res, 0, sizeof(*res));
        x.user = sg_part_user(p, ev->user_id, false);
        if (x.user && sg_user_has(x.user, idh, sg_rules_cut(r, p))) {
                res->duplicate = true;
                return;
        }
        late = p->max_ts != LLONG_MIN && ev->ts_us < p->max_ts - r->conf.lateness_us;
        if (ev->ts_us > p->max_ts)
                p->max_ts = ev->ts_us;
        p->touched = true;

        /* The per-event rules. */
        if ((rule[SG_RULE_EU_NO_CONSENT].enabled && ev->is_eu &&
             !ev->has_consent) ||
            (rule[SG_RULE_DO_NOT_TRACK].enabled && ev->do_not_track))
                snprintf(evidence, sizeof(evidence), "{\"country\":\"%s\"}",
                         sg_safe_text(ev->country) ? ev->country : "?");
        if (rule[SG_RULE_EU_NO_CONSENT].enabled && ev->is_eu &&
            !ev->has_consent) {
                (void)sg_ctx_user(&x);
                sg_ctx_fire_day(&x, SG_RULE_EU_NO_CONSENT, day_start,
                                rule[SG_RULE_EU_NO_CONSENT].severity, evidence);
        }
        if (rule[SG_RULE_DO_NOT_TRACK].enabled && ev->do_not_track) {
                (void)sg_ctx_user(&x);
                sg_ctx_fire_day(&x, SG_RULE_DO_NOT_TRACK, day_start,
                                rule[SG_RULE_DO_NOT_TRACK].severity, evidence);
        }
        if (rule[SG_RULE_ERASED_USER_ACTIVITY].enabled && erased_at_us >= 0 &&
            ev->ts_us > erased_at_us) {
                char at[28];
                sg_time_format_rfc3339(erased_at_us, at);
                snprintf(evidence, sizeof(evidence),
                         "{\"erased_at\":\"%s\",\"seconds_after\":%lld}", at,
                         (ev->ts_us - erased_at_us) / 1000000);
                (void)sg_ctx_user(&x);
                sg_ctx_fire_day(&x, SG_RULE_ERASED_USER_ACTIVITY, day_start,
                                rule[SG_RULE_ERASED_USER_ACTIVITY].severity,
                                evidence);
        }
        if (rule[SG_RULE_LARGE_PURCHASE].enabled && ev->type == SG_EV_PURCHASE &&
            ev->amount_cents > rule[SG_RULE_LARGE_PURCHASE].threshold) {
                const sg_rule_conf_t *rc = &rule[SG_RULE_LARGE_PURCHASE];
                bool high = rc->high_threshold > 0 &&
                            ev->amount_cents >= rc->high_threshold;
                char a[32];
                sg_cents_text(ev->amount_cents, a, sizeof(a));
                snprintf(evidence, sizeof(evidence),
                         "{\"amount\":\"%s\",\"currency\":\"%s\"}", a,
                         sg_safe_text(ev->currency) ? ev->currency : "?");
                sg_ctx_fire_event(&x, SG_RULE_LARGE_PURCHASE, ev->ts_us,
                                  (double)ev->amount_cents / 100.0,
                                  (double)(high ? rc->high_threshold
                                                : rc->threshold) /
                                      100.0,
                                  high ? SG_SEV_HIGH : rc->severity, evidence,
                                  ev->event_id);
        }

        if (late) {
                if (!r->replay)
                        sg_rules_late_add(r, (int32_t)day, partition);
                res->late = true;
                /* Kept (if a duplicate could still come) so that a resent
                 * late event is not evaluated twice. */
                if (ev->ts_us >= sg_rules_cut(r, p)) {
                        (void)sg_ctx_user(&x);
                        sg_ctx_remember(&x, p, idh, true);
                }
        } else {
                unsigned offending_rules =
                    (1u << SG_RULE_MULTI_COUNTRY) |
                    (1u << SG_RULE_MULTI_NETWORK) |
                    (1u << SG_RULE_LARGE_PURCHASE) |
                    (1u << SG_RULE_PURCHASE_BURST);

                (void)sg_ctx_user(&x);
                sg_ctx_remember(&x, p, idh, false);
                if (rule[SG_RULE_MULTI_COUNTRY].enabled)
                        sg_rule_distinct(&x, SG_RULE_MULTI_COUNTRY, false);
                if (rule[SG_RULE_MULTI_NETWORK].enabled && ev->ip[0])
                        sg_rule_distinct(&x, SG_RULE_MULTI_NETWORK, true);
                if (rule[SG_RULE_HIGH_FREQUENCY].enabled)
                        sg_rule_count(&x, SG_RULE_HIGH_FREQUENCY, 0);
                if (rule[SG_RULE_PURCHASE_BURST].enabled &&
                    ev->type == SG_EV_PURCHASE)
                        sg_rule_count(&x, SG_RULE_PURCHASE_BURST, UEV_PURCHASE);
                if (x.fired & offending_rules) {
                        x.user->ev[x.user->nev - 1].flags |= UEV_OFFENDING;
                        if (rule[SG_RULE_REPEAT_OFFENDER].enabled)
                                sg_rule_count(&x, SG_RULE_REPEAT_OFFENDER,
                                              UEV_OFFENDING);
                }
                if (!r->replay && rule[SG_RULE_CONTENT_ERROR_RATE].enabled &&
                    ev->content_id[0] &&
                    (ev->type == SG_EV_PLAY || ev->type == SG_EV_PLAYBACK_ERROR))
                        sg_ctx_window(&x, SG_RULE_CONTENT_ERROR_RATE,
                                      ev->content_id, ev->type == SG_EV_PLAY,
                                      ev->type == SG_EV_PLAYBACK_ERROR);
                if (!r->replay && rule[SG_RULE_TRAFFIC_ANOMALY].enabled)
                        sg_ctx_window(&x, SG_RULE_TRAFFIC_ANOMALY, ev->country,
                                      1, 0);
        }

        for (int i = 0; i < SG_RULE__CNT; i++)
                if (x.fired & (1u << i))
                        score += rule[i].weight;
        if (ev->type == SG_EV_PLAYBACK_ERROR)
                score += r->conf.playback_error_weight;
        res->fired = x.fired;
        res->raised = x.raised & x.fired;
        res->score = score;
        res->level = sg_rules_level(&r->conf, score);
        if (!r->replay)
                sg_rules_risk_add(r, (int32_t)day, ev->country,
                                  (int)res->level);
}

/* --- Cross-partition windows ----------------------------------------------- */

long long sg_rules_window_start(const sg_rules_conf_t *c, sg_rule_id_t rule,
                                long long ts_us)
{
        long long w = c->rule[rule].window_us;
        long long k = ts_us / w;

        if (ts_us < 0 && ts_us % w)
                k--;
        return k * w;
}

long long sg_rules_window_end(const sg_rules_conf_t *c, sg_rule_id_t rule,
                              long long start_us)
{
        return start_us + c->rule[rule].window_us - 1;
}

static int sg_wpart_cmp(const void *x, const void *y)
{
        const sg_wpart_t *a = x, *b = y;
        int c;

        if (a->rule != b->rule)
                return a->rule < b->rule ? -1 : 1;
        c = strcmp(a->subject, b->subject);
        if (c)
                return c;
        if (a->start_us != b->start_us)
                return a->start_us < b->start_us ? -1 : 1;
        return 0;
}

void sg_wpart_sort(sg_wpart_t *w, size_t n)
{
        qsort(w, n, sizeof(*w), sg_wpart_cmp);
}

void sg_wpart_merge(sg_wpart_t *a, const sg_wpart_t *b)
{
        a->a += b->a;
        a->b += b->b;
        if (b->first_event_id[0] &&
            (!a->first_event_id[0] || b->first_ts < a->first_ts ||
             (b->first_ts == a->first_ts &&
              strcmp(b->first_event_id, a->first_event_id) < 0))) {
                a->first_ts = b->first_ts;
                memcpy(a->first_event_id, b->first_event_id,
                       sizeof(a->first_event_id));
                a->first_partition = b->first_partition;
                a->first_offset = b->first_offset;
        }
        if (b->last_event_id[0] &&
            (!a->last_event_id[0] || b->last_ts > a->last_ts ||
             (b->last_ts == a->last_ts &&
              strcmp(b->last_event_id, a->last_event_id) > 0))) {
                a->last_ts = b->last_ts;
                memcpy(a->last_event_id, b->last_event_id,
                       sizeof(a->last_event_id));
        }
}

static void sg_window_flag(const sg_rules_conf_t *c, sg_rule_id_t rule,
                           sg_subject_t subject, const char *subject_id,
                           long long start, const sg_wpart_t *w,
                           sg_flag_t *f)
{
        memset(f, 0, sizeof(*f));
        sg_flag_id(rule, subject, subject_id, start, NULL, f->flag_id);
        f->rule = rule;
        snprintf(f->rule_version, sizeof(f->rule_version), "%s",
                 c->rule[rule].version);
        f->severity = c->rule[rule].severity;
        f->subject_type = subject;
        snprintf(f->subject_id, sizeof(f->subject_id), "%s", subject_id);
        f->window_start_us = start;
        f->window_end_us = sg_rules_window_end(c, rule, start);
        f->first_partition = -1;
        if (w && w->first_event_id[0]) {
                memcpy(f->first_event_id, w->first_event_id,
                       sizeof(f->first_event_id));
                f->first_ts_us = w->first_ts;
                f->first_partition = w->first_partition;
                f->first_offset = w->first_offset;
                memcpy(f->last_event_id, w->last_event_id,
                       sizeof(f->last_event_id));
        }
}

bool sg_rules_judge_content(const sg_rules_conf_t *c, const sg_wpart_t *w,
                            sg_flag_t *flag)
{
        const sg_rule_conf_t *rc = &c->rule[SG_RULE_CONTENT_ERROR_RATE];
        long long total = w->a + w->b;
        double rate;

        if (!rc->enabled || total < rc->min_events || total <= 0)
                return false;
        rate = (double)w->b / (double)total;
        if (!(rate > rc->ratio))
                return false;
        sg_window_flag(c, SG_RULE_CONTENT_ERROR_RATE, SG_SUBJECT_CONTENT,
                       w->subject, w->start_us, w, flag);
        flag->event_count = total;
        flag->observed = rate;
        flag->threshold = rc->ratio;
        snprintf(flag->evidence, sizeof(flag->evidence),
                 "{\"plays\":%lld,\"playback_errors\":%lld,\"error_rate\":%.4f,"
                 "\"min_events\":%lld}",
                 w->a, w->b, rate, rc->min_events);
        return true;
}

/* Judges the count x of the window at start against b, then folds it in. */
static void sg_baseline_fold(const sg_rules_conf_t *c, sg_baseline_t *b,
                             long long start, long long x, const sg_wpart_t *w,
                             void (*emit)(void *arg, const sg_flag_t *flag),
                             void *arg)
{
        const sg_rule_conf_t *rc = &c->rule[SG_RULE_TRAFFIC_ANOMALY];
        double d;

        if (b->n >= rc->history) {
                double sd = sqrt(b->var);
                double sde = sd > rc->min_stddev ? sd : rc->min_stddev;
                double dev = (double)x - b->mean;
                if (fabs(dev) > rc->sigmas * sde) {
                        sg_flag_t f;
                        sg_window_flag(c, SG_RULE_TRAFFIC_ANOMALY,
                                       SG_SUBJECT_COUNTRY, b->country, start, w,
                                       &f);
                        f.event_count = x;
                        f.observed = (double)x;
                        f.threshold = dev > 0 ? b->mean + rc->sigmas * sde
                                              : b->mean - rc->sigmas * sde;
                        snprintf(f.evidence, sizeof(f.evidence),
                                 "{\"events\":%lld,\"direction\":\"%s\","
                                 "\"baseline_mean\":%.3f,"
                                 "\"baseline_stddev\":%.3f,"
                                 "\"history_windows\":%lld}",
                                 x, dev > 0 ? "spike" : "drop", b->mean, sd,
                                 b->n);
                        emit(arg, &f);
                }
        }
        if (b->n == 0) {
                b->mean = (double)x;
                b->var = 0;
        } else {
                d = (double)x - b->mean;
                b->mean += rc->alpha * d;
                b->var = (1 - rc->alpha) * (b->var + rc->alpha * d * d);
        }
        b->n++;
        b->next_start_us = start + rc->window_us;
}

void sg_rules_country_advance(const sg_rules_conf_t *c, sg_baseline_t *b,
                              const sg_wpart_t *w, long long watermark_us,
                              void (*emit)(void *arg, const sg_flag_t *flag),
                              void *arg)
{
        long long len = c->rule[SG_RULE_TRAFFIC_ANOMALY].window_us;

        if (!c->rule[SG_RULE_TRAFFIC_ANOMALY].enabled)
                return;
        if (w) {
                if (b->n > 0 && w->start_us < b->next_start_us)
                        return; /* folded already */
                while (b->n > 0 && b->next_start_us < w->start_us)
                        sg_baseline_fold(c, b, b->next_start_us, 0, NULL, emit,
                                         arg);
                sg_baseline_fold(c, b, w->start_us, w->a, w, emit, arg);
                return;
        }
        while (b->n > 0 && b->next_start_us + len - 1 < watermark_us)
                sg_baseline_fold(c, b, b->next_start_us, 0, NULL, emit, arg);
}

void sg_flag_list_push(void *list, const sg_flag_t *flag)
{
        sg_flag_list_t *l = list;

        if (l->n == l->cap) {
                l->cap = l->cap ? l->cap * 2 : 16;
                l->v = sg_xrealloc(l->v, l->cap * sizeof(*l->v));
        }
        l->v[l->n++] = *flag;
}

void sg_flag_list_fini(sg_flag_list_t *l)
{
        free(l->v);
        memset(l, 0, sizeof(*l));
}

sg_baseline_t *sg_baselines_get(sg_baselines_t *b, const char *country)
{
        for (size_t i = 0; i < b->n; i++)
                if (strcmp(b->v[i].country, country) == 0)
                        return &b->v[i];
        if (b->n == b->cap) {
                b->cap = b->cap ? b->cap * 2 : 16;
                b->v = sg_xrealloc(b->v, b->cap * sizeof(*b->v));
        }
        memset(&b->v[b->n], 0, sizeof(*b->v));
        snprintf(b->v[b->n].country, sizeof(b->v[0].country), "%s", country);
        return &b->v[b->n++];
}

void sg_rules_close(const sg_rules_conf_t *c, sg_wpart_t *w, size_t n,
                    sg_baselines_t *base, long long wm, sg_flag_list_t *out)
{
        sg_wpart_sort(w, n);
        for (size_t i = 0; i < n; i++) {
                sg_flag_t f;
                if (w[i].rule == SG_RULE_CONTENT_ERROR_RATE) {
                        if (sg_rules_judge_content(c, &w[i], &f))
                                sg_flag_list_push(out, &f);
                } else if (w[i].rule == SG_RULE_TRAFFIC_ANOMALY) {
                        sg_rules_country_advance(
                            c, sg_baselines_get(base, w[i].subject), &w[i], wm,
                            sg_flag_list_push, out);
                }
        }
        for (size_t i = 0; i < base->n; i++)
                sg_rules_country_advance(c, &base->v[i], NULL, wm,
                                         sg_flag_list_push, out);
}
