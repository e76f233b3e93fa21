#include "gen_event.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "seed_words.h"
#include "sg_rand.h"
#include "sg_country.h"
#include "sg_time.h"

/* What one event says, drawn first; the JSON is written from it after the
 * invalid variants (if any) have changed it. */
typedef struct gen_spec {
        char event_id[37];
        const sg_gen_user_t *user;
        sg_event_type_t type;
        long long ts_us;
        long long amount_cents; /* 0 = absent */
        const char *currency;   /* NULL = absent */
        int has_consent;        /* -1 absent, 0 false, 1 true */
        int is_eu;              /* -1 absent */
        int do_not_track;       /* -1 absent */
        char device_id[24];     /* "" = absent */
        char content_id[12];    /* "" = absent */
        int watch_seconds;      /* -1 = absent */
        const char *error_code; /* NULL = absent */
        char ip[48];            /* "" = absent */
        bool metadata;
        unsigned app_minor, app_patch;
        const char *network;
        char note[112]; /* "" = none */
} gen_spec_t;

/* How the JSON writer departs from the spec, for invalid messages. */
enum {
        GEN_F_DUP_TYPE = 1 << 0,    /* "event_type" twice */
        GEN_F_NO_COUNTRY = 1 << 1,  /* country left out */
        GEN_F_CONSENT_STR = 1 << 2, /* "has_consent":"yes" */
        GEN_F_BAD_ID = 1 << 3,      /* event_id "not-a-uuid" */
        GEN_F_BAD_TS = 1 << 4,      /* month 13, day 45 */
        GEN_F_BAD_TYPE = 1 << 5,    /* event_type "teleport" */
        GEN_F_EXTRA = 1 << 6,       /* top-level "session_token" */
        GEN_F_BAD_UTF8 = 1 << 7,    /* C3 28 inside a metadata string */
};

/* Cumulative weights (percent) of the event types, in enum order. */
static const unsigned sg_gen_type_cum[SG_EV__CNT] = {40, 52, 57, 75,
                                                     83, 88, 98, 100};

static const char *const sg_gen_errors[] = {"E_NETWORK", "E_DRM", "E_DECODE",
                                            "E_TIMEOUT"};
static const char *const sg_gen_tv_brands[] = {"lg", "samsung", "sony"};
static const char *const sg_gen_networks[] = {
    "wifi", "wifi", "wifi", "cellular", "cellular", "ethernet"};

typedef struct gen_out {
        char *p;
        size_t n;
        size_t size;
        bool overflow;
} gen_out_t;

static void put(gen_out_t *o, const char *s, size_t len)
{
        if (o->overflow || o->n + len >= o->size) {
                o->overflow = true;
                return;
        }
        memcpy(o->p + o->n, s, len);
        o->n += len;
}

#define PUTL(o, lit) put(o, lit, sizeof(lit) - 1)

static void puts_(gen_out_t *o, const char *s)
{
        put(o, s, strlen(s));
}

