#include "sg_buf.h"
#include "sg_defs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sg_buf_init(sg_buf_t *b)
{
        b->data = NULL;
        b->len = 0;
        b->cap = 0;
}

void sg_buf_fini(sg_buf_t *b)
{
        free(b->data);
        sg_buf_init(b);
}

void sg_buf_reset(sg_buf_t *b)
{
        b->len = 0;
        if (b->data)
                b->data[0] = '\0';
}

static void sg_buf_reserve(sg_buf_t *b, size_t extra)
{
        size_t need = b->len + extra + 1;
        size_t cap = b->cap ? b->cap : 4096;

        if (need <= b->cap)
                return;
        while (cap < need)
                cap *= 2;
        b->data = sg_xrealloc(b->data, cap);
        b->cap = cap;
}

void sg_buf_append(sg_buf_t *b, const char *s, size_t n)
{
        sg_buf_reserve(b, n);
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
}

void sg_buf_puts(sg_buf_t *b, const char *s)
{
        sg_buf_append(b, s, strlen(s));
}

void sg_buf_putc(sg_buf_t *b, char c)
{
        sg_buf_reserve(b, 1);
        b->data[b->len++] = c;
        b->data[b->len] = '\0';
}

void sg_buf_printf(sg_buf_t *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        va_start(ap, fmt);
        n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        sg_buf_reserve(b, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
        b->len += (size_t)n;
}

void sg_buf_put_int(sg_buf_t *b, long long v)
{
        char tmp[24];
        size_t i = sizeof tmp;
        /* In unsigned arithmetic, so LLONG_MIN negates safely. */
        unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                     : (unsigned long long)v;

        do {
                tmp[--i] = (char)('0' + u % 10);
                u /= 10;
        } while (u);
        if (v < 0)
                tmp[--i] = '-';
        sg_buf_append(b, tmp + i, sizeof tmp - i);
}

void sg_buf_copy_text(sg_buf_t *b, const char *s, size_t n)
{
        size_t start = 0;

        sg_buf_reserve(b, n);
        for (size_t i = 0; i < n; i++) {
                char esc;
                switch (s[i]) {
                case '\\': esc = '\\'; break;
                case '\t': esc = 't'; break;
                case '\n': esc = 'n'; break;
                case '\r': esc = 'r'; break;
                default: continue;
                }
                sg_buf_append(b, s + start, i - start);
                sg_buf_putc(b, '\\');
                sg_buf_putc(b, esc);
                start = i + 1;
        }
        sg_buf_append(b, s + start, n - start);
}

void sg_buf_copy_null(sg_buf_t *b)
{
        sg_buf_append(b, "\\N", 2);
}

void sg_buf_array_begin(sg_buf_t *b)
{
        sg_buf_putc(b, '{');
}

static void sg_buf_array_sep(sg_buf_t *b)
{
        if (b->len > 0 && b->data[b->len - 1] != '{')
                sg_buf_putc(b, ',');
}

void sg_buf_array_int(sg_buf_t *b, long long v)
{
        sg_buf_array_sep(b);
        sg_buf_put_int(b, v);
}

void sg_buf_array_str(sg_buf_t *b, const char *s)
{
        sg_buf_array_sep(b);
        sg_buf_putc(b, '"');
        for (; *s; s++) {
                if (*s == '"' || *s == '\\')
                        sg_buf_putc(b, '\\');
                sg_buf_putc(b, *s);
        }
        sg_buf_putc(b, '"');
}

void sg_buf_array_str_or_null(sg_buf_t *b, const char *s)
{
        if (s) {
                sg_buf_array_str(b, s);
                return;
        }
        sg_buf_array_sep(b);
        sg_buf_append(b, "NULL", 4);
}

void sg_buf_array_end(sg_buf_t *b)
{
        sg_buf_putc(b, '}');
        sg_buf_putc(b, '\0');
        b->len--; /* the NUL terminates data, it is not part of it */
}
