#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed_words.h"
#include "sg_event.h"
#include "sg_mask.h"
#include "sg_country.h"

#define NUSERS 20000

TestSuite(seed_words);

static bool is_uuid(const char *s)
{
        if (strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23) {
                        if (s[i] != '-')
                                return false;
                } else if (!((s[i] >= '0' && s[i] <= '9') ||
                             (s[i] >= 'a' && s[i] <= 'f'))) {
                        return false;
                }
        }
        return true;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

Test(seed_words, deterministic_per_seed_and_index)
{
        sg_seed_user_t a, b, c;

        for (uint64_t i = 0; i < 500; i++) {
                sg_seed_user_make(42, i, &a);
                sg_seed_user_make(42, i, &b);
                cr_assert(memcmp(&a, &b, sizeof(a)) == 0, "index %llu",
                          (unsigned long long)i);
                sg_seed_user_make(43, i, &c);
                cr_assert_str_neq(a.user_id, c.user_id);
        }
        /* Independent of how many users are asked for: user 12345 is the
         * same whether or not users 0..12344 were made first. */
        sg_seed_user_make(7, 12345, &a);
        for (uint64_t i = 0; i < 12345; i++)
                sg_seed_user_make(7, i, &b);
        sg_seed_user_make(7, 12345, &b);
        cr_assert(memcmp(&a, &b, sizeof(a)) == 0);
}

Test(seed_words, fields_are_well_formed)
{
        sg_seed_user_t u;
        char suffix[64];

        for (uint64_t i = 0; i < NUSERS; i++) {
                sg_seed_user_make(42, i, &u);
                cr_assert(is_uuid(u.user_id), "user_id %s", u.user_id);
                cr_assert(u.user_id[14] == '4', "version 4");
                cr_assert(*u.first_name && *u.last_name && *u.city &&
                          *u.street_address && *u.postal_code);
                cr_assert(
                    sg_mask_utf8_valid(u.first_name, strlen(u.first_name)));
                cr_assert(sg_mask_utf8_valid(u.last_name, strlen(u.last_name)));
                cr_assert(sg_mask_utf8_valid(u.street_address,
                                             strlen(u.street_address)));
                cr_assert(sg_mask_utf8_valid(u.city, strlen(u.city)));
                cr_assert(strpbrk(u.postal_code, "#@") == NULL);
                for (const char *p = u.email; *p; p++)
                        cr_assert((*p >= 'a' && *p <= 'z') ||
                                      (*p >= '0' && *p <= '9') || *p == '.' ||
                                      *p == '@',
                                  "e-mail must be lower-case ASCII");
                cr_assert(sg_mask_has_email(u.email, strlen(u.email)));
                snprintf(suffix, sizeof(suffix), ".%llu@example.",
                         (unsigned long long)i);
                cr_assert(strstr(u.email, suffix) != NULL, "suffix %s", suffix);
                cr_assert(strcmp(u.signup_date, "2023-01-01") >= 0 &&
                              strcmp(u.signup_date, "2025-12-31") <= 0,
                          "signup_date %s", u.signup_date);
                cr_assert_eq(strlen(u.signup_date), 10);
        }
}

Test(seed_words, emails_and_ids_unique)
{
        char **emails = calloc(NUSERS, sizeof(char *));
        char **ids = calloc(NUSERS, sizeof(char *));
        sg_seed_user_t u;

        cr_assert(emails && ids);
        for (uint64_t i = 0; i < NUSERS; i++) {
                sg_seed_user_make(42, i, &u);
                emails[i] = strdup(u.email);
                ids[i] = strdup(u.user_id);
        }
        qsort(emails, NUSERS, sizeof(char *), cmp_str);
        qsort(ids, NUSERS, sizeof(char *), cmp_str);
        for (size_t i = 1; i < NUSERS; i++) {
                cr_assert_str_neq(emails[i - 1], emails[i]);
                cr_assert_str_neq(ids[i - 1], ids[i]);
        }
        for (size_t i = 0; i < NUSERS; i++) {
                free(emails[i]);
                free(ids[i]);
        }
        free(emails);
        free(ids);
}

Test(seed_words, country_mix)
{
        size_t ncountries = sg_seed_country_count();
        long long *per = calloc(ncountries, sizeof(long long));
        long long eu = 0, us = 0, other = 0, us_ca = 0, us_ny = 0, us_tx = 0;
        sg_seed_user_t u;

        cr_assert_eq(ncountries, 23);
        for (uint64_t i = 0; i < NUSERS; i++) {
                char a2[3];
                size_t c;

                sg_seed_user_make(42, i, &u);
                for (c = 0; c < ncountries; c++)
                        if (strcmp(u.country, sg_seed_country_code(c)) == 0)
                                break;
                cr_assert(c < ncountries, "unknown country %s", u.country);
                per[c]++;
                memcpy(a2, u.country, 2);
                a2[2] = '\0';
                if (strncmp(u.country, "US-", 3) == 0)
                        us++;
                else if (sg_country_is_eu(a2))
                        eu++;
                else
                        other++;
                us_ca += strcmp(u.country, "US-CA") == 0;
                us_ny += strcmp(u.country, "US-NY") == 0;
                us_tx += strcmp(u.country, "US-TX") == 0;
        }
        for (size_t c = 0; c < ncountries; c++)
                cr_assert(per[c] > 0, "country %s never drawn",
                          sg_seed_country_code(c));
        cr_assert(eu > NUSERS * 0.57 && eu < NUSERS * 0.63, "eu %lld", eu);
        cr_assert(us > NUSERS * 0.17 && us < NUSERS * 0.23, "us %lld", us);
        cr_assert(other > NUSERS * 0.17 && other < NUSERS * 0.23, "other %lld",
                  other);
        cr_assert(us_ca > us_ny && us_ca > us_tx, "US-CA most common");
        free(per);
}

Test(seed_words, ascii_transliteration)
{
        char out[64];

        sg_seed_words_ascii("Müller", out, sizeof(out));
        cr_assert_str_eq(out, "mueller");
        sg_seed_words_ascii("O'Sullivan", out, sizeof(out));
        cr_assert_str_eq(out, "osullivan");
        sg_seed_words_ascii("Łukasz", out, sizeof(out));
        cr_assert_str_eq(out, "lukasz");
        sg_seed_words_ascii("van den Berg", out, sizeof(out));
        cr_assert_str_eq(out, "vandenberg");
        sg_seed_words_ascii("Søren Ærø", out, sizeof(out));
        cr_assert_str_eq(out, "sorenaero");
        sg_seed_words_ascii("Élodie", out, sizeof(out));
        cr_assert_str_eq(out, "elodie");
        sg_seed_words_ascii("Gonçalves", out, sizeof(out));
        cr_assert_str_eq(out, "goncalves");
        sg_seed_words_ascii("Schröder", out, 5);
        cr_assert_str_eq(out, "schr");
        sg_seed_words_ascii("\xe6\x9d\xb1x", out, sizeof(out));
        cr_assert_str_eq(out, "x");
}

Test(seed_words, email_words)
{
        sg_rand_t r;
        char out[96];
        size_t n;

        sg_rand_init(&r, 1, 2);
        for (int i = 0; i < 1000; i++) {
                n = sg_seed_words_email(&r, out, sizeof(out));
                cr_assert_eq(n, strlen(out));
                cr_assert(sg_mask_has_email(out, n), "%s", out);
        }
        n = sg_seed_words_email(&r, out, 6);
        cr_assert_eq(n, 5);
        cr_assert_eq(strlen(out), 5);
}
