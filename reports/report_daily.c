#include "report_daily.h"
#include "sg_md.h"
#include "render.h"

#include <stdio.h>
#include <string.h>

#define NUM SG_RENDER_NUM_MAX

static const sg_md_align_t sg_daily_lr[2] = {SG_MD_LEFT, SG_MD_RIGHT};

sg_daily_verdict_t sg_daily_report_verdict(const sg_daily_report_t *r,
                                           int *ndiff)
{
        int n = 0;

        for (int i = 0; i < r->ncompare; i++)
                if (r->compare[i].differs)
                        n++;
        if (ndiff)
                *ndiff = n;
        if (!r->batch_run.found)
                return SG_DAILY_NOT_BATCHED;
        return n == 0 ? SG_DAILY_MATCH : SG_DAILY_DIFFERS;
}

const char *sg_daily_report_verdict_name(sg_daily_verdict_t v)
{
        switch (v) {
        case SG_DAILY_MATCH:
                return "match";
        case SG_DAILY_DIFFERS:
                return "differs";
        case SG_DAILY_NOT_BATCHED:
                return "batch not run yet";
        }
        return "unknown";
}

/* A difference with its sign: "+3", "-2", "0". */
static char *sg_daily_signed_int(long long v, char *out, size_t size)
{
        char num[NUM];

        snprintf(out, size, "%s%s", v > 0 ? "+" : "",
                 sg_render_int(v, num, sizeof(num)));
        return out;
}

static char *sg_daily_signed_decimal(const char *v, char *out, size_t size)
{
        char num[NUM];
        bool positive = v && v[0] != '-' && strspn(v, "0.") != strlen(v);

        snprintf(out, size, "%s%s", positive ? "+" : "",
                 sg_render_decimal(v, num, sizeof(num)));
        return out;
}

static void sg_daily_kpis(const sg_daily_report_t *r, sg_buf_t *out)
{
        static const char *const head[2] = {"KPI", "Value"};
        sg_md_table_t t;
        char a[NUM], b[NUM], c[NUM], v[3 * NUM + 64];

        sg_buf_puts(out, "## KPI summary\n\n");
        sg_md_table_init(&t, 2, head, sg_daily_lr);
        sg_render_row_kv(&t, "Total events", sg_render_int(r->events, a, NUM));
        sg_render_row_kv(&t, "Active users (distinct users with an event)",
                    sg_render_int(r->active_users, a, NUM));
        sg_render_row_kv(&t, "Purchases", sg_render_int(r->purchases, a, NUM));
        sg_render_row_kv(&t, "Revenue (sum of amounts, all currencies)",
                    sg_render_decimal(r->revenue, a, NUM));
        sg_render_row_kv(&t, "Average order value (all currencies)",
                    r->aov ? sg_render_decimal(r->aov, a, NUM)
                           : "n/a (no purchases)");
        snprintf(v, sizeof(v), "%s (%s of %s)",
                 sg_render_percent(r->purchasers, r->page_viewers, 1, a, NUM),
                 sg_render_int(r->purchasers, b, NUM),
                 sg_render_int(r->page_viewers, c, NUM));
        sg_render_row_kv(&t,
                    "Conversion (users with a purchase / users with a "
                    "page view)",
                    v);
        sg_render_table_end(&t, out);
        sg_buf_puts(out,
                    "Amounts are summed as stored, without currency "
                    "conversion (StreamGuard keeps no\nexchange rates): the "
                    "revenue and average order value above add up amounts "
                    "of\ndifferent currencies. The exact figures per "
                    "currency follow.\n\n");
}

static void sg_daily_currencies(const sg_daily_report_t *r, sg_buf_t *out)
{
        static const char *const head[4] = {"Currency", "Purchases", "Revenue",
                                            "Average order value"};
        static const sg_md_align_t al[4] = {SG_MD_LEFT, SG_MD_RIGHT,
                                            SG_MD_RIGHT, SG_MD_RIGHT};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_puts(out, "### Revenue by currency\n\n");
        if (r->ncurrencies == 0) {
                sg_buf_puts(out, "No purchases on this date.\n\n");
                return;
        }
        sg_md_table_init(&t, 4, head, al);
        for (int i = 0; i < r->ncurrencies; i++) {
                const sg_daily_currency_t *cu = &r->currencies[i];

                sg_md_table_add_row(&t);
                sg_render_cell_text(&t, 0, cu->currency);
                sg_md_table_set(&t, 1, sg_render_int(cu->purchases, a, NUM));
                sg_md_table_set(&t, 2, sg_render_decimal(cu->revenue, a, NUM));
                sg_md_table_set(&t, 3, sg_render_decimal(cu->aov, a, NUM));
        }
        sg_render_table_end(&t, out);
}

