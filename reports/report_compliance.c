#include "report_compliance.h"
#include "render.h"
#include "sg_defs.h"
#include "sg_md.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM SG_RENDER_NUM_MAX
#define DAY_S 86400.0

const char *const sg_compliance_severities[SG_COMPLIANCE_NSEV] = {
    "low", "medium", "high"};

/* Severities stack low at the bottom; colours from the Tableau 10
 * palette, rising from yellow to red. */
static const sg_chart_colour_entry_t sg_compliance_palette[] = {
    {"low", "#edc948"}, {"medium", "#f28e2b"}, {"high", "#e15759"}};

static const sg_chart_kind_t sg_compliance_kind = {
    .palette = sg_compliance_palette,
    .npalette = SG_COMPLIANCE_NSEV,
    .slot_attr = "day",
    .series_attr = "severity",
    .x_title = "Day of the flag's window start (UTC)",
    .y_title = "Flags",
    .unit = "flag",
    .units = "flags",
    .empty = "No flags",
    .totals = true,
};

static long long sg_compliance_sum(const long long *v)
{
        long long n = 0;

        for (int i = 0; i < SG_COMPLIANCE_NSEV; i++)
                n += v[i];
        return n;
}

/* Totals of the flags of D by severity, over the rules. */
static long long sg_compliance_flags(const sg_compliance_report_t *r,
                                     long long by_sev[SG_COMPLIANCE_NSEV])
{
        memset(by_sev, 0, SG_COMPLIANCE_NSEV * sizeof(*by_sev));
        for (int i = 0; i < r->nrules; i++)
                for (int s = 0; s < SG_COMPLIANCE_NSEV; s++)
                        by_sev[s] += r->rules[i].by_sev[s];
        return sg_compliance_sum(by_sev);
}

/* The header of a severity table: first, the three severities, Total. */
static void sg_compliance_sev_table(sg_md_table_t *t, const char *first,
                                    int extra, const char *extra_head)
{
        const char *head[6] = {first, "Low", "Medium", "High", "Total",
                               extra_head};
        const sg_md_align_t al[6] = {SG_MD_LEFT,  SG_MD_RIGHT, SG_MD_RIGHT,
                                     SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT};

        sg_md_table_init(t, 5 + extra, head, al);
}

/* Fills columns from..from+3 of the last row with v and its total. */
static void sg_compliance_sev_cells(sg_md_table_t *t, int from,
                                    const long long *v)
{
        char a[NUM];

        for (int s = 0; s < SG_COMPLIANCE_NSEV; s++)
                sg_md_table_set(t, from + s, sg_render_int(v[s], a, NUM));
        sg_md_table_set(t, from + SG_COMPLIANCE_NSEV,
                        sg_render_int(sg_compliance_sum(v), a, NUM));
}

int sg_compliance_report_chart(const sg_compliance_report_t *r,
                               const char *title, sg_chart_t *c)
{
        sg_chart_init_kind(c, title, &sg_compliance_kind,
                           r->ndays > 0 ? r->ndays : 1);
        if (r->ndays > SG_CHART_MAX_SLOTS)
                return -1;
        for (int d = 0; d < r->ndays; d++) {
                const sg_compliance_day_t *day = &r->days[d];

                if (sg_chart_set_slot(c, d, day->date, day->date, day->date) <
                    0)
                        return -1;
                for (int s = 0; s < SG_COMPLIANCE_NSEV; s++)
                        if (sg_chart_add(c, sg_compliance_severities[s], d,
                                         day->by_sev[s]) < 0)
                                return -1;
        }
        return 0;
}

/* ---- 1. flags of the day ---------------------------------------------- */

static const char *sg_compliance_why(const char *why)
{
        if (strcmp(why, "content") == 0)
                return "content flags (`content_error_rate`): a content's "
                       "plays come from many countries";
        if (strcmp(why, "several_countries") == 0)
                return "`multi_country` flags: several countries by "
                       "definition";
        if (strcmp(why, "event_not_stored") == 0)
                return "user flags whose first event is not in `events_raw`";
        return why;
}

