#include "sg_metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sg_log.h"
#include "sg_time.h"

#define SG_METRICS_MAX_HOOKS 8
#define SG_METRICS_DROPPED "sg_metrics_series_dropped_total"
#define SG_METRICS_DROPPED_MAX 256 /* families: a bound of the code */

/* A double's bits in an atomic word: loads and stores are single atomic
 * operations, an add is a compare-and-swap loop (one iteration when
 * uncontended). */
typedef _Atomic uint64_t sg_atomic_double_t;

static uint64_t d2u(double v)
{
        uint64_t u;
        memcpy(&u, &v, sizeof u);
        return u;
}

static double u2d(uint64_t u)
{
        double v;
        memcpy(&v, &u, sizeof v);
        return v;
}

static void atomic_double_add(sg_atomic_double_t *a, double v)
{
        uint64_t old = atomic_load_explicit(a, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(
            a, &old, d2u(u2d(old) + v), memory_order_relaxed,
            memory_order_relaxed))
                ;
}

struct sg_series {
        sg_metric_t *family;
        char *values[SG_METRICS_MAX_LABELS];
        sg_atomic_double_t value; /* counter, gauge; histogram: the sum */
        atomic_bool hidden;
        bool other;
        _Atomic uint64_t buckets[]; /* histogram: per bucket, +Inf last,
                                       not cumulative */
};

struct sg_metric {
        sg_metrics_t *m;
        sg_metric_kind_t kind;
        char *name;
        char *help;
        int nlabels;
        char *labels[SG_METRICS_MAX_LABELS];
        int max_series;
        int nbounds;
        double bounds[SG_METRICS_MAX_BUCKETS];
        pthread_mutex_t lock; /* the series list */
        int nseries;
        sg_series_t **series; /* sorted by values; max_series slots */
        sg_series_t *other;
        sg_series_t *dropped; /* its sg_metrics_series_dropped_total */
};

struct sg_metrics {
        pthread_mutex_t lock; /* the family list and the hooks */
        int nfamilies;
        int cap;
        sg_metric_t **families; /* sorted by name */
        sg_metric_t *dropped;
        int nhooks;
        sg_metrics_collect_fn hooks[SG_METRICS_MAX_HOOKS];
        void *hook_args[SG_METRICS_MAX_HOOKS];
};

const double sg_metrics_seconds_buckets[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
    0.25,  0.5,    1,     2.5,  5,     10,   30, 60};
const int sg_metrics_seconds_nbuckets =
    (int)(sizeof sg_metrics_seconds_buckets / sizeof(double));
const double sg_metrics_size_buckets[] = {1,    5,    10,    50,    100,
                                          500,  1000, 5000,  10000, 50000,
                                          100000};
const int sg_metrics_size_nbuckets =
    (int)(sizeof sg_metrics_size_buckets / sizeof(double));

static bool valid_name(const char *s, bool metric)
{
        if (s == NULL || *s == '\0')
                return false;
        for (const char *p = s; *p; p++) {
                char c = *p;
                bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          c == '_' || (metric && c == ':') ||
                          (p != s && c >= '0' && c <= '9');
                if (!ok)
                        return false;
        }
        return metric || strncmp(s, "__", 2) != 0;
}

/* A copy of v cut to SG_METRICS_VALUE_MAX bytes, not inside a UTF-8
 * sequence. */
static char *value_dup(const char *v)
{
        if (v == NULL)
                v = "";
        size_t n = strlen(v);
        if (n > SG_METRICS_VALUE_MAX) {
                n = SG_METRICS_VALUE_MAX;
                while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
                        n--;
        }
        char *s = sg_xmalloc(n + 1);
        memcpy(s, v, n);
        s[n] = '\0';
        return s;
}

static sg_series_t *series_new(sg_metric_t *f, const char *const *values,
                               bool other)
{
        size_t nb = f->kind == SG_METRIC_HISTOGRAM ? (size_t)f->nbounds + 1
                                                   : 0;
        sg_series_t *s =
            sg_xcalloc(1, sizeof *s + nb * sizeof(_Atomic uint64_t));
        s->family = f;
        s->other = other;
        for (int i = 0; i < f->nlabels; i++)
                s->values[i] = value_dup(other ? "other" : values[i]);
        atomic_init(&s->value, d2u(0.0));
        atomic_init(&s->hidden, false);
        for (size_t i = 0; i < nb; i++)
                atomic_init(&s->buckets[i], 0);
        return s;
}

