#include "sg_conf.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SG_CONF_US_PER_S 1000000LL

int sg_conf_fail(const sg_conf_t *p, size_t line, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (!p->errstr || !p->errstr_size)
                return -1;
        n = snprintf(p->errstr, p->errstr_size, "%s:%zu: ",
                     p->name ? p->name : "(config)", line);
        if (n < 0 || (size_t)n >= p->errstr_size)
                return -1;
        va_start(ap, fmt);
        vsnprintf(p->errstr + n, p->errstr_size - (size_t)n, fmt, ap);
        va_end(ap);
        return -1;
}

const char *sg_conf_echo(const char *s, char out[SG_CONF_ECHO_MAX + 4])
{
        size_t i;

        for (i = 0; s[i] && i < SG_CONF_ECHO_MAX; i++)
                out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
        if (s[i]) {
                memcpy(out + i, "...", 3);
                i += 3;
        }
        out[i] = '\0';
        return out;
}

int sg_conf_bad(const sg_conf_t *p, const char *key, const char *value,
                const char *what)
{
        char echo[SG_CONF_ECHO_MAX + 4];

        return sg_conf_fail(p, p->line, "%s: '%s' %s", key,
                            sg_conf_echo(value, echo), what);
}

int sg_conf_lookup(const char *const *names, int n, const char *key)
{
        for (int i = 0; i < n; i++)
                if (strcmp(key, names[i]) == 0)
                        return i;
        return -1;
}

int sg_conf_key(const sg_conf_t *p, const char *const *globals, int nglobals,
                const char *const *keys, int nkeys, bool in_section,
                const char *owner, const char *key)
{
        char echo[SG_CONF_ECHO_MAX + 4];
        int g = sg_conf_lookup(globals, nglobals, key);
        int k = sg_conf_lookup(keys, nkeys, key);

        if (g < 0 && k < 0)
                return sg_conf_fail(p, p->line, "unknown key '%s'",
                                    sg_conf_echo(key, echo));
        if (!in_section && g < 0)
                return sg_conf_fail(p, p->line,
                                    "'%s' is a %s key: it goes in a %s section",
                                    key, owner, p->section_form);
        if (in_section && k < 0)
                return sg_conf_fail(p, p->line,
                                    "'%s' is a global setting: it goes before "
                                    "the first section",
                                    key);
        return in_section ? k : g;
}

int sg_conf_first(const sg_conf_t *p, const char *key, const char *scope,
                  size_t *seen, const char *value)
{
        if (*seen)
                return sg_conf_fail(p, p->line,
                                    "duplicate key '%s'%s%s (first at line "
                                    "%zu)",
                                    key, scope ? " in " : "", scope ? scope : "",
                                    *seen);
        if (!*value)
                return sg_conf_fail(p, p->line, "%s: empty value", key);
        *seen = p->line;
        return 0;
}

static bool sg_conf_space(char ch)
{
        return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\f' ||
               ch == '\v';
}

static bool sg_conf_digit(char ch)
{
        return ch >= '0' && ch <= '9';
}

/* Trims s in place, returns its first non-space byte. */
static char *sg_conf_trim(char *s)
{
        size_t n;

        while (sg_conf_space(*s))
                s++;
        n = strlen(s);
        while (n > 0 && sg_conf_space(s[n - 1]))
                s[--n] = '\0';
        return s;
}

/* ---------------------------------------------------------------- values */

int sg_conf_integer(const char *s, long long min, long long max,
                    long long *out)
{
        char *end;
        long long v;

        if (!(sg_conf_digit(s[0]) || (s[0] == '-' && sg_conf_digit(s[1]))))
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || *end || v < min || v > max)
                return -1;
        *out = v;
        return 0;
}

int sg_conf_duration(const char *s, long long *us)
{
        static const struct {
                const char *unit;
                long long us;
        } units[] = {{"ms", 1000}, {"s", SG_CONF_US_PER_S},
                     {"m", 60 * SG_CONF_US_PER_S},
                     {"h", 3600 * SG_CONF_US_PER_S}};
        long long n = 0;
        const char *p = s;

        if (!sg_conf_digit(*p))
                return -1;
        for (; sg_conf_digit(*p); p++) {
                if (n > (LLONG_MAX - 9) / 10)
                        return -1;
                n = n * 10 + (*p - '0');
        }
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(p, units[i].unit) != 0)
                        continue;
                if (n > LLONG_MAX / units[i].us)
                        return -1;
                *us = n * units[i].us;
                return 0;
        }
        return -1;
}

/* By hand (strtod follows LC_NUMERIC). The digits as an integer m below
 * 2^53 and k decimals, k <= 22, make m and 10^k exact doubles, so
 * m / 10^k is the correctly rounded value: the same double strtod
 * gives. */
