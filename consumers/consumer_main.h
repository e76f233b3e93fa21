#ifndef SG_CONSUMER_MAIN_H
#define SG_CONSUMER_MAIN_H

/* The one main() of every consumer. A consumer's binary is
 *
 *   int main(int argc, char **argv)
 *   {
 *           return sg_consumer_main(&sg_raw_store_stage, argc, argv);
 *   }
 *
 * and sg_consumer_main parses the command line (the stage's options, the
 * engine's, the common ones), starts logging and the signal handlers,
 * creates the stage, runs the engine, logs the exit line and returns the
 * process exit status. */

#include "stage.h"

int sg_consumer_main(const sg_stage_t *stage, int argc, char **argv);

#endif
