/* sg_cli: the option tables every binary's command line comes from:
 * kinds and ranges, -X checked against librdkafka, positional arguments,
 * the return protocol, and --help printing the real defaults. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_cli.h"

TestSuite(cli, .timeout = 30);

static int count = 100;
static long long total = 5;
static double ratio = 0.25;
static const char *name = NULL;
static bool once, count_given;
static int mode = 1;
static const char *const modes[] = {"fast", "exact", NULL};

static const sg_opt_t opts[] = {
    {.name = "count", .kind = SG_OPT_INT, .dest = &count, .arg = "N",
     .min = 1, .max = 1000, .help = "how many", .given = &count_given},
    {.name = "total", .kind = SG_OPT_LLONG, .dest = &total, .arg = "N",
     .min = 0, .max = 10000000000LL, .help = "in all", .unit = "s"},
    {.name = "ratio", .kind = SG_OPT_DOUBLE, .dest = &ratio, .arg = "F",
     .dmin = 0, .dmax = 1, .help = "a share"},
    {.name = "name", .kind = SG_OPT_STRING, .dest = &name, .arg = "S",
     .help = "a name"},
    {.name = "mode", .kind = SG_OPT_CHOICE, .dest = &mode, .arg = "M",
     .choices = modes, .help = "how"},
    {.name = "once", .kind = SG_OPT_FLAG, .dest = &once, .help = "once"},
    SG_OPT_END,
};

static const sg_cli_t cli = {
    .prog = "sg-test", .about = "A test.", .tables = {opts}, .max_args = 1};

static sg_cli_common_t common;

static void reset(void)
{
        count = 100;
        total = 5;
        ratio = 0.25;
        name = NULL;
        once = count_given = false;
        mode = 1;
        sg_cli_common_init(&common);
}

/* Parses the NULL-terminated words after the program name. */
static int parse_v(int *first, const char *const *words)
{
        char *argv[32] = {"sg-test"};
        int argc = 1;

        while (words[argc - 1] && argc < 31) {
                argv[argc] = (char *)words[argc - 1];
                argc++;
        }
        argv[argc] = NULL;
        return sg_cli_parse(&cli, &common, argc, argv, first);
}

#define PARSE(...) parse_v(NULL, (const char *const[]){__VA_ARGS__, NULL})

Test(cli, kinds_store_into_their_destinations, .init = reset)
{
        int first = -1;

        cr_assert_eq(parse_v(&first, (const char *const[]){
                                         "--count", "7", "--total=9876543210",
                                         "--ratio", "0.5", "--name", "x",
                                         "--mode", "fast", "--once", "arg",
                                         NULL}),
                     SG_CLI_RUN);
        cr_assert_eq(count, 7);
        cr_assert(count_given);
        cr_assert_eq(total, 9876543210LL);
        cr_assert_float_eq(ratio, 0.5, 1e-12);
        cr_assert_str_eq(name, "x");
        cr_assert_eq(mode, 0);
        cr_assert(once);
        cr_assert_eq(first, 11, "positional arguments start after options");
}

Test(cli, defaults_stay_when_not_given, .init = reset)
{
        cr_assert_eq(PARSE("--once"), SG_CLI_RUN);
        cr_assert_eq(count, 100);
        cr_assert_not(count_given);
        cr_assert_str_eq(common.topic, "user_events");
}