static void series_free(sg_series_t *s)
{
        if (s == NULL)
                return;
        for (int i = 0; i < SG_METRICS_MAX_LABELS; i++)
                free(s->values[i]);
        free(s);
}

static void family_free(sg_metric_t *f)
{
        if (f == NULL)
                return;
        for (int i = 0; i < f->nseries; i++)
                series_free(f->series[i]);
        series_free(f->other);
        free(f->series);
        for (int i = 0; i < f->nlabels; i++)
                free(f->labels[i]);
        free(f->name);
        free(f->help);
        pthread_mutex_destroy(&f->lock);
        free(f);
}

static bool same_labels(const sg_metric_t *f, const char *const *labels)
{
        int n = 0;
        while (labels != NULL && labels[n] != NULL)
                n++;
        if (n != f->nlabels)
                return false;
        for (int i = 0; i < n; i++)
                if (strcmp(f->labels[i], labels[i]) != 0)
                        return false;
        return true;
}

static sg_metric_t *family_add(sg_metrics_t *m, sg_metric_kind_t kind,
                               const char *name, const char *help,
                               const char *const *labels, int max_series,
                               const double *bounds, int nbounds)
{
        if (m == NULL)
                return NULL;
        if (!valid_name(name, true)) {
                sg_log(SG_LOG_ERROR, "metrics: invalid metric name");
                return NULL;
        }
        int nlabels = 0;
        while (labels != NULL && labels[nlabels] != NULL) {
                if (nlabels == SG_METRICS_MAX_LABELS ||
                    !valid_name(labels[nlabels], false) ||
                    (kind == SG_METRIC_HISTOGRAM &&
                     strcmp(labels[nlabels], "le") == 0)) {
                        sg_log(SG_LOG_ERROR, "metrics: %s: invalid labels",
                               name);
                        return NULL;
                }
                nlabels++;
        }
        if (kind == SG_METRIC_HISTOGRAM) {
                bool ok = nbounds >= 0 && nbounds <= SG_METRICS_MAX_BUCKETS;
                for (int i = 0; ok && i < nbounds; i++)
                        ok = isfinite(bounds[i]) &&
                             (i == 0 || bounds[i] > bounds[i - 1]);
                if (!ok) {
                        sg_log(SG_LOG_ERROR, "metrics: %s: invalid buckets",
                               name);
                        return NULL;
                }
        }
        if (max_series < 1 || nlabels == 0)
                max_series = 1;

        pthread_mutex_lock(&m->lock);
        int pos = 0;
        while (pos < m->nfamilies && strcmp(m->families[pos]->name, name) < 0)
                pos++;
        if (pos < m->nfamilies && strcmp(m->families[pos]->name, name) == 0) {
                sg_metric_t *f = m->families[pos];
                pthread_mutex_unlock(&m->lock);
                if (f->kind == kind && same_labels(f, labels))
                        return f;
                sg_log(SG_LOG_ERROR,
                       "metrics: %s registered twice, differently", name);
                return NULL;
        }
        sg_metric_t *f = sg_xcalloc(1, sizeof *f);
        f->m = m;
        f->kind = kind;
        f->name = sg_xstrdup(name);
        f->help = sg_xstrdup(help != NULL ? help : "");
        f->nlabels = nlabels;
        for (int i = 0; i < nlabels; i++)
                f->labels[i] = sg_xstrdup(labels[i]);
        f->max_series = max_series;
        f->nbounds = kind == SG_METRIC_HISTOGRAM ? nbounds : 0;
        for (int i = 0; i < f->nbounds; i++)
                f->bounds[i] = bounds[i];
        pthread_mutex_init(&f->lock, NULL);
        f->series = sg_xcalloc((size_t)max_series, sizeof *f->series);
        if (nlabels == 0)
                f->series[f->nseries++] = series_new(f, NULL, false);

        if (m->nfamilies == m->cap) {
                m->cap = m->cap ? m->cap * 2 : 16;
                m->families =
                    sg_xrealloc(m->families, (size_t)m->cap * sizeof(f));
        }
        memmove(&m->families[pos + 1], &m->families[pos],
                (size_t)(m->nfamilies - pos) * sizeof(f));
        m->families[pos] = f;
        m->nfamilies++;
        pthread_mutex_unlock(&m->lock);
        return f;
}

