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
#include "sg_time.h"

#define PROG "sg-topics"
#define MAX_CONFIGS 32

typedef struct topics_opts {
        long long partitions;
        long long replication;
        long long timeout_s;
        int nconfigs;
        const char *config[MAX_CONFIGS];
} topics_opts_t;

/* --config KEY=VALUE, repeatable. */
static int parse_config(const char *arg, void *dest, char *err, size_t size)
{
        topics_opts_t *o = dest;

        if (!strchr(arg, '=') || arg[0] == '=' || strlen(arg) >= 512 ||
            o->nconfigs >= MAX_CONFIGS) {
                snprintf(err, size, "needs KEY=VALUE (at most %d)",
                         MAX_CONFIGS);
                return -1;
        }
        o->config[o->nconfigs++] = arg;
        return 0;
}

/* One Admin API request: its options (request and operation timeouts)
 * and the queue its result comes back on. */
typedef struct admin {
        rd_kafka_queue_t *q;
        rd_kafka_AdminOptions_t *ao;
        rd_kafka_event_t *ev;
        int timeout_ms;
} admin_t;

static void admin_init(admin_t *a, rd_kafka_t *rk, rd_kafka_admin_op_t op,
                       int timeout_ms)
{
        char errstr[256];

        a->q = rd_kafka_queue_new(rk);
        a->ao = rd_kafka_AdminOptions_new(rk, op);
        a->ev = NULL;
        a->timeout_ms = timeout_ms;
        /* --timeout is 1..3600 s: both setters accept it. */
        rd_kafka_AdminOptions_set_request_timeout(a->ao, timeout_ms, errstr,
                                                  sizeof(errstr));
        rd_kafka_AdminOptions_set_operation_timeout(a->ao, timeout_ms, errstr,
                                                    sizeof(errstr));
}

/* Waits for the request's result event of the given type. Returns it
 * (destroyed by admin_fini), or NULL after logging. */
static rd_kafka_event_t *admin_wait(admin_t *a, int type)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(a->q, a->timeout_ms + 5000);

        if (!ev) {
                sg_error("no answer from the cluster in %d ms", a->timeout_ms);
                return NULL;
        }
        a->ev = ev;
        if (rd_kafka_event_type(ev) != type) {
                sg_error("unexpected admin event %s",
                         rd_kafka_event_name(ev));
                return NULL;
        }
        if (rd_kafka_event_error(ev)) {
                sg_error("admin request failed: %s",
                         rd_kafka_event_error_string(ev));
                return NULL;
        }
        return ev;
}

