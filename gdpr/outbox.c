#include "outbox.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_signal.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

/* Producer defaults; -X properties win. A bounded message timeout makes
 * an unreachable broker show up as failed deliveries (and the notices go
 * back to the outbox) instead of waiting librdkafka's default 5 minutes. */
#define SG_OUTBOX_TIMEOUT_MS "30000"
#define SG_OUTBOX_LEASE_MARGIN_S 10
#define SG_OUTBOX_RECREATE_MS 5000
/* After a fatal producer error the next producer waits 1 s, doubling up
 * to 5 minutes while they keep failing: a broker that cannot serve an
 * idempotent producer (Kafka < 0.11) fails every new one at once. */
#define SG_OUTBOX_FATAL_BACKOFF_MS 1000
#define SG_OUTBOX_FATAL_BACKOFF_MAX_MS 300000

struct sg_outbox {
        const sg_cli_common_t *common;
        char *topic;
        char *appname;
        char brokers[512];
        rd_kafka_t *rk;
        int lease_s;
        long long recreate_at_ms; /* producer lost: try again then */
        sg_notice_track_t track;
        sg_notice_ids_t delivered;
        sg_notice_ids_t failed;
        sg_outbox_stats_t stats;
        bool failing; /* the last delivery report was a failure */
        int fatal_streak; /* fatal errors since the last delivery */
};

/* Delivery report, served by rd_kafka_poll/flush in our own thread. */
static void sg_outbox_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                            void *opaque)
{
        sg_outbox_t *ob = opaque;
        long long id = (long long)(intptr_t)rkm->_private;
        bool all_ok = false;

        (void)rk;
        if (rkm->err) {
                ob->stats.failed++;
                if (!ob->failing)
                        sg_warn("erasure notice not delivered err=%s "
                                "request_id=%lld: notices stay pending in "
                                "the outbox and are sent again",
                                rd_kafka_err2name(rkm->err), id);
                ob->failing = true;
        } else {
                ob->stats.delivered++;
                ob->fatal_streak = 0;
                if (ob->failing)
                        sg_info("erasure notices are delivered again "
                                "request_id=%lld",
                                id);
                ob->failing = false;
        }
        if (sg_notice_track_done(&ob->track, id, !rkm->err, &all_ok) == 1)
                sg_notice_ids_add(all_ok ? &ob->delivered : &ob->failed, id);
}

/* Creates the producer. Returns 0, or -1 with errstr (*no_broker set when
 * none is configured). */
static int sg_outbox_connect(sg_outbox_t *ob, bool *no_broker, char *errstr,
                             size_t errstr_size)
{
        /* key, value pairs */
        const char *const defaults[] = {
            "client.id",
            ob->appname,
            "enable.idempotence",
            "true",
            "linger.ms",
            "5",
            "message.timeout.ms",
            SG_OUTBOX_TIMEOUT_MS,
            NULL,
        };
        rd_kafka_conf_t *conf;
        char probe[512], timeout[32];
        size_t len = sizeof(timeout);
        bool embedded = false;

        *no_broker = false;
        if (sg_kafka_brokers(ob->common, probe, sizeof(probe), &embedded,
                             errstr, errstr_size) < 0) {
                *no_broker = true;
                return -1;
        }
        conf = sg_kafka_conf_new(ob->common, defaults, &embedded, errstr,
                                 errstr_size);
        if (!conf)
                return -1;
        len = sizeof(ob->brokers);
        if (rd_kafka_conf_get(conf, "bootstrap.servers", ob->brokers, &len) !=
            RD_KAFKA_CONF_OK)
                snprintf(ob->brokers, sizeof(ob->brokers), "?");
        /* A notice is reported within message.timeout.ms, except one
         * whose request is in flight to a broker that does not answer: that
         * one waits for socket.timeout.ms as well. */
        ob->lease_s = SG_OUTBOX_LEASE_MARGIN_S;
        len = sizeof(timeout);
        ob->lease_s += rd_kafka_conf_get(conf, "message.timeout.ms", timeout,
                                         &len) == RD_KAFKA_CONF_OK
                           ? atoi(timeout) / 1000 + 1
                           : 300;
        len = sizeof(timeout);
        ob->lease_s += rd_kafka_conf_get(conf, "socket.timeout.ms", timeout,
                                         &len) == RD_KAFKA_CONF_OK
                           ? atoi(timeout) / 1000 + 1
                           : 60;
        rd_kafka_conf_set_dr_msg_cb(conf, sg_outbox_dr_cb);
        rd_kafka_conf_set_opaque(conf, ob);
        ob->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (!ob->rk) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        /* conf is owned by rk now */
        return 0;
}

