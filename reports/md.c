#include "md.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *sg_md_alloc_check(void *p)
{
        if (!p) {
                fputs("out of memory\n", stderr);
                abort();
        }
        return p;
}

void sg_md_table_init(sg_md_table_t *t, int ncols, const char *const *head,
                      const sg_md_align_t *align)
{
        memset(t, 0, sizeof(*t));
        t->ncols = ncols > SG_MD_MAX_COLS ? SG_MD_MAX_COLS : ncols;
        for (int c = 0; c < t->ncols; c++)
                t->align[c] = align ? align[c] : SG_MD_LEFT;
        sg_md_table_add_row(t);
        for (int c = 0; c < t->ncols; c++)
                sg_md_table_set(t, c, head ? head[c] : NULL);
}

void sg_md_table_fini(sg_md_table_t *t)
{
        for (int i = 0; i < t->nrows * t->ncols; i++)
                free(t->cells[i]);
        free(t->cells);
        memset(t, 0, sizeof(*t));
}

void sg_md_table_add_row(sg_md_table_t *t)
{
        if (t->nrows == t->cap) {
                int cap = t->cap ? t->cap * 2 : 16;

                t->cells = sg_md_alloc_check(
                    realloc(t->cells, (size_t)cap * (size_t)t->ncols *
                                          sizeof(*t->cells)));
                t->cap = cap;
        }
        for (int c = 0; c < t->ncols; c++)
                t->cells[t->nrows * t->ncols + c] = NULL;
        t->nrows++;
}

void sg_md_table_set(sg_md_table_t *t, int col, const char *md)
{
        char **cell;
        char *s;
        size_t n = 0;

        if (t->nrows == 0 || col < 0 || col >= t->ncols)
                return;
        cell = &t->cells[(t->nrows - 1) * t->ncols + col];
        free(*cell);
        *cell = NULL;
        if (!md)
                return;
        s = sg_md_alloc_check(malloc(strlen(md) * 2 + 1));
        for (const char *p = md; *p; p++) {
                unsigned char ch = (unsigned char)*p;

                if (ch < 0x20 || ch == 0x7f) {
                        s[n++] = '?';
                        continue;
                }
                /* An unescaped pipe would end the cell. */
                if (ch == '|' && (p == md || p[-1] != '\\'))
                        s[n++] = '\\';
                s[n++] = (char)ch;
        }
        s[n] = '\0';
        *cell = s;
}

void sg_md_table_setf(sg_md_table_t *t, int col, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        sg_md_table_set(t, col, buf);
}

int sg_md_width(const char *s)
{
        int w = 0;

        for (; s && *s; s++)
                if (((unsigned char)*s & 0xc0) != 0x80)
                        w++;
        return w;
}

static void sg_md_pad(sg_buf_t *out, char c, int n)
{
        for (int i = 0; i < n; i++)
                sg_buf_putc(out, c);
}

void sg_md_table_render(const sg_md_table_t *t, sg_buf_t *out)
{
        int width[SG_MD_MAX_COLS];

        for (int c = 0; c < t->ncols; c++) {
                width[c] = 3; /* the shortest delimiter GitHub accepts */
                for (int r = 0; r < t->nrows; r++) {
                        int w = sg_md_width(t->cells[r * t->ncols + c]);
                        if (w > width[c])
                                width[c] = w;
                }
        }
        for (int r = 0; r < t->nrows; r++) {
                for (int c = 0; c < t->ncols; c++) {
                        const char *s = t->cells[r * t->ncols + c];
                        int pad = width[c] - sg_md_width(s);

                        sg_buf_puts(out, c == 0 ? "| " : " | ");
                        if (t->align[c] == SG_MD_RIGHT && r > 0)
                                sg_md_pad(out, ' ', pad);
                        sg_buf_puts(out, s ? s : "");
                        if (t->align[c] != SG_MD_RIGHT || r == 0)
                                sg_md_pad(out, ' ', pad);
                }
                sg_buf_puts(out, " |\n");
                if (r != 0)
                        continue;
                for (int c = 0; c < t->ncols; c++) {
                        sg_buf_puts(out, c == 0 ? "| " : " | ");
                        if (t->align[c] == SG_MD_RIGHT) {
                                sg_md_pad(out, '-', width[c] - 1);
                                sg_buf_putc(out, ':');
                        } else {
                                sg_buf_putc(out, ':');
                                sg_md_pad(out, '-', width[c] - 1);
                        }
                }
                sg_buf_puts(out, " |\n");
        }
}

void sg_md_text(sg_buf_t *out, const char *s)
{
        for (; s && *s; s++) {
                unsigned char ch = (unsigned char)*s;

                if (ch < 0x20 || ch == 0x7f) {
                        sg_buf_putc(out, '?');
                        continue;
                }
                if (strchr("\\`*_[]<>#!~&", ch))
                        sg_buf_putc(out, '\\');
                sg_buf_putc(out, (char)ch);
        }
}

void sg_md_code(sg_buf_t *out, const char *s)
{
        if (!s || !*s) {
                sg_buf_puts(out, "(empty)");
                return;
        }
        sg_buf_putc(out, '`');
        for (; *s; s++) {
                unsigned char ch = (unsigned char)*s;

                sg_buf_putc(
                    out, ch < 0x20 || ch == 0x7f || ch == '`' ? '?' : (char)ch);
        }
        sg_buf_putc(out, '`');
}
