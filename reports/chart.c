#include "chart.h"
#include "render.h"

#include <stdio.h>
#include <string.h>

/* The event contract's types, in the order they stack and are listed,
 * with colours from the Tableau 10 palette (distinct, colour-blind
 * friendly, legible on white). */
static const sg_chart_colour_entry_t sg_chart_types[] = {
    {"page_view", "#4e79a7"}, {"add_to_cart", "#f28e2b"},
    {"purchase", "#59a14f"},  {"play", "#76b7b2"},
    {"pause", "#edc948"},     {"seek", "#b07aa1"},
    {"stop", "#9c755f"},      {"playback_error", "#e15759"},
};
#define SG_CHART_NTYPES                                                        \
        (int)(sizeof(sg_chart_types) / sizeof(sg_chart_types[0]))
#define SG_CHART_OTHER_COLOUR "#bab0ac"

const sg_chart_kind_t sg_chart_kind_hourly = {
    .palette = sg_chart_types,
    .npalette = SG_CHART_NTYPES,
    .slot_attr = "hour",
    .series_attr = "type",
    .x_title = "Hour of the day (UTC)",
    .y_title = "Events",
    .unit = "event",
    .units = "events",
    .empty = "No events",
    .totals = false,
};

#define SG_CHART_WIDTH 960.0
#define SG_CHART_HEIGHT 540.0
#define SG_CHART_LEFT 80.0
#define SG_CHART_RIGHT 20.0
#define SG_CHART_TOP 80.0
#define SG_CHART_BOTTOM 70.0
#define SG_CHART_FONT "font-family=\"Helvetica, Arial, sans-serif\""

/* A name's place in kind's palette; npalette for any other name. */
static int sg_chart_rank(const sg_chart_kind_t *kind, const char *name)
{
        for (int i = 0; i < kind->npalette; i++)
                if (strcmp(name, kind->palette[i].name) == 0)
                        return i;
        return kind->npalette;
}

/* Series order: the palette's, then others by name. */
static int sg_chart_before(const sg_chart_kind_t *kind, const char *a,
                           const char *b)
{
        int ra = sg_chart_rank(kind, a), rb = sg_chart_rank(kind, b);

        if (ra != rb)
                return ra < rb;
        return strcmp(a, b) < 0;
}

void sg_chart_init_kind(sg_chart_t *c, const char *title,
                        const sg_chart_kind_t *kind, int nslots)
{
        memset(c, 0, sizeof(*c));
        c->title = title;
        c->kind = kind;
        if (nslots < 1)
                nslots = 1;
        if (nslots > SG_CHART_MAX_SLOTS)
                nslots = SG_CHART_MAX_SLOTS;
        c->nslots = nslots;
}

void sg_chart_init(sg_chart_t *c, const char *title)
{
        sg_chart_init_kind(c, title, &sg_chart_kind_hourly, SG_CHART_HOURS);
        for (int h = 0; h < SG_CHART_HOURS; h++) {
                sg_chart_slot_t *s = &c->slots[h];

                snprintf(s->value, sizeof(s->value), "%d", h);
                snprintf(s->label, sizeof(s->label), "%02d", h);
                snprintf(s->tip, sizeof(s->tip), "%02d:00-%02d:00 UTC", h,
                         (h + 1) % 24);
        }
}

int sg_chart_set_slot(sg_chart_t *c, int slot, const char *value,
                      const char *label, const char *tip)
{
        sg_chart_slot_t *s;

        if (slot < 0 || slot >= c->nslots)
                return -1;
        s = &c->slots[slot];
        snprintf(s->value, sizeof(s->value), "%s", value ? value : "");
        snprintf(s->label, sizeof(s->label), "%s", label ? label : "");
        snprintf(s->tip, sizeof(s->tip), "%s", tip ? tip : "");
        return 0;
}

int sg_chart_add(sg_chart_t *c, const char *name, int slot, long long count)
{
        int i;

        if (!name || slot < 0 || slot >= c->nslots || count < 0)
                return -1;
        for (i = 0; i < c->nseries; i++)
                if (strcmp(c->series[i].name, name) == 0) {
                        c->series[i].counts[slot] += count;
                        return 0;
                }
        if (c->nseries == SG_CHART_MAX_SERIES)
                return -1;
        for (i = c->nseries;
             i > 0 && sg_chart_before(c->kind, name, c->series[i - 1].name);
             i--)
                c->series[i] = c->series[i - 1];
        memset(&c->series[i], 0, sizeof(c->series[i]));
        c->series[i].name = name;
        c->series[i].counts[slot] = count;
        c->nseries++;
        return 0;
}

