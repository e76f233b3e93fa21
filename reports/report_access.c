#include "report_access.h"
#include "render.h"
#include "sg_defs.h"
#include "sg_md.h"

#include <stdio.h>
#include <string.h>

#define NUM SG_RENDER_NUM_MAX

static void sg_access_section_table(const sg_access_report_t *r, sg_buf_t *out)
{
        static const char *const head_by[4] = {"Database role", "Purpose",
                                               "Accesses", "Users"};
        static const sg_md_align_t al_by[4] = {SG_MD_LEFT, SG_MD_LEFT,
                                               SG_MD_RIGHT, SG_MD_RIGHT};
        static const char *const head_day[3] = {"Day (UTC)", "Accesses",
                                                "Roles"};
        static const sg_md_align_t al_day[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                                SG_MD_RIGHT};
        static const char *const head_u[3] = {"User", "Accesses", "Purposes"};
        static const sg_md_align_t al_u[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                              SG_MD_LEFT};
        sg_md_table_t t;
        char a[NUM], b[NUM];

        sg_buf_printf(out, "## Purposeful access on %s\n\n", r->date);
        sg_buf_puts(out, "Every read of `users_pii` goes through a function "
                         "that requires a purpose and\nappends a row to "
                         "`pii_access_log` (one per user read).\n\n");
        if (r->accesses == 0) {
                sg_buf_printf(out, "**No access to personal data was "
                                   "recorded on %s.**\n\n",
                              r->date);
        } else {
                sg_md_table_init(&t, 4, head_by, al_by);
                for (int i = 0; i < r->nby; i++) {
                        sg_md_table_add_row(&t);
                        sg_render_cell_code(&t, 0, r->by[i].role);
                        sg_render_cell_code(&t, 1, r->by[i].purpose);
                        sg_md_table_set(
                            &t, 2, sg_render_int(r->by[i].accesses, a, NUM));
                        sg_md_table_set(&t, 3,
                                        sg_render_int(r->by[i].users, b, NUM));
                }
                sg_render_table_end(&t, out);
                sg_buf_printf(out,
                              "%s accesses to %s distinct users. Most "
                              "accessed (user ids only, at most %d):\n\n",
                              sg_render_int(r->accesses, a, NUM),
                              sg_render_int(r->distinct_users, b, NUM),
                              SG_ACCESS_REPORT_TOP);
                sg_md_table_init(&t, 3, head_u, al_u);
                for (int i = 0; i < r->nusers; i++) {
                        sg_md_table_add_row(&t);
                        if (r->users[i].user_id[0])
                                sg_render_cell_code(&t, 0, r->users[i].user_id);
                        else
                                sg_md_table_set(&t, 0, "(nobody found)");
                        sg_md_table_set(
                            &t, 1, sg_render_int(r->users[i].accesses, a, NUM));
                        sg_render_cell_text(&t, 2, r->users[i].purposes);
                }
                sg_render_table_end(&t, out);
        }
        sg_buf_printf(out, "### Per day, %d days to %s\n\n",
                      SG_ACCESS_REPORT_DAYS, r->date);
        sg_md_table_init(&t, 3, head_day, al_day);
        for (int i = 0; i < r->ndays; i++) {
                sg_md_table_add_row(&t);
                sg_md_table_set_text(&t, 0, r->days[i].day);
                sg_md_table_set(&t, 1,
                                sg_render_int(r->days[i].accesses, a, NUM));
                sg_md_table_set(&t, 2, sg_render_int(r->days[i].roles, b, NUM));
        }
        sg_render_table_end(&t, out);
}

/* The HTTP API's refusals: from the database, so shown even when the
 * server log is not readable. */
static void sg_access_section_api(const sg_access_report_t *r, sg_buf_t *out)
{
        static const char *const head[5] = {"Time (UTC)", "Status", "Token",
                                            "Role", "Request"};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_puts(out, "### HTTP API (sg-api)\n\n");
        sg_buf_puts(out, "From `api_access_log`: requests refused with 401 "
                         "(no token, or an unknown or\nrevoked one) or 403 "
                         "(a token whose role may not use the route).\n\n");
        if (r->api_refused == 0) {
                sg_buf_printf(out, "No refused API request on %s.\n\n",
                              r->date);
                return;
        }
        sg_md_table_init(&t, 5, head, NULL);
        for (int i = 0; i < r->napi; i++) {
                const sg_access_api_refusal_t *x = &r->api[i];
                char st[16], req[160];

                snprintf(st, sizeof(st), "%d", x->status);
                snprintf(req, sizeof(req), "%s %s", x->method,
                         x->route[0] ? x->route : "(no route)");
                sg_md_table_add_row(&t);
                sg_md_table_set_text(&t, 0, x->time);
                sg_md_table_set_text(&t, 1, st);
                if (x->token[0])
                        sg_render_cell_code(&t, 2, x->token);
                else
                        sg_md_table_set(&t, 2, "(none)");
                if (x->role[0])
                        sg_render_cell_code(&t, 3, x->role);
                else
                        sg_md_table_set(&t, 3, "");
                sg_render_cell_code(&t, 4, req);
        }
        sg_render_table_end(&t, out);
        if (r->api_refused > r->napi)
                sg_buf_printf(out, "%s refused requests in all; the first %d "
                                   "are listed.\n\n",
                              sg_render_int(r->api_refused, a, NUM), r->napi);
}

