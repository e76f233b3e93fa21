#include "offsets.h"
#include "sg_alert.h"
#include "sg_buf.h"
#include "sg_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sg_offsets_load(PGconn *conn, const char *group, const char *cluster_id,
                    int n, const char *const *topics,
                    const int32_t *partitions, int64_t *stored,
                    int *other_cluster, sg_pg_err_t *err)
{
        sg_buf_t a_topic, a_part;
        const char *params[3];
        PGresult *res;

        for (int i = 0; i < n; i++) {
                stored[i] = SG_LEDGER_NONE;
                other_cluster[i] = 0;
        }
        sg_buf_init(&a_topic);
        sg_buf_init(&a_part);
        sg_buf_array_begin(&a_topic);
        sg_buf_array_begin(&a_part);
        for (int i = 0; i < n; i++) {
                sg_buf_array_str(&a_topic, topics[i]);
                sg_buf_array_int(&a_part, partitions[i]);
        }
        sg_buf_array_end(&a_topic);
        sg_buf_array_end(&a_part);
        params[0] = group;
        params[1] = a_topic.data;
        params[2] = a_part.data;
        res = sg_pg_query(conn,
                          "SELECT so.topic, so.partition, so.next_offset, "
                          "so.cluster_id FROM stream_offsets so "
                          "JOIN unnest($2::text[], $3::int[]) AS t(topic, p) "
                          "ON so.topic = t.topic AND so.partition = t.p "
                          "WHERE so.consumer_group = $1",
                          3, params, 0, "reading stored offsets", err);
        sg_buf_fini(&a_topic);
        sg_buf_fini(&a_part);
        if (!res)
                return -1;
        for (int r = 0; r < PQntuples(res); r++) {
                const char *topic = PQgetvalue(res, r, 0);
                int32_t p = (int32_t)strtol(PQgetvalue(res, r, 1), NULL, 10);
                for (int i = 0; i < n; i++) {
                        if (partitions[i] != p || strcmp(topics[i], topic))
                                continue;
                        stored[i] = strtoll(PQgetvalue(res, r, 2), NULL, 10);
                        other_cluster[i] =
                            strcmp(PQgetvalue(res, r, 3), cluster_id) != 0;
                }
        }
        PQclear(res);
        return 0;
}

int sg_offsets_store(PGconn *conn, const char *group, const char *cluster_id,
                     const sg_ledger_batch_t *b, sg_pg_err_t *err)
{
        sg_buf_t a[4];
        const char *params[6];
        long long written = 0;
        int rc;

        for (int k = 0; k < 4; k++) {
                sg_buf_init(&a[k]);
                sg_buf_array_begin(&a[k]);
        }
        for (int i = 0; i < b->n; i++) {
                sg_buf_array_str(&a[0], b->topics[i]);
                sg_buf_array_int(&a[1], b->parts[i]);
                sg_buf_array_int(&a[2], b->next[i]);
                sg_buf_array_int(&a[3], b->expected[i]);
        }
        for (int k = 0; k < 4; k++)
                sg_buf_array_end(&a[k]);
        params[0] = group;
        params[1] = cluster_id;
        params[2] = a[0].data;
        params[3] = a[1].data;
        params[4] = a[2].data;
        params[5] = a[3].data;
        /* The row is written only where it still holds what this consumer
         * last stored (or read), so a consumer that lost its partitions
         * (a zombie after a rebalance) can never move them back. */
        rc = sg_pg_command(
            conn,
            "INSERT INTO stream_offsets AS so (consumer_group, topic, "
            "partition, next_offset, cluster_id) "
            "SELECT $1, t.topic, t.p, t.n, $2 "
            "FROM unnest($3::text[], $4::int[], $5::bigint[], $6::bigint[]) "
            "AS t(topic, p, n, e) "
            "ON CONFLICT (consumer_group, topic, partition) DO UPDATE "
            "SET next_offset = EXCLUDED.next_offset, "
            "cluster_id = EXCLUDED.cluster_id, updated_at = now() "
            "WHERE so.next_offset = (SELECT x.e FROM unnest($3::text[], "
            "$4::int[], $6::bigint[]) AS x(topic, p, e) "
            "WHERE x.topic = EXCLUDED.topic AND x.p = EXCLUDED.partition)",
            6, params, "storing offsets", &written, err);
        for (int k = 0; k < 4; k++)
                sg_buf_fini(&a[k]);
        if (rc < 0)
                return -1;
        if (written != b->n) {
                sg_pg_err_fmt(err, false,
                              "offsets of group %s moved under this consumer "
                              "(%lld of %d rows written)",
                              group, written, b->n);
                return SG_OFFSETS_FENCED;
        }
        return 0;
}

int sg_offsets_record_gap(PGconn *conn, const char *group, const char *topic,
                          int32_t partition, const char *reason, int64_t from,
                          int64_t to, int64_t lost, const char *cluster_id,
                          sg_pg_err_t *err)
{
        char s_part[16], s_from[24], s_to[24], s_lost[24];
        const char *params[8] = {group, topic,  s_part, reason,
                                 s_from, s_to, s_lost, cluster_id};
        char key[512], counts[160], summary[512];

        snprintf(s_part, sizeof(s_part), "%" PRId32, partition);
        snprintf(s_from, sizeof(s_from), "%" PRId64, from);
        snprintf(s_to, sizeof(s_to), "%" PRId64, to);
        snprintf(s_lost, sizeof(s_lost), "%" PRId64, lost);
        if (sg_pg_command(conn,
                          "INSERT INTO offset_gaps (consumer_group, topic, "
                          "partition, reason, from_offset, to_offset, "
                          "lost_events, cluster_id) "
                          "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                          8, params, "recording an offset gap", NULL, err) < 0)
                return -1;
        /* The alert, in the same transaction: once per gap (its key names
         * the gap; a gap recorded again after a crash adds nothing). */
        snprintf(key, sizeof(key), "%s|%s|%s|%s|%s|%s", group, topic, s_part,
                 reason, s_from, s_to);
        snprintf(counts, sizeof(counts),
                 "{\"partition\":%s,\"from_offset\":%s,\"to_offset\":%s,"
                 "\"lost_events\":%s}",
                 s_part, s_from, s_to, s_lost);
        snprintf(summary, sizeof(summary),
                 "consumer group %s skipped offsets %s to %s of %s "
                 "partition %s (%s events lost, reason %s)",
                 group, s_from, s_to, topic, s_part, s_lost, reason);
        return sg_alert_add(conn,
                            &(sg_alert_t){.source = "consumer",
                                          .kind = "offset_gap",
                                          .key = key,
                                          .severity = "high",
                                          .subject_type = "consumer_group",
                                          .subject_id = group,
                                          .counts = counts,
                                          .summary = summary},
                            err) < 0
                   ? -1
                   : 0;
}
