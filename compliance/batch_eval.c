#include "batch_eval.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_mask.h"
#include "sg_uuid.h"

int sg_batch_eval_amount(const char *s, long long *cents)
{
        long long units = 0;
        int digits = 0, decimals = 0, frac = 0;

        if (!s || !*s)
                return -1;
        for (; *s >= '0' && *s <= '9'; s++) {
                if (++digits > 15) /* numeric(12,2) has 10 */
                        return -1;
                units = units * 10 + (*s - '0');
        }
        if (digits == 0)
                return -1;
        if (*s == '.') {
                for (s++; *s >= '0' && *s <= '9'; s++) {
                        if (++decimals > 2)
                                return -1;
                        frac = frac * 10 + (*s - '0');
                }
                if (decimals == 0)
                        return -1;
        }
        if (*s)
                return -1;
        if (decimals == 1)
                frac *= 10;
        *cents = units * 100 + frac;
        return 0;
}

int sg_batch_eval_ip(const char *s, char *out, size_t size)
{
        char addr[64];
        const char *slash;
        size_t len;

        if (size == 0)
                return -1;
        out[0] = '\0';
        if (!s || !*s)
                return 0;
        slash = strchr(s, '/');
        len = slash ? (size_t)(slash - s) : strlen(s);
        if (len == 0 || len >= sizeof(addr))
                return -1;
        memcpy(addr, s, len);
        addr[len] = '\0';
        /* The stored value is the validator's prefix already: masking it
         * again changes no bit, and writes it the way the validator did
         * (inet_ntop), whatever text form PostgreSQL chose. */
        return sg_mask_ip(addr, out, size);
}

static bool sg_batch_eval_bool(const char *s, bool *out)
{
        if (s && strcmp(s, "t") == 0)
                *out = true;
        else if (s && strcmp(s, "f") == 0)
                *out = false;
        else
                return false;
        return true;
}

/* Copies an optional string (NULL: "") into out[size]; false if it does
 * not fit. */
static bool sg_batch_eval_str(const char *s, char *out, size_t size)
{
        size_t len = s ? strlen(s) : 0;

        if (len >= size)
                return false;
        memcpy(out, s ? s : "", len);
        out[len] = '\0';
        return true;
}

static bool sg_batch_eval_type(const char *s, sg_event_type_t *type)
{
        for (int t = 0; s && t < SG_EV__CNT; t++)
                if (strcmp(s, sg_event_type_name((sg_event_type_t)t)) == 0) {
                        *type = (sg_event_type_t)t;
                        return true;
                }
        return false;
}

static bool sg_batch_eval_ll(const char *s, long long min, long long max,
                             long long *out)
{
        char *end;
        long long v;

        if (!s || !*s)
                return false;
        v = strtoll(s, &end, 10);
        if (*end || v < min || v > max)
                return false;
        *out = v;
        return true;
}

static int sg_batch_eval_fail(const char *column, char *errstr,
                              size_t errstr_size)
{
        snprintf(errstr, errstr_size, "events_raw.%s: not an event's value",
                 column);
        return -1;
}

