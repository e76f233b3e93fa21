#ifndef SG_DATERANGE_H
#define SG_DATERANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include "sg_cli.h"

/* The date selection shared by the batch tools and the reports:
 *   --date D | --from D [--to D] | --all,
 * default: yesterday (UTC). Dates are YYYY-MM-DD, real calendar dates.
 * Pure: "now" is passed in, so the default is testable. */

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

/* The date options (--date, --from, --to, --all) as an option table over
 * args, for sg_cli; out holds at least 5 entries. Values are checked by
 * sg_daterange_resolve(). */
void sg_daterange_opts(sg_daterange_args_t *args, sg_opt_t *out);

/* The title of that table in --help. */
#define SG_DATERANGE_TITLE "Dates (UTC; default: yesterday)"

/* A date tool's command line, from scratch: initialises common and args,
 * writes the date options over args into date_opts (at least 5 entries;
 * cli must list date_opts among its tables), parses argv (sg_cli_parse)
 * and resolves the selection against the wall clock into dr. Returns
 * SG_CLI_RUN, or the exit status (a usage error was printed). */
sg_cli_status_t sg_daterange_parse(const sg_cli_t *cli,
                                   sg_cli_common_t *common,
                                   sg_daterange_args_t *args,
                                   sg_opt_t *date_opts, sg_daterange_t *dr,
                                   int argc, char **argv)
    __attribute__((warn_unused_result));

/* Resolves args against now (seconds since the epoch): --date D is D..D;
 * --from D alone runs to yesterday (UTC); nothing given is yesterday.
 * Returns 0, or -1 with a one-line reason in errstr when a date is not a
 * real YYYY-MM-DD date, from is after to, --to comes without --from, or
 * --all / --date / --from are combined. */
int sg_daterange_resolve(const sg_daterange_args_t *args, time_t now,
                         sg_daterange_t *out, char *errstr, size_t errstr_size)
    __attribute__((warn_unused_result));

/* The selection's bounds as PostgreSQL date literals, for
 * "event_date BETWEEN $1::date AND $2::date": from/to, or
 * "-infinity"/"infinity" for --all. The strings live as long as dr. */
const char *sg_daterange_lower(const sg_daterange_t *dr);
const char *sg_daterange_upper(const sg_daterange_t *dr);

/* Describes the selection for humans: "2025-06-01",
 * "2025-06-01..2025-06-07" or "all dates". */
void sg_daterange_describe(const sg_daterange_t *dr, char *out, size_t size);


#endif
