#include "flag_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sg_alert.h"
#include "sg_buf.h"
#include "sg_outbox.h"
#include "sg_pg.h"
#include "sg_time.h"

#define NCOLS 17

/* The same statement on both tables (a table name cannot be a
 * parameter). Timestamps arrive as microseconds since the epoch. */
#define SG_FLAG_UPSERT(table)                                                  \
        "INSERT INTO " table " AS f (flag_id, rule, rule_version, severity, "  \
        "subject_type, subject_id, window_start, window_end, first_event_id, " \
        "first_event_at, "                                                     \
        "last_event_id, event_count, observed, threshold, evidence, "          \
        "kafka_topic, kafka_partition, kafka_offset) "                         \
        "SELECT t.id, t.rule, t.ver, t.sev, t.st, t.sid, "                     \
        "timestamptz 'epoch' + t.ws * interval '1 microsecond', "              \
        "timestamptz 'epoch' + t.we * interval '1 microsecond', "              \
        "NULLIF(t.fe, '')::uuid, CASE WHEN t.fe <> '' THEN timestamptz "        \
        "'epoch' + t.ft * interval '1 microsecond' END, "                      \
        "NULLIF(t.le, '')::uuid, t.n, t.obs, t.thr, "                          \
        "t.ev::jsonb, CASE WHEN t.fp >= 0 THEN $18 END, "                      \
        "CASE WHEN t.fp >= 0 THEN t.fp END, CASE WHEN t.fp >= 0 THEN t.fo END " \
        "FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], "         \
        "$5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::text[], "     \
        "$10::text[], $11::bigint[], $12::float8[], $13::float8[], "           \
        "$14::text[], $15::int[], $16::bigint[], $17::bigint[]) AS t(id, rule, " \
        "ver, sev, st, sid, ws, we, fe, le, n, obs, thr, ev, fp, fo, ft) "      \
        "ON CONFLICT (flag_id) DO UPDATE SET "                                 \
        "severity = CASE WHEN sg_severity_rank(EXCLUDED.severity) > "          \
        "sg_severity_rank(f.severity) THEN EXCLUDED.severity "                 \
        "ELSE f.severity END, "                                                \
        "last_event_id = COALESCE(EXCLUDED.last_event_id, f.last_event_id), "  \
        "event_count = f.event_count + EXCLUDED.event_count, "                 \
        "threshold = CASE WHEN EXCLUDED.observed > f.observed "                \
        "THEN EXCLUDED.threshold ELSE f.threshold END, "                       \
        "evidence = CASE WHEN EXCLUDED.observed > f.observed "                 \
        "THEN EXCLUDED.evidence ELSE f.evidence END, "                         \
        "observed = GREATEST(f.observed, EXCLUDED.observed), "                 \
        "updated_at = now()"

static const char *const sg_upsert_sql[2] = {
    SG_FLAG_UPSERT("compliance_flags"),
    SG_FLAG_UPSERT("compliance_flags_batch"),
};

static const char *const sg_known_sql[2] = {
    "SELECT flag_id::text, severity FROM compliance_flags "
    "WHERE flag_id = ANY($1::uuid[])",
    "SELECT flag_id::text, severity FROM compliance_flags_batch "
    "WHERE flag_id = ANY($1::uuid[])",
};

typedef struct sg_known {
        char id[37];
        int sev;
} sg_known_t;

static int sg_known_cmp(const void *a, const void *b)
{
        return strcmp(((const sg_known_t *)a)->id, ((const sg_known_t *)b)->id);
}

static int sg_severity_rank(const char *s)
{
        if (strcmp(s, "high") == 0)
                return SG_SEV_HIGH;
        if (strcmp(s, "medium") == 0)
                return SG_SEV_MEDIUM;
        return SG_SEV_LOW;
}

char *sg_flag_json(const sg_flag_t *f, const char *change)
{
        char ws[28], we[28];
        json_t *o;
        char *s;

        sg_time_format_rfc3339(f->window_start_us, ws);
        sg_time_format_rfc3339(f->window_end_us, we);
        o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, "
                      "s:f, s:f}",
                      "flag_id", f->flag_id, "change", change, "rule",
                      sg_rule_name(f->rule), "rule_version", f->rule_version,
                      "severity", sg_severity_name(f->severity),
                      "subject_type", sg_subject_name(f->subject_type),
                      "subject_id", f->subject_id, "window_start", ws,
                      "window_end", we, "event_count",
                      (json_int_t)f->event_count, "observed", f->observed,
                      "threshold", f->threshold);
        if (!o)
                sg_oom("a flag's JSON");
        s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(12));
        json_decref(o);
        if (!s)
                sg_oom("a flag's JSON");
        return s;
}

