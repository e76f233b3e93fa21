#ifndef RETENTION_PLAN_H
#define RETENTION_PLAN_H

/* sg-retention's pure part: from a table's monthly partitions, the rows
 * its DEFAULT partition holds per month, the policy and today's date,
 * which partitions to create and which to drop. No I/O, no clock: dates
 * are day numbers (days since 1970-01-01, sg_time.h), months are the day
 * number of their first day.
 *
 * The rules (docs/retention.md):
 *  - the cutoff is today minus the table's period (keep_months calendar
 *    months, the day clamped to the month's length, or keep_days days);
 *  - a partition is dropped only if it lies ENTIRELY before the cutoff
 *    (its upper bound <= cutoff); the DEFAULT partition never is;
 *  - the months from today's to ahead_months later get a partition;
 *  - every month with rows in DEFAULT gets one too (the rows are moved
 *    into it), and is then dropped like any other if it is too old. */

#include <stdbool.h>
#include <stddef.h>

#define SG_RETENTION_NAME_MAX 64

typedef struct sg_retention_policy {
        const char *table; /* "events_raw" */
        int keep_months;   /* > 0: the period in months ... */
        int keep_days;     /* ... else in days */
        int ahead_months;  /* months after today's that get a partition */
} sg_retention_policy_t;

/* One partition of the table, as the catalog has it. */
typedef struct sg_retention_part {
        char name[SG_RETENTION_NAME_MAX];
        bool is_default;
        long long from, to; /* [from, to) in days; unset when is_default */
} sg_retention_part_t;

/* Rows of one month held by the DEFAULT partition. */
typedef struct sg_retention_month {
        long long month; /* its first day */
        long long rows;
} sg_retention_month_t;

typedef enum sg_retention_kind {
        SG_RETENTION_DEFAULT_ROWS, /* report: DEFAULT holds rows of a month */
        SG_RETENTION_CREATE,       /* create (rows: moved out of DEFAULT) */
        SG_RETENTION_DROP,         /* drop (rows: -1 until counted) */
} sg_retention_kind_t;

typedef struct sg_retention_action {
        sg_retention_kind_t kind;
        char partition[SG_RETENTION_NAME_MAX];
        long long from, to;
        long long rows;
} sg_retention_action_t;

/* The first day of day's month, and of the month k months later (k may
 * be negative). */
long long sg_retention_month_of(long long day);
long long sg_retention_add_months(long long month, int k);

/* The day before which a partition must end to be dropped. */
long long sg_retention_cutoff(const sg_retention_policy_t *p, long long today);

/* The partition's name for a month: "<table>_YYYY_MM". */
void sg_retention_name(const char *table, long long month, char *out,
                       size_t size);

/* The most actions sg_retention_plan can return for these inputs. */
size_t sg_retention_plan_max(size_t nparts, size_t nmonths,
                             const sg_retention_policy_t *p);

/* Plans one table: DEFAULT reports first, then creations, then drops,
 * each in month order. out must hold sg_retention_plan_max actions.
 * A month is not created if an existing partition overlaps it. Returns
 * the number of actions. */
size_t sg_retention_plan(const sg_retention_policy_t *p,
                         const sg_retention_part_t *parts, size_t nparts,
                         const sg_retention_month_t *months, size_t nmonths,
                         long long today, sg_retention_action_t *out);

#endif
