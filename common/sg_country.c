#include "sg_country.h"

#include <stdlib.h>
#include <string.h>

/* ISO 3166-1 alpha-2: the 249 officially assigned codes, sorted.
 * Reserved codes (UK, EL, XK, ...) are not in it. */
/* clang-format off */
static const char sg_country_iso3166[][2] = {
        {'A','D'},{'A','E'},{'A','F'},{'A','G'},{'A','I'},{'A','L'},{'A','M'},
        {'A','O'},{'A','Q'},{'A','R'},{'A','S'},{'A','T'},{'A','U'},{'A','W'},
        {'A','X'},{'A','Z'},
        {'B','A'},{'B','B'},{'B','D'},{'B','E'},{'B','F'},{'B','G'},{'B','H'},
        {'B','I'},{'B','J'},{'B','L'},{'B','M'},{'B','N'},{'B','O'},{'B','Q'},
        {'B','R'},{'B','S'},{'B','T'},{'B','V'},{'B','W'},{'B','Y'},{'B','Z'},
        {'C','A'},{'C','C'},{'C','D'},{'C','F'},{'C','G'},{'C','H'},{'C','I'},
        {'C','K'},{'C','L'},{'C','M'},{'C','N'},{'C','O'},{'C','R'},{'C','U'},
        {'C','V'},{'C','W'},{'C','X'},{'C','Y'},{'C','Z'},
        {'D','E'},{'D','J'},{'D','K'},{'D','M'},{'D','O'},{'D','Z'},
        {'E','C'},{'E','E'},{'E','G'},{'E','H'},{'E','R'},{'E','S'},{'E','T'},
        {'F','I'},{'F','J'},{'F','K'},{'F','M'},{'F','O'},{'F','R'},
        {'G','A'},{'G','B'},{'G','D'},{'G','E'},{'G','F'},{'G','G'},{'G','H'},
        {'G','I'},{'G','L'},{'G','M'},{'G','N'},{'G','P'},{'G','Q'},{'G','R'},
        {'G','S'},{'G','T'},{'G','U'},{'G','W'},{'G','Y'},
        {'H','K'},{'H','M'},{'H','N'},{'H','R'},{'H','T'},{'H','U'},
        {'I','D'},{'I','E'},{'I','L'},{'I','M'},{'I','N'},{'I','O'},{'I','Q'},
        {'I','R'},{'I','S'},{'I','T'},
        {'J','E'},{'J','M'},{'J','O'},{'J','P'},
        {'K','E'},{'K','G'},{'K','H'},{'K','I'},{'K','M'},{'K','N'},{'K','P'},
        {'K','R'},{'K','W'},{'K','Y'},{'K','Z'},
        {'L','A'},{'L','B'},{'L','C'},{'L','I'},{'L','K'},{'L','R'},{'L','S'},
        {'L','T'},{'L','U'},{'L','V'},{'L','Y'},
        {'M','A'},{'M','C'},{'M','D'},{'M','E'},{'M','F'},{'M','G'},{'M','H'},
        {'M','K'},{'M','L'},{'M','M'},{'M','N'},{'M','O'},{'M','P'},{'M','Q'},
        {'M','R'},{'M','S'},{'M','T'},{'M','U'},{'M','V'},{'M','W'},{'M','X'},
        {'M','Y'},{'M','Z'},
        {'N','A'},{'N','C'},{'N','E'},{'N','F'},{'N','G'},{'N','I'},{'N','L'},
        {'N','O'},{'N','P'},{'N','R'},{'N','U'},{'N','Z'},
        {'O','M'},
        {'P','A'},{'P','E'},{'P','F'},{'P','G'},{'P','H'},{'P','K'},{'P','L'},
        {'P','M'},{'P','N'},{'P','R'},{'P','S'},{'P','T'},{'P','W'},{'P','Y'},
        {'Q','A'},
        {'R','E'},{'R','O'},{'R','S'},{'R','U'},{'R','W'},
        {'S','A'},{'S','B'},{'S','C'},{'S','D'},{'S','E'},{'S','G'},{'S','H'},
        {'S','I'},{'S','J'},{'S','K'},{'S','L'},{'S','M'},{'S','N'},{'S','O'},
        {'S','R'},{'S','S'},{'S','T'},{'S','V'},{'S','X'},{'S','Y'},{'S','Z'},
        {'T','C'},{'T','D'},{'T','F'},{'T','G'},{'T','H'},{'T','J'},{'T','K'},
        {'T','L'},{'T','M'},{'T','N'},{'T','O'},{'T','R'},{'T','T'},{'T','V'},
        {'T','W'},{'T','Z'},
        {'U','A'},{'U','G'},{'U','M'},{'U','S'},{'U','Y'},{'U','Z'},
        {'V','A'},{'V','C'},{'V','E'},{'V','G'},{'V','I'},{'V','N'},{'V','U'},
        {'W','F'},{'W','S'},
        {'Y','E'},{'Y','T'},
        {'Z','A'},{'Z','M'},{'Z','W'},
};

/* EU-27 member states, sorted. Greece is GR (ISO), not EL (EU usage). */
static const char sg_country_eu27[][2] = {
        {'A','T'},{'B','E'},{'B','G'},{'C','Y'},{'C','Z'},{'D','E'},{'D','K'},
        {'E','E'},{'E','S'},{'F','I'},{'F','R'},{'G','R'},{'H','R'},{'H','U'},
        {'I','E'},{'I','T'},{'L','T'},{'L','U'},{'L','V'},{'M','T'},{'N','L'},
        {'P','L'},{'P','T'},{'R','O'},{'S','E'},{'S','I'},{'S','K'},
};
/* clang-format on */

static int sg_country_cmp(const void *a, const void *b)
{
        return memcmp(a, b, 2);
}

static bool sg_country_upper(char c)
{
        return c >= 'A' && c <= 'Z';
}

static bool sg_country_in(const char *alpha2, const char (*table)[2],
                          size_t n)
{
        return bsearch(alpha2, table, n, 2, sg_country_cmp) != NULL;
}

#define SG_COUNTRY_IN(code, table)                                             \
        sg_country_in((code), (table), sizeof(table) / sizeof((table)[0]))

bool sg_country_valid(const char *s, size_t len)
{
        if (len != 2 && (len < 4 || len > 6))
                return false;
        if (!sg_country_upper(s[0]) || !sg_country_upper(s[1]) ||
            !SG_COUNTRY_IN(s, sg_country_iso3166))
                return false;
        if (len == 2)
                return true;
        if (s[2] != '-')
                return false;
        for (size_t i = 3; i < len; i++)
                if (!sg_country_upper(s[i]) && !(s[i] >= '0' && s[i] <= '9'))
                        return false;
        return true;
}

bool sg_country_is_eu(const char *code)
{
        if (!code || !sg_country_upper(code[0]) || !sg_country_upper(code[1]) ||
            (code[2] != '\0' && code[2] != '-'))
                return false;
        return SG_COUNTRY_IN(code, sg_country_eu27);
}

bool sg_country_is_us_ca(const char *code)
{
        return code && strcmp(code, "US-CA") == 0;
}