/* The flags the table already holds, sorted by id. */
static sg_known_t *sg_flags_known(PGconn *conn, sg_flag_table_t table,
                                  const sg_flag_t *flags, size_t n,
                                  size_t *nknown, sg_pg_err_t *err)
{
        sg_buf_t ids;
        const char *params[1];
        PGresult *res;
        sg_known_t *k;

        sg_buf_init(&ids);
        sg_buf_array_begin(&ids);
        for (size_t i = 0; i < n; i++)
                sg_buf_array_str(&ids, flags[i].flag_id);
        sg_buf_array_end(&ids);
        params[0] = ids.data;
        res = sg_pg_query(conn, sg_known_sql[table], 1, params, 0,
                          "reading the known flags", err);
        sg_buf_fini(&ids);
        if (!res)
                return NULL;
        *nknown = (size_t)PQntuples(res);
        k = sg_xcalloc(*nknown + 1, sizeof(*k));
        for (size_t i = 0; i < *nknown; i++) {
                snprintf(k[i].id, sizeof(k[i].id), "%s",
                         PQgetvalue(res, (int)i, 0));
                k[i].sev = sg_severity_rank(PQgetvalue(res, (int)i, 1));
        }
        PQclear(res);
        qsort(k, *nknown, sizeof(*k), sg_known_cmp);
        return k;
}

/* The alert of a raised or escalated flag (text: its key, counts and
 * summary). Ids, the rule, numbers: nothing else. */
static void sg_flag_alert(const sg_flag_t *f, const char *change,
                          sg_alert_t *a, char text[3][256])
{
        const char *sev = sg_severity_name(f->severity);

        /* One alert per flag and severity reached: an escalation is its
         * own, a flag raised again (after its state was lost) is not. */
        snprintf(text[0], 256, "%s|%s", f->flag_id, sev);
        snprintf(text[1], 256,
                 "{\"flag_id\":\"%s\",\"change\":\"%s\","
                 "\"event_count\":%lld,\"observed\":%.12g,"
                 "\"threshold\":%.12g}",
                 f->flag_id, change, f->event_count, f->observed,
                 f->threshold);
        snprintf(text[2], 256, "%s flag %s on %s %s (observed %.12g, "
                 "threshold %.12g)",
                 sg_rule_name(f->rule), change,
                 sg_subject_name(f->subject_type), f->subject_id, f->observed,
                 f->threshold);
        *a = (sg_alert_t){.source = "compliance",
                          .kind = sg_rule_name(f->rule),
                          .key = text[0],
                          .severity = sev,
                          .subject_type = sg_subject_name(f->subject_type),
                          .subject_id = f->subject_id,
                          .counts = text[1],
                          .summary = text[2]};
}

/* The upsert, the outbox rows of the flags whose change[i] is set, and
 * the alerts of those at alert_sev or above (0: none). */
