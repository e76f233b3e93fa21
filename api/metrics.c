/* sg-api's counters (api/metrics.h). The labels are bounded: a route is a
 * template of the route table (or "unmatched") and a status one of the
 * few the server answers, so a fixed table holds every series. */

#include "metrics.h"

#include <pthread.h>
#include <string.h>

#define MAX_SERIES 512

typedef struct series {
        const char *route;
        int status;
        unsigned long long count;
        double seconds;
} series_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static series_t series[MAX_SERIES];
static int nseries;
static unsigned long long overflow; /* observations with no room left */

void sg_api_metrics_observe(const char *route, int status, double seconds)
{
        const char *r = route ? route : "unmatched";
        series_t *s = NULL;

        pthread_mutex_lock(&lock);
        for (int i = 0; i < nseries; i++)
                if (series[i].status == status &&
                    (series[i].route == r || strcmp(series[i].route, r) == 0)) {
                        s = &series[i];
                        break;
                }
        if (!s && nseries < MAX_SERIES) {
                s = &series[nseries++];
                s->route = r;
                s->status = status;
        }
        if (s) {
                s->count++;
                s->seconds += seconds;
        } else {
                overflow++;
        }
        pthread_mutex_unlock(&lock);
}

void sg_api_metrics_render(sg_buf_t *out)
{
        pthread_mutex_lock(&lock);
        sg_buf_puts(out, "# HELP sg_api_http_requests_total HTTP requests "
                         "answered, by route template and status.\n"
                         "# TYPE sg_api_http_requests_total counter\n");
        for (int i = 0; i < nseries; i++)
                sg_buf_printf(out,
                              "sg_api_http_requests_total{route=\"%s\","
                              "status=\"%d\"} %llu\n",
                              series[i].route, series[i].status,
                              series[i].count);
        sg_buf_puts(out, "# HELP sg_api_http_request_duration_seconds_sum "
                         "Time spent answering, by route template and "
                         "status.\n"
                         "# TYPE sg_api_http_request_duration_seconds_sum "
                         "counter\n");
        for (int i = 0; i < nseries; i++)
                sg_buf_printf(out,
                              "sg_api_http_request_duration_seconds_sum{route="
                              "\"%s\",status=\"%d\"} %.6f\n",
                              series[i].route, series[i].status,
                              series[i].seconds);
        sg_buf_printf(out,
                      "# HELP sg_api_metrics_dropped_total Observations not "
                      "counted (series table full).\n"
                      "# TYPE sg_api_metrics_dropped_total counter\n"
                      "sg_api_metrics_dropped_total %llu\n",
                      overflow);
        pthread_mutex_unlock(&lock);
}

void sg_api_metrics_reset(void)
{
        pthread_mutex_lock(&lock);
        nseries = 0;
        overflow = 0;
        memset(series, 0, sizeof(series));
        pthread_mutex_unlock(&lock);
}
