#include "report_consent.h"
#include "render.h"
#include "sg_defs.h"
#include "sg_md.h"

#include <stdio.h>

#define NUM SG_RENDER_NUM_MAX

static const sg_md_align_t sg_consent_lr[2] = {SG_MD_LEFT, SG_MD_RIGHT};

static void sg_consent_events_section(const sg_consent_report_t *r,
                                      sg_buf_t *out)
{
        static const char *const head[2] = {"Figure", "Value"};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_printf(out, "## Consent on the events of %s\n\n", r->date);
        if (r->events == 0) {
                sg_buf_printf(out, "No event of %s in `consent_events`.\n\n",
                              r->date);
                return;
        }
        sg_md_table_init(&t, 2, head, sg_consent_lr);
        sg_render_row_kv(&t, "Events (all countries)",
                         sg_render_int(r->events, a, NUM));
        sg_render_row_kv(&t, "Users with events",
                         sg_render_int(r->users, a, NUM));
        sg_render_row_kv(&t, "EU events", sg_render_int(r->eu_events, a, NUM));
        sg_render_row_kv(&t, "EU events with consent",
                         sg_render_int(r->eu_with_consent, a, NUM));
        sg_render_row_kv(&t, "**Consent rate among EU events**",
                         sg_render_percent(r->eu_with_consent, r->eu_events, 1,
                                           a, NUM));
        sg_render_row_kv(&t, "Events with do-not-track",
                         sg_render_int(r->dnt_events, a, NUM));
        sg_render_row_kv(&t, "**Do-not-track share** (all events)",
                         sg_render_percent(r->dnt_events, r->events, 1, a,
                                           NUM));
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "An event without `has_consent` counts as without "
                         "consent, one without\n`do_not_track` as without "
                         "do-not-track (the v1 contract: absent means "
                         "false).\n\n");
}

static void sg_consent_changes_section(const sg_consent_report_t *r,
                                       sg_buf_t *out)
{
        static const char *const head[2] = {"Change", "consent_log rows"};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_printf(out, "## Consent changes of %s\n\n", r->date);
        if (r->initial + r->granted + r->withdrawn + r->dnt_on + r->dnt_off ==
            0) {
                sg_buf_printf(out, "`consent_log` has no row of %s.\n\n",
                              r->date);
                return;
        }
        sg_md_table_init(&t, 2, head, sg_consent_lr);
        sg_render_row_kv(&t, "Consent granted",
                         sg_render_int(r->granted, a, NUM));
        sg_render_row_kv(&t, "Consent withdrawn",
                         sg_render_int(r->withdrawn, a, NUM));
        sg_render_row_kv(&t, "Do-not-track turned on",
                         sg_render_int(r->dnt_on, a, NUM));
        sg_render_row_kv(&t, "Do-not-track turned off",
                         sg_render_int(r->dnt_off, a, NUM));
        sg_render_row_kv(&t, "Initial states (a user's first event)",
                         sg_render_int(r->initial, a, NUM));
        sg_render_row_kv(&t, "Users whose state changed",
                         sg_render_int(r->users_changed, a, NUM));
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "One row changes consent, do-not-track or both, in "
                         "event-time order (ties by\n`event_id`): a late "
                         "event counts on the day it happened.\n\n");
}

