#include "sg_offsets.h"
#include "sg_buf.h"
#include "sg_pg.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Builds a PostgreSQL array literal "{a,b,c}" of n 64-bit integers. */
static void sg_offsets_array(sg_buf_t *b, int n, const int32_t *i32,
                             const int64_t *i64)
{
        sg_buf_putc(b, '{');
        for (int i = 0; i < n; i++) {
                if (i)
                        sg_buf_putc(b, ',');
                sg_buf_printf(b, "%" PRId64, i32 ? (int64_t)i32[i] : i64[i]);
        }
        sg_buf_putc(b, '}');
}

int sg_offsets_load(PGconn *conn, const char *group, const char *topic,
                    const char *cluster_id, int n, const int32_t *partitions,
                    int64_t *stored, int *other_cluster, char *errstr,
                    size_t errstr_size)
{
        sg_buf_t parts;
        const char *params[3];
        PGresult *res;
        int rc = 0;

        for (int i = 0; i < n; i++) {
                stored[i] = SG_OFFSETS_NONE;
                other_cluster[i] = 0;
        }
        sg_buf_init(&parts);
        sg_offsets_array(&parts, n, partitions, NULL);
        params[0] = group;
        params[1] = topic;
        params[2] = parts.data;
        res = PQexecParams(conn,
                           "SELECT partition, next_offset, cluster_id "
                           "FROM stream_offsets WHERE consumer_group = $1 "
                           "AND topic = $2 AND partition = ANY($3::int[])",
                           3, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                sg_pg_errstr(conn, res, errstr, errstr_size);
                rc = SG_OFFSETS_ERR;
                goto out;
        }
        for (int r = 0; r < PQntuples(res); r++) {
                int32_t p = (int32_t)strtol(PQgetvalue(res, r, 0), NULL, 10);
                for (int i = 0; i < n; i++) {
                        if (partitions[i] != p)
                                continue;
                        stored[i] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
                        other_cluster[i] =
                            strcmp(PQgetvalue(res, r, 2), cluster_id) != 0;
                }
        }
out:
        PQclear(res);
        sg_buf_fini(&parts);
        return rc;
}

int sg_offsets_store(PGconn *conn, const char *group, const char *topic,
                     const char *cluster_id, int n, const int32_t *partitions,
                     const int64_t *next, const int64_t *expected,
                     char *errstr, size_t errstr_size)
{
        sg_buf_t a_part, a_next, a_exp;
        const char *params[6];
        PGresult *res;
        int rc = 0;

        sg_buf_init(&a_part);
        sg_buf_init(&a_next);
        sg_buf_init(&a_exp);
        sg_offsets_array(&a_part, n, partitions, NULL);
        sg_offsets_array(&a_next, n, NULL, next);
        sg_offsets_array(&a_exp, n, NULL, expected);
        params[0] = group;
        params[1] = topic;
        params[2] = cluster_id;
        params[3] = a_part.data;
        params[4] = a_next.data;
        params[5] = a_exp.data;
        /* The row is written only where it still holds what this consumer
         * last stored (or read), so a consumer that lost its partitions
         * (a zombie after a rebalance) can never move them back. */
        res = PQexecParams(
            conn,
            "INSERT INTO stream_offsets AS so (consumer_group, topic, "
            "partition, next_offset, cluster_id) "
            "SELECT $1, $2, t.p, t.n, $3 "
            "FROM unnest($4::int[], $5::bigint[]) AS t(p, n) "
            "ON CONFLICT (consumer_group, topic, partition) DO UPDATE "
            "SET next_offset = EXCLUDED.next_offset, "
            "cluster_id = EXCLUDED.cluster_id, updated_at = now() "
            "WHERE so.next_offset = (SELECT x.e FROM unnest($4::int[], "
            "$6::bigint[]) AS x(p, e) WHERE x.p = EXCLUDED.partition)",
            6, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                sg_pg_errstr(conn, res, errstr, errstr_size);
                rc = SG_OFFSETS_ERR;
        } else if (atoi(PQcmdTuples(res)) != n) {
                snprintf(errstr, errstr_size,
                         "offsets of group %s moved under this consumer "
                         "(%s of %d rows written)",
                         group, PQcmdTuples(res), n);
                rc = SG_OFFSETS_FENCED;
        }
        PQclear(res);
        sg_buf_fini(&a_part);
        sg_buf_fini(&a_next);
        sg_buf_fini(&a_exp);
        return rc;
}

int sg_offsets_record_gap(PGconn *conn, const char *group, const char *topic,
                          int32_t partition, const char *reason,
                          int64_t from, int64_t to, int64_t lost,
                          const char *cluster_id, char *errstr,
                          size_t errstr_size)
{
        char s_part[16], s_from[24], s_to[24], s_lost[24];
        const char *params[8] = {group, topic,  s_part, reason,
                                 s_from, s_to, s_lost, cluster_id};
        PGresult *res;
        int rc = 0;

        snprintf(s_part, sizeof(s_part), "%" PRId32, partition);
        snprintf(s_from, sizeof(s_from), "%" PRId64, from);
        snprintf(s_to, sizeof(s_to), "%" PRId64, to);
        snprintf(s_lost, sizeof(s_lost), "%" PRId64, lost);
        res = PQexecParams(conn,
                           "INSERT INTO offset_gaps (consumer_group, topic, "
                           "partition, reason, from_offset, to_offset, "
                           "lost_events, cluster_id) "
                           "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                           8, NULL, params, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                sg_pg_errstr(conn, res, errstr, errstr_size);
                rc = SG_OFFSETS_ERR;
        }
        PQclear(res);
        return rc;
}
