/* sg-broker: hosts librdkafka's mock cluster (rdkafka_mock.h) on loopback,
 * so a machine with no Kafka still runs the pipeline over the real Kafka
 * wire protocol. Data lives in memory only; see DESIGN.md for its limits. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "sg_cli.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_signal.h"

#define PROG "sg-broker"

enum { OPT_PARTITIONS = 1, OPT_BROKER_COUNT, OPT_ADDR_FILE };

static void usage(FILE *fp)
{
        fprintf(fp,
                "Usage: %s [options]\n"
                "Runs an embedded Kafka-protocol broker (librdkafka's mock "
                "cluster) on loopback\nuntil SIGINT/SIGTERM, with the event "
                "topic and privacy_erasures. Prints its "
                "bootstrap address on stdout and writes it to\nthe file the "
                "other tools read when no --brokers/KAFKA_BOOTSTRAP_SERVERS "
                "is given.\n\n"
                "  --partitions N       partitions of the event topic "
                "(default 6)\n"
                "  --broker-count N     mock brokers in the cluster "
                "(default 1)\n"
                "  --addr-file PATH     where to write the address "
                "(default $SG_BROKER_FILE,\n"
                "                       else /tmp/sg-broker-<uid>.addr)\n",
                PROG);
        sg_cli_common_usage(fp);
        fputs("  (--brokers and --dsn are accepted but not used here.)\n"
              "\nData is kept in memory only and bounded per partition; see "
              "DESIGN.md.\n",
              fp);
}

/* Writes addr and this run's id to path atomically (temp file + rename).
 * The run id tells one sg-broker run from the next: the mock cluster's
 * own id is derived from a pointer and may repeat, and a restarted broker
 * is a new, empty cluster whose offsets must not be confused with the old
 * one's. Returns 0 or -1. */
static int write_addr_file(const char *path, const char *addr)
{
        unsigned char rnd[16];
        char run_id[33];
        FILE *ur = fopen("/dev/urandom", "rb");
        char tmp[600];
        FILE *fp;

        if (!ur || fread(rnd, 1, sizeof(rnd), ur) != sizeof(rnd)) {
                if (ur)
                        fclose(ur);
                return -1;
        }
        fclose(ur);
        for (int i = 0; i < 16; i++)
                snprintf(run_id + 2 * i, 3, "%02x", rnd[i]);
        snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
        fp = fopen(tmp, "w");
        if (!fp)
                return -1;
        if (fprintf(fp, "%s\nrun_id=%s\n", addr, run_id) < 0 ||
            fclose(fp) != 0) {
                unlink(tmp);
                return -1;
        }
        if (rename(tmp, path) != 0) {
                unlink(tmp);
                return -1;
        }
        return 0;
}

/* Removes the address file only if it still names our address (another
 * sg-broker may have replaced it). */
static void remove_addr_file(const char *path, const char *addr)
{
        char buf[1024];
        FILE *fp = fopen(path, "r");
        size_t n;

        if (!fp)
                return;
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        buf[strcspn(buf, "\r\n")] = '\0';
        if (strcmp(buf, addr) == 0)
                unlink(path);
}