static void admin_fini(admin_t *a)
{
        if (a->ev)
                rd_kafka_event_destroy(a->ev);
        rd_kafka_AdminOptions_destroy(a->ao);
        rd_kafka_queue_destroy(a->q);
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
        long long deadline = sg_time_mono_ms() + o->timeout_s * 1000;

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
                if (sg_time_mono_ms() >= deadline) {
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
        int timeout_ms = (int)o->timeout_s * 1000, ntopics = 0, rc = 1;
        rd_kafka_NewTopic_t *nt[64];
        const rd_kafka_topic_result_t **res;
        admin_t a = {0};
        char errstr[512];
        size_t cnt = 0;

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
        admin_init(&a, rk, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout_ms);
        rd_kafka_CreateTopics(rk, nt, (size_t)ntopics, a.ao, a.q);
        if (!admin_wait(&a, RD_KAFKA_EVENT_CREATETOPICS_RESULT))
                goto out;
        res = rd_kafka_CreateTopics_result_topics(
            rd_kafka_event_CreateTopics_result(a.ev), &cnt);
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
        if (a.q)
                admin_fini(&a);
        for (int i = 0; i < ntopics; i++)
                rd_kafka_NewTopic_destroy(nt[i]);
        return rc;
}

static int cmd_grow(rd_kafka_t *rk, const topics_opts_t *o, const char *name,
                    const char *count)
{
        int timeout_ms = (int)o->timeout_s * 1000, have, rc = 1;
        rd_kafka_NewPartitions_t *np;
        const rd_kafka_topic_result_t **res;
        long long total;
        admin_t a;
        char errstr[512];
        size_t cnt = 0;

        if (sg_cli_parse_long(count, 1, 100000, &total)) {
                fprintf(stderr, "%s: grow: N must be 1..100000\n", PROG);
                return SG_CLI_USAGE;
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
        admin_init(&a, rk, RD_KAFKA_ADMIN_OP_CREATEPARTITIONS, timeout_ms);
        rd_kafka_CreatePartitions(rk, &np, 1, a.ao, a.q);
        if (!admin_wait(&a, RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT))
                goto out;
        res = rd_kafka_CreatePartitions_result_topics(
            rd_kafka_event_CreatePartitions_result(a.ev), &cnt);
        if (cnt == 1 && rd_kafka_topic_result_error(res[0])) {
                sg_error("cannot grow topic=%s: %s", name,
                         rd_kafka_topic_result_error_string(res[0]));
                goto out;
        }
        printf("%s %lld (grown from %d)\n", name, total, have);
        rc = 0;
out:
        admin_fini(&a);
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
        sg_cli_common_t common;
        topics_opts_t o = {6, 1, 30, 0, {NULL}};
        const sg_opt_t opts[] = {
            {.name = "partitions", .kind = SG_OPT_LLONG, .dest = &o.partitions,
             .arg = "N", .min = 1, .max = 100000,
             .help = "partitions of created topics"},
            {.name = "replication", .kind = SG_OPT_LLONG,
             .dest = &o.replication, .arg = "N", .min = 1, .max = 32,
             .help = "replication factor of created topics"},
            {.name = "config", .kind = SG_OPT_CUSTOM, .dest = &o,
             .arg = "KEY=VALUE", .parse = parse_config,
             .help = "topic configuration of created topics (repeatable),"
                     "\ne.g. retention.bytes=1048576"},
            {.name = "timeout", .kind = SG_OPT_LLONG, .dest = &o.timeout_s,
             .arg = "SECONDS", .min = 1, .max = 3600, .unit = "s",
             .help = "how long to wait for the cluster"},
            SG_OPT_END,
        };
        const sg_cli_t cli = {
            .prog = PROG,
            .synopsis = "[options] COMMAND [ARGS]",
            .about = "Topic administration over the Kafka Admin API.\n\n"
                     "Commands:\n"
                     "  wait                 wait until a metadata request "
                     "succeeds; print the\n"
                     "                       cluster id and the broker count\n"
                     "  create NAME...       create the topics that do not "
                     "exist yet (an existing\n"
                     "                       topic is left as it is and "
                     "described)\n"
                     "  grow NAME N          raise NAME's partition count to N "
                     "(no-op if it has N)\n"
                     "  describe NAME...     print 'NAME PARTITIONS' per topic "
                     "(exit 1 if one is missing)",
            .tables = {opts},
            .min_args = 1,
            .max_args = 64,
            .in_order = true,
        };
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        char errstr[512];
        const char *cmd;
        int nargs, first, rc;

        sg_cli_common_init(&common);
        rc = sg_cli_parse(&cli, &common, argc, argv, &first);
        if (rc != SG_CLI_RUN)
                return rc;
        cmd = argv[first++];
        nargs = argc - first;
        if (strcmp(cmd, "wait") == 0 ? nargs != 0
            : strcmp(cmd, "grow") == 0 ? nargs != 2
            : strcmp(cmd, "create") == 0 || strcmp(cmd, "describe") == 0
                ? nargs < 1
                : 1)
                return sg_cli_usage_error(&cli, "bad command or arguments: "
                                                "'%s'", cmd);

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
                rc = cmd_create(rk, &o, nargs, argv + first);
        else if (strcmp(cmd, "grow") == 0)
                rc = cmd_grow(rk, &o, argv[first], argv[first + 1]);
        else
                rc = cmd_describe(rk, &o, nargs, argv + first);
        rd_kafka_destroy(rk);
        return rc;
}
