/* sg-topics: the few topic operations StreamGuard needs on any Kafka
 * (scripts/kafka.sh, the tests, an operator), over librdkafka's Admin API:
 * wait until the cluster answers, create topics with their partition count
 * and configuration, grow a topic's partitions, describe topics. Kafka's
 * own TopicCommand lives in kafka-tools, which drags in all of Connect. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "sg_cli.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_signal.h"

#define PROG "sg-topics"
#define MAX_CONFIGS 32

enum { OPT_PARTITIONS = 1, OPT_REPLICATION, OPT_CONFIG, OPT_TIMEOUT };

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [options] COMMAND [ARGS]\n"
                "Topic administration over the Kafka Admin API.\n\n"
                "Commands:\n"
                "  wait                 wait until a metadata request "
                "succeeds; print the\n"
                "                       cluster id and the broker count\n"
                "  create NAME...       create the topics that do not exist "
                "yet (an existing\n"
                "                       topic is left as it is and "
                "described)\n"
                "  grow NAME N          raise NAME's partition count to N "
                "(no-op if it has N)\n"
                "  describe NAME...     print 'NAME PARTITIONS' per topic "
                "(exit 1 if one is missing)\n\n"
                "Options:\n"
                "  --partitions N       partitions of created topics "
                "(default 6)\n"
                "  --replication N      replication factor of created "
                "topics (default 1)\n"
                "  --config KEY=VALUE   topic configuration of created "
                "topics (repeatable),\n"
                "                       e.g. retention.bytes=1048576\n"
                "  --timeout SECONDS    how long to wait for the cluster "
                "(default 30)\n",
                PROG);
        sg_cli_common_usage(fp);
}

typedef struct topics_opts {
        long long partitions;
        long long replication;
        long long timeout_s;
        int nconfigs;
        const char *config[MAX_CONFIGS];
} topics_opts_t;

/* Waits for one admin result event of the given type. Returns the event
 * (caller destroys it) or NULL after logging. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, int type,
                                    int timeout_ms)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 5000);

        if (!ev) {
                sg_error("no answer from the cluster in %d ms", timeout_ms);
                return NULL;
        }
        if (rd_kafka_event_type(ev) != type) {
                sg_error("unexpected admin event %s",
                         rd_kafka_event_name(ev));
                rd_kafka_event_destroy(ev);
                return NULL;
        }
        if (rd_kafka_event_error(ev)) {
                sg_error("admin request failed: %s",
                         rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                return NULL;
        }
        return ev;
}

/* Number of partitions of topic, 0 if it does not exist, -1 when the
 * cluster did not answer. */
static int topic_partitions(rd_kafka_t *rk, const char *topic,
                            int timeout_ms)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        rd_kafka_resp_err_t err;
        int n = -1;

        if (!rkt)
                return -1;
        err = rd_kafka_metadata(rk, 0, rkt, &md, timeout_ms);
        if (err) {
                sg_error("metadata of topic=%s: %s", topic,
                         rd_kafka_err2str(err));
        } else if (md->topic_cnt == 1) {
                rd_kafka_resp_err_t terr = md->topics[0].err;
                if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
                        n = 0;
                else if (terr)
                        sg_error("metadata of topic=%s: %s", topic,
                                 rd_kafka_err2str(terr));
                else
                        n = md->topics[0].partition_cnt;
        }
        if (md)
                rd_kafka_metadata_destroy(md);
        rd_kafka_topic_destroy(rkt);
        return n;
}

/* Polls metadata until the cluster answers or the timeout passes. */
static int cmd_wait(rd_kafka_t *rk, const topics_opts_t *o)
{
        long long deadline = sg_now_ms() + o->timeout_s * 1000;

        while (!sg_stop_requested) {
                const struct rd_kafka_metadata *md = NULL;
                rd_kafka_resp_err_t err =
                    rd_kafka_metadata(rk, 1, NULL, &md, 2000);
                if (!err) {
                        char *id = rd_kafka_clusterid(rk, 2000);
                        printf("cluster %s brokers %d\n", id ? id : "-",
                               md->broker_cnt);
                        if (id)
                                rd_kafka_mem_free(rk, id);
                        rd_kafka_metadata_destroy(md);
                        return 0;
                }
                if (sg_now_ms() >= deadline) {
                        sg_error("the cluster did not answer a metadata "
                                 "request within %llds: %s",
                                 o->timeout_s, rd_kafka_err2str(err));
                        return 1;
                }
                sg_sleep_ms(250);
        }
        return 1;
}

