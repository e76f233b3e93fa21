/* sg-compliance: the compliance rules on user_events, exactly once. The
 * stage: consumers/compliance.c; the rules: compliance/. */
#include "compliance.h"
#include "consumer_main.h"

int main(int argc, char **argv)
{
        return sg_consumer_main(&sg_compliance_stage, argc, argv);
}
