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

static sg_consumer_conf_t defaults;

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [options]\n"
                "Stores user_events into events_raw (invalid messages into "
                "events_rejected\nwith a reason code, repeated event_ids "
                "into events_duplicates), exactly\nonce: rows and Kafka "
                "offsets are committed to PostgreSQL in one "
                "transaction.\n\n",
                PROG);
        sg_consumer_usage(fp, &defaults);
        sg_cli_common_usage(fp);
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        sg_consumer_conf_t cc;
        sg_raw_store_t *rs;
        int rc;

        sg_cli_common_init(&common);
        sg_consumer_conf_init(&defaults);
        defaults.group = "sg-raw-store";
        defaults.appname = PROG;
        defaults.common = &common;
        cc = defaults;
        rc = sg_consumer_parse_args(argc, argv, PROG, usage, &common, &cc);
        if (rc >= 0)
                return rc;
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
