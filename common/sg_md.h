#ifndef SG_MD_H
#define SG_MD_H

/* Tables and Markdown, one implementation for every tool that prints a
 * table (sg-report, sg-compare, ...): Markdown that renders cleanly
 * everywhere (CommonMark and GitHub's tables), with one escaping rule,
 * and the same tables as aligned plain text for terminals. Pure; memory
 * errors abort (sg_defs.h). */

#include <stdarg.h>
#include <stdbool.h>

#include "sg_buf.h"

#define SG_MD_MAX_COLS 16

typedef enum sg_md_align {
        SG_MD_LEFT = 0,
        SG_MD_RIGHT,
} sg_md_align_t;

/* A table of owned cells; row 0 is the header. A cell holds either plain
 * text (data: escaped when rendered as Markdown, shown as is in plain
 * text) or Markdown (built with sg_md_text/sg_md_code). Control
 * characters become '?' so that a cell stays on one line, and a '|' can
 * never end a Markdown cell. */
typedef struct sg_md_table {
        int ncols;
        int nrows; /* header included */
        int cap;
        char **cells;  /* nrows * ncols; NULL = empty */
        bool *markup;  /* per cell: holds Markdown */
        sg_md_align_t align[SG_MD_MAX_COLS];
} sg_md_table_t;

/* Starts a table with ncols columns (at most SG_MD_MAX_COLS) and its
 * header row; head[] (may be NULL) holds ncols titles (Markdown),
 * align[] (may be NULL: all left) their alignments. */
void sg_md_table_init(sg_md_table_t *t, int ncols, const char *const *head,
                      const sg_md_align_t *align);

/* Frees every cell; t may then be initialised again. */
void sg_md_table_fini(sg_md_table_t *t);

/* Appends an empty row; the cell setters fill the last row. */
void sg_md_table_add_row(sg_md_table_t *t);

/* Sets a cell of the last row to a copy of md, Markdown (NULL: empty). */
void sg_md_table_set(sg_md_table_t *t, int col, const char *md);

/* Same, from a format string (numbers, identifiers). */
void sg_md_table_setf(sg_md_table_t *t, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sets a cell of the last row to a copy of plain text (NULL: empty). */
void sg_md_table_set_text(sg_md_table_t *t, int col, const char *text);

/* Appends the table to out as Markdown: a header row, the delimiter row
 * with the alignments, one line per row, columns padded to a common
 * width so that the raw text is aligned too. */
void sg_md_table_render(const sg_md_table_t *t, sg_buf_t *out);

/* Appends the table to out as plain text for a terminal: each line
 * starts with indent, columns two spaces apart, a dashed line under the
 * header, no trailing blanks. */
void sg_md_table_render_text(const sg_md_table_t *t, sg_buf_t *out,
                             const char *indent);

/* Appends raw text escaped for inline Markdown: the characters that
 * could start emphasis, code, links, HTML or a heading, and '|', are
 * backslash-escaped; control characters become '?'. */
void sg_md_text(sg_buf_t *out, const char *s);

/* Appends s as a code span (`s`): how identifiers are shown. Backticks
 * and control characters inside become '?'; NULL or "" is written
 * "(empty)", since an empty code span does not render. */
void sg_md_code(sg_buf_t *out, const char *s);

/* Display width of a UTF-8 string in columns: its code points. */
int sg_md_width(const char *s);

#endif