static void sg_compliance_flags_section(const sg_compliance_report_t *r,
                                        sg_buf_t *out)
{
        long long by_sev[SG_COMPLIANCE_NSEV];
        long long total = sg_compliance_flags(r, by_sev);
        sg_md_table_t t;
        char a[NUM], b[NUM];
        int nattr = 0;

        sg_buf_printf(out, "## Flags of %s\n\n", r->date);
        if (total == 0) {
                sg_buf_printf(out, "No flag has a window starting on %s.\n\n",
                              r->date);
                return;
        }
        sg_buf_printf(out,
                      "%s flag%s on %s subject%s: the flags whose window "
                      "starts (`window_start`,\nevent time) on %s UTC. "
                      "`detected_at`, the consumer's wall clock, moves\n"
                      "with a replay, so it does not define the day. "
                      "Severities are as stored (a\nflag's severity can "
                      "only rise).\n\n",
                      sg_render_int(total, a, NUM), total == 1 ? "" : "s",
                      sg_render_int(r->subjects, b, NUM),
                      r->subjects == 1 ? "" : "s", r->date);

        sg_buf_puts(out, "### By rule and severity\n\n");
        {
                const char *head[6] = {"Rule",   "Subject", "Low",
                                       "Medium", "High",    "Total"};
                const sg_md_align_t al[6] = {SG_MD_LEFT,  SG_MD_LEFT,
                                             SG_MD_RIGHT, SG_MD_RIGHT,
                                             SG_MD_RIGHT, SG_MD_RIGHT};

                sg_md_table_init(&t, 6, head, al);
        }
        for (int i = 0; i < r->nrules; i++) {
                sg_md_table_add_row(&t);
                sg_render_cell_code(&t, 0, r->rules[i].rule);
                sg_render_cell_text(&t, 1, r->rules[i].subject_type);
                sg_compliance_sev_cells(&t, 2, r->rules[i].by_sev);
        }
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "**All rules**");
        sg_compliance_sev_cells(&t, 2, by_sev);
        sg_render_table_end(&t, out);

        sg_buf_puts(out, "### By country\n\n");
        for (int i = 0; i < r->ncountries; i++)
                if (r->countries[i].country)
                        nattr++;
        if (nattr == 0) {
                sg_buf_puts(out, "No flag of the day can be attributed to a "
                                 "country.\n\n");
        } else {
                sg_compliance_sev_table(&t, "Country", 0, NULL);
                for (int i = 0; i < r->ncountries; i++) {
                        const sg_compliance_country_t *co = &r->countries[i];

                        if (!co->country)
                                continue;
                        sg_md_table_add_row(&t);
                        sg_render_cell_text(&t, 0, co->country);
                        sg_compliance_sev_cells(&t, 1, co->by_sev);
                }
                sg_render_table_end(&t, out);
        }
        sg_buf_puts(out, "A user flag counts for the country of the event "
                         "that raised it\n(`first_event_id` in `events_raw`), "
                         "a `traffic_anomaly` flag for its subject\ncountry. "
                         "Countries with the most flags first, ties by "
                         "country code.");
        if (nattr == r->ncountries) {
                sg_buf_puts(out, "\n\n");
                return;
        }
        sg_buf_puts(out, " Not attributed to a country:\n\n");
        for (int i = 0; i < r->ncountries; i++) {
                const sg_compliance_country_t *co = &r->countries[i];
                long long n = sg_compliance_sum(co->by_sev);

                if (co->country)
                        continue;
                sg_buf_printf(out, "- %s: %s\n", sg_compliance_why(co->why),
                              sg_render_int(n, a, NUM));
        }
        sg_buf_puts(out, "\n");
}

/* ---- 2. top subjects -------------------------------------------------- */

static void sg_compliance_top_section(const sg_compliance_report_t *r,
                                      sg_buf_t *out)
{
        static const char *const head[6] = {"Rank", "Subject", "Id",
                                            "Flags", "High", "Rules"};
        static const sg_md_align_t al[6] = {SG_MD_RIGHT, SG_MD_LEFT,
                                            SG_MD_LEFT,  SG_MD_RIGHT,
                                            SG_MD_RIGHT, SG_MD_LEFT};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_printf(out, "## Top %d subjects by flags\n\n",
                      SG_COMPLIANCE_TOP);
        if (r->ntop == 0) {
                sg_buf_printf(out, "No subject has a flag on %s.\n\n",
                              r->date);
                return;
        }
        sg_md_table_init(&t, 6, head, al);
        for (int i = 0; i < r->ntop; i++) {
                const sg_compliance_subject_t *s = &r->top[i];

                sg_md_table_add_row(&t);
                sg_md_table_setf(&t, 0, "%d", i + 1);
                sg_render_cell_text(&t, 1, s->subject_type);
                sg_render_cell_code(&t, 2, s->subject_id);
                sg_md_table_set(&t, 3, sg_render_int(s->flags, a, NUM));
                sg_md_table_set(&t, 4, sg_render_int(s->high, a, NUM));
                sg_render_cell_text(&t, 5, s->rules);
        }
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "Ids only: user ids are pseudonymous. Ties by the "
                         "number of high flags, then\nby subject type and "
                         "id.\n\n");
}

