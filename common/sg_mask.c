#include "sg_mask.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define SG_MASK_REDACTED "[redacted]"
#define SG_MASK_REDACTED_LEN (sizeof(SG_MASK_REDACTED) - 1)

static const char sg_mask_fffd[3] = {(char)0xEF, (char)0xBF, (char)0xBD};

/* --- UTF-8 ------------------------------------------------------------ */

/* Length of the well-formed UTF-8 sequence at p (n > 0 bytes available),
 * following Unicode Table 3-7: no overlongs, no surrogates, nothing above
 * U+10FFFF. Returns 0 if the sequence is ill-formed and sets *bad to the
 * length of its maximal ill-formed subpart (at least 1), which is what a
 * decoder replaces by one U+FFFD. */
static size_t sg_mask_utf8_seq(const unsigned char *p, size_t n, size_t *bad)
{
        unsigned char c = p[0];
        unsigned char lo = 0x80, hi = 0xBF;
        size_t need;

        if (c < 0x80)
                return 1;
        if (c >= 0xC2 && c <= 0xDF) {
                need = 1;
        } else if (c == 0xE0) {
                need = 2;
                lo = 0xA0; /* overlong below U+0800 */
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
                need = 2;
        } else if (c == 0xED) {
                need = 2;
                hi = 0x9F; /* surrogates U+D800..U+DFFF */
        } else if (c == 0xF0) {
                need = 3;
                lo = 0x90; /* overlong below U+10000 */
        } else if (c >= 0xF1 && c <= 0xF3) {
                need = 3;
        } else if (c == 0xF4) {
                need = 3;
                hi = 0x8F; /* above U+10FFFF */
        } else {
                *bad = 1; /* 80..C1, F5..FF never start a sequence */
                return 0;
        }
        for (size_t i = 1; i <= need; i++) {
                if (i >= n || p[i] < lo || p[i] > hi) {
                        *bad = i;
                        return 0;
                }
                lo = 0x80;
                hi = 0xBF;
        }
        return need + 1;
}

bool sg_mask_utf8_valid(const char *buf, size_t len)
{
        const unsigned char *p = (const unsigned char *)buf;
        size_t i = 0, bad = 0;

        while (i < len) {
                /* Payloads are mostly ASCII: skip 8 bytes at a time. */
                if (len - i >= 8) {
                        uint64_t w;
                        memcpy(&w, p + i, sizeof w);
                        if ((w & UINT64_C(0x8080808080808080)) == 0) {
                                i += 8;
                                continue;
                        }
                }
                size_t n = sg_mask_utf8_seq(p + i, len - i, &bad);
                if (n == 0)
                        return false;
                i += n;
        }
        return true;
}

/* --- IP addresses ----------------------------------------------------- */

int sg_mask_ip(const char *in, char *out, size_t outsize)
{
        unsigned char addr[16];
        int af;

        if (!out || outsize == 0)
                return -1;
        out[0] = '\0';
        if (!in)
                return -1;
        if (inet_pton(AF_INET, in, addr) == 1) {
                af = AF_INET;
                addr[3] = 0;
        } else if (inet_pton(AF_INET6, in, addr) == 1) {
                /* IPv4-mapped addresses are truncated as IPv6 too: the
                 * /48 keeps less than the /24 would, never more. */
                af = AF_INET6;
                memset(addr + 6, 0, 10);
        } else {
                return -1;
        }
        if (!inet_ntop(af, addr, out, (socklen_t)outsize)) {
                out[0] = '\0';
                return -1;
        }
        return 0;
}

/* --- E-mail-like tokens ----------------------------------------------- */

