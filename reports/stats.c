#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sg_defs.h"

double sg_stats_percentile(const double *sorted, size_t n, double p)
{
        double rank, frac;
        size_t lo;

        if (n == 0 || isnan(p))
                return NAN;
        if (p <= 0.0)
                return sorted[0];
        if (p >= 1.0)
                return sorted[n - 1];
        /* percentile_cont: the value at rank p * (n - 1), 0-based. */
        rank = p * (double)(n - 1);
        lo = (size_t)floor(rank);
        frac = rank - (double)lo;
        if (lo + 1 >= n || frac == 0.0)
                return sorted[lo];
        return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

int sg_stats_summary(const double *sorted, size_t n, sg_stats_t *out)
{
        double sum = 0.0;

        for (size_t i = 1; i < n; i++)
                if (!(sorted[i - 1] <= sorted[i]))
                        return -1;
        out->n = n;
        if (n == 0) {
                out->mean = out->p50 = out->p95 = NAN;
                out->min = out->max = NAN;
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                sum += sorted[i];
        out->mean = sum / (double)n;
        out->p50 = sg_stats_percentile(sorted, n, 0.50);
        out->p95 = sg_stats_percentile(sorted, n, 0.95);
        out->min = sorted[0];
        out->max = sorted[n - 1];
        return 0;
}

static int sg_stats_cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

void sg_stats_sort(double *v, size_t n)
{
        if (n > 1)
                qsort(v, n, sizeof(*v), sg_stats_cmp);
}

void sg_stats_of(const double *v, size_t n, sg_stats_t *out)
{
        double *sorted = NULL;

        memset(out, 0, sizeof(*out));
        if (n > 0) {
                sorted = sg_xmalloc(n * sizeof(*sorted));
                memcpy(sorted, v, n * sizeof(*sorted));
                sg_stats_sort(sorted, n);
        }
        /* Sorted just above: cannot fail. */
        if (sg_stats_summary(sorted, n, out) < 0)
                abort();
        free(sorted);
}
