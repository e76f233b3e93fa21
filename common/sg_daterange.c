#include "sg_daterange.h"

#include <string.h>

void sg_daterange_args_init(sg_daterange_args_t *args)
{
        memset(args, 0, sizeof(*args));
}

int sg_daterange_opt(sg_daterange_args_t *args, int opt, const char *arg)
{
        switch (opt) {
        case SG_OPT_DATE:
                args->date = arg;
                return 1;
        case SG_OPT_FROM:
                args->from = arg;
                return 1;
        case SG_OPT_TO:
                args->to = arg;
                return 1;
        case SG_OPT_ALL:
                args->all = true;
                return 1;
        default:
                return 0;
        }
}

static int sg_daterange_digits(const char *s, int n)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

bool sg_daterange_valid_date(const char *s)
{
        static const int mdays[12] = {31, 28, 31, 30, 31, 30,
                                      31, 31, 30, 31, 30, 31};
        int y, m, d, max;

        if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
                return false;
        y = sg_daterange_digits(s, 4);
        m = sg_daterange_digits(s + 5, 2);
        d = sg_daterange_digits(s + 8, 2);
        if (y < 1 || m < 1 || m > 12 || d < 1)
                return false;
        max = mdays[m - 1];
        if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
                max = 29;
        return d <= max;
}

void sg_daterange_utc_date(time_t now, int days_back, char out[11])
{
        time_t t = now - (time_t)days_back * 86400;
        struct tm tm;

        /* gmtime_r only fails beyond year 2^31; keep out a valid string. */
        if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 1 ||
            tm.tm_year + 1900 > 9999) {
                memcpy(out, "1970-01-01", 11);
                return;
        }
        strftime(out, 11, "%Y-%m-%d", &tm);
}

static int sg_daterange_check(const char *flag, const char *s, char *errstr,
                              size_t errstr_size)
{
        if (sg_daterange_valid_date(s))
                return 0;
        snprintf(errstr, errstr_size,
                 "%s needs a real date as YYYY-MM-DD, got '%s'", flag, s);
        return -1;
}

int sg_daterange_resolve(const sg_daterange_args_t *args, time_t now,
                         sg_daterange_t *out, char *errstr, size_t errstr_size)
{
        char yesterday[11];

        memset(out, 0, sizeof(*out));
        sg_daterange_utc_date(now, 1, yesterday);
        if (args->all && (args->date || args->from || args->to)) {
                snprintf(errstr, errstr_size,
                         "--all cannot be combined with --date, --from or "
                         "--to");
                return -1;
        }
        if (args->date && (args->from || args->to)) {
                snprintf(errstr, errstr_size,
                         "--date cannot be combined with --from or --to");
                return -1;
        }
        if (args->to && !args->from) {
                snprintf(errstr, errstr_size, "--to needs --from");
                return -1;
        }
        if (args->all) {
                out->all = true;
                return 0;
        }
        if (args->date) {
                if (sg_daterange_check("--date", args->date, errstr,
                                       errstr_size) < 0)
                        return -1;
                memcpy(out->from, args->date, 11);
                memcpy(out->to, args->date, 11);
                return 0;
        }
        if (args->from) {
                if (sg_daterange_check("--from", args->from, errstr,
                                       errstr_size) < 0)
                        return -1;
                if (args->to && sg_daterange_check("--to", args->to, errstr,
                                                   errstr_size) < 0)
                        return -1;
                memcpy(out->from, args->from, 11);
                memcpy(out->to, args->to ? args->to : yesterday, 11);
                /* YYYY-MM-DD compares as text in date order. */
                if (strcmp(out->from, out->to) > 0) {
                        snprintf(errstr, errstr_size,
                                 "--from %s is after %s %s", out->from,
                                 args->to ? "--to" : "yesterday (UTC),",
                                 out->to);
                        memset(out, 0, sizeof(*out));
                        return -1;
                }
                return 0;
        }
        memcpy(out->from, yesterday, 11);
        memcpy(out->to, yesterday, 11);
        return 0;
}

const char *sg_daterange_lower(const sg_daterange_t *dr)
{
        return dr->all ? "-infinity" : dr->from;
}

const char *sg_daterange_upper(const sg_daterange_t *dr)
{
        return dr->all ? "infinity" : dr->to;
}

void sg_daterange_describe(const sg_daterange_t *dr, char *out, size_t size)
{
        if (dr->all)
                snprintf(out, size, "all dates");
        else if (strcmp(dr->from, dr->to) == 0)
                snprintf(out, size, "%s", dr->from);
        else
                snprintf(out, size, "%s..%s", dr->from, dr->to);
}

void sg_daterange_usage(FILE *fp)
{
        fputs("Dates (UTC; default: yesterday):\n"
              "  --date YYYY-MM-DD    one day\n"
              "  --from YYYY-MM-DD    from this day ...\n"
              "  --to YYYY-MM-DD      ... to this day, inclusive (default: "
              "yesterday)\n"
              "  --all                every date\n",
              fp);
}