static int sg_flags_upsert(PGconn *conn, sg_flag_table_t table,
                           const char *topic, const sg_flag_t *flags, size_t n,
                           const char *const *change, int alert_sev,
                           sg_pg_err_t *err)
{
        sg_buf_t col[NCOLS];
        const char *params[NCOLS + 1];
        const char **keys = NULL;
        char **payloads = NULL;
        size_t nout = 0, nalerts = 0;
        sg_alert_t *alerts = NULL;
        char (*text)[3][256] = NULL;
        int rc = -1;

        if (alert_sev > 0) {
                alerts = sg_xcalloc(n, sizeof(*alerts));
                text = sg_xcalloc(n, sizeof(*text));
        }

        for (int i = 0; i < NCOLS; i++) {
                sg_buf_init(&col[i]);
                sg_buf_array_begin(&col[i]);
        }
        if (change) {
                keys = sg_xcalloc(n, sizeof(*keys));
                payloads = sg_xcalloc(n, sizeof(*payloads));
        }
        for (size_t i = 0; i < n; i++) {
                const sg_flag_t *f = &flags[i];
                char num[40];

                if (change && change[i]) {
                        keys[nout] = f->subject_id;
                        payloads[nout] = sg_flag_json(f, change[i]);
                        nout++;
                        if (alerts && (int)f->severity >= alert_sev)
                                sg_flag_alert(f, change[i], &alerts[nalerts],
                                              text[nalerts]), nalerts++;
                }
                sg_buf_array_str(&col[0], f->flag_id);
                sg_buf_array_str(&col[1], sg_rule_name(f->rule));
                sg_buf_array_str(&col[2], f->rule_version);
                sg_buf_array_str(&col[3], sg_severity_name(f->severity));
                sg_buf_array_str(&col[4], sg_subject_name(f->subject_type));
                sg_buf_array_str(&col[5], f->subject_id);
                sg_buf_array_int(&col[6], f->window_start_us);
                sg_buf_array_int(&col[7], f->window_end_us);
                sg_buf_array_str(&col[8], f->first_event_id);
                sg_buf_array_str(&col[9], f->last_event_id);
                sg_buf_array_int(&col[10], f->event_count);
                snprintf(num, sizeof(num), "%.17g", f->observed);
                sg_buf_array_str(&col[11], num);
                snprintf(num, sizeof(num), "%.17g", f->threshold);
                sg_buf_array_str(&col[12], num);
                sg_buf_array_str(&col[13], f->evidence);
                sg_buf_array_int(&col[14], f->first_partition);
                sg_buf_array_int(&col[15], f->first_offset);
                sg_buf_array_int(&col[16], f->first_ts_us);
        }
        for (int i = 0; i < NCOLS; i++) {
                sg_buf_array_end(&col[i]);
                params[i] = col[i].data;
        }
        params[NCOLS] = topic;
        if (sg_pg_command(conn, sg_upsert_sql[table], NCOLS + 1, params,
                          "storing flags", NULL, err) < 0)
                goto out;
        /* Several flags per outbox row (sql/018). */
        if (nout && sg_outbox_add_many(conn, SG_FLAG_CHANNEL, keys,
                                       (const char *const *)payloads, nout,
                                       err) < 0)
                goto out;
        if (nalerts && sg_alerts_add(conn, alerts, nalerts, err) < 0)
                goto out;
        rc = 0;
out:
        free(alerts);
        free(text);
        for (int i = 0; i < NCOLS; i++)
                sg_buf_fini(&col[i]);
        for (size_t i = 0; i < nout; i++)
                free(payloads[i]);
        free(keys);
        free(payloads);
        return rc;
}

int sg_flag_write(PGconn *conn, sg_flag_table_t table, const char *topic,
                  const sg_flag_t *flags, size_t n, bool outbox, int alert_sev,
                  sg_pg_err_t *err)
{
        const char **change;
        int rc;

        if (n == 0)
                return 0;
        change = sg_xcalloc(n, sizeof(*change));
        for (size_t i = 0; i < n && outbox; i++)
                change[i] = flags[i].change == SG_FLAG_RAISED ? "raised"
                            : flags[i].change == SG_FLAG_ESCALATED
                                ? "escalated"
                                : NULL;
        rc = sg_flags_upsert(conn, table, topic, flags, n, change,
                             outbox ? alert_sev : 0, err);
        free(change);
        return rc;
}

int sg_flag_store(PGconn *conn, sg_flag_table_t table, const char *topic,
                  const sg_flag_t *flags, size_t n, bool outbox, int alert_sev,
                  sg_flag_counts_t *counts, sg_pg_err_t *err)
{
        const char **change;
        sg_known_t *known;
        size_t nknown = 0;
        int rc;

        if (n == 0)
                return 0;
        known = sg_flags_known(conn, table, flags, n, &nknown, err);
        if (!known)
                return -1;
        change = sg_xcalloc(n, sizeof(*change));
        for (size_t i = 0; i < n; i++) {
                sg_known_t key, *k;
                const char *c = NULL;

                snprintf(key.id, sizeof(key.id), "%s", flags[i].flag_id);
                k = bsearch(&key, known, nknown, sizeof(*known), sg_known_cmp);
                if (!k) {
                        counts->raised++;
                        c = "raised";
                } else if ((int)flags[i].severity > k->sev) {
                        counts->escalated++;
                        c = "escalated";
                } else {
                        counts->extended++;
                }
                change[i] = outbox ? c : NULL;
        }
        rc = sg_flags_upsert(conn, table, topic, flags, n, change,
                             outbox ? alert_sev : 0, err);
        free(change);
        free(known);
        return rc;
}
