#include "sg_outbox.h"
#include "sg_buf.h"
#include "sg_log.h"
#include "sg_pg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A report waiting to be recorded. */
typedef struct sg_outbox_report {
        long long id;
        bool delivered;
        int retry_ms;
        char why[96];
} sg_outbox_report_t;

/* A row of several messages in flight (sql/018): reported once all of
 * them are, delivered if all were. */
typedef struct sg_outbox_group {
        long long id;
        int left;
        bool failed;
        int retry_ms;
        char why[96];
} sg_outbox_group_t;

struct sg_outbox {
        char *channel;
        int lease_s;
        const sg_outbox_sender_ops_t *ops;
        void *sender;
        sg_outbox_report_t *reports;
        int nreports, cap;
        sg_outbox_group_t *groups;
        int ngroups, gcap;
        int inflight;
        sg_outbox_stats_t stats;
};

sg_outbox_t *sg_outbox_new(const char *channel, int lease_s,
                           const sg_outbox_sender_ops_t *ops, void *sender)
{
        sg_outbox_t *ob = sg_xcalloc(1, sizeof(*ob));

        ob->channel = sg_xstrdup(channel);
        ob->lease_s = lease_s;
        ob->ops = ops;
        ob->sender = sender;
        return ob;
}

void sg_outbox_destroy(sg_outbox_t *ob)
{
        if (!ob)
                return;
        free(ob->channel);
        free(ob->reports);
        free(ob->groups);
        free(ob);
}

static sg_outbox_group_t *sg_outbox_group(sg_outbox_t *ob, long long id)
{
        for (int i = 0; i < ob->ngroups; i++)
                if (ob->groups[i].id == id)
                        return &ob->groups[i];
        return NULL;
}

static void sg_outbox_report(sg_outbox_t *ob, long long id, bool delivered,
                             const char *why, int retry_ms)
{
        sg_outbox_report_t *r;

        if (ob->nreports == ob->cap) {
                ob->cap = ob->cap ? ob->cap * 2 : 256;
                ob->reports =
                    sg_xrealloc(ob->reports, (size_t)ob->cap * sizeof(*r));
        }
        r = &ob->reports[ob->nreports++];
        r->id = id;
        r->delivered = delivered;
        r->retry_ms = retry_ms;
        snprintf(r->why, sizeof(r->why), "%s", why ? why : "");
}

void sg_outbox_done(sg_outbox_t *ob, long long id, bool delivered,
                    const char *why, int retry_ms)
{
        sg_outbox_group_t *g = sg_outbox_group(ob, id);

        if (ob->inflight > 0)
                ob->inflight--;
        if (delivered)
                ob->stats.delivered++;
        else
                ob->stats.failed++;
        if (!g) {
                sg_outbox_report(ob, id, delivered, why, retry_ms);
                return;
        }
        if (!delivered && !g->failed) {
                g->failed = true;
                g->retry_ms = retry_ms;
                snprintf(g->why, sizeof(g->why), "%s", why ? why : "");
        }
        if (--g->left > 0)
                return;
        sg_outbox_report(ob, id, !g->failed, g->why, g->retry_ms);
        *g = ob->groups[--ob->ngroups];
}

/* A row is at most this many messages (sql/018). */
#define SG_OUTBOX_ROW_MAX 500

/* Whether a message fits a line of a row of several: "key TAB value". */
static bool sg_outbox_fits(const char *key, const char *payload)
{
        return key && !strpbrk(key, "\t\n") && !strchr(payload, '\n');
}

/* One row: ref NULL for none, messages 1 unless payload is that many
 * lines. */
static int sg_outbox_insert(PGconn *conn, const char *channel,
                            const char *key, const char *payload,
                            const char *ref, int messages, sg_pg_err_t *err)
{
        char s_msgs[16];
        const char *params[5] = {channel, key, payload, ref, s_msgs};

        snprintf(s_msgs, sizeof(s_msgs), "%d", messages);
        return sg_pg_command(conn,
                             "INSERT INTO outbox (channel, msg_key, payload, "
                             "ref_id, messages) VALUES ($1, $2, $3, "
                             "$4::bigint, $5::integer)",
                             5, params, "adding to the outbox", NULL, err);
}

int sg_outbox_add(PGconn *conn, const char *channel, const char *key,
                  const char *payload, long long ref_id, sg_pg_err_t *err)
{
        char ref[24];

        snprintf(ref, sizeof(ref), "%lld", ref_id);
        return sg_outbox_insert(conn, channel, key, payload, ref, 1, err);
}

