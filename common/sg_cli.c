#include "sg_cli.h"

#include <librdkafka/rdkafka.h>
#include "sg_log.h"
#include "sg_signal.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define SG_CLI_MAX_OPTS 64
#define SG_CLI_HELP_COL 23 /* where the help text starts */

void sg_cli_common_init(sg_cli_common_t *c)
{
        const char *lvl = getenv("SG_LOG_LEVEL");

        memset(c, 0, sizeof(*c));
        c->topic = "user_events";
        c->log_level = SG_LOG_INFO;
        if (lvl && sg_log_level_parse(lvl) >= 0)
                c->log_level = sg_log_level_parse(lvl);
}

int sg_cli_parse_long(const char *s, long long min, long long max,
                      long long *out)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

int sg_cli_parse_double(const char *s, double min, double max, double *out)
{
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno || end == s || *end || !isfinite(v) || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

/* ---------------------------------------------------------------- common */

static int sg_cli_topic(const char *arg, void *dest, char *err, size_t size)
{
        if (!*arg || strlen(arg) > 249) {
                snprintf(err, size, "needs a name of 1 to 249 characters");
                return -1;
        }
        *(const char **)dest = arg;
        return 0;
}

static int sg_cli_level(const char *arg, void *dest, char *err, size_t size)
{
        int lvl = sg_log_level_parse(arg);

        if (lvl < 0) {
                snprintf(err, size, "must be debug, info, warn or error");
                return -1;
        }
        *(int *)dest = lvl;
        return 0;
}

static void sg_cli_level_show(const void *dest, char *buf, size_t size)
{
        static const char *const names[] = {"debug", "info", "warn", "error"};
        int lvl = *(const int *)dest;

        snprintf(buf, size, "%s", lvl >= 0 && lvl <= 3 ? names[lvl] : "?");
}

/* -X key=value: checked against librdkafka up front, so that a bad
 * property is a usage error rather than a runtime failure. */
static int sg_cli_prop(const char *arg, void *dest, char *err, size_t size)
{
        sg_cli_common_t *c = dest;
        const char *eq = strchr(arg, '=');
        rd_kafka_conf_t *conf;
        char *buf;
        size_t klen;
        int rc = 0;

        if (!eq || eq == arg) {
                snprintf(err, size, "needs key=value, got '%s'", arg);
                return -1;
        }
        if (c->nprops >= SG_CLI_MAX_PROPS ||
            strlen(arg) >= sizeof(c->prop_buf[0])) {
                snprintf(err, size, "too many or too long properties");
                return -1;
        }
        klen = (size_t)(eq - arg);
        buf = c->prop_buf[c->nprops];
        memcpy(buf, arg, strlen(arg) + 1);
        buf[klen] = '\0';
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, buf, buf + klen + 1, err, size) !=
            RD_KAFKA_CONF_OK)
                rc = -1;
        rd_kafka_conf_destroy(conf);
        if (rc < 0)
                return -1;
        c->prop_keys[c->nprops] = buf;
        c->prop_values[c->nprops] = buf + klen + 1;
        c->nprops++;
        return 0;
}

/* The common options, pointing into common, in this order (help and
 * version are handled by sg_cli_parse itself). */