static void sg_access_section_log(const sg_access_report_t *r, sg_buf_t *out)
{
        static const char *const head_r[3] = {"Time (UTC)", "Database role",
                                              "Object"};
        static const char *const head_a[3] = {
            "Database role", "Statements on `users_pii`", "Calls of `pii_*`"};
        static const sg_md_align_t al_a[3] = {SG_MD_LEFT, SG_MD_RIGHT,
                                              SG_MD_RIGHT};
        sg_md_table_t t;
        char a[NUM];

        sg_buf_printf(out, "## Refused attempts on %s\n\n", r->date);
        if (r->log_note) {
                sg_buf_puts(out, "**Not covered:** ");
                sg_md_text(out, r->log_note);
                sg_buf_puts(out, "\n\n");
                return;
        }
        sg_buf_puts(out, "From the server's CSV log: errors with SQLSTATE "
                         "42501 (permission denied,\nincluding a lookup "
                         "without a valid purpose) in database ");
        sg_md_code(out, r->database);
        sg_buf_puts(out, ".\n\n");
        if (r->nrefusals == 0) {
                sg_buf_printf(out, "No refused attempt on %s.\n\n", r->date);
        } else {
                sg_md_table_init(&t, 3, head_r, NULL);
                for (int i = 0; i < r->nrefusals; i++) {
                        sg_md_table_add_row(&t);
                        sg_md_table_set_text(&t, 0, r->refusals[i].time);
                        sg_render_cell_code(&t, 1, r->refusals[i].role);
                        sg_render_cell_text(&t, 2, r->refusals[i].object);
                }
                sg_render_table_end(&t, out);
        }
        sg_buf_puts(out, "### pgaudit\n\n");
        if (!r->pgaudit) {
                sg_buf_puts(out, "No pgaudit line in the log for this date: "
                                 "pgaudit is not loaded, or nothing\nwas "
                                 "audited (scripts/pg-audit.sh sets it up).\n\n");
                return;
        }
        if (r->naudit == 0) {
                sg_buf_puts(out, "pgaudit logged no access to `users_pii` "
                                 "in this database.\n\n");
                return;
        }
        sg_buf_puts(out, "Logged by pgaudit, by the session's role: "
                         "statements on `users_pii` itself\n(object audit) "
                         "and calls of the access functions (function "
                         "audit).\n\n");
        sg_md_table_init(&t, 3, head_a, al_a);
        for (int i = 0; i < r->naudit; i++) {
                char b[NUM];
                sg_md_table_add_row(&t);
                sg_render_cell_code(&t, 0, r->audit[i].role);
                sg_md_table_set(&t, 1,
                                sg_render_int(r->audit[i].statements, a, NUM));
                sg_md_table_set(&t, 2,
                                sg_render_int(r->audit[i].calls, b, NUM));
        }
        sg_render_table_end(&t, out);
}

void sg_access_report_render(const sg_access_report_t *r, sg_buf_t *out)
{
        sg_buf_printf(out, "# Access to personal data, %s\n\n", r->date);
        sg_buf_printf(out, "Generated at %s by sg-report %s.\n\n",
                      r->generated_at, SG_VERSION);
        sg_buf_puts(out, "Database ");
        sg_md_code(out, r->database);
        sg_buf_puts(out, "; times are UTC. Users appear by id only.\n\n");
        sg_access_section_table(r, out);
        sg_access_section_log(r, out);
        sg_access_section_api(r, out);
}

void sg_access_report_summary(const sg_access_report_t *r, sg_buf_t *out)
{
        char a[NUM], b[NUM];

        sg_buf_printf(out, "Access audit %s: %s accesses to personal data, "
                           "%s users\n",
                      r->date, sg_render_int(r->accesses, a, NUM),
                      sg_render_int(r->distinct_users, b, NUM));
        if (r->log_note)
                sg_buf_printf(out, "Refused attempts: not covered (%s)\n",
                              r->log_note);
        else
                sg_buf_printf(out, "Refused attempts: %s\n",
                              sg_render_int(r->nrefusals, a, NUM));
        sg_buf_printf(out, "Refused API requests: %s\n",
                      sg_render_int(r->api_refused, a, NUM));
}
