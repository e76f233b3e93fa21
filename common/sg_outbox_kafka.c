#include "sg_outbox_kafka.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_signal.h"
#include "sg_time.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

/* Producer defaults; -X properties win. A bounded message timeout makes an
 * unreachable broker show up as failed deliveries (and the rows go back to
 * the outbox) instead of waiting librdkafka's default 5 minutes. */
#define SG_OUTBOX_KAFKA_TIMEOUT_MS "30000"
#define SG_OUTBOX_KAFKA_LEASE_MARGIN_S 10
#define SG_OUTBOX_KAFKA_RECREATE_MS 5000
/* After a fatal producer error the next producer waits 1 s, doubling up
 * to 5 minutes while they keep failing: a broker that cannot serve an
 * idempotent producer (Kafka < 0.11) fails every new one at once. */
#define SG_OUTBOX_KAFKA_FATAL_FIRST_MS 1000
#define SG_OUTBOX_KAFKA_FATAL_MAX_MS 300000

struct sg_outbox_kafka {
        const sg_cli_common_t *common;
        char *topic;
        char *appname;
        char brokers[512];
        rd_kafka_t *rk;
        sg_outbox_t *ob;
        int lease_s;
        long long recreate_at_ms; /* producer lost: try again then */
        sg_backoff_t fatal_backoff; /* reset by a delivery */
        bool failing;             /* the last report was a failure */
};

/* Delivery report, served by rd_kafka_poll/flush in our own thread. */
static void sg_outbox_kafka_dr(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                               void *opaque)
{
        sg_outbox_kafka_t *k = opaque;
        long long id = (long long)(intptr_t)rkm->_private;

        (void)rk;
        if (rkm->err) {
                if (!k->failing)
                        sg_warn("message not delivered err=%s outbox_id=%lld "
                                "topic=%s: it stays in the outbox and is sent "
                                "again",
                                rd_kafka_err2name(rkm->err), id, k->topic);
                k->failing = true;
        } else {
                if (k->failing)
                        sg_info("messages are delivered again outbox_id=%lld "
                                "topic=%s",
                                id, k->topic);
                k->failing = false;
                sg_backoff_reset(&k->fatal_backoff);
        }
        if (k->ob)
                sg_outbox_done(k->ob, id, !rkm->err,
                               rkm->err ? rd_kafka_err2name(rkm->err) : NULL, 0);
}

/* Creates the producer. Returns 0, or -1 with errstr (*no_broker set when
 * none is configured). */
static int sg_outbox_kafka_connect(sg_outbox_kafka_t *k, bool *no_broker,
                                   char *errstr, size_t errstr_size)
{
        const char *const defaults[] = {
            "client.id", k->appname,
            "enable.idempotence", "true",
            "linger.ms", "5",
            "message.timeout.ms", SG_OUTBOX_KAFKA_TIMEOUT_MS,
            NULL,
        };
        rd_kafka_conf_t *conf;
        char probe[512], timeout[32];
        size_t len;
        bool embedded = false;

        *no_broker = false;
        if (sg_kafka_brokers(k->common, probe, sizeof(probe), &embedded,
                             errstr, errstr_size) < 0) {
                *no_broker = true;
                return -1;
        }
        conf = sg_kafka_conf_new(k->common, defaults, &embedded, errstr,
                                 errstr_size);
        if (!conf)
                return -1;
        len = sizeof(k->brokers);
        if (rd_kafka_conf_get(conf, "bootstrap.servers", k->brokers, &len) !=
            RD_KAFKA_CONF_OK)
                snprintf(k->brokers, sizeof(k->brokers), "?");
        /* A message is reported within message.timeout.ms, except one in
         * flight to a broker that does not answer: that one waits for
         * socket.timeout.ms as well. */
        k->lease_s = SG_OUTBOX_KAFKA_LEASE_MARGIN_S;
        len = sizeof(timeout);
        k->lease_s += rd_kafka_conf_get(conf, "message.timeout.ms", timeout,
                                        &len) == RD_KAFKA_CONF_OK
                          ? atoi(timeout) / 1000 + 1
                          : 300;
        len = sizeof(timeout);
        k->lease_s += rd_kafka_conf_get(conf, "socket.timeout.ms", timeout,
                                        &len) == RD_KAFKA_CONF_OK
                          ? atoi(timeout) / 1000 + 1
                          : 60;
        rd_kafka_conf_set_dr_msg_cb(conf, sg_outbox_kafka_dr);
        rd_kafka_conf_set_opaque(conf, k);
        k->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
        if (!k->rk) {
                rd_kafka_conf_destroy(conf);
                return -1;
        }
        /* conf is owned by rk now */
        return 0;
}

