#include "scenario.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_country.h"
#include "sg_event.h"
#include "sg_rand.h"
#include "sg_time.h"
#include "sg_uuid.h"

/* How the scenario is laid out, against the default rules of
 * docs/compliance.md. The rules' own parameters are the CHK_* constants:
 * the self-check evaluates them on the messages as published, so a
 * layout change that trips a rule (or misses one) fails the check instead
 * of writing a wrong truth. */

#define SEC 1000000LL
#define MIN (60 * SEC)
#define HOUR (60 * MIN)
#define WIN SG_SCENARIO_WINDOW_US

#define NCOUNTRIES 3
#define BG_USERS 180            /* background users per country, at most */
#define BG_GAP (10 * MIN + SEC) /* > 10 min between a background user's
                                   events: at most 6 in any rolling hour */
#define BG_LEVEL_MIN 58         /* events per window, per country, with */
#define BG_LEVEL_SPAN 9         /* enough users: 58..66 */
/* With fewer users, a country's level is what its n background users
 * serve: at most 36% of n (44% in the busiest window, with the pattern's
 * +22%: each user is free again after 10 min, every 2.x windows), and at
 * least BG_LEVEL_FLOOR. */
#define BG_LEVEL_PCT 36
#define BG_TARGET_PCT 44
#define BG_LEVEL_FLOOR 20
#define BG_TITLES 30            /* background titles c_000000.. */
#define BG_TITLE_CAP 19         /* play + error per title per window: under
                                   content_error_rate's 20 */
#define BG_MAX_CENTS 10000      /* background purchases: at most 100.00 */

#define W_CONTENT 18      /* content_error_rate fires here */
#define W_ANOMALY 20      /* traffic_anomaly fires here */
#define W_CONTENT_EQ 22   /* control: a ratio of exactly 0.20 */
#define W_CONTENT_FEW 24  /* control: 19 events only */
#define ANOMALY_PER_USER 6

/* The design's margins on traffic_anomaly (the self-check uses the exact
 * rule): a background window stays within 70% of the limit, the injected
 * one goes over 150% of it, so that no rounding decides either. */
#define TA_QUIET 0.7
#define TA_LOUD 1.5

/* The default rules, for the self-check. */
#define CHK_TA_ALPHA 0.1
#define CHK_TA_SIGMAS 4.0
#define CHK_TA_MIN_SD 1.0
#define CHK_TA_HISTORY 12
#define CHK_CER_MIN 20       /* content_error_rate: at least 20 events */
#define CHK_CER_DIV 5        /* ... and errors / events above 1/5 */
#define CHK_MC_WIN HOUR      /* multi_country: > 2 countries in 1 h */
#define CHK_MC_MAX 2
#define CHK_MN_WIN HOUR      /* multi_network: > 3 prefixes in 1 h */
#define CHK_MN_MAX 3
#define CHK_HF_WIN HOUR      /* high_frequency: > 10 events in 1 h */
#define CHK_HF_MAX 10
#define CHK_LP_CENTS 50000   /* large_purchase: above 500.00 */
#define CHK_PB_WIN (10 * SEC) /* purchase_burst: > 5 purchases in 10 s */
#define CHK_PB_MAX 5
#define CHK_RO_WIN (300 * SEC) /* repeat_offender: > 3 in 300 s */
#define CHK_RO_MAX 3
#define CHK_BG_HOUR_MAX 6    /* background: at most 6 per rolling hour */

/* Streams of the seed, one per purpose, so that one part of the layout
 * can change without moving the others. */
enum {
        ST_USERS = 1,
        ST_ROLES,
        ST_PATTERN,
        ST_BACKGROUND,
        ST_IDS,
};
#define SALT 0x5343454e4152494fULL /* "SCENARIO": not sg-generate's ids */

/* has_consent of a persona's events. */
enum { CONSENT_TRUE, CONSENT_FALSE, CONSENT_DRAW };

/* Who a dedicated user is drawn from. */
enum { POL_ANY, POL_EU, POL_NONEU, POL_ANOMALY };

typedef struct persona {
        const char *user_id;
        const char *country;
        const char *role;
        int consent;     /* CONSENT_* */
        bool dnt;        /* do_not_track: true on every event */
        bool v6;
        unsigned pfx[3]; /* v4: a.b.c; v6: 2a0X:g1:g2 (the /48) */
        char device[24];
        long long last;  /* background: the latest event */
} persona_t;

/* One event before it is written. */
typedef struct spec {
        long long ts;
        size_t seq; /* creation order: ties in time keep it */
        const char *role;
        const char *user_id;
        const char *country;
        sg_event_type_t type;
        long long cents;
        signed char consent; /* -1 absent */
        bool is_eu_field;    /* write is_eu (derived from country) */
        signed char dnt;     /* -1 absent */
        char content[12];
        const char *error_code;
        int watch;           /* -1 absent */
        char ip[48];
        char device[24];
        unsigned char app_minor, app_patch, network;
} spec_t;

typedef struct pool {
        char country[8];
        size_t *idx; /* users of that country, in the seed's order */
        size_t n, used;
} pool_t;

typedef struct builder {
        const sg_scenario_conf_t *conf;
        sg_scenario_t *sc;
        sg_rand_t r; /* roles and personas */
        spec_t *ev;
        size_t nev, cap;
        size_t nflags, capflags;
        pool_t pool[NCOUNTRIES];
        int anomaly;    /* index of the anomaly country in pool */
        unsigned rr;    /* round robin of POL_ANY */
        unsigned rr_eu; /* ... of POL_EU */
        size_t ndedicated;
        persona_t erased;
        char erased_country[8];
        const char *foreign[6]; /* countries multi_country visits */
        int sub[NCOUNTRIES][SG_SCENARIO_WINDOWS]; /* dedicated events */
        int nbg[NCOUNTRIES];   /* background users */
        int level_cap[NCOUNTRIES]; /* the highest level they serve */
        int level[NCOUNTRIES];
        int target[NCOUNTRIES][SG_SCENARIO_WINDOWS];
        int title_count[BG_TITLES][SG_SCENARIO_WINDOWS];
} builder_t;

static const char *const sg_scen_errors[] = {"E_NETWORK", "E_DRM",
                                             "E_DECODE", "E_TIMEOUT"};
static const char *const sg_scen_networks[] = {
    "wifi", "wifi", "wifi", "cellular", "cellular", "ethernet"};
/* Where multi_country's users travel: plain, non-EU codes. */
static const char *const sg_scen_abroad[] = {
    "GB", "CH", "NO", "JP", "AU", "CA", "BR", "MX", "NZ", "SG", "KR", "IS"};
static const char *const sg_scen_placeholder_id =
    "00000000-0000-4000-8000-000000000000";