int sg_outbox_add_many(PGconn *conn, const char *channel,
                       const char *const *keys, const char *const *payloads,
                       size_t n, sg_pg_err_t *err)
{
        sg_buf_t row;
        size_t first = 0;
        int in_row = 0, rc = 0;

        sg_buf_init(&row);
        for (size_t i = 0; i <= n && rc == 0; i++) {
                bool fits = i < n && sg_outbox_fits(keys[i], payloads[i]);
                if (i < n && !fits) {
                        /* In a row of its own, as before sql/018. */
                        rc = sg_outbox_insert(conn, channel, keys[i],
                                              payloads[i], NULL, 1, err);
                        continue;
                }
                if (i < n) {
                        if (in_row == 0)
                                first = i;
                        sg_buf_puts(&row, keys[i]);
                        sg_buf_putc(&row, '\t');
                        sg_buf_puts(&row, payloads[i]);
                        sg_buf_putc(&row, '\n');
                        in_row++;
                }
                if (in_row == 0 ||
                    (i < n && in_row < SG_OUTBOX_ROW_MAX))
                        continue;
                if (in_row == 1)
                        rc = sg_outbox_insert(conn, channel, keys[first],
                                              payloads[first], NULL, 1, err);
                else {
                        sg_buf_putc(&row, '\0');
                        rc = sg_outbox_insert(conn, channel, NULL, row.data,
                                              NULL, in_row, err);
                }
                sg_buf_reset(&row);
                in_row = 0;
        }
        sg_buf_fini(&row);
        return rc;
}

/* Hands one message to the sender (its failure to queue it is its
 * report). */
static void sg_outbox_send(sg_outbox_t *ob, const sg_outbox_msg_t *msg)
{
        char why[96] = "";

        ob->stats.queued++;
        ob->inflight++;
        if (ob->ops->send(ob->sender, msg, why, sizeof(why)) < 0)
                sg_outbox_done(ob, msg->id, false, why, 0);
}

/* Sends each line of a row of several messages; the row is reported
 * once all of them are. */
static void sg_outbox_send_lines(sg_outbox_t *ob, sg_outbox_msg_t msg,
                                 int messages)
{
        const char *p = msg.payload, *end = msg.payload + msg.payload_len;
        sg_outbox_group_t *g;
        int sent = 0;

        if (ob->ngroups == ob->gcap) {
                ob->gcap = ob->gcap ? ob->gcap * 2 : 16;
                ob->groups = sg_xrealloc(ob->groups,
                                         (size_t)ob->gcap * sizeof(*g));
        }
        g = &ob->groups[ob->ngroups++];
        *g = (sg_outbox_group_t){.id = msg.id, .left = messages};
        while (p < end && sent < messages) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *tab = memchr(p, '\t', (size_t)(end - p));
                sg_outbox_msg_t one = msg;
                if (!nl || !tab || tab > nl)
                        break;
                one.key = p;
                one.key_len = (size_t)(tab - p);
                one.payload = tab + 1;
                one.payload_len = (size_t)(nl - tab - 1);
                sg_outbox_send(ob, &one);
                sent++;
                p = nl + 1;
        }
        if (sent < messages || p != end) {
                /* Not a row sg_outbox_add_many wrote: kept, said once per
                 * attempt (it cannot be sent as it is). */
                sg_error("outbox row id=%lld: %d messages announced, %d lines "
                         "read: kept in the outbox",
                         msg.id, messages, sent);
                ob->inflight += messages - sent;
                for (int i = sent; i < messages; i++)
                        sg_outbox_done(ob, msg.id, false, "malformed_row",
                                       60000);
                g = sg_outbox_group(ob, msg.id);
                if (g && !g->failed) {
                        /* Extra bytes after the last line. */
                        g->failed = true;
                        g->retry_ms = 60000;
                        snprintf(g->why, sizeof(g->why), "malformed_row");
                }
        }
}

int sg_outbox_sweep(sg_outbox_t *ob, PGconn *conn, int limit,
                    sg_pg_err_t *err)
{
        char s_limit[16], s_lease[16];
        const char *params[3] = {ob->channel, s_limit, s_lease};
        PGresult *res;
        int n;

        snprintf(s_limit, sizeof(s_limit), "%d", limit);
        snprintf(s_lease, sizeof(s_lease), "%d", ob->lease_s);
        /* The oldest rows whose messages before them stay under limit (a
         * row holds at least one: at most limit rows, at least one). */
        res = sg_pg_query(
            conn,
            "WITH c AS ("
            "  SELECT id, messages FROM outbox"
            "   WHERE channel = $1 AND sent_at IS NULL"
            "     AND (leased_until IS NULL OR leased_until < clock_timestamp())"
            "   ORDER BY id LIMIT $2::integer FOR UPDATE SKIP LOCKED), "
            "b AS ("
            "  SELECT id FROM (SELECT id, messages, sum(messages) OVER "
            "                  (ORDER BY id) AS upto FROM c) AS w"
            "   WHERE upto - messages < $2::integer), "
            "l AS ("
            "  UPDATE outbox o SET leased_until = clock_timestamp() +"
            "         make_interval(secs => $3::double precision)"
            "    FROM b WHERE o.id = b.id"
            "  RETURNING o.id, o.msg_key, o.payload, o.attempts, o.messages) "
            "SELECT id, msg_key, payload, attempts, messages FROM l ORDER BY id",
            3, params, 0, "leasing outbox rows", err);
        if (!res)
                return -1;
        n = PQntuples(res);
        for (int i = 0; i < n; i++) {
                sg_outbox_msg_t msg;
                int messages = atoi(PQgetvalue(res, i, 4));

                msg.id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
                msg.key = PQgetisnull(res, i, 1) ? NULL : PQgetvalue(res, i, 1);
                msg.key_len = msg.key ? (size_t)PQgetlength(res, i, 1) : 0;
                msg.payload = PQgetvalue(res, i, 2);
                msg.payload_len = (size_t)PQgetlength(res, i, 2);
                msg.attempts = atoi(PQgetvalue(res, i, 3));
                if (messages > 1)
                        sg_outbox_send_lines(ob, msg, messages);
                else
                        sg_outbox_send(ob, &msg);
        }
        PQclear(res);
        return n;
}