long long sg_chart_slot_total(const sg_chart_t *c, int slot)
{
        long long n = 0;

        for (int i = 0; i < c->nseries; i++)
                n += c->series[i].counts[slot];
        return n;
}

void sg_chart_axis(long long max, long long *axis_max, long long *step)
{
        static const int mult[3] = {1, 2, 5};
        long long pow10 = 1;

        if (max < 1)
                max = 1;
        /* Far beyond any day's events; keeps step * 5 from overflowing. */
        if (max > 1000000000000000LL)
                max = 1000000000000000LL;
        for (;;) {
                for (int i = 0; i < 3; i++) {
                        long long s = mult[i] * pow10;

                        if (s * 5 >= max) {
                                *step = s;
                                *axis_max = (max + s - 1) / s * s;
                                return;
                        }
                }
                pow10 *= 10;
        }
}

void sg_chart_layout(const sg_chart_t *c, sg_chart_geom_t *g)
{
        long long max = 0;

        for (int i = 0; i < c->nslots; i++) {
                long long n = sg_chart_slot_total(c, i);
                if (n > max)
                        max = n;
        }
        memset(g, 0, sizeof(*g));
        g->width = SG_CHART_WIDTH;
        g->height = SG_CHART_HEIGHT;
        g->plot_x = SG_CHART_LEFT;
        g->plot_y = SG_CHART_TOP;
        g->plot_w = SG_CHART_WIDTH - SG_CHART_LEFT - SG_CHART_RIGHT;
        g->plot_h = SG_CHART_HEIGHT - SG_CHART_TOP - SG_CHART_BOTTOM;
        g->slot_w = g->plot_w / c->nslots;
        g->bar_w = g->slot_w * 0.7;
        sg_chart_axis(max, &g->axis_max, &g->tick_step);
}

double sg_chart_bar_height(const sg_chart_geom_t *g, long long count)
{
        return (double)count * g->plot_h / (double)g->axis_max;
}

const char *sg_chart_kind_colour(const sg_chart_kind_t *kind,
                                 const char *name)
{
        int r = name ? sg_chart_rank(kind, name) : kind->npalette;

        return r < kind->npalette ? kind->palette[r].colour
                                  : SG_CHART_OTHER_COLOUR;
}

const char *sg_chart_colour(const char *name)
{
        return sg_chart_kind_colour(&sg_chart_kind_hourly, name);
}

/* Appends s escaped for XML text and attribute values. */
static void sg_chart_xml(sg_buf_t *out, const char *s)
{
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char)*s;

                switch (ch) {
                case '&':
                        sg_buf_puts(out, "&amp;");
                        break;
                case '<':
                        sg_buf_puts(out, "&lt;");
                        break;
                case '>':
                        sg_buf_puts(out, "&gt;");
                        break;
                case '"':
                        sg_buf_puts(out, "&quot;");
                        break;
                case '\'':
                        sg_buf_puts(out, "&apos;");
                        break;
                default:
                        /* XML 1.0 allows no other control characters. */
                        sg_buf_putc(out,
                                    ch < 0x20 || ch == 0x7f ? '?' : (char)ch);
                }
        }
}

static long long sg_chart_series_total(const sg_chart_t *c,
                                       const sg_chart_series_t *s)
{
        long long n = 0;

        for (int i = 0; i < c->nslots; i++)
                n += s->counts[i];
        return n;
}

