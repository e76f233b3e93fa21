#ifndef SG_API_ROUTES_H
#define SG_API_ROUTES_H

/* sg-api's route table (docs/api.md) and its matcher. Pure: no I/O, no
 * global state but the constant table. */

#include <stdbool.h>
#include <stddef.h>

/* Roles, as bits; admin may use every route. */
typedef enum sg_api_role {
        SG_API_ROLE_NONE = 0,
        SG_API_ROLE_INGEST = 1,
        SG_API_ROLE_ANALYST = 2,
        SG_API_ROLE_PRIVACY = 4,
        SG_API_ROLE_ADMIN = 8,
} sg_api_role_t;

#define SG_API_ROLES_ANY                                                     \
        (SG_API_ROLE_INGEST | SG_API_ROLE_ANALYST | SG_API_ROLE_PRIVACY |    \
         SG_API_ROLE_ADMIN)

/* What answers a route (api/server.c dispatches on it). */
typedef enum sg_api_handler {
        SG_API_H_HEALTHZ,
        SG_API_H_READYZ,
        SG_API_H_METRICS,
        SG_API_H_OPENAPI,
        SG_API_H_INDEX,
        SG_API_H_STATIC,
        SG_API_H_WHOAMI,
        SG_API_H_EVENTS,
        SG_API_H_PRIVACY_POST,
        SG_API_H_QUERY, /* a read-only query of api/queries.h */
} sg_api_handler_t;

/* The read-only queries (api/queries.h), by index. */
typedef enum sg_api_query {
        SG_API_Q_NONE = -1,
        SG_API_Q_STATS_SUMMARY = 0,
        SG_API_Q_STATS_CONTENT,
        SG_API_Q_STATS_REGION,
        SG_API_Q_STATS_TIMESERIES,
        SG_API_Q_STATS_PIPELINE,
        SG_API_Q_COMPLIANCE_SUMMARY,
        SG_API_Q_COMPLIANCE_FLAGS,
        SG_API_Q_COMPLIANCE_FLAG,
        SG_API_Q_COMPLIANCE_REGIONS,
        SG_API_Q_PRIVACY_SUMMARY,
        SG_API_Q_PRIVACY_REQUEST,
        SG_API_Q__CNT
} sg_api_query_t;

typedef struct sg_api_route {
        const char *method;   /* "GET" or "POST" (HEAD matches GET) */
        const char *path;     /* the template: "/compliance/flags/{flag_id}" */
        unsigned roles;       /* SG_API_ROLE_* bits; 0: no authentication */
        sg_api_handler_t handler;
        sg_api_query_t query; /* SG_API_H_QUERY: which one */
} sg_api_route_t;

/* The table, in match order, and its length. */
extern const sg_api_route_t sg_api_routes[];
extern const size_t sg_api_nroutes;

/* Parses "ingest", "analyst", "privacy" or "admin". Returns the bit, or
 * SG_API_ROLE_NONE for anything else. */
sg_api_role_t sg_api_role_parse(const char *s);

/* The name of a role bit ("ingest", ...), "" for none. */
const char *sg_api_role_name(sg_api_role_t r);

/* True if a token of this role may call the route. */
bool sg_api_role_allows(const sg_api_route_t *route, sg_api_role_t role);

/* Finds the route of method and path (the path without its query string,
 * already percent-decoded). A "{name}" segment matches one non-empty
 * segment, which is copied (NUL-terminated, cut to param_size - 1) into
 * param; the last "{path}" of /static/{path} matches the rest of the path.
 * Returns the route, or NULL: then *path_known tells whether the path
 * exists with another method (405) and allow lists the methods it has
 * ("GET, HEAD"). */
const sg_api_route_t *sg_api_route_find(const char *method, const char *path,
                                        char *param, size_t param_size,
                                        bool *path_known, char *allow,
                                        size_t allow_size);

#endif
