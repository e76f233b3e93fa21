#include "sg_uuid.h"

#include <string.h>

/* Lower-case form of each hex digit, 0 for any other byte (a table: the
 * validator runs this for 72 bytes of every event). */
static const char sg_uuid_hex_lower[256] = {
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e',
    ['f'] = 'f', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd',
    ['E'] = 'e', ['F'] = 'f',
};

bool sg_uuid_canon(const char *s, size_t len, char out[SG_UUID_LEN + 1])
{
        const unsigned char *u = (const unsigned char *)s;
        char o[SG_UUID_LEN + 1];

        if (!s || len != SG_UUID_LEN)
                return false;
        for (int i = 0; i < SG_UUID_LEN; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (u[i] != '-')
                                return false;
                        o[i] = '-';
                } else if (!(o[i] = sg_uuid_hex_lower[u[i]])) {
                        return false;
                }
        }
        o[SG_UUID_LEN] = '\0';
        if (out)
                memcpy(out, o, sizeof(o));
        return true;
}

bool sg_uuid_valid(const char *s)
{
        return s && sg_uuid_canon(s, strlen(s), NULL);
}