enum { SG_CLI_C_PROP = 1, SG_CLI_C_HELP = 5, SG_CLI_C_VERSION = 6 };
static void sg_cli_common_table(sg_cli_common_t *common, sg_opt_t *t)
{
        const sg_opt_t table[] = {
            {.name = "brokers", .kind = SG_OPT_STRING, .dest = &common->brokers,
             .arg = "LIST",
             .help = "Kafka bootstrap servers (default: $KAFKA_BOOTSTRAP_SERVERS,"
                     "\nthen the address scripts/kafka.sh or sg-broker wrote to"
                     "\n$SG_BROKER_FILE)",
             .no_default = true},
            {.name = "X", .kind = SG_OPT_CUSTOM, .dest = common,
             .arg = "key=value", .parse = sg_cli_prop,
             .help = "any librdkafka property (TLS, SASL, tuning); repeatable"},
            {.name = "dsn", .kind = SG_OPT_STRING, .dest = &common->dsn,
             .arg = "CONNINFO",
             .help = "PostgreSQL conninfo (default: $PG_DSN, then libpq's PG*"
                     "\nvariables over host=localhost dbname=streamguard)",
             .no_default = true},
            {.name = "topic", .kind = SG_OPT_CUSTOM, .dest = &common->topic,
             .arg = "NAME", .parse = sg_cli_topic,
             .help = "event topic (default: user_events)", .no_default = true},
            {.name = "log-level", .kind = SG_OPT_CUSTOM,
             .dest = &common->log_level, .arg = "LEVEL", .parse = sg_cli_level,
             .show = sg_cli_level_show,
             .help = "debug, info, warn, error (env SG_LOG_LEVEL)"},
            {.name = "help", .kind = SG_OPT_FLAG, .help = "this help"},
            {.name = "version", .kind = SG_OPT_FLAG,
             .help = "print the version"},
            SG_OPT_END,
        };
        memcpy(t, table, sizeof(table));
}

/* ----------------------------------------------------------------- help */

static void sg_cli_default(const sg_opt_t *o, char *buf, size_t size)
{
        buf[0] = '\0';
        if (o->no_default || !o->dest)
                return;
        if (o->show) {
                o->show(o->dest, buf, size);
                return;
        }
        switch (o->kind) {
        case SG_OPT_INT:
                snprintf(buf, size, "%d", *(const int *)o->dest);
                break;
        case SG_OPT_LLONG:
                snprintf(buf, size, "%lld", *(const long long *)o->dest);
                break;
        case SG_OPT_DOUBLE:
                snprintf(buf, size, "%g", *(const double *)o->dest);
                break;
        case SG_OPT_STRING:
                if (*(const char *const *)o->dest)
                        snprintf(buf, size, "%s",
                                 *(const char *const *)o->dest);
                break;
        case SG_OPT_CHOICE:
                snprintf(buf, size, "%s", o->choices[*(const int *)o->dest]);
                break;
        default:
                break;
        }
        if (buf[0] && o->unit)
                snprintf(buf + strlen(buf), size - strlen(buf), "%s%s",
                         o->unit[0] == '%' ? "" : " ", o->unit);
}

/* One option's lines: "  --name ARG   help (default D)". */
static void sg_cli_help_opt(FILE *fp, const sg_opt_t *o, const char *dflt)
{
        char head[64];
        const char *p = o->help ? o->help : "";
        int n;

        if (strcmp(o->name, "X") == 0)
                n = snprintf(head, sizeof(head), "  -X %s", o->arg);
        else if (strcmp(o->name, "help") == 0)
                n = snprintf(head, sizeof(head), "  -h, --help");
        else
                n = snprintf(head, sizeof(head), "  --%s%s%s", o->name,
                             o->arg ? " " : "", o->arg ? o->arg : "");
        fputs(head, fp);
        if (n >= SG_CLI_HELP_COL - 1) {
                fputc('\n', fp);
                n = 0;
        }
        for (bool first = true;; first = false) {
                const char *nl = strchr(p, '\n');
                int len = nl ? (int)(nl - p) : (int)strlen(p);
                fprintf(fp, "%*s%.*s", (first ? SG_CLI_HELP_COL - n : SG_CLI_HELP_COL),
                        "", len, p);
                if (!nl)
                        break;
                fputc('\n', fp);
                p = nl + 1;
        }
        if (dflt && *dflt)
                fprintf(fp, " (default %s)", dflt);
        fputc('\n', fp);
}