void sg_outbox_poll(sg_outbox_t *ob, int timeout_ms)
{
        ob->ops->poll(ob->sender, timeout_ms);
}

int sg_outbox_record(sg_outbox_t *ob, PGconn *conn, sg_pg_err_t *err)
{
        sg_buf_t sent, failed, why, retry;
        const char *params[3];
        int nsent = 0, nfailed = 0, rc = 0;

        if (ob->nreports == 0)
                return 0;
        sg_buf_init(&sent);
        sg_buf_init(&failed);
        sg_buf_init(&why);
        sg_buf_init(&retry);
        sg_buf_array_begin(&sent);
        sg_buf_array_begin(&failed);
        sg_buf_array_begin(&why);
        sg_buf_array_begin(&retry);
        for (int i = 0; i < ob->nreports; i++) {
                const sg_outbox_report_t *r = &ob->reports[i];
                if (r->delivered) {
                        sg_buf_array_int(&sent, r->id);
                        nsent++;
                } else {
                        sg_buf_array_int(&failed, r->id);
                        sg_buf_array_str(&why, r->why);
                        sg_buf_array_int(&retry, r->retry_ms);
                        nfailed++;
                }
        }
        sg_buf_array_end(&sent);
        sg_buf_array_end(&failed);
        sg_buf_array_end(&why);
        sg_buf_array_end(&retry);
        /* One transaction: both or neither (the reports are kept). */
        if (sg_pg_begin(conn, err) < 0)
                goto out_fail;
        params[0] = sent.data;
        if (nsent &&
            sg_pg_command(conn,
                          "UPDATE outbox SET sent_at = clock_timestamp(), "
                          "leased_until = NULL, attempts = attempts + 1 "
                          "WHERE id = ANY ($1::bigint[]) AND sent_at IS NULL",
                          1, params, "recording sent outbox rows", NULL,
                          err) < 0)
                goto out_fail;
        params[0] = failed.data;
        params[1] = why.data;
        params[2] = retry.data;
        if (nfailed &&
            sg_pg_command(conn,
                          "UPDATE outbox o SET attempts = o.attempts + 1, "
                          "last_error = f.why, leased_until = CASE WHEN "
                          "f.ms > 0 THEN clock_timestamp() + make_interval("
                          "secs => f.ms / 1000.0) END "
                          "FROM unnest($1::bigint[], $2::text[], $3::int[]) "
                          "AS f(id, why, ms) "
                          "WHERE o.id = f.id AND o.sent_at IS NULL",
                          3, params, "releasing unsent outbox rows", NULL,
                          err) < 0)
                goto out_fail;
        if (sg_pg_commit(conn, err) < 0)
                goto out_fail;
        ob->nreports = 0;
        goto out;
out_fail:
        sg_pg_rollback(conn);
        rc = -1;
out:
        sg_buf_fini(&sent);
        sg_buf_fini(&failed);
        sg_buf_fini(&why);
        sg_buf_fini(&retry);
        return rc;
}

int sg_outbox_unrecorded(const sg_outbox_t *ob)
{
        return ob->nreports;
}

int sg_outbox_inflight(const sg_outbox_t *ob)
{
        return ob->inflight;
}

const sg_outbox_stats_t *sg_outbox_stats(const sg_outbox_t *ob)
{
        return &ob->stats;
}

void sg_outbox_drain(sg_outbox_t *ob, int timeout_ms)
{
        ob->ops->drain(ob->sender, timeout_ms);
        ob->inflight = 0;
        /* A row not fully reported (its sender lost a report): not
         * recorded, sent again after its lease. */
        ob->ngroups = 0;
}

int sg_outbox_backlog(PGconn *conn, const char *channel, long long *unsent,
                      sg_pg_err_t *err)
{
        const char *params[1] = {channel};
        PGresult *res = sg_pg_query(conn,
                                    "SELECT coalesce(sum(messages), 0) "
                                    "FROM outbox "
                                    "WHERE channel = $1 AND sent_at IS NULL",
                                    1, params, 1, "counting the outbox", err);

        if (!res)
                return -1;
        *unsent = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        return 0;
}