sg_outbox_t *sg_outbox_new(const sg_cli_common_t *c, const char *topic,
                           const char *appname, bool *no_broker, char *errstr,
                           size_t errstr_size)
{
        sg_outbox_t *ob = calloc(1, sizeof(*ob));

        *no_broker = false;
        if (!ob) {
                snprintf(errstr, errstr_size, "out of memory");
                return NULL;
        }
        ob->common = c;
        ob->topic = strdup(topic);
        ob->appname = strdup(appname);
        if (!ob->topic || !ob->appname) {
                snprintf(errstr, errstr_size, "out of memory");
                sg_outbox_destroy(ob);
                return NULL;
        }
        if (sg_outbox_connect(ob, no_broker, errstr, errstr_size) < 0) {
                sg_outbox_destroy(ob);
                return NULL;
        }
        return ob;
}

int sg_outbox_lease_s(const sg_outbox_t *ob)
{
        return ob->lease_s;
}

const char *sg_outbox_brokers(const sg_outbox_t *ob)
{
        return ob->brokers;
}

/* Every request still tracked goes to the not-delivered list. */
static void sg_outbox_fail_all(sg_outbox_t *ob)
{
        for (int i = 0; i < ob->track.n; i++)
                sg_notice_ids_add(&ob->failed, ob->track.v[i].request_id);
        ob->track.n = 0;
}

/* Queues the notices v[0..n) of one request. */
static int sg_outbox_send_request(sg_outbox_t *ob, const sg_notice_t *v, int n)
{
        long long id = v[0].request_id;
        bool all_ok = false;
        int queued = 0;

        if (sg_notice_track_has(&ob->track, id))
                return 0; /* in flight already: its report will come */
        if (!ob->rk) {
                sg_notice_ids_add(&ob->failed, id);
                return 0;
        }
        sg_notice_track_add(&ob->track, id, n);
        for (int i = 0; i < n; i++) {
                char buf[256];
                int len = sg_notice_format(&v[i], buf, sizeof(buf));
                rd_kafka_resp_err_t err;

                if (len < 0) {
                        err = RD_KAFKA_RESP_ERR__INVALID_ARG;
                } else {
                        err = rd_kafka_producev(
                            ob->rk, RD_KAFKA_V_TOPIC(ob->topic),
                            RD_KAFKA_V_KEY(v[i].user_id, SG_NOTICE_UUID_LEN),
                            RD_KAFKA_V_VALUE(buf, (size_t)len),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                            RD_KAFKA_V_OPAQUE((void *)(intptr_t)id),
                            RD_KAFKA_V_END);
                }
                if (!err) {
                        queued++;
                        ob->stats.queued++;
                        continue;
                }
                ob->stats.failed++;
                if (!ob->failing)
                        sg_warn("erasure notice not queued err=%s "
                                "request_id=%lld: kept pending",
                                rd_kafka_err2name(err), id);
                ob->failing = true;
                if (sg_notice_track_done(&ob->track, id, false, &all_ok) == 1)
                        sg_notice_ids_add(&ob->failed, id);
        }
        return queued;
}

int sg_outbox_send(sg_outbox_t *ob, const sg_notice_list_t *list)
{
        int queued = 0;

        for (int i = 0; i < list->n;) {
                int j = i + 1;
                while (j < list->n &&
                       list->v[j].request_id == list->v[i].request_id)
                        j++;
                queued += sg_outbox_send_request(ob, &list->v[i], j - i);
                i = j;
        }
        return queued;
}

