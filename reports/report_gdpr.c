#include "report_gdpr.h"
#include "sg_defs.h"
#include "sg_md.h"
#include "render.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NUM SG_RENDER_NUM_MAX

const char *const sg_gdpr_report_statuses[SG_GDPR_REPORT_NSTATUS] = {
    "pending", "anonymized", "already_anonymized", "not_found", "failed",
    "exported"};

static const sg_md_align_t sg_gdpr_lr[2] = {SG_MD_LEFT, SG_MD_RIGHT};

static void sg_gdpr_day(const sg_gdpr_report_t *r, sg_buf_t *out)
{
        static const char *const head_st[3] = {"Status", "Requests", "Share"};
        static const sg_md_align_t al_st[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                               SG_MD_RIGHT};
        static const char *const head_fig[2] = {"Figure", "Value"};
        static const char *const head_lat[2] = {"Statistic", "Latency"};
        static const char *const head_rec[4] = {"Request", "Requested at (UTC)",
                                                "Status", "Latency"};
        static const sg_md_align_t al_rec[4] = {SG_MD_RIGHT, SG_MD_LEFT,
                                                SG_MD_LEFT, SG_MD_RIGHT};
        sg_md_table_t t;
        sg_stats_t st;
        char a[NUM];

        sg_buf_printf(out, "## Requests made on %s\n\n", r->date);
        if (r->requests == 0) {
                sg_buf_printf(out,
                              "**No privacy requests were made on %s.** "
                              "`privacy_requests` has no request with\n"
                              "this date (UTC), so there are no per-day "
                              "figures. The backlog below is as of the\n"
                              "reference time all the same.\n\n",
                              r->date);
                return;
        }
        sg_md_table_init(&t, 2, head_fig, sg_gdpr_lr);
        sg_render_row_kv(&t, "Requests", sg_render_int(r->requests, a, NUM));
        sg_render_row_kv(&t, "Users anonymised for them",
                   sg_render_int(r->anonymised_users, a, NUM));
        sg_render_row_kv(&t, "Processed requests without an audit-log row",
                   sg_render_int(r->unaudited, a, NUM));
        sg_render_table_end(&t, out);
        if (r->unaudited > 0)
                sg_buf_puts(out, "**Attention:** every processed request "
                                 "should have a row in `gdpr_audit_log`.\n\n");

        sg_buf_puts(out, "### By status\n\n");
        sg_md_table_init(&t, 3, head_st, al_st);
        for (int i = 0; i < SG_GDPR_REPORT_NSTATUS; i++) {
                sg_md_table_add_row(&t);
                sg_render_cell_code(&t, 0, sg_gdpr_report_statuses[i]);
                sg_md_table_set(&t, 1, sg_render_int(r->by_status[i], a, NUM));
                sg_md_table_set(
                    &t, 2,
                    sg_render_percent(r->by_status[i], r->requests, 1, a, NUM));
        }
        sg_render_table_end(&t, out);
        sg_buf_puts(out, "A request processed after the reference time "
                         "counts as `pending` here.\n\n");

        sg_buf_puts(out, "### Processing time\n\n");
        sg_stats_of(r->latencies_s, r->nlatencies, &st);
        if (st.n == 0) {
                sg_buf_puts(out, "None of these requests had been processed "
                                 "by the reference time.\n\n");
        } else {
                sg_buf_printf(out,
                              "Latency is `processed_at` minus "
                              "`requested_at`, over the %s request%s\n"
                              "processed by the reference time.\n\n",
                              sg_render_int((long long)st.n, a, NUM),
                              st.n == 1 ? "" : "s");
                sg_md_table_init(&t, 2, head_lat, sg_gdpr_lr);
                sg_render_row_kv(&t, "Mean", sg_render_duration(st.mean, a, NUM));
                sg_render_row_kv(&t, "p50 (median)",
                           sg_render_duration(st.p50, a, NUM));
                sg_render_row_kv(&t, "p95", sg_render_duration(st.p95, a, NUM));
                sg_render_row_kv(&t, "Max", sg_render_duration(st.max, a, NUM));
                sg_render_table_end(&t, out);
        }

        sg_buf_printf(out, "### The %d most recent requests\n\n", r->nrecent);
        sg_md_table_init(&t, 4, head_rec, al_rec);
        for (int i = 0; i < r->nrecent; i++) {
                const sg_gdpr_request_t *q = &r->recent[i];

                sg_md_table_add_row(&t);
                sg_md_table_setf(&t, 0, "#%lld", q->id);
                sg_md_table_set(&t, 1, q->requested_at);
                sg_render_cell_code(&t, 2, q->status);
                sg_md_table_set(&t, 3,
                                q->processed
                                    ? sg_render_duration(q->latency_s, a, NUM)
                                    : "not processed");
        }
        sg_render_table_end(&t, out);
}

