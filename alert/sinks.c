#include "sinks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sg_conf.h"

#define SG_SINKS_MS(us) ((us) / 1000)
#define SG_SINKS_HOUR_MS (3600LL * 1000)
#define SG_SINKS_DAY_MS (24 * SG_SINKS_HOUR_MS)

static const char *const sg_sinks_source_names[] = {
    "compliance", "gdpr", "compare", "consumer", NULL,
};

typedef enum sg_sinks_global {
        SG_SINKS_MAX_AGE = 0,
        SG_SINKS_CONNECT_TIMEOUT,
        SG_SINKS_TIMEOUT,
        SG_SINKS_BACKOFF_MIN,
        SG_SINKS_BACKOFF_MAX,
        SG_SINKS_LEASE,
        SG_SINKS_MAX_IN_FLIGHT,
        SG_SINKS__GLOBALS
} sg_sinks_global_t;

static const char *const sg_sinks_global_names[SG_SINKS__GLOBALS] = {
    "max_age", "connect_timeout", "timeout",       "backoff_min",
    "backoff_max", "lease",       "max_in_flight",
};

typedef enum sg_sinks_key {
        SG_SINKS_URL = 0,
        SG_SINKS_SECRET_ENV,
        SG_SINKS_SOURCES,
        SG_SINKS_MIN_SEVERITY,
        SG_SINKS_RATE,
        SG_SINKS_CA_FILE,
        SG_SINKS__KEYS
} sg_sinks_key_t;

static const char *const sg_sinks_key_names[SG_SINKS__KEYS] = {
    "url", "secret_env", "sources", "min_severity", "rate_per_minute",
    "ca_file",
};

/* The file's meaning, over sg_conf's lines. */
typedef struct sg_sinks_parser {
        sg_sinks_t *t;
        int section; /* the current sink; -1: the globals */
        size_t section_line;
        size_t global_line[SG_SINKS__GLOBALS];
        size_t key_line[SG_SINKS__KEYS]; /* of the current sink */
} sg_sinks_parser_t;

void sg_sinks_defaults(sg_sinks_t *s)
{
        memset(s, 0, sizeof(*s));
        s->max_age_ms = SG_SINKS_DAY_MS;
        s->connect_timeout_ms = 5000;
        s->timeout_ms = 10000;
        s->backoff_min_ms = 1000;
        s->backoff_max_ms = 5 * 60 * 1000;
        s->lease_ms = 60 * 1000;
        s->max_in_flight = 32;
}

int sg_sinks_severity_rank(const char *severity)
{
        if (!severity)
                return -1;
        if (strcmp(severity, "low") == 0)
                return 1;
        if (strcmp(severity, "medium") == 0)
                return 2;
        if (strcmp(severity, "high") == 0)
                return 3;
        return -1;
}

const char *sg_sinks_severity_name(int rank)
{
        static const char *const names[] = {"?", "low", "medium", "high"};

        return rank >= 1 && rank <= 3 ? names[rank] : names[0];
}

const sg_sink_t *sg_sinks_find(const sg_sinks_t *s, const char *name)
{
        for (int i = 0; i < s->n; i++)
                if (strcmp(s->sink[i].name, name) == 0)
                        return &s->sink[i];
        return NULL;
}

void sg_sinks_sources_list(unsigned sources, char *out, size_t size)
{
        size_t len = 0;

        if (size == 0)
                return;
        out[0] = '\0';
        for (int i = 0; sg_sinks_source_names[i]; i++) {
                int n;

                if (!(sources & (1u << i)))
                        continue;
                n = snprintf(out + len, size - len, "%s%s", len ? "," : "",
                             sg_sinks_source_names[i]);
                if (n < 0 || (size_t)n >= size - len)
                        return;
                len += (size_t)n;
        }
}

