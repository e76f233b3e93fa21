#include "sg_event.h"
#include "sg_country.h"
#include "sg_defs.h"
#include "sg_mask.h"
#include "sg_time.h"
#include "sg_uuid.h"

#include <errno.h>
#include <jansson.h>
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_EVENT_MAX_AMOUNT 1000000 /* in currency units */
#define SG_EVENT_MAX_WATCH_SECONDS 86400

static const char *const sg_reason_names[SG_REASON__CNT] = {
    [SG_REASON_OK] = "ok",
    [SG_REASON_TOO_LARGE] = "too_large",
    [SG_REASON_INVALID_UTF8] = "invalid_utf8",
    [SG_REASON_MALFORMED_JSON] = "malformed_json",
    [SG_REASON_NOT_OBJECT] = "not_object",
    [SG_REASON_DUPLICATE_KEY] = "duplicate_key",
    [SG_REASON_MISSING_FIELD] = "missing_field",
    [SG_REASON_WRONG_TYPE] = "wrong_type",
    [SG_REASON_INVALID_VALUE] = "invalid_value",
    [SG_REASON_UNKNOWN_FIELD] = "unknown_field",
    [SG_REASON_INCONSISTENT] = "inconsistent",
};

static const char *const sg_event_type_names[SG_EV__CNT] = {
    [SG_EV_PAGE_VIEW] = "page_view", [SG_EV_ADD_TO_CART] = "add_to_cart",
    [SG_EV_PURCHASE] = "purchase",   [SG_EV_PLAY] = "play",
    [SG_EV_PAUSE] = "pause",         [SG_EV_SEEK] = "seek",
    [SG_EV_STOP] = "stop",           [SG_EV_PLAYBACK_ERROR] = "playback_error",
};

const char *sg_reason_name(sg_reason_t r)
{
        if ((unsigned)r >= SG_REASON__CNT)
                return "unknown";
        return sg_reason_names[r];
}

const char *sg_event_type_name(sg_event_type_t t)
{
        if ((unsigned)t >= SG_EV__CNT)
                return "unknown";
        return sg_event_type_names[t];
}

bool sg_event_type_is_playback(sg_event_type_t t)
{
        return t == SG_EV_PLAY || t == SG_EV_PAUSE || t == SG_EV_SEEK ||
               t == SG_EV_STOP || t == SG_EV_PLAYBACK_ERROR;
}

static bool sg_event_is_upper(char c)
{
        return c >= 'A' && c <= 'Z';
}

static bool sg_event_is_digit(char c)
{
        return c >= '0' && c <= '9';
}

int sg_event_parse_timestamp(const char *s, long long *ts_us)
{
        /* The contract's years: 2000-2099, as written. */
        return sg_time_parse_rfc3339(s, 2000, 2099, ts_us);
}

/* --- Fields ----------------------------------------------------------- */

enum sg_event_field {
        SG_F_EVENT_ID,
        SG_F_USER_ID,
        SG_F_EVENT_TYPE,
        SG_F_EVENT_TIMESTAMP,
        SG_F_COUNTRY,
        SG_F_AMOUNT,
        SG_F_CURRENCY,
        SG_F_HAS_CONSENT,
        SG_F_IS_EU,
        SG_F_DO_NOT_TRACK,
        SG_F_DEVICE_ID,
        SG_F_CONTENT_ID,
        SG_F_WATCH_SECONDS,
        SG_F_ERROR_CODE,
        SG_F_IP_ADDRESS,
        SG_F_METADATA,
        SG_F__CNT
};

enum sg_event_jtype {
        SG_J_STRING,
        SG_J_NUMBER, /* integer or real */
        SG_J_INTEGER,
        SG_J_BOOLEAN,
        SG_J_OBJECT,
};

static const struct sg_event_field_def {
        const char *name;
        size_t len;
        enum sg_event_jtype type;
        bool required;
} sg_event_fields[SG_F__CNT] = {
#define SG_FIELD(name, type, req)                                              \
        {                                                                      \
                name, sizeof(name) - 1, type, req                              \
        }
    [SG_F_EVENT_ID] = SG_FIELD("event_id", SG_J_STRING, true),
    [SG_F_USER_ID] = SG_FIELD("user_id", SG_J_STRING, true),
    [SG_F_EVENT_TYPE] = SG_FIELD("event_type", SG_J_STRING, true),
    [SG_F_EVENT_TIMESTAMP] = SG_FIELD("event_timestamp", SG_J_STRING, true),
    [SG_F_COUNTRY] = SG_FIELD("country", SG_J_STRING, true),
    [SG_F_AMOUNT] = SG_FIELD("amount", SG_J_NUMBER, false),
    [SG_F_CURRENCY] = SG_FIELD("currency", SG_J_STRING, false),
    [SG_F_HAS_CONSENT] = SG_FIELD("has_consent", SG_J_BOOLEAN, false),
    [SG_F_IS_EU] = SG_FIELD("is_eu", SG_J_BOOLEAN, false),
    [SG_F_DO_NOT_TRACK] = SG_FIELD("do_not_track", SG_J_BOOLEAN, false),
    [SG_F_DEVICE_ID] = SG_FIELD("device_id", SG_J_STRING, false),
    [SG_F_CONTENT_ID] = SG_FIELD("content_id", SG_J_STRING, false),
    [SG_F_WATCH_SECONDS] = SG_FIELD("watch_seconds", SG_J_INTEGER, false),
    [SG_F_ERROR_CODE] = SG_FIELD("error_code", SG_J_STRING, false),
    [SG_F_IP_ADDRESS] = SG_FIELD("ip_address", SG_J_STRING, false),
    [SG_F_METADATA] = SG_FIELD("metadata", SG_J_OBJECT, false),
#undef SG_FIELD
};