static int cmd_create(rd_kafka_t *rk, const topics_opts_t *o, int n,
                      char **names)
{
        rd_kafka_NewTopic_t *nt[64];
        rd_kafka_queue_t *q = NULL;
        rd_kafka_AdminOptions_t *ao = NULL;
        rd_kafka_event_t *ev = NULL;
        const rd_kafka_topic_result_t **res;
        int timeout_ms = (int)o->timeout_s * 1000;
        char errstr[512];
        size_t cnt = 0;
        int ntopics = 0, rc = 1;

        if (n > 64) {
                sg_error("at most 64 topics at once");
                return 1;
        }
        for (int i = 0; i < n; i++) {
                int have = topic_partitions(rk, names[i], timeout_ms);
                if (have < 0)
                        goto out;
                if (have > 0) {
                        printf("%s %d (exists)\n", names[i], have);
                        continue;
                }
                nt[ntopics] = rd_kafka_NewTopic_new(
                    names[i], (int)o->partitions, (int)o->replication, errstr,
                    sizeof(errstr));
                if (!nt[ntopics]) {
                        sg_error("topic=%s: %s", names[i], errstr);
                        goto out;
                }
                ntopics++;
                for (int k = 0; k < o->nconfigs; k++) {
                        char kv[512];
                        char *eq;
                        snprintf(kv, sizeof(kv), "%s", o->config[k]);
                        eq = strchr(kv, '=');
                        *eq = '\0';
                        if (rd_kafka_NewTopic_set_config(nt[ntopics - 1], kv,
                                                         eq + 1)) {
                                sg_error("topic=%s: bad config %s", names[i],
                                         kv);
                                goto out;
                        }
                }
        }
        if (ntopics == 0) {
                rc = 0;
                goto out;
        }
        q = rd_kafka_queue_new(rk);
        ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
        if (rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, errstr,
                                                      sizeof(errstr)) ||
            rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, errstr,
                                                        sizeof(errstr))) {
                sg_error("admin options: %s", errstr);
                goto out;
        }
        rd_kafka_CreateTopics(rk, nt, (size_t)ntopics, ao, q);
        ev = admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout_ms);
        if (!ev)
                goto out;
        res = rd_kafka_CreateTopics_result_topics(
            rd_kafka_event_CreateTopics_result(ev), &cnt);
        rc = 0;
        for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);
                const char *name = rd_kafka_topic_result_name(res[i]);
                if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                        printf("%s %d (exists)\n", name,
                               topic_partitions(rk, name, timeout_ms));
                } else if (err) {
                        sg_error("cannot create topic=%s: %s", name,
                                 rd_kafka_topic_result_error_string(res[i]));
                        rc = 1;
                } else {
                        printf("%s %lld (created)\n", name, o->partitions);
                }
        }
out:
        if (ev)
                rd_kafka_event_destroy(ev);
        if (ao)
                rd_kafka_AdminOptions_destroy(ao);
        if (q)
                rd_kafka_queue_destroy(q);
        for (int i = 0; i < ntopics; i++)
                rd_kafka_NewTopic_destroy(nt[i]);
        return rc;
}

static int cmd_grow(rd_kafka_t *rk, const topics_opts_t *o, const char *name,
                    const char *count)
{
        rd_kafka_NewPartitions_t *np = NULL;
        rd_kafka_queue_t *q = NULL;
        rd_kafka_AdminOptions_t *ao = NULL;
        rd_kafka_event_t *ev = NULL;
        const rd_kafka_topic_result_t **res;
        int timeout_ms = (int)o->timeout_s * 1000;
        char errstr[512];
        long long total;
        size_t cnt = 0;
        int have, rc = 1;

        if (sg_cli_parse_long(count, 1, 100000, &total)) {
                fprintf(stderr, "%s: grow: N must be 1..100000\n", PROG);
                return 2;
        }
        have = topic_partitions(rk, name, timeout_ms);
        if (have <= 0) {
                if (have == 0)
                        sg_error("topic=%s does not exist", name);
                return 1;
        }
        if (have >= total) {
                printf("%s %d (unchanged)\n", name, have);
                return 0;
        }
        np = rd_kafka_NewPartitions_new(name, (size_t)total, errstr,
                                        sizeof(errstr));
        if (!np) {
                sg_error("topic=%s: %s", name, errstr);
                return 1;
        }
        q = rd_kafka_queue_new(rk);
        ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS);
        rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, errstr,
                                                  sizeof(errstr));
        rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, errstr,
                                                    sizeof(errstr));
        rd_kafka_CreatePartitions(rk, &np, 1, ao, q);
        ev = admin_wait(q, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, timeout_ms);
        if (!ev)
                goto out;
        res = rd_kafka_CreatePartitions_result_topics(
            rd_kafka_event_CreatePartitions_result(ev), &cnt);
        if (cnt == 1 && rd_kafka_topic_result_error(res[0])) {
                sg_error("cannot grow topic=%s: %s", name,
                         rd_kafka_topic_result_error_string(res[0]));
                goto out;
        }
        printf("%s %lld (grown from %d)\n", name, total, have);
        rc = 0;
