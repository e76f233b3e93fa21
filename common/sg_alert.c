#include "sg_alert.h"

#include <stdio.h>
#include <string.h>

#include "sg_buf.h"
#include "sg_pg.h"

void sg_alert_id(const char *source, const char *kind, const char *key,
                 char out[SG_UUID_LEN + 1])
{
        char name[512];
        int n = snprintf(name, sizeof(name), "alert|%s|%s|%s", source, kind,
                         key ? key : "");

        if (n < 0)
                n = 0;
        if ((size_t)n >= sizeof(name))
                n = (int)sizeof(name) - 1; /* a long key: its prefix names it */
        sg_uuid_from_name(name, (size_t)n, out);
}

long long sg_alerts_add(PGconn *conn, const sg_alert_t *a, size_t n,
                        sg_pg_err_t *err)
{
        sg_buf_t col[8];
        const char *params[8];
        long long affected = 0;
        int rc;

        if (n == 0)
                return 0;
        for (int k = 0; k < 8; k++) {
                sg_buf_init(&col[k]);
                sg_buf_array_begin(&col[k]);
        }
        for (size_t i = 0; i < n; i++) {
                char id[SG_UUID_LEN + 1];
                sg_alert_id(a[i].source, a[i].kind, a[i].key, id);
                sg_buf_array_str(&col[0], id);
                sg_buf_array_str(&col[1], a[i].source);
                sg_buf_array_str(&col[2], a[i].kind);
                sg_buf_array_str(&col[3], a[i].severity);
                sg_buf_array_str_or_null(&col[4], a[i].subject_type);
                sg_buf_array_str_or_null(&col[5], a[i].subject_id);
                sg_buf_array_str(&col[6], a[i].counts ? a[i].counts : "{}");
                sg_buf_array_str(&col[7], a[i].summary);
        }
        for (int k = 0; k < 8; k++) {
                sg_buf_array_end(&col[k]);
                params[k] = col[k].data;
        }
        rc = sg_pg_command(
            conn,
            "INSERT INTO alerts (alert_id, source, kind, severity, "
            "subject_type, subject_id, counts, summary) "
            "SELECT t.id, t.src, t.kind, t.sev, t.st, t.sid, t.c::jsonb, t.m "
            "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], "
            "$5::text[], $6::text[], $7::text[], $8::text[]) "
            "AS t(id, src, kind, sev, st, sid, c, m) "
            "ON CONFLICT (alert_id) DO NOTHING",
            8, params, "adding alerts",
            sg_pg_pipe_on(conn) ? NULL : &affected, err);
        for (int k = 0; k < 8; k++)
                sg_buf_fini(&col[k]);
        return rc < 0 ? -1 : affected;
}

int sg_alert_add(PGconn *conn, const sg_alert_t *a, sg_pg_err_t *err)
{
        char id[SG_UUID_LEN + 1];
        const char *params[8];
        long long affected = 0;

        sg_alert_id(a->source, a->kind, a->key, id);
        params[0] = id;
        params[1] = a->source;
        params[2] = a->kind;
        params[3] = a->severity;
        params[4] = a->subject_type;
        params[5] = a->subject_id;
        params[6] = a->counts ? a->counts : "{}";
        params[7] = a->summary;
        if (sg_pg_command(conn,
                          "INSERT INTO alerts (alert_id, source, kind, "
                          "severity, subject_type, subject_id, counts, summary) "
                          "VALUES ($1::uuid, $2, $3, $4, $5, $6, $7::jsonb, $8) "
                          "ON CONFLICT (alert_id) DO NOTHING",
                          8, params, "adding an alert", &affected, err) < 0)
                return -1;
        return affected > 0 ? 1 : 0;
}
