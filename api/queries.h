#ifndef SG_API_QUERIES_H
#define SG_API_QUERIES_H

/* sg-api's read-only queries (docs/api.md, "Query answers"): one function
 * per GET route. Each checks its parameters (400 invalid_parameter before
 * any query), reads its answer with ONE parameterised statement (so the
 * answer is one consistent snapshot, and "as_of" is that statement's
 * now()) and returns it as a jansson object. The HTTP server (routing,
 * authentication, serialisation) is someone else's: these functions know
 * nothing of HTTP but the status codes of docs/api.md.
 *
 * Reals (error_rate, rounded to 4 decimals; a flag's observed and
 * threshold) print exactly only with json_dumps(..., JSON_REAL_PRECISION(15))
 * or less: jansson's default of 17 digits prints 0.0323 as
 * 0.032300000000000002.
 *
 * Privacy: no function reads users_pii or privacy_requests.email; the
 * roles sg_analytics (and sg_api) can run every one of them. Problem
 * details name the parameter, never echo its value. */

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

typedef struct {
        const char *path_param; /* the route's {param}, or NULL; NOT
                                   pattern-checked yet: the query checks it */
        const char *(*arg)(void *ctx,
                           const char *name); /* a query-string argument, or
                                                 NULL when absent */
        void *ctx;
        rd_kafka_t *rk; /* for watermarks; may be NULL (then lag is null) */
} sg_api_req_t;

typedef struct {
        int status;
        const char *code; /* one of docs/api.md's problem codes (static) */
        char detail[256];
        bool db_lost; /* the connection failed: the caller resets it (503
                         'unavailable') */
} sg_api_problem_t;

/* 200 and *out set (a jansson object the caller json_decref()s), or
 * another status with *p filled (code = one of docs/api.md's problem
 * codes). db_lost: the connection failed (caller resets it; 503
 * 'unavailable'). */
typedef int (*sg_api_query_fn)(PGconn *db, const sg_api_req_t *rq,
                               json_t **out, sg_api_problem_t *p);

/* GET /stats/summary?from=&to= */
int sg_api_q_stats_summary(PGconn *db, const sg_api_req_t *rq, json_t **out,
                           sg_api_problem_t *p);
/* GET /stats/content/{content_id}?from=&to= */
int sg_api_q_stats_content(PGconn *db, const sg_api_req_t *rq, json_t **out,
                           sg_api_problem_t *p);
/* GET /stats/region/{country}?from=&to= (a bare alpha-2 code counts its
 * subdivisions too: US is US, US-CA, US-NY, ...) */
int sg_api_q_stats_region(PGconn *db, const sg_api_req_t *rq, json_t **out,
                          sg_api_problem_t *p);
/* GET /stats/timeseries?minutes= */
int sg_api_q_stats_timeseries(PGconn *db, const sg_api_req_t *rq,
                              json_t **out, sg_api_problem_t *p);
/* GET /stats/pipeline (asks Kafka for watermarks through rq->rk, at most
 * SG_API_WATERMARK_MS per partition; after one failure, no more) */
int sg_api_q_stats_pipeline(PGconn *db, const sg_api_req_t *rq, json_t **out,
                            sg_api_problem_t *p);
/* GET /compliance/summary?from=&to= */
int sg_api_q_compliance_summary(PGconn *db, const sg_api_req_t *rq,
                                json_t **out, sg_api_problem_t *p);
/* GET /compliance/flags?rule=&severity=&subject_type=&subject_id=&from=&to=
 *     &limit=&cursor= (keyset pagination, opaque cursor) */
int sg_api_q_compliance_flags(PGconn *db, const sg_api_req_t *rq,
                              json_t **out, sg_api_problem_t *p);
/* GET /compliance/flags/{flag_id} */
int sg_api_q_compliance_flag(PGconn *db, const sg_api_req_t *rq, json_t **out,
                             sg_api_problem_t *p);
/* GET /compliance/regions?from=&to= */
int sg_api_q_compliance_regions(PGconn *db, const sg_api_req_t *rq,
                                json_t **out, sg_api_problem_t *p);
/* GET /privacy-requests/{id}: never the e-mail column */
int sg_api_q_privacy_request(PGconn *db, const sg_api_req_t *rq, json_t **out,
                             sg_api_problem_t *p);
/* GET /privacy-requests/summary */
int sg_api_q_privacy_summary(PGconn *db, const sg_api_req_t *rq, json_t **out,
                             sg_api_problem_t *p);

/* ---- The pure parts (unit-tested: tests/unit/test_api_queries.c) ---- */

#define SG_API_TOPIC "user_events"  /* the topic /stats/pipeline reports */
#define SG_API_WATERMARK_MS 500     /* one watermark query's timeout */
#define SG_API_MAX_DAYS 366         /* the longest from..to range */
#define SG_API_LIMIT_MAX 500        /* /compliance/flags' page size */
#define SG_API_LIMIT_DEFAULT 50
#define SG_API_MINUTES_MAX 1440     /* /stats/timeseries' range */
#define SG_API_MINUTES_DEFAULT 60
#define SG_API_CURSOR_MAX 96        /* an encoded cursor, NUL included */

/* Path parameter patterns (docs/api.md). NULL-safe (NULL: false). */
bool sg_api_valid_content_id(const char *s); /* ^[A-Za-z0-9_.:-]{1,64}$ */
bool sg_api_valid_country(const char *s);    /* ^[A-Z]{2}(-[A-Z0-9]{1,3})?$ */
bool sg_api_valid_rule(const char *s);       /* ^[a-z_]{1,64}$ */

/* A positive integer id (^[1-9][0-9]*$, at most 2^63 - 1) into *id.
 * Returns 0, or -1. */
int sg_api_parse_id(const char *s, long long *id);

/* The date range of a query: from and to (NULL when absent) are real
 * YYYY-MM-DD dates, each defaulting to today (days since the epoch, UTC);
 * to >= from, at most SG_API_MAX_DAYS days inclusive. Writes both as
 * YYYY-MM-DD. Returns 0, or 400 with *p filled (the detail names the
 * parameter, not its value). */
int sg_api_parse_dates(const char *from, const char *to, long long today,
                       char from_out[11], char to_out[11],
                       sg_api_problem_t *p);

/* An integer query parameter "name" (s NULL: dflt) within lo..hi.
 * Returns 0, or 400 with *p filled. */
int sg_api_parse_int(const char *name, const char *s, long long lo,
                     long long hi, long long dflt, long long *out,
                     sg_api_problem_t *p);

/* The /compliance/flags cursor: the position of the last flag of a page,
 * (window_start in microseconds since the epoch, flag_id), as base64url
 * (no padding) of "<ts_us>.<flag_id>". encode writes at most
 * SG_API_CURSOR_MAX bytes (NUL included). decode accepts exactly what
 * encode writes: a canonical base64url string of a decimal integer in the
 * event contract's years, a '.', a lower-case canonical UUID. Returns 0,
 * or -1 (out parameters untouched). */
void sg_api_cursor_encode(long long ts_us, const char *flag_id,
                          char out[SG_API_CURSOR_MAX]);
int sg_api_cursor_decode(const char *s, long long *ts_us, char flag_id[37]);

#endif