int sg_conf_decimal(const char *s, double *out)
{
        static const double pow10[] = {
            1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
            1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        };
        const unsigned long long max = 1ULL << 53;
        unsigned long long m = 0;
        const char *p = s;
        int k = 0;

        if (!sg_conf_digit(*p))
                return -1;
        for (; sg_conf_digit(*p); p++) {
                m = m * 10 + (unsigned)(*p - '0');
                if (m > max)
                        return -1;
        }
        if (*p == '.') {
                p++;
                if (!sg_conf_digit(*p))
                        return -1;
                for (; sg_conf_digit(*p); p++, k++) {
                        m = m * 10 + (unsigned)(*p - '0');
                        if (m > max || k >= 22)
                                return -1;
                }
        }
        if (*p)
                return -1;
        *out = (double)m / pow10[k];
        return 0;
}

/* ---------------------------------------------------------------- lines */

/* "[name]". */
static int sg_conf_section(sg_conf_t *p, const sg_conf_ops_t *ops, void *arg,
                           char *s)
{
        char echo[SG_CONF_ECHO_MAX + 4];
        size_t n = strlen(s);

        if (n < 2 || s[n - 1] != ']')
                return sg_conf_fail(p, p->line,
                                    "malformed section header '%s' (expected "
                                    "%s)",
                                    sg_conf_echo(s, echo), p->section_form);
        s[n - 1] = '\0';
        return ops->section(p, sg_conf_trim(s + 1), arg);
}

/* "key = value". */
static int sg_conf_assign(sg_conf_t *p, const sg_conf_ops_t *ops, void *arg,
                          char *s)
{
        char echo[SG_CONF_ECHO_MAX + 4];
        char *eq = strchr(s, '='), *key;

        if (!eq)
                return sg_conf_fail(p, p->line,
                                    "missing '=' in '%s' (expected key = "
                                    "value or %s)",
                                    sg_conf_echo(s, echo), p->section_form);
        *eq = '\0';
        key = sg_conf_trim(s);
        if (!*key)
                return sg_conf_fail(p, p->line, "missing key before '='");
        return ops->assign(p, key, sg_conf_trim(eq + 1), arg);
}

int sg_conf_parse(const char *name, const char *section_form, const char *text,
                  size_t len, const sg_conf_ops_t *ops, void *arg,
                  char *errstr, size_t errstr_size)
{
        char buf[SG_CONF_MAX_LINE + 1];
        sg_conf_t p;
        size_t pos = 0;

        memset(&p, 0, sizeof(p));
        p.name = name;
        p.section_form = section_form ? section_form : "[section]";
        p.errstr = errstr;
        p.errstr_size = errstr_size;
        while (pos < len) {
                const char *ln = text + pos;
                const char *nl = memchr(ln, '\n', len - pos);
                size_t n = nl ? (size_t)(nl - ln) : len - pos;
                char *s, *hash;
                int rc;

                pos += n + (nl ? 1 : 0);
                p.line++;
                if (n > SG_CONF_MAX_LINE)
                        return sg_conf_fail(&p, p.line,
                                            "line longer than %d bytes",
                                            SG_CONF_MAX_LINE);
                if (memchr(ln, '\0', n))
                        return sg_conf_fail(&p, p.line,
                                            "a NUL byte in the line");
                memcpy(buf, ln, n);
                buf[n] = '\0';
                /* No value holds a '#': it always starts a comment. */
                hash = strchr(buf, '#');
                if (hash)
                        *hash = '\0';
                s = sg_conf_trim(buf);
                if (!*s)
                        continue;
                rc = *s == '[' ? sg_conf_section(&p, ops, arg, s)
                               : sg_conf_assign(&p, ops, arg, s);
                if (rc < 0)
                        return -1;
        }
        return ops->end ? ops->end(&p, arg) : 0;
}

static void sg_conf_errf(char *errstr, size_t errstr_size, const char *fmt,
                         ...) __attribute__((format(printf, 3, 4)));

static void sg_conf_errf(char *errstr, size_t errstr_size, const char *fmt,
                         ...)
{
        va_list ap;

        if (!errstr || !errstr_size)
                return;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
}

int sg_conf_load(const char *path, const char *section_form,
                 const sg_conf_ops_t *ops, void *arg, char *errstr,
                 size_t errstr_size)
{
        char *buf = NULL;
        size_t n = 0, got;
        FILE *fp;
        int rc = -1;

        fp = fopen(path, "rb");
        if (!fp) {
                sg_conf_errf(errstr, errstr_size, "%s: %s", path,
                             strerror(errno));
                return -1;
        }
        /* One byte more than allowed tells a file that is too large. */
        buf = sg_xmalloc(SG_CONF_MAX_FILE + 1);
        errno = 0;
        while (n <= SG_CONF_MAX_FILE &&
               (got = fread(buf + n, 1, SG_CONF_MAX_FILE + 1 - n, fp)) > 0)
                n += got;
        if (ferror(fp)) {
                sg_conf_errf(errstr, errstr_size, "%s: %s", path,
                             errno ? strerror(errno) : "read error");
                goto out;
        }
        if (n > SG_CONF_MAX_FILE) {
                sg_conf_errf(errstr, errstr_size, "%s: larger than 1 MiB",
                             path);
                goto out;
        }
        rc = sg_conf_parse(path, section_form, buf, n, ops, arg, errstr,
                           errstr_size);
out:
        free(buf);
        fclose(fp);
        return rc;
}