static const char *const sg_event_jtype_names[] = {
    [SG_J_STRING] = "a string",    [SG_J_NUMBER] = "a number",
    [SG_J_INTEGER] = "an integer", [SG_J_BOOLEAN] = "true or false",
    [SG_J_OBJECT] = "an object",
};

/* One top-level value as the checks see it, whichever parser read it:
 * strings point into the parsed document (not NUL-terminated on the fast
 * path; jansson rejects \u0000, so neither holds an embedded NUL). */
enum sg_event_vkind {
        SG_V_ABSENT = 0, /* absent or null */
        SG_V_STRING,
        SG_V_INTEGER,
        SG_V_REAL,
        SG_V_TRUE,
        SG_V_FALSE,
        SG_V_OBJECT,
        SG_V_ARRAY,
};

struct sg_event_val {
        enum sg_event_vkind kind;
        const char *s;
        size_t len;
        long long iv;
        double dv;
};

/* What one parse has found so far. */
struct sg_event_ctx {
        struct sg_event_val f[SG_F__CNT];
        json_t *meta_json; /* slow path: the metadata object, else NULL */
        bool amount_nonzero;
        size_t meta_len;
        char meta[SG_EVENT_MAX_METADATA + 1]; /* compact dump as received */
        char *msg;
        size_t msgsize;
};

static void sg_event_ctx_init(struct sg_event_ctx *ctx, char *msg,
                              size_t msgsize)
{
        memset(ctx->f, 0, sizeof ctx->f);
        ctx->meta_json = NULL;
        ctx->amount_nonzero = false;
        ctx->meta_len = 0;
        ctx->msg = msg;
        ctx->msgsize = msgsize;
        if (msg && msgsize)
                msg[0] = '\0';
}

static bool sg_event_has(const struct sg_event_ctx *ctx, int field)
{
        return ctx->f[field].kind != SG_V_ABSENT;
}

static sg_reason_t __attribute__((format(printf, 3, 4)))
sg_event_fail(struct sg_event_ctx *ctx, sg_reason_t r, const char *fmt, ...)
{
        va_list ap;

        if (ctx->msg && ctx->msgsize) {
                va_start(ap, fmt);
                vsnprintf(ctx->msg, ctx->msgsize, fmt, ap);
                va_end(ap);
        }
        return r;
}

static sg_reason_t sg_event_field_fail(struct sg_event_ctx *ctx, sg_reason_t r,
                                       int field, const char *rule)
{
        return sg_event_fail(ctx, r, "%s: %s", sg_event_fields[field].name,
                             rule);
}

/* Out of memory is not a verdict on the message (dead-lettering a good
 * event would break replay determinism): the one policy, sg_oom. */
static void sg_event_oom(void)
{
        sg_oom("validating an event");
}

static int sg_event_field_find(const char *key, size_t len)
{
        for (int i = 0; i < SG_F__CNT; i++)
                if (sg_event_fields[i].len == len &&
                    memcmp(sg_event_fields[i].name, key, len) == 0)
                        return i;
        return -1;
}

static void sg_event_val_from_json(struct sg_event_val *out, json_t *v)
{
        switch (json_typeof(v)) {
        case JSON_STRING:
                out->kind = SG_V_STRING;
                out->s = json_string_value(v);
                out->len = json_string_length(v);
                break;
        case JSON_INTEGER:
                out->kind = SG_V_INTEGER;
                out->iv = json_integer_value(v);
                break;
        case JSON_REAL:
                out->kind = SG_V_REAL;
                out->dv = json_real_value(v);
                break;
        case JSON_TRUE:
                out->kind = SG_V_TRUE;
                break;
        case JSON_FALSE:
                out->kind = SG_V_FALSE;
                break;
        case JSON_OBJECT:
                out->kind = SG_V_OBJECT;
                break;
        case JSON_ARRAY:
                out->kind = SG_V_ARRAY;
                break;
        case JSON_NULL:
                out->kind = SG_V_ABSENT;
                break;
        }
}

/* Stage 5: one pass over the top-level keys fills ctx->f. */
static sg_reason_t sg_event_collect(struct sg_event_ctx *ctx, json_t *root)
{
        bool unknown = false;

        for (void *it = json_object_iter(root); it;
             it = json_object_iter_next(root, it)) {
                json_t *v = json_object_iter_value(it);
                int i = sg_event_field_find(json_object_iter_key(it),
                                            json_object_iter_key_len(it));

                if (i < 0) {
                        unknown = true; /* the key is payload: not named */
                        continue;
                }
                sg_event_val_from_json(&ctx->f[i], v);
                if (i == SG_F_METADATA && json_is_object(v))
                        ctx->meta_json = v;
        }
        if (unknown)
                return sg_event_fail(ctx, SG_REASON_UNKNOWN_FIELD,
                                     "top-level field not in contract v1");
        return SG_REASON_OK;
}

static bool sg_event_type_ok(const struct sg_event_val *v,
                             enum sg_event_jtype t)
{
        switch (t) {
        case SG_J_STRING:
                return v->kind == SG_V_STRING;
        case SG_J_NUMBER:
                return v->kind == SG_V_INTEGER || v->kind == SG_V_REAL;
        case SG_J_INTEGER:
                return v->kind == SG_V_INTEGER;
        case SG_J_BOOLEAN:
                return v->kind == SG_V_TRUE || v->kind == SG_V_FALSE;
        case SG_J_OBJECT:
                return v->kind == SG_V_OBJECT;
        }
        return false;
}

