#include "rules_conf.h"

#include "sg_conf.h"
#include "sg_defs.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_RC_CANON_MAX 512
#define SG_RC_US_PER_S 1000000LL
#define SG_RC_WINDOW_MAX_US (24LL * 3600 * SG_RC_US_PER_S)
#define SG_RC_LATENESS_MAX_US (3600LL * SG_RC_US_PER_S)
#define SG_RC_COUNT_MAX 1000000000LL
#define SG_RC_AMOUNT_MAX_CENTS (1000000000000LL * 100) /* 1e12 units */

/* ------------------------------------------------------------ the rules */

static const char *const sg_rule_names[SG_RULE__CNT] = {
    [SG_RULE_EU_NO_CONSENT] = "eu_no_consent",
    [SG_RULE_ERASED_USER_ACTIVITY] = "erased_user_activity",
    [SG_RULE_DO_NOT_TRACK] = "do_not_track",
    [SG_RULE_MULTI_COUNTRY] = "multi_country",
    [SG_RULE_MULTI_NETWORK] = "multi_network",
    [SG_RULE_HIGH_FREQUENCY] = "high_frequency",
    [SG_RULE_LARGE_PURCHASE] = "large_purchase",
    [SG_RULE_PURCHASE_BURST] = "purchase_burst",
    [SG_RULE_REPEAT_OFFENDER] = "repeat_offender",
    [SG_RULE_CONTENT_ERROR_RATE] = "content_error_rate",
    [SG_RULE_TRAFFIC_ANOMALY] = "traffic_anomaly",
};

/* A rule's keys, in the order of its version's canonical text. */
typedef enum sg_rc_key {
        SG_RC_ENABLED = 0,
        SG_RC_SEVERITY,
        SG_RC_WEIGHT,
        SG_RC_WINDOW,
        SG_RC_THRESHOLD,
        SG_RC_HIGH_THRESHOLD,
        SG_RC_RATIO,
        SG_RC_MIN_EVENTS,
        SG_RC_ALPHA,
        SG_RC_SIGMAS,
        SG_RC_MIN_STDDEV,
        SG_RC_HISTORY,
        SG_RC__KEYS
} sg_rc_key_t;

/* The key in the file, and the field's name in the canonical text. */
static const char *const sg_rc_key_names[SG_RC__KEYS] = {
    "enabled",        "severity", "weight",     "window", "threshold",
    "high_threshold", "ratio",    "min_events", "alpha",  "sigmas",
    "min_stddev",     "history",
};
static const char *const sg_rc_key_fields[SG_RC__KEYS] = {
    "enabled",        "severity", "weight",     "window_us", "threshold",
    "high_threshold", "ratio",    "min_events", "alpha",     "sigmas",
    "min_stddev",     "history",
};

#define SG_RC_BIT(k) (1u << (k))
#define SG_RC_EVERY                                                            \
        (SG_RC_BIT(SG_RC_ENABLED) | SG_RC_BIT(SG_RC_SEVERITY) |                \
         SG_RC_BIT(SG_RC_WEIGHT))
#define SG_RC_COUNTED                                                          \
        (SG_RC_EVERY | SG_RC_BIT(SG_RC_WINDOW) | SG_RC_BIT(SG_RC_THRESHOLD))