static void sg_cli_help_with(const sg_cli_t *cli, const sg_opt_t *common_t,
                             char defaults[][64], FILE *fp)
{
        int k = 0;

        fprintf(fp, "Usage: %s %s\n", cli->prog,
                cli->synopsis ? cli->synopsis : "[options]");
        if (cli->about)
                fprintf(fp, "%s\n", cli->about);
        for (int t = 0; t < SG_CLI_MAX_TABLES && cli->tables[t]; t++) {
                fprintf(fp, "\n%s:\n", cli->titles[t] ? cli->titles[t]
                                                      : "Options");
                for (const sg_opt_t *o = cli->tables[t]; o->name; o++, k++)
                        sg_cli_help_opt(fp, o, defaults ? defaults[k] : NULL);
        }
        fputs("\nCommon options:\n", fp);
        for (const sg_opt_t *o = common_t; o->name; o++, k++)
                sg_cli_help_opt(fp, o, defaults ? defaults[k] : NULL);
        if (cli->epilog)
                fprintf(fp, "\n%s\n", cli->epilog);
}

void sg_cli_help(const sg_cli_t *cli, FILE *fp)
{
        sg_cli_common_t scratch;
        sg_opt_t common_t[16];
        char defaults[SG_CLI_MAX_OPTS][64];
        int k = 0;

        sg_cli_common_init(&scratch);
        sg_cli_common_table(&scratch, common_t);
        for (int t = 0; t < SG_CLI_MAX_TABLES && cli->tables[t]; t++)
                for (const sg_opt_t *o = cli->tables[t]; o->name; o++)
                        if (k < SG_CLI_MAX_OPTS)
                                sg_cli_default(o, defaults[k++], 64);
        for (const sg_opt_t *o = common_t; o->name; o++)
                if (k < SG_CLI_MAX_OPTS)
                        sg_cli_default(o, defaults[k++], 64);
        sg_cli_help_with(cli, common_t, defaults, fp);
}

/* The defaults as they were before the last sg_cli_parse of cli: a
 * usage error found after parsing shows those, not the values given. */
static const sg_cli_t *sg_cli_snap_of;
static char sg_cli_snap[SG_CLI_MAX_OPTS][64];

int sg_cli_usage_error(const sg_cli_t *cli, const char *fmt, ...)
{
        sg_cli_common_t scratch;
        sg_opt_t common_t[16];
        va_list ap;

        fprintf(stderr, "%s: ", cli->prog);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        if (sg_cli_snap_of != cli) {
                sg_cli_help(cli, stderr);
                return SG_CLI_USAGE;
        }
        sg_cli_common_init(&scratch);
        sg_cli_common_table(&scratch, common_t);
        sg_cli_help_with(cli, common_t, sg_cli_snap, stderr);
        return SG_CLI_USAGE;
}

/* ---------------------------------------------------------------- parse */

/* Stores arg into o's destination. Returns 0, or -1 with err. */
static int sg_cli_store(const sg_opt_t *o, const char *arg, char *err,
                        size_t size)
{
        long long v;
        double d;

        switch (o->kind) {
        case SG_OPT_FLAG:
                if (o->dest)
                        *(bool *)o->dest = true;
                return 0;
        case SG_OPT_INT:
        case SG_OPT_LLONG:
                if (sg_cli_parse_long(arg, o->min, o->max, &v)) {
                        snprintf(err, size, "must be %lld..%lld", o->min,
                                 o->max);
                        return -1;
                }
                if (o->kind == SG_OPT_INT)
                        *(int *)o->dest = (int)v;
                else
                        *(long long *)o->dest = v;
                return 0;
        case SG_OPT_DOUBLE:
                if (sg_cli_parse_double(arg, o->dmin, o->dmax, &d)) {
                        snprintf(err, size, "must be a number in %g..%g",
                                 o->dmin, o->dmax);
                        return -1;
                }
                *(double *)o->dest = d;
                return 0;
        case SG_OPT_STRING:
                if (!*arg) {
                        snprintf(err, size, "is empty");
                        return -1;
                }
                *(const char **)o->dest = arg;
                return 0;
        case SG_OPT_CHOICE:
                for (int i = 0; o->choices[i]; i++) {
                        if (strcmp(arg, o->choices[i]) == 0) {
                                *(int *)o->dest = i;
                                return 0;
                        }
                }
                snprintf(err, size, "must be one of:");
                for (int i = 0; o->choices[i]; i++)
                        snprintf(err + strlen(err), size - strlen(err),
                                 "%s %s", i ? "," : "", o->choices[i]);
                return -1;
        case SG_OPT_CUSTOM:
                return o->parse(arg, o->dest, err, size);
        }
        return -1;
}