/* Stages 6 and 7, in table order so the verdict does not depend on the
 * order of the keys. */
static sg_reason_t sg_event_check_presence(struct sg_event_ctx *ctx)
{
        for (int i = 0; i < SG_F__CNT; i++)
                if (sg_event_fields[i].required && !sg_event_has(ctx, i))
                        return sg_event_field_fail(ctx, SG_REASON_MISSING_FIELD,
                                                   i,
                                                   "required, absent or null");
        for (int i = 0; i < SG_F__CNT; i++) {
                if (!sg_event_has(ctx, i) ||
                    sg_event_type_ok(&ctx->f[i], sg_event_fields[i].type))
                        continue;
                return sg_event_fail(
                    ctx, SG_REASON_WRONG_TYPE, "%s: must be %s",
                    sg_event_fields[i].name,
                    sg_event_jtype_names[sg_event_fields[i].type]);
        }
        return SG_REASON_OK;
}

/* Canonical 8-4-4-4-12 hex, copied lower-cased to out[37]. */
static bool sg_event_uuid(const struct sg_event_val *v, char out[37])
{
        return sg_uuid_canon(v->s, v->len, out);
}

/* 1..max bytes of 0x21-0x7E, copied to out[max + 1]. */
static bool sg_event_token(const struct sg_event_val *v, size_t max,
                           char *out)
{
        const char *s = v->s;
        size_t len = v->len;

        if (len < 1 || len > max)
                return false;
        for (size_t i = 0; i < len; i++)
                if (s[i] < 0x21 || s[i] > 0x7E)
                        return false;
        memcpy(out, s, len);
        out[len] = '\0';
        return true;
}

static bool sg_event_type_parse(const struct sg_event_val *v,
                                sg_event_type_t *t)
{
        for (int i = 0; i < SG_EV__CNT; i++)
                if (strlen(sg_event_type_names[i]) == v->len &&
                    memcmp(sg_event_type_names[i], v->s, v->len) == 0) {
                        *t = (sg_event_type_t)i;
                        return true;
                }
        return false;
}

/* Amount rules that hold on every type: at most 2 decimals (checked
 * exactly: the value must survive "%.2f" and back bit for bit), not
 * negative; on purchase also in (0, 1000000]. Sets amount_cents when the
 * value is within range, and ctx->amount_nonzero. */
static sg_reason_t sg_event_amount(struct sg_event_ctx *ctx,
                                   const struct sg_event_val *v,
                                   sg_event_type_t type, sg_event_t *ev)
{
        bool negative, zero, over;

        if (v->kind == SG_V_INTEGER) {
                long long iv = v->iv;

                negative = iv < 0;
                zero = iv == 0;
                over = iv > SG_EVENT_MAX_AMOUNT;
                if (!negative && !over)
                        ev->amount_cents = iv * 100;
        } else {
                /* Big enough for "%.2f" of DBL_MAX (309 digits). */
                char txt[400];
                double dv = v->dv, back;

                snprintf(txt, sizeof txt, "%.2f", dv);
                back = strtod(txt, NULL);
                if (memcmp(&back, &dv, sizeof dv) != 0)
                        return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                                   SG_F_AMOUNT,
                                                   "more than 2 decimals");
                negative = dv < 0;
                zero = dv == 0; /* -0 is 0 */
                over = dv > SG_EVENT_MAX_AMOUNT;
                if (!negative && !over)
                        ev->amount_cents = llround(dv * 100);
        }
        if (negative)
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_AMOUNT, "must not be negative");
        if (type == SG_EV_PURCHASE && (zero || over))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_AMOUNT,
                                           "must be > 0 and <= 1000000 on "
                                           "purchase");
        ctx->amount_nonzero = !zero;
        return SG_REASON_OK;
}

/* Nesting depth of v where v itself is at depth `level`; false as soon as
 * a container deeper than SG_EVENT_MAX_DEPTH is seen. */
static bool sg_event_depth_ok(json_t *v, int level)
{
        if (json_is_object(v)) {
                if (level > SG_EVENT_MAX_DEPTH)
                        return false;
                for (void *it = json_object_iter(v); it;
                     it = json_object_iter_next(v, it))
                        if (!sg_event_depth_ok(json_object_iter_value(it),
                                               level + 1))
                                return false;
        } else if (json_is_array(v)) {
                if (level > SG_EVENT_MAX_DEPTH)
                        return false;
                for (size_t i = 0; i < json_array_size(v); i++)
                        if (!sg_event_depth_ok(json_array_get(v, i), level + 1))
                                return false;
        }
        return true;
}

static sg_reason_t sg_event_metadata(struct sg_event_ctx *ctx, json_t *meta)
{
        size_t n;

        if (!sg_event_depth_ok(meta, 1))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_METADATA,
                                           "nesting deeper than 4");
        /* Returns the full size even when it does not fit. */
        n = json_dumpb(meta, ctx->meta, sizeof ctx->meta, JSON_COMPACT);
        if (n == 0)
                sg_event_oom();
        if (n > SG_EVENT_MAX_METADATA)
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_METADATA,
                                           "over 2048 bytes serialised");
        ctx->meta_len = n;
        return SG_REASON_OK;
}

/* Copies a string value NUL-terminated into text[size]; false if it does
 * not fit (the callers' rules are far shorter). */
static bool sg_event_text(const struct sg_event_val *v, char *text,
                          size_t size)
{
        if (v->len >= size)
                return false;
        memcpy(text, v->s, v->len);
        text[v->len] = '\0';
        return true;
}

