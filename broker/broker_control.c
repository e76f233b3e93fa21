#include "broker_control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
        const char *name;
        int key;
} sg_broker_apis[] = {
    {"Produce", 0},          {"Fetch", 1},       {"ListOffsets", 2},
    {"Metadata", 3},         {"OffsetCommit", 8}, {"OffsetFetch", 9},
    {"FindCoordinator", 10}, {"JoinGroup", 11},  {"Heartbeat", 12},
    {"LeaveGroup", 13},      {"SyncGroup", 14},  {"InitProducerId", 22},
    {NULL, 0},
};

int sg_broker_control_api(const char *name)
{
        char *end;
        long v;

        for (int i = 0; sg_broker_apis[i].name; i++)
                if (strcasecmp(name, sg_broker_apis[i].name) == 0)
                        return sg_broker_apis[i].key;
        v = strtol(name, &end, 10);
        if (end != name && !*end && v >= 0 && v < 100)
                return (int)v;
        return -1;
}

int sg_broker_control_error(const char *name, rd_kafka_resp_err_t *err)
{
        const struct rd_kafka_err_desc *descs;
        size_t cnt;

        if (strncmp(name, "RD_KAFKA_RESP_ERR_", 18) == 0)
                name += 18;
        rd_kafka_get_err_descs(&descs, &cnt);
        for (size_t i = 0; i < cnt; i++) {
                if (descs[i].name && strcasecmp(descs[i].name, name) == 0) {
                        *err = descs[i].code;
                        return 0;
                }
        }
        return -1;
}

int sg_broker_control_apply(rd_kafka_mock_cluster_t *mcluster,
                            const char *line, char *errstr,
                            size_t errstr_size)
{
        char cmd[32] = "", a[64] = "", b[64] = "", c[128] = "", extra[8] = "";
        int n = sscanf(line, "%31s %63s %63s %127s %7s", cmd, a, b, c, extra);
        rd_kafka_resp_err_t err;
        int api;
        long id, v;
        char *end;

        if (n <= 0 || cmd[0] == '#')
                return 0; /* blank line or comment */
        if (n == 5) {
                snprintf(errstr, errstr_size, "too many words");
                return -1;
        }
        if ((strcmp(cmd, "down") == 0 || strcmp(cmd, "up") == 0) && n == 2) {
                id = strtol(a, &end, 10);
                if (*end || end == a) {
                        snprintf(errstr, errstr_size, "bad broker id");
                        return -1;
                }
                err = cmd[0] == 'd'
                          ? rd_kafka_mock_broker_set_down(mcluster, (int32_t)id)
                          : rd_kafka_mock_broker_set_up(mcluster, (int32_t)id);
        } else if (strcmp(cmd, "rtt") == 0 && n == 3) {
                id = strtol(a, &end, 10);
                v = strtol(b, NULL, 10);
                if (*end || end == a || v < 0 || v > 600000) {
                        snprintf(errstr, errstr_size, "usage: rtt ID MS");
                        return -1;
                }
                err = rd_kafka_mock_broker_set_rtt(mcluster, (int32_t)id,
                                                   (int)v);
        } else if (strcmp(cmd, "errors") == 0 && n == 4) {
                api = sg_broker_control_api(a);
                v = strtol(b, &end, 10);
                if (api < 0 || *end || end == b || v < 1 || v > 100000 ||
                    sg_broker_control_error(c, &err) < 0) {
                        snprintf(errstr, errstr_size,
                                 "usage: errors API COUNT ERROR_NAME");
                        return -1;
                }
                for (long i = 0; i < v; i++)
                        rd_kafka_mock_push_request_errors(mcluster, (int16_t)api,
                                                          1, err);
                return 0;
        } else if (strcmp(cmd, "clear") == 0 && n == 2) {
                api = sg_broker_control_api(a);
                if (api < 0) {
                        snprintf(errstr, errstr_size, "unknown API '%s'", a);
                        return -1;
                }
                rd_kafka_mock_clear_request_errors(mcluster, (int16_t)api);
                return 0;
        } else {
                snprintf(errstr, errstr_size, "unknown command");
                return -1;
        }
        if (err) {
                snprintf(errstr, errstr_size, "%s", rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}
