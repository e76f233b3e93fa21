#ifndef SG_RULES_CONF_H
#define SG_RULES_CONF_H

/* The compliance rules' parameters (docs/compliance.md): their defaults,
 * the rules file (config/compliance.rules) that overrides them, and each
 * rule's version, a hash of its parameters that every flag records. Pure:
 * the file is read by the caller-facing loader, the parser works on text. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_conf.h"

/* The rules file's bounds (common/sg_conf.h, the format's parser): a
 * longer line, a larger file is refused. */
#define SG_RULES_CONF_MAX_LINE SG_CONF_MAX_LINE
#define SG_RULES_CONF_MAX_FILE SG_CONF_MAX_FILE

typedef enum sg_rule_id {
        SG_RULE_EU_NO_CONSENT = 0,
        SG_RULE_ERASED_USER_ACTIVITY,
        SG_RULE_DO_NOT_TRACK,
        SG_RULE_MULTI_COUNTRY,
        SG_RULE_MULTI_NETWORK,
        SG_RULE_HIGH_FREQUENCY,
        SG_RULE_LARGE_PURCHASE,
        SG_RULE_PURCHASE_BURST,
        SG_RULE_REPEAT_OFFENDER,
        SG_RULE_CONTENT_ERROR_RATE,
        SG_RULE_TRAFFIC_ANOMALY,
        SG_RULE__CNT
} sg_rule_id_t;

typedef enum sg_severity {
        SG_SEV_LOW = 1,
        SG_SEV_MEDIUM = 2,
        SG_SEV_HIGH = 3,
} sg_severity_t;

typedef enum sg_subject {
        SG_SUBJECT_USER = 0,
        SG_SUBJECT_CONTENT,
        SG_SUBJECT_COUNTRY,
} sg_subject_t;

/* One rule's parameters. Which fields a rule reads is in
 * docs/compliance.md ("The rules file"); the others stay 0. */
typedef struct sg_rule_conf {
        bool enabled;
        sg_severity_t severity; /* when it fires */
        int weight;             /* added to an event's risk score */
        long long window_us;    /* windowed rules: the window's length */
        long long threshold;    /* fires when the count (or the amount in
                                   cents, for large_purchase) is above it */
        long long high_threshold; /* severity high above it (multi_country)
                                     or from it on (large_purchase); 0: none */
        long long min_events;   /* content_error_rate: at least this many */
        double ratio;           /* content_error_rate: above this rate */
        double alpha;           /* traffic_anomaly: the baseline's weight */
        double sigmas;          /* traffic_anomaly: how far is anomalous */
        double min_stddev;      /* traffic_anomaly: the deviation's floor */
        long long history;      /* traffic_anomaly: windows before judging */
        char version[13];       /* 12 hex digits: hash of the above */
} sg_rule_conf_t;

typedef struct sg_rules_conf {
        sg_rule_conf_t rule[SG_RULE__CNT];
        long long lateness_us;   /* allowed lateness (watermark) */
        int playback_error_weight; /* risk score of a playback_error event */
        int level_high;          /* risk level high from this score on */
        int level_medium;        /* medium from this score on */
        int max_user_events;     /* events of one user kept in the state */
} sg_rules_conf_t;

/* "eu_no_consent", ...; NULL for an id out of range. */
const char *sg_rule_name(sg_rule_id_t id);
/* The id of a rule name, or -1. */
int sg_rule_from_name(const char *name);
/* "low", "medium", "high"; "?" for a value out of range. */
const char *sg_severity_name(sg_severity_t s);
/* "user", "content", "country"; "?" for a value out of range. */
const char *sg_subject_name(sg_subject_t s);
/* The subject a rule's flags are about. */
sg_subject_t sg_rule_subject(sg_rule_id_t id);

/* The defaults of docs/compliance.md, versions computed. */
void sg_rules_conf_defaults(sg_rules_conf_t *c);

/* Parses the rules file's text over c (which holds the defaults, or the
 * values to override): every error is "<name>:<line>: <what>" in errstr
 * and the result is -1 with c unchanged; 0 on success with the versions
 * recomputed. name is the file's name, for the messages. */
int sg_rules_conf_parse(sg_rules_conf_t *c, const char *name, const char *text,
                        size_t len, char *errstr, size_t errstr_size);

/* Reads and parses the file at path (as above); a file that cannot be
 * read is "<path>: <reason>", one larger than SG_RULES_CONF_MAX_FILE
 * "<path>: larger than 1 MiB". */
int sg_rules_conf_load(sg_rules_conf_t *c, const char *path, char *errstr,
                       size_t errstr_size);

/* Recomputes every rule's version from its parameters. */
void sg_rules_conf_version(sg_rules_conf_t *c);

/* The user windows' longest length (enabled rules), for pruning. */
long long sg_rules_conf_user_window_us(const sg_rules_conf_t *c);

#endif
