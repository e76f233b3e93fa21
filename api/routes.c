/* sg-api's routes: the one table the server dispatches on, `sg-api routes`
 * prints and /openapi.json must list (tests/integration/test_api.sh checks
 * both ways). */

#include "routes.h"

#include <stdio.h>
#include <string.h>

#define R_INGEST SG_API_ROLE_INGEST
#define R_ANALYST SG_API_ROLE_ANALYST
#define R_PRIVACY SG_API_ROLE_PRIVACY
#define R_ANY SG_API_ROLES_ANY

const sg_api_route_t sg_api_routes[] = {
    {"GET", "/healthz", 0, SG_API_H_HEALTHZ, SG_API_Q_NONE},
    {"GET", "/readyz", 0, SG_API_H_READYZ, SG_API_Q_NONE},
    {"GET", "/metrics", 0, SG_API_H_METRICS, SG_API_Q_NONE},
    {"GET", "/openapi.json", 0, SG_API_H_OPENAPI, SG_API_Q_NONE},
    {"GET", "/", 0, SG_API_H_INDEX, SG_API_Q_NONE},
    {"GET", "/static/{path}", 0, SG_API_H_STATIC, SG_API_Q_NONE},
    {"GET", "/auth/whoami", R_ANY, SG_API_H_WHOAMI, SG_API_Q_NONE},
    {"POST", "/events", R_INGEST, SG_API_H_EVENTS, SG_API_Q_NONE},
    {"POST", "/privacy-requests", R_PRIVACY, SG_API_H_PRIVACY_POST, SG_API_Q_NONE},
    {"GET", "/stats/summary", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_STATS_SUMMARY},
    {"GET", "/stats/content/{content_id}", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_STATS_CONTENT},
    {"GET", "/stats/region/{country}", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_STATS_REGION},
    {"GET", "/stats/timeseries", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_STATS_TIMESERIES},
    {"GET", "/stats/pipeline", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_STATS_PIPELINE},
    {"GET", "/compliance/summary", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_COMPLIANCE_SUMMARY},
    {"GET", "/compliance/flags", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_COMPLIANCE_FLAGS},
    {"GET", "/compliance/flags/{flag_id}", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_COMPLIANCE_FLAG},
    {"GET", "/compliance/regions", R_ANALYST, SG_API_H_QUERY,
     SG_API_Q_COMPLIANCE_REGIONS},
    /* Before {id}: "summary" is not an id. */
    {"GET", "/privacy-requests/summary", R_ANALYST | R_PRIVACY,
     SG_API_H_QUERY, SG_API_Q_PRIVACY_SUMMARY},
    {"GET", "/privacy-requests/{id}", R_PRIVACY, SG_API_H_QUERY,
     SG_API_Q_PRIVACY_REQUEST},
};
const size_t sg_api_nroutes = sizeof(sg_api_routes) / sizeof(sg_api_routes[0]);

static const char *const role_names[] = {"ingest", "analyst", "privacy",
                                         "admin"};

sg_api_role_t sg_api_role_parse(const char *s)
{
        for (int i = 0; i < 4; i++)
                if (s && strcmp(s, role_names[i]) == 0)
                        return (sg_api_role_t)(1 << i);
        return SG_API_ROLE_NONE;
}

const char *sg_api_role_name(sg_api_role_t r)
{
        for (int i = 0; i < 4; i++)
                if (r == (sg_api_role_t)(1 << i))
                        return role_names[i];
        return "";
}

bool sg_api_role_allows(const sg_api_route_t *route, sg_api_role_t role)
{
        if (route->roles == 0)
                return true;
        return role == SG_API_ROLE_ADMIN || (route->roles & role) != 0;
}

/* Does path match the template? A "{x}" segment takes one non-empty
 * segment; "/static/{path}" (the template's last segment is {path})
 * takes the rest, which must not be empty. */
static bool match(const char *tpl, const char *path, char *param,
                  size_t param_size)
{
        const char *t = tpl, *p = path;

        while (*t && *p) {
                if (*t == '{') {
                        const char *close = strchr(t, '}');
                        bool rest = strncmp(t, "{path}", 6) == 0 &&
                                    close[1] == '\0';
                        size_t n = rest ? strlen(p) : strcspn(p, "/");

                        if (n == 0)
                                return false;
                        if (param && param_size > 0) {
                                size_t c = n < param_size - 1 ? n
                                                              : param_size - 1;
                                memcpy(param, p, c);
                                param[c] = '\0';
                        }
                        p += n;
                        t = close + 1;
                        continue;
                }
                if (*t != *p)
                        return false;
                t++;
                p++;
        }
        return *t == '\0' && *p == '\0';
}

const sg_api_route_t *sg_api_route_find(const char *method, const char *path,
                                        char *param, size_t param_size,
                                        bool *path_known, char *allow,
                                        size_t allow_size)
{
        const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
        bool get = false, post = false;

        if (param_size > 0)
                param[0] = '\0';
        *path_known = false;
        for (size_t i = 0; i < sg_api_nroutes; i++) {
                const sg_api_route_t *r = &sg_api_routes[i];
                char tmp[8];

                if (!match(r->path, path, tmp, sizeof(tmp)))
                        continue;
                if (strcmp(r->method, m) == 0) {
                        (void)match(r->path, path, param, param_size);
                        return r;
                }
                *path_known = true;
                get |= strcmp(r->method, "GET") == 0;
                post |= strcmp(r->method, "POST") == 0;
        }
        if (allow_size > 0)
                snprintf(allow, allow_size, "%s%s%s", get ? "GET, HEAD" : "",
                         get && post ? ", " : "", post ? "POST" : "");
        return NULL;
}