Test(cli, ranges_and_kinds_are_usage_errors, .init = reset)
{
        cr_redirect_stderr();
        cr_assert_eq(PARSE("--count", "0"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--count", "1001"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--count", "12x"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--count", ""), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--total", "-1"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--ratio", "1.5"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--ratio", "nan"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--name", ""), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--mode", "slow"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--no-such-flag"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--count"), SG_CLI_USAGE, "missing argument");
        cr_assert_eq(PARSE("a", "b"), SG_CLI_USAGE, "one argument at most");
        cr_assert_eq(PARSE("--log-level", "loud"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("--topic", ""), SG_CLI_USAGE);
        cr_assert_eq(count, 100, "a rejected value is not stored");
}

Test(cli, range_error_names_the_flag_and_range, .init = reset)
{
        cr_redirect_stderr();
        cr_assert_eq(PARSE("--count", "0"), SG_CLI_USAGE);
        fflush(stderr);
        cr_assert_stderr_eq_str("sg-test: --count must be 1..1000\n"
                                   "Usage: sg-test [options]\n"
                                   "A test.\n"
                                   "\n"
                                   "Options:\n"
                                   "  --count N            how many "
                                   "(default 100)\n"
                                   "  --total N            in all "
                                   "(default 5 s)\n"
                                   "  --ratio F            a share "
                                   "(default 0.25)\n"
                                   "  --name S             a name\n"
                                   "  --mode M             how "
                                   "(default exact)\n"
                                   "  --once               once\n"
                                   "\n"
                                   "Common options:\n"
                                   "  --brokers LIST       Kafka bootstrap "
                                   "servers (default: "
                                   "$KAFKA_BOOTSTRAP_SERVERS,\n"
                                   "                       then the address "
                                   "scripts/kafka.sh or sg-broker wrote to\n"
                                   "                       $SG_BROKER_FILE)\n"
                                   "  -X key=value         any librdkafka "
                                   "property (TLS, SASL, tuning); "
                                   "repeatable\n"
                                   "  --dsn CONNINFO       PostgreSQL "
                                   "conninfo (default: $PG_DSN, then libpq's "
                                   "PG*\n"
                                   "                       variables over "
                                   "host=localhost dbname=streamguard)\n"
                                   "  --topic NAME         event topic "
                                   "(default: user_events)\n"
                                   "  --log-level LEVEL    debug, info, warn, "
                                   "error (env SG_LOG_LEVEL) (default info)\n"
                                   "  -h, --help           this help\n"
                                   "  --version            print the "
                                   "version\n");
}

Test(cli, help_shows_the_defaults_not_the_values_given, .init = reset)
{
        char line[256];
        FILE *out;
        bool seen = false;

        cr_redirect_stdout();
        cr_assert_eq(PARSE("--count", "7", "--mode", "fast", "--help"),
                     SG_CLI_EXIT);
        fflush(stdout);
        out = cr_get_redirected_stdout();
        while (fgets(line, sizeof(line), out)) {
                if (strstr(line, "--count N"))
                        cr_assert(strstr(line, "(default 100)"), "%s", line);
                if (strstr(line, "--mode M"))
                        cr_assert(strstr(line, "(default exact)"), "%s", line);
                seen |= strncmp(line, "Usage: sg-test", 14) == 0;
        }
        cr_assert(seen, "no usage line");
}

Test(cli, usage_error_after_parse_shows_the_defaults, .init = reset)
{
        char line[256];
        FILE *err;
        bool seen = false;

        cr_redirect_stderr();
        cr_assert_eq(PARSE("--count", "7"), SG_CLI_RUN);
        cr_assert_eq(sg_cli_usage_error(&cli, "--count needs --once"),
                     SG_CLI_USAGE);
        fflush(stderr);
        err = cr_get_redirected_stderr();
        while (fgets(line, sizeof(line), err)) {
                if (strstr(line, "--count N")) {
                        cr_assert(strstr(line, "(default 100)"), "%s", line);
                        seen = true;
                }
        }
        cr_assert(seen);
}

Test(cli, version_exits_zero, .init = reset)
{
        cr_redirect_stdout();
        cr_assert_eq(PARSE("--version"), SG_CLI_EXIT);
        fflush(stdout);
        cr_assert_stdout_eq_str("sg-test (StreamGuard) " SG_VERSION "\n");
}

Test(cli, librdkafka_properties, .init = reset)
{
        cr_redirect_stderr();
        cr_assert_eq(PARSE("-X", "linger.ms=5", "-Xclient.id=abc"),
                     SG_CLI_RUN);
        cr_assert_eq(common.nprops, 2);
        cr_assert_str_eq(common.prop_keys[0], "linger.ms");
        cr_assert_str_eq(common.prop_values[0], "5");
        cr_assert_str_eq(common.prop_keys[1], "client.id");
        cr_assert_str_eq(common.prop_values[1], "abc");
        reset();
        cr_assert_eq(PARSE("-X", "novalue"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("-X", "=v"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("-X", "no.such.property=1"), SG_CLI_USAGE);
        cr_assert_eq(PARSE("-X", "linger.ms=many"), SG_CLI_USAGE);
}

Test(cli, in_order_stops_at_the_command, .init = reset)
{
        static const sg_cli_t sub = {.prog = "sg-test",
                                     .tables = {opts},
                                     .min_args = 1,
                                     .max_args = 8,
                                     .in_order = true};
        char *argv[] = {"sg-test", "--count", "3", "grow", "--count", "9",
                        NULL};
        int first = -1;

        cr_assert_eq(sg_cli_parse(&sub, &common, 6, argv, &first),
                     SG_CLI_RUN);
        cr_assert_eq(count, 3);
        cr_assert_eq(first, 3);
        cr_assert_str_eq(argv[first], "grow");
}

Test(cli, numbers)
{
        long long v = 42;
        double d = 1;

        cr_assert_eq(sg_cli_parse_long("-3", -5, 5, &v), 0);
        cr_assert_eq(v, -3);
        cr_assert_eq(sg_cli_parse_long("6", -5, 5, &v), -1);
        cr_assert_eq(sg_cli_parse_long("99999999999999999999", 0, 1, &v), -1);
        cr_assert_eq(sg_cli_parse_long(" 1", 0, 5, &v) == 0 ? v : -1, 1,
                     "strtoll skips leading blanks");
        cr_assert_eq(sg_cli_parse_double("inf", 0, 1e300, &d), -1);
        cr_assert_eq(sg_cli_parse_double("1e-3", 0, 1, &d), 0);
        cr_assert_float_eq(d, 0.001, 1e-15);
}