static void sg_consent_country_section(const sg_consent_report_t *r,
                                       sg_buf_t *out)
{
        static const char *const head[9] = {
            "Country", "EU",     "Events",   "With consent", "Consent rate",
            "DNT",     "DNT share", "Granted", "Withdrawn"};
        static const sg_md_align_t al[9] = {
            SG_MD_LEFT,  SG_MD_LEFT,  SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT,
            SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT, SG_MD_RIGHT};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_printf(out, "## By country, %s\n\n", r->date);
        if (r->ncountries == 0) {
                sg_buf_printf(out, "No country has events or changes on "
                                   "%s.\n\n",
                              r->date);
                return;
        }
        sg_md_table_init(&t, 9, head, al);
        for (int i = 0; i < r->ncountries; i++) {
                const sg_consent_country_t *c = &r->countries[i];

                sg_md_table_add_row(&t);
                sg_render_cell_code(&t, 0, c->country);
                sg_md_table_set(&t, 1, c->is_eu ? "yes" : "no");
                sg_md_table_set(&t, 2, sg_render_int(c->events, a, NUM));
                sg_md_table_set(&t, 3, sg_render_int(c->with_consent, a, NUM));
                sg_md_table_set(&t, 4, sg_render_percent(c->with_consent,
                                                         c->events, 1, a,
                                                         NUM));
                sg_md_table_set(&t, 5, sg_render_int(c->dnt, a, NUM));
                sg_md_table_set(&t, 6, sg_render_percent(c->dnt, c->events, 1,
                                                         a, NUM));
                sg_md_table_set(&t, 7, sg_render_int(c->granted, a, NUM));
                sg_md_table_set(&t, 8, sg_render_int(c->withdrawn, a, NUM));
        }
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "Changes count under the country of the event that "
                         "made them.\n\n");
}

static void sg_consent_state_section(const sg_consent_report_t *r,
                                     sg_buf_t *out)
{
        static const char *const head[3] = {"State", "Users", "Share"};
        static const sg_md_align_t al[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                            SG_MD_RIGHT};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_printf(out, "## State at the end of %s\n\n", r->date);
        if (r->known_users == 0) {
                sg_buf_puts(out, "No user had a known state by the end of "
                                 "the day.\n\n");
                return;
        }
        sg_md_table_init(&t, 3, head, al);
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "Users with a known state");
        sg_md_table_set(&t, 1, sg_render_int(r->known_users, a, NUM));
        sg_md_table_set(&t, 2, "100.0%");
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "... with consent");
        sg_md_table_set(&t, 1, sg_render_int(r->known_consent, a, NUM));
        sg_md_table_set(&t, 2, sg_render_percent(r->known_consent,
                                                 r->known_users, 1, a, NUM));
        sg_md_table_add_row(&t);
        sg_md_table_set(&t, 0, "... with do-not-track");
        sg_md_table_set(&t, 1, sg_render_int(r->known_dnt, a, NUM));
        sg_md_table_set(&t, 2, sg_render_percent(r->known_dnt, r->known_users,
                                                 1, a, NUM));
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "Each user's last `consent_log` row with "
                         "`changed_at` before the end of the day.\n\n");
}

void sg_consent_report_render(const sg_consent_report_t *r, sg_buf_t *out)
{
        sg_buf_printf(out, "# Consent report: %s\n\n", r->date);
        sg_buf_printf(out, "Generated at %s by sg-report %s.\n\n",
                      r->generated_at, SG_VERSION);
        sg_buf_printf(out,
                      "Consent as the events carry it (`has_consent`, "
                      "`do_not_track`) on %s (UTC,\nevent time), from "
                      "sg-consent's `consent_events` and `consent_log` "
                      "(docs/consent.md).\nCounts and country codes only: "
                      "no user appears in this report.\n\n",
                      r->date);
        sg_consent_events_section(r, out);
        sg_consent_changes_section(r, out);
        sg_consent_country_section(r, out);
        sg_consent_state_section(r, out);
}

void sg_consent_report_summary(const sg_consent_report_t *r, sg_buf_t *out)
{
        char a[NUM], b[NUM], c[NUM], d[NUM], e[NUM], f[NUM];

        sg_buf_printf(out,
                      "Consent report %s: %s EU events, %s with consent; %s "
                      "granted, %s withdrawn; do-not-track %s of %s events\n",
                      r->date, sg_render_int(r->eu_events, a, NUM),
                      sg_render_percent(r->eu_with_consent, r->eu_events, 1, b,
                                        NUM),
                      sg_render_int(r->granted, c, NUM),
                      sg_render_int(r->withdrawn, d, NUM),
                      sg_render_percent(r->dnt_events, r->events, 1, e, NUM),
                      sg_render_int(r->events, f, NUM));
}