static void put_uint(gen_out_t *o, unsigned long long v)
{
        char tmp[24];
        size_t i = sizeof(tmp);

        do {
                tmp[--i] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        put(o, tmp + i, sizeof(tmp) - i);
}

/* A string field: ,"name":"value" (value from our own lists: no escaping
 * needed). */
static void put_str(gen_out_t *o, const char *name, const char *value)
{
        PUTL(o, ",\"");
        puts_(o, name);
        PUTL(o, "\":\"");
        puts_(o, value);
        PUTL(o, "\"");
}

static void put_bool(gen_out_t *o, const char *name, int v)
{
        PUTL(o, ",\"");
        puts_(o, name);
        if (v)
                PUTL(o, "\":true");
        else
                PUTL(o, "\":false");
}

static void put_2digits(char *p, unsigned v)
{
        p[0] = (char)('0' + v / 10 % 10);
        p[1] = (char)('0' + v % 10);
}

const char *sg_gen_currency_for(const char *country)
{
        static const char *const map[][2] = {
            {"US", "USD"}, {"GB", "GBP"}, {"CH", "CHF"}, {"NO", "NOK"},
            {"CA", "CAD"}, {"BR", "BRL"}, {"JP", "JPY"}, {"AU", "AUD"},
            {"PL", "PLN"}, {"SE", "SEK"}, {"DK", "DKK"},
        };

        for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
                if (country[0] == map[i][0][0] && country[1] == map[i][0][1])
                        return map[i][1];
        return "EUR";
}

/* Small formatters: snprintf dominates the cost of an event otherwise. */
static char *fmt_str(char *p, const char *s)
{
        while (*s)
                *p++ = *s++;
        return p;
}

static char *fmt_uint(char *p, unsigned v)
{
        char tmp[12];
        int n = 0;

        do {
                tmp[n++] = (char)('0' + v % 10);
                v /= 10;
        } while (v);
        while (n > 0)
                *p++ = tmp[--n];
        return p;
}

/* v as lower-case hex: exactly width digits, or (width 0) no leading
 * zeros. */
static char *fmt_hex(char *p, unsigned v, int width)
{
        static const char digits[] = "0123456789abcdef";
        char tmp[8];
        int n = 0;

        do {
                tmp[n++] = digits[v & 0xf];
                v >>= 4;
        } while (v || n < width);
        while (n > 0)
                *p++ = tmp[--n];
        return p;
}

/* A user's few devices: the same user and slot always give the same
 * device_id ("tv_lg_1a2b3c", "ios_...", "android_...", "web_..."). */
static void device_id(uint64_t seed, size_t user_idx, unsigned slot,
                      char out[24])
{
        sg_rand_t d;
        uint64_t h;
        unsigned kind;
        char *p = out;

        sg_rand_init(&d, seed ^ 0x6465766963654964ULL,
                     (uint64_t)user_idx * 4 + slot);
        h = sg_rand_next(&d);
        kind = (unsigned)((h >> 24) % 100);
        if (kind < 30) {
                p = fmt_str(p, "tv_");
                p = fmt_str(p, sg_gen_tv_brands[(h >> 32) % 3]);
                *p++ = '_';
        } else {
                p = fmt_str(p, kind < 55   ? "ios_"
                               : kind < 80 ? "android_"
                                           : "web_");
        }
        p = fmt_hex(p, (unsigned)(h & 0xffffff), 6);
        *p = '\0';
}

static void ip_address(sg_rand_t *r, char out[48])
{
        uint64_t v = sg_rand_next(r);
        char *p = out;

        if (sg_rand_below(r, 100) < 80) {
                /* Public-looking unicast: skip 0, 10, 127 and above 223. */
                unsigned a = 1 + (unsigned)(v % 223);
                if (a == 10 || a == 127)
                        a++;
                p = fmt_uint(p, a);
                *p++ = '.';
                p = fmt_uint(p, (unsigned)(v >> 8) & 0xff);
                *p++ = '.';
                p = fmt_uint(p, (unsigned)(v >> 16) & 0xff);
                *p++ = '.';
                p = fmt_uint(p, 1 + (unsigned)((v >> 24) % 254));
        } else {
                uint64_t w = sg_rand_next(r);
                p = fmt_str(p, "2a0");
                p = fmt_hex(p, (unsigned)(v & 0xf), 1);
                for (int i = 0; i < 7; i++) {
                        *p++ = ':';
                        p = fmt_hex(
                            p,
                            i < 3 ? (unsigned)(v >> (4 + 16 * i)) & 0xffff
                                  : (unsigned)(w >> (16 * (i - 3))) & 0xffff,
                            0);
                }
        }
        *p = '\0';
}

/* A user's networks: a home one (70 % of events) and a mobile one (29 %),
 * the same for the same user and slot, and now and then (1 %) somewhere
 * else (travel, a VPN). Real users reach a service from a few networks;
 * an address drawn afresh for every event made every user of a busy hour
 * trip multi_network, and the flags then measured the generator. */
static void user_ip(uint64_t seed, size_t user_idx, sg_rand_t *r,
                    char out[48])
{
        unsigned t = (unsigned)sg_rand_below(r, 100);
        sg_rand_t d;

        if (t == 0) {
                ip_address(r, out);
                return;
        }
        sg_rand_init(&d, seed ^ 0x6e6574776f726b73ULL,
                     (uint64_t)user_idx * 2 + (t < 71 ? 0 : 1));
        ip_address(&d, out);
}

/* Draws a valid event from r. Most draws are made whatever the event
 * type, so the mix of one field barely shifts the others. */
static void spec_draw(const sg_gen_conf_t *conf, const sg_gen_user_t *users,
                      size_t nusers, long long now_us, sg_rand_t *r,
                      gen_spec_t *s)
{
        size_t user_idx;
        unsigned t;
        double u;
        uint64_t ts_draw;

        memset(s, 0, sizeof(*s));
        sg_rand_uuid(r, s->event_id);
        user_idx = (size_t)sg_rand_below(r, nusers);
        s->user = &users[user_idx];

        t = (unsigned)sg_rand_below(r, 100);
        s->type = SG_EV_PAGE_VIEW;
        while (t >= sg_gen_type_cum[s->type])
                s->type++;

        ts_draw = sg_rand_next(r);
        s->ts_us = conf->ts_span_us > 0
                       ? conf->ts_start_us +
                             (long long)(ts_draw % (uint64_t)conf->ts_span_us)
                       : now_us;

        /* Purchases: 0.99 .. 500.00, most of them small. */
        u = sg_rand_double(r);
        if (s->type == SG_EV_PURCHASE) {
                s->amount_cents = 99 + (long long)(u * u * u * 49901.0);
                s->currency = sg_gen_currency_for(s->user->country);
                if (strcmp(s->currency, "EUR") == 0 &&
                    sg_rand_below(r, 100) < 30)
                        s->currency = NULL; /* EUR is the default */
        }

        u = sg_rand_double(r);
        s->has_consent = u < 0.85 ? 1 : u < 0.95 ? 0 : -1;

        s->is_eu =
            sg_rand_below(r, 2) ? (int)sg_country_is_eu(s->user->country) : -1;

        u = sg_rand_double(r);
        if (strcmp(s->user->country, "US-CA") == 0)
                s->do_not_track = u < 0.20 ? 1 : u < 0.50 ? 0 : -1;
        else
                s->do_not_track = u < 0.01 ? 1 : u < 0.05 ? 0 : -1;

        t = (unsigned)sg_rand_below(r, 100);
        if (t < 97)
                device_id(conf->seed, user_idx, t % 3, s->device_id);

        u = sg_rand_double(r);
        if (sg_event_type_is_playback(s->type)) {
                /* "c_000000".."c_000499", popular ones first. */
                unsigned c = (unsigned)(u * u * 500.0);
                memcpy(s->content_id, "c_000", 5);
                s->content_id[5] = (char)('0' + c / 100);
                s->content_id[6] = (char)('0' + c / 10 % 10);
                s->content_id[7] = (char)('0' + c % 10);
                s->content_id[8] = '\0';
        }

        t = (unsigned)sg_rand_below(r, 7201);
        if (s->type == SG_EV_STOP)
                s->watch_seconds = (int)t;
        else
                s->watch_seconds = -1;

        t = (unsigned)sg_rand_below(r, 4);
        if (s->type == SG_EV_PLAYBACK_ERROR)
                s->error_code = sg_gen_errors[t];

        if (sg_rand_below(r, 100) < 92)
                user_ip(conf->seed, user_idx, r, s->ip);

        s->metadata = sg_rand_below(r, 100) < 95;
        s->app_minor = (unsigned)sg_rand_below(r, 20);
        s->app_patch = (unsigned)sg_rand_below(r, 10);
        s->network = sg_gen_networks[sg_rand_below(r, 6)];
        if (sg_rand_below(r, 100) == 0) {
                /* An e-mail in free text, for the consumers' redaction. */
                memcpy(s->note, "contact ", 8);
                sg_seed_words_email(r, s->note + 8, sizeof(s->note) - 8);
                s->metadata = true;
        }
}

/* Clears what only some event types carry, leaving a plain page_view. */
static void spec_page_view(gen_spec_t *s)
{
        s->type = SG_EV_PAGE_VIEW;
        s->amount_cents = 0;
        s->currency = NULL;
        s->content_id[0] = '\0';
        s->watch_seconds = -1;
        s->error_code = NULL;
}

static void write_json(gen_out_t *o, const gen_spec_t *s, unsigned flags,
                       const char *token)
{
        const char *type =
            flags & GEN_F_BAD_TYPE ? "teleport" : sg_event_type_name(s->type);
        char ts[32];

        PUTL(o, "{\"event_id\":\"");
        puts_(o, flags & GEN_F_BAD_ID ? "not-a-uuid" : s->event_id);
        PUTL(o, "\"");
        put_str(o, "user_id", s->user->user_id);
        put_str(o, "event_type", type);
        if (flags & GEN_F_DUP_TYPE)
                put_str(o, "event_type", type);
        if (flags & GEN_F_BAD_TS) {
                put_str(o, "event_timestamp", "2026-13-45T00:00:00Z");
        } else {
                sg_time_format_rfc3339(s->ts_us, ts);
                put_str(o, "event_timestamp", ts);
        }
        if (!(flags & GEN_F_NO_COUNTRY))
                put_str(o, "country", s->user->country);
        if (s->amount_cents > 0) {
                char frac[3];
                PUTL(o, ",\"amount\":");
                put_uint(o, (unsigned long long)(s->amount_cents / 100));
                put_2digits(frac, (unsigned)(s->amount_cents % 100));
                frac[2] = '\0';
                PUTL(o, ".");
                put(o, frac, 2);
        }
        if (s->currency)
                put_str(o, "currency", s->currency);
        if (flags & GEN_F_CONSENT_STR)
                put_str(o, "has_consent", "yes");
        else if (s->has_consent >= 0)
                put_bool(o, "has_consent", s->has_consent);
        if (s->is_eu >= 0)
                put_bool(o, "is_eu", s->is_eu);
        if (s->do_not_track >= 0)
                put_bool(o, "do_not_track", s->do_not_track);
        if (s->device_id[0])
                put_str(o, "device_id", s->device_id);
        if (s->content_id[0])
                put_str(o, "content_id", s->content_id);
        if (s->watch_seconds >= 0) {
                PUTL(o, ",\"watch_seconds\":");
                put_uint(o, (unsigned)s->watch_seconds);
        }
        if (s->error_code)
                put_str(o, "error_code", s->error_code);
        if (s->ip[0])
                put_str(o, "ip_address", s->ip);
        if (flags & GEN_F_EXTRA)
                put_str(o, "session_token", token);
        if (s->metadata) {
                PUTL(o, ",\"metadata\":{\"app_version\":\"1.");
                put_uint(o, s->app_minor);
                PUTL(o, ".");
                put_uint(o, s->app_patch);
                PUTL(o, "\",\"network_type\":\"");
                if (flags & GEN_F_BAD_UTF8) {
                        /* C3 must start a 2-byte sequence; 28 is '('. */
                        put(o, s->network, 2);
                        PUTL(o, "\xC3\x28");
                        puts_(o, s->network + 2);
                } else {
                        puts_(o, s->network);
                }
                PUTL(o, "\"");
                if (s->note[0])
                        put_str(o, "note", s->note);
                PUTL(o, "}");
        }
        PUTL(o, "}");
}

bool sg_gen_is_invalid(double ratio, uint64_t index, uint64_t *k)
{
        double lo, hi;

        if (!(ratio > 0.0))
                return false;
        if (ratio > 1.0)
                ratio = 1.0;
        lo = floor((double)index * ratio);
        hi = floor((double)(index + 1) * ratio);
        if (hi <= lo)
                return false;
        if (k)
                *k = (uint64_t)lo;
        return true;
}

sg_reason_t sg_gen_invalid_reason(uint64_t k)
{
        return (sg_reason_t)(SG_REASON_TOO_LARGE + k % 10);
}

void sg_gen_event_id(uint64_t seed, uint64_t index, char out[37])
{
        sg_rand_t r;

        /* The first draw of message index, as in spec_draw. */
        sg_rand_init(&r, seed, index);
        sg_rand_uuid(&r, out);
}

size_t sg_gen_event_build(const sg_gen_conf_t *conf, const sg_gen_user_t *users,
                          size_t nusers, uint64_t index, long long now_us,
                          char *buf, size_t size, char key[37],
                          sg_reason_t *intended)
{
        gen_out_t o = {buf, 0, size, false};
        gen_spec_t s;
        sg_rand_t r;
        sg_reason_t reason = SG_REASON_OK;
        unsigned flags = 0;
        uint64_t k = 0;
        char token[20] = "";

        if (size < SG_GEN_EVENT_MAX || nusers == 0)
                return 0;
        sg_rand_init(&r, conf->seed, index);
        spec_draw(conf, users, nusers, now_us, &r, &s);
        memcpy(key, s.user->user_id, 37);
        key[36] = '\0';

        if (sg_gen_is_invalid(conf->invalid_ratio, index, &k))
                reason = sg_gen_invalid_reason(k);

        /* Each variant breaks its rule and nothing else. */
        switch (reason) {
        case SG_REASON_INVALID_UTF8:
                flags |= GEN_F_BAD_UTF8;
                s.metadata = true;
                break;
        case SG_REASON_DUPLICATE_KEY:
                flags |= GEN_F_DUP_TYPE;
                break;
        case SG_REASON_MISSING_FIELD:
                flags |= GEN_F_NO_COUNTRY;
                s.is_eu = -1; /* nothing left to compare it with */
                break;
        case SG_REASON_WRONG_TYPE:
                flags |= GEN_F_CONSENT_STR;
                break;
        case SG_REASON_INVALID_VALUE:
                switch ((k / 10) % 3) {
                case 0:
                        flags |= GEN_F_BAD_ID;
                        break;
                case 1:
                        flags |= GEN_F_BAD_TS;
                        break;
                default:
                        /* An unknown type with no type-specific fields. */
                        spec_page_view(&s);
                        flags |= GEN_F_BAD_TYPE;
                        break;
                }
                break;
        case SG_REASON_UNKNOWN_FIELD:
                flags |= GEN_F_EXTRA;
                snprintf(token, sizeof(token), "st_%016llx",
                         (unsigned long long)sg_rand_next(&r));
                break;
        case SG_REASON_INCONSISTENT:
                if ((k / 10) % 2 == 0) {
                        s.is_eu = !sg_country_is_eu(s.user->country);
                } else {
                        spec_page_view(&s);
                        s.amount_cents =
                            100 + (long long)sg_rand_below(&r, 9900);
                }
                break;
        default:
                break;
        }

        if (reason == SG_REASON_NOT_OBJECT)
                PUTL(&o, "[");
        write_json(&o, &s, flags, token);
        if (reason == SG_REASON_NOT_OBJECT)
                PUTL(&o, "]");
        if (o.overflow)
                return 0;

        if (reason == SG_REASON_MALFORMED_JSON) {
                o.n--; /* the closing brace */
        } else if (reason == SG_REASON_TOO_LARGE) {
                /* Whitespace is valid JSON: only the size is wrong. */
                size_t target = 8300 + (size_t)sg_rand_below(&r, 701);
                if (target > o.n && target < size) {
                        memset(buf + o.n - 1, ' ', target - o.n);
                        buf[target - 1] = '}';
                        o.n = target;
                }
        }
        if (o.n < size)
                buf[o.n] = '\0';
        if (intended)
                *intended = reason;
        return o.n;
}
