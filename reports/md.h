#ifndef SG_MD_H
#define SG_MD_H

#include <stdarg.h>

#include "sg_buf.h"

/* Markdown that renders cleanly everywhere (CommonMark and GitHub's
 * tables): escaping of text that comes from the database, code spans for
 * identifiers, and tables whose raw text is aligned too. Pure. Memory
 * errors abort, as sg_buf does. */

#define SG_MD_MAX_COLS 12

typedef enum sg_md_align {
        SG_MD_LEFT = 0,
        SG_MD_RIGHT,
} sg_md_align_t;

/* A table of owned cells; row 0 is the header. Cells hold Markdown (use
 * sg_md_text/sg_md_code to build it from raw values); '|' is escaped and
 * control characters become '?' when a cell is set, so a cell never
 * breaks the table. */
typedef struct sg_md_table {
        int ncols;
        int nrows; /* header included */
        int cap;
        char **cells; /* nrows * ncols; NULL = empty */
        sg_md_align_t align[SG_MD_MAX_COLS];
} sg_md_table_t;

/* Starts a table with ncols columns (at most SG_MD_MAX_COLS) and its
 * header row; head[] holds ncols titles, align[] their alignments. */
void sg_md_table_init(sg_md_table_t *t, int ncols, const char *const *head,
                      const sg_md_align_t *align);

/* Frees every cell; t may then be initialised again. */
void sg_md_table_fini(sg_md_table_t *t);

/* Appends an empty row; the cell setters fill the last row. */
void sg_md_table_add_row(sg_md_table_t *t);

/* Sets a cell of the last row to a copy of md (NULL: empty). */
void sg_md_table_set(sg_md_table_t *t, int col, const char *md);

/* Same, from a format string. */
void sg_md_table_setf(sg_md_table_t *t, int col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends the table to out: a header row, the delimiter row with the
 * alignments, one line per row, columns padded to a common width. */
void sg_md_table_render(const sg_md_table_t *t, sg_buf_t *out);

/* Appends raw text escaped for inline Markdown: the characters that
 * could start emphasis, code, links, HTML or a heading are
 * backslash-escaped, control characters become '?'. */
void sg_md_text(sg_buf_t *out, const char *s);

/* Appends s as a code span (`s`): how identifiers are shown. Backticks
 * and control characters inside become '?'; NULL or "" is written
 * "(empty)", since an empty code span does not render. */
void sg_md_code(sg_buf_t *out, const char *s);

/* Display width of a UTF-8 string in columns: its code points. */
int sg_md_width(const char *s);

#endif
