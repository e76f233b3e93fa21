#ifndef SG_COMPARE_RENDER_H
#define SG_COMPARE_RENDER_H

#include <stdbool.h>

/* The result of sg-compare as plain structs, and its rendering as a text
 * table, Markdown or JSON. Pure: no PGconn, so unit tests need no
 * database. Every string is borrowed; nothing here frees the input. */

#define SG_COMPARE_MAX_KEYS 3
#define SG_COMPARE_MAX_VALUES 3

typedef enum sg_compare_format {
        SG_COMPARE_TABLE = 0,
        SG_COMPARE_MARKDOWN,
        SG_COMPARE_JSON,
} sg_compare_format_t;

/* How a value is written in JSON: counts as numbers, exact decimals
 * (NUMERIC amounts) as strings so that no digit is lost to a double. */
typedef enum sg_compare_kind {
        SG_COMPARE_INT = 0,
        SG_COMPARE_DECIMAL,
} sg_compare_kind_t;

/* One differing row. A side that has no such row has in_<side> false and
 * its values are ignored (may be NULL). delta is streaming - batch, a
 * missing side counted as 0. */
typedef struct sg_compare_row {
        const char *key[SG_COMPARE_MAX_KEYS];
        bool in_batch;
        bool in_streaming;
        const char *batch[SG_COMPARE_MAX_VALUES];
        const char *streaming[SG_COMPARE_MAX_VALUES];
        const char *delta[SG_COMPARE_MAX_VALUES];
} sg_compare_row_t;

/* One pair of tables (metrics_batch_<name> vs metrics_streaming_<name>). */
typedef struct sg_compare_table {
        const char *name; /* "daily", "country_daily", ... */
        int nkeys;
        int nvalues;
        const char *key_names[SG_COMPARE_MAX_KEYS];
        const char *value_names[SG_COMPARE_MAX_VALUES];
        sg_compare_kind_t value_kinds[SG_COMPARE_MAX_VALUES];
        long long compared;    /* rows of the FULL OUTER JOIN */
        long long differences; /* all differing rows */
        int nrows;             /* listed (at most the cap) */
        const sg_compare_row_t *rows;
} sg_compare_table_t;

/* How far the consumer groups have read one partition. -1: no offset
 * stored for that group. */
typedef struct sg_compare_partition {
        int partition;
        long long raw_offset;    /* the raw-store group's next_offset */
        long long stream_offset; /* the stream-metrics group's */
        long long events;        /* events_raw rows, selected dates */
        long long duplicates;    /* events_duplicates rows, any date */
} sg_compare_partition_t;

typedef struct sg_compare_result {
        const char *range; /* "2025-06-01", "a..b", "all dates" */
        bool all;
        const char *from; /* NULL when all */
        const char *to;
        int ntables;
        const sg_compare_table_t *tables;

        /* Selected dates no sg-batch-metrics run has covered
         * (metrics_batch_runs): how many, and the first few. */
        long long unbatched;
        int nunbatched_listed;
        const char *const *unbatched_dates;

        /* Consumer progress. */
        const char *topic;
        const char *raw_group;
        const char *stream_group;
        int npartitions;
        const sg_compare_partition_t *partitions;
        long long raw_gaps, raw_lost; /* offset_gaps rows, lost events */
        long long stream_gaps, stream_lost;
        long long duplicates;          /* events_duplicates, any date */
        long long duplicates_in_range; /* ... of events in the dates */
} sg_compare_result_t;

/* Parses "table", "markdown" or "json". Returns 0, or -1. */
int sg_compare_format_parse(const char *s, sg_compare_format_t *out)
    __attribute__((warn_unused_result));

/* Total differences over every table. */
long long sg_compare_differences(const sg_compare_result_t *r);

/* Renders r in fmt as one NUL-terminated heap string; the caller frees it
 * with free(). Returns NULL when out of memory. */
char *sg_compare_render(const sg_compare_result_t *r, sg_compare_format_t fmt)
    __attribute__((warn_unused_result));

/* sg-compare --compliance: compliance_flags_batch against compliance_flags
 * (the compliance_flags_compare view of sql/009). One differing flag: its
 * identity, which sides hold it, and the columns to show with each
 * side's value (NULL: SQL NULL, or the side has no such flag): the
 * columns that differ when both sides hold it, else a few of the present
 * side's (severity, event_count). */
#define SG_COMPARE_FLAG_COLS 17

typedef struct sg_compare_flag {
        const char *flag_id;
        const char *rule;
        const char *subject_type;
        const char *subject_id;
        const char *window_start;
        bool in_batch;
        bool in_streaming;
        int ncols;
        const char *col[SG_COMPARE_FLAG_COLS];
        const char *batch[SG_COMPARE_FLAG_COLS];
        const char *streaming[SG_COMPARE_FLAG_COLS];
} sg_compare_flag_t;

typedef struct sg_compare_flags {
        const char *range; /* "2025-06-01", "a..b", "all dates" */
        bool all;
        const char *from; /* NULL when all */
        const char *to;
        long long compared;        /* flags on either side */
        long long batch_flags;     /* ... in compliance_flags_batch */
        long long streaming_flags; /* ... in compliance_flags */
        long long differences;     /* all differing flags */
        long long batch_only;
        long long streaming_only;
        int nrows; /* listed (at most the cap) */
        const sg_compare_flag_t *rows;
} sg_compare_flags_t;

/* Renders r in fmt as one NUL-terminated heap string (the caller frees
 * it): a table of the listed flags, one line per column shown (long
 * values cut in the table and Markdown, whole in JSON), how many more
 * differ, and the verdict. Returns NULL when out of memory. */
char *sg_compare_flags_render(const sg_compare_flags_t *r,
                              sg_compare_format_t fmt)
    __attribute__((warn_unused_result));

#endif
