#include "consumer_main.h"
#include "engine.h"
#include "sg_defs.h"
#include "sg_log.h"
#include "sg_metrics.h"
#include "sg_metrics_http.h"
#include "sg_signal.h"

#include <stdlib.h>

int sg_consumer_main(const sg_stage_t *sd, int argc, char **argv)
{
        sg_cli_common_t common;
        sg_engine_conf_t cc;
        sg_opt_t engine_opts[8], stage_opts[SG_STAGE_MAX_OPTS], metrics_opts[2];
        sg_metrics_conf_t mc;
        sg_metrics_t *metrics = sg_metrics_new();
        sg_metrics_http_t *http = NULL;
        sg_cli_t cli = {.prog = sd->prog, .about = sd->about};
        sg_stage_env_t env = {0};
        void *conf = NULL, *stage = NULL;
        char totals[256] = "";
        int st, t = 0;

        sg_cli_common_init(&common);
        sg_engine_conf_init(&cc);
        cc.common = &common;
        cc.group = sd->group;
        cc.appname = sd->prog;
        if (sd->batch_rows)
                cc.batch_rows = sd->batch_rows;
        if (sd->batch_ms)
                cc.batch_ms = sd->batch_ms;
        if (sd->queue_kbytes)
                cc.queue_kbytes = sd->queue_kbytes;
        sg_engine_opts(&cc, engine_opts);
        if (sd->conf_size) {
                conf = sg_xcalloc(1, sd->conf_size);
                sd->conf_init(conf, stage_opts);
                cli.tables[t] = stage_opts;
                cli.titles[t++] = sd->opts_title;
        }
        cli.tables[t] = engine_opts;
        cli.titles[t++] = "Consumer options";
        sg_metrics_conf_init(&mc);
        sg_metrics_opts(&mc, metrics_opts);
        cli.tables[t] = metrics_opts;
        cli.titles[t] = "Metrics";
        st = sg_cli_parse(&cli, &common, argc, argv, NULL);
        if (st != SG_CLI_RUN)
                goto out;
        if (sg_metrics_serve(&mc, metrics, &http) != 0) {
                st = 1;
                goto out;
        }
        cc.metrics = metrics;
        cc.topics[0] = common.topic;
        cc.topics[1] = sd->extra_topic;

        env.group = cc.group;
        env.topic = common.topic;
        env.conf = conf;
        env.common = &common;
        env.metrics = metrics;
        stage = sg_xcalloc(1, sd->size);
        st = sd->init(stage, &env);
        if (st < 0) {
                st = st == -2 ? 2 : 1;
                free(stage);
                stage = NULL;
                goto out;
        }
        st = sg_engine_run(&cc, sd, stage);
        sd->progress(stage, totals, sizeof(totals));
        sg_info("exit status=%d%s", st, totals);
        sd->fini(stage);
out:
        sg_metrics_http_stop(http);
        sg_metrics_destroy(metrics);
        free(stage);
        free(conf);
        return st;
}