/* Stage 8, in table order. Fills the fields of ev as it goes. */
static sg_reason_t sg_event_check_values(struct sg_event_ctx *ctx,
                                         sg_event_t *ev)
{
        const struct sg_event_val *f = ctx->f;
        char text[64]; /* NUL-terminated copy: longer is never valid */
        const char *s;
        size_t len;
        sg_reason_t r;

        if (!sg_event_uuid(&f[SG_F_EVENT_ID], ev->event_id))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_EVENT_ID,
                                           "not a canonical UUID");
        if (!sg_event_uuid(&f[SG_F_USER_ID], ev->user_id))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_USER_ID,
                                           "not a canonical UUID");
        if (!sg_event_type_parse(&f[SG_F_EVENT_TYPE], &ev->type))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_EVENT_TYPE,
                                           "not a known event type");
        if (!sg_event_text(&f[SG_F_EVENT_TIMESTAMP], text, sizeof text) ||
            sg_event_parse_timestamp(text, &ev->ts_us) != 0)
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_EVENT_TIMESTAMP,
                                           "not RFC 3339 with offset, year "
                                           "2000-2099, <= 6 fractional digits");
        s = f[SG_F_COUNTRY].s;
        len = f[SG_F_COUNTRY].len;
        if (!sg_country_valid(s, len))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_COUNTRY,
                                           "not an assigned ISO 3166-1 alpha-2 "
                                           "code with optional subdivision");
        memcpy(ev->country, s, len);
        ev->country[len] = '\0';
        ev->is_eu = sg_country_is_eu(ev->country);
        if (sg_event_has(ctx, SG_F_AMOUNT)) {
                r = sg_event_amount(ctx, &f[SG_F_AMOUNT], ev->type, ev);
                if (r != SG_REASON_OK)
                        return r;
        }
        if (sg_event_has(ctx, SG_F_CURRENCY)) {
                s = f[SG_F_CURRENCY].s;
                if (f[SG_F_CURRENCY].len != 3 || !sg_event_is_upper(s[0]) ||
                    !sg_event_is_upper(s[1]) || !sg_event_is_upper(s[2]))
                        return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                                   SG_F_CURRENCY,
                                                   "not 3 upper-case letters");
                memcpy(ev->currency, s, 3);
                ev->currency[3] = '\0';
        } else {
                memcpy(ev->currency, "EUR", 4);
        }
        ev->has_consent = f[SG_F_HAS_CONSENT].kind == SG_V_TRUE;
        ev->do_not_track = f[SG_F_DO_NOT_TRACK].kind == SG_V_TRUE;
        if (sg_event_has(ctx, SG_F_DEVICE_ID) &&
            !sg_event_token(&f[SG_F_DEVICE_ID], 64, ev->device_id))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_DEVICE_ID,
                                           "not 1-64 printable ASCII without "
                                           "spaces");
        if (sg_event_has(ctx, SG_F_CONTENT_ID) &&
            !sg_event_token(&f[SG_F_CONTENT_ID], 64, ev->content_id))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_CONTENT_ID,
                                           "not 1-64 printable ASCII without "
                                           "spaces");
        ev->watch_seconds = -1;
        if (sg_event_has(ctx, SG_F_WATCH_SECONDS)) {
                long long w = f[SG_F_WATCH_SECONDS].iv;

                if (w < 0 || w > SG_EVENT_MAX_WATCH_SECONDS)
                        return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                                   SG_F_WATCH_SECONDS,
                                                   "not within 0-86400");
                ev->watch_seconds = (int)w;
        }
        if (sg_event_has(ctx, SG_F_ERROR_CODE) &&
            !sg_event_token(&f[SG_F_ERROR_CODE], 32, ev->error_code))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_ERROR_CODE,
                                           "not 1-32 printable ASCII without "
                                           "spaces");
        if (sg_event_has(ctx, SG_F_IP_ADDRESS) &&
            (!sg_event_text(&f[SG_F_IP_ADDRESS], text, sizeof text) ||
             sg_mask_ip(text, ev->ip, sizeof ev->ip) != 0))
                return sg_event_field_fail(ctx, SG_REASON_INVALID_VALUE,
                                           SG_F_IP_ADDRESS,
                                           "not IPv4 or IPv6 text");
        /* The fast path checked and dumped metadata while reading it. */
        if (ctx->meta_json)
                return sg_event_metadata(ctx, ctx->meta_json);
        return SG_REASON_OK;
}

/* Stages 9 and 10. */
static sg_reason_t sg_event_check_rules(struct sg_event_ctx *ctx,
                                        const sg_event_t *ev)
{
        if (ev->type == SG_EV_PURCHASE && !sg_event_has(ctx, SG_F_AMOUNT))
                return sg_event_field_fail(ctx, SG_REASON_MISSING_FIELD,
                                           SG_F_AMOUNT, "required on purchase");
        if (ev->type == SG_EV_PLAYBACK_ERROR &&
            !sg_event_has(ctx, SG_F_ERROR_CODE))
                return sg_event_field_fail(ctx, SG_REASON_MISSING_FIELD,
                                           SG_F_ERROR_CODE,
                                           "required on playback_error");
        if (sg_event_has(ctx, SG_F_IS_EU) &&
            (ctx->f[SG_F_IS_EU].kind == SG_V_TRUE) != ev->is_eu)
                return sg_event_field_fail(ctx, SG_REASON_INCONSISTENT,
                                           SG_F_IS_EU,
                                           "disagrees with country");
        if (ev->type != SG_EV_PURCHASE && ctx->amount_nonzero)
                return sg_event_field_fail(ctx, SG_REASON_INCONSISTENT,
                                           SG_F_AMOUNT,
                                           "non-zero on a non-purchase");
        if (ev->type != SG_EV_PLAYBACK_ERROR &&
            sg_event_has(ctx, SG_F_ERROR_CODE))
                return sg_event_field_fail(ctx, SG_REASON_INCONSISTENT,
                                           SG_F_ERROR_CODE,
                                           "only allowed on playback_error");
        if (sg_event_type_is_playback(ev->type) &&
            !sg_event_has(ctx, SG_F_CONTENT_ID))
                return sg_event_field_fail(ctx, SG_REASON_INCONSISTENT,
                                           SG_F_CONTENT_ID,
                                           "required on playback events");
        if (ev->type != SG_EV_STOP && sg_event_has(ctx, SG_F_WATCH_SECONDS))
                return sg_event_field_fail(ctx, SG_REASON_INCONSISTENT,
                                           SG_F_WATCH_SECONDS,
                                           "only allowed on stop");
        return SG_REASON_OK;
}

