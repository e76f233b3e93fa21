#ifndef SG_API_METRICS_H
#define SG_API_METRICS_H

/* GET /metrics: a minimal Prometheus registry of sg-api's own, until the
 * common one (common/sg_metrics) takes over: requests by route template
 * and status, and their durations. Thread-safe. */

#include "sg_buf.h"

/* Counts one answered request. route: a template of the route table, or
 * NULL ("unmatched"); a bounded set of labels, never a raw path. */
void sg_api_metrics_observe(const char *route, int status, double seconds);

/* Appends the text exposition format 0.0.4. */
void sg_api_metrics_render(sg_buf_t *out);

/* Forgets everything (tests). */
void sg_api_metrics_reset(void);

#endif