sg_outbox_kafka_t *sg_outbox_kafka_new(const sg_cli_common_t *c,
                                       const char *topic, const char *appname,
                                       bool *no_broker, char *errstr,
                                       size_t errstr_size)
{
        sg_outbox_kafka_t *k = sg_xcalloc(1, sizeof(*k));

        k->common = c;
        sg_backoff_init(&k->fatal_backoff, SG_OUTBOX_KAFKA_FATAL_FIRST_MS,
                        SG_OUTBOX_KAFKA_FATAL_MAX_MS);
        k->topic = sg_xstrdup(topic);
        k->appname = sg_xstrdup(appname);
        if (sg_outbox_kafka_connect(k, no_broker, errstr, errstr_size) < 0) {
                sg_outbox_kafka_destroy(k);
                return NULL;
        }
        return k;
}

void sg_outbox_kafka_attach(sg_outbox_kafka_t *k, sg_outbox_t *ob)
{
        k->ob = ob;
}

int sg_outbox_kafka_lease_s(const sg_outbox_kafka_t *k)
{
        return k->lease_s;
}

const char *sg_outbox_kafka_brokers(const sg_outbox_kafka_t *k)
{
        return k->brokers;
}

static int sg_outbox_kafka_send(void *sender, const sg_outbox_msg_t *msg,
                                char *why, size_t why_size)
{
        sg_outbox_kafka_t *k = sender;
        rd_kafka_resp_err_t err;

        if (!k->rk) {
                snprintf(why, why_size, "no producer");
                return -1;
        }
        err = rd_kafka_producev(
            k->rk, RD_KAFKA_V_TOPIC(k->topic),
            RD_KAFKA_V_KEY(msg->key, msg->key_len),
            RD_KAFKA_V_VALUE((void *)msg->payload, msg->payload_len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_OPAQUE((void *)(intptr_t)msg->id), RD_KAFKA_V_END);
        if (err) {
                if (!k->failing)
                        sg_warn("message not queued err=%s outbox_id=%lld: "
                                "kept in the outbox",
                                rd_kafka_err2name(err), msg->id);
                k->failing = true;
                snprintf(why, why_size, "%s", rd_kafka_err2name(err));
                return -1;
        }
        return 0;
}

/* Replaces a producer that failed fatally: its queued messages are
 * reported failed (purged) and go back to the outbox. */
static void sg_outbox_kafka_recover(sg_outbox_kafka_t *k)
{
        char errstr[512];
        bool no_broker = false;
        long long now = sg_time_mono_ms();

        if (k->rk) {
                long long delay;

                if (!rd_kafka_fatal_error(k->rk, errstr, sizeof(errstr)))
                        return;
                delay = sg_backoff_next(&k->fatal_backoff);
                sg_error("kafka producer failed fatally reason=\"%s\": a new "
                         "one in %lld ms; its messages stay in the outbox",
                         errstr, delay);
                sg_kafka_purge(k->rk);
                rd_kafka_destroy(k->rk);
                k->rk = NULL;
                k->recreate_at_ms = now + delay;
        }
        if (now < k->recreate_at_ms)
                return;
        if (sg_outbox_kafka_connect(k, &no_broker, errstr, sizeof(errstr)) < 0) {
                sg_warn("cannot create the kafka producer, retrying in %d ms "
                        "reason=\"%s\"",
                        SG_OUTBOX_KAFKA_RECREATE_MS, errstr);
                k->recreate_at_ms = now + SG_OUTBOX_KAFKA_RECREATE_MS;
                return;
        }
        sg_info("kafka producer replaced brokers=%s", k->brokers);
}

static void sg_outbox_kafka_poll(void *sender, int timeout_ms)
{
        sg_outbox_kafka_t *k = sender;

        if (k->rk) {
                rd_kafka_poll(k->rk, timeout_ms);
                sg_kafka_watch(k->rk);
        }
        if (!k->rk || rd_kafka_fatal_error(k->rk, NULL, 0))
                sg_outbox_kafka_recover(k);
}

static void sg_outbox_kafka_drain(void *sender, int timeout_ms)
{
        sg_outbox_kafka_t *k = sender;

        if (!k->rk)
                return;
        if (rd_kafka_flush(k->rk, timeout_ms) == RD_KAFKA_RESP_ERR__TIMED_OUT) {
                sg_warn("messages not delivered within %d ms in_flight=%d: "
                        "they stay in the outbox",
                        timeout_ms, rd_kafka_outq_len(k->rk));
                sg_kafka_purge(k->rk);
        }
}

void sg_outbox_kafka_destroy(sg_outbox_kafka_t *k)
{
        if (!k)
                return;
        if (k->rk)
                rd_kafka_destroy(k->rk);
        free(k->topic);
        free(k->appname);
        free(k);
}

const sg_outbox_sender_ops_t sg_outbox_kafka_ops = {
    .send = sg_outbox_kafka_send,
    .poll = sg_outbox_kafka_poll,
    .drain = sg_outbox_kafka_drain,
};
