#ifndef SG_RENDER_H
#define SG_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "sg_buf.h"
#include "sg_md.h"

/* Numbers and durations written for people: thousands separators, a fixed
 * number of decimals, units. Pure and locale-independent (the separator
 * is always ',' and the decimal point always '.'), so a report is the same
 * bytes on every machine. Each function writes a NUL-terminated string
 * into out (truncated to size) and returns out, so calls can be nested
 * in printf arguments. */

/* A buffer size that fits every string these functions produce. */
#define SG_RENDER_NUM_MAX 64

/* 1234567 -> "1,234,567"; -1234 -> "-1,234". */
char *sg_render_int(long long v, char *out, size_t size);

/* v rounded to decimals places (0..6), with separators:
 * 1234.5, 2 -> "1,234.50". NaN or infinity -> "n/a". */
char *sg_render_double(double v, int decimals, char *out, size_t size);

/* A decimal number as text (what PostgreSQL prints for NUMERIC:
 * "-1234567.89"), with separators added and nothing else changed, so no
 * digit is lost to a double. Anything that is not [-]digits[.digits]
 * gives "n/a". */
char *sg_render_decimal(const char *num, char *out, size_t size);

/* 100 * num / den with decimals places and a '%': 1, 8, 1 -> "12.5%".
 * den == 0 -> "n/a" (no base to compute a rate from). */
char *sg_render_percent(long long num, long long den, int decimals, char *out,
                        size_t size);

/* A duration in seconds with a unit chosen for its size:
 * "850 ms", "12.35 s", "12.5 min", "5.2 h", "40.0 days". Negative
 * durations (clock skew between writers) are written as they are;
 * NaN -> "n/a". */
char *sg_render_duration(double seconds, char *out, size_t size);

/* Table cells and rows every report writes the same way (sg_md tables). */

/* Appends a row of two cells, key and value (both Markdown). */
void sg_render_row_kv(sg_md_table_t *t, const char *key, const char *value);

/* Sets a cell of the last row to s as a code span (identifiers). */
void sg_render_cell_code(sg_md_table_t *t, int col, const char *s);

/* Sets a cell of the last row to s escaped as inline Markdown text. */
void sg_render_cell_text(sg_md_table_t *t, int col, const char *s);

/* Appends t as Markdown and a blank line, then frees t's cells. */
void sg_render_table_end(sg_md_table_t *t, sg_buf_t *out);

#endif