/* --- Metadata redaction ----------------------------------------------- */

static bool sg_event_needs_redact(json_t *v)
{
        if (json_is_string(v))
                return sg_mask_has_email(json_string_value(v),
                                         json_string_length(v));
        if (json_is_array(v)) {
                for (size_t i = 0; i < json_array_size(v); i++)
                        if (sg_event_needs_redact(json_array_get(v, i)))
                                return true;
        } else if (json_is_object(v)) {
                for (void *it = json_object_iter(v); it;
                     it = json_object_iter_next(v, it))
                        if (sg_mask_has_email(json_object_iter_key(it),
                                              json_object_iter_key_len(it)) ||
                            sg_event_needs_redact(json_object_iter_value(it)))
                                return true;
        }
        return false;
}

/* Rebuilds obj with every key that contains an e-mail renamed to
 * "[redacted]" ("[redacted]_2", ... if taken), keeping the key order. */
static void sg_event_redact_keys(json_t *obj)
{
        json_t *out = json_object();

        if (!out)
                sg_event_oom();
        for (void *it = json_object_iter(obj); it;
             it = json_object_iter_next(obj, it)) {
                const char *key = json_object_iter_key(it);
                size_t len = json_object_iter_key_len(it);
                json_t *v = json_object_iter_value(it);
                char name[32] = "[redacted]";

                if (sg_mask_has_email(key, len)) {
                        /* Original keys keep their names, so a new name
                         * must avoid them and the names given so far. */
                        for (unsigned k = 2; json_object_get(obj, name) ||
                                             json_object_get(out, name);
                             k++)
                                snprintf(name, sizeof name, "[redacted]_%u", k);
                        key = name;
                        len = strlen(name);
                }
                if (json_object_setn(out, key, len, v) != 0)
                        sg_event_oom();
        }
        if (json_object_clear(obj) != 0 || json_object_update(obj, out) != 0)
                sg_event_oom();
        json_decref(out);
}

/* Replaces every string value holding an e-mail by "[redacted]" and
 * renames keys holding one, at any depth. Recursion is bounded by the
 * depth check already done. */
static void sg_event_redact(json_t *v)
{
        if (json_is_string(v)) {
                if (sg_mask_has_email(json_string_value(v),
                                      json_string_length(v)) &&
                    json_string_set(v, "[redacted]") != 0)
                        sg_event_oom();
        } else if (json_is_array(v)) {
                for (size_t i = 0; i < json_array_size(v); i++)
                        sg_event_redact(json_array_get(v, i));
        } else if (json_is_object(v)) {
                bool keys = false;

                for (void *it = json_object_iter(v); it;
                     it = json_object_iter_next(v, it)) {
                        sg_event_redact(json_object_iter_value(it));
                        if (sg_mask_has_email(json_object_iter_key(it),
                                              json_object_iter_key_len(it)))
                                keys = true;
                }
                if (keys)
                        sg_event_redact_keys(v);
        }
}

/* Only called once the event is accepted: nothing is allocated for a
 * rejected one. */
static void sg_event_fill_metadata(struct sg_event_ctx *ctx, sg_event_t *ev)
{
        json_t *meta = ctx->meta_json;

        if (!sg_event_has(ctx, SG_F_METADATA))
                return;
        if (meta && sg_event_needs_redact(meta)) {
                sg_event_redact(meta);
                ev->metadata = json_dumps(meta, JSON_COMPACT);
                if (!ev->metadata)
                        sg_event_oom();
                return;
        }
        ev->metadata = sg_xmalloc(ctx->meta_len + 1);
        memcpy(ev->metadata, ctx->meta, ctx->meta_len);
        ev->metadata[ctx->meta_len] = '\0';
}

/* --- Parse ------------------------------------------------------------ */

