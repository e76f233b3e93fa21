#ifndef SG_COMPLIANCE_H
#define SG_COMPLIANCE_H

/* sg-compliance's stage (stage.h): the compliance rules
 * (compliance/rules.h, docs/compliance.md) on the event stream, exactly
 * once. */

#include "stage.h"

extern const sg_stage_t sg_compliance_stage;

#endif
