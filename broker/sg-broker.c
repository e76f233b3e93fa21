/* sg-broker: hosts librdkafka's mock cluster (rdkafka_mock.h) on loopback,
 * so a machine with no Kafka still runs the pipeline over the real Kafka
 * wire protocol. Data lives in memory only; see DESIGN.md for its limits. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include "broker_control.h"
#include "sg_cli.h"
#include "sg_kafka.h"
#include "sg_log.h"
#include "sg_signal.h"

#define PROG "sg-broker"

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

/* Creates the control FIFO and opens it for reading without blocking (and
 * for writing too, so it never reports end-of-file between writers).
 * Returns the fd, or -1 (fault injection is then unavailable; logged). */
static int control_open(const char *path)
{
        int fd;

        unlink(path);
        if (mkfifo(path, 0600) != 0) {
                sg_warn("no control channel: cannot create FIFO path=%s: %s",
                        path, strerror(errno));
                return -1;
        }
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                sg_warn("no control channel: cannot open path=%s: %s", path,
                        strerror(errno));
        else
                sg_info("fault-injection control channel path=%s", path);
        return fd;
}

/* Waits up to 200 ms for control commands and applies complete lines. */
static void control_serve(int fd, rd_kafka_mock_cluster_t *mcluster)
{
        static char buf[4096];
        static size_t used;
        struct pollfd pfd = {fd, POLLIN, 0};
        char errstr[256];
        ssize_t n;
        char *nl;

        if (fd < 0 || poll(&pfd, 1, 200) <= 0) {
                if (fd < 0)
                        sg_sleep_ms(200);
                return;
        }
        n = read(fd, buf + used, sizeof(buf) - 1 - used);
        if (n <= 0)
                return;
        used += (size_t)n;
        buf[used] = '\0';
        while ((nl = strchr(buf, '\n')) != NULL) {
                *nl = '\0';
                if (sg_broker_control_apply(mcluster, buf, errstr,
                                            sizeof(errstr)) == 0) {
                        if (buf[0] && buf[0] != '#')
                                sg_info("control: applied \"%s\"", buf);
                } else {
                        sg_warn("control: rejected \"%s\": %s", buf, errstr);
                }
                used -= (size_t)(nl + 1 - buf);
                memmove(buf, nl + 1, used + 1);
        }
        if (used == sizeof(buf) - 1) {
                sg_warn("control: line too long, discarded");
                used = 0;
        }
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        int partitions = 6, broker_count = 1;
        const char *addr_file = NULL;
        const char *control_path = NULL;
        const sg_opt_t opts[] = {
            {.name = "partitions", .kind = SG_OPT_INT, .dest = &partitions,
             .arg = "N", .min = 1, .max = 10000,
             .help = "partitions of the event topic"},
            {.name = "broker-count", .kind = SG_OPT_INT, .dest = &broker_count,
             .arg = "N", .min = 1, .max = 16,
             .help = "mock brokers in the cluster"},
            {.name = "addr-file", .kind = SG_OPT_STRING, .dest = &addr_file,
             .arg = "PATH",
             .help = "where to write the address (default $SG_BROKER_FILE,"
                     "\nelse /tmp/sg-broker-<uid>.addr)"},
            {.name = "control", .kind = SG_OPT_STRING, .dest = &control_path,
             .arg = "PATH",
             .help = "fault-injection FIFO (default: the address file + "
                     ".ctl);\none command per line:\n  down ID | up ID | rtt "
                     "ID MS |\n  errors API COUNT ERROR_NAME | clear API\ne.g. "
                     "echo 'errors Produce 5 NOT_LEADER_FOR_PARTITION' > PATH"},
            SG_OPT_END,
        };
        const sg_cli_t cli = {
            .prog = PROG,
            .about = "Runs an embedded Kafka-protocol broker (librdkafka's mock "
                     "cluster) on loopback\nuntil SIGINT/SIGTERM, with the "
                     "event topic, privacy_erasures and compliance_flags.\n"
                     "Prints its bootstrap address on stdout and writes it to "
                     "the file the\nother tools read when no "
                     "--brokers/KAFKA_BOOTSTRAP_SERVERS is given.",
            .tables = {opts},
            .epilog = "--brokers and --dsn are accepted but not used here. Data "
                      "is kept in memory only\nand bounded per partition; see "
                      "the README.",
        };
        char path_buf[512];
        char control_buf[600];
        int control_fd = -1;
        char errstr[512];
        char addr[1024];
        rd_kafka_conf_t *conf = NULL;
        rd_kafka_t *rk = NULL;
        rd_kafka_mock_cluster_t *mcluster = NULL;
        rd_kafka_resp_err_t err;
        int st;

        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                return st;
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

        mcluster = rd_kafka_mock_cluster_new(rk, broker_count);
        if (!mcluster) {
                sg_error("cannot start the mock cluster");
                rd_kafka_destroy(rk);
                return 1;
        }
        err = rd_kafka_mock_topic_create(mcluster, common.topic,
                                         partitions, 1);
        if (err) {
                sg_error("cannot create topic=%s err=%s", common.topic,
                         rd_kafka_err2str(err));
                rd_kafka_mock_cluster_destroy(mcluster);
                rd_kafka_destroy(rk);
                return 1;
        }
        /* The privacy daemon's erasure notices (DESIGN.md) and
         * sg-compliance's flags. */
        for (int t = 0; t < 2; t++) {
                const char *name = t ? "compliance_flags" : "privacy_erasures";
                err = rd_kafka_mock_topic_create(mcluster, name, partitions, 1);
                if (err) {
                        sg_error("cannot create topic=%s err=%s", name,
                                 rd_kafka_err2str(err));
                        rd_kafka_mock_cluster_destroy(mcluster);
                        rd_kafka_destroy(rk);
                        return 1;
                }
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
        sg_info("listening bootstrap=%s topic=%s partitions=%d "
                "brokers=%d addr_file=%s",
                addr, common.topic, partitions, broker_count, addr_file);

        if (!control_path) {
                snprintf(control_buf, sizeof(control_buf), "%s.ctl",
                         addr_file);
                control_path = control_buf;
        }
        control_fd = control_open(control_path);

        while (!sg_stop_requested)
                control_serve(control_fd, mcluster);

        sg_info("shutting down");
        if (control_fd >= 0) {
                close(control_fd);
                unlink(control_path);
        }
        remove_addr_file(addr_file, addr);
        rd_kafka_mock_cluster_destroy(mcluster);
        rd_kafka_destroy(rk);
        return 0;
}