sg_metrics_t *sg_metrics_new(void)
{
        sg_metrics_t *m = sg_xcalloc(1, sizeof *m);
        pthread_mutex_init(&m->lock, NULL);
        static const char *const lbl[] = {"metric", NULL};
        m->dropped = family_add(
            m, SG_METRIC_COUNTER, SG_METRICS_DROPPED,
            "Lookups of a new label combination beyond the family's bound, "
            "counted in its \"other\" series instead.",
            lbl, SG_METRICS_DROPPED_MAX, NULL, 0);
        return m;
}

void sg_metrics_destroy(sg_metrics_t *m)
{
        if (m == NULL)
                return;
        for (int i = 0; i < m->nfamilies; i++)
                family_free(m->families[i]);
        free(m->families);
        pthread_mutex_destroy(&m->lock);
        free(m);
}

sg_metric_t *sg_metrics_counter(sg_metrics_t *m, const char *name,
                                const char *help, const char *const *labels,
                                int max_series)
{
        return family_add(m, SG_METRIC_COUNTER, name, help, labels,
                          max_series, NULL, 0);
}

sg_metric_t *sg_metrics_gauge(sg_metrics_t *m, const char *name,
                              const char *help, const char *const *labels,
                              int max_series)
{
        return family_add(m, SG_METRIC_GAUGE, name, help, labels, max_series,
                          NULL, 0);
}

sg_metric_t *sg_metrics_histogram(sg_metrics_t *m, const char *name,
                                  const char *help, const char *const *labels,
                                  int max_series, const double *bounds,
                                  int nbounds)
{
        return family_add(m, SG_METRIC_HISTOGRAM, name, help, labels,
                          max_series, bounds, nbounds);
}

/* Compares a series' values with the given ones (NULL as ""), label by
 * label. */
static int values_cmp(const sg_metric_t *f, const sg_series_t *s,
                      const char *const *values)
{
        for (int i = 0; i < f->nlabels; i++) {
                int c = strncmp(s->values[i], values[i] ? values[i] : "",
                                SG_METRICS_VALUE_MAX);
                if (c != 0)
                        return c;
        }
        return 0;
}

