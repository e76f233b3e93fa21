/* The e-mail shape check (api/email.h). */

#include "email.h"

#include <string.h>

static bool is_alnum(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9');
}

static bool local_ok(const char *s, size_t n)
{
        if (n < 1 || n > 64 || s[0] == '.' || s[n - 1] == '.')
                return false;
        for (size_t i = 0; i < n; i++) {
                char c = s[i];
                if (c == '.' && s[i + 1] == '.')
                        return false;
                if (!is_alnum(c) && !strchr("!#$%&'*+/=?^_`{|}~.-", c))
                        return false;
        }
        return true;
}

static bool domain_ok(const char *s, size_t n)
{
        size_t labels = 0, start = 0;

        if (n < 3 || n > 253)
                return false;
        for (size_t i = 0; i <= n; i++) {
                if (i < n && s[i] != '.') {
                        if (!is_alnum(s[i]) && s[i] != '-')
                                return false;
                        continue;
                }
                size_t len = i - start;
                if (len < 1 || len > 63 || s[start] == '-' || s[i - 1] == '-')
                        return false;
                labels++;
                if (i == n) {
                        if (len < 2)
                                return false;
                        for (size_t k = start; k < i; k++)
                                if (!((s[k] >= 'a' && s[k] <= 'z') ||
                                      (s[k] >= 'A' && s[k] <= 'Z')))
                                        return false;
                }
                start = i + 1;
        }
        return labels >= 2;
}

bool sg_api_email_shape(const char *s)
{
        size_t n = s ? strlen(s) : 0;
        const char *at;

        if (n < 6 || n > 254)
                return false;
        at = strchr(s, '@');
        if (!at || strchr(at + 1, '@'))
                return false;
        return local_ok(s, (size_t)(at - s)) &&
               domain_ok(at + 1, n - (size_t)(at - s) - 1);
}
