#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_signal.h"
#include "sg_time.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *sg_kafka_broker_file(char *buf, size_t size)
{
        const char *env = getenv("SG_BROKER_FILE");

        if (env && *env)
                snprintf(buf, size, "%s", env);
        else
                snprintf(buf, size, "/tmp/sg-broker-%u.addr",
                         (unsigned)getuid());
        return buf;
}

int sg_kafka_brokers(const sg_cli_common_t *c, char *out, size_t size,
                     bool *embedded, char *errstr, size_t errstr_size)
{
        const char *env = getenv("KAFKA_BOOTSTRAP_SERVERS");
        char path[512];
        FILE *fp;
        size_t n;

        *embedded = false;
        if (c->brokers && *c->brokers) {
                snprintf(out, size, "%s", c->brokers);
                return 0;
        }
        if (env && *env) {
                snprintf(out, size, "%s", env);
                return 0;
        }
        sg_kafka_broker_file(path, sizeof(path));
        fp = fopen(path, "r");
        if (!fp) {
                snprintf(errstr, errstr_size,
                         "no Kafka brokers given: pass --brokers, set "
                         "KAFKA_BOOTSTRAP_SERVERS, or start sg-broker (it "
                         "writes %s)", path);
                return -1;
        }
        n = fread(out, 1, size - 1, fp);
        fclose(fp);
        out[n] = '\0';
        /* sg-broker writes a run id beside its address; scripts/kafka.sh
         * (a real Apache Kafka) writes its version instead. */
        *embedded = strstr(out, "\nrun_id=") != NULL;
        out[strcspn(out, "\r\n")] = '\0';
        if (!*out) {
                snprintf(errstr, errstr_size, "broker file %s is empty", path);
                return -1;
        }
        return 0;
}

int sg_kafka_embedded_run_id(char *out, size_t size)
{
        char path[512], line[256];
        FILE *fp = fopen(sg_kafka_broker_file(path, sizeof(path)), "r");
        int rc = -1;

        if (!fp)
                return -1;
        while (fgets(line, sizeof(line), fp)) {
                line[strcspn(line, "\r\n")] = '\0';
                if (strncmp(line, "run_id=", 7) == 0 && line[7]) {
                        snprintf(out, size, "%s", line + 7);
                        rc = 0;
                        break;
                }
        }
        fclose(fp);
        return rc;
}

static void sg_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac,
                            const char *buf)
{
        (void)rk;
        /* A fatal error is reported once, by the error callback. */
        if (strcmp(fac, "FATAL") == 0)
                return;
        /* syslog levels: 0-3 error, 4 warning, 5-6 info, 7 debug */
        sg_log(level <= 3 ? SG_LOG_ERROR : level == 4 ? SG_LOG_WARN
                                       : level <= 6 ? SG_LOG_INFO
                                                    : SG_LOG_DEBUG,
               "kafka fac=%s msg=\"%s\"", fac, buf);
}

/* Broker outages, as this process sees them. librdkafka's thread reports
 * transport errors and ALL_BROKERS_DOWN (error_cb); ours confirms with a
 * metadata probe (sg_kafka_watch). ALL_BROKERS_DOWN alone is not enough:
 * librdkafka raises it only when every broker handle is DOWN at the same
 * moment, and a handle that is backing off or was never connected (a
 * bootstrap entry) is not, so an outage can pass without it. One client
 * per process is the rule here, so the state is the process's. */
static _Atomic long long sg_kafka_suspect_since_ms; /* 0: nothing seen */
static _Atomic bool sg_kafka_all_down;              /* librdkafka said so */
static bool sg_kafka_down;                          /* confirmed, ours */
static long long sg_kafka_last_probe_ms;

void sg_kafka_watch(rd_kafka_t *rk)
{
        const struct rd_kafka_metadata *md = NULL;
        long long since = sg_kafka_suspect_since_ms;
        long long now;

        if (since == 0)
                return;
        now = sg_time_mono_ms();
        if (now - sg_kafka_last_probe_ms < 1000)
                return;
        sg_kafka_last_probe_ms = now;
        if (rd_kafka_metadata(rk, 0, NULL, &md, 200) !=
            RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (!sg_kafka_down && !sg_kafka_all_down)
                        sg_warn("kafka brokers unreachable (no broker answers "
                                "metadata); librdkafka keeps retrying");
                sg_kafka_down = true;
                return;
        }
        rd_kafka_metadata_destroy(md);
        if (sg_kafka_down || sg_kafka_all_down)
                sg_info("kafka reachable again after %.1f s",
                        (double)(now - since) / 1000.0);
        sg_kafka_down = false;
        sg_kafka_all_down = false;
        sg_kafka_suspect_since_ms = 0;
}

static void sg_kafka_suspect(void)
{
        long long expected = 0;
        long long now = sg_time_mono_ms();

        atomic_compare_exchange_strong(&sg_kafka_suspect_since_ms, &expected,
                                       now ? now : 1);
}

static void sg_kafka_error_cb(rd_kafka_t *rk, int err, const char *reason,
                              void *opaque)
{
        (void)opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char fatal[256];
                rd_kafka_resp_err_t ferr =
                    rd_kafka_fatal_error(rk, fatal, sizeof(fatal));
                sg_error("kafka fatal error err=%s reason=\"%s\"",
                         rd_kafka_err2name(ferr), fatal);
                return;
        }
        /* Informational: librdkafka retries by itself. */
        if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
                sg_kafka_suspect();
                sg_kafka_all_down = true;
                sg_warn("kafka brokers unreachable; librdkafka keeps "
                        "retrying reason=\"%s\"", reason);
        }
        else {
                if (err == RD_KAFKA_RESP_ERR__TRANSPORT ||
                    err == RD_KAFKA_RESP_ERR__RESOLVE)
                        sg_kafka_suspect();
                sg_warn("kafka err=%s reason=\"%s\"",
                        rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
        }
}

static int sg_kafka_set(rd_kafka_conf_t *conf, const char *k, const char *v,
                        char *errstr, size_t errstr_size)
{
        char e[256];

        if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK) {
                snprintf(errstr, errstr_size, "kafka property %s: %s", k, e);
                return -1;
        }
        return 0;
}

rd_kafka_conf_t *sg_kafka_conf_new(const sg_cli_common_t *c,
                                   const char *const *defaults,
                                   bool *embedded, char *errstr,
                                   size_t errstr_size)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char brokers[1024];
        bool emb = false;

        if (sg_kafka_brokers(c, brokers, sizeof(brokers), &emb, errstr,
                             errstr_size) < 0)
                goto fail;
        if (sg_kafka_set(conf, "bootstrap.servers", brokers, errstr,
                         errstr_size) < 0)
                goto fail;
        rd_kafka_conf_set_log_cb(conf, sg_kafka_log_cb);
        rd_kafka_conf_set_error_cb(conf, sg_kafka_error_cb);
        for (; defaults && defaults[0]; defaults += 2)
                if (sg_kafka_set(conf, defaults[0], defaults[1], errstr,
                                 errstr_size) < 0)
                        goto fail;
        for (int i = 0; i < c->nprops; i++)
                if (sg_kafka_set(conf, c->prop_keys[i], c->prop_values[i],
                                 errstr, errstr_size) < 0)
                        goto fail;
        if (embedded)
                *embedded = emb;
        return conf;
fail:
        rd_kafka_conf_destroy(conf);
        return NULL;
}

void sg_kafka_purge(rd_kafka_t *rk)
{
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_flush(rk, 1000);
}
