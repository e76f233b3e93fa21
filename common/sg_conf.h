#ifndef SG_CONF_H
#define SG_CONF_H

/* Our configuration files' format (config/compliance.rules,
 * config/alert.sinks): one "key = value" a line, '#' starts a comment
 * (no value holds a '#'), blank lines are ignored, "[...]" starts a
 * section; global settings come before the first section. The parser
 * here knows the lines; what the keys and sections mean is the caller's,
 * through callbacks. Every error is "<name>:<line>: <what>", and what
 * quotes the input only through sg_conf_echo (bounded, printable). Pure:
 * the parser works on text; sg_conf_load reads a bounded file first. */

#include <stdbool.h>
#include <stddef.h>

#include "sg_defs.h"

/* A longer line, a larger file is refused. */
#define SG_CONF_MAX_LINE 1024
#define SG_CONF_MAX_FILE (1024 * 1024)
#define SG_CONF_ECHO_MAX 32 /* bytes of a bad key or value quoted back */

/* The parser's position, for the callbacks' messages. */
typedef struct sg_conf {
        const char *name;         /* the file's name */
        const char *section_form; /* "[rule_name]": in messages */
        size_t line;              /* the current line, from 1 */
        char *errstr;
        size_t errstr_size;
} sg_conf_t;

/* What a file's lines mean. Each callback returns 0, or -1 after
 * sg_conf_fail (the parse stops there). */
typedef struct sg_conf_ops {
        /* "[name]": name trimmed, possibly empty. */
        int (*section)(sg_conf_t *p, char *name, void *arg);
        /* "key = value": key trimmed and non-empty, value trimmed,
         * possibly empty. */
        int (*assign)(sg_conf_t *p, const char *key, const char *value,
                      void *arg);
        /* The text ended (may be NULL). */
        int (*end)(sg_conf_t *p, void *arg);
} sg_conf_ops_t;

/* Parses text[0..len) line by line through ops. name is the file's name
 * for the messages, section_form how a section header looks
 * ("[rule_name]"). Returns 0, or -1 with "<name>:<line>: <what>" in
 * errstr. */
int sg_conf_parse(const char *name, const char *section_form, const char *text,
                  size_t len, const sg_conf_ops_t *ops, void *arg,
                  char *errstr, size_t errstr_size) SG_MUST_CHECK;

/* Reads the file at path (at most SG_CONF_MAX_FILE bytes) and parses it
 * as above. A file that cannot be read is "<path>: <reason>", a larger
 * one "<path>: larger than 1 MiB". */
int sg_conf_load(const char *path, const char *section_form,
                 const sg_conf_ops_t *ops, void *arg, char *errstr,
                 size_t errstr_size) SG_MUST_CHECK;

/* "<name>:<line>: <what>" into p's errstr. Returns -1. */
int sg_conf_fail(const sg_conf_t *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "<key>: '<value>' <what>" at the current line. Returns -1. */
int sg_conf_bad(const sg_conf_t *p, const char *key, const char *value,
                const char *what);

/* The index of key in names[0..n), or -1. */
int sg_conf_lookup(const char *const *names, int n, const char *key);

/* Resolves key where it appears (in a section or among the globals):
 * its index in keys (in a section) or globals (before the first), or -1
 * after sg_conf_fail: "unknown key 'K'", "'K' is a <owner> key: it goes
 * in a <section_form> section" (owner "rule's"), or "'K' is a global
 * setting: it goes before the first section". */
int sg_conf_key(const sg_conf_t *p, const char *const *globals, int nglobals,
                const char *const *keys, int nkeys, bool in_section,
                const char *owner, const char *key);

/* A key's first and non-empty value in its scope (scope NULL: the
 * globals, else "[name]"): records the line in *seen. Returns 0, or -1
 * after sg_conf_fail ("duplicate key 'K'[ in SCOPE] (first at line N)",
 * "K: empty value"). */
int sg_conf_first(const sg_conf_t *p, const char *key, const char *scope,
                  size_t *seen, const char *value);

/* s as it may be quoted in a message: at most SG_CONF_ECHO_MAX bytes,
 * then "...", and '?' for a byte that is not printable ASCII. Returns
 * out. */
const char *sg_conf_echo(const char *s, char out[SG_CONF_ECHO_MAX + 4]);

/* The value parsers: strict (the whole value, no sign where none is
 * allowed, no exponent, no hex) and locale-free. Each returns 0, or -1
 * with *out untouched. */

/* An integer from min to max ("-1" is a range error like any other). */
int sg_conf_integer(const char *s, long long min, long long max,
                    long long *out) SG_MUST_CHECK;

/* A duration "<digits><unit>", unit ms, s, m or h, in microseconds. */
int sg_conf_duration(const char *s, long long *us) SG_MUST_CHECK;

/* A non-negative decimal, "4", "0.20", correctly rounded. */
int sg_conf_decimal(const char *s, double *out) SG_MUST_CHECK;

#endif