/* ---- 3. risk levels --------------------------------------------------- */

static void sg_compliance_risk_section(const sg_compliance_report_t *r,
                                       sg_buf_t *out)
{
        sg_md_table_t t;
        char a[NUM];

        sg_buf_printf(out, "## Risk levels by country\n\n");
        if (r->nrisk == 0) {
                sg_buf_printf(out, "`compliance_daily` has no row for %s.\n\n",
                              r->date);
                return;
        }
        sg_compliance_sev_table(&t, "Country", 1, "High share");
        for (int i = 0; i < r->nrisk; i++) {
                const sg_compliance_risk_t *k = &r->risk[i];

                sg_md_table_add_row(&t);
                sg_render_cell_text(&t, 0, k->country);
                sg_compliance_sev_cells(&t, 1, k->by_level);
                sg_md_table_set(&t, 5,
                                sg_render_percent(k->by_level[2],
                                                  sg_compliance_sum(k->by_level),
                                                  1, a, NUM));
        }
        sg_render_table_end(&t, out);
        sg_buf_printf(out,
                      "Events of %s (event time, UTC) by risk level, from "
                      "`compliance_daily`:\nan event's level is the sum of "
                      "the weights of the rules it triggered\n"
                      "(docs/compliance.md). Most high-risk events first, "
                      "ties by total, then\ncountry code.\n\n",
                      r->date);
}

/* ---- 4. trend --------------------------------------------------------- */

static void sg_compliance_trend_section(const sg_compliance_report_t *r,
                                        sg_buf_t *out)
{
        long long total = 0;
        sg_md_table_t t;

        sg_buf_printf(out, "## Flags over %d days\n\n", r->ndays);
        /* The file name is ours (compliance_report_<date>_...svg): safe
         * in a link as it is. */
        sg_buf_printf(out, "![Flags by severity, %d days](%s)\n\n", r->ndays,
                      r->chart_file);
        for (int d = 0; d < r->ndays; d++)
                total += sg_compliance_sum(r->days[d].by_sev);
        if (total == 0) {
                sg_buf_printf(out,
                              "No flag has a window starting in these %d "
                              "days.\n\n",
                              r->ndays);
                return;
        }
        sg_compliance_sev_table(&t, "Day (UTC)", 0, NULL);
        for (int d = 0; d < r->ndays; d++) {
                sg_md_table_add_row(&t);
                sg_md_table_set(&t, 0, r->days[d].date);
                sg_compliance_sev_cells(&t, 1, r->days[d].by_sev);
        }
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "Flags by the day their window starts, as above; a "
                         "day without flags shows 0.\n\n");
}

/* ---- 5. late events --------------------------------------------------- */

static void sg_compliance_late_section(const sg_compliance_report_t *r,
                                       sg_buf_t *out)
{
        static const char *const head[2] = {"Partition", "Late events"};
        static const sg_md_align_t al[2] = {SG_MD_LEFT, SG_MD_RIGHT};
        long long total = 0;
        sg_md_table_t t;
        char a[NUM];

        sg_buf_puts(out, "## Late events\n\n");
        if (r->nlate == 0) {
                sg_buf_printf(out,
                              "`compliance_late` counts no late event for "
                              "%s.\n\n",
                              r->date);
                return;
        }
        for (int i = 0; i < r->nlate; i++)
                total += r->late[i].events;
        sg_md_table_init(&t, 2, head, al);
        for (int i = 0; i < r->nlate; i++) {
                sg_md_table_add_row(&t);
                if (r->late[i].partition < 0)
                        sg_md_table_set(&t, 0, "window already closed");
                else
                        sg_md_table_setf(&t, 0, "%d", r->late[i].partition);
                sg_md_table_set(&t, 1, sg_render_int(r->late[i].events, a,
                                                     NUM));
        }
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "**All**");
        sg_md_table_set(&t, 1, sg_render_int(total, a, NUM));
        sg_render_table_end(&t, out);
        sg_buf_printf(out,
                      "Events of %s (event time) that came more than the "
                      "allowed lateness\nbehind the highest event time of "
                      "their partition: they met the per-event\nrules but "
                      "entered no window. \"Window already closed\": "
                      "counted for a\ncross-partition window the watermark "
                      "had already closed.\n\n",
                      r->date);
}

