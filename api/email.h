#ifndef SG_API_EMAIL_H
#define SG_API_EMAIL_H

/* The shape check of POST /privacy-requests' e-mail. Pure. */

#include <stdbool.h>

/* True if s looks like an e-mail address: local@domain, at most 254 bytes,
 * a local part of 1-64 characters of RFC 5322's dot-atom (no leading,
 * trailing or double dot), a domain of at least two dot-separated labels
 * of letters, digits and inner hyphens (1-63 each), the last one letters
 * only. ASCII only (an internationalised domain is given in punycode). */
bool sg_api_email_shape(const char *s);

#endif
