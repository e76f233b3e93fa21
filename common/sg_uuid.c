#include "sg_uuid.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sg_defs.h"

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

void sg_uuid_from_name(const char *text, size_t len,
                       char out[SG_UUID_LEN + 1])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int mdlen = 0;

        if (!EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) ||
            mdlen < 16)
                sg_oom("a SHA-256 for a name-based UUID");
        md[6] = (unsigned char)((md[6] & 0x0f) | 0x80); /* uuid version 8 */
        md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC 4122 variant */
        snprintf(out, SG_UUID_LEN + 1,
                 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x"
                 "%02x%02x",
                 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
                 md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
}