/* The keys each rule uses (docs/compliance.md, "Keys by rule"). */
static const unsigned sg_rc_uses[SG_RULE__CNT] = {
    [SG_RULE_EU_NO_CONSENT] = SG_RC_EVERY,
    [SG_RULE_ERASED_USER_ACTIVITY] = SG_RC_EVERY,
    [SG_RULE_DO_NOT_TRACK] = SG_RC_EVERY,
    [SG_RULE_MULTI_COUNTRY] = SG_RC_COUNTED | SG_RC_BIT(SG_RC_HIGH_THRESHOLD),
    [SG_RULE_MULTI_NETWORK] = SG_RC_COUNTED,
    [SG_RULE_HIGH_FREQUENCY] = SG_RC_COUNTED,
    [SG_RULE_LARGE_PURCHASE] = SG_RC_EVERY | SG_RC_BIT(SG_RC_THRESHOLD) |
                               SG_RC_BIT(SG_RC_HIGH_THRESHOLD),
    [SG_RULE_PURCHASE_BURST] = SG_RC_COUNTED,
    [SG_RULE_REPEAT_OFFENDER] = SG_RC_COUNTED,
    [SG_RULE_CONTENT_ERROR_RATE] = SG_RC_EVERY | SG_RC_BIT(SG_RC_WINDOW) |
                                   SG_RC_BIT(SG_RC_RATIO) |
                                   SG_RC_BIT(SG_RC_MIN_EVENTS),
    [SG_RULE_TRAFFIC_ANOMALY] =
        SG_RC_EVERY | SG_RC_BIT(SG_RC_WINDOW) | SG_RC_BIT(SG_RC_ALPHA) |
        SG_RC_BIT(SG_RC_SIGMAS) | SG_RC_BIT(SG_RC_MIN_STDDEV) |
        SG_RC_BIT(SG_RC_HISTORY),
};

/* The global settings, before any section. */
typedef enum sg_rc_global {
        SG_RC_LATENESS = 0,
        SG_RC_PLAYBACK_ERROR_WEIGHT,
        SG_RC_LEVEL_HIGH,
        SG_RC_LEVEL_MEDIUM,
        SG_RC_MAX_USER_EVENTS,
        SG_RC__GLOBALS
} sg_rc_global_t;

static const char *const sg_rc_global_names[SG_RC__GLOBALS] = {
    "lateness", "playback_error_weight", "level_high", "level_medium",
    "max_user_events",
};

const char *sg_rule_name(sg_rule_id_t id)
{
        if ((int)id < 0 || id >= SG_RULE__CNT)
                return NULL;
        return sg_rule_names[id];
}

int sg_rule_from_name(const char *name)
{
        if (!name)
                return -1;
        for (int i = 0; i < SG_RULE__CNT; i++)
                if (strcmp(name, sg_rule_names[i]) == 0)
                        return i;
        return -1;
}

const char *sg_severity_name(sg_severity_t s)
{
        switch (s) {
        case SG_SEV_LOW:
                return "low";
        case SG_SEV_MEDIUM:
                return "medium";
        case SG_SEV_HIGH:
                return "high";
        }
        return "?";
}

const char *sg_subject_name(sg_subject_t s)
{
        switch (s) {
        case SG_SUBJECT_USER:
                return "user";
        case SG_SUBJECT_CONTENT:
                return "content";
        case SG_SUBJECT_COUNTRY:
                return "country";
        }
        return "?";
}

sg_subject_t sg_rule_subject(sg_rule_id_t id)
{
        if (id == SG_RULE_CONTENT_ERROR_RATE)
                return SG_SUBJECT_CONTENT;
        if (id == SG_RULE_TRAFFIC_ANOMALY)
                return SG_SUBJECT_COUNTRY;
        return SG_SUBJECT_USER;
}

/* ------------------------------------------------------------- defaults */

/* docs/compliance.md, "The rules" (config/compliance.rules writes the same
 * values out; test_rules_conf checks that they agree). */
