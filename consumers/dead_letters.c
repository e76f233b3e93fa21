#include "dead_letters.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_alert.h"
#include "sg_buf.h"
#include "sg_pg.h"

void sg_dlw_init(sg_dlw_t *d, long long window, double pct)
{
        memset(d, 0, sizeof(*d));
        d->window = window;
        d->pct = pct;
}

void sg_dlw_fini(sg_dlw_t *d)
{
        free(d->v);
        memset(d, 0, sizeof(*d));
}

void sg_dlw_add(sg_dlw_t *d, int32_t partition, int64_t offset, bool invalid)
{
        int64_t start;
        sg_dlw_entry_t *e = NULL;

        if (d->window <= 0 || offset < 0)
                return;
        start = offset - offset % d->window;
        /* A partition's messages come in order: its window is the last
         * entry of that partition, nearly always. */
        for (size_t i = d->n; i-- > 0;)
                if (d->v[i].partition == partition) {
                        if (d->v[i].start == start)
                                e = &d->v[i];
                        break;
                }
        if (!e) {
                for (size_t i = 0; i < d->n && !e; i++)
                        if (d->v[i].partition == partition &&
                            d->v[i].start == start)
                                e = &d->v[i];
        }
        if (!e) {
                if (d->n == d->cap) {
                        d->cap = d->cap ? d->cap * 2 : 16;
                        d->v = sg_xrealloc(d->v, d->cap * sizeof(*d->v));
                }
                e = &d->v[d->n++];
                *e = (sg_dlw_entry_t){.partition = partition, .start = start};
        }
        e->messages++;
        e->invalid += invalid;
        if (offset + 1 > e->next)
                e->next = offset + 1;
}

/* The windows closed by this batch, judged: an alert for each over the
 * share. */
static int sg_dlw_judge(sg_dlw_t *d, PGconn *conn, const char *group,
                        const char *topic, sg_pg_err_t *err)
{
        sg_buf_t parts, nexts;
        char s_window[24];
        const char *params[5];
        PGresult *res;
        int rc = 0;

        sg_buf_init(&parts);
        sg_buf_init(&nexts);
        sg_buf_array_begin(&parts);
        sg_buf_array_begin(&nexts);
        for (size_t i = 0; i < d->n; i++) {
                sg_buf_array_int(&parts, d->v[i].partition);
                sg_buf_array_int(&nexts, d->v[i].next);
        }
        sg_buf_array_end(&parts);
        sg_buf_array_end(&nexts);
        snprintf(s_window, sizeof(s_window), "%lld", d->window);
        params[0] = group;
        params[1] = topic;
        params[2] = parts.data;
        params[3] = nexts.data;
        params[4] = s_window;
        res = sg_pg_query(
            conn,
            "WITH t AS (SELECT p, max(n) AS n FROM unnest($3::int[], "
            "$4::bigint[]) AS x(p, n) GROUP BY p) "
            "UPDATE dead_letter_windows d SET closed = true FROM t "
            "WHERE d.consumer_group = $1 AND d.topic = $2 "
            "AND d.kafka_partition = t.p AND NOT d.closed "
            "AND d.window_start + $5::bigint <= t.n "
            "RETURNING d.kafka_partition, d.window_start, d.messages, "
            "d.invalid",
            5, params, 0, "closing dead-letter windows", err);
        sg_buf_fini(&parts);
        sg_buf_fini(&nexts);
        if (!res)
                return -1;
        for (int i = 0; i < PQntuples(res) && rc == 0; i++) {
                const char *part = PQgetvalue(res, i, 0);
                const char *start = PQgetvalue(res, i, 1);
                long long messages = strtoll(PQgetvalue(res, i, 2), NULL, 10);
                long long invalid = strtoll(PQgetvalue(res, i, 3), NULL, 10);
                char key[512], counts[200], summary[512];
                double share;

                if (messages <= 0)
                        continue;
                share = 100.0 * (double)invalid / (double)messages;
                if (share <= d->pct)
                        continue;
                snprintf(key, sizeof(key), "%s|%s|%s|%s", group, topic, part,
                         start);
                snprintf(counts, sizeof(counts),
                         "{\"partition\":%s,\"window_start\":%s,"
                         "\"messages\":%lld,\"invalid\":%lld,"
                         "\"share_pct\":%.2f,\"threshold_pct\":%.2f}",
                         part, start, messages, invalid, share, d->pct);
                snprintf(summary, sizeof(summary),
                         "%lld of %lld messages (%.1f %%, over %.1f %%) of %s "
                         "partition %s from offset %s were dead letters "
                         "(consumer group %s)",
                         invalid, messages, share, d->pct, topic, part, start,
                         group);
                rc = sg_alert_add(conn,
                                  &(sg_alert_t){.source = "consumer",
                                                .kind = "dead_letter_rate",
                                                .key = key,
                                                .severity = "high",
                                                .subject_type = "consumer_group",
                                                .subject_id = group,
                                                .counts = counts,
                                                .summary = summary},
                                  err);
                if (rc > 0) {
                        d->batch_alerts++;
                        rc = 0;
                }
        }
        PQclear(res);
        return rc < 0 ? -1 : 0;
}

int sg_dlw_flush(sg_dlw_t *d, PGconn *conn, const char *group,
                 const char *topic, sg_pg_err_t *err)
{
        sg_buf_t col[4];
        const char *params[6];
        int rc;

        d->batch_alerts = 0;
        if (d->window <= 0 || d->n == 0)
                return 0;
        for (int k = 0; k < 4; k++) {
                sg_buf_init(&col[k]);
                sg_buf_array_begin(&col[k]);
        }
        for (size_t i = 0; i < d->n; i++) {
                sg_buf_array_int(&col[0], d->v[i].partition);
                sg_buf_array_int(&col[1], d->v[i].start);
                sg_buf_array_int(&col[2], d->v[i].messages);
                sg_buf_array_int(&col[3], d->v[i].invalid);
        }
        params[0] = group;
        params[1] = topic;
        for (int k = 0; k < 4; k++) {
                sg_buf_array_end(&col[k]);
                params[k + 2] = col[k].data;
        }
        rc = sg_pg_command(
            conn,
            "INSERT INTO dead_letter_windows AS d (consumer_group, topic, "
            "kafka_partition, window_start, messages, invalid) "
            "SELECT $1, $2, t.p, t.s, t.m, t.i FROM unnest($3::int[], "
            "$4::bigint[], $5::bigint[], $6::bigint[]) AS t(p, s, m, i) "
            "ON CONFLICT (consumer_group, topic, kafka_partition, "
            "window_start) DO UPDATE SET messages = d.messages + "
            "EXCLUDED.messages, invalid = d.invalid + EXCLUDED.invalid",
            6, params, "counting dead letters", NULL, err);
        for (int k = 0; k < 4; k++)
                sg_buf_fini(&col[k]);
        if (rc < 0)
                return -1;
        return sg_dlw_judge(d, conn, group, topic, err);
}

void sg_dlw_committed(sg_dlw_t *d)
{
        d->alerts += d->batch_alerts;
        sg_dlw_discard(d);
}

void sg_dlw_discard(sg_dlw_t *d)
{
        d->n = 0;
        d->batch_alerts = 0;
}