static void sg_daily_types(const sg_daily_report_t *r, sg_buf_t *out)
{
        static const char *const head[3] = {"Event type", "Events",
                                            "Share of events"};
        static const sg_md_align_t al[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                            SG_MD_RIGHT};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_puts(out, "### Events by type\n\n");
        sg_md_table_init(&t, 3, head, al);
        for (int i = 0; i < r->ntypes; i++) {
                sg_md_table_add_row(&t);
                sg_render_cell_code(&t, 0, r->types[i].event_type);
                sg_md_table_set(&t, 1,
                                sg_render_int(r->types[i].events, a, NUM));
                sg_md_table_set(&t, 2,
                                sg_render_percent(r->types[i].events, r->events,
                                                  1, a, NUM));
        }
        sg_render_table_end(&t, out);
}

static void sg_daily_countries(const sg_daily_report_t *r, sg_buf_t *out)
{
        static const char *const head[5] = {"Rank", "Country", "Purchases",
                                            "Revenue (sum of amounts)",
                                            "Currencies"};
        static const sg_md_align_t al[5] = {
            SG_MD_RIGHT, SG_MD_LEFT, SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_LEFT};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_puts(out, "### Top countries by revenue\n\n");
        if (r->ncountries == 0) {
                sg_buf_puts(out, "No purchases on this date.\n\n");
                return;
        }
        sg_md_table_init(&t, 5, head, al);
        for (int i = 0; i < r->ncountries; i++) {
                const sg_daily_country_t *co = &r->countries[i];

                sg_md_table_add_row(&t);
                sg_md_table_setf(&t, 0, "%d", i + 1);
                sg_render_cell_text(&t, 1, co->country);
                sg_md_table_set(&t, 2, sg_render_int(co->purchases, a, NUM));
                sg_md_table_set(&t, 3, sg_render_decimal(co->revenue, a, NUM));
                sg_render_cell_text(&t, 4, co->currencies);
        }
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "At most 5 countries, ranked by the sum of amounts "
                         "(no currency conversion),\nties by country "
                         "code.\n\n");
}

static void sg_daily_playback(const sg_daily_report_t *r, sg_buf_t *out)
{
        static const char *const head[2] = {"Metric", "Value"};
        sg_md_table_t t;
        char a[NUM], b[NUM + 8];
        sg_buf_t v;

        sg_buf_puts(out, "### Playback health\n\n");
        sg_md_table_init(&t, 2, head, sg_daily_lr);
        sg_render_row_kv(&t, "Plays", sg_render_int(r->plays, a, NUM));
        sg_render_row_kv(&t, "Playback errors",
                    sg_render_int(r->playback_errors, a, NUM));
        sg_render_row_kv(&t, "Playback error rate (errors / (plays + errors))",
                    sg_render_percent(r->playback_errors,
                                      r->plays + r->playback_errors, 2, a,
                                      NUM));
        snprintf(
            b, sizeof(b), "%s h",
            sg_render_double((double)r->watch_seconds / 3600.0, 1, a, NUM));
        sg_render_row_kv(&t, "Watch hours (watch time of `stop` events)", b);
        sg_buf_init(&v);
        if (r->worst_content) {
                sg_md_code(&v, r->worst_content);
                sg_buf_printf(&v, " (%s error%s)",
                              sg_render_int(r->worst_content_errors, a, NUM),
                              r->worst_content_errors == 1 ? "" : "s");
        } else {
                sg_buf_puts(&v, "none (no playback errors)");
        }
        sg_render_row_kv(&t, "Content with the most playback errors", v.data);
        sg_buf_fini(&v);
        sg_render_table_end(&t, out);
        if (r->worst_content)
                sg_buf_puts(out, "Ties for the most errors are broken by "
                                 "content id.\n\n");
}