static void sg_chart_legend(const sg_chart_t *c, sg_buf_t *out)
{
        double x = SG_CHART_LEFT;

        sg_buf_puts(out, "  <g class=\"legend\">\n");
        for (int i = 0; i < c->nseries; i++) {
                const sg_chart_series_t *s = &c->series[i];

                if (sg_chart_series_total(c, s) == 0)
                        continue;
                sg_buf_printf(out,
                              "    <rect x=\"%.2f\" y=\"46.00\" width=\"12\" "
                              "height=\"12\" fill=\"%s\"/>\n",
                              x, sg_chart_kind_colour(c->kind, s->name));
                sg_buf_printf(out,
                              "    <text x=\"%.2f\" y=\"56.50\" "
                              "font-size=\"12\" fill=\"#333333\">",
                              x + 17.0);
                sg_chart_xml(out, s->name);
                sg_buf_puts(out, "</text>\n");
                /* About 7 units per character at 12 px, plus the swatch
                 * and a gap. */
                x += 17.0 + 7.0 * (double)strlen(s->name) + 18.0;
        }
        sg_buf_puts(out, "  </g>\n");
}

static void sg_chart_axes(const sg_chart_t *c, const sg_chart_geom_t *g,
                          sg_buf_t *out)
{
        double base = g->plot_y + g->plot_h;
        char num[SG_RENDER_NUM_MAX];

        sg_buf_puts(out, "  <g class=\"axes\" font-size=\"12\" "
                         "fill=\"#333333\">\n");
        for (long long v = 0; v <= g->axis_max; v += g->tick_step) {
                double y = base - sg_chart_bar_height(g, v);

                sg_buf_printf(
                    out,
                    "    <line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
                    "y2=\"%.2f\" stroke=\"%s\" stroke-width=\"1\"/>\n",
                    g->plot_x, y, g->plot_x + g->plot_w, y,
                    v == 0 ? "#333333" : "#e0e0e0");
                sg_buf_printf(out,
                              "    <text x=\"%.2f\" y=\"%.2f\" "
                              "text-anchor=\"end\">%s</text>\n",
                              g->plot_x - 8.0, y + 4.0,
                              sg_render_int(v, num, sizeof(num)));
        }
        sg_buf_printf(out,
                      "    <line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" "
                      "y2=\"%.2f\" stroke=\"#333333\" stroke-width=\"1\"/>\n",
                      g->plot_x, g->plot_y, g->plot_x, base);
        for (int i = 0; i < c->nslots; i++) {
                sg_buf_printf(out,
                              "    <text x=\"%.2f\" y=\"%.2f\" "
                              "text-anchor=\"middle\">",
                              g->plot_x + ((double)i + 0.5) * g->slot_w,
                              base + 18.0);
                sg_chart_xml(out, c->slots[i].label);
                sg_buf_puts(out, "</text>\n");
        }
        sg_buf_printf(out,
                      "    <text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                      "font-size=\"13\">",
                      g->plot_x + g->plot_w / 2.0, base + 44.0);
        sg_chart_xml(out, c->kind->x_title);
        sg_buf_puts(out, "</text>\n");
        sg_buf_printf(out,
                      "    <text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                      "font-size=\"13\" transform=\"rotate(-90 %.2f %.2f)\">",
                      20.0, g->plot_y + g->plot_h / 2.0, 20.0,
                      g->plot_y + g->plot_h / 2.0);
        sg_chart_xml(out, c->kind->y_title);
        sg_buf_puts(out, "</text>\n");
        sg_buf_puts(out, "  </g>\n");
}

static void sg_chart_bars(const sg_chart_t *c, const sg_chart_geom_t *g,
                          sg_buf_t *out)
{
        const sg_chart_kind_t *k = c->kind;
        double base = g->plot_y + g->plot_h;
        char num[SG_RENDER_NUM_MAX];

        sg_buf_printf(out,
                      "  <g class=\"bars\" data-axis-max=\"%lld\" "
                      "data-plot-height=\"%.2f\" data-baseline=\"%.2f\">\n",
                      g->axis_max, g->plot_h, base);
        for (int slot = 0; slot < c->nslots; slot++) {
                const sg_chart_slot_t *sl = &c->slots[slot];
                double x = g->plot_x + (double)slot * g->slot_w +
                           (g->slot_w - g->bar_w) / 2.0;
                long long below = 0;

                for (int i = 0; i < c->nseries; i++) {
                        const sg_chart_series_t *s = &c->series[i];
                        long long n = s->counts[slot];
                        double top;

                        if (n == 0)
                                continue;
                        /* The top from the running total, so that the
                         * stack's outline is exact whatever the rounding. */
                        below += n;
                        top = base - sg_chart_bar_height(g, below);
                        sg_buf_printf(out, "    <rect class=\"bar\" data-%s=\"",
                                      k->slot_attr);
                        sg_chart_xml(out, sl->value);
                        sg_buf_printf(out, "\" data-%s=\"", k->series_attr);
                        sg_chart_xml(out, s->name);
                        sg_buf_printf(out,
                                      "\" data-count=\"%lld\" x=\"%.2f\" "
                                      "y=\"%.2f\" width=\"%.2f\" "
                                      "height=\"%.2f\" fill=\"%s\">",
                                      n, x, top, g->bar_w,
                                      sg_chart_bar_height(g, n),
                                      sg_chart_kind_colour(k, s->name));
                        sg_buf_puts(out, "<title>");
                        sg_chart_xml(out, sl->tip);
                        sg_buf_puts(out, ", ");
                        sg_chart_xml(out, s->name);
                        sg_buf_printf(out, ": %s %s</title></rect>\n",
                                      sg_render_int(n, num, sizeof(num)),
                                      n == 1 ? k->unit : k->units);
                }
        }
        sg_buf_puts(out, "  </g>\n");
}

