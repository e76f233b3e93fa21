#include "payload.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "sg_mask.h"
#include "sinks.h"

/* "[redacted]" (10 bytes) for an address of at least 5: room for the
 * worst case. */
#define SG_PAYLOAD_CLEAN_SIZE (SG_PAYLOAD_FIELD_MAX * 2 + 1)

/* in without e-mail-like strings, cut to SG_PAYLOAD_FIELD_MAX. */
static const char *sg_payload_clean(const char *in,
                                    char out[SG_PAYLOAD_CLEAN_SIZE])
{
        size_t n = strnlen(in, SG_PAYLOAD_FIELD_MAX);

        /* Cut on a character's boundary, never inside one. */
        while (n > 0 && ((unsigned char)in[n] & 0xc0) == 0x80)
                n--;
        /* Room for every redaction: the result is never cut. */
        sg_mask_redact_emails(in, n, out, SG_PAYLOAD_CLEAN_SIZE);
        return out;
}

/* Appends src to out (at *len, bounded by size - 1), mapping control
 * bytes to spaces and '&', '<', '>' to their entities; a multi-byte
 * character is never cut. */
static void sg_payload_put(char *out, size_t size, size_t *len,
                           const char *src)
{
        for (const unsigned char *s = (const unsigned char *)src; *s; s++) {
                const char *rep = NULL;
                char one[2] = {(char)*s, '\0'};
                size_t n, clen = 1;

                if (*s == '&')
                        rep = "&amp;";
                else if (*s == '<')
                        rep = "&lt;";
                else if (*s == '>')
                        rep = "&gt;";
                else if (*s < 0x20 || *s == 0x7f)
                        one[0] = ' ';
                if (!rep && *s >= 0x80) {
                        /* One UTF-8 character, whole or not at all. */
                        clen = *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : 2;
                        if (strnlen((const char *)s, clen) < clen)
                                return;
                        if (*len + clen >= size)
                                return;
                        memcpy(out + *len, s, clen);
                        *len += clen;
                        out[*len] = '\0';
                        s += clen - 1;
                        continue;
                }
                if (!rep)
                        rep = one;
                n = strlen(rep);
                if (*len + n >= size)
                        return;
                memcpy(out + *len, rep, n + 1);
                *len += n;
        }
}

void sg_payload_text(const sg_payload_alert_t *a, char *out, size_t size)
{
        char clean[SG_PAYLOAD_CLEAN_SIZE];
        char sev[16];
        size_t len = 0, i;

        if (size == 0)
                return;
        out[0] = '\0';
        for (i = 0; a->severity[i] && i < sizeof(sev) - 1; i++)
                sev[i] = (char)toupper((unsigned char)a->severity[i]);
        sev[i] = '\0';
        sg_payload_put(out, size, &len, "[");
        sg_payload_put(out, size, &len, sev);
        sg_payload_put(out, size, &len, "] ");
        sg_payload_put(out, size, &len, a->source);
        sg_payload_put(out, size, &len, " ");
        sg_payload_put(out, size, &len, a->kind);
        sg_payload_put(out, size, &len, " \xe2\x80\x94 "); /* an em dash */
        sg_payload_put(out, size, &len, sg_payload_clean(a->summary, clean));
}

/* json_string, or null for NULL. Aborts on out of memory (jansson's
 * NULL), the policy of docs/conventions.md. */
static json_t *sg_payload_str(const char *s)
{
        json_t *v;

        if (!s)
                return json_null();
        v = json_string(s);
        if (!v)
                sg_oom("jansson string"); /* UTF-8 was checked before */
        return v;
}

/* True if every text field is valid UTF-8 (jansson takes nothing else). */
static bool sg_payload_utf8(const sg_payload_alert_t *a)
{
        const char *f[] = {a->alert_id,     a->source,     a->kind,
                           a->severity,     a->subject_type, a->subject_id,
                           a->summary,      a->created_at, a->cause_at};

        for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++)
                if (f[i] && !sg_mask_utf8_valid(f[i], strlen(f[i])))
                        return false;
        return true;
}

char *sg_payload_body(const sg_payload_alert_t *a, char *errstr,
                      size_t errstr_size)
{
        char summary[SG_PAYLOAD_CLEAN_SIZE], subject[SG_PAYLOAD_CLEAN_SIZE];
        char text[SG_PAYLOAD_TEXT_MAX];
        json_error_t jerr;
        json_t *o = NULL, *counts = NULL;
        char *body = NULL;

        counts = json_loads(a->counts ? a->counts : "{}", 0, &jerr);
        if (!counts || !json_is_object(counts)) {
                snprintf(errstr, errstr_size, "counts is not a JSON object");
                goto out;
        }
        /* Columns are text in UTF-8 (the database's encoding); a value
         * jansson refuses is reported rather than sent half. */
        if (!sg_payload_utf8(a)) {
                snprintf(errstr, errstr_size, "a field is not valid UTF-8");
                goto out;
        }
        sg_payload_text(a, text, sizeof(text));
        o = json_object();
        if (!o)
                sg_oom("jansson object");
        if (json_object_set_new(o, "alert_id", sg_payload_str(a->alert_id)) ||
            json_object_set_new(o, "source", sg_payload_str(a->source)) ||
            json_object_set_new(o, "kind", sg_payload_str(a->kind)) ||
            json_object_set_new(o, "severity", sg_payload_str(a->severity)) ||
            json_object_set_new(o, "subject_type",
                                sg_payload_str(a->subject_type)) ||
            json_object_set_new(
                o, "subject_id",
                sg_payload_str(a->subject_id
                                   ? sg_payload_clean(a->subject_id, subject)
                                   : NULL)) ||
            json_object_set(o, "counts", counts) ||
            json_object_set_new(o, "summary",
                                sg_payload_str(sg_payload_clean(a->summary,
                                                                summary))) ||
            json_object_set_new(o, "text", sg_payload_str(text)) ||
            json_object_set_new(o, "created_at",
                                sg_payload_str(a->created_at)) ||
            json_object_set_new(o, "cause_at", sg_payload_str(a->cause_at)))
                sg_oom("jansson object");
        body = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (!body)
                sg_oom("jansson dump");
out:
        json_decref(o);
        json_decref(counts);
        return body;
}