/* ---- 6. alert delivery ------------------------------------------------ */

static void sg_compliance_sink_cells(sg_md_table_t *t,
                                     const sg_compliance_sink_t *s)
{
        char a[NUM];

        sg_md_table_set(t, 1, sg_render_int(s->deliveries, a, NUM));
        sg_md_table_set(t, 2, sg_render_int(s->sent, a, NUM));
        sg_md_table_set(t, 3, sg_render_int(s->retried, a, NUM));
        sg_md_table_set(t, 4, sg_render_int(s->dead, a, NUM));
        sg_md_table_set(t, 5, sg_render_int(s->digested, a, NUM));
        sg_md_table_set(t, 6, sg_render_int(s->pending, a, NUM));
}

static void sg_compliance_alerts_section(const sg_compliance_report_t *r,
                                         sg_buf_t *out)
{
        static const char *const head[7] = {"Sink", "Deliveries", "Sent",
                                            "Retried", "Dead", "Digested",
                                            "Pending"};
        static const sg_md_align_t al[7] = {
            SG_MD_LEFT,  SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT,
            SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT};
        static const char *const head_err[2] = {"Last error", "Dead"};
        static const char *const head_lat[2] = {"Statistic",
                                                "Cause to delivery"};
        static const sg_md_align_t lr[2] = {SG_MD_LEFT, SG_MD_RIGHT};
        sg_compliance_sink_t all = {.sink = NULL};
        sg_md_table_t t;
        sg_stats_t st;
        char a[NUM], b[NUM];

        sg_buf_puts(out, "## Alert delivery\n\n");
        if (r->alerts == 0) {
                sg_buf_printf(out, "No alert was created on %s.\n\n",
                              r->date);
                return;
        }
        sg_buf_printf(out,
                      "%s alert%s created on %s (UTC), %s of them not yet "
                      "routed to a sink.\nDeliveries are in the state they "
                      "had when the report ran.\n\n",
                      sg_render_int(r->alerts, a, NUM),
                      r->alerts == 1 ? "" : "s", r->date,
                      sg_render_int(r->unrouted, b, NUM));
        if (r->nsinks == 0) {
                sg_buf_puts(out, "No delivery was routed for them.\n\n");
                return;
        }
        sg_md_table_init(&t, 7, head, al);
        for (int i = 0; i < r->nsinks; i++) {
                const sg_compliance_sink_t *s = &r->sinks[i];

                sg_md_table_add_row(&t);
                sg_render_cell_code(&t, 0, s->sink);
                sg_compliance_sink_cells(&t, s);
                all.deliveries += s->deliveries;
                all.sent += s->sent;
                all.retried += s->retried;
                all.dead += s->dead;
                all.digested += s->digested;
                all.pending += s->pending;
        }
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "**All sinks**");
        sg_compliance_sink_cells(&t, &all);
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "Retried: deliveries with more than one attempt, "
                         "whatever their state.\n\n");

        if (r->nerrors > 0) {
                sg_buf_puts(out, "### Dead deliveries by last error\n\n");
                sg_md_table_init(&t, 2, head_err, lr);
                for (int i = 0; i < r->nerrors; i++) {
                        sg_md_table_add_row(&t);
                        if (r->errors[i].error)
                                sg_render_cell_code(&t, 0, r->errors[i].error);
                        else
                                sg_md_table_set(&t, 0, "(none recorded)");
                        sg_md_table_set(&t, 1,
                                        sg_render_int(r->errors[i].deliveries,
                                                      a, NUM));
                }
                sg_render_table_end(&t, out);
        }

        sg_buf_puts(out, "### Time from cause to delivery\n\n");
        sg_stats_of(r->latencies_s, r->nlatencies, &st);
        if (st.n == 0) {
                sg_buf_puts(out, "No delivery of these alerts has been "
                                 "sent.\n\n");
                return;
        }
        sg_buf_printf(out,
                      "`alert_deliveries.sent_at` minus `alerts.cause_at`, "
                      "over the %s sent deliveries\n(percentiles "
                      "interpolated between ranks, as `percentile_cont`).\n\n",
                      sg_render_int((long long)st.n, a, NUM));
        sg_md_table_init(&t, 2, head_lat, lr);
        sg_render_row_kv(&t, "p50 (median)",
                         sg_render_duration(st.p50, a, NUM));
        sg_render_row_kv(&t, "p95", sg_render_duration(st.p95, a, NUM));
        sg_render_row_kv(&t, "Max", sg_render_duration(st.max, a, NUM));
        sg_render_table_end(&t, out);
}

