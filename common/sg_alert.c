#include "sg_alert.h"

#include <stdio.h>
#include <string.h>

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
