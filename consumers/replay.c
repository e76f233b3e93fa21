/* consumers/replay.h: librdkafka's simple consumer (consume_start, then
 * consume_batch) on one partition at a time, no group. */

#include "replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "sg_defs.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_pg.h"
#include "sg_time.h"

#define BATCH 10000

struct sg_replay {
        const sg_cli_common_t *common;
        rd_kafka_t *rk;
        rd_kafka_message_t **msgs;
};

void sg_replay_msg(sg_msg_t *msg, const char *topic,
                   const rd_kafka_message_t *m)
{
        rd_kafka_timestamp_type_t tstype;

        msg->topic = topic;
        msg->partition = m->partition;
        msg->offset = m->offset;
        msg->key = m->key;
        msg->key_len = m->key_len;
        msg->value = m->payload;
        msg->value_len = m->len;
        msg->timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
}

sg_replay_t *sg_replay_new(const sg_cli_common_t *common)
{
        sg_replay_t *r = sg_xcalloc(1, sizeof(*r));

        r->common = common;
        return r;
}

void sg_replay_destroy(sg_replay_t *r)
{
        if (!r)
                return;
        if (r->rk)
                rd_kafka_destroy(r->rk);
        free(r->msgs);
        free(r);
}

static int sg_replay_open(sg_replay_t *r, sg_pg_err_t *err)
{
        static const char *const defaults[] = {
            "enable.partition.eof", "true",
            "enable.auto.commit", "false",
            "auto.offset.reset", "earliest",
            "fetch.wait.max.ms", "100",
            "queued.max.messages.kbytes", "65536",
            "fetch.max.bytes", "8388608",
            NULL};
        char errstr[512];
        bool embedded = false;
        rd_kafka_conf_t *conf;

        if (r->rk)
                return 0;
        conf = sg_kafka_conf_new(r->common, defaults, &embedded, errstr,
                                 sizeof(errstr));
        if (!conf) {
                sg_pg_err_fmt(err, false, "replay consumer: %s", errstr);
                return -1;
        }
        r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (!r->rk) {
                rd_kafka_conf_destroy(conf);
                sg_pg_err_fmt(err, false, "replay consumer: %s", errstr);
                return -1;
        }
        if (!r->msgs)
                r->msgs = sg_xcalloc(BATCH, sizeof(*r->msgs));
        return 0;
}

int sg_replay_read(sg_replay_t *r, const char *topic, int32_t partition,
                   int64_t from, int64_t to, int timeout_ms,
                   int (*fn)(void *arg, const sg_msg_t *msg), void *arg,
                   long long *read, sg_pg_err_t *err)
{
        rd_kafka_topic_t *rkt;
        long long last_ms = sg_time_mono_ms();
        int64_t next = from;
        int rc = 0;
        bool done = false;

        *read = 0;
        if (from >= to)
                return 0;
        if (sg_replay_open(r, err) < 0)
                return -1;
        rkt = rd_kafka_topic_new(r->rk, topic, NULL);
        if (!rkt) {
                sg_pg_err_fmt(err, false, "replay: topic %s: %s", topic,
                              rd_kafka_err2str(rd_kafka_last_error()));
                return -1;
        }
        if (rd_kafka_consume_start(rkt, partition, from) < 0) {
                sg_pg_err_fmt(err, true, "replay: cannot read partition %d: %s",
                              partition,
                              rd_kafka_err2str(rd_kafka_last_error()));
                rd_kafka_topic_destroy(rkt);
                return -1;
        }
        while (!done && rc == 0) {
                ssize_t n = rd_kafka_consume_batch(rkt, partition, 200, r->msgs,
                                                   BATCH);
                long long now = sg_time_mono_ms();

                if (n < 0) {
                        sg_pg_err_fmt(err, true, "replay: partition %d: %s",
                                      partition,
                                      rd_kafka_err2str(rd_kafka_last_error()));
                        rc = -1;
                        break;
                }
                if (n == 0 && now - last_ms > timeout_ms) {
                        sg_pg_err_fmt(err, true,
                                      "replay: partition %d: nothing from the "
                                      "broker for %d ms (at offset %" PRId64
                                      ", reading up to %" PRId64 ")",
                                      partition, timeout_ms, next, to);
                        rc = -1;
                        break;
                }
                for (ssize_t i = 0; i < n; i++) {
                        rd_kafka_message_t *m = r->msgs[i];
                        sg_msg_t msg;

                        if (done || rc != 0) {
                                rd_kafka_message_destroy(m);
                                continue;
                        }
                        last_ms = now;
                        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                                /* The log ends before to: the rest was
                                 * never there (or is gone). */
                                if (m->offset < to)
                                        sg_warn("replay: partition %d ends "
                                                "at %" PRId64 ", before %" PRId64,
                                                partition, m->offset, to);
                                done = true;
                        } else if (m->err) {
                                sg_warn("replay: partition %d: %s", partition,
                                        rd_kafka_message_errstr(m));
                                if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET ||
                                    m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE)
                                        continue; /* continues from the log start */
                                sg_pg_err_fmt(err, true, "replay: partition %d: %s",
                                              partition, rd_kafka_err2str(m->err));
                                rc = -1;
                        } else if (m->offset >= to) {
                                done = true;
                        } else {
                                if (m->offset > next)
                                        sg_warn("replay: partition %d: offsets "
                                                "%" PRId64 "-%" PRId64 " are no "
                                                "longer in the log",
                                                partition, next, m->offset - 1);
                                next = m->offset + 1;
                                sg_replay_msg(&msg, topic, m);
                                rc = fn(arg, &msg);
                                (*read)++;
                                if (next >= to)
                                        done = true;
                        }
                        rd_kafka_message_destroy(m);
                }
        }
        rd_kafka_consume_stop(rkt, partition);
        rd_kafka_topic_destroy(rkt);
        return rc;
}