static void errf(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void errf(char *errstr, size_t size, const char *fmt, ...)
{
        va_list ap;

        if (!errstr || size == 0)
                return;
        va_start(ap, fmt);
        vsnprintf(errstr, size, fmt, ap);
        va_end(ap);
}

long long sg_scenario_default_start(long long now_us)
{
        long long t = now_us - now_us % WIN;

        return t - SG_SCENARIO_SPAN_US;
}

static bool same_alpha2(const char *a, const char *b)
{
        return a[0] == b[0] && a[1] == b[1];
}

/* ------------------------------------------------------------ the truth */

static void flag_line(const sg_scenario_flag_t *f, char *out, size_t size)
{
        char ts[28];

        sg_time_format_rfc3339(f->window_start_us, ts);
        snprintf(out, size, "%s\t%s\t%s\t%s", f->rule, f->subject_type,
                 f->subject_id, ts);
}

static int flag_cmp(const void *a, const void *b)
{
        char la[160], lb[160];

        flag_line(a, la, sizeof(la));
        flag_line(b, lb, sizeof(lb));
        return strcmp(la, lb);
}

static void flags_push(sg_scenario_flag_t **v, size_t *n, size_t *cap,
                       const char *rule, const char *subject_type,
                       const char *subject_id, long long ws)
{
        sg_scenario_flag_t *f;

        if (*n == *cap) {
                *cap = *cap ? *cap * 2 : 32;
                *v = sg_xrealloc(*v, *cap * sizeof(**v));
        }
        f = &(*v)[(*n)++];
        memset(f, 0, sizeof(*f));
        f->rule = rule;
        f->subject_type = subject_type;
        snprintf(f->subject_id, sizeof(f->subject_id), "%s", subject_id);
        f->window_start_us = ws;
}

static void truth_add(builder_t *b, const char *rule, const char *type,
                      const char *id, long long ws)
{
        flags_push(&b->sc->flags, &b->nflags, &b->capflags, rule, type, id,
                   ws);
}

/* A day rule's flag for the event at ts, once per user and UTC day. */
static void truth_day(builder_t *b, const char *rule, const char *user,
                      long long ts)
{
        long long day = sg_time_utc_day(ts) * SG_TIME_US_PER_DAY;

        for (size_t i = 0; i < b->nflags; i++) {
                const sg_scenario_flag_t *f = &b->sc->flags[i];
                if (f->window_start_us == day && strcmp(f->rule, rule) == 0 &&
                    strcmp(f->subject_id, user) == 0)
                        return;
        }
        truth_add(b, rule, "user", user, day);
}

/* ------------------------------------------------------------ the users */

static const sg_gen_user_t *user_at(const builder_t *b, size_t i)
{
        return &b->conf->users[i];
}

/* The next unused user of pool p; a placeholder once it is exhausted
 * (counted, so that the error can say how many were needed). */
static const char *pool_take(builder_t *b, int p)
{
        pool_t *pl = &b->pool[p];
        size_t i = pl->used++;

        if (i >= pl->n)
                return sg_scen_placeholder_id;
        return user_at(b, pl->idx[i])->user_id;
}

static int pick_pool(builder_t *b, int policy)
{
        int eu[NCOUNTRIES], neu = 0, noneu = -1;

        for (int p = 0; p < NCOUNTRIES; p++) {
                if (sg_country_is_eu(b->pool[p].country)) {
                        if (p != b->anomaly)
                                eu[neu++] = p;
                } else if (noneu < 0) {
                        noneu = p;
                }
        }
        switch (policy) {
        case POL_ANOMALY:
                return b->anomaly;
        case POL_EU:
                if (neu == 0)
                        return b->anomaly; /* the only EU country */
                return eu[b->rr_eu++ % (unsigned)neu];
        case POL_NONEU:
                if (noneu >= 0)
                        return noneu;
                break;
        default:
                break;
        }
        return (int)(b->rr++ % NCOUNTRIES);
}

static void ip_prefix(sg_rand_t *r, persona_t *p, unsigned v6_pct)
{
        p->v6 = sg_rand_below(r, 100) < v6_pct;
        if (p->v6) {
                p->pfx[0] = (unsigned)sg_rand_below(r, 16);
                p->pfx[1] = (unsigned)sg_rand_below(r, 0x10000);
                p->pfx[2] = (unsigned)sg_rand_below(r, 0x10000);
        } else {
                /* Public-looking unicast: not 0, 10, 127, nor above 223. */
                unsigned a = 1 + (unsigned)sg_rand_below(r, 223);
                if (a == 10 || a == 127)
                        a++;
                p->pfx[0] = a;
                p->pfx[1] = (unsigned)sg_rand_below(r, 256);
                p->pfx[2] = (unsigned)sg_rand_below(r, 256);
        }
}

static void persona_init(builder_t *b, persona_t *p, const char *user_id,
                         const char *country, const char *role, int consent)
{
        /* iOS twice: the commonest device. */
        static const char *const kinds[] = {"tv_lg_",   "tv_samsung_",
                                            "ios_",     "android_",
                                            "web_",     "ios_"};

        memset(p, 0, sizeof(*p));
        p->user_id = user_id;
        p->country = country;
        p->role = role;
        p->consent = consent;
        ip_prefix(&b->r, p, consent == CONSENT_DRAW ? 15 : 0);
        snprintf(p->device, sizeof(p->device), "%s%06x",
                 kinds[sg_rand_below(&b->r, 6)],
                 (unsigned)sg_rand_below(&b->r, 0x1000000));
        p->last = LLONG_MIN / 2;
}

/* A dedicated user of the pool policy chooses. */
static void persona_pick(builder_t *b, persona_t *p, int policy,
                         const char *role, int consent)
{
        int pl = pick_pool(b, policy);

        persona_init(b, p, pool_take(b, pl), b->pool[pl].country, role,
                     consent);
        b->ndedicated++;
}

/* ----------------------------------------------------------- the events */

static void set_ip(sg_rand_t *r, const persona_t *p, const unsigned pfx[3],
                   char out[48])
{
        if (p->v6)
                snprintf(out, 48, "2a0%x:%x:%x:%x:%x:%x:%x:%x", pfx[0],
                         pfx[1], pfx[2], (unsigned)sg_rand_below(r, 0x10000),
                         (unsigned)sg_rand_below(r, 0x10000),
                         (unsigned)sg_rand_below(r, 0x10000),
                         (unsigned)sg_rand_below(r, 0x10000),
                         1 + (unsigned)sg_rand_below(r, 0xffff));
        else
                snprintf(out, 48, "%u.%u.%u.%u", pfx[0], pfx[1], pfx[2],
                         1 + (unsigned)sg_rand_below(r, 254));
}

static void title_name(unsigned i, char out[12])
{
        snprintf(out, 12, "c_%06u", i);
}

/* Appends an event of persona p: its country, IP prefix, device and
 * consent; the type's own fields are the caller's. */
static spec_t *ev_new(builder_t *b, sg_rand_t *r, const persona_t *p,
                      long long ts, sg_event_type_t type)
{
        spec_t *s;
        unsigned u;

        if (b->nev == b->cap) {
                b->cap = b->cap ? b->cap * 2 : 4096;
                b->ev = sg_xrealloc(b->ev, b->cap * sizeof(*b->ev));
        }
        s = &b->ev[b->nev];
        memset(s, 0, sizeof(*s));
        s->seq = b->nev++;
        s->ts = ts;
        s->role = p->role;
        s->user_id = p->user_id;
        s->country = p->country;
        s->type = type;
        s->watch = -1;
        switch (p->consent) {
        case CONSENT_TRUE:
                s->consent = 1;
                break;
        case CONSENT_FALSE:
                s->consent = 0;
                break;
        default:
                /* Outside the EU consent does not decide a rule. */
                u = (unsigned)sg_rand_below(r, 100);
                s->consent = sg_country_is_eu(p->country) ? 1
                             : u < 80                     ? 1
                             : u < 92                     ? 0
                                                          : -1;
                break;
        }
        s->is_eu_field = sg_rand_below(r, 2) == 0;
        if (p->dnt)
                s->dnt = 1;
        else
                s->dnt = sg_rand_below(r, 10) == 0 ? 0 : -1;
        set_ip(r, p, p->pfx, s->ip);
        memcpy(s->device, p->device, sizeof(s->device));
        s->app_minor = (unsigned char)sg_rand_below(r, 20);
        s->app_patch = (unsigned char)sg_rand_below(r, 10);
        s->network = (unsigned char)sg_rand_below(r, 6);
        if (type == SG_EV_STOP)
                s->watch = (int)sg_rand_below(r, 7201);
        if (sg_event_type_is_playback(type))
                title_name((unsigned)sg_rand_below(r, BG_TITLES), s->content);
        return s;
}

/* An event of a dedicated user that counts for no rule of its own: a
 * page view, a cart, or a pause/seek (playback, not play or error). */
static spec_t *ev_filler(builder_t *b, const persona_t *p, long long ts)
{
        static const sg_event_type_t types[] = {
            SG_EV_PAGE_VIEW, SG_EV_ADD_TO_CART, SG_EV_PAGE_VIEW, SG_EV_SEEK,
            SG_EV_PAUSE};

        return ev_new(b, &b->r, p, ts, types[sg_rand_below(&b->r, 5)]);
}

static spec_t *ev_purchase(builder_t *b, const persona_t *p, long long ts,
                           long long cents)
{
        spec_t *s = ev_new(b, &b->r, p, ts, SG_EV_PURCHASE);

        s->cents = cents;
        return s;
}

/* The start of a dedicated role: minute m of the timeline, shifted by
 * under 30 s (the role's inner timing, its boundaries, stays exact). */
static long long role_t0(builder_t *b, int m)
{
        return b->conf->start_us + m * MIN +
               (long long)sg_rand_below(&b->r, 30 * SEC);
}

static long long win_start(const builder_t *b, int k)
{
        return b->conf->start_us + k * WIN;
}

/* ------------------------------------------------------ the violations */

static void role_eu_no_consent(builder_t *b)
{
        static const int at[2] = {62, 141};
        static const long long off[2][3] = {{0, 70 * SEC, 150 * SEC},
                                            {0, 95 * SEC, -1}};

        for (int u = 0; u < 2; u++) {
                persona_t p;
                long long t0 = role_t0(b, at[u]);

                persona_pick(b, &p, POL_EU, "eu_no_consent", CONSENT_FALSE);
                for (int i = 0; i < 3 && off[u][i] >= 0; i++) {
                        spec_t *s = ev_filler(b, &p, t0 + off[u][i]);
                        if (i == 1)
                                s->consent = -1; /* absent means false */
                        truth_day(b, "eu_no_consent", p.user_id, s->ts);
                }
        }
}

static void role_do_not_track(builder_t *b)
{
        static const int at[2] = {70, 100};
        /* The second spreads over 30 min: across a midnight, both days. */
        static const long long off[2][3] = {{0, 40 * SEC, -1},
                                            {0, 15 * MIN, 30 * MIN}};

        for (int u = 0; u < 2; u++) {
                persona_t p;
                long long t0 = role_t0(b, at[u]);

                persona_pick(b, &p, POL_NONEU, "do_not_track", CONSENT_TRUE);
                p.dnt = true;
                for (int i = 0; i < 3 && off[u][i] >= 0; i++) {
                        spec_t *s = ev_filler(b, &p, t0 + off[u][i]);
                        truth_day(b, "do_not_track", p.user_id, s->ts);
                }
        }
}

static void role_erased(builder_t *b)
{
        persona_t *p = &b->erased;

        if (!b->sc->has_erased)
                return;
        persona_init(b, p, b->sc->erased_user, b->erased_country,
                     "erased_user_activity", CONSENT_TRUE);
        for (int i = 1; i <= 3; i++) {
                spec_t *s = ev_new(b, &b->r, p, b->sc->erased_at_us + i * SEC,
                                   i == 2 ? SG_EV_ADD_TO_CART
                                          : SG_EV_PAGE_VIEW);
                truth_day(b, "erased_user_activity", p->user_id, s->ts);
        }
}

/* multi_country: 4 countries in 26 min (medium at the 3rd, high at the
 * 4th: one flag), 3 countries in 13 min, and a control with 2. One IP
 * prefix each: only the country changes. */
static void role_multi_country(builder_t *b)
{
        static const int at[3] = {75, 150, 120};
        static const long long off[3][4] = {
            {0, 7 * MIN, 16 * MIN, 26 * MIN},
            {0, 6 * MIN, 13 * MIN, -1},
            {0, 9 * MIN, 18 * MIN, -1}};
        static const char *const role[3] = {"multi_country", "multi_country",
                                            "control:multi_country"};
        /* Which foreign country each event uses (-1: at home). */
        static const int where[3][4] = {
            {-1, 0, 1, 2}, {-1, 3, 4, -1}, {-1, 5, -1, -1}};

        for (int u = 0; u < 3; u++) {
                persona_t p;
                long long t0 = role_t0(b, at[u]);

                persona_pick(b, &p, POL_ANY, role[u], CONSENT_TRUE);
                for (int i = 0; i < 4 && off[u][i] >= 0; i++) {
                        spec_t *s = ev_filler(b, &p, t0 + off[u][i]);
                        if (where[u][i] >= 0)
                                s->country = b->foreign[where[u][i]];
                }
                if (u < 2)
                        truth_add(b, "multi_country", "user", p.user_id, t0);
        }
}

/* multi_network: 4 prefixes in 38 min; control: 3 prefixes, 4 events. */
static void role_multi_network(builder_t *b)
{
        static const int at[2] = {80, 130};
        static const long long off[2][4] = {{0, 12 * MIN, 25 * MIN, 38 * MIN},
                                            {0, 10 * MIN, 20 * MIN, 30 * MIN}};
        static const int which[2][4] = {{0, 1, 2, 3}, {0, 1, 2, 0}};

        for (int u = 0; u < 2; u++) {
                persona_t p, net[4];
                long long t0 = role_t0(b, at[u]);

                persona_pick(b, &p, POL_ANY,
                             u == 0 ? "multi_network"
                                    : "control:multi_network",
                             CONSENT_TRUE);
                net[0] = p;
                for (int n = 1; n < 4; n++) {
                        net[n] = p;
                        /* A different /24 for sure: another first octet. */
                        do
                                ip_prefix(&b->r, &net[n], 0);
                        while (net[n].pfx[0] == net[n - 1].pfx[0] ||
                               net[n].pfx[0] == p.pfx[0] ||
                               (n == 3 && net[n].pfx[0] == net[1].pfx[0]));
                }
                for (int i = 0; i < 4; i++) {
                        spec_t *s = ev_filler(b, &p, t0 + off[u][i]);
                        set_ip(&b->r, &p, net[which[u][i]].pfx, s->ip);
                }
                if (u == 0)
                        truth_add(b, "multi_network", "user", p.user_id, t0);
        }
}

/* high_frequency: 11 events in 50 min; 11 exactly 1 h first to last (the
 * window is inclusive: fires); controls: 10 events in 45 min, and 11
 * events 1 h + 1 us first to last. */
static void role_high_frequency(builder_t *b)
{
        static const int at[4] = {64, 66, 68, 90};
        static const long long step[4] = {5 * MIN, 6 * MIN, 5 * MIN,
                                          6 * MIN};
        static const int count[4] = {11, 11, 10, 11};
        static const char *const role[4] = {
            "high_frequency", "high_frequency", "control:high_frequency",
            "control:high_frequency"};

        for (int u = 0; u < 4; u++) {
                persona_t p;
                long long t0 = role_t0(b, at[u]);

                persona_pick(b, &p, POL_ANY, role[u], CONSENT_TRUE);
                for (int i = 0; i < count[u]; i++) {
                        long long t = t0 + i * step[u];
                        if (u == 3 && i == 10)
                                t = t0 + HOUR + 1;
                        ev_filler(b, &p, t);
                }
                if (u < 2)
                        truth_add(b, "high_frequency", "user", p.user_id, t0);
        }
}

/* large_purchase: 500.01 (medium), 10000.00 (high), control 500.00. */
static void role_large_purchase(builder_t *b)
{
        static const int at[3] = {85, 95, 105};
        static const long long cents[3] = {50001, 1000000, 50000};

        for (int u = 0; u < 3; u++) {
                persona_t p;
                long long t0 = role_t0(b, at[u]);
                spec_t *s;

                persona_pick(b, &p, POL_ANY,
                             u < 2 ? "large_purchase"
                                   : "control:large_purchase",
                             CONSENT_TRUE);
                ev_filler(b, &p, t0);
                ev_new(b, &b->r, &p, t0 + 50 * SEC, SG_EV_ADD_TO_CART);
                s = ev_purchase(b, &p, t0 + 120 * SEC, cents[u]);
                if (u < 2)
                        truth_add(b, "large_purchase", "user", p.user_id,
                                  s->ts);
        }
}

/* purchase_burst: 6 purchases in 5 s; 6 exactly 10 s first to last
 * (inclusive: fires); control: 6 over 10 s + 1 us. Small amounts. */
static void role_purchase_burst(builder_t *b)
{
        static const int at[3] = {110, 125, 135};
        static const long long step[3] = {1 * SEC, 2 * SEC, 2 * SEC};
        static const char *const role[3] = {"purchase_burst",
                                            "purchase_burst",
                                            "control:purchase_burst"};

        for (int u = 0; u < 3; u++) {
                persona_t p;
                long long t0 = role_t0(b, at[u]), first = t0 + 2 * MIN;

                persona_pick(b, &p, POL_ANY, role[u], CONSENT_TRUE);
                ev_filler(b, &p, t0);
                for (int i = 0; i < 6; i++) {
                        long long t = first + i * step[u];
                        if (u == 2 && i == 5)
                                t = first + 10 * SEC + 1;
                        ev_purchase(b, &p, t,
                                    199 + (long long)sg_rand_below(&b->r,
                                                                   2800));
                }
                if (u < 2)
                        truth_add(b, "purchase_burst", "user", p.user_id,
                                  first);
        }
}

/* repeat_offender: 4 purchases of 600.00 a minute apart: each raises a
 * large_purchase flag; the 4th is the 4th offending event in 300 s. */
static void role_repeat_offender(builder_t *b)
{
        persona_t p;
        long long t0 = role_t0(b, 145), first = t0 + MIN;

        persona_pick(b, &p, POL_ANY, "repeat_offender", CONSENT_TRUE);
        ev_filler(b, &p, t0);
        for (int i = 0; i < 4; i++) {
                spec_t *s = ev_purchase(b, &p, first + i * MIN, 60000);
                truth_add(b, "large_purchase", "user", p.user_id, s->ts);
        }
        truth_add(b, "repeat_offender", "user", p.user_id, first);
}

/* n play/playback_error events of a dedicated title in window k, errors
 * of them errors, spread over users of at most 5 events each. */
static void content_window(builder_t *b, const char *title, int k, int n,
                           int errors, const char *role)
{
        long long ws = win_start(b, k);
        bool is_err[32];
        persona_t p;

        memset(&p, 0, sizeof(p));
        memset(is_err, 0, sizeof(is_err));
        /* Which of the n are errors: a seeded choice. */
        for (int e = 0; e < errors;) {
                int i = (int)sg_rand_below(&b->r, (uint64_t)n);
                if (!is_err[i]) {
                        is_err[i] = true;
                        e++;
                }
        }
        for (int i = 0; i < n; i++) {
                long long t =
                    ws + 20 * SEC + (long long)sg_rand_below(&b->r, 260 * SEC);
                spec_t *s;

                if (i % 5 == 0)
                        persona_pick(b, &p, POL_ANY, role, CONSENT_TRUE);
                s = ev_new(b, &b->r, &p, t,
                           is_err[i] ? SG_EV_PLAYBACK_ERROR : SG_EV_PLAY);
                snprintf(s->content, sizeof(s->content), "%s", title);
                if (is_err[i])
                        s->error_code = sg_scen_errors[sg_rand_below(&b->r, 4)];
        }
}

static void role_content(builder_t *b)
{
        /* 8 of 25: 0.32 > 0.20. */
        content_window(b, "c_000900", W_CONTENT, 25, 8, "content_error_rate");
        truth_add(b, "content_error_rate", "content", "c_000900",
                  win_start(b, W_CONTENT));
        /* 4 of 20 is 0.20, not above it; 10 of 19 are too few events. */
        content_window(b, "c_000901", W_CONTENT_EQ, 20, 4,
                       "control:content_error_rate");
        content_window(b, "c_000902", W_CONTENT_FEW, 19, 10,
                       "control:content_error_rate");
}

/* traffic_anomaly: twice the country's level more, from dedicated users
 * of 6 events each, all inside window W_ANOMALY. */
static void role_anomaly(builder_t *b)
{
        int extra = 2 * b->level[b->anomaly];
        long long ws = win_start(b, W_ANOMALY);
        persona_t p;

        memset(&p, 0, sizeof(p));
        for (int i = 0; i < extra; i++) {
                long long t =
                    ws + 10 * SEC + (long long)sg_rand_below(&b->r, 280 * SEC);
                if (i % ANOMALY_PER_USER == 0)
                        persona_pick(b, &p, POL_ANOMALY, "traffic_anomaly",
                                     CONSENT_TRUE);
                ev_filler(b, &p, t);
        }
        truth_add(b, "traffic_anomaly", "country",
                  b->pool[b->anomaly].country, ws);
}

/* ------------------------------------------------------ the background */

/* traffic_anomaly's baseline over one country's windows 0..n-1 (totals
 * x), with the design's margins: 1 when no window but loud (or -1: none)
 * comes near the limit and loud goes well over it. */
static int baseline_ok(const int *x, int n, int loud)
{
        double mean = x[0], var = 0.0;

        for (int k = 1; k < n; k++) {
                double d = x[k] - mean;
                if (k >= CHK_TA_HISTORY) {
                        double sd = sqrt(var);
                        double lim = CHK_TA_SIGMAS *
                                     (sd > CHK_TA_MIN_SD ? sd : CHK_TA_MIN_SD);
                        double dev = fabs(d);
                        if (k == loud ? dev < TA_LOUD * lim
                                      : dev > TA_QUIET * lim)
                                return 0;
                }
                mean += CHK_TA_ALPHA * d;
                var = (1.0 - CHK_TA_ALPHA) * (var + CHK_TA_ALPHA * d * d);
        }
        return 1;
}

/* Draws country p's events per window: a level of 58..66 (or what its
 * users serve), a slow
 * triangle wave of +-8..14% and +-7% noise, redrawn until the baseline
 * sees nothing (and the anomaly, in its country). The dedicated events
 * are part of the totals; the background fills the rest. Returns 0, or
 * -1 if no draw fits (not seen). */
static int draw_pattern(builder_t *b, int p)
{
        int total[SG_SCENARIO_WINDOWS];

        for (unsigned attempt = 0; attempt < 1000; attempt++) {
                sg_rand_t r;
                int level;
                double amp, period, phase;
                bool fits = true;

                sg_rand_init(&r, b->conf->seed ^ SALT,
                             ((uint64_t)ST_PATTERN << 32) |
                                 ((uint64_t)p << 16) | attempt);
                level = BG_LEVEL_MIN + (int)sg_rand_below(&r, BG_LEVEL_SPAN);
                if (level > b->level_cap[p])
                        level = b->level_cap[p];
                amp = 0.08 + 0.06 * sg_rand_double(&r);
                period = 8.0 + 10.0 * sg_rand_double(&r);
                phase = sg_rand_double(&r);
                for (int k = 0; k < SG_SCENARIO_WINDOWS; k++) {
                        double q = k / period + phase;
                        double tri = 4.0 * fabs(q - floor(q) - 0.5) - 1.0;
                        double noise = 2.0 * sg_rand_double(&r) - 1.0;
                        int t = (int)(level * (1.0 + amp * tri) *
                                          (1.0 + 0.07 * noise) +
                                      0.5);

                        b->target[p][k] = t;
                        total[k] = t;
                        if (t > b->nbg[p] * BG_TARGET_PCT / 100 ||
                            t - b->sub[p][k] < 3)
                                fits = false;
                }
                if (p == b->anomaly)
                        total[W_ANOMALY] += 2 * level;
                if (fits && baseline_ok(total, SG_SCENARIO_WINDOWS,
                                        p == b->anomaly ? W_ANOMALY : -1)) {
                        b->level[p] = level;
                        return 0;
                }
        }
        return -1;
}

typedef struct bg_cand {
        persona_t *p;
        long long key;
        size_t i;
} bg_cand_t;

static int bg_cand_cmp(const void *a, const void *b)
{
        const bg_cand_t *x = a, *y = b;

        if (x->key != y->key)
                return x->key < y->key ? -1 : 1;
        return x->i < y->i ? -1 : x->i > y->i;
}

/* One background event of persona p at ts in window k. */
static void bg_event(builder_t *b, sg_rand_t *r, persona_t *p, long long ts,
                     int k)
{
        /* Cumulative percent, in sg_event_type_t order: page_view 36,
         * add_to_cart 10, purchase 5, play 22, pause 8, seek 6, stop 12,
         * playback_error 1 (about 4% of play + error). */
        static const unsigned cum[SG_EV__CNT] = {36, 46, 51, 73,
                                                 81, 87, 99, 100};
        unsigned t = (unsigned)sg_rand_below(r, 100);
        sg_event_type_t type = SG_EV_PAGE_VIEW;
        double u;
        spec_t *s;

        while (t >= cum[type])
                type++;
        s = ev_new(b, r, p, ts, type);
        u = sg_rand_double(r);
        if (sg_event_type_is_playback(type)) {
                /* Popular titles first. */
                unsigned c = (unsigned)(u * u * BG_TITLES);
                title_name(c, s->content);
                if (type == SG_EV_PLAY || type == SG_EV_PLAYBACK_ERROR) {
                        if (b->title_count[c][k] >= BG_TITLE_CAP)
                                s->type = SG_EV_PAUSE;
                        else
                                b->title_count[c][k]++;
                }
                if (s->type == SG_EV_PLAYBACK_ERROR)
                        s->error_code = sg_scen_errors[sg_rand_below(r, 4)];
        } else if (type == SG_EV_PURCHASE) {
                s->cents = 99 + (long long)(u * u * u * (BG_MAX_CENTS - 99));
        }
        p->last = ts;
}

/* Fills country p's windows with its background users up to the
 * targets. Returns 0, or -1 if the users cannot serve a window (not
 * seen: BG_TARGET_PCT keeps it so). */
static int background_country(builder_t *b, int p, persona_t *users,
                              bg_cand_t *cand)
{
        sg_rand_t r;

        sg_rand_init(&r, b->conf->seed ^ SALT,
                     ((uint64_t)ST_BACKGROUND << 32) | (uint64_t)p);
        for (int k = 0; k < SG_SCENARIO_WINDOWS; k++) {
                long long ws = win_start(b, k), we = ws + WIN;
                int need = b->target[p][k] - b->sub[p][k];
                size_t m = 0;

                for (size_t i = 0; i < (size_t)b->nbg[p]; i++) {
                        persona_t *u = &users[i];
                        if (u->last + BG_GAP >= we - SEC)
                                continue;
                        /* Least recently seen first, loosely. */
                        cand[m].p = u;
                        cand[m].key =
                            u->last +
                            (long long)sg_rand_below(&r, 8 * (uint64_t)MIN);
                        cand[m].i = i;
                        m++;
                }
                if (m < (size_t)need)
                        return -1;
                qsort(cand, m, sizeof(*cand), bg_cand_cmp);
                for (int j = 0; j < need; j++) {
                        persona_t *u = cand[j].p;
                        long long lo = u->last + BG_GAP > ws
                                           ? u->last + BG_GAP
                                           : ws;
                        long long ts =
                            lo + (long long)sg_rand_below(&r,
                                                          (uint64_t)(we - lo));
                        bg_event(b, &r, u, ts, k);
                }
        }
        return 0;
}

/* ------------------------------------------------------- the countries */

typedef struct country_count {
        const char *code;
        size_t n;
} country_count_t;

static int cc_by_code(const void *a, const void *b)
{
        return strcmp((*(const sg_gen_user_t *const *)a)->country,
                      (*(const sg_gen_user_t *const *)b)->country);
}

static int cc_by_size(const void *a, const void *b)
{
        const country_count_t *x = a, *y = b;

        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return strcmp(x->code, y->code);
}

/* Chooses the background countries (the three largest with distinct
 * alpha-2 parts, one of them EU-27) and fills their pools with their
 * users in a seeded order. Returns 0, or -1 with errstr. */
static int choose_countries(builder_t *b, const size_t *order, size_t n,
                            char *errstr, size_t size)
{
        const sg_gen_user_t **by = sg_xcalloc(n ? n : 1, sizeof(*by));
        country_count_t *cc = sg_xcalloc(n ? n : 1, sizeof(*cc));
        size_t ncc = 0;
        int chosen[NCOUNTRIES], nch = 0, rc = -1;
        bool any_eu = false;

        for (size_t i = 0; i < n; i++)
                by[i] = user_at(b, order[i]);
        qsort(by, n, sizeof(*by), cc_by_code);
        for (size_t i = 0; i < n; i++) {
                if (ncc == 0 || strcmp(cc[ncc - 1].code, by[i]->country) != 0)
                        cc[ncc++].code = by[i]->country;
                cc[ncc - 1].n++;
        }
        qsort(cc, ncc, sizeof(*cc), cc_by_size);
        for (size_t i = 0; i < ncc && nch < NCOUNTRIES; i++) {
                bool clash = false;
                if (strlen(cc[i].code) < 2)
                        continue;
                for (int j = 0; j < nch; j++)
                        if (same_alpha2(cc[chosen[j]].code, cc[i].code))
                                clash = true;
                /* The last place goes to an EU country if none is in. */
                if (!clash && nch == NCOUNTRIES - 1 && !any_eu &&
                    !sg_country_is_eu(cc[i].code))
                        continue;
                if (clash)
                        continue;
                chosen[nch++] = (int)i;
                any_eu |= sg_country_is_eu(cc[i].code);
        }
        if (nch < NCOUNTRIES) {
                errf(errstr, size,
                     "the compliance scenario needs users of 3 countries, "
                     "one of them in the EU (the list has %zu users)",
                     n);
                goto out;
        }
        b->anomaly = -1;
        for (int j = 0; j < NCOUNTRIES; j++) {
                pool_t *pl = &b->pool[j];

                snprintf(pl->country, sizeof(pl->country), "%s",
                         cc[chosen[j]].code);
                pl->idx = sg_xcalloc(cc[chosen[j]].n, sizeof(*pl->idx));
                for (size_t i = 0; i < n; i++)
                        if (strcmp(user_at(b, order[i])->country,
                                   pl->country) == 0)
                                pl->idx[pl->n++] = order[i];
                /* The anomaly's country is a plain code ("DE", not
                 * "US-CA"): its subject id is then the same whether
                 * counted per code or per alpha-2. */
                if (b->anomaly < 0 && !strchr(pl->country, '-'))
                        b->anomaly = j;
        }
        if (b->anomaly < 0) {
                errf(errstr, size,
                     "the compliance scenario needs a country without a "
                     "subdivision among its 3 largest");
                goto out;
        }
        rc = 0;
out:
        free(by);
        free(cc);
        return rc;
}

/* The foreign countries multi_country's users visit: distinct, none of
 * them a background country's or the erased user's. */
static void choose_foreign(builder_t *b)
{
        const char *cand[sizeof(sg_scen_abroad) / sizeof(sg_scen_abroad[0])];
        size_t n = 0;

        for (size_t i = 0; i < sizeof(sg_scen_abroad) / sizeof(*cand); i++) {
                bool taken = b->sc->has_erased &&
                             same_alpha2(sg_scen_abroad[i], b->erased_country);
                for (int p = 0; p < NCOUNTRIES; p++)
                        if (same_alpha2(sg_scen_abroad[i], b->pool[p].country))
                                taken = true;
                if (!taken)
                        cand[n++] = sg_scen_abroad[i];
        }
        /* At most 3 + 1 background/erased clashes: n >= 8. */
        for (size_t i = 0; i < 6; i++) {
                size_t j = i + (size_t)sg_rand_below(&b->r, n - i);
                const char *t = cand[i];
                cand[i] = cand[j];
                cand[j] = t;
                b->foreign[i] = cand[i];
        }
}

/* -------------------------------------------------------------- output */

static int spec_cmp(const void *a, const void *b)
{
        const spec_t *x = a, *y = b;

        if (x->ts != y->ts)
                return x->ts < y->ts ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void put_json(sg_buf_t *o, const spec_t *s, const char *event_id)
{
        char ts[28];
        const char *currency = NULL;

        sg_time_format_rfc3339(s->ts, ts);
        sg_buf_printf(o,
                      "{\"event_id\":\"%s\",\"user_id\":\"%s\","
                      "\"event_type\":\"%s\",\"event_timestamp\":\"%s\","
                      "\"country\":\"%s\"",
                      event_id, s->user_id, sg_event_type_name(s->type), ts,
                      s->country);
        if (s->type == SG_EV_PURCHASE) {
                sg_buf_printf(o, ",\"amount\":%lld.%02lld", s->cents / 100,
                              s->cents % 100);
                currency = sg_gen_currency_for(s->country);
                /* EUR is the default: leave it out now and then. */
                if (strcmp(currency, "EUR") == 0 && s->seq % 3 == 0)
                        currency = NULL;
        }
        if (currency)
                sg_buf_printf(o, ",\"currency\":\"%s\"", currency);
        if (s->consent >= 0)
                sg_buf_printf(o, ",\"has_consent\":%s",
                              s->consent ? "true" : "false");
        if (s->is_eu_field)
                sg_buf_printf(o, ",\"is_eu\":%s",
                              sg_country_is_eu(s->country) ? "true" : "false");
        if (s->dnt >= 0)
                sg_buf_printf(o, ",\"do_not_track\":%s",
                              s->dnt ? "true" : "false");
        sg_buf_printf(o, ",\"device_id\":\"%s\"", s->device);
        if (s->content[0])
                sg_buf_printf(o, ",\"content_id\":\"%s\"", s->content);
        if (s->watch >= 0)
                sg_buf_printf(o, ",\"watch_seconds\":%d", s->watch);
        if (s->error_code)
                sg_buf_printf(o, ",\"error_code\":\"%s\"", s->error_code);
        sg_buf_printf(o,
                      ",\"ip_address\":\"%s\",\"metadata\":{\"app_version\":"
                      "\"1.%u.%u\",\"network_type\":\"%s\"}}",
                      s->ip, s->app_minor, s->app_patch,
                      sg_scen_networks[s->network % 6]);
}

/* Sorts the specs into event-time order and writes the messages. */
static void emit(builder_t *b)
{
        sg_scenario_t *sc = b->sc;
        size_t *off = sg_xcalloc(b->nev ? b->nev : 1, sizeof(*off));
        sg_buf_t o;

        qsort(b->ev, b->nev, sizeof(*b->ev), spec_cmp);
        sc->events = sg_xcalloc(b->nev ? b->nev : 1, sizeof(*sc->events));
        sc->nevents = b->nev;
        sg_buf_init(&o);
        for (size_t i = 0; i < b->nev; i++) {
                sg_scenario_event_t *e = &sc->events[i];
                const spec_t *s = &b->ev[i];
                sg_rand_t r;

                /* Event i's id depends on (seed, i) only. */
                sg_rand_init(&r, b->conf->seed ^ SALT,
                             ((uint64_t)ST_IDS << 32) | (uint64_t)i);
                sg_rand_uuid(&r, e->event_id);
                snprintf(e->key, sizeof(e->key), "%s", s->user_id);
                e->ts_us = s->ts;
                e->role = s->role;
                off[i] = o.len;
                put_json(&o, s, e->event_id);
                e->len = o.len - off[i];
                sg_buf_putc(&o, '\0');
                if (s->ts > sc->max_ts_us)
                        sc->max_ts_us = s->ts;
        }
        /* The buffer moved while it grew: point into it only now. */
        for (size_t i = 0; i < b->nev; i++)
                sc->events[i].json = o.data + off[i];
        if (b->nev == 0)
                sg_buf_fini(&o);
        free(off);
}

/* The anomaly's users for a level: twice the level, 6 events each. */
static int anomaly_users(int level)
{
        return (2 * level + ANOMALY_PER_USER - 1) / ANOMALY_PER_USER;
}

/* How many background users each country gets, once the dedicated users
 * are taken: up to BG_USERS, fewer when the list is short (the level
 * follows), and the anomaly's users kept aside in its country. Returns 0,
 * or -1 with errstr when a country cannot serve BG_LEVEL_FLOOR, saying
 * how many users each needs. */
static int size_background(builder_t *b, char *errstr, size_t size)
{
        int need_bg = (BG_LEVEL_FLOOR * 100 + BG_LEVEL_PCT - 1) / BG_LEVEL_PCT;
        bool short_of = false;
        size_t off;

        for (int p = 0; p < NCOUNTRIES; p++) {
                const pool_t *pl = &b->pool[p];
                long long left = (long long)pl->n - (long long)pl->used;
                int n = left > BG_USERS ? BG_USERS : left < 0 ? 0 : (int)left;

                while (p == b->anomaly && n > 0 &&
                       n + anomaly_users(n * BG_LEVEL_PCT / 100) > left)
                        n--;
                b->nbg[p] = n;
                b->level_cap[p] = n * BG_LEVEL_PCT / 100;
                if (b->level_cap[p] < BG_LEVEL_FLOOR)
                        short_of = true;
        }
        if (!short_of)
                return 0;
        if (!errstr || size == 0)
                return -1;
        off = (size_t)snprintf(errstr, size,
                               "not enough users for the compliance "
                               "scenario:");
        for (int p = 0; p < NCOUNTRIES && off < size; p++) {
                size_t need = b->pool[p].used + (size_t)need_bg;
                if (p == b->anomaly)
                        need += (size_t)anomaly_users(BG_LEVEL_FLOOR);
                off += (size_t)snprintf(errstr + off, size - off,
                                        " %s has %zu, needs %zu%s",
                                        b->pool[p].country, b->pool[p].n, need,
                                        p + 1 < NCOUNTRIES ? ";" : "");
        }
        if (off < size)
                snprintf(errstr + off, size - off,
                         " (sg-seed-users --users 1000 is enough)");
        return -1;
}

/* ------------------------------------------------------------- public */

static int check_conf(const sg_scenario_conf_t *conf, sg_scenario_t *sc,
                      char *errstr, size_t size)
{
        long long end = conf->start_us + SG_SCENARIO_SPAN_US;

        if (conf->start_us % WIN != 0) {
                errf(errstr, size,
                     "the scenario's start must be a multiple of 5 minutes");
                return -1;
        }
        /* The contract's years: 2000..2099. */
        if (conf->start_us < 946684800000000LL ||
            end + SG_SCENARIO_ERASED_SLACK_US > 4102444800000000LL) {
                errf(errstr, size,
                     "the scenario's 3 hours must lie within 2000..2099");
                return -1;
        }
        if (!conf->users || conf->nusers == 0) {
                errf(errstr, size, "no users: run sg-seed-users first");
                return -1;
        }
        if (!conf->erased_user)
                return 0;
        if (!sg_uuid_canon(conf->erased_user, strlen(conf->erased_user),
                           sc->erased_user)) {
                errf(errstr, size, "the erased user is not a UUID");
                return -1;
        }
        if (conf->erased_at_us < conf->start_us ||
            conf->erased_at_us + 3 * SEC >= end + SG_SCENARIO_ERASED_SLACK_US) {
                char a[28], z[28];
                sg_time_format_rfc3339(conf->start_us, a);
                sg_time_format_rfc3339(
                    end + SG_SCENARIO_ERASED_SLACK_US - 3 * SEC, z);
                errf(errstr, size,
                     "the erasure time must lie within the scenario's "
                     "time span, %s .. %s (excluded)",
                     a, z);
                return -1;
        }
        sc->has_erased = true;
        sc->erased_at_us = conf->erased_at_us;
        return 0;
}

int sg_scenario_init(sg_scenario_t *sc, const sg_scenario_conf_t *conf,
                     char *errstr, size_t errstr_size)
{
        builder_t *b = sg_xcalloc(1, sizeof(*b));
        size_t *order = NULL, n = 0;
        persona_t *bg[NCOUNTRIES] = {NULL};
        bg_cand_t *cand = NULL;
        int rc = -1;

        memset(sc, 0, sizeof(*sc));
        b->conf = conf;
        b->sc = sc;
        sc->seed = conf->seed;
        sc->start_us = conf->start_us;
        sc->end_us = conf->start_us + SG_SCENARIO_SPAN_US;
        if (check_conf(conf, sc, errstr, errstr_size) < 0)
                goto out;

        /* The users in a seeded order; the erased one has no other role. */
        order = sg_xcalloc(conf->nusers, sizeof(*order));
        for (size_t i = 0; i < conf->nusers; i++) {
                if (sc->has_erased &&
                    strcmp(conf->users[i].user_id, sc->erased_user) == 0) {
                        snprintf(b->erased_country,
                                 sizeof(b->erased_country), "%s",
                                 conf->users[i].country);
                        continue;
                }
                order[n++] = i;
        }
        sg_rand_init(&b->r, conf->seed ^ SALT, ST_USERS);
        for (size_t i = n; i > 1; i--) {
                size_t j = (size_t)sg_rand_below(&b->r, i);
                size_t t = order[i - 1];
                order[i - 1] = order[j];
                order[j] = t;
        }
        if (choose_countries(b, order, n, errstr, errstr_size) < 0)
                goto out;
        for (int p = 0; p < NCOUNTRIES; p++)
                snprintf(sc->countries[p], sizeof(sc->countries[p]), "%s",
                         b->pool[p].country);
        /* An erased user missing from the list: from the first country. */
        if (sc->has_erased && !b->erased_country[0])
                snprintf(b->erased_country, sizeof(b->erased_country), "%s",
                         b->pool[0].country);

        sg_rand_init(&b->r, conf->seed ^ SALT, ST_ROLES);
        choose_foreign(b);
        role_eu_no_consent(b);
        role_do_not_track(b);
        role_erased(b);
        role_multi_country(b);
        role_multi_network(b);
        role_high_frequency(b);
        role_large_purchase(b);
        role_purchase_burst(b);
        role_repeat_offender(b);
        role_content(b);

        /* What the dedicated users add to the background's countries: the
         * background makes room for it, so it never shows as traffic. */
        for (size_t i = 0; i < b->nev; i++) {
                long long k = (b->ev[i].ts - conf->start_us) / WIN;
                if (k < 0 || k >= SG_SCENARIO_WINDOWS)
                        continue;
                for (int p = 0; p < NCOUNTRIES; p++)
                        if (strcmp(b->ev[i].country, b->pool[p].country) == 0)
                                b->sub[p][k]++;
        }
        if (size_background(b, errstr, errstr_size) < 0)
                goto out;
        for (int p = 0; p < NCOUNTRIES; p++) {
                if (draw_pattern(b, p) < 0) {
                        errf(errstr, errstr_size,
                             "internal error: no background pattern fits "
                             "country %s",
                             b->pool[p].country);
                        goto out;
                }
                sc->levels[p] = b->level[p];
        }
        role_anomaly(b);

        cand = sg_xcalloc(BG_USERS, sizeof(*cand));
        for (int p = 0; p < NCOUNTRIES; p++) {
                bg[p] = sg_xcalloc(BG_USERS, sizeof(*bg[p]));
                for (int i = 0; i < b->nbg[p]; i++) {
                        persona_init(b, &bg[p][i], pool_take(b, p),
                                     b->pool[p].country, "background",
                                     CONSENT_DRAW);
                        bg[p][i].last = conf->start_us - HOUR;
                }
                sc->nbackground += (size_t)b->nbg[p];
        }
        for (int p = 0; p < NCOUNTRIES; p++) {
                if (background_country(b, p, bg[p], cand) < 0) {
                        errf(errstr, errstr_size,
                             "internal error: the background users of %s "
                             "cannot serve a window",
                             b->pool[p].country);
                        goto out;
                }
        }

        sc->nusers = sc->nbackground + b->ndedicated + (sc->has_erased ? 1 : 0);
        emit(b);
        /* Content and country flags only for the windows that close (the
         * layout puts them well before the end: this never drops one). */
        for (size_t i = 0; i < b->nflags;) {
                const sg_scenario_flag_t *f = &sc->flags[i];
                if (strcmp(f->subject_type, "user") != 0 &&
                    f->window_start_us + WIN - 1 >=
                        sc->max_ts_us - SG_SCENARIO_LATENESS_US)
                        sc->flags[i] = sc->flags[--b->nflags];
                else
                        i++;
        }
        sc->nflags = b->nflags;
        if (sc->nflags)
                qsort(sc->flags, sc->nflags, sizeof(*sc->flags), flag_cmp);
        rc = 0;
out:
        for (int p = 0; p < NCOUNTRIES; p++) {
                free(bg[p]);
                free(b->pool[p].idx);
        }
        free(cand);
        free(order);
        free(b->ev);
        if (rc < 0) {
                free(sc->flags);
                sc->flags = NULL;
                sc->nflags = 0;
        }
        free(b);
        return rc;
}

void sg_scenario_fini(sg_scenario_t *sc)
{
        if (!sc)
                return;
        /* Every message lives in the one buffer the first one starts. */
        if (sc->nevents > 0)
                free(sc->events[0].json);
        free(sc->events);
        free(sc->flags);
        sc->events = NULL;
        sc->nevents = 0;
        sc->flags = NULL;
        sc->nflags = 0;
}

char *sg_scenario_truth_text(const sg_scenario_t *sc, size_t *len)
{
        sg_buf_t o;
        char a[28], z[28], line[160];

        sg_buf_init(&o);
        sg_time_format_rfc3339(sc->start_us, a);
        sg_time_format_rfc3339(sc->end_us, z);
        sg_buf_printf(&o,
                      "# sg-generate --scenario compliance: the flags the "
                      "default rules of docs/compliance.md must raise\n"
                      "# seed %llu\n"
                      "# start %s end %s (36 windows of 5 min)\n",
                      (unsigned long long)sc->seed, a, z);
        if (sc->has_erased) {
                sg_time_format_rfc3339(sc->erased_at_us, a);
                sg_buf_printf(&o, "# erased_user %s erased_at %s\n",
                              sc->erased_user, a);
        }
        sg_buf_printf(&o,
                      "# background %zu users: %s %d, %s %d, %s %d events "
                      "per window\n",
                      sc->nbackground, sc->countries[0], sc->levels[0],
                      sc->countries[1], sc->levels[1], sc->countries[2],
                      sc->levels[2]);
        sg_time_format_rfc3339(sc->max_ts_us - SG_SCENARIO_LATENESS_US, a);
        sg_buf_printf(&o,
                      "# events %zu users %zu flags %zu watermark %s\n"
                      "# rule\tsubject_type\tsubject_id\twindow_start\n",
                      sc->nevents, sc->nusers, sc->nflags, a);
        for (size_t i = 0; i < sc->nflags; i++) {
                flag_line(&sc->flags[i], line, sizeof(line));
                sg_buf_puts(&o, line);
                sg_buf_putc(&o, '\n');
        }
        sg_buf_putc(&o, '\0');
        if (len)
                *len = o.len - 1;
        return o.data;
}

/* --------------------------------------------------------- self-check */

typedef struct chk_ev {
        const char *user;
        const char *role;
        long long ts;
        sg_event_type_t type;
        int country; /* index into the country table */
        int title;   /* index into the title table, -1: none */
        bool eu, consent, dnt;
        long long cents;
        char prefix[46];
        size_t pos;
} chk_ev_t;

#define CHK_MAX_NAMES 256

typedef struct chk_names {
        char name[CHK_MAX_NAMES][65];
        int n;
} chk_names_t;

static int intern(chk_names_t *t, const char *s)
{
        for (int i = 0; i < t->n; i++)
                if (strcmp(t->name[i], s) == 0)
                        return i;
        if (t->n == CHK_MAX_NAMES)
                return -1;
        snprintf(t->name[t->n], sizeof(t->name[0]), "%s", s);
        return t->n++;
}

typedef struct chk {
        const sg_scenario_t *sc;
        chk_ev_t *ev;
        size_t n;
        chk_names_t countries, titles;
        sg_scenario_flag_t *rows;
        size_t nrows, caprows;
        char *errstr;
        size_t errsize;
} chk_t;

static void chk_row(chk_t *c, const char *rule, const char *type,
                    const char *id, long long ws)
{
        flags_push(&c->rows, &c->nrows, &c->caprows, rule, type, id, ws);
}

/* A window closes once the watermark (the highest event time minus the
 * lateness: every partition is read to its end) passes its last us. */
static bool chk_closed(const sg_scenario_t *sc, long long k)
{
        return (k + 1) * WIN - 1 < sc->max_ts_us - SG_SCENARIO_LATENESS_US;
}

/* Parses every message as a consumer would. Returns 0, or -1 with
 * errstr. */
static int chk_parse(chk_t *c)
{
        const sg_scenario_t *sc = c->sc;
        char msg[256];

        for (size_t i = 0; i < sc->nevents; i++) {
                const sg_scenario_event_t *e = &sc->events[i];
                chk_ev_t *x = &c->ev[i];
                sg_event_t ev;
                sg_reason_t why = sg_event_parse(e->json, e->len, &ev, msg,
                                                 sizeof(msg));

                if (why != SG_REASON_OK) {
                        errf(c->errstr, c->errsize,
                             "event %zu (%s) breaks the contract: %s: %s", i,
                             e->event_id, sg_reason_name(why), msg);
                        sg_event_fini(&ev);
                        return -1;
                }
                if (strcmp(ev.user_id, e->key) != 0 || ev.ts_us != e->ts_us ||
                    strcmp(ev.event_id, e->event_id) != 0 ||
                    (i > 0 && e->ts_us < sc->events[i - 1].ts_us)) {
                        errf(c->errstr, c->errsize,
                             "event %zu (%s): key, id or time disagree with "
                             "the message, or out of order",
                             i, e->event_id);
                        sg_event_fini(&ev);
                        return -1;
                }
                x->user = e->key;
                x->role = e->role;
                x->ts = ev.ts_us;
                x->type = ev.type;
                x->country = intern(&c->countries, ev.country);
                x->title = -1;
                if (ev.type == SG_EV_PLAY || ev.type == SG_EV_PLAYBACK_ERROR)
                        x->title = intern(&c->titles, ev.content_id);
                x->eu = ev.is_eu;
                x->consent = ev.has_consent;
                x->dnt = ev.do_not_track;
                x->cents = ev.amount_cents;
                snprintf(x->prefix, sizeof(x->prefix), "%s", ev.ip);
                x->pos = i;
                sg_event_fini(&ev);
                if (x->country < 0 ||
                    (x->title < 0 && (x->type == SG_EV_PLAY ||
                                      x->type == SG_EV_PLAYBACK_ERROR))) {
                        errf(c->errstr, c->errsize,
                             "more than %d countries or titles",
                             CHK_MAX_NAMES);
                        return -1;
                }
        }
        return 0;
}

static int str_ptr_cmp(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int chk_unique_ids(chk_t *c)
{
        const sg_scenario_t *sc = c->sc;
        const char **ids = sg_xcalloc(sc->nevents + 1, sizeof(*ids));
        int rc = 0;

        for (size_t i = 0; i < sc->nevents; i++)
                ids[i] = sc->events[i].event_id;
        qsort(ids, sc->nevents, sizeof(*ids), str_ptr_cmp);
        for (size_t i = 1; i < sc->nevents; i++) {
                if (strcmp(ids[i - 1], ids[i]) == 0) {
                        errf(c->errstr, c->errsize, "event id %s twice",
                             ids[i]);
                        rc = -1;
                        break;
                }
        }
        free(ids);
        return rc;
}

/* (a) traffic_anomaly and (b) content_error_rate over the closing
 * windows. */
static void chk_windows(chk_t *c)
{
        const sg_scenario_t *sc = c->sc;
        long long k0, nk;
        int *cnt, *play, *err;

        if (sc->nevents == 0)
                return;
        k0 = c->ev[0].ts / WIN;
        nk = c->ev[c->n - 1].ts / WIN - k0 + 1;
        cnt = sg_xcalloc((size_t)(c->countries.n * nk), sizeof(*cnt));
        play = sg_xcalloc((size_t)((c->titles.n + 1) * nk), sizeof(*play));
        err = sg_xcalloc((size_t)((c->titles.n + 1) * nk), sizeof(*err));
        for (size_t i = 0; i < c->n; i++) {
                const chk_ev_t *x = &c->ev[i];
                long long k = x->ts / WIN - k0;
                cnt[x->country * nk + k]++;
                if (x->title >= 0) {
                        if (x->type == SG_EV_PLAYBACK_ERROR)
                                err[x->title * nk + k]++;
                        else
                                play[x->title * nk + k]++;
                }
        }
        for (int ct = 0; ct < c->countries.n; ct++) {
                const int *x = &cnt[ct * nk];
                long long first = 0, hist = 0;
                double mean = 0.0, var = 0.0;

                while (first < nk && x[first] == 0)
                        first++;
                /* Empty windows count 0 from the country's first on. */
                for (long long k = first; k < nk && chk_closed(sc, k0 + k);
                     k++) {
                        double d = x[k] - mean;
                        if (hist == 0) {
                                mean = x[k];
                                var = 0.0;
                                hist = 1;
                                continue;
                        }
                        if (hist >= CHK_TA_HISTORY) {
                                double sd = sqrt(var);
                                if (fabs(d) > CHK_TA_SIGMAS *
                                                  (sd > CHK_TA_MIN_SD
                                                       ? sd
                                                       : CHK_TA_MIN_SD))
                                        chk_row(c, "traffic_anomaly",
                                                "country",
                                                c->countries.name[ct],
                                                (k0 + k) * WIN);
                        }
                        mean += CHK_TA_ALPHA * d;
                        var = (1.0 - CHK_TA_ALPHA) *
                              (var + CHK_TA_ALPHA * d * d);
                        hist++;
                }
        }
        for (int t = 0; t < c->titles.n; t++) {
                for (long long k = 0; k < nk && chk_closed(sc, k0 + k); k++) {
                        int e = err[t * nk + k], all = e + play[t * nk + k];
                        /* e / all > 0.20, in integers. */
                        if (all >= CHK_CER_MIN && e * CHK_CER_DIV > all)
                                chk_row(c, "content_error_rate", "content",
                                        c->titles.name[t], (k0 + k) * WIN);
                }
        }
        free(cnt);
        free(play);
        free(err);
}

/* A windowed user rule's current flag: raised at an event that fires
 * outside the current period, extended inside it. */
typedef struct chk_flag {
        bool on;
        long long start, end;
} chk_flag_t;

static void chk_fire(chk_t *c, chk_flag_t *f, const char *rule,
                     const char *user, long long ts, long long first,
                     long long w)
{
        if (f->on && ts >= f->start && ts <= f->end)
                return; /* extends */
        f->on = true;
        f->start = first;
        f->end = first + w;
        chk_row(c, rule, "user", user, first);
}

static int chk_distinct(const chk_ev_t *const *e, size_t lo, size_t hi,
                        bool countries)
{
        int n = 0;

        for (size_t i = lo; i <= hi; i++) {
                bool seen = false;
                for (size_t j = lo; j < i && !seen; j++)
                        seen = countries ? e[j]->country == e[i]->country
                                         : strcmp(e[j]->prefix,
                                                  e[i]->prefix) == 0;
                n += !seen;
        }
        return n;
}

/* (c) One user's events e[0..m), in order: the day rules, the sliding
 * windows, large purchases, repeat offences; and a background user's own
 * limits. Returns 0, or -1 with errstr. */
static int chk_user(chk_t *c, const chk_ev_t *const *e, size_t m,
                    bool *offending)
{
        const sg_scenario_t *sc = c->sc;
        const char *u = e[0]->user;
        chk_flag_t mc = {0}, mn = {0}, hf = {0}, pb = {0}, ro = {0};
        long long day_eu = -1, day_dnt = -1, day_er = -1;
        bool bg = strcmp(e[0]->role, "background") == 0;

        for (size_t i = 0; i < m; i++) {
                const chk_ev_t *x = e[i];
                long long day = sg_time_utc_day(x->ts) * SG_TIME_US_PER_DAY;
                size_t lo;

                offending[i] = false;
                if (x->eu && !x->consent && day != day_eu) {
                        day_eu = day;
                        chk_row(c, "eu_no_consent", "user", u, day);
                }
                if (x->dnt && day != day_dnt) {
                        day_dnt = day;
                        chk_row(c, "do_not_track", "user", u, day);
                }
                if (sc->has_erased && strcmp(u, sc->erased_user) == 0 &&
                    x->ts > sc->erased_at_us && day != day_er) {
                        day_er = day;
                        chk_row(c, "erased_user_activity", "user", u, day);
                }
                if (x->type == SG_EV_PURCHASE && x->cents > CHK_LP_CENTS) {
                        chk_row(c, "large_purchase", "user", u, x->ts);
                        offending[i] = true;
                }
                /* The 1-hour rules: the events in [t - 1 h, t]. */
                for (lo = 0; e[lo]->ts < x->ts - HOUR; lo++)
                        ;
                if (chk_distinct(e, lo, i, true) > CHK_MC_MAX) {
                        chk_fire(c, &mc, "multi_country", u, x->ts,
                                 e[lo]->ts, CHK_MC_WIN);
                        offending[i] = true;
                }
                if (chk_distinct(e, lo, i, false) > CHK_MN_MAX) {
                        chk_fire(c, &mn, "multi_network", u, x->ts,
                                 e[lo]->ts, CHK_MN_WIN);
                        offending[i] = true;
                }
                if (i - lo + 1 > CHK_HF_MAX)
                        chk_fire(c, &hf, "high_frequency", u, x->ts,
                                 e[lo]->ts, CHK_HF_WIN);
                if (bg && i - lo + 1 > CHK_BG_HOUR_MAX) {
                        errf(c->errstr, c->errsize,
                             "background user %s: %zu events in an hour", u,
                             i - lo + 1);
                        return -1;
                }
                /* Purchases in [t - 10 s, t], at a purchase. */
                if (x->type == SG_EV_PURCHASE) {
                        int np = 0;
                        long long first = x->ts;
                        for (size_t j = 0; j <= i; j++) {
                                if (e[j]->type != SG_EV_PURCHASE ||
                                    e[j]->ts < x->ts - CHK_PB_WIN)
                                        continue;
                                if (np++ == 0)
                                        first = e[j]->ts;
                        }
                        if (np > CHK_PB_MAX) {
                                chk_fire(c, &pb, "purchase_burst", u, x->ts,
                                         first, CHK_PB_WIN);
                                offending[i] = true;
                        }
                        if (bg && (np > 1 || x->cents > BG_MAX_CENTS)) {
                                errf(c->errstr, c->errsize,
                                     "background user %s: purchases 10 s "
                                     "apart or above 100.00",
                                     u);
                                return -1;
                        }
                }
                /* Offending events in [t - 300 s, t]. */
                {
                        int no = 0;
                        long long first = x->ts;
                        for (size_t j = 0; j <= i; j++) {
                                if (!offending[j] ||
                                    e[j]->ts < x->ts - CHK_RO_WIN)
                                        continue;
                                if (no++ == 0)
                                        first = e[j]->ts;
                        }
                        if (no > CHK_RO_MAX)
                                chk_fire(c, &ro, "repeat_offender", u, x->ts,
                                         first, CHK_RO_WIN);
                }
                if (bg && (x->country != e[0]->country ||
                           strcmp(x->prefix, e[0]->prefix) != 0 ||
                           (x->eu && !x->consent) || x->dnt)) {
                        errf(c->errstr, c->errsize,
                             "background user %s: a second country or "
                             "prefix, no consent in the EU, or "
                             "do_not_track",
                             u);
                        return -1;
                }
        }
        return 0;
}

static int chk_by_user(const void *a, const void *b)
{
        const chk_ev_t *const *x = a, *const *y = b;
        int d = strcmp((*x)->user, (*y)->user);

        if (d)
                return d;
        return (*x)->pos < (*y)->pos ? -1 : (*x)->pos > (*y)->pos;
}

static int chk_users(chk_t *c)
{
        const chk_ev_t **by = sg_xcalloc(c->n + 1, sizeof(*by));
        bool *offending = sg_xcalloc(c->n + 1, sizeof(*offending));
        int rc = 0;

        for (size_t i = 0; i < c->n; i++)
                by[i] = &c->ev[i];
        qsort(by, c->n, sizeof(*by), chk_by_user);
        for (size_t i = 0; i < c->n && rc == 0;) {
                size_t j = i;
                while (j < c->n && strcmp(by[j]->user, by[i]->user) == 0)
                        j++;
                rc = chk_user(c, by + i, j - i, offending);
                i = j;
        }
        free(offending);
        free(by);
        return rc;
}

/* The declared truth against what came out, line by line. */
static int chk_compare(chk_t *c)
{
        const sg_scenario_t *sc = c->sc;
        size_t i = 0, j = 0;
        char a[160], z[160];

        if (c->nrows)
                qsort(c->rows, c->nrows, sizeof(*c->rows), flag_cmp);
        while (i < sc->nflags || j < c->nrows) {
                int d;
                if (i < sc->nflags)
                        flag_line(&sc->flags[i], a, sizeof(a));
                if (j < c->nrows)
                        flag_line(&c->rows[j], z, sizeof(z));
                d = i == sc->nflags  ? 1
                    : j == c->nrows ? -1
                                    : strcmp(a, z);
                if (d == 0) {
                        i++;
                        j++;
                        continue;
                }
                /* Tabs would make a poor log line. */
                for (char *p = d < 0 ? a : z; *p; p++)
                        if (*p == '\t')
                                *p = ' ';
                errf(c->errstr, c->errsize,
                     d < 0 ? "declared but not raised by the events: %s"
                           : "raised by the events but not declared: %s",
                     d < 0 ? a : z);
                return -1;
        }
        return 0;
}

int sg_scenario_check(const sg_scenario_t *sc, char *errstr,
                      size_t errstr_size)
{
        chk_t *c = sg_xcalloc(1, sizeof(*c));
        int rc = -1;

        c->sc = sc;
        c->errstr = errstr;
        c->errsize = errstr_size;
        c->n = sc->nevents;
        c->ev = sg_xcalloc(c->n + 1, sizeof(*c->ev));
        for (size_t i = 1; i < sc->nflags; i++) {
                if (flag_cmp(&sc->flags[i - 1], &sc->flags[i]) >= 0) {
                        errf(errstr, errstr_size,
                             "the truth is not sorted or holds a line twice");
                        goto out;
                }
        }
        if (chk_parse(c) < 0 || chk_unique_ids(c) < 0)
                goto out;
        chk_windows(c);
        if (chk_users(c) < 0 || chk_compare(c) < 0)
                goto out;
        rc = 0;
out:
        free(c->rows);
        free(c->ev);
        free(c);
        return rc;
}