sg_cli_status_t sg_cli_parse(const sg_cli_t *cli, sg_cli_common_t *common,
                             int argc, char **argv, int *first)
{
        const sg_opt_t *all[SG_CLI_MAX_OPTS];
        struct option longopts[SG_CLI_MAX_OPTS + 1];
        char defaults[SG_CLI_MAX_OPTS][64];
        sg_opt_t common_t[16];
        char shortopts[8];
        int n = 0, cbase, opt, nargs;

        sg_cli_common_table(common, common_t);
        for (int t = 0; t < SG_CLI_MAX_TABLES && cli->tables[t]; t++)
                for (const sg_opt_t *o = cli->tables[t]; o->name; o++)
                        if (n < SG_CLI_MAX_OPTS - 8)
                                all[n++] = o;
        cbase = n;
        for (const sg_opt_t *o = common_t; o->name; o++)
                all[n++] = o;
        /* --help shows the defaults, not what earlier flags set. */
        for (int i = 0; i < n; i++) {
                sg_cli_default(all[i], defaults[i], sizeof(defaults[i]));
                longopts[i].name = all[i]->name;
                longopts[i].has_arg = all[i]->kind == SG_OPT_FLAG
                                          ? no_argument
                                          : required_argument;
                longopts[i].flag = NULL;
                longopts[i].val = 256 + i;
        }
        memcpy(sg_cli_snap, defaults, sizeof(defaults));
        sg_cli_snap_of = cli;
        memset(&longopts[n], 0, sizeof(longopts[n]));
        snprintf(shortopts, sizeof(shortopts), "%shX:",
                 cli->in_order ? "+" : "");

        optind = 0; /* glibc: a full restart (a second parse, in tests) */
        while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) !=
               -1) {
                const sg_opt_t *o;
                char err[256] = "";

                if (opt == 'h') {
                        opt = 256 + cbase + SG_CLI_C_HELP;
                } else if (opt == 'X') {
                        opt = 256 + cbase + SG_CLI_C_PROP;
                } else if (opt < 256 || opt >= 256 + n) {
                        /* getopt named the problem already. */
                        sg_cli_help_with(cli, common_t, defaults, stderr);
                        return SG_CLI_USAGE;
                }
                o = all[opt - 256];
                if (o == &common_t[SG_CLI_C_HELP]) {
                        sg_cli_help_with(cli, common_t, defaults, stdout);
                        return SG_CLI_EXIT;
                }
                if (o == &common_t[SG_CLI_C_VERSION]) {
                        printf("%s (StreamGuard) %s\n", cli->prog, SG_VERSION);
                        return SG_CLI_EXIT;
                }
                if (sg_cli_store(o, optarg, err, sizeof(err)) < 0) {
                        fprintf(stderr, "%s: %s%s %s\n", cli->prog,
                                strcmp(o->name, "X") == 0 ? "-" : "--",
                                o->name, err);
                        sg_cli_help_with(cli, common_t, defaults, stderr);
                        return SG_CLI_USAGE;
                }
                if (o->given)
                        *o->given = true;
        }
        nargs = argc - optind;
        if (nargs < cli->min_args || nargs > cli->max_args) {
                if (nargs > cli->max_args)
                        fprintf(stderr, "%s: unexpected argument '%s'\n",
                                cli->prog, argv[optind + cli->max_args]);
                else
                        fprintf(stderr, "%s: missing argument\n", cli->prog);
                sg_cli_help_with(cli, common_t, defaults, stderr);
                return SG_CLI_USAGE;
        }
        if (first)
                *first = optind;
        sg_log_init(cli->prog, common->log_level);
        sg_signal_install();
        return SG_CLI_RUN;
}
