#ifndef SG_BUF_H
#define SG_BUF_H

/* A growable byte buffer, used to build COPY data. */

#include <stddef.h>

typedef struct sg_buf {
        char *data;
        size_t len;
        size_t cap;
} sg_buf_t;

void sg_buf_init(sg_buf_t *b);
void sg_buf_fini(sg_buf_t *b);
void sg_buf_reset(sg_buf_t *b);

/* Appends; aborts on out-of-memory (as the rest of the process would). */
void sg_buf_append(sg_buf_t *b, const char *s, size_t n);
void sg_buf_puts(sg_buf_t *b, const char *s);
void sg_buf_putc(sg_buf_t *b, char c);
/* Appends v in decimal (what printf's %lld writes, without printf). */
void sg_buf_put_int(sg_buf_t *b, long long v);
void sg_buf_printf(sg_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Appends s escaped for COPY text format (backslash, tab, newline, CR). */
void sg_buf_copy_text(sg_buf_t *b, const char *s, size_t n);

/* Appends the COPY NULL marker \N. */
void sg_buf_copy_null(sg_buf_t *b);

/* PostgreSQL array literals, for "$1::bigint[]" and "$1::text[]"
 * parameters: begin ("{"), elements (a comma before all but the first),
 * end ("}" and a terminating NUL, so that b->data is the parameter). */
void sg_buf_array_begin(sg_buf_t *b);
void sg_buf_array_int(sg_buf_t *b, long long v);
/* A quoted, escaped text element (never taken for NULL). */
void sg_buf_array_str(sg_buf_t *b, const char *s);
/* The same, or NULL (unquoted) when s is NULL. */
void sg_buf_array_str_or_null(sg_buf_t *b, const char *s);
void sg_buf_array_end(sg_buf_t *b);

#endif