static void sg_daily_chart(const sg_daily_report_t *r, sg_buf_t *out)
{
        sg_buf_puts(out, "## Events per hour\n\n");
        /* The file name is ours (business_report_<date>_...svg): safe in a
         * link as it is. */
        sg_buf_printf(out, "![Events per hour](%s)\n\n", r->chart_file);
        sg_buf_puts(out, "Stacked by event type, hours in UTC. Hover over a "
                         "bar in a browser for its count.\n\n");
}

/* The dates a batch run covered, for people: "date D", "dates A to B",
 * "all dates" (sg-batch-metrics --all records -infinity..infinity). */
static void sg_daily_run_dates(const sg_daily_batch_run_t *run, sg_buf_t *out)
{
        bool open_from = strcmp(run->date_from, "-infinity") == 0;
        bool open_to = strcmp(run->date_to, "infinity") == 0;

        if (open_from && open_to)
                sg_buf_puts(out, "all dates");
        else if (open_from)
                sg_buf_printf(out, "dates up to %s", run->date_to);
        else if (open_to)
                sg_buf_printf(out, "dates from %s", run->date_from);
        else if (strcmp(run->date_from, run->date_to) == 0)
                sg_buf_printf(out, "date %s", run->date_from);
        else
                sg_buf_printf(out, "dates %s to %s", run->date_from,
                              run->date_to);
}

static void sg_daily_compare_section(const sg_daily_report_t *r, sg_buf_t *out)
{
        static const char *const head[8] = {
            "Event type",        "Batch events", "Streaming events",
            "Events difference", "Batch amount", "Streaming amount",
            "Amount difference", "Status"};
        static const sg_md_align_t al[8] = {
            SG_MD_LEFT,  SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT,
            SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_LEFT};
        const char *no_batch;
        sg_daily_verdict_t v;
        sg_md_table_t t;
        char a[NUM];
        int ndiff;

        v = sg_daily_report_verdict(r, &ndiff);
        sg_buf_puts(out, "## Batch vs streaming\n\n");
        sg_buf_printf(out, "**Verdict: %s.** ",
                      sg_daily_report_verdict_name(v));
        switch (v) {
        case SG_DAILY_MATCH:
                sg_buf_printf(out,
                              "Batch and streaming agree on every event type "
                              "(%d), events and amounts.\n\n",
                              r->ncompare);
                break;
        case SG_DAILY_DIFFERS:
                sg_buf_printf(out,
                              "%d of %d event types differ between batch and "
                              "streaming.\n\n",
                              ndiff, r->ncompare);
                break;
        case SG_DAILY_NOT_BATCHED:
                sg_buf_printf(out,
                              "No `sg-batch-metrics` run has covered %s "
                              "yet, so there is nothing to compare the\n"
                              "streaming figures with.\n\n",
                              r->date);
                break;
        }
        if (r->batch_run.found) {
                sg_buf_printf(out, "Batch run #%lld (", r->batch_run.id);
                sg_daily_run_dates(&r->batch_run, out);
                sg_buf_printf(out, ") finished at %s UTC.\n\n",
                              r->batch_run.finished_at);
        }
        if (r->ncompare == 0) {
                sg_buf_puts(out, "Neither `metrics_batch_daily` nor "
                                 "`metrics_streaming_daily` has a row for "
                                 "this date.\n\n");
                return;
        }
        no_batch = r->batch_run.found ? "missing" : "not run yet";
        sg_md_table_init(&t, 8, head, al);
        for (int i = 0; i < r->ncompare; i++) {
                const sg_daily_compare_t *c = &r->compare[i];
                const char *status;

                sg_md_table_add_row(&t);
                sg_render_cell_code(&t, 0, c->event_type);
                if (c->in_batch) {
                        sg_md_table_set(&t, 1,
                                        sg_render_int(c->batch_events, a, NUM));
                        sg_md_table_set(
                            &t, 4, sg_render_decimal(c->batch_amount, a, NUM));
                } else {
                        sg_md_table_set(&t, 1, no_batch);
                        sg_md_table_set(&t, 4, no_batch);
                }
                if (c->in_streaming) {
                        sg_md_table_set(
                            &t, 2, sg_render_int(c->streaming_events, a, NUM));
                        sg_md_table_set(
                            &t, 5,
                            sg_render_decimal(c->streaming_amount, a, NUM));
                } else {
                        sg_md_table_set(&t, 2, "missing");
                        sg_md_table_set(&t, 5, "missing");
                }
                if (c->in_batch && c->in_streaming) {
                        sg_md_table_set(
                            &t, 3,
                            sg_daily_signed_int(c->delta_events, a, NUM));
                        sg_md_table_set(
                            &t, 6,
                            sg_daily_signed_decimal(c->delta_amount, a, NUM));
                } else {
                        sg_md_table_set(&t, 3, "n/a");
                        sg_md_table_set(&t, 6, "n/a");
                }
                if (!c->in_batch)
                        status = r->batch_run.found ? "**streaming only**"
                                                    : "streaming only";
                else if (!c->in_streaming)
                        status = "**batch only**";
                else
                        status = c->differs ? "**differs**" : "match";
                sg_md_table_set(&t, 7, status);
        }
        sg_render_table_end(&t, out);
        sg_buf_printf(out,
                      "From `metrics_batch_daily` and "
                      "`metrics_streaming_daily` (a full outer join\non the "
                      "event type); a difference is streaming minus batch.\n"
                      "`sg-compare --date %s` also diffs the per-country "
                      "and per-content\ntables.\n",
                      r->date);
}