static sg_reason_t sg_event_load(struct sg_event_ctx *ctx, const char *buf,
                                 size_t len, json_t **root)
{
        json_error_t err;

        if (len > SG_EVENT_MAX_VALUE)
                return sg_event_fail(ctx, SG_REASON_TOO_LARGE,
                                     "value is %zu bytes, over %d", len,
                                     SG_EVENT_MAX_VALUE);
        if (!buf && len > 0)
                return sg_event_fail(ctx, SG_REASON_MALFORMED_JSON, "no value");
        /* Before parsing, so invalid UTF-8 wins over any syntax error. */
        if (!sg_mask_utf8_valid(buf, len))
                return sg_event_fail(ctx, SG_REASON_INVALID_UTF8,
                                     "value is not valid UTF-8");
        if (len == 0)
                return sg_event_fail(ctx, SG_REASON_MALFORMED_JSON,
                                     "empty value");
        if (len >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0)
                return sg_event_fail(ctx, SG_REASON_MALFORMED_JSON,
                                     "value starts with a byte order mark");
        *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                           &err);
        if (!*root) {
                /* err.text quotes the input: report the position only. */
                switch (json_error_code(&err)) {
                case json_error_out_of_memory:
                        sg_event_oom();
                        break;
                case json_error_duplicate_key:
                        return sg_event_fail(ctx, SG_REASON_DUPLICATE_KEY,
                                             "duplicate key at byte %d",
                                             err.position);
                case json_error_invalid_utf8:
                        return sg_event_fail(ctx, SG_REASON_INVALID_UTF8,
                                             "invalid UTF-8 at byte %d",
                                             err.position);
                case json_error_numeric_overflow:
                        return sg_event_fail(ctx, SG_REASON_INVALID_VALUE,
                                             "number out of range at byte %d",
                                             err.position);
                default:
                        break;
                }
                return sg_event_fail(ctx, SG_REASON_MALFORMED_JSON,
                                     "not parseable JSON at byte %d",
                                     err.position);
        }
        if (!json_is_object(*root))
                return sg_event_fail(ctx, SG_REASON_NOT_OBJECT,
                                     "top level is not an object");
        return SG_REASON_OK;
}

/* The free-form identifiers pass the contract with an e-mail address in
 * them (printable ASCII, no spaces); like metadata strings, they are
 * redacted before anything is written, so no PII reaches analytics. */
static void sg_event_redact_ids(sg_event_t *ev)
{
        char *ids[3] = {ev->device_id, ev->content_id, ev->error_code};

        for (int i = 0; i < 3; i++)
                if (sg_mask_has_email(ids[i], strlen(ids[i])))
                        memcpy(ids[i], "[redacted]", sizeof("[redacted]"));
}

/* --- Fast path -------------------------------------------------------- */

/* Almost every message is a valid event of a plain shape. For those, jsmn
 * (a tokenizer that allocates nothing) finds the values and the checks
 * above run on them directly: no tree is built. The fast path only ever
 * accepts: on anything it does not fully understand (an escape, a real
 * number in metadata, an unknown key, ...) or any broken rule it gives up
 * and jansson decides, so the verdict, the message and the stored values
 * are the same as with jansson alone (checked by test_event and the fuzz
 * target, which run both). */

#define SG_EVENT_FAST_TOKENS 96
#define SG_EVENT_FAST_KEYS 32 /* per metadata object: more goes to jansson */

struct sg_event_fast {
        const char *buf;
        size_t len;
        const jsmntok_t *tok;
        int ntok;
        int next;       /* next token to read */
        size_t pos;     /* first byte not yet accounted for */
        char *out;      /* metadata dump */
        size_t out_len; /* may exceed the buffer: then it is too long */
};

