/* sg-raw-store: user_events into events_raw, invalid messages into
 * events_rejected, exactly once. The stage: consumers/raw_store.c. */
#include "consumer_main.h"
#include "raw_store.h"

int main(int argc, char **argv)
{
        return sg_consumer_main(&sg_raw_store_stage, argc, argv);
}
