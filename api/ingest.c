/* POST /events: split, validate, mask (api/ingest.h). */

#include "ingest.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#define JSMN_STATIC
#define JSMN_STRICT
#include <jsmn.h>

#include "sg_buf.h"
#include "sg_defs.h"
#include "sg_mask.h"

/* The masked form by jansson: parsed, the two fields replaced, written
 * back compact. Only for a key written with escapes, which the splice
 * below cannot see; reals come back with 17 significant digits (the same
 * double). */
static int mask_rewrite(const char *value, size_t len, const sg_event_t *ev,
                        bool meta, char **owned, size_t *owned_len)
{
        json_t *o, *m = NULL;
        json_error_t jerr;
        size_t n;
        char *out;

        o = json_loadb(value, len, 0, &jerr);
        if (!o || !json_is_object(o))
                goto fail;
        if (ev->ip[0] &&
            json_object_set_new(o, "ip_address", json_string(ev->ip)) < 0)
                goto fail;
        if (meta) {
                m = json_loads(ev->metadata, 0, &jerr);
                if (!m || json_object_set_new(o, "metadata", m) < 0)
                        goto fail;
        }
        n = json_dumpb(o, NULL, 0, JSON_COMPACT);
        if (n == 0)
                goto fail;
        out = sg_xmalloc(n + 1);
        json_dumpb(o, out, n, JSON_COMPACT);
        out[n] = '\0';
        json_decref(o);
        *owned = out;
        *owned_len = n;
        return 0;
fail:
        json_decref(o);
        return -1;
}

typedef struct span {
        size_t from, to;   /* replaced bytes [from, to) of the value */
        const char *with;
        bool quote;        /* with goes between double quotes */
} span_t;

int sg_api_ingest_mask(const char *value, size_t len, const sg_event_t *ev,
                       char **owned, size_t *owned_len)
{
        bool meta = ev->metadata && sg_mask_has_email(value, len);
        jsmn_parser jp;
        jsmntok_t *tok;
        span_t sp[2];
        int ntok, nsp = 0, i = 1, found = 0;
        sg_buf_t b;
        size_t at = 0;

        *owned = NULL;
        *owned_len = 0;
        if (!ev->ip[0] && !meta)
                return 0;
        /* Everything else stays byte for byte as sent: the two values are
         * spliced in place of the originals (the event is valid: one
         * object, unique keys). */
        jsmn_init(&jp);
        ntok = jsmn_parse(&jp, value, len, NULL, 0);
        if (ntok < 1)
                return -1;
        tok = sg_xcalloc((size_t)ntok, sizeof(*tok));
        jsmn_init(&jp);
        if (jsmn_parse(&jp, value, len, tok, (unsigned)ntok) != ntok ||
            tok[0].type != JSMN_OBJECT) {
                free(tok);
                return -1;
        }
        for (int k = 0; k < tok[0].size && i + 1 < ntok; k++) {
                const jsmntok_t *key = &tok[i], *val = &tok[i + 1];
                size_t kl = (size_t)(key->end - key->start);
                const char *kt = value + key->start;

                if (memchr(kt, '\\', kl)) {
                        free(tok);
                        return mask_rewrite(value, len, ev, meta, owned,
                                            owned_len);
                }
                if (ev->ip[0] && kl == 10 && memcmp(kt, "ip_address", 10) == 0 &&
                    val->type == JSMN_STRING) {
                        sp[nsp++] = (span_t){(size_t)val->start - 1,
                                             (size_t)val->end + 1, ev->ip, true};
                        found++;
                } else if (meta && kl == 8 && memcmp(kt, "metadata", 8) == 0 &&
                           val->type == JSMN_OBJECT) {
                        sp[nsp++] = (span_t){(size_t)val->start,
                                             (size_t)val->end, ev->metadata,
                                             false};
                        found++;
                }
                /* Next key: past the value's tokens. */
                i += 2;
                while (i < ntok && tok[i].start < val->end)
                        i++;
        }
        free(tok);
        if (found != (ev->ip[0] ? 1 : 0) + (meta ? 1 : 0))
                return mask_rewrite(value, len, ev, meta, owned, owned_len);
        if (nsp == 2 && sp[1].from < sp[0].from) {
                span_t t = sp[0];
                sp[0] = sp[1];
                sp[1] = t;
        }
        sg_buf_init(&b);
        for (int k = 0; k < nsp; k++) {
                sg_buf_append(&b, value + at, sp[k].from - at);
                if (sp[k].quote)
                        sg_buf_putc(&b, '"');
                sg_buf_puts(&b, sp[k].with);
                if (sp[k].quote)
                        sg_buf_putc(&b, '"');
                at = sp[k].to;
        }
        sg_buf_append(&b, value + at, len - at);
        sg_buf_putc(&b, '\0');
        *owned = b.data; /* taken over */
        *owned_len = b.len - 1;
        return 0;
}