static bool sg_sinks_name_char(char ch)
{
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
               (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
               ch == '.';
}

/* A duration in [min_ms, max_ms], in ms. */
static int sg_sinks_duration(const sg_conf_t *p, const char *key,
                             const char *v, long long min_ms, long long max_ms,
                             const char *range, long long *dest)
{
        char what[96];
        long long us;

        if (sg_conf_duration(v, &us) < 0)
                return sg_conf_bad(p, key, v,
                                   "is not a duration (an integer and ms, s, "
                                   "m or h)");
        if (SG_SINKS_MS(us) < min_ms || SG_SINKS_MS(us) > max_ms) {
                snprintf(what, sizeof(what), "is out of range (%s)", range);
                return sg_conf_bad(p, key, v, what);
        }
        *dest = SG_SINKS_MS(us);
        return 0;
}

static int sg_sinks_set_global(const sg_conf_t *p, sg_sinks_t *t,
                               sg_sinks_global_t g, const char *v)
{
        const char *key = sg_sinks_global_names[g];
        long long n;

        switch (g) {
        case SG_SINKS_MAX_AGE:
                return sg_sinks_duration(p, key, v, 1000, 30 * SG_SINKS_DAY_MS,
                                         "1s to 720h", &t->max_age_ms);
        case SG_SINKS_CONNECT_TIMEOUT:
                return sg_sinks_duration(p, key, v, 1, 5 * 60 * 1000,
                                         "1ms to 5m", &t->connect_timeout_ms);
        case SG_SINKS_TIMEOUT:
                return sg_sinks_duration(p, key, v, 1, SG_SINKS_HOUR_MS,
                                         "1ms to 1h", &t->timeout_ms);
        case SG_SINKS_BACKOFF_MIN:
                return sg_sinks_duration(p, key, v, 1, SG_SINKS_HOUR_MS,
                                         "1ms to 1h", &t->backoff_min_ms);
        case SG_SINKS_BACKOFF_MAX:
                return sg_sinks_duration(p, key, v, 1, SG_SINKS_DAY_MS,
                                         "1ms to 24h", &t->backoff_max_ms);
        case SG_SINKS_LEASE:
                return sg_sinks_duration(p, key, v, 1000, 2 * SG_SINKS_HOUR_MS,
                                         "1s to 2h", &t->lease_ms);
        case SG_SINKS_MAX_IN_FLIGHT:
                if (sg_conf_integer(v, 1, 1024, &n) < 0)
                        return sg_conf_bad(p, key, v,
                                           "is not an integer from 1 to 1024");
                t->max_in_flight = (int)n;
                return 0;
        case SG_SINKS__GLOBALS:
                break;
        }
        return -1;
}

/* "compliance, gdpr": known names, at least one. */
static int sg_sinks_set_sources(const sg_conf_t *p, sg_sink_t *k,
                                const char *v)
{
        char buf[SG_CONF_MAX_LINE + 1];
        unsigned bits = 0;
        char *save = NULL, *tok;

        snprintf(buf, sizeof(buf), "%s", v);
        for (tok = strtok_r(buf, ",", &save); tok;
             tok = strtok_r(NULL, ",", &save)) {
                int i;

                while (*tok == ' ' || *tok == '\t')
                        tok++;
                for (size_t n = strlen(tok);
                     n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'); n--)
                        tok[n - 1] = '\0';
                for (i = 0; sg_sinks_source_names[i]; i++)
                        if (strcmp(tok, sg_sinks_source_names[i]) == 0)
                                break;
                if (!sg_sinks_source_names[i])
                        return sg_conf_bad(p, "sources", v,
                                           "is not a comma list of compliance, "
                                           "gdpr, compare, consumer");
                bits |= 1u << i;
        }
        if (!bits)
                return sg_conf_bad(p, "sources", v, "names no source");
        k->sources = bits;
        return 0;
}

/* http:// or https://, a host, no space or control byte. */
static bool sg_sinks_url_ok(const char *v)
{
        const char *host;

        if (strncasecmp(v, "http://", 7) == 0)
                host = v + 7;
        else if (strncasecmp(v, "https://", 8) == 0)
                host = v + 8;
        else
                return false;
        if (!*host || *host == '/' || *host == ':' || *host == '?')
                return false;
        for (const char *c = v; *c; c++)
                if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f)
                        return false;
        return true;
}

/* An environment variable's name: [A-Za-z_][A-Za-z0-9_]*. */
static bool sg_sinks_env_ok(const char *v)
{
        if (!((*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
              *v == '_'))
                return false;
        for (; *v; v++)
                if (!sg_sinks_name_char(*v) || *v == '-' || *v == '.')
                        return false;
        return true;
}

static int sg_sinks_copy(const sg_conf_t *p, const char *key, const char *v,
                         char *dest, size_t size)
{
        char what[64];

        if (strlen(v) >= size) {
                snprintf(what, sizeof(what), "is longer than %zu bytes",
                         size - 1);
                return sg_conf_bad(p, key, v, what);
        }
        memcpy(dest, v, strlen(v) + 1);
        return 0;
}

static int sg_sinks_set_key(const sg_conf_t *p, sg_sink_t *k, sg_sinks_key_t key,
                            const char *v)
{
        const char *name = sg_sinks_key_names[key];
        long long n;

        switch (key) {
        case SG_SINKS_URL:
                if (!sg_sinks_url_ok(v))
                        return sg_conf_bad(p, name, v,
                                           "is not an http:// or https:// URL");
                return sg_sinks_copy(p, name, v, k->url, sizeof(k->url));
        case SG_SINKS_SECRET_ENV:
                if (!sg_sinks_env_ok(v))
                        return sg_conf_bad(p, name, v,
                                           "is not an environment variable's "
                                           "name (the secret itself never goes "
                                           "in this file)");
                return sg_sinks_copy(p, name, v, k->secret_env,
                                     sizeof(k->secret_env));
        case SG_SINKS_SOURCES:
                return sg_sinks_set_sources(p, k, v);
        case SG_SINKS_MIN_SEVERITY:
                k->min_severity = sg_sinks_severity_rank(v);
                if (k->min_severity < 0)
                        return sg_conf_bad(p, name, v,
                                           "is not a severity (low, medium or "
                                           "high)");
                return 0;
        case SG_SINKS_RATE:
                if (sg_conf_integer(v, 1, 1000000, &n) < 0)
                        return sg_conf_bad(p, name, v,
                                           "is not an integer from 1 to "
                                           "1000000");
                k->rate_per_minute = (int)n;
                return 0;
        case SG_SINKS_CA_FILE:
                return sg_sinks_copy(p, name, v, k->ca_file,
                                     sizeof(k->ca_file));
        case SG_SINKS__KEYS:
                break;
        }
        return -1;
}

/* The checks when a section (or the globals) ends. */
static int sg_sinks_section_end(const sg_conf_t *p, sg_sinks_parser_t *sp)
{
        const sg_sink_t *k;

        if (sp->section < 0) {
                const sg_sinks_t *t = sp->t;
                size_t lmin = sp->global_line[SG_SINKS_BACKOFF_MIN];
                size_t lmax = sp->global_line[SG_SINKS_BACKOFF_MAX];
                size_t lt = sp->global_line[SG_SINKS_TIMEOUT];
                size_t ll = sp->global_line[SG_SINKS_LEASE];

                if (t->backoff_min_ms > t->backoff_max_ms)
                        return sg_conf_fail(p, lmin > lmax ? lmin : lmax,
                                            "backoff_min must not be above "
                                            "backoff_max");
                /* A transfer must end before its lease does, or another
                 * instance would send the row again while it runs. */
                if (t->lease_ms <= t->timeout_ms + t->connect_timeout_ms)
                        return sg_conf_fail(p, ll > lt ? ll : (lt ? lt : p->line),
                                            "lease must be longer than "
                                            "timeout + connect_timeout");
                return 0;
        }
        k = &sp->t->sink[sp->section];
        if (!k->url[0])
                return sg_conf_fail(p, sp->section_line,
                                    "[sink %s] has no url", k->name);
        if (!k->secret_env[0])
                return sg_conf_fail(p, sp->section_line,
                                    "[sink %s] has no secret_env (the name of "
                                    "the environment variable holding its "
                                    "HMAC key)",
                                    k->name);
        return 0;
}

static int sg_sinks_on_section(sg_conf_t *p, char *s, void *arg)
{
        sg_sinks_parser_t *sp = arg;
        sg_sinks_t *t = sp->t;
        char echo[SG_CONF_ECHO_MAX + 4];
        const char *name;
        sg_sink_t *k;

        if (strncmp(s, "sink", 4) != 0 || (s[4] != ' ' && s[4] != '\t'))
                return sg_conf_fail(p, p->line,
                                    "unknown section [%s] (expected [sink "
                                    "NAME])",
                                    sg_conf_echo(s, echo));
        for (name = s + 4; *name == ' ' || *name == '\t'; name++)
                ;
        if (!*name || strlen(name) >= SG_SINK_NAME_MAX)
                return sg_conf_fail(p, p->line,
                                    "a sink's name has 1 to %d characters",
                                    SG_SINK_NAME_MAX - 1);
        for (const char *c = name; *c; c++)
                if (!sg_sinks_name_char(*c))
                        return sg_conf_fail(p, p->line,
                                            "sink name '%s': only letters, "
                                            "digits, '_', '-' and '.'",
                                            sg_conf_echo(name, echo));
        for (int i = 0; i < t->n; i++)
                if (strcmp(t->sink[i].name, name) == 0)
                        return sg_conf_fail(p, p->line,
                                            "duplicate section [sink %s]",
                                            name);
        if (t->n >= SG_SINKS_MAX)
                return sg_conf_fail(p, p->line, "more than %d sinks",
                                    SG_SINKS_MAX);
        if (sg_sinks_section_end(p, sp) < 0)
                return -1;
        k = &t->sink[t->n];
        memset(k, 0, sizeof(*k));
        memcpy(k->name, name, strlen(name) + 1);
        k->sources = SG_SINK_ALL_SOURCES;
        k->min_severity = 1;
        k->rate_per_minute = 60;
        sp->section = t->n++;
        sp->section_line = p->line;
        memset(sp->key_line, 0, sizeof(sp->key_line));
        return 0;
}

static int sg_sinks_on_assign(sg_conf_t *p, const char *key, const char *v,
                              void *arg)
{
        sg_sinks_parser_t *sp = arg;
        char scope[SG_SINK_NAME_MAX + 8];
        int i = sg_conf_key(p, sg_sinks_global_names, SG_SINKS__GLOBALS,
                            sg_sinks_key_names, SG_SINKS__KEYS,
                            sp->section >= 0, "sink's", key);

        if (i < 0)
                return -1;
        if (sp->section < 0) {
                if (sg_conf_first(p, key, NULL, &sp->global_line[i], v) < 0)
                        return -1;
                return sg_sinks_set_global(p, sp->t, (sg_sinks_global_t)i, v);
        }
        snprintf(scope, sizeof(scope), "[sink %s]",
                 sp->t->sink[sp->section].name);
        if (sg_conf_first(p, key, scope, &sp->key_line[i], v) < 0)
                return -1;
        return sg_sinks_set_key(p, &sp->t->sink[sp->section],
                                (sg_sinks_key_t)i, v);
}

static int sg_sinks_on_end(sg_conf_t *p, void *arg)
{
        sg_sinks_parser_t *sp = arg;

        if (sg_sinks_section_end(p, sp) < 0)
                return -1;
        if (sp->t->n == 0)
                return sg_conf_fail(p, p->line ? p->line : 1,
                                    "no [sink NAME] section: nothing to "
                                    "deliver to");
        return 0;
}

static const sg_conf_ops_t sg_sinks_ops = {
    .section = sg_sinks_on_section,
    .assign = sg_sinks_on_assign,
    .end = sg_sinks_on_end,
};

/* Parses (text, or the file at path when text is NULL) into a fresh
 * copy; s changes only on success. */
static int sg_sinks_run(sg_sinks_t *s, const char *name, const char *text,
                        size_t len, char *errstr, size_t errstr_size)
{
        sg_sinks_t *t = sg_xmalloc(sizeof(*t));
        sg_sinks_parser_t sp;
        int rc;

        sg_sinks_defaults(t);
        memset(&sp, 0, sizeof(sp));
        sp.t = t;
        sp.section = -1;
        if (text)
                rc = sg_conf_parse(name, "[sink NAME]", text, len,
                                   &sg_sinks_ops, &sp, errstr, errstr_size);
        else
                rc = sg_conf_load(name, "[sink NAME]", &sg_sinks_ops, &sp,
                                  errstr, errstr_size);
        if (rc == 0)
                *s = *t;
        free(t);
        return rc;
}

int sg_sinks_parse(sg_sinks_t *s, const char *name, const char *text,
                   size_t len, char *errstr, size_t errstr_size)
{
        return sg_sinks_run(s, name ? name : "(sinks)", text ? text : "", len,
                            errstr, errstr_size);
}

int sg_sinks_load(sg_sinks_t *s, const char *path, char *errstr,
                  size_t errstr_size)
{
        return sg_sinks_run(s, path, NULL, 0, errstr, errstr_size);
}
