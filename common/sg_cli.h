#ifndef SG_CLI_H
#define SG_CLI_H

#include <getopt.h>
#include <stdio.h>

/* Options every binary takes. Each main() lists its own long options, then
 * appends these with sg_cli_longopts() and hands every option it does not
 * know to sg_cli_common(). */

#define SG_CLI_MAX_PROPS 64

enum sg_cli_common_opt {
        SG_OPT_HELP = 'h',
        SG_OPT_PROP = 'X',
        SG_OPT_VERSION = 1000,
        SG_OPT_BROKERS,
        SG_OPT_DSN,
        SG_OPT_TOPIC,
        SG_OPT_LOG_LEVEL,
};

typedef struct sg_cli_common {
        const char *brokers;   /* NULL: env, then the sg-broker file */
        const char *dsn;       /* NULL: PG_DSN, then local defaults */
        const char *topic;     /* default "user_events" */
        int log_level;
        int nprops;
        const char *prop_keys[SG_CLI_MAX_PROPS];   /* -X key=value */
        const char *prop_values[SG_CLI_MAX_PROPS];
        char prop_buf[SG_CLI_MAX_PROPS][512];
} sg_cli_common_t;

/* Fills defaults (topic user_events, level info, SG_LOG_LEVEL env). */
void sg_cli_common_init(sg_cli_common_t *c);

/* Concatenates the binary's own options (terminated by a zero entry) and
 * the common ones into out (capacity cap entries, zero-terminated).
 * Returns 0, or -1 if cap is too small. */
int sg_cli_longopts(const struct option *own, struct option *out, int cap);

/* The getopt short-option string of the common options ("hX:"), to be
 * appended to the binary's own. */
#define SG_CLI_SHORTOPTS "hX:"

/* Handles an option the binary does not know itself (the default: branch
 * of its getopt switch). Returns -1 when it was a common option and
 * parsing goes on; otherwise the status main() returns: 0 after --help or
 * --version (printed to stdout), 2 after a usage error (a message or the
 * usage printed to stderr: an unknown option, a bad value). */
int sg_cli_common(sg_cli_common_t *c, int opt, const char *arg,
                  const char *prog, void (*usage)(FILE *));

/* Prints the help lines for the common options. */
void sg_cli_common_usage(FILE *fp);

/* Parses a non-negative integer / double option; returns -1 on garbage. */
int sg_cli_parse_long(const char *s, long long min, long long max,
                      long long *out);
int sg_cli_parse_double(const char *s, double min, double max, double *out);

/* Prints "prog: msg", the usage and returns 2 (the usage-error status). */
int sg_cli_usage_error(const char *prog, void (*usage)(FILE *),
                       const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
