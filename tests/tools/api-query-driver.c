/* api-query-driver: calls one of sg-api's query functions (api/queries.h)
 * without HTTP, for tests/integration/test_api_queries.sh. Built with the
 * tests only.
 *
 *   api-query-driver ROUTE [PARAM] [NAME=VALUE ...]
 *
 * ROUTE is the route without its leading slash and parameter
 * ("stats/summary", "compliance/flags/id", "privacy-requests/id", ...);
 * the routes with a {param} take PARAM first. Prints the status on one
 * line, then the answer (or {"code":..,"detail":..}) as compact JSON on
 * the next. The database: $PG_DSN (a libpq conninfo); Kafka, for
 * stats/pipeline: $KAFKA_BOOTSTRAP_SERVERS (absent: no client, lag null).
 * API_QUERY_DRIVER_DROP=1: the connection's own backend is terminated
 * before the call (a database lost under the query: 503, db_lost).
 * Exit 0 whatever the status; 2 for a usage error, 1 if the database is
 * unreachable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queries.h"

typedef struct route {
        const char *name;
        bool param;
        sg_api_query_fn fn;
} route_t;

static const route_t ROUTES[] = {
    {"stats/summary", false, sg_api_q_stats_summary},
    {"stats/content", true, sg_api_q_stats_content},
    {"stats/region", true, sg_api_q_stats_region},
    {"stats/timeseries", false, sg_api_q_stats_timeseries},
    {"stats/pipeline", false, sg_api_q_stats_pipeline},
    {"compliance/summary", false, sg_api_q_compliance_summary},
    {"compliance/flags", false, sg_api_q_compliance_flags},
    {"compliance/flags/id", true, sg_api_q_compliance_flag},
    {"compliance/regions", false, sg_api_q_compliance_regions},
    {"privacy-requests/id", true, sg_api_q_privacy_request},
    {"privacy-requests/summary", false, sg_api_q_privacy_summary},
};

typedef struct args {
        int n;
        char **kv; /* "name=value" */
} args_t;

static const char *arg_get(void *ctx, const char *name)
{
        const args_t *a = ctx;
        size_t len = strlen(name);

        for (int i = 0; i < a->n; i++)
                if (strncmp(a->kv[i], name, len) == 0 && a->kv[i][len] == '=')
                        return a->kv[i] + len + 1;
        return NULL;
}

static rd_kafka_t *kafka_new(void)
{
        const char *brokers = getenv("KAFKA_BOOTSTRAP_SERVERS");
        char errstr[256];
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;

        if (!brokers || !*brokers)
                return NULL;
        conf = rd_kafka_conf_new();
        if (rd_kafka_conf_set(conf, "bootstrap.servers", brokers, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK ||
            rd_kafka_conf_set(conf, "log_level", "0", errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK) {
                fprintf(stderr, "api-query-driver: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "api-query-driver: %s\n", errstr);
                rd_kafka_conf_destroy(conf);
        }
        return rk;
}

int main(int argc, char **argv)
{
        const route_t *r = NULL;
        sg_api_req_t rq = {0};
        sg_api_problem_t p = {0};
        args_t a = {0};
        json_t *out = NULL;
        PGconn *db;
        char *text;
        int i = 2, status;

        if (argc < 2) {
                fprintf(stderr, "usage: api-query-driver ROUTE [PARAM] "
                                "[NAME=VALUE ...]\n");
                return 2;
        }
        for (size_t k = 0; k < sizeof(ROUTES) / sizeof(ROUTES[0]); k++)
                if (strcmp(argv[1], ROUTES[k].name) == 0)
                        r = &ROUTES[k];
        if (!r || (r->param && argc < 3)) {
                fprintf(stderr, "api-query-driver: unknown route or missing "
                                "parameter\n");
                return 2;
        }
        if (r->param)
                rq.path_param = argv[i++];
        a.n = argc - i;
        a.kv = argv + i;
        rq.arg = arg_get;
        rq.ctx = &a;

        db = PQconnectdb(getenv("PG_DSN") ? getenv("PG_DSN") : "");
        if (PQstatus(db) != CONNECTION_OK) {
                fprintf(stderr, "api-query-driver: cannot connect: %s",
                        PQerrorMessage(db));
                PQfinish(db);
                return 1;
        }
        if (strcmp(r->name, "stats/pipeline") == 0)
                rq.rk = kafka_new();
        if (getenv("API_QUERY_DRIVER_DROP")) {
                PGresult *res = PQexec(db, "SELECT pg_terminate_backend("
                                           "pg_backend_pid())");
                PQclear(res);
        }

        status = r->fn(db, &rq, &out, &p);
        if (status == 200) {
                text = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(15));
        } else {
                json_t *e = json_pack("{s:s, s:s, s:b}", "code",
                                      p.code ? p.code : "", "detail", p.detail,
                                      "db_lost", p.db_lost);
                text = e ? json_dumps(e, JSON_COMPACT) : NULL;
                json_decref(e);
        }
        printf("%d\n%s\n", status, text ? text : "null");
        free(text);
        json_decref(out);
        if (rq.rk)
                rd_kafka_destroy(rq.rk);
        PQfinish(db);
        return 0;
}
