/* sg-bench-parse: the validator's cost per event, with and without its
 * fast path (jsmn), on sg-generate's own messages (the plain ones plus its
 * share of contract-breaking ones). Prints one line:
 *   <events> <us per event, fast path on> <us per event, jansson only>
 * bench/run reports it; no PostgreSQL, no Kafka. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen_event.h"
#include "sg_cli.h"
#include "sg_defs.h"
#include "sg_event.h"

static double sg_bench_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Microseconds per event to validate all n messages once. */
static double sg_bench_pass(char **msgs, const size_t *lens, size_t n,
                            bool fast)
{
        double t0;
        unsigned long long ok = 0;

        sg_event_set_fast_path(fast);
        t0 = sg_bench_now();
        for (size_t i = 0; i < n; i++) {
                sg_event_t ev;
                char msg[256];

                ok += sg_event_parse(msgs[i], lens[i], &ev, msg, sizeof msg) ==
                      SG_REASON_OK;
                sg_event_fini(&ev);
        }
        sg_event_set_fast_path(true);
        if (ok == 0)
                fprintf(stderr, "sg-bench-parse: no valid event?\n");
        return (sg_bench_now() - t0) * 1e6 / (double)n;
}

int main(int argc, char **argv)
{
        const sg_cli_t cli = {
            .prog = "sg-bench-parse",
            .synopsis = "[EVENTS]",
            .about = "Validates EVENTS (1..10000000, default 200000) messages "
                     "of sg-generate in\nmemory, with the fast path (jsmn) and "
                     "with jansson only, and prints\n\"EVENTS US_FAST "
                     "US_JANSSON\" (microseconds per message, best of three).\n"
                     "No PostgreSQL, no Kafka.",
            .max_args = 1,
        };
        sg_cli_common_t common;
        long long events = 200000;
        int first, st;
        size_t n;
        sg_gen_conf_t conf = {.seed = 7,
                              .invalid_ratio = 0.02,
                              .ts_start_us = 1750000000000000LL,
                              .ts_span_us = 86400000000LL};
        sg_gen_user_t users[100];
        char **msgs;
        size_t *lens;
        double fast = 0, slow = 0;

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, &first);
        if (st != SG_CLI_RUN)
                return st;
        if (first < argc && sg_cli_parse_long(argv[first], 1, 10000000, &events))
                return sg_cli_usage_error(&cli, "EVENTS must be 1..10000000");
        n = (size_t)events;
        for (int i = 0; i < 100; i++) {
                snprintf(users[i].user_id, sizeof users[i].user_id,
                         "%08x-5d2f-4a4e-9b61-%012x", i * 104729, i);
                snprintf(users[i].country, sizeof users[i].country, "%s",
                         i % 3 == 0 ? "US-CA" : i % 3 == 1 ? "DE" : "NL");
        }
        msgs = sg_xcalloc(n, sizeof *msgs);
        lens = sg_xcalloc(n, sizeof *lens);
        for (size_t i = 0; i < n; i++) {
                char buf[SG_GEN_EVENT_MAX], key[37];
                sg_reason_t want;

                lens[i] = sg_gen_event_build(&conf, users, 100, i, 0, buf,
                                             sizeof buf, key, &want);
                msgs[i] = sg_xmalloc(lens[i] + 1);
                memcpy(msgs[i], buf, lens[i]);
        }
        /* Warm up, then keep the best of three passes of each. */
        sg_bench_pass(msgs, lens, n, true);
        for (int r = 0; r < 3; r++) {
                double f = sg_bench_pass(msgs, lens, n, true);
                double s = sg_bench_pass(msgs, lens, n, false);

                if (r == 0 || f < fast)
                        fast = f;
                if (r == 0 || s < slow)
                        slow = s;
        }
        printf("%zu %.3f %.3f\n", n, fast, slow);
        for (size_t i = 0; i < n; i++)
                free(msgs[i]);
        free(msgs);
        free(lens);
        return 0;
}