/* Each slot's total written above its bar (0 on the baseline), so that a
 * slot without data reads as 0 rather than as missing. */
static void sg_chart_totals(const sg_chart_t *c, const sg_chart_geom_t *g,
                            sg_buf_t *out)
{
        double base = g->plot_y + g->plot_h;
        char num[SG_RENDER_NUM_MAX];

        sg_buf_puts(out, "  <g class=\"totals\" font-size=\"12\" "
                         "fill=\"#333333\" text-anchor=\"middle\">\n");
        for (int slot = 0; slot < c->nslots; slot++) {
                long long n = sg_chart_slot_total(c, slot);

                sg_buf_printf(out, "    <text data-%s=\"", c->kind->slot_attr);
                sg_chart_xml(out, c->slots[slot].value);
                sg_buf_printf(out,
                              "\" data-total=\"%lld\" x=\"%.2f\" "
                              "y=\"%.2f\">%s</text>\n",
                              n, g->plot_x + ((double)slot + 0.5) * g->slot_w,
                              base - sg_chart_bar_height(g, n) - 6.0,
                              sg_render_int(n, num, sizeof(num)));
        }
        sg_buf_puts(out, "  </g>\n");
}

void sg_chart_render_svg(const sg_chart_t *c, sg_buf_t *out)
{
        sg_chart_geom_t g;
        long long total = 0;

        sg_chart_layout(c, &g);
        for (int i = 0; i < c->nslots; i++)
                total += sg_chart_slot_total(c, i);
        sg_buf_puts(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        sg_buf_printf(out,
                      "<svg xmlns=\"http://www.w3.org/2000/svg\" "
                      "width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\""
                      " role=\"img\" " SG_CHART_FONT ">\n",
                      g.width, g.height, g.width, g.height);
        sg_buf_puts(out, "  <title>");
        sg_chart_xml(out, c->title);
        sg_buf_puts(out, "</title>\n");
        /* A background of its own: readable on a dark page too. */
        sg_buf_puts(out, "  <rect class=\"background\" x=\"0\" y=\"0\" "
                         "width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n");
        sg_buf_printf(out,
                      "  <text x=\"%.2f\" y=\"28.00\" text-anchor=\"middle\" "
                      "font-size=\"18\" font-weight=\"bold\" "
                      "fill=\"#222222\">",
                      g.width / 2.0);
        sg_chart_xml(out, c->title);
        sg_buf_puts(out, "</text>\n");
        sg_chart_legend(c, out);
        sg_chart_axes(c, &g, out);
        sg_chart_bars(c, &g, out);
        if (c->kind->totals)
                sg_chart_totals(c, &g, out);
        if (total == 0) {
                sg_buf_printf(out,
                              "  <text x=\"%.2f\" y=\"%.2f\" "
                              "text-anchor=\"middle\" font-size=\"16\" "
                              "fill=\"#666666\">",
                              g.plot_x + g.plot_w / 2.0,
                              g.plot_y + g.plot_h / 2.0);
                sg_chart_xml(out, c->kind->empty);
                sg_buf_puts(out, "</text>\n");
        }
        sg_buf_puts(out, "</svg>\n");
}