void sg_daily_report_render(const sg_daily_report_t *r, sg_buf_t *out)
{
        sg_buf_printf(out, "# Business report: %s\n\n", r->date);
        sg_buf_printf(out, "Generated at %s by sg-report %s.\n\n",
                      r->generated_at, SG_VERSION);
        if (r->events == 0) {
                sg_buf_printf(out,
                              "**No events stored for %s.** `events_raw` "
                              "has no event with this event date (UTC),\n"
                              "so this report shows no figures rather than "
                              "zeros. If events were expected, check\nthat "
                              "`sg-raw-store` is running and has caught up, "
                              "and that the date is right.\n",
                              r->date);
                return;
        }
        sg_buf_printf(out,
                      "Figures are over the validated events stored in "
                      "`events_raw` whose event date\n(UTC) is %s. Money has "
                      "two decimals; amounts are not converted between\n"
                      "currencies.\n\n",
                      r->date);
        sg_daily_kpis(r, out);
        sg_daily_currencies(r, out);
        sg_daily_types(r, out);
        sg_daily_countries(r, out);
        sg_daily_playback(r, out);
        sg_daily_chart(r, out);
        sg_daily_compare_section(r, out);
}

void sg_daily_report_summary(const sg_daily_report_t *r, sg_buf_t *out)
{
        char a[NUM], b[NUM], c[NUM], d[NUM], e[NUM];
        sg_daily_verdict_t v;
        int ndiff;

        if (r->events == 0) {
                sg_buf_printf(out,
                              "Business report %s: no events stored "
                              "for this date.\n",
                              r->date);
                return;
        }
        sg_buf_printf(
            out,
            "Business report %s: %s events, %s active users, %s "
            "purchases, revenue %s (all currencies), conversion "
            "%s\n",
            r->date, sg_render_int(r->events, a, NUM),
            sg_render_int(r->active_users, b, NUM),
            sg_render_int(r->purchases, c, NUM),
            sg_render_decimal(r->revenue, d, NUM),
            sg_render_percent(r->purchasers, r->page_viewers, 1, e, NUM));
        sg_buf_printf(
            out, "Playback: %s plays, error rate %s, %s watch hours\n",
            sg_render_int(r->plays, a, NUM),
            sg_render_percent(r->playback_errors, r->plays + r->playback_errors,
                              2, b, NUM),
            sg_render_double((double)r->watch_seconds / 3600.0, 1, c, NUM));
        v = sg_daily_report_verdict(r, &ndiff);
        if (v == SG_DAILY_DIFFERS)
                sg_buf_printf(out,
                              "Batch vs streaming: differs (%d of %d event "
                              "types)\n",
                              ndiff, r->ncompare);
        else
                sg_buf_printf(out, "Batch vs streaming: %s\n",
                              sg_daily_report_verdict_name(v));
}
