#ifndef SG_METRICS_H
#define SG_METRICS_H

/* A small thread-safe registry of Prometheus metrics, rendered in the text
 * exposition format 0.0.4 (Debian 12 ships no C Prometheus client).
 *
 * A registry holds families; a family has a kind (counter, gauge,
 * histogram), a name, a help text, a fixed list of label names and a bound
 * on its number of series. A series is one combination of label values;
 * sg_metric_series() finds or creates it and returns a handle that stays
 * valid until the registry is destroyed. Updating a handle is one or two
 * atomic operations, no lock and no allocation: hot paths look their
 * series up once and keep the handle.
 *
 * Cardinality is bounded by construction: a family holds at most
 * max_series series; a lookup of a new combination beyond that returns the
 * family's one "other" series (every label value "other") and increments
 * sg_metrics_series_dropped_total{metric="<family>"}. A bug that puts an
 * id in a label therefore costs one series, not a million. Label values
 * are never personal data: callers pass names from fixed sets (rules,
 * reasons, groups, routes), never ids, e-mails or addresses.
 *
 *   sg_metrics_t *m = sg_metrics_new();
 *   static const char *const lbl[] = {"group", "reason", NULL};
 *   sg_metric_t *rej = sg_metrics_counter(m, "sg_events_rejected_total",
 *                                         "Events dead-lettered.", lbl, 64);
 *   sg_series_t *s = sg_metric_series(rej, (const char *[]){"raw", "bad_json"});
 *   sg_series_add(s, 3);
 *   sg_buf_t b; sg_buf_init(&b); sg_metrics_render(m, &b); ...
 *
 * Families render in the order of their names, series in the order of
 * their label values (the "other" series last), so a scrape is
 * deterministic. Every function is NULL-safe for its registry, family and
 * series arguments (a NULL does nothing, a lookup on a NULL family returns
 * NULL), so code can run without a registry. */

#include <stdbool.h>
#include <stdint.h>

#include "sg_buf.h"
#include "sg_defs.h"

#define SG_METRICS_MAX_LABELS 4
#define SG_METRICS_MAX_BUCKETS 24
#define SG_METRICS_VALUE_MAX 128 /* a label value's bytes; longer: cut */

typedef struct sg_metrics sg_metrics_t;
typedef struct sg_metric sg_metric_t;
typedef struct sg_series sg_series_t;

typedef enum sg_metric_kind {
        SG_METRIC_COUNTER,
        SG_METRIC_GAUGE,
        SG_METRIC_HISTOGRAM,
} sg_metric_kind_t;

/* A new empty registry (it already holds the family
 * sg_metrics_series_dropped_total). Never NULL (out of memory aborts).
 * Free it with sg_metrics_destroy(). */
sg_metrics_t *sg_metrics_new(void);

/* Frees the registry, its families and series (every handle). NULL-safe. */
void sg_metrics_destroy(sg_metrics_t *m);

/* Registers a family. labels: the label names, NULL-terminated (NULL or
 * {NULL}: no labels), at most SG_METRICS_MAX_LABELS, copied. max_series:
 * the bound on distinct label-value combinations (at least 1; an
 * unlabelled family has exactly one series, created at once so that it
 * renders as 0). Registering a name twice returns the first family if its
 * kind and labels match. Returns NULL when the name or a label name is not
 * a valid Prometheus name, a label is "le" on a histogram, or the name is
 * registered with another kind or labels: a programming error, logged. */
sg_metric_t *sg_metrics_counter(sg_metrics_t *m, const char *name,
                                const char *help, const char *const *labels,
                                int max_series);
sg_metric_t *sg_metrics_gauge(sg_metrics_t *m, const char *name,
                              const char *help, const char *const *labels,
                              int max_series);
/* bounds: the buckets' upper bounds, strictly increasing and finite, at
 * most SG_METRICS_MAX_BUCKETS (the +Inf bucket is implicit). */
sg_metric_t *sg_metrics_histogram(sg_metrics_t *m, const char *name,
                                  const char *help, const char *const *labels,
                                  int max_series, const double *bounds,
                                  int nbounds);

/* The series of the family with these label values (one per label name,
 * in the family's order; NULL values render as ""), created at zero if
 * new; the "other" series when the family is full. Takes the family's
 * lock: look a series up once and keep the handle on hot paths. values
 * must hold the family's number of labels (NULL for none). Returns NULL
 * only when f is NULL. */
sg_series_t *sg_metric_series(sg_metric_t *f, const char *const *values);

/* The series of an unlabelled family, or of a family with one label. */
sg_series_t *sg_metric_series0(sg_metric_t *f);
sg_series_t *sg_metric_series1(sg_metric_t *f, const char *v1);

/* Counters (and gauges): adds v, which for a counter must be >= 0
 * (a negative v is ignored). */
void sg_series_add(sg_series_t *s, double v);
void sg_series_inc(sg_series_t *s);

/* Gauges: sets the value (and shows a hidden series again). */
void sg_series_set(sg_series_t *s, double v);

/* Gauges: leaves the series out of renders until its next set (a
 * partition no longer assigned to this member, say). */
void sg_series_hide(sg_series_t *s);

/* Histograms: counts one observation of v. */
void sg_series_observe(sg_series_t *s, double v);

/* The current value (a counter's or gauge's; a histogram's count). For
 * tests and for code that reports what it counted. */
double sg_series_value(const sg_series_t *s);

/* Called at the start of every sg_metrics_render, on the rendering
 * thread, to refresh values computed on demand (RSS, say). The function
 * must only update series (it runs with no lock of the registry held).
 * At most 8 hooks; returns 0, or -1 when they are full. */
typedef void (*sg_metrics_collect_fn)(sg_metrics_t *m, void *arg);
int sg_metrics_on_collect(sg_metrics_t *m, sg_metrics_collect_fn fn,
                          void *arg) SG_MUST_CHECK;

/* Appends the whole registry to out in the text exposition format 0.0.4
 * (Content-Type "text/plain; version=0.0.4; charset=utf-8"). Safe to call
 * while other threads update series: each number is read atomically, a
 * histogram's count is the sum of its buckets as read. */
void sg_metrics_render(sg_metrics_t *m, sg_buf_t *out);

/* Process basics: sg_build_info{version} (1), process_start_time_seconds
 * (now, at this call) and process_resident_memory_bytes (read from
 * /proc/self/statm at every render). Call once, at the start. */
void sg_metrics_process(sg_metrics_t *m, const char *version);

/* Default buckets: seconds (1 ms .. 60 s) and sizes (1 .. 100,000). */
extern const double sg_metrics_seconds_buckets[];
extern const int sg_metrics_seconds_nbuckets;
extern const double sg_metrics_size_buckets[];
extern const int sg_metrics_size_nbuckets;

#endif