static void add_error(sg_api_ingest_t *in, int line, sg_reason_t r, int *cap)
{
        if (in->nerrors == *cap) {
                *cap = *cap ? *cap * 2 : 8;
                in->errors = sg_xrealloc(in->errors,
                                         (size_t)*cap * sizeof(*in->errors));
        }
        in->errors[in->nerrors++] = (sg_api_ingest_error_t){line, r};
}

static bool blank(const char *s, size_t n)
{
        for (size_t i = 0; i < n; i++)
                if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
                        return false;
        return true;
}

sg_api_ingest_rc_t sg_api_ingest_prepare(const char *body, size_t len,
                                         sg_api_body_kind_t kind,
                                         int max_events, sg_api_ingest_t *in)
{
        const char *p = body, *end = body + len;
        int lineno = 0, ecap = 0;

        memset(in, 0, sizeof(*in));
        /* Count first: over the bound, nothing is parsed. */
        if (kind == SG_API_BODY_NDJSON) {
                for (const char *q = body; q < end;) {
                        const char *nl = memchr(q, '\n', (size_t)(end - q));
                        size_t n = nl ? (size_t)(nl - q) : (size_t)(end - q);
                        if (!blank(q, n))
                                in->lines++;
                        q += n + (nl ? 1 : 0);
                }
        } else {
                in->lines = 1;
        }
        if (in->lines > max_events)
                return SG_API_INGEST_TOO_MANY;
        if (in->lines == 0 || (kind == SG_API_BODY_JSON && blank(body, len)))
                return SG_API_INGEST_EMPTY;
        in->items = sg_xcalloc((size_t)in->lines, sizeof(*in->items));

        while (p < end || (kind == SG_API_BODY_JSON && lineno == 0)) {
                const char *nl = kind == SG_API_BODY_NDJSON
                                     ? memchr(p, '\n', (size_t)(end - p))
                                     : NULL;
                size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
                const char *next = p + n + (nl ? 1 : 0);
                sg_api_ingest_item_t *it;
                sg_event_t ev;
                sg_reason_t r;
                char msg[256];

                lineno++;
                if (kind == SG_API_BODY_NDJSON) {
                        if (n > 0 && p[n - 1] == '\r')
                                n--;
                        if (blank(p, n)) {
                                p = next;
                                continue;
                        }
                }
                r = sg_event_parse(p, n, &ev, msg, sizeof(msg));
                if (r != SG_REASON_OK) {
                        add_error(in, lineno, r, &ecap);
                        sg_event_fini(&ev);
                        p = next;
                        if (kind == SG_API_BODY_JSON)
                                break;
                        continue;
                }
                it = &in->items[in->n++];
                memcpy(it->key, ev.user_id, sizeof(it->key));
                memcpy(it->event_id, ev.event_id, sizeof(it->event_id));
                it->value = p;
                it->len = n;
                /* Once a line failed nothing is produced: no need to mask. */
                if (in->nerrors == 0) {
                        if (sg_api_ingest_mask(p, n, &ev, &it->owned,
                                               &it->len) < 0) {
                                sg_event_fini(&ev);
                                sg_api_ingest_fini(in);
                                return SG_API_INGEST_INTERNAL;
                        }
                        if (it->owned)
                                it->value = it->owned;
                        else
                                it->len = n;
                }
                sg_event_fini(&ev);
                p = next;
                if (kind == SG_API_BODY_JSON)
                        break;
        }
        if (in->nerrors > 0) {
                /* All or nothing: no item of this request goes anywhere. */
                for (int i = 0; i < in->n; i++)
                        free(in->items[i].owned);
                free(in->items);
                in->items = NULL;
                in->n = 0;
                return SG_API_INGEST_INVALID;
        }
        return SG_API_INGEST_OK;
}

void sg_api_ingest_fini(sg_api_ingest_t *in)
{
        if (!in)
                return;
        for (int i = 0; i < in->n; i++)
                free(in->items[i].owned);
        free(in->items);
        free(in->errors);
        memset(in, 0, sizeof(*in));
}