static const sg_rule_conf_t sg_rc_default_rules[SG_RULE__CNT] = {
    [SG_RULE_EU_NO_CONSENT] = {.enabled = true, .severity = SG_SEV_HIGH,
                               .weight = 5},
    [SG_RULE_ERASED_USER_ACTIVITY] = {.enabled = true,
                                      .severity = SG_SEV_HIGH},
    [SG_RULE_DO_NOT_TRACK] = {.enabled = true, .severity = SG_SEV_HIGH},
    [SG_RULE_MULTI_COUNTRY] = {.enabled = true, .severity = SG_SEV_MEDIUM,
                               .weight = 2,
                               .window_us = 3600 * SG_RC_US_PER_S,
                               .threshold = 2, .high_threshold = 3},
    [SG_RULE_MULTI_NETWORK] = {.enabled = true, .severity = SG_SEV_MEDIUM,
                               .window_us = 3600 * SG_RC_US_PER_S,
                               .threshold = 3},
    [SG_RULE_HIGH_FREQUENCY] = {.enabled = true, .severity = SG_SEV_LOW,
                                .weight = 1,
                                .window_us = 3600 * SG_RC_US_PER_S,
                                .threshold = 10},
    [SG_RULE_LARGE_PURCHASE] = {.enabled = true, .severity = SG_SEV_MEDIUM,
                                .threshold = 50000, /* 500.00 */
                                .high_threshold = 1000000}, /* 10,000.00 */
    [SG_RULE_PURCHASE_BURST] = {.enabled = true, .severity = SG_SEV_HIGH,
                                .window_us = 10 * SG_RC_US_PER_S,
                                .threshold = 5},
    [SG_RULE_REPEAT_OFFENDER] = {.enabled = true, .severity = SG_SEV_HIGH,
                                 .window_us = 300 * SG_RC_US_PER_S,
                                 .threshold = 3},
    [SG_RULE_CONTENT_ERROR_RATE] = {.enabled = true, .severity = SG_SEV_HIGH,
                                    .window_us = 300 * SG_RC_US_PER_S,
                                    .ratio = 0.20, .min_events = 20},
    [SG_RULE_TRAFFIC_ANOMALY] = {.enabled = true, .severity = SG_SEV_MEDIUM,
                                 .window_us = 300 * SG_RC_US_PER_S,
                                 .alpha = 0.1, .sigmas = 4,
                                 .min_stddev = 1.0, .history = 12},
};

void sg_rules_conf_defaults(sg_rules_conf_t *c)
{
        memset(c, 0, sizeof(*c));
        memcpy(c->rule, sg_rc_default_rules, sizeof(c->rule));
        c->lateness_us = 60 * SG_RC_US_PER_S;
        c->playback_error_weight = 3;
        c->level_high = 8;
        c->level_medium = 5;
        c->max_user_events = 4096;
        sg_rules_conf_version(c);
}

/* ------------------------------------------------------------- versions */

static void sg_rc_append(char *buf, size_t size, size_t *len, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));

static void sg_rc_append(char *buf, size_t size, size_t *len, const char *fmt,
                         ...)
{
        va_list ap;
        int n;

        if (*len >= size)
                return;
        va_start(ap, fmt);
        n = vsnprintf(buf + *len, size - *len, fmt, ap);
        va_end(ap);
        if (n > 0)
                *len += (size_t)n;
}

/* "name|enabled=1|severity=medium|...": the rule's name and the
 * parameters it uses, in sg_rc_key_t order. Doubles are printed in the C
 * locale (the caller sees to that) so that the version does not depend on
 * LC_NUMERIC. Returns the text's length. */
static size_t sg_rc_canon(const sg_rule_conf_t *r, sg_rule_id_t id, char *buf,
                          size_t size)
{
        size_t len = 0;

        sg_rc_append(buf, size, &len, "%s", sg_rule_names[id]);
        for (int k = 0; k < SG_RC__KEYS; k++) {
                if (!(sg_rc_uses[id] & SG_RC_BIT(k)))
                        continue;
                sg_rc_append(buf, size, &len, "|%s=", sg_rc_key_fields[k]);
                switch ((sg_rc_key_t)k) {
                case SG_RC_ENABLED:
                        sg_rc_append(buf, size, &len, "%d", r->enabled ? 1 : 0);
                        break;
                case SG_RC_SEVERITY:
                        sg_rc_append(buf, size, &len, "%s",
                                     sg_severity_name(r->severity));
                        break;
                case SG_RC_WEIGHT:
                        sg_rc_append(buf, size, &len, "%lld",
                                     (long long)r->weight);
                        break;
                case SG_RC_WINDOW:
                        sg_rc_append(buf, size, &len, "%lld", r->window_us);
                        break;
                case SG_RC_THRESHOLD:
                        sg_rc_append(buf, size, &len, "%lld", r->threshold);
                        break;
                case SG_RC_HIGH_THRESHOLD:
                        sg_rc_append(buf, size, &len, "%lld",
                                     r->high_threshold);
                        break;
                case SG_RC_RATIO:
                        sg_rc_append(buf, size, &len, "%.17g", r->ratio);
                        break;
                case SG_RC_MIN_EVENTS:
                        sg_rc_append(buf, size, &len, "%lld", r->min_events);
                        break;
                case SG_RC_ALPHA:
                        sg_rc_append(buf, size, &len, "%.17g", r->alpha);
                        break;
                case SG_RC_SIGMAS:
                        sg_rc_append(buf, size, &len, "%.17g", r->sigmas);
                        break;
                case SG_RC_MIN_STDDEV:
                        sg_rc_append(buf, size, &len, "%.17g", r->min_stddev);
                        break;
                case SG_RC_HISTORY:
                        sg_rc_append(buf, size, &len, "%lld", r->history);
                        break;
                case SG_RC__KEYS:
                        break;
                }
        }
        return len < size ? len : size - 1;
}

