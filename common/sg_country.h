#ifndef SG_COUNTRY_H
#define SG_COUNTRY_H

/* Countries as the event contract writes them (docs/event-contract.md):
 * an ISO 3166-1 alpha-2 code ("DE"), optionally with a subdivision
 * ("US-CA", "FR-75"). One table of assigned codes and one of the EU-27
 * member states, for the validator, the generator and the rules. Pure. */

#include <stdbool.h>
#include <stddef.h>

/* True if s[0..len) is a valid country: an officially assigned alpha-2
 * code, optionally '-' and 1-3 upper-case letters or digits. */
bool sg_country_valid(const char *s, size_t len);

/* True if the country's alpha-2 part ("DE" of "DE" or "DE-BY") is an
 * EU-27 member state. Greece is GR (ISO), not EL (EU usage). NULL-safe. */
bool sg_country_is_eu(const char *code);

/* True if code is the subdivision "US-CA" (California: CCPA). */
bool sg_country_is_us_ca(const char *code);

#endif
