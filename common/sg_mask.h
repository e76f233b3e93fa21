#ifndef SG_MASK_H
#define SG_MASK_H

/* Masking and redaction: pure functions applied before anything is
 * written anywhere (tables, dead-letter store, logs). */

#include <stdbool.h>
#include <stddef.h>

/* Truncates an IPv4 address to its /24 ("203.0.113.0") and an IPv6
 * address to its /48 ("2001:db8:1::"), written in canonical text form.
 * Returns 0, or -1 if in is not IPv4 or IPv6 text (out is then ""). */
int sg_mask_ip(const char *in, char *out, size_t outsize);

/* True if s (len bytes) contains something that looks like an e-mail
 * address (local@domain.tld). */
bool sg_mask_has_email(const char *s, size_t len);

/* Copies in to out, replacing every e-mail-like token by "[redacted]".
 * Always NUL-terminates (outsize > 0), truncating if needed. Returns the
 * length written (excluding the NUL). */
size_t sg_mask_redact_emails(const char *in, size_t len, char *out,
                             size_t outsize);

/* Prepares a rejected payload for the dead-letter store: truncated to
 * max_bytes of input, e-mail-like tokens redacted, invalid UTF-8
 * sequences and NUL bytes replaced by U+FFFD, so the result is valid
 * UTF-8 text. out must hold 3 * max_bytes + 1 bytes; always
 * NUL-terminated. Returns the length written. */
size_t sg_mask_dlq_payload(const char *in, size_t len, size_t max_bytes,
                           char *out, size_t outsize);

/* True if buf (len bytes) is valid UTF-8 (no overlongs, no surrogates,
 * nothing above U+10FFFF). */
bool sg_mask_utf8_valid(const char *buf, size_t len);

#endif