void sg_rules_conf_version(sg_rules_conf_t *c)
{
        static const char hex[] = "0123456789abcdef";
        locale_t cloc = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0);
        locale_t old = (locale_t)0;
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;
        char text[SG_RC_CANON_MAX];
        size_t len;

        /* Without a C locale object (out of memory) the process's own
         * locale formats the doubles: "C" unless main() changed it. */
        if (cloc)
                old = uselocale(cloc);
        for (int i = 0; i < SG_RULE__CNT; i++) {
                sg_rule_conf_t *r = &c->rule[i];

                len = sg_rc_canon(r, (sg_rule_id_t)i, text, sizeof(text));
                /* SHA-256 of a few hundred bytes fails only when OpenSSL
                 * cannot allocate its context: the out-of-memory policy. */
                if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) !=
                        1 ||
                    mdlen < 6)
                        sg_oom("SHA-256 of a rule's parameters");
                for (int j = 0; j < 6; j++) {
                        r->version[2 * j] = hex[md[j] >> 4];
                        r->version[2 * j + 1] = hex[md[j] & 0xf];
                }
                r->version[12] = '\0';
        }
        if (cloc) {
                uselocale(old);
                freelocale(cloc);
        }
}

long long sg_rules_conf_user_window_us(const sg_rules_conf_t *c)
{
        static const sg_rule_id_t windowed[] = {
            SG_RULE_MULTI_COUNTRY, SG_RULE_MULTI_NETWORK,
            SG_RULE_HIGH_FREQUENCY, SG_RULE_PURCHASE_BURST,
            SG_RULE_REPEAT_OFFENDER,
        };
        long long w = 0;

        for (size_t i = 0; i < sizeof(windowed) / sizeof(windowed[0]); i++) {
                const sg_rule_conf_t *r = &c->rule[windowed[i]];

                if (r->enabled && r->window_us > w)
                        w = r->window_us;
        }
        return w;
}

/* --------------------------------------------------------------- values */

/* The value parsers are strict and locale-free (common/sg_conf.h has the
 * format's own); each returns 0, or -1 with *out untouched. */

static bool sg_rc_digit(char ch)
{
        return ch >= '0' && ch <= '9';
}

/* An amount, "500", "500.5" or "500.00", in cents: above 0, at most 1e12
 * (units). By hand, so that no locale and no binary fraction is
 * involved. */
static int sg_rc_amount(const char *s, long long *out)
{
        long long units = 0, cents = 0;
        const char *p = s;

        if (!sg_rc_digit(*p))
                return -1;
        for (; sg_rc_digit(*p); p++) {
                units = units * 10 + (*p - '0');
                if (units > SG_RC_AMOUNT_MAX_CENTS / 100)
                        return -1;
        }
        if (*p == '.') {
                p++;
                if (!sg_rc_digit(p[0]))
                        return -1;
                cents = (p[0] - '0') * 10;
                if (sg_rc_digit(p[1]))
                        cents += p[1] - '0';
                p += sg_rc_digit(p[1]) ? 2 : 1;
        }
        if (*p)
                return -1;
        cents += units * 100;
        if (cents <= 0 || cents > SG_RC_AMOUNT_MAX_CENTS)
                return -1;
        *out = cents;
        return 0;
}

/* ---------------------------------------------------------------- parser */