static void sg_gdpr_backlog(const sg_gdpr_report_t *r, sg_buf_t *out)
{
        static const char *const head_fig[2] = {"Figure", "Value"};
        static const char *const head_br[3] = {"Request", "Requested at (UTC)",
                                               "Pending for"};
        static const sg_md_align_t al_br[3] = {SG_MD_RIGHT, SG_MD_LEFT,
                                               SG_MD_RIGHT};
        sg_md_table_t t;
        char a[NUM], b[NUM], v[3 * NUM + 64], k[128];

        sg_buf_printf(out, "## Backlog at %s UTC\n\n", r->reference);
        sg_md_table_init(&t, 2, head_fig, sg_gdpr_lr);
        sg_render_row_kv(&t, "Pending requests (any request date)",
                   sg_render_int(r->pending, a, NUM));
        if (r->has_oldest) {
                snprintf(v, sizeof(v), "#%lld (requested %s UTC)", r->oldest.id,
                         r->oldest.requested_at);
                sg_render_row_kv(&t, "Oldest pending request", v);
                sg_render_row_kv(&t, "Age of the oldest pending request",
                           sg_render_duration(r->oldest.age_s, b, NUM));
        } else {
                sg_render_row_kv(&t, "Oldest pending request", "none");
        }
        snprintf(k, sizeof(k), "SLA breaches (pending longer than %d days)",
                 SG_GDPR_REPORT_SLA_DAYS);
        sg_render_row_kv(&t, k, sg_render_int(r->sla_breaches, a, NUM));
        sg_render_table_end(&t, out);
        if (r->sla_breaches == 0) {
                sg_buf_printf(out,
                              "No request had been pending longer than the "
                              "legal %d days.\n",
                              SG_GDPR_REPORT_SLA_DAYS);
                return;
        }
        sg_buf_printf(out,
                      "**%s request%s pending longer than the legal %d "
                      "days.** Oldest first",
                      sg_render_int(r->sla_breaches, a, NUM),
                      r->sla_breaches == 1 ? " has been" : "s have been",
                      SG_GDPR_REPORT_SLA_DAYS);
        if (r->nbreaches < r->sla_breaches)
                sg_buf_printf(out, " (the first %d)", r->nbreaches);
        sg_buf_puts(out, ":\n\n");
        sg_md_table_init(&t, 3, head_br, al_br);
        for (int i = 0; i < r->nbreaches; i++) {
                const sg_gdpr_pending_t *p = &r->breaches[i];

                sg_md_table_add_row(&t);
                sg_md_table_setf(&t, 0, "#%lld", p->id);
                sg_md_table_set(&t, 1, p->requested_at);
                sg_md_table_set(&t, 2, sg_render_duration(p->age_s, a, NUM));
        }
        sg_md_table_render(&t, out);
        sg_md_table_fini(&t);
}

void sg_gdpr_report_render(const sg_gdpr_report_t *r, sg_buf_t *out)
{
        sg_buf_printf(out, "# GDPR audit: %s\n\n", r->date);
        sg_buf_printf(out, "Generated at %s by sg-report %s.\n\n",
                      r->generated_at, SG_VERSION);
        sg_buf_printf(out,
                      "Covers the privacy requests made on %s (UTC).\n"
                      "Statuses, latencies and the backlog are as of the "
                      "reference time\n**%s UTC**, the end of the report "
                      "date, not the time this report\nran, so the same "
                      "database always gives the same report. Requests "
                      "are\nidentified by id only: this report never shows "
                      "an e-mail address, a name\nor a postal address.\n\n",
                      r->date, r->reference);
        sg_gdpr_day(r, out);
        sg_gdpr_backlog(r, out);
}

void sg_gdpr_report_summary(const sg_gdpr_report_t *r, sg_buf_t *out)
{
        char a[NUM], b[NUM], c[NUM];
        sg_stats_t st;

        if (r->requests == 0) {
                sg_buf_printf(out,
                              "GDPR audit %s: no privacy requests made "
                              "on this date.\n",
                              r->date);
        } else {
                sg_stats_of(r->latencies_s, r->nlatencies, &st);
                sg_buf_printf(out,
                              "GDPR audit %s: %s requests, %s anonymised "
                              "users, p95 latency %s\n",
                              r->date, sg_render_int(r->requests, a, NUM),
                              sg_render_int(r->anonymised_users, b, NUM),
                              st.n ? sg_render_duration(st.p95, c, NUM)
                                   : "n/a");
        }
        sg_buf_printf(out,
                      "Backlog at %s UTC: %s pending, %s SLA breach%s "
                      "(> %d days)\n",
                      r->reference, sg_render_int(r->pending, a, NUM),
                      sg_render_int(r->sla_breaches, b, NUM),
                      r->sla_breaches == 1 ? "" : "es",
                      SG_GDPR_REPORT_SLA_DAYS);
}
