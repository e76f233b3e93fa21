/* sg-api's metrics (api/metrics.h), in the common registry. The labels are
 * bounded: a route is a template of the route table (or "unmatched") and
 * a status one of the few the server answers. */

#include "metrics.h"

#include <stdio.h>

#include "routes.h"

/* Set once by sg_api_metrics_init before any thread reads them. */
static sg_metrics_t *registry;
static sg_metric_t *requests, *duration;

void sg_api_metrics_init(sg_metrics_t *m)
{
        static const char *const rs[] = {"route", "status", NULL};
        static const char *const ro[] = {"route", NULL};
        int routes = (int)sg_api_nroutes + 1;

        registry = m;
        requests = sg_metrics_counter(
            m, "sg_api_http_requests_total",
            "HTTP requests answered, by route template and status.", rs,
            routes * 12);
        duration = sg_metrics_histogram(
            m, "sg_api_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.", ro, routes,
            sg_metrics_seconds_buckets, sg_metrics_seconds_nbuckets);
}

void sg_api_metrics_observe(const char *route, int status, double seconds)
{
        const char *r = route ? route : "unmatched";
        char st[16];

        if (!registry)
                return;
        snprintf(st, sizeof(st), "%d", status);
        sg_series_inc(sg_metric_series(requests, (const char *const[]){r, st}));
        sg_series_observe(sg_metric_series1(duration, r), seconds);
}

void sg_api_metrics_render(sg_buf_t *out)
{
        sg_metrics_render(registry, out);
}