/* The rules file's meaning, over sg_conf's lines. */
typedef struct sg_rc_parser {
        sg_conf_t *conf; /* the position, for messages */
        sg_rules_conf_t *t;
        int section; /* the rule of the current section; -1: the globals */
        size_t section_line[SG_RULE__CNT];
        size_t key_line[SG_RULE__CNT][SG_RC__KEYS];
        size_t global_line[SG_RC__GLOBALS];
} sg_rc_parser_t;

/* The checks between keys, when a section (or the globals, rule -1)
 * ends: reported at the later of the two keys' lines. Only a section
 * that sets one of them is checked: the values it starts from are the
 * caller's. */
static int sg_rc_section_end(const sg_rc_parser_t *p, const sg_rules_conf_t *t,
                             int rule)
{
        const sg_rule_conf_t *r;
        size_t lt, lh;

        if (rule < 0) {
                lh = p->global_line[SG_RC_LEVEL_HIGH];
                lt = p->global_line[SG_RC_LEVEL_MEDIUM];
                if ((lh || lt) && t->level_medium > t->level_high)
                        return sg_conf_fail(
                            p->conf, lh > lt ? lh : lt,
                            "level_medium (%d) must not be above level_high "
                            "(%d)",
                            t->level_medium, t->level_high);
                return 0;
        }
        if (rule != SG_RULE_MULTI_COUNTRY && rule != SG_RULE_LARGE_PURCHASE)
                return 0;
        r = &t->rule[rule];
        lt = p->key_line[rule][SG_RC_THRESHOLD];
        lh = p->key_line[rule][SG_RC_HIGH_THRESHOLD];
        if (!(lt || lh) || r->high_threshold == 0 ||
            r->high_threshold > r->threshold)
                return 0;
        if (rule == SG_RULE_LARGE_PURCHASE)
                return sg_conf_fail(p->conf, lh > lt ? lh : lt,
                                  "[%s] high_threshold (%lld.%02lld) must be "
                                  "above threshold (%lld.%02lld)",
                                  sg_rule_names[rule], r->high_threshold / 100,
                                  r->high_threshold % 100, r->threshold / 100,
                                  r->threshold % 100);
        return sg_conf_fail(p->conf, lh > lt ? lh : lt,
                          "[%s] high_threshold (%lld) must be above threshold "
                          "(%lld; high_threshold 0 means none)",
                          sg_rule_names[rule], r->high_threshold, r->threshold);
}

/* "[name]": ends the current section, starts the rule's. */
static int sg_rc_section(sg_conf_t *conf, char *s, void *arg)
{
        sg_rc_parser_t *p = arg;
        char echo[SG_CONF_ECHO_MAX + 4];
        int rule;

        p->conf = conf;
        rule = sg_rule_from_name(s);
        if (rule < 0)
                return sg_conf_fail(conf, conf->line, "unknown section [%s]",
                                    sg_conf_echo(s, echo));
        if (p->section_line[rule])
                return sg_conf_fail(conf, conf->line,
                                    "duplicate section [%s] (first at line "
                                    "%zu)",
                                    s, p->section_line[rule]);
        if (sg_rc_section_end(p, p->t, p->section) < 0)
                return -1;
        p->section = rule;
        p->section_line[rule] = conf->line;
        return 0;
}

static int sg_rc_bad(const sg_rc_parser_t *p, const char *key, const char *v,
                     const char *what)
{
        return sg_conf_bad(p->conf, key, v, what);
}

static int sg_rc_set_global(sg_rc_parser_t *p, sg_rules_conf_t *t,
                            sg_rc_global_t g, const char *v)
{
        const char *key = sg_rc_global_names[g];
        long long n;

        switch (g) {
        case SG_RC_LATENESS:
                if (sg_conf_duration(v, &n) < 0)
                        return sg_rc_bad(p, key, v,
                                         "is not a duration (an integer and "
                                         "ms, s, m or h)");
                if (n > SG_RC_LATENESS_MAX_US)
                        return sg_rc_bad(p, key, v,
                                         "is out of range (0s to 1h)");
                t->lateness_us = n;
                return 0;
        case SG_RC_PLAYBACK_ERROR_WEIGHT:
                if (sg_conf_integer(v, 0, 100, &n) < 0)
                        return sg_rc_bad(p, key, v,
                                         "is not an integer from 0 to 100");
                t->playback_error_weight = (int)n;
                return 0;
        case SG_RC_LEVEL_HIGH:
        case SG_RC_LEVEL_MEDIUM:
                if (sg_conf_integer(v, 1, 1000, &n) < 0)
                        return sg_rc_bad(p, key, v,
                                         "is not an integer from 1 to 1000");
                if (g == SG_RC_LEVEL_HIGH)
                        t->level_high = (int)n;
                else
                        t->level_medium = (int)n;
                return 0;
        case SG_RC_MAX_USER_EVENTS:
                if (sg_conf_integer(v, 16, 65536, &n) < 0)
                        return sg_rc_bad(p, key, v,
                                         "is not an integer from 16 to 65536");
                t->max_user_events = (int)n;
                return 0;
        case SG_RC__GLOBALS:
                break;
        }
        return -1;
}

