#ifndef SG_CHART_H
#define SG_CHART_H

#include <stdbool.h>

#include "sg_buf.h"

/* A stacked bar chart as a self-contained SVG: one bar per slot (the 24
 * UTC hours of the daily report, the 7 days of the compliance trend), one
 * segment per series in a fixed colour, axes, labels, a legend and a
 * title, a <title> per segment for tooltips, a viewBox, a white
 * background and no external resource (no fonts, scripts or links), so it
 * renders the same in a browser and as an image on a code-hosting page.
 * Pure: data in, bytes out.
 *
 * What differs between charts (series order and colours, axis titles,
 * the names of the data attributes) is a kind (sg_chart_kind_t); the
 * layout, the axis and the stacking are shared. Each segment carries its
 * data for tests and tools, e.g. for the hourly chart:
 *   <rect class="bar" data-hour="H" data-type="T" data-count="N" ...>
 * and the group holding them the scale:
 *   <g class="bars" data-axis-max="M" data-plot-height="P" ...>
 * so height = N * P / M (to the 0.01 the coordinates are written with). */

#define SG_CHART_HOURS 24
#define SG_CHART_MAX_SLOTS 32
#define SG_CHART_MAX_SERIES 16
#define SG_CHART_SLOT_TEXT 24

/* A series name with its fixed colour; a kind's palette also gives the
 * stacking order (first at the bottom of each bar). */
typedef struct sg_chart_colour_entry {
        const char *name;
        const char *colour; /* #rrggbb */
} sg_chart_colour_entry_t;

/* What a chart shows. Static data; every string is borrowed. */
typedef struct sg_chart_kind {
        const sg_chart_colour_entry_t *palette; /* order and colours */
        int npalette;
        const char *slot_attr;   /* "hour": data-hour="..." */
        const char *series_attr; /* "type": data-type="..." */
        const char *x_title;     /* under the slot labels */
        const char *y_title;     /* beside the axis */
        const char *unit;        /* "event" (tooltips: "1 event") */
        const char *units;       /* "events" */
        const char *empty;       /* shown when every count is 0 */
        bool totals;             /* each slot's total above its bar, 0 too */
} sg_chart_kind_t;

/* The event types of the contract, by hour of the day (sg_chart_init). */
extern const sg_chart_kind_t sg_chart_kind_hourly;

typedef struct sg_chart_series {
        const char *name; /* borrowed */
        long long counts[SG_CHART_MAX_SLOTS];
} sg_chart_series_t;

/* One slot (bar): its data attribute's value, its axis label and the
 * start of its tooltips. */
typedef struct sg_chart_slot {
        char value[SG_CHART_SLOT_TEXT]; /* "13", "2026-01-15" */
        char label[SG_CHART_SLOT_TEXT]; /* "13", "2026-01-15" */
        char tip[SG_CHART_SLOT_TEXT];   /* "13:00-14:00 UTC" */
} sg_chart_slot_t;

/* Series are kept in the kind's palette order, then any other name
 * alphabetically. */
typedef struct sg_chart {
        const char *title; /* borrowed */
        const sg_chart_kind_t *kind;
        int nslots;
        sg_chart_slot_t slots[SG_CHART_MAX_SLOTS];
        int nseries;
        sg_chart_series_t series[SG_CHART_MAX_SERIES];
} sg_chart_t;

/* Where things go, in SVG user units. */
typedef struct sg_chart_geom {
        double width, height;
        double plot_x, plot_y, plot_w, plot_h; /* the plot area */
        double slot_w, bar_w;                  /* per slot */
        long long axis_max;                    /* value at the top */
        long long tick_step;                   /* between grid lines */
} sg_chart_geom_t;

/* Empties c as the hourly chart (sg_chart_kind_hourly, 24 slots labelled
 * 00..23) and sets its title (borrowed). */
void sg_chart_init(sg_chart_t *c, const char *title);

/* Empties c as a chart of kind (borrowed) with nslots slots (1..
 * SG_CHART_MAX_SLOTS; clamped) whose texts are empty until
 * sg_chart_set_slot. */
void sg_chart_init_kind(sg_chart_t *c, const char *title,
                        const sg_chart_kind_t *kind, int nslots);

/* Sets slot's data value, axis label and tooltip start (copied,
 * truncated to SG_CHART_SLOT_TEXT - 1 bytes). Returns 0, or -1 when slot
 * is out of range. */
int sg_chart_set_slot(sg_chart_t *c, int slot, const char *value,
                      const char *label, const char *tip)
    __attribute__((warn_unused_result));

/* Adds count to series name (borrowed) in slot (0..nslots-1), creating
 * the series where needed. Returns 0, or -1 when slot is out of range,
 * count is negative or there are already SG_CHART_MAX_SERIES series. */
int sg_chart_add(sg_chart_t *c, const char *name, int slot, long long count)
    __attribute__((warn_unused_result));

/* The total of slot over every series. */
long long sg_chart_slot_total(const sg_chart_t *c, int slot);

/* The axis for a largest value max: a step of 1, 2 or 5 times a power of
 * ten giving at most 5 intervals, and the top (a multiple of the step,
 * >= max; at least 1). */
void sg_chart_axis(long long max, long long *axis_max, long long *step);

/* Computes the layout of c. */
void sg_chart_layout(const sg_chart_t *c, sg_chart_geom_t *g);

/* The height of a segment of count. */
double sg_chart_bar_height(const sg_chart_geom_t *g, long long count);

/* The fixed fill colour (#rrggbb) of a series of kind; grey for names
 * outside its palette. */
const char *sg_chart_kind_colour(const sg_chart_kind_t *kind,
                                 const char *name);

/* The fixed fill colour of an event type (the hourly chart's palette). */
const char *sg_chart_colour(const char *name);

/* Appends the SVG document (UTF-8, starting with the XML declaration). */
void sg_chart_render_svg(const sg_chart_t *c, sg_buf_t *out);

#endif