/* ---- 7. open privacy requests ----------------------------------------- */

static void sg_compliance_open_section(const sg_compliance_report_t *r,
                                       sg_buf_t *out)
{
        static const char *const head[5] = {"Request", "Requested at (UTC)",
                                            "Age (days)", "Days left",
                                            "Status"};
        static const sg_md_align_t al[5] = {SG_MD_RIGHT, SG_MD_LEFT,
                                            SG_MD_RIGHT, SG_MD_RIGHT,
                                            SG_MD_LEFT};
        const double limit_s = SG_GDPR_REPORT_SLA_DAYS * DAY_S;
        sg_md_table_t t;
        char a[NUM], b[NUM];

        sg_buf_printf(out, "## Open privacy requests at %s UTC\n\n",
                      r->reference);
        if (r->open == 0) {
                sg_buf_puts(out, "No privacy request was open at the end of "
                                 "the day.\n\n");
                return;
        }
        sg_buf_printf(out,
                      "%s request%s open (made before the end of %s and "
                      "not processed by\nthen), %s of them over the legal "
                      "limit of %d days. Oldest first",
                      sg_render_int(r->open, a, NUM), r->open == 1 ? "" : "s",
                      r->date, sg_render_int(r->overdue, b, NUM),
                      SG_GDPR_REPORT_SLA_DAYS);
        if (r->nopen < r->open)
                sg_buf_printf(out, " (the first %d)", r->nopen);
        sg_buf_puts(out, ", ids only.\n\n");
        sg_md_table_init(&t, 5, head, al);
        for (int i = 0; i < r->nopen; i++) {
                const sg_gdpr_pending_t *p = &r->open_requests[i];
                bool overdue = p->age_s > limit_s;

                sg_md_table_add_row(&t);
                sg_md_table_setf(&t, 0, "#%lld", p->id);
                sg_md_table_set(&t, 1, p->requested_at);
                sg_md_table_set(&t, 2,
                                sg_render_double(p->age_s / DAY_S, 1, a, NUM));
                sg_md_table_set(&t, 3,
                                sg_render_double((limit_s - p->age_s) / DAY_S,
                                                 1, a, NUM));
                sg_md_table_set(&t, 4, overdue ? "**overdue**" : "open");
        }
        sg_render_table_end(&t, out);
}

void sg_compliance_report_render(const sg_compliance_report_t *r,
                                 sg_buf_t *out)
{
        sg_buf_printf(out, "# Compliance report: %s\n\n", r->date);
        sg_buf_printf(out, "Generated at %s by sg-report %s.\n\n",
                      r->generated_at, SG_VERSION);
        sg_buf_printf(out,
                      "The compliance flags, risk levels and late events "
                      "of %s (UTC, event\ntime), the delivery of that day's "
                      "alerts and the privacy requests open at\nits end "
                      "(**%s UTC**). Subjects and requests appear by id "
                      "only: this report\nnever shows an e-mail address, a "
                      "name or a postal address.\n\n",
                      r->date, r->reference);
        sg_compliance_flags_section(r, out);
        sg_compliance_top_section(r, out);
        sg_compliance_risk_section(r, out);
        sg_compliance_trend_section(r, out);
        sg_compliance_late_section(r, out);
        sg_compliance_alerts_section(r, out);
        sg_compliance_open_section(r, out);
}

void sg_compliance_report_summary(const sg_compliance_report_t *r,
                                  sg_buf_t *out)
{
        long long by_sev[SG_COMPLIANCE_NSEV], dead = 0;
        long long total = sg_compliance_flags(r, by_sev);
        char a[NUM], b[NUM], c[NUM], d[NUM];

        for (int i = 0; i < r->nsinks; i++)
                dead += r->sinks[i].dead;
        sg_buf_printf(out,
                      "Compliance report %s: %s flags (%s high) on %s "
                      "subjects\n",
                      r->date, sg_render_int(total, a, NUM),
                      sg_render_int(by_sev[2], b, NUM),
                      sg_render_int(r->subjects, c, NUM));
        sg_buf_printf(out, "Alerts: %s created, %s dead deliveries\n",
                      sg_render_int(r->alerts, a, NUM),
                      sg_render_int(dead, b, NUM));
        sg_buf_printf(out,
                      "Privacy requests open at %s UTC: %s (%s over %d "
                      "days)\n",
                      r->reference, sg_render_int(r->open, c, NUM),
                      sg_render_int(r->overdue, d, NUM),
                      SG_GDPR_REPORT_SLA_DAYS);
}
