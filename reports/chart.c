#include "chart.h"
#include "render.h"

#include <stdio.h>
#include <string.h>

/* The event contract's types, in the order they stack and are listed,
 * with colours from the Tableau 10 palette (distinct, colour-blind
 * friendly, legible on white). */
static const struct {
        const char *name;
        const char *colour;
} sg_chart_types[] = {
    {"page_view", "#4e79a7"}, {"add_to_cart", "#f28e2b"},
    {"purchase", "#59a14f"},  {"play", "#76b7b2"},
    {"pause", "#edc948"},     {"seek", "#b07aa1"},
    {"stop", "#9c755f"},      {"playback_error", "#e15759"},
};
#define SG_CHART_NTYPES                                                        \
        (int)(sizeof(sg_chart_types) / sizeof(sg_chart_types[0]))
#define SG_CHART_OTHER_COLOUR "#bab0ac"

#define SG_CHART_WIDTH 960.0
#define SG_CHART_HEIGHT 540.0
#define SG_CHART_LEFT 80.0
#define SG_CHART_RIGHT 20.0
#define SG_CHART_TOP 80.0
#define SG_CHART_BOTTOM 70.0
#define SG_CHART_FONT "font-family=\"Helvetica, Arial, sans-serif\""

static int sg_chart_rank(const char *name)
{
        for (int i = 0; i < SG_CHART_NTYPES; i++)
                if (strcmp(name, sg_chart_types[i].name) == 0)
                        return i;
        return SG_CHART_NTYPES;
}

/* Series order: contract order, then others by name. */
static int sg_chart_before(const char *a, const char *b)
{
        int ra = sg_chart_rank(a), rb = sg_chart_rank(b);

        if (ra != rb)
                return ra < rb;
        return strcmp(a, b) < 0;
}

void sg_chart_init(sg_chart_t *c, const char *title)
{
        memset(c, 0, sizeof(*c));
        c->title = title;
}

int sg_chart_add(sg_chart_t *c, const char *name, int hour, long long count)
{
        int i;

        if (!name || hour < 0 || hour >= SG_CHART_HOURS || count < 0)
                return -1;
        for (i = 0; i < c->nseries; i++)
                if (strcmp(c->series[i].name, name) == 0) {
                        c->series[i].counts[hour] += count;
                        return 0;
                }
        if (c->nseries == SG_CHART_MAX_SERIES)
                return -1;
        for (i = c->nseries;
             i > 0 && sg_chart_before(name, c->series[i - 1].name); i--)
                c->series[i] = c->series[i - 1];
        memset(&c->series[i], 0, sizeof(c->series[i]));
        c->series[i].name = name;
        c->series[i].counts[hour] = count;
        c->nseries++;
        return 0;
}