/* Replaces a producer that failed fatally (idempotence state lost): its
 * queued notices are reported not delivered and go back to the outbox. */
static void sg_outbox_recover(sg_outbox_t *ob)
{
        char errstr[512];
        bool no_broker = false;
        long long now = sg_now_ms();

        if (ob->rk) {
                long long delay = SG_OUTBOX_FATAL_BACKOFF_MS;
                if (!rd_kafka_fatal_error(ob->rk, errstr, sizeof(errstr)))
                        return;
                for (int i = 0; i < ob->fatal_streak &&
                                delay < SG_OUTBOX_FATAL_BACKOFF_MAX_MS;
                     i++)
                        delay *= 2;
                if (delay > SG_OUTBOX_FATAL_BACKOFF_MAX_MS)
                        delay = SG_OUTBOX_FATAL_BACKOFF_MAX_MS;
                ob->fatal_streak++;
                sg_error("kafka producer failed fatally reason=\"%s\": "
                         "a new one in %lld ms; its notices stay pending",
                         errstr, delay);
                rd_kafka_purge(ob->rk, RD_KAFKA_PURGE_F_QUEUE |
                                           RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_flush(ob->rk, 1000);
                rd_kafka_destroy(ob->rk);
                ob->rk = NULL;
                sg_outbox_fail_all(ob);
                ob->recreate_at_ms = now + delay;
        }
        if (now < ob->recreate_at_ms)
                return;
        if (sg_outbox_connect(ob, &no_broker, errstr, sizeof(errstr)) < 0) {
                sg_warn("cannot create the kafka producer, retrying in "
                        "%d ms reason=\"%s\"",
                        SG_OUTBOX_RECREATE_MS, errstr);
                ob->recreate_at_ms = now + SG_OUTBOX_RECREATE_MS;
                return;
        }
        sg_info("kafka producer replaced brokers=%s", ob->brokers);
}

void sg_outbox_poll(sg_outbox_t *ob, int timeout_ms)
{
        if (ob->rk) {
                rd_kafka_poll(ob->rk, timeout_ms);
                sg_kafka_watch(ob->rk);
        }
        if (!ob->rk || rd_kafka_fatal_error(ob->rk, NULL, 0))
                sg_outbox_recover(ob);
}

sg_notice_ids_t *sg_outbox_delivered(sg_outbox_t *ob)
{
        return &ob->delivered;
}

sg_notice_ids_t *sg_outbox_failed(sg_outbox_t *ob)
{
        return &ob->failed;
}

int sg_outbox_inflight(const sg_outbox_t *ob)
{
        return sg_notice_track_count(&ob->track);
}

const sg_outbox_stats_t *sg_outbox_stats(const sg_outbox_t *ob)
{
        return &ob->stats;
}

void sg_outbox_drain(sg_outbox_t *ob, int timeout_ms)
{
        if (!ob->rk) {
                sg_outbox_fail_all(ob);
                return;
        }
        if (rd_kafka_flush(ob->rk, timeout_ms) ==
            RD_KAFKA_RESP_ERR__TIMED_OUT) {
                sg_warn("erasure notices not delivered within %d ms "
                        "requests=%d: they stay pending in the outbox",
                        timeout_ms, sg_notice_track_count(&ob->track));
                rd_kafka_purge(ob->rk, RD_KAFKA_PURGE_F_QUEUE |
                                           RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_flush(ob->rk, 1000); /* serve the purge reports */
        }
        sg_outbox_fail_all(ob);
}

void sg_outbox_destroy(sg_outbox_t *ob)
{
        if (!ob)
                return;
        if (ob->rk)
                rd_kafka_destroy(ob->rk);
        sg_notice_track_fini(&ob->track);
        sg_notice_ids_fini(&ob->delivered);
        sg_notice_ids_fini(&ob->failed);
        free(ob->topic);
        free(ob->appname);
        free(ob);
}
