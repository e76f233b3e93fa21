#ifndef SG_API_METRICS_H
#define SG_API_METRICS_H

/* GET /metrics of sg-api: its request counters in the common registry
 * (common/sg_metrics.h), with the process basics, rendered on the API's
 * own port. Thread-safe once initialised. */

#include "sg_buf.h"
#include "sg_metrics.h"

/* Registers sg-api's families in m (which must outlive every call
 * below): sg_api_http_requests_total{route,status} and
 * sg_api_http_request_duration_seconds{route}. Call once, before the
 * server's threads start. */
void sg_api_metrics_init(sg_metrics_t *m);

/* Counts one answered request. route: a template of the route table, or
 * NULL ("unmatched"); a bounded set of labels, never a raw path. Does
 * nothing before sg_api_metrics_init. */
void sg_api_metrics_observe(const char *route, int status, double seconds);

/* Appends the registry in the text exposition format 0.0.4. */
void sg_api_metrics_render(sg_buf_t *out);

#endif
