#ifndef SG_TIME_H
#define SG_TIME_H

/* Time, in one place: civil dates (proleptic Gregorian, integer-only: no
 * timegm, no TZ, no locale), RFC 3339 timestamps as the event contract
 * writes them, the forms PostgreSQL reads, and the process's clocks.
 *
 * Timestamps are microseconds since 1970-01-01T00:00:00Z ("ts_us"); days
 * are days since 1970-01-01 (negative before). Everything but the two
 * clocks is pure: rules, metrics and flags never read the wall clock
 * (DESIGN.md, determinism). */

#include <stdbool.h>
#include <stddef.h>

#define SG_TIME_US_PER_DAY 86400000000LL

/* --- Civil dates ------------------------------------------------------ */

/* Days since 1970-01-01 of y-m-d (m 1..12, d 1..31; not checked). */
long long sg_time_days_from_civil(long long y, unsigned m, unsigned d);

/* The date of a day number. */
void sg_time_civil_from_days(long long day, long long *y, unsigned *m,
                             unsigned *d);

/* Days in month m (1..12) of year y. */
int sg_time_days_in_month(long long y, int m);

/* Parses a real calendar date written YYYY-MM-DD (years 0001-9999) into
 * its day number. Returns 0, or -1 for anything else (NULL included). */
int sg_time_parse_date(const char *s, long long *day);

/* Formats a day number as "YYYY-MM-DD" (years clamped to 0000-9999). */
void sg_time_format_day(long long day, char out[11]);

/* The UTC day of a timestamp (floor division: -1 us is day -1). */
long long sg_time_utc_day(long long ts_us);

/* --- Timestamps ------------------------------------------------------- */

/* Parses YYYY-MM-DDTHH:MM:SS[.f{1,6}](Z|+hh:mm|-hh:mm), the event
 * contract's form (docs/event-contract.md), into UTC microseconds. 'T'
 * and 'Z' may be lower case (RFC 3339 section 5.6 note); a space separator
 * is not accepted; the leap second :60 is rejected (it has no place on a
 * POSIX timeline, and a replay must give the same verdict). The year as
 * written must be within [min_year, max_year]. Returns 0, or -1. */
int sg_time_parse_rfc3339(const char *s, int min_year, int max_year,
                          long long *ts_us);

/* "YYYY-MM-DD HH:MM:SS.ffffff+00", what PostgreSQL's timestamptz input
 * reads. Returns the length written (truncated to size - 1). */
size_t sg_time_format_pg(long long ts_us, char *out, size_t size);

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" (RFC 3339, UTC, microseconds). */
void sg_time_format_rfc3339(long long ts_us, char out[28]);

/* --- Clocks ----------------------------------------------------------- */

/* Monotonic clock in milliseconds: durations, deadlines, periods. */
long long sg_time_mono_ms(void);

/* Wall clock in microseconds since the epoch: "processed at" columns and
 * the generator's default event time only. */
long long sg_time_wall_us(void);

/* The UTC date days_back days before now_s (seconds since the epoch), as
 * YYYY-MM-DD. */
void sg_time_utc_date(long long now_s, int days_back, char out[11]);

#endif