out:
        if (ev)
                rd_kafka_event_destroy(ev);
        rd_kafka_AdminOptions_destroy(ao);
        rd_kafka_queue_destroy(q);
        rd_kafka_NewPartitions_destroy(np);
        return rc;
}

static int cmd_describe(rd_kafka_t *rk, const topics_opts_t *o, int n,
                        char **names)
{
        int rc = 0;

        for (int i = 0; i < n; i++) {
                int have = topic_partitions(rk, names[i],
                                            (int)o->timeout_s * 1000);
                if (have <= 0) {
                        if (have == 0)
                                sg_error("topic=%s does not exist", names[i]);
                        rc = 1;
                        continue;
                }
                printf("%s %d\n", names[i], have);
        }
        return rc;
}

int main(int argc, char **argv)
{
        static const struct option own[] = {
            {"partitions", required_argument, NULL, OPT_PARTITIONS},
            {"replication", required_argument, NULL, OPT_REPLICATION},
            {"config", required_argument, NULL, OPT_CONFIG},
            {"timeout", required_argument, NULL, OPT_TIMEOUT},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        topics_opts_t o = {6, 1, 30, 0, {NULL}};
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        char errstr[512];
        const char *cmd;
        int nargs, opt, rc;

        sg_cli_common_init(&common);
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, "+" SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                switch (opt) {
                case OPT_PARTITIONS:
                        if (sg_cli_parse_long(optarg, 1, 100000, &o.partitions))
                                return sg_cli_usage_error(
                                    PROG, usage, "--partitions must be 1..100000");
                        break;
                case OPT_REPLICATION:
                        if (sg_cli_parse_long(optarg, 1, 32, &o.replication))
                                return sg_cli_usage_error(
                                    PROG, usage, "--replication must be 1..32");
                        break;
                case OPT_CONFIG:
                        if (!strchr(optarg, '=') || optarg[0] == '=' ||
                            strlen(optarg) >= 512 || o.nconfigs >= MAX_CONFIGS)
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--config needs KEY=VALUE (at most %d)",
                                    MAX_CONFIGS);
                        o.config[o.nconfigs++] = optarg;
                        break;
                case OPT_TIMEOUT:
                        if (sg_cli_parse_long(optarg, 1, 3600, &o.timeout_s))
                                return sg_cli_usage_error(
                                    PROG, usage, "--timeout must be 1..3600");
                        break;
                default:
                        rc = sg_cli_common(&common, opt, optarg, PROG, usage);
                        if (rc >= 0)
                                return rc;
                }
        }
        if (optind >= argc)
                return sg_cli_usage_error(PROG, usage, "no command given");
        cmd = argv[optind++];
        nargs = argc - optind;
        if (strcmp(cmd, "wait") == 0 ? nargs != 0
            : strcmp(cmd, "grow") == 0 ? nargs != 2
            : strcmp(cmd, "create") == 0 || strcmp(cmd, "describe") == 0
                ? nargs < 1
                : 1)
                return sg_cli_usage_error(PROG, usage,
                                          "bad command or arguments: '%s'",
                                          cmd);
        sg_log_init(PROG, common.log_level);
        sg_signal_install();

        conf = sg_kafka_conf_new(&common, NULL, NULL, errstr, sizeof(errstr));
        if (!conf) {
                sg_error("%s", errstr);
                return 1;
        }
        /* Quiet while the cluster is still starting: `wait` retries. */
        if (strcmp(cmd, "wait") == 0)
                rd_kafka_conf_set(conf, "log_level", "2", errstr,
                                  sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                sg_error("cannot create the admin client: %s", errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        if (strcmp(cmd, "wait") == 0)
                rc = cmd_wait(rk, &o);
        else if (strcmp(cmd, "create") == 0)
                rc = cmd_create(rk, &o, nargs, argv + optind);
        else if (strcmp(cmd, "grow") == 0)
                rc = cmd_grow(rk, &o, argv[optind], argv[optind + 1]);
        else
                rc = cmd_describe(rk, &o, nargs, argv + optind);
        rd_kafka_destroy(rk);
        return rc;
}