long long sg_chart_hour_total(const sg_chart_t *c, int hour)
{
        long long n = 0;

        for (int i = 0; i < c->nseries; i++)
                n += c->series[i].counts[hour];
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

        for (int h = 0; h < SG_CHART_HOURS; h++) {
                long long n = sg_chart_hour_total(c, h);
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
        g->slot_w = g->plot_w / SG_CHART_HOURS;
        g->bar_w = g->slot_w * 0.7;
        sg_chart_axis(max, &g->axis_max, &g->tick_step);
}

double sg_chart_bar_height(const sg_chart_geom_t *g, long long count)
{
        return (double)count * g->plot_h / (double)g->axis_max;
}

const char *sg_chart_colour(const char *name)
{
        int r = name ? sg_chart_rank(name) : SG_CHART_NTYPES;

        return r < SG_CHART_NTYPES ? sg_chart_types[r].colour
                                   : SG_CHART_OTHER_COLOUR;
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

static long long sg_chart_series_total(const sg_chart_series_t *s)
{
        long long n = 0;

        for (int h = 0; h < SG_CHART_HOURS; h++)
                n += s->counts[h];
        return n;
}

static void sg_chart_legend(const sg_chart_t *c, sg_buf_t *out)
{
        double x = SG_CHART_LEFT;

        sg_buf_puts(out, "  <g class=\"legend\">\n");
        for (int i = 0; i < c->nseries; i++) {
                const sg_chart_series_t *s = &c->series[i];

                if (sg_chart_series_total(s) == 0)
                        continue;
                sg_buf_printf(out,
                              "    <rect x=\"%.2f\" y=\"46.00\" width=\"12\" "
                              "height=\"12\" fill=\"%s\"/>\n",
                              x, sg_chart_colour(s->name));
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

static void sg_chart_axes(const sg_chart_geom_t *g, sg_buf_t *out)
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
        for (int h = 0; h < SG_CHART_HOURS; h++)
                sg_buf_printf(out,
                              "    <text x=\"%.2f\" y=\"%.2f\" "
                              "text-anchor=\"middle\">%02d</text>\n",
                              g->plot_x + ((double)h + 0.5) * g->slot_w,
                              base + 18.0, h);
        sg_buf_printf(out,
                      "    <text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                      "font-size=\"13\">Hour of the day (UTC)</text>\n",
                      g->plot_x + g->plot_w / 2.0, base + 44.0);
        sg_buf_printf(out,
                      "    <text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" "
                      "font-size=\"13\" transform=\"rotate(-90 %.2f %.2f)\">"
                      "Events</text>\n",
                      20.0, g->plot_y + g->plot_h / 2.0, 20.0,
                      g->plot_y + g->plot_h / 2.0);
        sg_buf_puts(out, "  </g>\n");
}

static void sg_chart_bars(const sg_chart_t *c, const sg_chart_geom_t *g,
                          sg_buf_t *out)
{
        double base = g->plot_y + g->plot_h;
        char num[SG_RENDER_NUM_MAX];

        sg_buf_printf(out,
                      "  <g class=\"bars\" data-axis-max=\"%lld\" "
                      "data-plot-height=\"%.2f\" data-baseline=\"%.2f\">\n",
                      g->axis_max, g->plot_h, base);
        for (int h = 0; h < SG_CHART_HOURS; h++) {
                double x = g->plot_x + (double)h * g->slot_w +
                           (g->slot_w - g->bar_w) / 2.0;
                long long below = 0;

                for (int i = 0; i < c->nseries; i++) {
                        const sg_chart_series_t *s = &c->series[i];
                        long long n = s->counts[h];
                        double top;

                        if (n == 0)
                                continue;
                        /* The top from the running total, so that the
                         * stack's outline is exact whatever the rounding. */
                        below += n;
                        top = base - sg_chart_bar_height(g, below);
                        sg_buf_printf(out,
                                      "    <rect class=\"bar\" data-hour=\"%d\""
                                      " data-type=\"",
                                      h);
                        sg_chart_xml(out, s->name);
                        sg_buf_printf(out,
                                      "\" data-count=\"%lld\" x=\"%.2f\" "
                                      "y=\"%.2f\" width=\"%.2f\" "
                                      "height=\"%.2f\" fill=\"%s\">",
                                      n, x, top, g->bar_w,
                                      sg_chart_bar_height(g, n),
                                      sg_chart_colour(s->name));
                        sg_buf_printf(out, "<title>%02d:00-%02d:00 UTC, ", h,
                                      (h + 1) % 24);
                        sg_chart_xml(out, s->name);
                        sg_buf_printf(out, ": %s event%s</title></rect>\n",
                                      sg_render_int(n, num, sizeof(num)),
                                      n == 1 ? "" : "s");
                }
        }
        sg_buf_puts(out, "  </g>\n");
}

void sg_chart_render_svg(const sg_chart_t *c, sg_buf_t *out)
{
        sg_chart_geom_t g;
        long long total = 0;

        sg_chart_layout(c, &g);
        for (int h = 0; h < SG_CHART_HOURS; h++)
                total += sg_chart_hour_total(c, h);
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
        sg_chart_axes(&g, out);
        sg_chart_bars(c, &g, out);
        if (total == 0)
                sg_buf_printf(out,
                              "  <text x=\"%.2f\" y=\"%.2f\" "
                              "text-anchor=\"middle\" font-size=\"16\" "
                              "fill=\"#666666\">No events</text>\n",
                              g.plot_x + g.plot_w / 2.0,
                              g.plot_y + g.plot_h / 2.0);
        sg_buf_puts(out, "</svg>\n");
}
