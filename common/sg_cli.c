#include "sg_cli.h"

#include <librdkafka/rdkafka.h>
#include "sg_log.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct option sg_cli_common_opts[] = {
    {"help", no_argument, NULL, SG_OPT_HELP},
    {"version", no_argument, NULL, SG_OPT_VERSION},
    {"brokers", required_argument, NULL, SG_OPT_BROKERS},
    {"dsn", required_argument, NULL, SG_OPT_DSN},
    {"topic", required_argument, NULL, SG_OPT_TOPIC},
    {"log-level", required_argument, NULL, SG_OPT_LOG_LEVEL},
    {NULL, 0, NULL, 0},
};

void sg_cli_common_init(sg_cli_common_t *c)
{
        const char *lvl = getenv("SG_LOG_LEVEL");

        memset(c, 0, sizeof(*c));
        c->topic = "user_events";
        c->log_level = SG_LOG_INFO;
        if (lvl && sg_log_level_parse(lvl) >= 0)
                c->log_level = sg_log_level_parse(lvl);
}

int sg_cli_longopts(const struct option *own, struct option *out, int cap)
{
        int n = 0;

        for (; own && own[0].name; own++) {
                if (n >= cap - 1)
                        return -1;
                out[n++] = *own;
        }
        for (const struct option *o = sg_cli_common_opts; o->name; o++) {
                if (n >= cap - 1)
                        return -1;
                out[n++] = *o;
        }
        memset(&out[n], 0, sizeof(out[n]));
        return 0;
}

/* Checks a librdkafka property up front, so a bad -X is a usage error
 * rather than a runtime failure. Returns 0, or -1 after a message. */
static int sg_cli_check_prop(const char *key, const char *value,
                             const char *prog)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char e[256];
        int rc = 0;

        if (rd_kafka_conf_set(conf, key, value, e, sizeof(e)) !=
            RD_KAFKA_CONF_OK) {
                fprintf(stderr, "%s: -X %s: %s\n", prog, key, e);
                rc = -1;
        }
        rd_kafka_conf_destroy(conf);
        return rc;
}

static int sg_cli_common_opt(sg_cli_common_t *c, int opt, const char *arg,
                             const char *prog, void (*usage)(FILE *))
{
        const char *eq;
        size_t klen;

        switch (opt) {
        case SG_OPT_HELP:
                usage(stdout);
                return 2;
        case SG_OPT_VERSION:
                printf("%s (StreamGuard) %s\n", prog, SG_VERSION);
                return 2;
        case SG_OPT_BROKERS:
                c->brokers = arg;
                return 1;
        case SG_OPT_DSN:
                c->dsn = arg;
                return 1;
        case SG_OPT_TOPIC:
                if (!*arg || strlen(arg) > 249) {
                        fprintf(stderr, "%s: --topic needs a name of 1 to "
                                        "249 characters\n", prog);
                        return -1;
                }
                c->topic = arg;
                return 1;
        case SG_OPT_LOG_LEVEL:
                if (sg_log_level_parse(arg) < 0) {
                        fprintf(stderr, "%s: --log-level must be debug, "
                                        "info, warn or error\n", prog);
                        return -1;
                }
                c->log_level = sg_log_level_parse(arg);
                return 1;
        case SG_OPT_PROP:
                eq = strchr(arg, '=');
                if (!eq || eq == arg) {
                        fprintf(stderr, "%s: -X needs key=value, got '%s'\n",
                                prog, arg);
                        return -1;
                }
                klen = (size_t)(eq - arg);
                if (c->nprops >= SG_CLI_MAX_PROPS ||
                    strlen(arg) >= sizeof(c->prop_buf[0])) {
                        fprintf(stderr, "%s: too many or too long -X "
                                        "properties\n", prog);
                        return -1;
                }
                memcpy(c->prop_buf[c->nprops], arg, strlen(arg) + 1);
                c->prop_buf[c->nprops][klen] = '\0';
                if (sg_cli_check_prop(c->prop_buf[c->nprops],
                                      c->prop_buf[c->nprops] + klen + 1,
                                      prog) < 0)
                        return -1;
                c->prop_keys[c->nprops] = c->prop_buf[c->nprops];
                c->prop_values[c->nprops] = c->prop_buf[c->nprops] + klen + 1;
                c->nprops++;
                return 1;
        default:
                return 0;
        }
}

int sg_cli_common(sg_cli_common_t *c, int opt, const char *arg,
                  const char *prog, void (*usage)(FILE *))
{
        int r = sg_cli_common_opt(c, opt, arg, prog, usage);

        if (r == 1)
                return -1;
        if (r == 2)
                return 0;
        /* An unknown option (getopt has named it) or a bad value (named
         * above): either way, the usage follows. */
        usage(stderr);
        return 2;
}

void sg_cli_common_usage(FILE *fp)
{
        fputs("Common options:\n"
              "  --brokers LIST       Kafka bootstrap servers (default: "
              "$KAFKA_BOOTSTRAP_SERVERS,\n"
              "                       then the address sg-broker wrote to "
              "$SG_BROKER_FILE)\n"
              "  -X key=value         any librdkafka property (TLS, SASL, "
              "tuning); repeatable\n"
              "  --dsn CONNINFO       PostgreSQL conninfo (default: $PG_DSN, "
              "then libpq's PG*\n"
              "                       variables over host=localhost "
              "dbname=streamguard)\n"
              "  --topic NAME         event topic (default: user_events)\n"
              "  --log-level LEVEL    debug, info, warn, error (default: "
              "info; env SG_LOG_LEVEL)\n"
              "  -h, --help           this help\n"
              "      --version        print the version\n",
              fp);
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

int sg_cli_usage_error(const char *prog, void (*usage)(FILE *),
                       const char *fmt, ...)
{
        va_list ap;

        fprintf(stderr, "%s: ", prog);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        usage(stderr);
        return 2;
}