static bool sg_event_fast_ws(char c)
{
        return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Skips whitespace, then expects c (if not 0) and whitespace after it. */
static bool sg_event_fast_sep(struct sg_event_fast *fp, char c)
{
        while (fp->pos < fp->len && sg_event_fast_ws(fp->buf[fp->pos]))
                fp->pos++;
        if (c) {
                if (fp->pos >= fp->len || fp->buf[fp->pos] != c)
                        return false;
                fp->pos++;
                while (fp->pos < fp->len && sg_event_fast_ws(fp->buf[fp->pos]))
                        fp->pos++;
        }
        return true;
}

/* Takes the next token, which must start exactly at fp->pos: with the
 * separators checked in between, the tokens then cover every byte. */
static const jsmntok_t *sg_event_fast_take(struct sg_event_fast *fp)
{
        const jsmntok_t *t;
        size_t start;

        if (fp->next >= fp->ntok)
                return NULL;
        t = &fp->tok[fp->next++];
        if (t->start < 0 || t->end < t->start)
                return NULL;
        start = (size_t)t->start - (t->type == JSMN_STRING ? 1 : 0);
        if (start != fp->pos)
                return NULL;
        if (t->type == JSMN_STRING) {
                /* No escapes, no control characters: the bytes are the
                 * value (UTF-8 was checked on the whole buffer). */
                for (int i = t->start; i < t->end; i++)
                        if ((unsigned char)fp->buf[i] < 0x20 ||
                            fp->buf[i] == '\\')
                                return NULL;
                fp->pos = (size_t)t->end + 1;
        } else if (t->type == JSMN_PRIMITIVE) {
                fp->pos = (size_t)t->end;
        } else {
                fp->pos = (size_t)t->start + 1; /* inside the container */
        }
        return t;
}

static bool sg_event_fast_lit(const struct sg_event_fast *fp,
                              const jsmntok_t *t, const char *lit)
{
        size_t n = strlen(lit);

        return (size_t)(t->end - t->start) == n &&
               memcmp(fp->buf + t->start, lit, n) == 0;
}

/* A JSON integer jansson reads to the same value and prints back the same
 * way: -?(0|[1-9][0-9]*), at most 18 digits, not "-0". */
static bool sg_event_fast_int(const char *s, size_t n, long long *out)
{
        size_t i = 0;
        long long v = 0;

        if (n > 0 && s[0] == '-')
                i = 1;
        if (i >= n || n - i > 18 || (s[i] == '0' && n - i > 1) ||
            (i == 1 && s[1] == '0'))
                return false;
        for (size_t k = i; k < n; k++) {
                if (!sg_event_is_digit(s[k]))
                        return false;
                v = v * 10 + (s[k] - '0');
        }
        *out = i ? -v : v;
        return true;
}

/* A JSON number with a fraction or an exponent, read as jansson does
 * (strtod; overflow is jansson's error, so not ours to accept). */
static bool sg_event_fast_real(const char *s, size_t n, double *out)
{
        char text[40];
        size_t i = 0;
        bool frac = false, exp = false;
        char *end;

        if (n >= sizeof text)
                return false;
        if (i < n && s[i] == '-')
                i++;
        if (i >= n || !sg_event_is_digit(s[i]) ||
            (s[i] == '0' && i + 1 < n && sg_event_is_digit(s[i + 1])))
                return false;
        while (i < n && sg_event_is_digit(s[i]))
                i++;
        if (i < n && s[i] == '.') {
                frac = true;
                if (++i >= n || !sg_event_is_digit(s[i]))
                        return false;
                while (i < n && sg_event_is_digit(s[i]))
                        i++;
        }
        if (i < n && (s[i] == 'e' || s[i] == 'E')) {
                exp = true;
                if (++i < n && (s[i] == '+' || s[i] == '-'))
                        i++;
                if (i >= n || !sg_event_is_digit(s[i]))
                        return false;
                while (i < n && sg_event_is_digit(s[i]))
                        i++;
        }
        if (i != n || (!frac && !exp))
                return false;
        memcpy(text, s, n);
        text[n] = '\0';
        errno = 0;
        *out = strtod(text, &end);
        return end == text + n && errno == 0 && isfinite(*out);
}

static void sg_event_fast_put(struct sg_event_fast *fp, const char *s,
                              size_t n)
{
        if (fp->out_len + n <= SG_EVENT_MAX_METADATA)
                memcpy(fp->out + fp->out_len, s, n);
        fp->out_len += n;
}

/* Reads one metadata value (the token at fp->next) at depth `level` and
 * appends its compact dump, exactly as json_dumpb(JSON_COMPACT) writes it
 * for the shapes accepted here. */
static bool sg_event_fast_meta(struct sg_event_fast *fp, int level)
{
        const jsmntok_t *t = sg_event_fast_take(fp);
        long long iv;

        if (!t || ((t->type == JSMN_STRING || t->type == JSMN_PRIMITIVE) &&
                   t->size != 0))
                return false; /* a value, never a key */
        switch (t->type) {
        case JSMN_STRING:
                if (sg_mask_has_email(fp->buf + t->start,
                                      (size_t)(t->end - t->start)))
                        return false; /* redaction is jansson's job */
                sg_event_fast_put(fp, fp->buf + t->start - 1,
                                  (size_t)(t->end - t->start) + 2);
                return true;
        case JSMN_PRIMITIVE:
                if (!sg_event_fast_lit(fp, t, "true") &&
                    !sg_event_fast_lit(fp, t, "false") &&
                    !sg_event_fast_lit(fp, t, "null") &&
                    !sg_event_fast_int(fp->buf + t->start,
                                       (size_t)(t->end - t->start), &iv))
                        return false;
                sg_event_fast_put(fp, fp->buf + t->start,
                                  (size_t)(t->end - t->start));
                return true;
        case JSMN_OBJECT:
        case JSMN_ARRAY: {
                bool obj = t->type == JSMN_OBJECT;
                const jsmntok_t *keys[SG_EVENT_FAST_KEYS];
                const jsmntok_t *c = t;

                if (level > SG_EVENT_MAX_DEPTH ||
                    (obj && c->size > SG_EVENT_FAST_KEYS))
                        return false;
                sg_event_fast_put(fp, obj ? "{" : "[", 1);
                if (!sg_event_fast_sep(fp, 0))
                        return false;
                for (int i = 0; i < c->size; i++) {
                        if (i > 0) {
                                if (!sg_event_fast_sep(fp, ','))
                                        return false;
                                sg_event_fast_put(fp, ",", 1);
                        }
                        if (obj) {
                                const jsmntok_t *k = sg_event_fast_take(fp);
                                size_t kn;

                                if (!k || k->type != JSMN_STRING ||
                                    k->size != 1)
                                        return false;
                                kn = (size_t)(k->end - k->start);
                                if (sg_mask_has_email(fp->buf + k->start, kn))
                                        return false;
                                for (int j = 0; j < i; j++)
                                        if ((size_t)(keys[j]->end -
                                                     keys[j]->start) == kn &&
                                            memcmp(fp->buf + keys[j]->start,
                                                   fp->buf + k->start,
                                                   kn) == 0)
                                                return false; /* duplicate */
                                keys[i] = k;
                                sg_event_fast_put(fp, fp->buf + k->start - 1,
                                                  kn + 2);
                                sg_event_fast_put(fp, ":", 1);
                                if (!sg_event_fast_sep(fp, ':'))
                                        return false;
                        }
                        if (!sg_event_fast_meta(fp, level + 1))
                                return false;
                }
                if (!sg_event_fast_sep(fp, 0) || fp->pos >= fp->len ||
                    fp->buf[fp->pos] != (obj ? '}' : ']') ||
                    fp->pos + 1 != (size_t)c->end)
                        return false;
                fp->pos++;
                sg_event_fast_put(fp, obj ? "}" : "]", 1);
                return true;
        }
        default:
                return false;
        }
}

/* One top-level value into ctx->f[field]. */
static bool sg_event_fast_value(struct sg_event_fast *fp,
                                struct sg_event_ctx *ctx, int field)
{
        struct sg_event_val *v = &ctx->f[field];
        const jsmntok_t *t;
        size_t n;

        if (field == SG_F_METADATA && fp->next < fp->ntok &&
            fp->tok[fp->next].type == JSMN_OBJECT) {
                fp->out = ctx->meta;
                fp->out_len = 0;
                if (!sg_event_fast_meta(fp, 1) ||
                    fp->out_len > SG_EVENT_MAX_METADATA)
                        return false;
                ctx->meta_len = fp->out_len;
                v->kind = SG_V_OBJECT;
                return true;
        }
        t = sg_event_fast_take(fp);
        if (!t || t->size != 0)
                return false; /* a container, or a value used as a key */
        n = (size_t)(t->end - t->start);
        if (t->type == JSMN_STRING) {
                v->kind = SG_V_STRING;
                v->s = fp->buf + t->start;
                v->len = n;
        } else if (t->type != JSMN_PRIMITIVE) {
                return false; /* a container where none belongs */
        } else if (sg_event_fast_lit(fp, t, "true")) {
                v->kind = SG_V_TRUE;
        } else if (sg_event_fast_lit(fp, t, "false")) {
                v->kind = SG_V_FALSE;
        } else if (sg_event_fast_lit(fp, t, "null")) {
                v->kind = SG_V_ABSENT;
        } else if (sg_event_fast_int(fp->buf + t->start, n, &v->iv)) {
                v->kind = SG_V_INTEGER;
        } else if (sg_event_fast_real(fp->buf + t->start, n, &v->dv)) {
                v->kind = SG_V_REAL;
        } else {
                return false;
        }
        return true;
}

/* The whole document: one object of known, distinct keys. */
static bool sg_event_fast_read(struct sg_event_ctx *ctx, const char *buf,
                               size_t len)
{
        jsmntok_t tok[SG_EVENT_FAST_TOKENS];
        jsmn_parser p;
        struct sg_event_fast fp = {.buf = buf, .len = len, .tok = tok};
        const jsmntok_t *root;
        unsigned seen = 0;

        if (len == 0 || len > SG_EVENT_MAX_VALUE ||
            !sg_mask_utf8_valid(buf, len))
                return false;
        jsmn_init(&p);
        fp.ntok = jsmn_parse(&p, buf, len, tok, SG_EVENT_FAST_TOKENS);
        if (fp.ntok < 1 || !sg_event_fast_sep(&fp, 0))
                return false;
        root = sg_event_fast_take(&fp);
        if (!root || root->type != JSMN_OBJECT || !sg_event_fast_sep(&fp, 0))
                return false;
        for (int i = 0; i < root->size; i++) {
                const jsmntok_t *k;
                int field;

                if (i > 0 && !sg_event_fast_sep(&fp, ','))
                        return false;
                k = sg_event_fast_take(&fp);
                if (!k || k->type != JSMN_STRING || k->size != 1)
                        return false;
                field = sg_event_field_find(buf + k->start,
                                            (size_t)(k->end - k->start));
                if (field < 0 || (seen & (1u << field)))
                        return false; /* unknown or duplicate key */
                seen |= 1u << field;
                if (!sg_event_fast_sep(&fp, ':') ||
                    !sg_event_fast_value(&fp, ctx, field))
                        return false;
        }
        if (!sg_event_fast_sep(&fp, 0) || fp.pos >= len || buf[fp.pos] != '}' ||
            fp.pos + 1 != (size_t)root->end)
                return false;
        fp.pos++;
        /* Nothing after the object, and no token left unread. */
        return sg_event_fast_sep(&fp, 0) && fp.pos == len &&
               fp.next == fp.ntok;
}

static bool sg_event_fast_enabled = true;
static unsigned long long sg_event_fast_accepted;

void sg_event_set_fast_path(bool on)
{
        sg_event_fast_enabled = on;
}

unsigned long long sg_event_fast_path_accepted(void)
{
        return sg_event_fast_accepted;
}

/* True with *ev filled when the fast path accepts the message. */
static bool sg_event_parse_fast(const char *buf, size_t len, sg_event_t *ev,
                                char *msg, size_t msgsize)
{
        struct sg_event_ctx ctx;

        sg_event_ctx_init(&ctx, msg, msgsize);
        if (!sg_event_fast_read(&ctx, buf, len) ||
            sg_event_check_presence(&ctx) != SG_REASON_OK ||
            sg_event_check_values(&ctx, ev) != SG_REASON_OK ||
            sg_event_check_rules(&ctx, ev) != SG_REASON_OK) {
                memset(ev, 0, sizeof *ev);
                if (msg && msgsize)
                        msg[0] = '\0';
                return false;
        }
        sg_event_fill_metadata(&ctx, ev);
        sg_event_redact_ids(ev);
        sg_event_fast_accepted++;
        return true;
}

sg_reason_t sg_event_parse(const char *buf, size_t len, sg_event_t *ev,
                           char *msg, size_t msgsize)
{
        struct sg_event_ctx ctx;
        json_t *root = NULL;
        sg_reason_t r;

        memset(ev, 0, sizeof *ev);
        if (sg_event_fast_enabled && buf &&
            sg_event_parse_fast(buf, len, ev, msg, msgsize))
                return SG_REASON_OK;
        sg_event_ctx_init(&ctx, msg, msgsize);
        r = sg_event_load(&ctx, buf, len, &root);
        if (r == SG_REASON_OK)
                r = sg_event_collect(&ctx, root);
        if (r == SG_REASON_OK)
                r = sg_event_check_presence(&ctx);
        if (r == SG_REASON_OK)
                r = sg_event_check_values(&ctx, ev);
        if (r == SG_REASON_OK)
                r = sg_event_check_rules(&ctx, ev);
        if (r == SG_REASON_OK) {
                sg_event_fill_metadata(&ctx, ev);
                sg_event_redact_ids(ev);
        } else {
                memset(ev, 0, sizeof *ev);
        }
        json_decref(root);
        return r;
}

void sg_event_fini(sg_event_t *ev)
{
        if (!ev)
                return;
        free(ev->metadata);
        ev->metadata = NULL;
}
