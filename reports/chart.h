#ifndef SG_CHART_H
#define SG_CHART_H

#include <stdbool.h>

#include "sg_buf.h"

/* The "events per hour by type" chart as a self-contained SVG: 24 stacked
 * bars (one per UTC hour), one segment per event type in a fixed colour,
 * axes, labels, a legend and a title, a <title> per segment for
 * tooltips, a viewBox, a white background and no external resource
 * (no fonts, scripts or links), so it renders the same in a browser and
 * as an image on a code-hosting page. Pure: data in, bytes out.
 *
 * Each segment carries its data for tests and tools:
 *   <rect class="bar" data-hour="H" data-type="T" data-count="N" ...>
 * and the group holding them the scale:
 *   <g class="bars" data-axis-max="M" data-plot-height="P" ...>
 * so height = N * P / M (to the 0.01 the coordinates are written with). */

#define SG_CHART_HOURS 24
#define SG_CHART_MAX_SERIES 16

typedef struct sg_chart_series {
        const char *name; /* borrowed */
        long long counts[SG_CHART_HOURS];
} sg_chart_series_t;

/* Series are kept in a fixed order: the event types in the order of the
 * event contract (page_view first, at the bottom of each bar), then any
 * other name alphabetically. */
typedef struct sg_chart {
        const char *title; /* borrowed */
        int nseries;
        sg_chart_series_t series[SG_CHART_MAX_SERIES];
} sg_chart_t;

/* Where things go, in SVG user units. */
typedef struct sg_chart_geom {
        double width, height;
        double plot_x, plot_y, plot_w, plot_h; /* the plot area */
        double slot_w, bar_w;                  /* per hour */
        long long axis_max;                    /* value at the top */
        long long tick_step;                   /* between grid lines */
} sg_chart_geom_t;

/* Empties c and sets its title (borrowed). */
void sg_chart_init(sg_chart_t *c, const char *title);

/* Adds count events of type name (borrowed) in hour (0..23), creating the
 * series where needed. Returns 0, or -1 when hour is out of range, count
 * is negative or there are already SG_CHART_MAX_SERIES series. */
int sg_chart_add(sg_chart_t *c, const char *name, int hour, long long count)
    __attribute__((warn_unused_result));

/* Events in hour over every series. */
long long sg_chart_hour_total(const sg_chart_t *c, int hour);

/* The axis for a largest value max: a step of 1, 2 or 5 times a power of
 * ten giving at most 5 intervals, and the top (a multiple of the step,
 * >= max; at least 1). */
void sg_chart_axis(long long max, long long *axis_max, long long *step);

/* Computes the layout of c. */
void sg_chart_layout(const sg_chart_t *c, sg_chart_geom_t *g);

/* The height of a segment of count events. */
double sg_chart_bar_height(const sg_chart_geom_t *g, long long count);

/* The fixed fill colour (#rrggbb) of an event type; grey for others. */
const char *sg_chart_colour(const char *name);

/* Appends the SVG document (UTF-8, starting with the XML declaration). */
void sg_chart_render_svg(const sg_chart_t *c, sg_buf_t *out);

#endif
