/* sg-stream-metrics: consumes user_events (group sg-stream-metrics) into the
 * daily streaming metrics, exactly once: the aggregates of a batch and the
 * group's offsets are committed to PostgreSQL in one transaction. */

#include <stdio.h>
#include <stdlib.h>

#include "sg_cli.h"
#include "sg_consumer.h"
#include "sg_log.h"
#include "sg_signal.h"
#include "stream_metrics.h"

#define PROG "sg-stream-metrics"

static sg_consumer_conf_t defaults;

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [options]\n"
                "Keeps metrics_streaming_daily, metrics_streaming_country_"
                "daily and\nmetrics_streaming_content_daily up to date from "
                "user_events, exactly once:\nevents are aggregated in memory "
                "and each flush adds the aggregates and stores\nthe Kafka "
                "offsets in one transaction. Invalid events are skipped "
                "(sg-raw-store\nkeeps them in the dead-letter store). "
                "--batch-rows and --batch-ms bound a flush.\n\n",
                PROG);
        sg_consumer_usage(fp, &defaults);
        sg_cli_common_usage(fp);
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        sg_consumer_conf_t cc;
        sg_stream_metrics_t sm;
        int rc;

        sg_cli_common_init(&common);
        sg_consumer_conf_init(&defaults);
        defaults.group = "sg-stream-metrics";
        defaults.appname = PROG;
        defaults.common = &common;
        /* Aggregates are small: flush less often than the raw store. */
        defaults.batch_rows = 50000;
        defaults.batch_ms = 1000;
        /* librdkafka 2.0 looks at a full prefetch queue again only once a
         * second, so the queue must hold about a second of consumption or
         * the consumer idles: ~350,000 events/s here (bench/run; 64 MiB
         * capped it near 250,000 when catching up). */
        defaults.queue_kbytes = 131072;
        cc = defaults;
        rc = sg_consumer_parse_args(argc, argv, PROG, usage, &common, &cc);
        if (rc >= 0)
                return rc;
        sg_log_init(PROG, common.log_level);
        sg_signal_install();

        sg_stream_metrics_init(&sm);
        rc = sg_consumer_run(&cc, &sg_stream_metrics_ops, &sm);
        sg_info("exit status=%d counted=%lld invalid_skipped=%lld", rc,
                sm.counted, sm.skipped_invalid);
        sg_stream_metrics_fini(&sm);
        return rc;
}