int sg_batch_eval_row(const char *const *col, sg_event_t *ev, char *errstr,
                      size_t errstr_size)
{
        long long v;

        memset(ev, 0, sizeof(*ev));
        if (!col[SG_BCOL_EVENT_ID] ||
            !sg_uuid_canon(col[SG_BCOL_EVENT_ID], strlen(col[SG_BCOL_EVENT_ID]),
                           ev->event_id))
                return sg_batch_eval_fail("event_id", errstr, errstr_size);
        if (!col[SG_BCOL_USER_ID] ||
            !sg_uuid_canon(col[SG_BCOL_USER_ID], strlen(col[SG_BCOL_USER_ID]),
                           ev->user_id))
                return sg_batch_eval_fail("user_id", errstr, errstr_size);
        if (!sg_batch_eval_type(col[SG_BCOL_TYPE], &ev->type))
                return sg_batch_eval_fail("event_type", errstr, errstr_size);
        if (!sg_batch_eval_ll(col[SG_BCOL_TS_US], LLONG_MIN, LLONG_MAX,
                              &ev->ts_us))
                return sg_batch_eval_fail("event_timestamp", errstr,
                                          errstr_size);
        if (!col[SG_BCOL_COUNTRY] || !*col[SG_BCOL_COUNTRY] ||
            !sg_batch_eval_str(col[SG_BCOL_COUNTRY], ev->country,
                               sizeof(ev->country)))
                return sg_batch_eval_fail("country", errstr, errstr_size);
        if (!sg_batch_eval_bool(col[SG_BCOL_IS_EU], &ev->is_eu))
                return sg_batch_eval_fail("is_eu", errstr, errstr_size);
        if (sg_batch_eval_amount(col[SG_BCOL_AMOUNT], &ev->amount_cents) < 0)
                return sg_batch_eval_fail("amount", errstr, errstr_size);
        if (!col[SG_BCOL_CURRENCY] || strlen(col[SG_BCOL_CURRENCY]) != 3 ||
            !sg_batch_eval_str(col[SG_BCOL_CURRENCY], ev->currency,
                               sizeof(ev->currency)))
                return sg_batch_eval_fail("currency", errstr, errstr_size);
        if (!sg_batch_eval_bool(col[SG_BCOL_HAS_CONSENT], &ev->has_consent))
                return sg_batch_eval_fail("has_consent", errstr, errstr_size);
        if (!sg_batch_eval_bool(col[SG_BCOL_DO_NOT_TRACK], &ev->do_not_track))
                return sg_batch_eval_fail("do_not_track", errstr, errstr_size);
        if (!sg_batch_eval_str(col[SG_BCOL_DEVICE_ID], ev->device_id,
                               sizeof(ev->device_id)))
                return sg_batch_eval_fail("device_id", errstr, errstr_size);
        if (!sg_batch_eval_str(col[SG_BCOL_CONTENT_ID], ev->content_id,
                               sizeof(ev->content_id)))
                return sg_batch_eval_fail("content_id", errstr, errstr_size);
        ev->watch_seconds = -1;
        if (col[SG_BCOL_WATCH_SECONDS]) {
                if (!sg_batch_eval_ll(col[SG_BCOL_WATCH_SECONDS], 0, INT_MAX,
                                      &v))
                        return sg_batch_eval_fail("watch_seconds", errstr,
                                                  errstr_size);
                ev->watch_seconds = (int)v;
        }
        if (!sg_batch_eval_str(col[SG_BCOL_ERROR_CODE], ev->error_code,
                               sizeof(ev->error_code)))
                return sg_batch_eval_fail("error_code", errstr, errstr_size);
        if (sg_batch_eval_ip(col[SG_BCOL_IP], ev->ip, sizeof(ev->ip)) < 0)
                return sg_batch_eval_fail("ip_truncated", errstr, errstr_size);
        return 0;
}

int sg_batch_eval_only(const char *list, unsigned *mask, char *errstr,
                       size_t errstr_size)
{
        const char *p = list;

        *mask = 0;
        for (;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                char name[64];
                int id;

                if (len == 0) {
                        snprintf(errstr, errstr_size, "empty rule name");
                        return -1;
                }
                if (len >= sizeof(name)) {
                        snprintf(errstr, errstr_size, "unknown rule '%.*s...'",
                                 20, p);
                        return -1;
                }
                memcpy(name, p, len);
                name[len] = '\0';
                id = sg_rule_from_name(name);
                if (id < 0) {
                        snprintf(errstr, errstr_size, "unknown rule '%s'",
                                 name);
                        return -1;
                }
                *mask |= 1u << id;
                if (!comma)
                        return 0;
                p = comma + 1;
        }
}

bool sg_batch_eval_keep(const sg_flag_t *f, unsigned mask, long long from_us,
                        long long to_us)
{
        return (unsigned)f->rule < SG_RULE__CNT && (mask & (1u << f->rule)) &&
               f->window_start_us >= from_us && f->window_start_us < to_us;
}

/* --- Closing ----------------------------------------------------------------- */

sg_flag_t *sg_batch_eval_close(const sg_rules_t *r, long long *watermark,
                               size_t *n)
{
        const sg_rules_conf_t *c = sg_rules_conf(r);
        sg_flag_list_t out = {0};
        sg_baselines_t base = {0};
        size_t nparts, nwin, nclose = 0;
        const sg_wpart_t *win;
        sg_wpart_t *w;
        int32_t *parts;
        long long *max_ts, maxall = LLONG_MIN;

        *n = 0;
        *watermark = LLONG_MIN;
        nparts = sg_rules_parts_touched(r, NULL, NULL, 0);
        parts = sg_xcalloc(nparts + 1, sizeof(*parts));
        max_ts = sg_xcalloc(nparts + 1, sizeof(*max_ts));
        nparts = sg_rules_parts_touched(r, parts, max_ts, nparts);
        for (size_t i = 0; i < nparts; i++)
                if (max_ts[i] > maxall)
                        maxall = max_ts[i];
        free(parts);
        free(max_ts);
        if (maxall == LLONG_MIN)
                return NULL;
        *watermark = maxall - c->lateness_us;

        win = sg_rules_windows(r, &nwin);
        w = sg_xcalloc(nwin + 1, sizeof(*w));
        for (size_t i = 0; i < nwin; i++)
                if ((unsigned)win[i].rule < SG_RULE__CNT &&
                    sg_rules_window_end(c, win[i].rule, win[i].start_us) <
                        *watermark)
                        w[nclose++] = win[i];
        sg_rules_close(c, w, nclose, &base, *watermark, &out);
        free(w);
        free(base.v);
        *n = out.n;
        return out.v;
}
