#include "plan.h"
#include "sg_time.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long long sg_retention_month_of(long long day)
{
        long long y;
        unsigned m, d;

        sg_time_civil_from_days(day, &y, &m, &d);
        return sg_time_days_from_civil(y, m, 1);
}

long long sg_retention_add_months(long long month, int k)
{
        long long y, idx;
        unsigned m, d;

        sg_time_civil_from_days(month, &y, &m, &d);
        idx = y * 12 + (long long)(m - 1) + k;
        /* Floor division: months before year 0 stay ordered. */
        y = idx >= 0 ? idx / 12 : -((-idx + 11) / 12);
        return sg_time_days_from_civil(y, (unsigned)(idx - y * 12 + 1), 1);
}

long long sg_retention_cutoff(const sg_retention_policy_t *p, long long today)
{
        long long y, first;
        unsigned m, d, fm, fd;
        int dim;

        if (p->keep_months <= 0)
                return today - p->keep_days;
        sg_time_civil_from_days(today, &y, &m, &d);
        first = sg_retention_add_months(sg_time_days_from_civil(y, m, 1),
                                        -p->keep_months);
        sg_time_civil_from_days(first, &y, &fm, &fd);
        dim = sg_time_days_in_month(y, (int)fm);
        /* 31 March minus one month is 28 (or 29) February. */
        return first + ((int)d > dim ? dim : (int)d) - 1;
}

void sg_retention_name(const char *table, long long month, char *out,
                       size_t size)
{
        long long y;
        unsigned m, d;

        sg_time_civil_from_days(month, &y, &m, &d);
        snprintf(out, size, "%s_%04lld_%02u", table, y, m);
}

size_t sg_retention_plan_max(size_t nparts, size_t nmonths,
                             const sg_retention_policy_t *p)
{
        size_t creates = nmonths + (size_t)p->ahead_months + 1;

        return nmonths + creates + nparts + creates;
}

/* Does [from, to) overlap a partition of parts? */
static bool overlaps(const sg_retention_part_t *parts, size_t nparts,
                     long long from, long long to)
{
        for (size_t i = 0; i < nparts; i++)
                if (!parts[i].is_default && parts[i].from < to &&
                    from < parts[i].to)
                        return true;
        return false;
}

/* Appends a CREATE for month unless one is planned already or a partition
 * overlaps it. */
static void plan_create(const sg_retention_policy_t *p,
                        const sg_retention_part_t *parts, size_t nparts,
                        long long month, long long rows,
                        sg_retention_action_t *out, size_t *n, size_t first)
{
        long long to = sg_retention_add_months(month, 1);
        sg_retention_action_t *a;

        if (overlaps(parts, nparts, month, to))
                return;
        for (size_t i = first; i < *n; i++)
                if (out[i].from == month)
                        return;
        a = &out[(*n)++];
        memset(a, 0, sizeof(*a));
        a->kind = SG_RETENTION_CREATE;
        sg_retention_name(p->table, month, a->partition, sizeof(a->partition));
        a->from = month;
        a->to = to;
        a->rows = rows;
}

static int cmp_from(const void *x, const void *y)
{
        const sg_retention_action_t *a = x, *b = y;

        return a->from < b->from ? -1 : a->from > b->from;
}

size_t sg_retention_plan(const sg_retention_policy_t *p,
                         const sg_retention_part_t *parts, size_t nparts,
                         const sg_retention_month_t *months, size_t nmonths,
                         long long today, sg_retention_action_t *out)
{
        long long cutoff = sg_retention_cutoff(p, today);
        long long now = sg_retention_month_of(today);
        size_t n = 0, creates, ncreates, drops;

        for (size_t i = 0; i < nmonths; i++) {
                sg_retention_action_t *a = &out[n++];

                memset(a, 0, sizeof(*a));
                a->kind = SG_RETENTION_DEFAULT_ROWS;
                a->from = months[i].month;
                a->to = sg_retention_add_months(months[i].month, 1);
                a->rows = months[i].rows;
        }
        creates = n;
        for (size_t i = 0; i < nmonths; i++)
                plan_create(p, parts, nparts, months[i].month, months[i].rows,
                            out, &n, creates);
        for (int k = 0; k <= p->ahead_months; k++)
                plan_create(p, parts, nparts, sg_retention_add_months(now, k),
                            0, out, &n, creates);
        ncreates = n - creates;
        qsort(out + creates, ncreates, sizeof(*out), cmp_from);

        drops = n;
        for (size_t i = 0; i < nparts; i++) {
                sg_retention_action_t *a;

                if (parts[i].is_default || parts[i].to > cutoff)
                        continue;
                a = &out[n++];
                memset(a, 0, sizeof(*a));
                a->kind = SG_RETENTION_DROP;
                snprintf(a->partition, sizeof(a->partition), "%s",
                         parts[i].name);
                a->from = parts[i].from;
                a->to = parts[i].to;
                a->rows = -1;
        }
        for (size_t i = creates; i < creates + ncreates; i++) {
                if (out[i].to > cutoff)
                        continue;
                out[n] = out[i];
                out[n].kind = SG_RETENTION_DROP;
                n++;
        }
        qsort(out + drops, n - drops, sizeof(*out), cmp_from);
        return n;
}
