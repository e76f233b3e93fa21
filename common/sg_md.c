#include "sg_md.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_defs.h"

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
        free(t->markup);
        memset(t, 0, sizeof(*t));
}

void sg_md_table_add_row(sg_md_table_t *t)
{
        if (t->nrows == t->cap) {
                int cap = t->cap ? t->cap * 2 : 16;
                size_t n = (size_t)cap * (size_t)t->ncols;

                t->cells = sg_xrealloc(t->cells, n * sizeof(*t->cells));
                t->markup = sg_xrealloc(t->markup, n * sizeof(*t->markup));
                t->cap = cap;
        }
        for (int c = 0; c < t->ncols; c++) {
                t->cells[t->nrows * t->ncols + c] = NULL;
                t->markup[t->nrows * t->ncols + c] = false;
        }
        t->nrows++;
}

static void sg_md_table_put(sg_md_table_t *t, int col, const char *s,
                            bool markup)
{
        int i;
        char *copy;

        if (t->nrows == 0 || col < 0 || col >= t->ncols)
                return;
        i = (t->nrows - 1) * t->ncols + col;
        free(t->cells[i]);
        t->cells[i] = NULL;
        t->markup[i] = markup;
        if (!s)
                return;
        copy = sg_xstrdup(s);
        for (char *p = copy; *p; p++)
                if ((unsigned char)*p < 0x20 || *p == 0x7f)
                        *p = '?';
        t->cells[i] = copy;
}

void sg_md_table_set(sg_md_table_t *t, int col, const char *md)
{
        sg_md_table_put(t, col, md, true);
}

void sg_md_table_set_text(sg_md_table_t *t, int col, const char *text)
{
        sg_md_table_put(t, col, text, false);
}

void sg_md_table_setf(sg_md_table_t *t, int col, const char *fmt, ...)
{
        char buf[1024];
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(buf, sizeof(buf), fmt, ap);
        va_end(ap);
        sg_md_table_put(t, col, buf, true);
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

/* Appends a cell as Markdown and its terminating NUL: plain text
 * escaped, Markdown with every '|' not already escaped escaped. */
static void sg_md_cell(const sg_md_table_t *t, int i, sg_buf_t *out)
{
        const char *s = t->cells[i];

        if (s && !t->markup[i]) {
                sg_md_text(out, s);
        } else if (s) {
                for (const char *p = s; *p; p++) {
                        if (*p == '|' && (p == s || p[-1] != '\\'))
                                sg_buf_putc(out, '\\');
                        sg_buf_putc(out, *p);
                }
        }
        sg_buf_append(out, "", 1);
}

void sg_md_table_render(const sg_md_table_t *t, sg_buf_t *out)
{
        int width[SG_MD_MAX_COLS], n = t->nrows * t->ncols;
        size_t *off = sg_xcalloc((size_t)n + 1, sizeof(*off));
        sg_buf_t all;

        /* Every cell as Markdown, NUL-separated in one buffer. */
        sg_buf_init(&all);
        for (int i = 0; i < n; i++) {
                off[i] = all.len;
                sg_md_cell(t, i, &all);
        }
#define SG_MD_CELL(r, c) (all.data + off[(r) * t->ncols + (c)])
        for (int c = 0; c < t->ncols; c++) {
                width[c] = 3; /* the shortest delimiter GitHub accepts */
                for (int r = 0; r < t->nrows; r++) {
                        int w = sg_md_width(SG_MD_CELL(r, c));
                        if (w > width[c])
                                width[c] = w;
                }
        }
        for (int r = 0; r < t->nrows; r++) {
                for (int c = 0; c < t->ncols; c++) {
                        const char *s = SG_MD_CELL(r, c);
                        int pad = width[c] - sg_md_width(s);

                        sg_buf_puts(out, c == 0 ? "| " : " | ");
                        if (t->align[c] == SG_MD_RIGHT && r > 0)
                                sg_md_pad(out, ' ', pad);
                        sg_buf_puts(out, s);
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
#undef SG_MD_CELL
        sg_buf_fini(&all);
        free(off);
}

static const char *sg_md_raw(const sg_md_table_t *t, int r, int c)
{
        const char *s = t->cells[r * t->ncols + c];

        return s ? s : "";
}

void sg_md_table_render_text(const sg_md_table_t *t, sg_buf_t *out,
                             const char *indent)
{
        int width[SG_MD_MAX_COLS] = {0};

        for (int r = 0; r < t->nrows; r++)
                for (int c = 0; c < t->ncols; c++) {
                        int w = sg_md_width(sg_md_raw(t, r, c));
                        if (w > width[c])
                                width[c] = w;
                }
        for (int r = 0; r < t->nrows; r++) {
                size_t start = out->len;
                int last = t->ncols - 1;

                /* Trailing empty cells print nothing. */
                while (last > 0 && !*sg_md_raw(t, r, last))
                        last--;
                sg_buf_puts(out, indent);
                for (int c = 0; c <= last; c++) {
                        const char *s = sg_md_raw(t, r, c);
                        int pad = width[c] - sg_md_width(s);

                        if (c)
                                sg_buf_puts(out, "  ");
                        if (t->align[c] == SG_MD_RIGHT)
                                sg_md_pad(out, ' ', pad);
                        sg_buf_puts(out, s);
                        if (t->align[c] != SG_MD_RIGHT)
                                sg_md_pad(out, ' ', pad);
                }
                while (out->len > start && out->data[out->len - 1] == ' ')
                        out->len--;
                sg_buf_putc(out, '\n');
                if (r != 0)
                        continue;
                sg_buf_puts(out, indent);
                for (int c = 0; c < t->ncols; c++) {
                        if (c)
                                sg_buf_puts(out, "  ");
                        sg_md_pad(out, '-', width[c]);
                }
                sg_buf_putc(out, '\n');
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
                if (strchr("\\`*_[]<>#!~&|", ch))
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