int sg_payload_sign(const char *secret, size_t secret_len, long long ts,
                    const char *body, size_t body_len,
                    char out[SG_PAYLOAD_SIG_LEN + 1])
{
        static const char hex[] = "0123456789abcdef";
        unsigned char mac[EVP_MAX_MD_SIZE];
        size_t mac_len = 0;
        char prefix[32], digest[] = "SHA256";
        int n = snprintf(prefix, sizeof(prefix), "%lld.", ts);
        OSSL_PARAM params[2];
        EVP_MAC *hmac = NULL;
        EVP_MAC_CTX *ctx = NULL;
        int rc = -1;

        out[0] = '\0';
        if (n < 0 || (size_t)n >= sizeof(prefix))
                return -1;
        params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                     digest, 0);
        params[1] = OSSL_PARAM_construct_end();
        hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;
        if (!ctx)
                goto out;
        if (EVP_MAC_init(ctx, (const unsigned char *)secret, secret_len,
                         params) != 1 ||
            EVP_MAC_update(ctx, (const unsigned char *)prefix, (size_t)n) != 1 ||
            EVP_MAC_update(ctx, (const unsigned char *)body, body_len) != 1 ||
            EVP_MAC_final(ctx, mac, &mac_len, sizeof(mac)) != 1 ||
            mac_len != 32)
                goto out;
        for (size_t i = 0; i < mac_len; i++) {
                out[2 * i] = hex[mac[i] >> 4];
                out[2 * i + 1] = hex[mac[i] & 15];
        }
        out[2 * mac_len] = '\0';
        rc = 0;
out:
        EVP_MAC_CTX_free(ctx);
        EVP_MAC_free(hmac);
        return rc;
}

typedef struct sg_payload_kind {
        const char *kind;
        long long n;
} sg_payload_kind_t;

static int sg_payload_kind_cmp(const void *a, const void *b)
{
        const sg_payload_kind_t *x = a, *y = b;

        if (x->n != y->n)
                return x->n > y->n ? -1 : 1;
        return strcmp(x->kind, y->kind);
}

void sg_payload_digest(const char *const *kinds, const char *const *severities,
                       int n, char **counts, char *summary, size_t size,
                       int *severity)
{
        long long by_sev[4] = {0};
        sg_payload_kind_t *k = sg_xcalloc((size_t)(n > 0 ? n : 1), sizeof(*k));
        json_t *o = json_object(), *bk = json_object(), *bs = json_object();
        size_t len = 0;
        int nk = 0, hi = 1;

        if (!o || !bk || !bs)
                sg_oom("jansson object");
        for (int i = 0; i < n; i++) {
                int r = sg_sinks_severity_rank(severities[i]);
                int j;

                by_sev[r > 0 ? r : 1]++;
                if (r > hi)
                        hi = r;
                for (j = 0; j < nk && strcmp(k[j].kind, kinds[i]) != 0; j++)
                        ;
                if (j == nk)
                        k[nk++].kind = kinds[i];
                k[j].n++;
        }
        qsort(k, (size_t)nk, sizeof(*k), sg_payload_kind_cmp);
        for (int j = 0; j < nk; j++)
                if (json_object_set_new(bk, k[j].kind, json_integer(k[j].n)))
                        sg_oom("jansson object");
        for (int r = 3; r >= 1; r--)
                if (by_sev[r] &&
                    json_object_set_new(bs, sg_sinks_severity_name(r),
                                        json_integer(by_sev[r])))
                        sg_oom("jansson object");
        if (json_object_set_new(o, "alerts", json_integer(n)) ||
            json_object_set_new(o, "by_kind", bk) ||
            json_object_set_new(o, "by_severity", bs))
                sg_oom("jansson object");
        *counts = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (!*counts)
                sg_oom("jansson dump");
        json_decref(o);

        if (size > 0)
                summary[0] = '\0';
        {
                char part[160];
                bool first = true;

                snprintf(part, sizeof(part), "%d more alert%s in the last minute (",
                         n, n == 1 ? "" : "s");
                sg_payload_put(summary, size, &len, part);
                for (int r = 3; r >= 1; r--) {
                        if (!by_sev[r])
                                continue;
                        snprintf(part, sizeof(part), "%s%s %lld",
                                 first ? "" : ", ", sg_sinks_severity_name(r),
                                 by_sev[r]);
                        sg_payload_put(summary, size, &len, part);
                        first = false;
                }
                sg_payload_put(summary, size, &len, "), by kind:");
                for (int j = 0; j < nk; j++) {
                        snprintf(part, sizeof(part), "%s %.100s %lld",
                                 j ? "," : "", k[j].kind, k[j].n);
                        sg_payload_put(summary, size, &len, part);
                }
        }
        *severity = hi;
        free(k);
}