sg_series_t *sg_metric_series(sg_metric_t *f, const char *const *values)
{
        if (f == NULL)
                return NULL;
        pthread_mutex_lock(&f->lock);
        /* Binary search of the sorted list. */
        int lo = 0, hi = f->nseries;
        while (lo < hi) {
                int mid = lo + (hi - lo) / 2;
                int c = values_cmp(f, f->series[mid], values);
                if (c == 0) {
                        sg_series_t *s = f->series[mid];
                        pthread_mutex_unlock(&f->lock);
                        return s;
                }
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        sg_series_t *s;
        if (f->nseries < f->max_series) {
                s = series_new(f, values, false);
                memmove(&f->series[lo + 1], &f->series[lo],
                        (size_t)(f->nseries - lo) * sizeof s);
                f->series[lo] = s;
                f->nseries++;
        } else {
                if (f->other == NULL)
                        f->other = series_new(f, NULL, true);
                s = f->other;
                /* The dropped family's own overflow is not counted (it
                 * would look itself up under its own lock). */
                if (f != f->m->dropped) {
                        if (f->dropped == NULL)
                                f->dropped =
                                    sg_metric_series1(f->m->dropped, f->name);
                        sg_series_inc(f->dropped);
                }
        }
        pthread_mutex_unlock(&f->lock);
        return s;
}

sg_series_t *sg_metric_series0(sg_metric_t *f)
{
        static const char *const none[1] = {NULL};
        return sg_metric_series(f, none);
}

sg_series_t *sg_metric_series1(sg_metric_t *f, const char *v1)
{
        const char *values[1] = {v1};
        return sg_metric_series(f, values);
}

void sg_series_add(sg_series_t *s, double v)
{
        if (s == NULL || s->family->kind == SG_METRIC_HISTOGRAM)
                return;
        if (s->family->kind == SG_METRIC_COUNTER && !(v >= 0))
                return;
        atomic_double_add(&s->value, v);
}

void sg_series_inc(sg_series_t *s)
{
        sg_series_add(s, 1);
}

void sg_series_set(sg_series_t *s, double v)
{
        if (s == NULL || s->family->kind != SG_METRIC_GAUGE)
                return;
        atomic_store_explicit(&s->value, d2u(v), memory_order_relaxed);
        if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
                atomic_store_explicit(&s->hidden, false, memory_order_relaxed);
}

void sg_series_hide(sg_series_t *s)
{
        if (s == NULL || s->family->kind != SG_METRIC_GAUGE)
                return;
        atomic_store_explicit(&s->hidden, true, memory_order_relaxed);
}

void sg_series_observe(sg_series_t *s, double v)
{
        if (s == NULL || s->family->kind != SG_METRIC_HISTOGRAM)
                return;
        const sg_metric_t *f = s->family;
        int i = 0;
        while (i < f->nbounds && !(v <= f->bounds[i]))
                i++;
        atomic_fetch_add_explicit(&s->buckets[i], 1, memory_order_relaxed);
        atomic_double_add(&s->value, v);
}

double sg_series_value(const sg_series_t *s)
{
        if (s == NULL)
                return 0;
        if (s->family->kind == SG_METRIC_HISTOGRAM) {
                uint64_t n = 0;
                for (int i = 0; i <= s->family->nbounds; i++)
                        n += atomic_load_explicit(
                            (_Atomic uint64_t *)&s->buckets[i],
                            memory_order_relaxed);
                return (double)n;
        }
        return u2d(atomic_load_explicit((sg_atomic_double_t *)&s->value,
                                        memory_order_relaxed));
}

int sg_metrics_on_collect(sg_metrics_t *m, sg_metrics_collect_fn fn,
                          void *arg)
{
        if (m == NULL)
                return 0;
        int rc = -1;
        pthread_mutex_lock(&m->lock);
        if (m->nhooks < SG_METRICS_MAX_HOOKS) {
                m->hooks[m->nhooks] = fn;
                m->hook_args[m->nhooks] = arg;
                m->nhooks++;
                rc = 0;
        }
        pthread_mutex_unlock(&m->lock);
        return rc;
}

/* ---------------------------------------------------------- rendering */

/* A number as Prometheus reads it: integers without a fraction, others in
 * the shortest of %.15g and %.17g that reads back exactly. */
static void put_number(sg_buf_t *b, double v)
{
        if (isnan(v)) {
                sg_buf_puts(b, "NaN");
                return;
        }
        if (isinf(v)) {
                sg_buf_puts(b, v > 0 ? "+Inf" : "-Inf");
                return;
        }
        if (fabs(v) < 1e15 && v == (double)(long long)v) {
                sg_buf_put_int(b, (long long)v);
                return;
        }
        char s[40];
        snprintf(s, sizeof s, "%.15g", v);
        if (strtod(s, NULL) != v)
                snprintf(s, sizeof s, "%.17g", v);
        sg_buf_puts(b, s);
}

/* HELP text: backslash and newline escaped. */
static void put_help(sg_buf_t *b, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\')
                        sg_buf_puts(b, "\\\\");
                else if (*s == '\n')
                        sg_buf_puts(b, "\\n");
                else
                        sg_buf_putc(b, *s);
        }
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label_value(sg_buf_t *b, const char *s)
{
        for (; *s; s++) {
                if (*s == '\\')
                        sg_buf_puts(b, "\\\\");
                else if (*s == '"')
                        sg_buf_puts(b, "\\\"");
                else if (*s == '\n')
                        sg_buf_puts(b, "\\n");
                else
                        sg_buf_putc(b, *s);
        }
}

/* name{labels[,le="..."]} — braces only when there is a label. */
static void put_sample_name(sg_buf_t *b, const sg_metric_t *f,
                            const sg_series_t *s, const char *suffix,
                            const double *le)
{
        sg_buf_puts(b, f->name);
        sg_buf_puts(b, suffix);
        if (f->nlabels == 0 && le == NULL)
                return;
        sg_buf_putc(b, '{');
        for (int i = 0; i < f->nlabels; i++) {
                if (i > 0)
                        sg_buf_putc(b, ',');
                sg_buf_puts(b, f->labels[i]);
                sg_buf_puts(b, "=\"");
                put_label_value(b, s->values[i]);
                sg_buf_putc(b, '"');
        }
        if (le != NULL) {
                if (f->nlabels > 0)
                        sg_buf_putc(b, ',');
                sg_buf_puts(b, "le=\"");
                put_number(b, *le);
                sg_buf_putc(b, '"');
        }
        sg_buf_putc(b, '}');
}

static void render_series(sg_buf_t *b, const sg_metric_t *f,
                          sg_series_t *s)
{
        if (f->kind != SG_METRIC_HISTOGRAM) {
                if (atomic_load_explicit(&s->hidden, memory_order_relaxed))
                        return;
                put_sample_name(b, f, s, "", NULL);
                sg_buf_putc(b, ' ');
                put_number(b, sg_series_value(s));
                sg_buf_putc(b, '\n');
                return;
        }
        uint64_t cum = 0;
        for (int i = 0; i <= f->nbounds; i++) {
                cum += atomic_load_explicit(&s->buckets[i],
                                            memory_order_relaxed);
                double le = i < f->nbounds ? f->bounds[i] : INFINITY;
                put_sample_name(b, f, s, "_bucket", &le);
                sg_buf_putc(b, ' ');
                sg_buf_put_int(b, (long long)cum);
                sg_buf_putc(b, '\n');
        }
        put_sample_name(b, f, s, "_sum", NULL);
        sg_buf_putc(b, ' ');
        put_number(b, u2d(atomic_load_explicit(&s->value,
                                               memory_order_relaxed)));
        sg_buf_putc(b, '\n');
        put_sample_name(b, f, s, "_count", NULL);
        sg_buf_putc(b, ' ');
        sg_buf_put_int(b, (long long)cum);
        sg_buf_putc(b, '\n');
}

void sg_metrics_render(sg_metrics_t *m, sg_buf_t *out)
{
        if (m == NULL)
                return;
        static const char *const kinds[] = {"counter", "gauge", "histogram"};
        sg_metrics_collect_fn hooks[SG_METRICS_MAX_HOOKS];
        void *args[SG_METRICS_MAX_HOOKS];
        pthread_mutex_lock(&m->lock);
        int nhooks = m->nhooks;
        memcpy(hooks, m->hooks, sizeof hooks);
        memcpy(args, m->hook_args, sizeof args);
        pthread_mutex_unlock(&m->lock);
        for (int i = 0; i < nhooks; i++)
                hooks[i](m, args[i]);

        pthread_mutex_lock(&m->lock);
        for (int i = 0; i < m->nfamilies; i++) {
                sg_metric_t *f = m->families[i];
                pthread_mutex_lock(&f->lock);
                sg_buf_puts(out, "# HELP ");
                sg_buf_puts(out, f->name);
                sg_buf_putc(out, ' ');
                put_help(out, f->help);
                sg_buf_puts(out, "\n# TYPE ");
                sg_buf_puts(out, f->name);
                sg_buf_putc(out, ' ');
                sg_buf_puts(out, kinds[f->kind]);
                sg_buf_putc(out, '\n');
                for (int j = 0; j < f->nseries; j++)
                        render_series(out, f, f->series[j]);
                if (f->other != NULL)
                        render_series(out, f, f->other);
                pthread_mutex_unlock(&f->lock);
        }
        pthread_mutex_unlock(&m->lock);
}

/* ------------------------------------------------------ process basics */

static void collect_rss(sg_metrics_t *m, void *arg)
{
        (void)m;
        sg_series_t *rss = arg;
        FILE *fp = fopen("/proc/self/statm", "r");
        if (fp == NULL)
                return;
        unsigned long long size, resident;
        if (fscanf(fp, "%llu %llu", &size, &resident) == 2)
                sg_series_set(rss,
                              (double)resident * (double)sysconf(_SC_PAGESIZE));
        fclose(fp);
}

void sg_metrics_process(sg_metrics_t *m, const char *version)
{
        if (m == NULL)
                return;
        static const char *const lbl[] = {"version", NULL};
        sg_series_set(
            sg_metric_series1(sg_metrics_gauge(m, "sg_build_info",
                                               "StreamGuard's version (1).",
                                               lbl, 1),
                              version),
            1);
        sg_series_set(
            sg_metric_series0(sg_metrics_gauge(
                m, "process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds.",
                NULL, 1)),
            (double)(sg_time_wall_us() / 1000000));
        sg_series_t *rss = sg_metric_series0(sg_metrics_gauge(
            m, "process_resident_memory_bytes",
            "Resident memory size in bytes (/proc/self/statm).", NULL, 1));
        if (sg_metrics_on_collect(m, collect_rss, rss) != 0)
                sg_log(SG_LOG_WARN, "metrics: no room for the RSS hook");
}
