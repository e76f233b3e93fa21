#include "sg_time.h"

#include <string.h>
#include <time.h>

/* H. Hinnant's days_from_civil / civil_from_days. */
long long sg_time_days_from_civil(long long y, unsigned m, unsigned d)
{
        long long era;
        unsigned yoe, doy, doe;

        y -= m <= 2;
        era = (y >= 0 ? y : y - 399) / 400;
        yoe = (unsigned)(y - era * 400);
        doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (long long)doe - 719468;
}

void sg_time_civil_from_days(long long day, long long *y, unsigned *m,
                             unsigned *d)
{
        long long era, z = day + 719468;
        unsigned doe, yoe, doy, mp;

        era = (z >= 0 ? z : z - 146096) / 146097;
        doe = (unsigned)(z - era * 146097);
        yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (long long)yoe + era * 400 + (*m <= 2);
}

int sg_time_days_in_month(long long y, int m)
{
        static const int days[12] = {31, 28, 31, 30, 31, 30,
                                     31, 31, 30, 31, 30, 31};

        if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
                return 29;
        return days[m - 1];
}

/* Value of the n decimal digits at s, or -1. Stops at the first
 * non-digit, so it never reads past a terminating NUL. */
static int sg_time_digits(const char *s, int n)
{
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return -1;
                v = v * 10 + (s[i] - '0');
        }
        return v;
}

/* Parses YYYY-MM-DD at s (the date part of both forms); the character
 * after it is the caller's to check. */
static int sg_time_date_at(const char *s, int *y, int *m, int *d)
{
        *y = sg_time_digits(s, 4);
        if (*y < 1 || s[4] != '-')
                return -1;
        *m = sg_time_digits(s + 5, 2);
        if (*m < 1 || *m > 12 || s[7] != '-')
                return -1;
        *d = sg_time_digits(s + 8, 2);
        if (*d < 1 || *d > sg_time_days_in_month(*y, *m))
                return -1;
        return 0;
}

int sg_time_parse_date(const char *s, long long *day)
{
        int y, m, d;

        if (!s || sg_time_date_at(s, &y, &m, &d) < 0 || s[10] != '\0')
                return -1;
        *day = sg_time_days_from_civil(y, (unsigned)m, (unsigned)d);
        return 0;
}

long long sg_time_utc_day(long long ts_us)
{
        long long q = ts_us / SG_TIME_US_PER_DAY;

        if (ts_us % SG_TIME_US_PER_DAY < 0)
                q--;
        return q;
}

int sg_time_parse_rfc3339(const char *s, int min_year, int max_year,
                          long long *ts_us)
{
        int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, nfrac = 0;
        long long frac = 0, secs;
        const char *p = s;

        if (!s || !ts_us || sg_time_date_at(p, &y, &mo, &d) < 0 ||
            y < min_year || y > max_year || (p[10] != 'T' && p[10] != 't'))
                return -1;
        p += 11;
        h = sg_time_digits(p, 2);
        if (h < 0 || h > 23 || p[2] != ':')
                return -1;
        p += 3;
        mi = sg_time_digits(p, 2);
        if (mi < 0 || mi > 59 || p[2] != ':')
                return -1;
        p += 3;
        sec = sg_time_digits(p, 2);
        if (sec < 0 || sec > 59)
                return -1;
        p += 2;
        if (*p == '.') {
                p++;
                while (*p >= '0' && *p <= '9') {
                        if (nfrac == 6)
                                return -1;
                        frac = frac * 10 + (*p - '0');
                        nfrac++;
                        p++;
                }
                if (nfrac == 0)
                        return -1;
                for (int i = nfrac; i < 6; i++)
                        frac *= 10;
        }
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if (*p == '+' || *p == '-') {
                sign = *p == '+' ? 1 : -1;
                oh = sg_time_digits(p + 1, 2);
                if (oh < 0 || oh > 23 || p[3] != ':')
                        return -1;
                om = sg_time_digits(p + 4, 2);
                if (om < 0 || om > 59)
                        return -1;
                p += 6;
        } else {
                return -1;
        }
        if (*p != '\0')
                return -1;
        secs = sg_time_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
               h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
        *ts_us = secs * 1000000 + frac;
        return 0;
}

/* Writes v as exactly n decimal digits (v >= 0). */
static char *sg_time_put_digits(char *p, long long v, int n)
{
        for (int i = n - 1; i >= 0; i--) {
                p[i] = (char)('0' + v % 10);
                v /= 10;
        }
        return p + n;
}

/* Writes YYYY-MM-DD (10 bytes, no NUL); years outside 0-9999 are clamped,
 * which only timestamps far outside the contract's range can reach. */
static char *sg_time_put_day(char *p, long long day)
{
        long long y;
        unsigned m, d;

        sg_time_civil_from_days(day, &y, &m, &d);
        if (y < 0)
                y = 0;
        if (y > 9999)
                y = 9999;
        p = sg_time_put_digits(p, y, 4);
        *p++ = '-';
        p = sg_time_put_digits(p, m, 2);
        *p++ = '-';
        return sg_time_put_digits(p, d, 2);
}

void sg_time_format_day(long long day, char out[11])
{
        *sg_time_put_day(out, day) = '\0';
}

/* "YYYY-MM-DD?HH:MM:SS.ffffff" (26 bytes, no NUL), sep between date and
 * time. */
static char *sg_time_put_ts(char *p, long long ts_us, char sep)
{
        long long rem = ts_us % SG_TIME_US_PER_DAY, secs;

        if (rem < 0)
                rem += SG_TIME_US_PER_DAY;
        secs = rem / 1000000;
        p = sg_time_put_day(p, sg_time_utc_day(ts_us));
        *p++ = sep;
        p = sg_time_put_digits(p, secs / 3600, 2);
        *p++ = ':';
        p = sg_time_put_digits(p, secs / 60 % 60, 2);
        *p++ = ':';
        p = sg_time_put_digits(p, secs % 60, 2);
        *p++ = '.';
        return sg_time_put_digits(p, rem % 1000000, 6);
}

size_t sg_time_format_pg(long long ts_us, char *out, size_t size)
{
        char tmp[32], *p = sg_time_put_ts(tmp, ts_us, ' ');
        size_t n;

        memcpy(p, "+00", 3);
        n = (size_t)(p + 3 - tmp);
        if (!out || size == 0)
                return 0;
        if (n > size - 1)
                n = size - 1;
        memcpy(out, tmp, n);
        out[n] = '\0';
        return n;
}

void sg_time_format_rfc3339(long long ts_us, char out[28])
{
        char *p = sg_time_put_ts(out, ts_us, 'T');

        p[0] = 'Z';
        p[1] = '\0';
}

long long sg_time_mono_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (long long)ts.tv_sec * 1000LL + ts.tv_nsec / 1000000L;
}

long long sg_time_wall_us(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000L;
}

void sg_time_utc_date(long long now_s, int days_back, char out[11])
{
        long long day = now_s / 86400 - (now_s % 86400 < 0) - days_back;

        sg_time_format_day(day, out);
}
