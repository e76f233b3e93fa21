/* sg-raw-store: consumes user_events (group sg-raw-store) into events_raw,
 * rejected messages into events_rejected, exactly once: rows and offsets
 * are committed to PostgreSQL in one transaction. */

#include <stdio.h>
#include <stdlib.h>

#include "raw_store.h"
#include "sg_cli.h"
#include "sg_consumer.h"
#include "sg_log.h"
#include "sg_signal.h"

#define PROG "sg-raw-store"

enum {
        OPT_GROUP = 1,
        OPT_BATCH_ROWS,
        OPT_BATCH_MS,
        OPT_IDLE_EXIT,
        OPT_PROGRESS,
        OPT_ON_GAP,
};

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [options]\n"
                "Stores user_events into events_raw (invalid messages into "
                "events_rejected\nwith a reason code), exactly once: rows and "
                "Kafka offsets are committed to\nPostgreSQL in one "
                "transaction.\n\n"
                "  --group ID           consumer group (default sg-raw-store)\n"
                "  --batch-rows N       commit after N messages (default 5000)\n"
                "  --batch-ms MS        ... or after MS milliseconds (default "
                "500)\n"
                "  --idle-exit SECONDS  exit 0 once every assigned partition "
                "has been at its\n"
                "                       end this long (default: run forever)\n"
                "  --progress-interval SECONDS  progress line period (default "
                "10)\n"
                "  --on-gap POLICY      when stored offsets fell out of "
                "retention: continue\n"
                "                       (record in offset_gaps, log, go on; "
                "default) or stop\n",
                PROG);
        sg_cli_common_usage(fp);
}

int main(int argc, char **argv)
{
        static const struct option own[] = {
            {"group", required_argument, NULL, OPT_GROUP},
            {"batch-rows", required_argument, NULL, OPT_BATCH_ROWS},
            {"batch-ms", required_argument, NULL, OPT_BATCH_MS},
            {"idle-exit", required_argument, NULL, OPT_IDLE_EXIT},
            {"progress-interval", required_argument, NULL, OPT_PROGRESS},
            {"on-gap", required_argument, NULL, OPT_ON_GAP},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        sg_consumer_conf_t cc;
        sg_raw_store_t *rs;
        long long v;
        int opt, r, rc;

        sg_cli_common_init(&common);
        sg_consumer_conf_init(&cc);
        cc.common = &common;
        cc.group = "sg-raw-store";
        cc.appname = PROG;
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                switch (opt) {
                case OPT_GROUP:
                        if (!*optarg)
                                return sg_cli_usage_error(PROG, usage,
                                                          "--group is empty");
                        cc.group = optarg;
                        break;
                case OPT_BATCH_ROWS:
                        if (sg_cli_parse_long(optarg, 1, 1000000, &v))
                                return sg_cli_usage_error(
                                    PROG, usage, "--batch-rows must be 1..1000000");
                        cc.batch_rows = (int)v;
                        break;
                case OPT_BATCH_MS:
                        if (sg_cli_parse_long(optarg, 1, 600000, &v))
                                return sg_cli_usage_error(
                                    PROG, usage, "--batch-ms must be 1..600000");
                        cc.batch_ms = (int)v;
                        break;
                case OPT_IDLE_EXIT:
                        if (sg_cli_parse_long(optarg, 1, 86400, &v))
                                return sg_cli_usage_error(
                                    PROG, usage, "--idle-exit must be 1..86400 seconds");
                        cc.idle_exit_s = (int)v;
                        break;
                case OPT_PROGRESS:
                        if (sg_cli_parse_long(optarg, 1, 3600, &v))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--progress-interval must be 1..3600 seconds");
                        cc.progress_s = (int)v;
                        break;
                case OPT_ON_GAP:
                        if (sg_consumer_gap_policy_parse(optarg, &cc.on_gap))
                                return sg_cli_usage_error(
                                    PROG, usage, "--on-gap must be continue or stop");
                        break;
                default:
                        r = sg_cli_common(&common, opt, optarg, PROG, usage);
                        if (r == 2)
                                return 0;
                        if (r <= 0) {
                                if (r == 0)
                                        usage(stderr);
                                return 2;
                        }
                }
        }
        if (optind < argc)
                return sg_cli_usage_error(PROG, usage,
                                          "unexpected argument '%s'",
                                          argv[optind]);
        sg_log_init(PROG, common.log_level);
        sg_signal_install();

        rs = malloc(sizeof(*rs));
        if (!rs) {
                sg_error("out of memory");
                return 1;
        }
        sg_raw_store_init(rs, cc.group, common.topic);
        rc = sg_consumer_run(&cc, &sg_raw_store_ops, rs);
        sg_info("exit status=%d stored=%lld rejected=%lld duplicates=%lld",
                rc, rs->stored, rs->rejected, rs->duplicates);
        sg_raw_store_fini(rs);
        free(rs);
        return rc;
}
