#ifndef SG_DATERANGE_H
#define SG_DATERANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

/* The date selection shared by the batch tools and the reports:
 *   --date D | --from D [--to D] | --all,
 * default: yesterday (UTC). Dates are YYYY-MM-DD, real calendar dates.
 * Pure: "now" is passed in, so the default is testable. */

/* getopt ids of the date options; each binary lists them in its own
 * long-option table ({"date", required_argument, NULL, SG_OPT_DATE}, ...)
 * and hands them to sg_daterange_opt(). */
enum sg_daterange_opt {
        SG_OPT_DATE = 1100, /* after the common options' ids */
        SG_OPT_FROM,
        SG_OPT_TO,
        SG_OPT_ALL,
};

/* The flags as given (pointers into argv; NULL when absent). */
typedef struct sg_daterange_args {
        const char *date;
        const char *from;
        const char *to;
        bool all;
} sg_daterange_args_t;

/* The resolved selection: every date from..to (inclusive), or all dates
 * (then from and to are empty strings). */
typedef struct sg_daterange {
        bool all;
        char from[11];
        char to[11];
} sg_daterange_t;

/* Clears args (nothing given). */
void sg_daterange_args_init(sg_daterange_args_t *args);

/* Records a date option in args. Returns 1 if opt is one of
 * SG_OPT_DATE/FROM/TO/ALL, 0 otherwise (args untouched). Values are
 * checked by sg_daterange_resolve(). */
int sg_daterange_opt(sg_daterange_args_t *args, int opt, const char *arg);

/* Resolves args against now (seconds since the epoch): --date D is D..D;
 * --from D alone runs to yesterday (UTC); nothing given is yesterday.
 * Returns 0, or -1 with a one-line reason in errstr when a date is not a
 * real YYYY-MM-DD date, from is after to, --to comes without --from, or
 * --all / --date / --from are combined. */
int sg_daterange_resolve(const sg_daterange_args_t *args, time_t now,
                         sg_daterange_t *out, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* True if s is a real calendar date written YYYY-MM-DD (years 0001-9999). */
bool sg_daterange_valid_date(const char *s);

/* Writes the UTC date of now as YYYY-MM-DD into out[11], days_back days
 * earlier. */
void sg_daterange_utc_date(time_t now, int days_back, char out[11]);

/* The selection's bounds as PostgreSQL date literals, for
 * "event_date BETWEEN $1::date AND $2::date": from/to, or
 * "-infinity"/"infinity" for --all. The strings live as long as dr. */
const char *sg_daterange_lower(const sg_daterange_t *dr);
const char *sg_daterange_upper(const sg_daterange_t *dr);

/* Describes the selection for humans: "2025-06-01",
 * "2025-06-01..2025-06-07" or "all dates". */
void sg_daterange_describe(const sg_daterange_t *dr, char *out, size_t size);

/* Prints the help lines of the date options. */
void sg_daterange_usage(FILE *fp);

#endif