static bool sg_mask_is_alpha(unsigned char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool sg_mask_is_alnum(unsigned char c)
{
        return sg_mask_is_alpha(c) || (c >= '0' && c <= '9');
}

static bool sg_mask_is_local(unsigned char c)
{
        return sg_mask_is_alnum(c) || c == '.' || c == '_' || c == '%' ||
               c == '+' || c == '-';
}

/* End (exclusive) of the longest domain starting at s[p]: labels of
 * [A-Za-z0-9-] separated by single dots, at least one dot, the last label
 * starting with two or more letters (the token ends after those letters,
 * as the usual regular expression would). Returns 0 if there is none.
 * Stops at the first character that cannot be part of a domain, so the
 * total work over all '@' of a string stays linear. */
static size_t sg_mask_domain_end(const char *s, size_t len, size_t p)
{
        size_t label = p, best = 0;
        bool first = true, letters = true;

        for (size_t i = p; i < len; i++) {
                unsigned char c = (unsigned char)s[i];

                if (c == '.') {
                        if (i == label)
                                break; /* empty label */
                        first = false;
                        letters = true;
                        label = i + 1;
                        continue;
                }
                if (!sg_mask_is_alnum(c) && c != '-')
                        break;
                if (!sg_mask_is_alpha(c))
                        letters = false;
                else if (letters && !first && i > label)
                        best = i + 1;
        }
        return best;
}

/* Finds the first e-mail-like token in s[from, len): a maximal run of
 * local-part characters, '@', a domain. Returns true and the token's
 * bounds [*start, *end). Each byte is looked at a bounded number of times:
 * the backward scan stops at the previous '@' (not a local-part
 * character), the forward scan at the next one. */
static bool sg_mask_email_find(const char *s, size_t len, size_t from,
                               size_t *start, size_t *end)
{
        size_t at = from;

        while (at < len) {
                const char *q = memchr(s + at, '@', len - at);
                size_t b, e;

                if (!q)
                        return false;
                at = (size_t)(q - s);
                b = at;
                while (b > from && sg_mask_is_local((unsigned char)s[b - 1]))
                        b--;
                if (b < at) {
                        e = sg_mask_domain_end(s, len, at + 1);
                        if (e) {
                                *start = b;
                                *end = e;
                                return true;
                        }
                }
                at++;
        }
        return false;
}

bool sg_mask_has_email(const char *s, size_t len)
{
        size_t start, end;

        if (!s || len == 0)
                return false;
        return sg_mask_email_find(s, len, 0, &start, &end);
}

/* Appends as much of src[0, n) as fits before the terminating NUL. */
static size_t sg_mask_put(char *out, size_t outsize, size_t o, const char *src,
                          size_t n)
{
        size_t room = outsize - 1 - o;

        if (n > room)
                n = room;
        memcpy(out + o, src, n);
        return o + n;
}

size_t sg_mask_redact_emails(const char *in, size_t len, char *out,
                             size_t outsize)
{
        size_t o = 0, pos = 0, start, end;

        if (!out || outsize == 0)
                return 0;
        if (!in)
                len = 0;
        while (pos < len && o < outsize - 1 &&
               sg_mask_email_find(in, len, pos, &start, &end)) {
                o = sg_mask_put(out, outsize, o, in + pos, start - pos);
                o = sg_mask_put(out, outsize, o, SG_MASK_REDACTED,
                                SG_MASK_REDACTED_LEN);
                pos = end;
        }
        if (pos < len)
                o = sg_mask_put(out, outsize, o, in + pos, len - pos);
        out[o] = '\0';
        return o;
}

/* --- Dead-letter payloads --------------------------------------------- */

/* Where to cut in[0, len) to keep at most max bytes: moved back to the
 * start of a UTF-8 character when a well-formed lead byte is at most 3
 * bytes back, so a character is not split in two. */
static size_t sg_mask_utf8_cut(const char *in, size_t len, size_t max)
{
        const unsigned char *p = (const unsigned char *)in;
        size_t c = max;

        if (max >= len)
                return len;
        while (c > 0 && max - c < 3 && (p[c] & 0xC0) == 0x80)
                c--;
        if (c < max && (p[c] & 0xC0) == 0xC0)
                return c;
        return max;
}

/* Appends all n bytes or nothing (so a character or the redaction marker
 * is never cut in half). Returns false when out is full. */
static bool sg_mask_put_whole(char *out, size_t outsize, size_t *o,
                              const char *src, size_t n)
{
        if (n > outsize - 1 - *o)
                return false;
        memcpy(out + *o, src, n);
        *o += n;
        return true;
}

size_t sg_mask_dlq_payload(const char *in, size_t len, size_t max_bytes,
                           char *out, size_t outsize)
{
        const unsigned char *p = (const unsigned char *)in;
        size_t o = 0, pos = 0, cut, start = 0, end = 0, bad = 0;
        bool email;

        if (!out || outsize == 0)
                return 0;
        if (!in)
                len = 0;
        cut = sg_mask_utf8_cut(in, len, max_bytes);
        /* Look for e-mails in the whole input, not just the kept part: one
         * that straddles the cut is redacted, not left half visible. */
        email = len > 0 && sg_mask_email_find(in, len, 0, &start, &end);
        while (pos < cut) {
                size_t lim;

                if (email && pos == start) {
                        if (!sg_mask_put_whole(out, outsize, &o,
                                               SG_MASK_REDACTED,
                                               SG_MASK_REDACTED_LEN))
                                break;
                        pos = end;
                        email = sg_mask_email_find(in, len, pos, &start, &end);
                        continue;
                }
                /* An e-mail starts with an ASCII byte, so no character
                 * straddles lim. */
                lim = email && start < cut ? start : cut;
                while (pos < lim) {
                        size_t n =
                            p[pos] == 0
                                ? 0
                                : sg_mask_utf8_seq(p + pos, lim - pos, &bad);
                        bool ok;

                        if (n) {
                                ok = sg_mask_put_whole(out, outsize, &o,
                                                       in + pos, n);
                                pos += n;
                        } else {
                                ok = sg_mask_put_whole(out, outsize, &o,
                                                       sg_mask_fffd,
                                                       sizeof sg_mask_fffd);
                                pos += p[pos] == 0 ? 1 : bad;
                        }
                        if (!ok)
                                goto out;
                }
        }
out:
        out[o] = '\0';
        return o;
}
