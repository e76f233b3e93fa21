#ifndef SG_CLI_H
#define SG_CLI_H

/* Command lines from declarative option tables. A binary describes its
 * options once (name, argument kind, destination, range, help); parsing,
 * range errors and --help, which prints each option's real default (the
 * destination's value before parsing), all come from that table. Every
 * binary also takes the common options below.
 *
 *   static sg_opt_t opts[] = {
 *       {.name = "rate", .kind = SG_OPT_DOUBLE, .dest = &rate, .arg = "R",
 *        .dmin = 0, .dmax = 1e9, .help = "events per second (0: as fast as
 *        possible)"},
 *       SG_OPT_END,
 *   };
 *   sg_cli_t cli = {.prog = "sg-x", .about = "...", .tables = {opts}};
 *   int st = sg_cli_parse(&cli, &common, argc, argv, NULL);
 *   if (st != SG_CLI_RUN)
 *           return st;            // 0 after --help/--version, 2 on misuse
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define SG_CLI_MAX_PROPS 64
#define SG_CLI_MAX_TABLES 6

/* Options every binary takes. */
typedef struct sg_cli_common {
        const char *brokers;   /* NULL: env, then the broker address file */
        const char *dsn;       /* NULL: PG_DSN, then local defaults */
        const char *topic;     /* default "user_events" */
        int log_level;
        int nprops;
        const char *prop_keys[SG_CLI_MAX_PROPS];   /* -X key=value */
        const char *prop_values[SG_CLI_MAX_PROPS];
        char prop_buf[SG_CLI_MAX_PROPS][512];
} sg_cli_common_t;

/* Fills the defaults: topic user_events, level info (or SG_LOG_LEVEL). */
void sg_cli_common_init(sg_cli_common_t *c);

typedef enum sg_opt_kind {
        SG_OPT_FLAG,   /* no argument; dest: bool *, set to true */
        SG_OPT_INT,    /* dest: int *, within [min, max] */
        SG_OPT_LLONG,  /* dest: long long *, within [min, max] */
        SG_OPT_DOUBLE, /* dest: double *, within [dmin, dmax] */
        SG_OPT_STRING, /* dest: const char **, non-empty (points into argv) */
        SG_OPT_CHOICE, /* dest: int *, the index of the value in choices */
        SG_OPT_CUSTOM, /* parse() stores the value in dest */
} sg_opt_kind_t;

typedef struct sg_opt {
        const char *name;  /* long name, without "--" */
        sg_opt_kind_t kind;
        void *dest;
        const char *arg;   /* the argument's name in --help: "N", "MS" */
        const char *help;  /* "\n" starts a continuation line */
        long long min, max;
        double dmin, dmax;
        const char *const *choices; /* SG_OPT_CHOICE: NULL-terminated */
        /* SG_OPT_CUSTOM: parses arg into dest. Returns 0, or -1 with what
         * is wrong in err ("must be a date YYYY-MM-DD"). */
        int (*parse)(const char *arg, void *dest, char *err, size_t err_size);
        /* Renders the default for --help; NULL: the kind's own rendering
         * (none for FLAG and CUSTOM, nor for a NULL string). */
        void (*show)(const void *dest, char *buf, size_t size);
        const char *unit;  /* after the default in --help: "s", "ms" */
        bool *given;       /* if set: true once the option was given */
        bool no_default;   /* --help shows no default */
} sg_opt_t;

#define SG_OPT_END {.name = NULL}

typedef struct sg_cli {
        const char *prog;
        const char *synopsis; /* after "Usage: PROG ", default "[options]" */
        const char *about;    /* what the binary does, one paragraph */
        /* Option tables, NULL-terminated, printed in this order, each
         * under its title (default "Options"). The common options come
         * last, always. */
        const sg_opt_t *tables[SG_CLI_MAX_TABLES + 1];
        const char *titles[SG_CLI_MAX_TABLES];
        const char *epilog;   /* printed after the options */
        int min_args, max_args; /* positional arguments (default none) */
        bool in_order;        /* options end at the first positional
                                 argument (COMMAND ARGS... tools) */
} sg_cli_t;

/* What sg_cli_parse says to do: run, or return the status at once (it is
 * the process's exit status). */
typedef enum sg_cli_status {
        SG_CLI_RUN = -1,  /* run; positional arguments from argv[*first] */
        SG_CLI_EXIT = 0,  /* --help or --version was printed */
        SG_CLI_USAGE = 2, /* a usage error was printed, with the usage */
} sg_cli_status_t;

/* Parses argv against cli's tables and the common options into their
 * destinations and common (initialised by the caller). first (may be
 * NULL) receives the index of the first positional argument. On
 * SG_CLI_RUN the process is ready to run: logging is set up (the program's
 * name, --log-level) and the stop signals are handled (sg_signal.h). */
sg_cli_status_t sg_cli_parse(const sg_cli_t *cli, sg_cli_common_t *common,
                             int argc, char **argv, int *first)
    __attribute__((warn_unused_result));

/* Prints "PROG: message" and the usage on stderr. Returns SG_CLI_USAGE,
 * for the checks a table cannot express (options that exclude each
 * other, a required one missing). */
int sg_cli_usage_error(const sg_cli_t *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Prints the usage and every option with its current value as default. */
void sg_cli_help(const sg_cli_t *cli, FILE *fp);

/* Parses a number within [min, max]; returns 0, or -1 on anything else. */
int sg_cli_parse_long(const char *s, long long min, long long max,
                      long long *out) __attribute__((warn_unused_result));
int sg_cli_parse_double(const char *s, double min, double max, double *out)
    __attribute__((warn_unused_result));

#endif