/* A decimal within (lo, hi), each end open or closed. */
static int sg_rc_set_decimal(const sg_rc_parser_t *p, const char *key,
                             const char *v, double lo, bool lo_open, double hi,
                             bool hi_open, const char *range, double *dest)
{
        char what[64];
        double d;

        if (sg_conf_decimal(v, &d) < 0 || (lo_open ? d <= lo : d < lo) ||
            (hi_open ? d >= hi : d > hi)) {
                snprintf(what, sizeof(what), "is not a decimal %s", range);
                return sg_rc_bad(p, key, v, what);
        }
        *dest = d;
        return 0;
}

static int sg_rc_set_count(const sg_rc_parser_t *p, const char *key,
                           const char *v, long long min, long long max,
                           long long *dest)
{
        char what[64];

        if (sg_conf_integer(v, min, max, dest) < 0) {
                snprintf(what, sizeof(what),
                         "is not an integer from %lld to %lld", min, max);
                return sg_rc_bad(p, key, v, what);
        }
        return 0;
}

static int sg_rc_set_amount(const sg_rc_parser_t *p, const char *key,
                            const char *v, long long *dest)
{
        if (sg_rc_amount(v, dest) < 0)
                return sg_rc_bad(p, key, v,
                                 "is not an amount (above 0, at most two "
                                 "decimals, at most 1000000000000)");
        return 0;
}

static int sg_rc_set_rule(sg_rc_parser_t *p, sg_rules_conf_t *t, int rule,
                          sg_rc_key_t k, const char *v)
{
        sg_rule_conf_t *r = &t->rule[rule];
        const char *key = sg_rc_key_names[k];
        long long n;

        switch (k) {
        case SG_RC_ENABLED:
                if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
                        return sg_rc_bad(p, key, v,
                                         "is not a boolean (true or false)");
                r->enabled = v[0] == 't';
                return 0;
        case SG_RC_SEVERITY:
                if (strcmp(v, "low") == 0)
                        r->severity = SG_SEV_LOW;
                else if (strcmp(v, "medium") == 0)
                        r->severity = SG_SEV_MEDIUM;
                else if (strcmp(v, "high") == 0)
                        r->severity = SG_SEV_HIGH;
                else
                        return sg_rc_bad(p, key, v,
                                         "is not a severity (low, medium or "
                                         "high)");
                return 0;
        case SG_RC_WEIGHT:
                if (sg_rc_set_count(p, key, v, 0, 100, &n) < 0)
                        return -1;
                r->weight = (int)n;
                return 0;
        case SG_RC_WINDOW:
                if (sg_conf_duration(v, &n) < 0)
                        return sg_rc_bad(p, key, v,
                                         "is not a duration (an integer and "
                                         "ms, s, m or h)");
                if (n <= 0 || n > SG_RC_WINDOW_MAX_US)
                        return sg_rc_bad(p, key, v,
                                         "is out of range (above 0, at most "
                                         "24h)");
                r->window_us = n;
                return 0;
        case SG_RC_THRESHOLD:
                if (rule == SG_RULE_LARGE_PURCHASE)
                        return sg_rc_set_amount(p, key, v, &r->threshold);
                return sg_rc_set_count(p, key, v, 0, SG_RC_COUNT_MAX,
                                       &r->threshold);
        case SG_RC_HIGH_THRESHOLD:
                if (rule == SG_RULE_LARGE_PURCHASE)
                        return sg_rc_set_amount(p, key, v, &r->high_threshold);
                return sg_rc_set_count(p, key, v, 0, SG_RC_COUNT_MAX,
                                       &r->high_threshold);
        case SG_RC_RATIO:
                return sg_rc_set_decimal(p, key, v, 0, true, 1, true,
                                         "above 0 and below 1", &r->ratio);
        case SG_RC_MIN_EVENTS:
                return sg_rc_set_count(p, key, v, 1, SG_RC_COUNT_MAX,
                                       &r->min_events);
        case SG_RC_ALPHA:
                return sg_rc_set_decimal(p, key, v, 0, true, 1, false,
                                         "above 0, at most 1", &r->alpha);
        case SG_RC_SIGMAS:
                return sg_rc_set_decimal(p, key, v, 0, true, 100, false,
                                         "above 0, at most 100", &r->sigmas);
        case SG_RC_MIN_STDDEV:
                return sg_rc_set_decimal(p, key, v, 0, false, DBL_MAX, false,
                                         "of 0 or more", &r->min_stddev);
        case SG_RC_HISTORY:
                return sg_rc_set_count(p, key, v, 1, 10000, &r->history);
        case SG_RC__KEYS:
                break;
        }
        return -1;
}

