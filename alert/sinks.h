#ifndef SG_SINKS_H
#define SG_SINKS_H

/* sg-alert's sinks file (config/alert.sinks, docs/alerts.md): global
 * settings, then one "[sink NAME]" section per HTTP endpoint, in the
 * format of common/sg_conf.h. Pure: the secret itself is never here, only
 * the name of the environment variable that holds it. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_defs.h"

#define SG_SINKS_MAX 32
#define SG_SINK_NAME_MAX 64  /* bytes, with the NUL */
#define SG_SINK_URL_MAX 1024
#define SG_SINK_ENV_MAX 128
#define SG_SINK_PATH_MAX 1024

/* The sources a sink may take (alerts.source); 'test' alerts go to every
 * sink, 'digest' alerts are never routed. */
typedef enum sg_sink_source {
        SG_SINK_COMPLIANCE = 1u << 0,
        SG_SINK_GDPR = 1u << 1,
        SG_SINK_COMPARE = 1u << 2,
        SG_SINK_CONSUMER = 1u << 3,
        SG_SINK_ALL_SOURCES = (1u << 4) - 1,
} sg_sink_source_t;

typedef struct sg_sink {
        char name[SG_SINK_NAME_MAX];
        char url[SG_SINK_URL_MAX];         /* http:// or https:// */
        char secret_env[SG_SINK_ENV_MAX];  /* the HMAC key's variable */
        char ca_file[SG_SINK_PATH_MAX];    /* "": the system's CAs */
        unsigned sources;                  /* sg_sink_source_t bits */
        int min_severity;                  /* 1 low, 2 medium, 3 high */
        int rate_per_minute;
} sg_sink_t;

typedef struct sg_sinks {
        long long max_age_ms;         /* undelivered this long: dead */
        long long connect_timeout_ms;
        long long timeout_ms;         /* a whole transfer */
        long long backoff_min_ms;
        long long backoff_max_ms;
        long long lease_ms;           /* a claimed row's lease */
        int max_in_flight;            /* transfers per sink at once */
        int n;
        sg_sink_t sink[SG_SINKS_MAX];
} sg_sinks_t;

/* The defaults: max_age 24h, connect_timeout 5s, timeout 10s,
 * backoff_min 1s, backoff_max 5m, lease 60s, max_in_flight 32, no
 * sinks. */
void sg_sinks_defaults(sg_sinks_t *s);

/* Parses a sinks file's text into s (its defaults first): every error is
 * "<name>:<line>: <what>" in errstr and the result -1 with s unchanged;
 * 0 on success. */
int sg_sinks_parse(sg_sinks_t *s, const char *name, const char *text,
                   size_t len, char *errstr, size_t errstr_size) SG_MUST_CHECK;

/* Reads and parses the file at path (as above, and "<path>: <reason>"
 * for a file that cannot be read). */
int sg_sinks_load(sg_sinks_t *s, const char *path, char *errstr,
                  size_t errstr_size) SG_MUST_CHECK;

/* The sink named name, or NULL. */
const sg_sink_t *sg_sinks_find(const sg_sinks_t *s, const char *name);

/* "compliance,gdpr": a sink's sources as a comma list (the routing
 * query's form). */
void sg_sinks_sources_list(unsigned sources, char *out, size_t size);

/* 1, 2, 3 for "low", "medium", "high"; -1 for anything else. */
int sg_sinks_severity_rank(const char *severity);
/* "low", "medium", "high"; "?" out of range. */
const char *sg_sinks_severity_name(int rank);

#endif