int main(int argc, char **argv)
{
        static const struct option own[] = {
            {"partitions", required_argument, NULL, OPT_PARTITIONS},
            {"broker-count", required_argument, NULL, OPT_BROKER_COUNT},
            {"addr-file", required_argument, NULL, OPT_ADDR_FILE},
            {NULL, 0, NULL, 0},
        };
        struct option longopts[32];
        sg_cli_common_t common;
        long long partitions = 6, broker_count = 1;
        char path_buf[512];
        const char *addr_file = NULL;
        char errstr[512];
        char addr[1024];
        rd_kafka_conf_t *conf = NULL;
        rd_kafka_t *rk = NULL;
        rd_kafka_mock_cluster_t *mcluster = NULL;
        rd_kafka_resp_err_t err;
        int opt, rc;

        sg_cli_common_init(&common);
        if (sg_cli_longopts(own, longopts, 32) < 0)
                return 1;
        while ((opt = getopt_long(argc, argv, SG_CLI_SHORTOPTS, longopts,
                                  NULL)) != -1) {
                switch (opt) {
                case OPT_PARTITIONS:
                        if (sg_cli_parse_long(optarg, 1, 10000, &partitions))
                                return sg_cli_usage_error(
                                    PROG, usage,
                                    "--partitions must be 1..10000");
                        break;
                case OPT_BROKER_COUNT:
                        if (sg_cli_parse_long(optarg, 1, 16, &broker_count))
                                return sg_cli_usage_error(
                                    PROG, usage, "--broker-count must be 1..16");
                        break;
                case OPT_ADDR_FILE:
                        addr_file = optarg;
                        break;
                default:
                        rc = sg_cli_common(&common, opt, optarg, PROG, usage);
                        if (rc == 2)
                                return 0;
                        if (rc < 0)
                                return 2;
                        if (rc == 0) {
                                usage(stderr);
                                return 2;
                        }
                }
        }
        if (optind < argc)
                return sg_cli_usage_error(PROG, usage,
                                          "unexpected argument '%s'",
                                          argv[optind]);
        sg_log_init(PROG, common.log_level);
        sg_signal_install();
        if (!addr_file)
                addr_file = sg_kafka_broker_file(path_buf, sizeof(path_buf));

        /* The mock cluster is hosted by an ordinary client instance. */
        conf = rd_kafka_conf_new();
        /* The host client never connects anywhere: silence its warning
         * about having no bootstrap.servers (an -X log_level wins). */
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        for (int i = 0; i < common.nprops; i++) {
                if (rd_kafka_conf_set(conf, common.prop_keys[i],
                                      common.prop_values[i], errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                        fprintf(stderr, "%s: -X %s: %s\n", PROG,
                                common.prop_keys[i], errstr);
                        rd_kafka_conf_destroy(conf);
                        return 2;
                }
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                sg_error("cannot create the hosting client: %s", errstr);
                rd_kafka_conf_destroy(conf);
                return 1;
        }
        conf = NULL; /* owned by rk now */

        mcluster = rd_kafka_mock_cluster_new(rk, (int)broker_count);
        if (!mcluster) {
                sg_error("cannot start the mock cluster");
                rd_kafka_destroy(rk);
                return 1;
        }
        err = rd_kafka_mock_topic_create(mcluster, common.topic,
                                         (int)partitions, 1);
        if (err) {
                sg_error("cannot create topic=%s err=%s", common.topic,
                         rd_kafka_err2str(err));
                rd_kafka_mock_cluster_destroy(mcluster);
                rd_kafka_destroy(rk);
                return 1;
        }
        /* The privacy daemon's erasure notices (DESIGN.md). */
        err = rd_kafka_mock_topic_create(mcluster, "privacy_erasures",
                                         (int)partitions, 1);
        if (err) {
                sg_error("cannot create topic=privacy_erasures err=%s",
                         rd_kafka_err2str(err));
                rd_kafka_mock_cluster_destroy(mcluster);
                rd_kafka_destroy(rk);
                return 1;
        }
        snprintf(addr, sizeof(addr), "%s",
                 rd_kafka_mock_cluster_bootstraps(mcluster));
        if (write_addr_file(addr_file, addr) < 0) {
                sg_error("cannot write the address file path=%s", addr_file);
                rd_kafka_mock_cluster_destroy(mcluster);
                rd_kafka_destroy(rk);
                return 1;
        }
        printf("%s\n", addr);
        fflush(stdout);
        sg_info("listening bootstrap=%s topic=%s partitions=%lld "
                "brokers=%lld addr_file=%s",
                addr, common.topic, partitions, broker_count, addr_file);

        while (!sg_stop_requested)
                sg_sleep_ms(200);

        sg_info("shutting down");
        remove_addr_file(addr_file, addr);
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