/* "key = value", in the globals or the current section. */
static int sg_rc_assign(sg_conf_t *conf, const char *key, const char *v,
                        void *arg)
{
        sg_rc_parser_t *p = arg;
        char scope[64];
        int i;

        p->conf = conf;
        i = sg_conf_key(conf, sg_rc_global_names, SG_RC__GLOBALS,
                        sg_rc_key_names, SG_RC__KEYS, p->section >= 0,
                        "rule's", key);
        if (i < 0)
                return -1;
        if (p->section < 0) {
                if (sg_conf_first(conf, key, NULL, &p->global_line[i], v) < 0)
                        return -1;
                return sg_rc_set_global(p, p->t, (sg_rc_global_t)i, v);
        }
        if (!(sg_rc_uses[p->section] & SG_RC_BIT(i)))
                return sg_conf_fail(conf, conf->line, "[%s] does not use '%s'",
                                    sg_rule_names[p->section], key);
        snprintf(scope, sizeof(scope), "[%s]", sg_rule_names[p->section]);
        if (sg_conf_first(conf, key, scope, &p->key_line[p->section][i], v) < 0)
                return -1;
        return sg_rc_set_rule(p, p->t, p->section, (sg_rc_key_t)i, v);
}

/* The last section ends here (the globals, in a file without sections;
 * otherwise the first section header ended them). */
static int sg_rc_end(sg_conf_t *conf, void *arg)
{
        sg_rc_parser_t *p = arg;

        p->conf = conf;
        return sg_rc_section_end(p, p->t, p->section);
}

static const sg_conf_ops_t sg_rc_ops = {
    .section = sg_rc_section,
    .assign = sg_rc_assign,
    .end = sg_rc_end,
};

int sg_rules_conf_parse(sg_rules_conf_t *c, const char *name, const char *text,
                        size_t len, char *errstr, size_t errstr_size)
{
        sg_rules_conf_t t = *c; /* c changes only when all of text is good */
        sg_rc_parser_t p;

        memset(&p, 0, sizeof(p));
        p.t = &t;
        p.section = -1;
        if (sg_conf_parse(name ? name : "(rules)", "[rule_name]", text, len,
                          &sg_rc_ops, &p, errstr, errstr_size) < 0)
                return -1;
        sg_rules_conf_version(&t);
        *c = t;
        return 0;
}

int sg_rules_conf_load(sg_rules_conf_t *c, const char *path, char *errstr,
                       size_t errstr_size)
{
        sg_rules_conf_t t = *c;
        sg_rc_parser_t p;

        memset(&p, 0, sizeof(p));
        p.t = &t;
        p.section = -1;
        if (sg_conf_load(path, "[rule_name]", &sg_rc_ops, &p, errstr,
                         errstr_size) < 0)
                return -1;
        sg_rules_conf_version(&t);
        *c = t;
        return 0;
}
