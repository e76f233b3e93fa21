/* sg-consent: the consent flags of user_events into consent_log and
 * user_consent, in event-time order, exactly once. The stage:
 * consumers/consent.c. */
#include "consent.h"
#include "consumer_main.h"

int main(int argc, char **argv)
{
        return sg_consumer_main(&sg_consent_stage, argc, argv);
}
