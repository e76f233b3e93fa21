#include "render.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Copies the number in s ("-1234567.89") into out with a ',' between
 * each group of three integer digits. s is known to be well formed. */
static char *sg_render_group(const char *s, char *out, size_t size)
{
        char tmp[SG_RENDER_NUM_MAX * 2];
        const char *p = s, *dot;
        size_t n = 0, ndigits;

        if (*p == '-')
                tmp[n++] = *p++;
        dot = strchr(p, '.');
        ndigits = dot ? (size_t)(dot - p) : strlen(p);
        if (ndigits + ndigits / 3 + strlen(p + ndigits) + 2 >= sizeof(tmp)) {
                snprintf(out, size, "%s", s); /* absurdly long: as is */
                return out;
        }
        for (size_t i = 0; i < ndigits; i++) {
                if (i > 0 && (ndigits - i) % 3 == 0)
                        tmp[n++] = ',';
                tmp[n++] = p[i];
        }
        tmp[n] = '\0';
        snprintf(out, size, "%s%s", tmp, p + ndigits);
        return out;
}

char *sg_render_int(long long v, char *out, size_t size)
{
        char s[32];

        snprintf(s, sizeof(s), "%lld", v);
        return sg_render_group(s, out, size);
}

char *sg_render_double(double v, int decimals, char *out, size_t size)
{
        char s[SG_RENDER_NUM_MAX];

        if (!isfinite(v) || fabs(v) >= 1e18) {
                snprintf(out, size, "n/a");
                return out;
        }
        if (decimals < 0)
                decimals = 0;
        if (decimals > 6)
                decimals = 6;
        snprintf(s, sizeof(s), "%.*f", decimals, v);
        /* "-0.00" says nothing a reader should see. */
        if (s[0] == '-' && strspn(s + 1, "0.") == strlen(s + 1))
                memmove(s, s + 1, strlen(s));
        return sg_render_group(s, out, size);
}

char *sg_render_decimal(const char *num, char *out, size_t size)
{
        const char *p = num;
        size_t ndigits, nfrac = 0;

        if (!p)
                goto bad;
        if (*p == '-')
                p++;
        ndigits = strspn(p, "0123456789");
        if (ndigits == 0)
                goto bad;
        p += ndigits;
        if (*p == '.') {
                nfrac = strspn(p + 1, "0123456789");
                if (nfrac == 0)
                        goto bad;
                p += 1 + nfrac;
        }
        if (*p != '\0' || ndigits + nfrac > 40)
                goto bad;
        return sg_render_group(num, out, size);
bad:
        snprintf(out, size, "n/a");
        return out;
}

char *sg_render_percent(long long num, long long den, int decimals, char *out,
                        size_t size)
{
        char s[SG_RENDER_NUM_MAX];

        if (den == 0) {
                snprintf(out, size, "n/a");
                return out;
        }
        sg_render_double(100.0 * (double)num / (double)den, decimals, s,
                         sizeof(s));
        snprintf(out, size, "%s%%", s);
        return out;
}

char *sg_render_duration(double seconds, char *out, size_t size)
{
        double a = fabs(seconds);
        char s[SG_RENDER_NUM_MAX];
        const char *unit;

        if (isnan(seconds)) {
                snprintf(out, size, "n/a");
                return out;
        }
        /* The thresholds sit where the rounded value would reach the next
         * unit, so 59.996 s is "1.0 min", never "60.00 s". */
        if (a < 0.9995) {
                sg_render_double(seconds * 1000.0, 0, s, sizeof(s));
                unit = "ms";
        } else if (a < 59.995) {
                sg_render_double(seconds, 2, s, sizeof(s));
                unit = "s";
        } else if (a < 3597.0) {
                sg_render_double(seconds / 60.0, 1, s, sizeof(s));
                unit = "min";
        } else if (a < 172800.0) {
                sg_render_double(seconds / 3600.0, 1, s, sizeof(s));
                unit = "h";
        } else {
                sg_render_double(seconds / 86400.0, 1, s, sizeof(s));
                unit = "days";
        }
        snprintf(out, size, "%s %s", s, unit);
        return out;
}

void sg_render_row_kv(sg_md_table_t *t, const char *key, const char *value)
{
        sg_md_table_add_row(t);
        sg_md_table_set(t, 0, key);
        sg_md_table_set(t, 1, value);
}

void sg_render_cell_code(sg_md_table_t *t, int col, const char *s)
{
        sg_buf_t b;

        sg_buf_init(&b);
        sg_md_code(&b, s);
        sg_md_table_set(t, col, b.data);
        sg_buf_fini(&b);
}

void sg_render_cell_text(sg_md_table_t *t, int col, const char *s)
{
        sg_buf_t b;

        sg_buf_init(&b);
        sg_md_text(&b, s);
        sg_md_table_set(t, col, b.data ? b.data : "");
        sg_buf_fini(&b);
}

void sg_render_table_end(sg_md_table_t *t, sg_buf_t *out)
{
        sg_md_table_render(t, out);
        sg_buf_puts(out, "\n");
        sg_md_table_fini(t);
}
