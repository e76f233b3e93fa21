/* sg-stream-metrics: user_events into the daily streaming metrics,
 * exactly once. The stage: consumers/stream_metrics.c. */
#include "consumer_main.h"
#include "stream_metrics.h"

int main(int argc, char **argv)
{
        return sg_consumer_main(&sg_stream_metrics_stage, argc, argv);
}
