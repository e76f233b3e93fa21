#ifndef SG_STATS_H
#define SG_STATS_H

#include <stddef.h>

/* Summary statistics of a sample (latencies), computed in C from sorted
 * values so that they are exact, deterministic and unit-tested. Pure. */

typedef struct sg_stats {
        size_t n;
        double mean;
        double p50;
        double p95;
        double min;
        double max;
} sg_stats_t;

/* The p-quantile (0 <= p <= 1) of n values sorted ascending, interpolated
 * linearly between the two nearest ranks: what PostgreSQL's
 * percentile_cont(p) returns. n == 0 gives NaN. */
double sg_stats_percentile(const double *sorted, size_t n, double p);

/* Fills out from n values sorted ascending (n == 0: every figure NaN).
 * Returns 0, or -1 when the values are not sorted (out untouched). */
int sg_stats_summary(const double *sorted, size_t n, sg_stats_t *out)
    __attribute__((warn_unused_result));

/* The same from n values in any order (a sorted copy; the input is left
 * as it is, and the result does not depend on its order). */
void sg_stats_of(const double *v, size_t n, sg_stats_t *out);

/* Sorts n doubles ascending in place (qsort with a total order). */
void sg_stats_sort(double *v, size_t n);

#endif
