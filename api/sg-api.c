/* sg-api: StreamGuard's HTTP API (docs/api.md). Without a command it runs
 * the server (api/server.h); `sg-api token create|list|revoke` manages the
 * bearer tokens (as the schema's owner: the server's own role may only
 * read them); `sg-api routes` prints the route table. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/crypto.h>

#include "auth.h"
#include "routes.h"
#include "server.h"
#include "sg_cli.h"
#include "sg_log.h"
#include "sg_pg.h"

#define PROG "sg-api"

typedef struct token_job {
        const char *cmd;
        const char *name;
        const char *role;
        char token[SG_API_TOKEN_LEN + 1];
} token_job_t;

static int token_create(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        token_job_t *tj = arg;
        uint8_t digest[32];
        char hex[65];
        const char *params[3];

        if (sg_api_token_new(tj->token, digest) < 0) {
                sg_pg_err_fmt(err, false, "no random bytes from the system");
                return -1;
        }
        for (int i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", digest[i]);
        params[0] = tj->name;
        params[1] = tj->role;
        params[2] = hex;
        if (sg_pg_command(conn,
                          "INSERT INTO api_tokens (name, role, token_sha256) "
                          "VALUES ($1, $2, decode($3, 'hex'))",
                          3, params, "creating the token", NULL, err) < 0) {
                if (strcmp(err->sqlstate, "23505") == 0)
                        sg_pg_err_fmt(err, false,
                                      "a token named %s is in force: revoke "
                                      "it first (sg-api token revoke --name "
                                      "%s)",
                                      tj->name, tj->name);
                return -1;
        }
        return 0;
}

static int token_list(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        PGresult *res;

        (void)arg;
        res = sg_pg_query(
            conn,
            "SELECT name, role, "
            "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), "
            "coalesce(to_char(last_used_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-'), "
            "coalesce(to_char(revoked_at AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), '-') "
            "FROM api_tokens ORDER BY created_at, id",
            0, NULL, 0, "listing the tokens", err);
        if (!res)
                return -1;
#define ROW "%-24s %-8s %-20s %-20s %s\n"
        printf(ROW, "NAME", "ROLE", "CREATED", "LAST_USED", "REVOKED");
        for (int i = 0; i < PQntuples(res); i++)
                printf(ROW, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
                       PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
                       PQgetvalue(res, i, 4));
#undef ROW
        PQclear(res);
        return 0;
}

static int token_revoke(PGconn *conn, void *arg, sg_pg_err_t *err)
{
        token_job_t *tj = arg;
        const char *params[1] = {tj->name};
        long long n = 0;

        if (sg_pg_command(conn,
                          "UPDATE api_tokens SET revoked_at = now() "
                          "WHERE name = $1 AND revoked_at IS NULL",
                          1, params, "revoking the token", &n, err) < 0)
                return -1;
        if (n == 0) {
                sg_pg_err_fmt(err, false, "no token in force named %s",
                              tj->name);
                return -1;
        }
        return 0;
}

static int cmd_token(const sg_cli_t *cli, sg_cli_common_t *common,
                     const char *sub, token_job_t *tj)
{
        sg_pg_job_t job = {.user = "sg_owner", .arg = tj,
                           .tx = SG_PG_TX_WRITE};
        int rc;

        if (strcmp(sub, "create") == 0) {
                if (!tj->role || sg_api_role_parse(tj->role) == SG_API_ROLE_NONE)
                        return sg_cli_usage_error(cli, "token create needs "
                                                       "--role ingest|analyst|"
                                                       "privacy|admin");
                if (!sg_api_token_name_ok(tj->name))
                        return sg_cli_usage_error(
                            cli, "token create needs --name NAME "
                                 "([A-Za-z0-9_.-], 1 to 64)");
                job.what = "token create";
                job.fn = token_create;
        } else if (strcmp(sub, "list") == 0) {
                job.what = "token list";
                job.fn = token_list;
                job.tx = SG_PG_TX_SNAPSHOT;
        } else if (strcmp(sub, "revoke") == 0) {
                if (!sg_api_token_name_ok(tj->name))
                        return sg_cli_usage_error(cli, "token revoke needs "
                                                       "--name NAME");
                job.what = "token revoke";
                job.fn = token_revoke;
        } else {
                return sg_cli_usage_error(cli, "unknown token command '%s' "
                                               "(create, list or revoke)",
                                          sub);
        }
        rc = sg_pg_run(common, PROG, &job);
        if (rc == 0 && job.fn == token_create) {
                printf("%s\n", tj->token);
                fflush(stdout);
                sg_info("token created name=%s role=%s (shown once; only its "
                        "SHA-256 is stored)",
                        tj->name, tj->role);
        } else if (rc == 0 && job.fn == token_revoke) {
                sg_info("token revoked name=%s", tj->name);
        }
        OPENSSL_cleanse(tj->token, sizeof(tj->token));
        return rc == 0 ? 0 : 1;
}

static void cmd_routes(void)
{
        for (size_t i = 0; i < sg_api_nroutes; i++) {
                const sg_api_route_t *r = &sg_api_routes[i];
                char roles[64] = "";

                if (r->roles == 0)
                        snprintf(roles, sizeof(roles), "none");
                else if (r->roles == SG_API_ROLES_ANY)
                        snprintf(roles, sizeof(roles), "any");
                else
                        for (int b = 1; b <= SG_API_ROLE_ADMIN; b <<= 1)
                                if (r->roles & (unsigned)b)
                                        snprintf(roles + strlen(roles),
                                                 sizeof(roles) - strlen(roles),
                                                 "%s%s", roles[0] ? "," : "",
                                                 sg_api_role_name(
                                                     (sg_api_role_t)b));
                printf("%s %s %s\n", r->method, r->path, roles);
        }
}

int main(int argc, char **argv)
{
        sg_cli_common_t common;
        sg_api_conf_t conf = {
            .listen = "127.0.0.1:8080",
            .max_body = 1024 * 1024,
            .max_batch = 1000,
            .request_timeout_s = 10,
            .max_connections = 1024,
            .ack_timeout_s = 5,
            .threads = 2,
            .db_workers = 4,
            .auth_fail_limit = 10,
            .token_cache_ms = 2000,
            .www_dir = SG_API_WWW_DIR,
            .chartjs = SG_API_CHARTJS,
            .progress_s = 10,
        };
        double token_cache_s = 2;
        token_job_t tj = {0};
        const sg_opt_t opts[] = {
            {.name = "listen", .kind = SG_OPT_STRING, .dest = &conf.listen,
             .arg = "HOST:PORT",
             .help = "address to listen on ([IPV6]:PORT; port 0: any free"
                     "\nport, said in the log)"},
            {.name = "tls-cert", .kind = SG_OPT_STRING, .dest = &conf.tls_cert,
             .arg = "FILE", .help = "serve HTTPS with this PEM certificate "
                                    "(and --tls-key)"},
            {.name = "tls-key", .kind = SG_OPT_STRING, .dest = &conf.tls_key,
             .arg = "FILE", .help = "the certificate's PEM private key"},
            {.name = "max-body", .kind = SG_OPT_LLONG, .dest = &conf.max_body,
             .arg = "BYTES", .min = 1024, .max = 64LL * 1024 * 1024,
             .help = "largest request body (413 above)"},
            {.name = "max-batch", .kind = SG_OPT_INT, .dest = &conf.max_batch,
             .arg = "N", .min = 1, .max = 100000,
             .help = "most events in one POST /events (413 above)"},
            {.name = "request-timeout", .kind = SG_OPT_INT,
             .dest = &conf.request_timeout_s, .arg = "SECONDS", .min = 1,
             .max = 3600, .unit = "s",
             .help = "a connection idle this long is closed; a body must"
                     "\narrive within it; a query's statement timeout"},
            {.name = "max-connections", .kind = SG_OPT_INT,
             .dest = &conf.max_connections, .arg = "N", .min = 1,
             .max = 100000, .help = "connections at once"},
            {.name = "ack-timeout", .kind = SG_OPT_DOUBLE,
             .dest = &conf.ack_timeout_s, .arg = "SECONDS", .dmin = 0.1,
             .dmax = 300, .unit = "s",
             .help = "POST /events answers 503 when the broker has not"
                     "\nacknowledged every event by then"},
            {.name = "threads", .kind = SG_OPT_INT, .dest = &conf.threads,
             .arg = "N", .min = 1, .max = 64, .help = "HTTP threads"},
            {.name = "db-workers", .kind = SG_OPT_INT, .dest = &conf.db_workers,
             .arg = "N", .min = 1, .max = 64,
             .help = "database workers (one connection each) for queries"
                     "\nand privacy requests"},
            {.name = "auth-fail-limit", .kind = SG_OPT_INT,
             .dest = &conf.auth_fail_limit, .arg = "N", .min = 1,
             .max = 1000000,
             .help = "failed authentications a minute per client address,"
                     "\nthen 429 (addresses kept in memory only)"},
            {.name = "token-cache", .kind = SG_OPT_DOUBLE, .dest = &token_cache_s,
             .arg = "SECONDS", .dmin = 1, .dmax = 3600, .unit = "s",
             .help = "tokens are reloaded every 0.5 s; while PostgreSQL is"
                     "\nunreachable the last ones are trusted this long, then"
                     "\nrequests get 503: a revoked token is refused within"
                     "\nthis time"},
            {.name = "www", .kind = SG_OPT_STRING, .dest = &conf.www_dir,
             .arg = "DIR", .help = "the dashboard's files (/ and /static/*)"},
            {.name = "chartjs", .kind = SG_OPT_STRING, .dest = &conf.chartjs,
             .arg = "FILE", .help = "served as /static/vendor/chart.umd.js"},
            {.name = "progress-interval", .kind = SG_OPT_INT,
             .dest = &conf.progress_s, .arg = "SECONDS", .min = 1, .max = 3600,
             .unit = "s", .help = "progress line period"},
            SG_OPT_END,
        };
        sg_metrics_conf_t mc;
        sg_opt_t metrics_opts[2];
        const sg_opt_t token_opts[] = {
            {.name = "role", .kind = SG_OPT_STRING, .dest = &tj.role,
             .arg = "ROLE", .help = "token create: ingest, analyst, privacy "
                                    "or admin"},
            {.name = "name", .kind = SG_OPT_STRING, .dest = &tj.name,
             .arg = "NAME", .help = "token create, revoke: the token's name"},
            SG_OPT_END,
        };
        const sg_cli_t cli = {
            .prog = PROG,
            .synopsis = "[options]\n       " PROG
                        " token create --role ROLE --name NAME | token list | "
                        "token revoke --name NAME",
            .about = "StreamGuard's HTTP API (docs/api.md): POST /events into "
                     "Kafka (validated and\nmasked like the consumers, 202 "
                     "only once the broker acknowledged every event),\n"
                     "statistics and compliance queries, privacy requests, "
                     "health, readiness,\nPrometheus metrics, the OpenAPI "
                     "document and the dashboard. Bearer tokens with\nroles "
                     "ingest, analyst, privacy, admin; every request is a row "
                     "of api_access_log.",
            .tables = {opts, token_opts, metrics_opts},
            .titles = {"Server", "Tokens", "Metrics"},
            .epilog = "The server connects as sg_api by default, the token "
                      "commands as sg_owner\n(who owns api_tokens). A token "
                      "is printed once, on stdout; only its SHA-256\nis "
                      "stored.",
            .min_args = 0,
            .max_args = 2,
        };
        int first = 0, st;

        sg_metrics_conf_init(&mc);
        sg_metrics_opts(&mc, metrics_opts);
        conf.metrics = &mc;
        sg_cli_common_init(&common);
        st = sg_cli_parse(&cli, &common, argc, argv, &first);
        if (st != SG_CLI_RUN)
                return st;
        conf.common = &common;
        conf.token_cache_ms = (int)(token_cache_s * 1000.0);
        if (first < argc) {
                if (strcmp(argv[first], "routes") == 0 && first + 1 == argc) {
                        cmd_routes();
                        return 0;
                }
                if (strcmp(argv[first], "token") == 0 && first + 2 == argc)
                        return cmd_token(&cli, &common, argv[first + 1], &tj);
                return sg_cli_usage_error(&cli, "unknown command '%s'",
                                          argv[first]);
        }
        if (tj.role || tj.name)
                return sg_cli_usage_error(&cli, "--role and --name belong to "
                                                "the token commands");
        if (!conf.tls_cert != !conf.tls_key)
                return sg_cli_usage_error(&cli, "--tls-cert and --tls-key go "
                                                "together");
        return sg_api_server_run(&conf);
}
