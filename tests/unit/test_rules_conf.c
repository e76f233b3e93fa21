/* rules_conf: the compliance rules' defaults, the rules file (its format,
 * every error with its "name:line:" and the conf left as it was), the
 * checked-in config/compliance.rules against the defaults, and each
 * rule's version (its canonical text, and that it moves with that rule's
 * parameters only). */
#include <criterion/criterion.h>

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rules_conf.h"

TestSuite(rules_conf, .timeout = 30);

/* The checked-in file, by the source dir CMake gives every target
 * (SG_SQL_DIR is "<source>/sql"). */
#define RULES_FILE SG_SQL_DIR "/../config/compliance.rules"

#define H 3600000000LL /* an hour in µs */

static int parse(sg_rules_conf_t *c, const char *text, char *err, size_t size)
{
        return sg_rules_conf_parse(c, "t", text, strlen(text), err, size);
}

/* Parses text over the defaults: -1, an error that starts with prefix
 * (and holds what, if given), under 200 bytes, and the conf untouched. */
static void expect_error(const char *text, const char *prefix,
                         const char *what)
{
        sg_rules_conf_t c, before;
        char err[512] = "";

        sg_rules_conf_defaults(&c);
        memcpy(&before, &c, sizeof(c));
        cr_assert_eq(parse(&c, text, err, sizeof(err)), -1, "accepted: %s",
                     text);
        cr_assert(strncmp(err, prefix, strlen(prefix)) == 0,
                  "%s: got '%s', want the prefix '%s'", text, err, prefix);
        if (what)
                cr_assert(strstr(err, what), "%s: got '%s', want '%s' in it",
                          text, err, what);
        cr_assert_lt(strlen(err), 200, "too long: %s", err);
        cr_assert(memcmp(&c, &before, sizeof(c)) == 0,
                  "a refused file changed the conf: %s", text);
}

/* Parses text over the defaults, which must succeed. */
static sg_rules_conf_t expect_ok(const char *text)
{
        sg_rules_conf_t c;
        char err[512] = "";

        sg_rules_conf_defaults(&c);
        cr_assert_eq(parse(&c, text, err, sizeof(err)), 0, "%s: %s", text,
                     err);
        return c;
}

static void assert_conf_eq(const sg_rules_conf_t *a, const sg_rules_conf_t *b)
{
        for (int i = 0; i < SG_RULE__CNT; i++) {
                const sg_rule_conf_t *x = &a->rule[i], *y = &b->rule[i];
                const char *n = sg_rule_name(i);

                cr_assert_eq(x->enabled, y->enabled, "%s", n);
                cr_assert_eq(x->severity, y->severity, "%s", n);
                cr_assert_eq(x->weight, y->weight, "%s", n);
                cr_assert_eq(x->window_us, y->window_us, "%s", n);
                cr_assert_eq(x->threshold, y->threshold, "%s", n);
                cr_assert_eq(x->high_threshold, y->high_threshold, "%s", n);
                cr_assert_eq(x->min_events, y->min_events, "%s", n);
                cr_assert_eq(x->ratio, y->ratio, "%s", n);
                cr_assert_eq(x->alpha, y->alpha, "%s", n);
                cr_assert_eq(x->sigmas, y->sigmas, "%s", n);
                cr_assert_eq(x->min_stddev, y->min_stddev, "%s", n);
                cr_assert_eq(x->history, y->history, "%s", n);
                cr_assert_str_eq(x->version, y->version, "%s", n);
        }
        cr_assert_eq(a->lateness_us, b->lateness_us);
        cr_assert_eq(a->playback_error_weight, b->playback_error_weight);
        cr_assert_eq(a->level_high, b->level_high);
        cr_assert_eq(a->level_medium, b->level_medium);
        cr_assert_eq(a->max_user_events, b->max_user_events);
}

/* The first 12 hex digits of the SHA-256 of text. */
static void sha12(const char *text, char out[13])
{
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int n = 0;

        cr_assert_eq(EVP_Digest(text, strlen(text), md, &n, EVP_sha256(),
                                NULL),
                     1);
        for (int i = 0; i < 6; i++)
                snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* A file in /tmp holding size bytes of text repeated; the caller unlinks
 * it. */
static void temp_file(char path[64], const char *text, size_t size)
{
        size_t len = strlen(text);
        FILE *fp;
        int fd;

        snprintf(path, 64, "/tmp/test_rules_conf.XXXXXX");
        fd = mkstemp(path);
        cr_assert_geq(fd, 0);
        fp = fdopen(fd, "w");
        cr_assert_not_null(fp);
        for (size_t i = 0; i < size; i += len)
                fwrite(text, 1, size - i < len ? size - i : len, fp);
        cr_assert_eq(fclose(fp), 0);
}

Test(rules_conf, names_and_subjects)
{
        static const char *const names[SG_RULE__CNT] = {
            "eu_no_consent",  "erased_user_activity", "do_not_track",
            "multi_country",  "multi_network",        "high_frequency",
            "large_purchase", "purchase_burst",       "repeat_offender",
            "content_error_rate", "traffic_anomaly",
        };

        for (int i = 0; i < SG_RULE__CNT; i++) {
                cr_assert_str_eq(sg_rule_name(i), names[i]);
                cr_assert_eq(sg_rule_from_name(names[i]), i);
                sg_subject_t want = SG_SUBJECT_USER;

                if (i == SG_RULE_CONTENT_ERROR_RATE)
                        want = SG_SUBJECT_CONTENT;
                if (i == SG_RULE_TRAFFIC_ANOMALY)
                        want = SG_SUBJECT_COUNTRY;
                cr_assert_eq(sg_rule_subject(i), want, "%s", names[i]);
        }
        cr_assert_null(sg_rule_name(SG_RULE__CNT));
        cr_assert_null(sg_rule_name((sg_rule_id_t)-1));
        cr_assert_eq(sg_rule_from_name("Multi_Country"), -1);
        cr_assert_eq(sg_rule_from_name(""), -1);
        cr_assert_eq(sg_rule_from_name(NULL), -1);
        cr_assert_str_eq(sg_severity_name(SG_SEV_LOW), "low");
        cr_assert_str_eq(sg_severity_name(SG_SEV_MEDIUM), "medium");
        cr_assert_str_eq(sg_severity_name(SG_SEV_HIGH), "high");
        cr_assert_str_eq(sg_severity_name((sg_severity_t)0), "?");
        cr_assert_str_eq(sg_subject_name(SG_SUBJECT_USER), "user");
        cr_assert_str_eq(sg_subject_name(SG_SUBJECT_CONTENT), "content");
        cr_assert_str_eq(sg_subject_name(SG_SUBJECT_COUNTRY), "country");
}

Test(rules_conf, defaults_are_the_documented_ones)
{
        sg_rules_conf_t c;
        const sg_rule_conf_t *r = c.rule;

        memset(&c, 0x5a, sizeof(c));
        sg_rules_conf_defaults(&c);
        for (int i = 0; i < SG_RULE__CNT; i++) {
                cr_assert(r[i].enabled, "%s", sg_rule_name(i));
                cr_assert_eq(strlen(r[i].version), 12);
                cr_assert_eq(strspn(r[i].version, "0123456789abcdef"), 12);
        }
        cr_assert_eq(r[SG_RULE_EU_NO_CONSENT].severity, SG_SEV_HIGH);
        cr_assert_eq(r[SG_RULE_EU_NO_CONSENT].weight, 5);
        cr_assert_eq(r[SG_RULE_EU_NO_CONSENT].window_us, 0);
        cr_assert_eq(r[SG_RULE_ERASED_USER_ACTIVITY].severity, SG_SEV_HIGH);
        cr_assert_eq(r[SG_RULE_ERASED_USER_ACTIVITY].weight, 0);
        cr_assert_eq(r[SG_RULE_DO_NOT_TRACK].severity, SG_SEV_HIGH);
        cr_assert_eq(r[SG_RULE_DO_NOT_TRACK].weight, 0);

        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].severity, SG_SEV_MEDIUM);
        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].window_us, H);
        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].threshold, 2);
        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].high_threshold, 3);
        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].weight, 2);
        cr_assert_eq(r[SG_RULE_MULTI_NETWORK].severity, SG_SEV_MEDIUM);
        cr_assert_eq(r[SG_RULE_MULTI_NETWORK].window_us, H);
        cr_assert_eq(r[SG_RULE_MULTI_NETWORK].threshold, 3);
        cr_assert_eq(r[SG_RULE_MULTI_NETWORK].high_threshold, 0);
        cr_assert_eq(r[SG_RULE_MULTI_NETWORK].weight, 0);
        cr_assert_eq(r[SG_RULE_HIGH_FREQUENCY].severity, SG_SEV_LOW);
        cr_assert_eq(r[SG_RULE_HIGH_FREQUENCY].window_us, H);
        cr_assert_eq(r[SG_RULE_HIGH_FREQUENCY].threshold, 10);
        cr_assert_eq(r[SG_RULE_HIGH_FREQUENCY].weight, 1);
        cr_assert_eq(r[SG_RULE_LARGE_PURCHASE].severity, SG_SEV_MEDIUM);
        cr_assert_eq(r[SG_RULE_LARGE_PURCHASE].threshold, 50000);
        cr_assert_eq(r[SG_RULE_LARGE_PURCHASE].high_threshold, 1000000);
        cr_assert_eq(r[SG_RULE_LARGE_PURCHASE].window_us, 0);
        cr_assert_eq(r[SG_RULE_LARGE_PURCHASE].weight, 0);
        cr_assert_eq(r[SG_RULE_PURCHASE_BURST].severity, SG_SEV_HIGH);
        cr_assert_eq(r[SG_RULE_PURCHASE_BURST].window_us, 10000000);
        cr_assert_eq(r[SG_RULE_PURCHASE_BURST].threshold, 5);
        cr_assert_eq(r[SG_RULE_REPEAT_OFFENDER].severity, SG_SEV_HIGH);
        cr_assert_eq(r[SG_RULE_REPEAT_OFFENDER].window_us, 300000000);
        cr_assert_eq(r[SG_RULE_REPEAT_OFFENDER].threshold, 3);

        cr_assert_eq(r[SG_RULE_CONTENT_ERROR_RATE].severity, SG_SEV_HIGH);
        cr_assert_eq(r[SG_RULE_CONTENT_ERROR_RATE].window_us, 300000000);
        cr_assert_eq(r[SG_RULE_CONTENT_ERROR_RATE].ratio, 0.20);
        cr_assert_eq(r[SG_RULE_CONTENT_ERROR_RATE].min_events, 20);
        cr_assert_eq(r[SG_RULE_CONTENT_ERROR_RATE].threshold, 0);
        cr_assert_eq(r[SG_RULE_CONTENT_ERROR_RATE].weight, 0);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].severity, SG_SEV_MEDIUM);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].window_us, 300000000);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].alpha, 0.1);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].sigmas, 4.0);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].min_stddev, 1.0);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].history, 12);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].ratio, 0);
        cr_assert_eq(r[SG_RULE_TRAFFIC_ANOMALY].weight, 0);
        /* the fields a rule does not use stay 0 */
        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].ratio, 0);
        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].min_events, 0);
        cr_assert_eq(r[SG_RULE_MULTI_COUNTRY].history, 0);
        cr_assert_eq(r[SG_RULE_EU_NO_CONSENT].threshold, 0);

        cr_assert_eq(c.lateness_us, 60000000);
        cr_assert_eq(c.playback_error_weight, 3);
        cr_assert_eq(c.level_high, 8);
        cr_assert_eq(c.level_medium, 5);
        cr_assert_eq(c.max_user_events, 4096);
        cr_assert_eq(sg_rules_conf_user_window_us(&c), H);
}

Test(rules_conf, checked_in_file_is_the_defaults)
{
        sg_rules_conf_t c, d;
        char err[512] = "";

        /* From all zeros: the file must set every key itself. */
        memset(&c, 0, sizeof(c));
        cr_assert_eq(sg_rules_conf_load(&c, RULES_FILE, err, sizeof(err)), 0,
                     "%s", err);
        sg_rules_conf_defaults(&d);
        assert_conf_eq(&c, &d);
}

Test(rules_conf, versions_hash_the_canonical_text)
{
        static const struct {
                sg_rule_id_t id;
                const char *text;
        } cases[] = {
            {SG_RULE_EU_NO_CONSENT,
             "eu_no_consent|enabled=1|severity=high|weight=5"},
            {SG_RULE_MULTI_COUNTRY,
             "multi_country|enabled=1|severity=medium|weight=2|"
             "window_us=3600000000|threshold=2|high_threshold=3"},
            {SG_RULE_LARGE_PURCHASE,
             "large_purchase|enabled=1|severity=medium|weight=0|"
             "threshold=50000|high_threshold=1000000"},
            {SG_RULE_PURCHASE_BURST,
             "purchase_burst|enabled=1|severity=high|weight=0|"
             "window_us=10000000|threshold=5"},
            {SG_RULE_CONTENT_ERROR_RATE,
             "content_error_rate|enabled=1|severity=high|weight=0|"
             "window_us=300000000|ratio=0.20000000000000001|min_events=20"},
            {SG_RULE_TRAFFIC_ANOMALY,
             "traffic_anomaly|enabled=1|severity=medium|weight=0|"
             "window_us=300000000|alpha=0.10000000000000001|sigmas=4|"
             "min_stddev=1|history=12"},
        };
        sg_rules_conf_t c;
        char want[13];

        sg_rules_conf_defaults(&c);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                sha12(cases[i].text, want);
                cr_assert_str_eq(c.rule[cases[i].id].version, want, "%s",
                                 cases[i].text);
        }
        /* the same parameters, the same version, however they came */
        c = expect_ok("[multi_country]\nthreshold = 2\nwindow = 60m\n");
        sha12(cases[1].text, want);
        cr_assert_str_eq(c.rule[SG_RULE_MULTI_COUNTRY].version, want);
}

/* Changes one field of one rule: only that rule's version moves, and
 * only when the rule uses the field. */
Test(rules_conf, version_moves_with_its_rules_parameters_only)
{
        enum { EN, SEV, W, WIN, TH, HTH, MINEV, RATIO, ALPHA, SIG, MSD, HIST,
               NFIELDS };
        static const unsigned base = 1u << EN | 1u << SEV | 1u << W;
        static const unsigned uses[SG_RULE__CNT] = {
            [SG_RULE_EU_NO_CONSENT] = base,
            [SG_RULE_ERASED_USER_ACTIVITY] = base,
            [SG_RULE_DO_NOT_TRACK] = base,
            [SG_RULE_MULTI_COUNTRY] = base | 1u << WIN | 1u << TH | 1u << HTH,
            [SG_RULE_MULTI_NETWORK] = base | 1u << WIN | 1u << TH,
            [SG_RULE_HIGH_FREQUENCY] = base | 1u << WIN | 1u << TH,
            [SG_RULE_LARGE_PURCHASE] = base | 1u << TH | 1u << HTH,
            [SG_RULE_PURCHASE_BURST] = base | 1u << WIN | 1u << TH,
            [SG_RULE_REPEAT_OFFENDER] = base | 1u << WIN | 1u << TH,
            [SG_RULE_CONTENT_ERROR_RATE] =
                base | 1u << WIN | 1u << RATIO | 1u << MINEV,
            [SG_RULE_TRAFFIC_ANOMALY] = base | 1u << WIN | 1u << ALPHA |
                                        1u << SIG | 1u << MSD | 1u << HIST,
        };
        sg_rules_conf_t d, c;

        sg_rules_conf_defaults(&d);
        for (int i = 0; i < SG_RULE__CNT; i++) {
                for (int f = 0; f < NFIELDS; f++) {
                        sg_rule_conf_t *r;

                        memcpy(&c, &d, sizeof(c));
                        r = &c.rule[i];
                        if (f == EN)
                                r->enabled = !r->enabled;
                        if (f == SEV)
                                r->severity = r->severity == SG_SEV_LOW
                                                  ? SG_SEV_HIGH
                                                  : SG_SEV_LOW;
                        r->weight += f == W;
                        r->window_us += f == WIN;
                        r->threshold += f == TH;
                        r->high_threshold += f == HTH;
                        r->min_events += f == MINEV;
                        r->ratio += f == RATIO ? 0.01 : 0;
                        r->alpha += f == ALPHA ? 0.01 : 0;
                        r->sigmas += f == SIG ? 0.5 : 0;
                        r->min_stddev += f == MSD ? 0.5 : 0;
                        r->history += f == HIST;
                        sg_rules_conf_version(&c);
                        for (int j = 0; j < SG_RULE__CNT; j++) {
                                bool moved = strcmp(c.rule[j].version,
                                                    d.rule[j].version) != 0;
                                bool want = j == i && (uses[i] & 1u << f);

                                cr_assert_eq(moved, want,
                                             "field %d of %s: %s's version "
                                             "%s",
                                             f, sg_rule_name(i),
                                             sg_rule_name(j),
                                             moved ? "moved" : "stayed");
                        }
                }
        }
}

Test(rules_conf, parsed_change_moves_one_version)
{
        sg_rules_conf_t d, c;

        sg_rules_conf_defaults(&d);
        c = expect_ok("[high_frequency]\nthreshold = 11\n");
        cr_assert_eq(c.rule[SG_RULE_HIGH_FREQUENCY].threshold, 11);
        for (int j = 0; j < SG_RULE__CNT; j++)
                cr_assert_eq(strcmp(c.rule[j].version, d.rule[j].version) != 0,
                             j == SG_RULE_HIGH_FREQUENCY, "%s",
                             sg_rule_name(j));
        /* globals are in no rule's version; the same value changes none */
        c = expect_ok("lateness = 30s\nlevel_high = 9\n"
                      "[high_frequency]\nthreshold = 10\n");
        cr_assert_eq(c.lateness_us, 30000000);
        cr_assert_eq(c.level_high, 9);
        for (int j = 0; j < SG_RULE__CNT; j++)
                cr_assert_str_eq(c.rule[j].version, d.rule[j].version);
}

Test(rules_conf, disabling_a_rule)
{
        const char *again = "[multi_network]\nenabled = true\n";
        sg_rules_conf_t d, c;

        sg_rules_conf_defaults(&d);
        c = expect_ok("[multi_network]\nenabled = false\n");
        cr_assert_not(c.rule[SG_RULE_MULTI_NETWORK].enabled);
        cr_assert_str_neq(c.rule[SG_RULE_MULTI_NETWORK].version,
                          d.rule[SG_RULE_MULTI_NETWORK].version);
        /* its other parameters stay */
        cr_assert_eq(c.rule[SG_RULE_MULTI_NETWORK].threshold, 3);
        cr_assert_eq(c.rule[SG_RULE_MULTI_NETWORK].window_us, H);
        /* and enabling it again gives the default version back */
        cr_assert_eq(sg_rules_conf_parse(&c, "t", again, strlen(again), NULL,
                                         0),
                     0);
        cr_assert_str_eq(c.rule[SG_RULE_MULTI_NETWORK].version,
                         d.rule[SG_RULE_MULTI_NETWORK].version);
}

Test(rules_conf, user_window_is_the_longest_enabled)
{
        sg_rules_conf_t c;

        c = expect_ok("[multi_country]\nenabled = false\n"
                      "[multi_network]\nenabled = false\n"
                      "[high_frequency]\nwindow = 20m\n");
        cr_assert_eq(sg_rules_conf_user_window_us(&c), 20 * 60000000LL);
        c = expect_ok("[multi_country]\nenabled = false\n"
                      "[multi_network]\nenabled = false\n"
                      "[high_frequency]\nenabled = false\n");
        cr_assert_eq(sg_rules_conf_user_window_us(&c), 300000000,
                     "repeat_offender's 300 s");
        /* content and country windows are not the users' */
        c = expect_ok("[multi_country]\nenabled = false\n"
                      "[multi_network]\nenabled = false\n"
                      "[high_frequency]\nenabled = false\n"
                      "[purchase_burst]\nenabled = false\n"
                      "[repeat_offender]\nenabled = false\n"
                      "[content_error_rate]\nwindow = 24h\n"
                      "[traffic_anomaly]\nwindow = 24h\n");
        cr_assert_eq(sg_rules_conf_user_window_us(&c), 0);
        c = expect_ok("[purchase_burst]\nwindow = 2h\n");
        cr_assert_eq(sg_rules_conf_user_window_us(&c), 2 * H);
}

Test(rules_conf, comments_and_whitespace)
{
        sg_rules_conf_t c;
        const char crlf[] = "lateness = 5s\r\n[multi_country]\r\n"
                            "threshold = 4\r\nhigh_threshold = 6\r\n";

        c = expect_ok("# a comment\n"
                      "\n"
                      "   \t\n"
                      "  lateness\t=\t45s   # trailing comment\n"
                      "#[multi_country]\n"
                      "  [ multi_country ]  # the section\n"
                      "threshold=4\n"
                      "\thigh_threshold =5#no space\n"
                      "   # indented comment\n"
                      "[high_frequency]\n"
                      "weight = 7"); /* no final newline */
        cr_assert_eq(c.lateness_us, 45000000);
        cr_assert_eq(c.rule[SG_RULE_MULTI_COUNTRY].threshold, 4);
        cr_assert_eq(c.rule[SG_RULE_MULTI_COUNTRY].high_threshold, 5);
        cr_assert_eq(c.rule[SG_RULE_HIGH_FREQUENCY].weight, 7);
        c = expect_ok(crlf);
        cr_assert_eq(c.lateness_us, 5000000);
        cr_assert_eq(c.rule[SG_RULE_MULTI_COUNTRY].high_threshold, 6);
        /* an empty text, and only comments, change nothing */
        c = expect_ok("");
        c = expect_ok("# nothing\n\n# at all\n");
        cr_assert_eq(c.lateness_us, 60000000);
        /* a 1024-byte line is fine, 1025 is not */
        {
                char text[1200];

                memset(text, '#', 1024);
                text[1024] = '\n';
                text[1025] = '\0';
                expect_ok(text);
                text[1024] = '#';
                text[1025] = '\n';
                text[1026] = '\0';
                expect_error(text, "t:1: ", "longer than 1024");
        }
}

Test(rules_conf, durations)
{
        sg_rules_conf_t c;

        c = expect_ok("lateness = 0s\n[multi_country]\nwindow = 1500ms\n"
                      "[multi_network]\nwindow = 90s\n"
                      "[high_frequency]\nwindow = 15m\n"
                      "[purchase_burst]\nwindow = 2h\n"
                      "[repeat_offender]\nwindow = 24h\n");
        cr_assert_eq(c.lateness_us, 0);
        cr_assert_eq(c.rule[SG_RULE_MULTI_COUNTRY].window_us, 1500000);
        cr_assert_eq(c.rule[SG_RULE_MULTI_NETWORK].window_us, 90000000);
        cr_assert_eq(c.rule[SG_RULE_HIGH_FREQUENCY].window_us, 900000000);
        cr_assert_eq(c.rule[SG_RULE_PURCHASE_BURST].window_us, 2 * H);
        cr_assert_eq(c.rule[SG_RULE_REPEAT_OFFENDER].window_us, 24 * H);
        c = expect_ok("lateness = 1h\n");
        cr_assert_eq(c.lateness_us, H);
        c = expect_ok("lateness = 0ms\n[content_error_rate]\nwindow = 1ms\n");
        cr_assert_eq(c.lateness_us, 0);
        cr_assert_eq(c.rule[SG_RULE_CONTENT_ERROR_RATE].window_us, 1000);

        expect_error("lateness = 3601s\n", "t:1: ", "lateness: '3601s'");
        expect_error("lateness = 61m\n", "t:1: ", "out of range");
        expect_error("lateness = -1s\n", "t:1: ", "not a duration");
        expect_error("lateness = 60\n", "t:1: ", "not a duration");
        static const char *const bad[] = {
            "1x", "1", "h", "1 h", "1H", "1.5h", "-1s", "+1s", "1hh", "1sm",
            "99999999999999999999999h", "9223372036854775807h", "0x10s",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char text[128];

                snprintf(text, sizeof(text), "[multi_country]\nwindow = %s\n",
                         bad[i]);
                expect_error(text, "t:2: ", "window: '");
        }
        expect_error("[multi_country]\nwindow = 0s\n", "t:2: ",
                     "out of range");
        expect_error("[multi_country]\nwindow = 0ms\n", "t:2: ",
                     "out of range");
        expect_error("[multi_country]\nwindow = 25h\n", "t:2: ",
                     "out of range");
        expect_error("[traffic_anomaly]\nwindow = 86400001ms\n", "t:2: ",
                     "out of range");
}

Test(rules_conf, amounts)
{
        sg_rules_conf_t c;

        c = expect_ok("[large_purchase]\nthreshold = 500.00\n");
        cr_assert_eq(c.rule[SG_RULE_LARGE_PURCHASE].threshold, 50000);
        c = expect_ok("[large_purchase]\nthreshold = 500.5\n");
        cr_assert_eq(c.rule[SG_RULE_LARGE_PURCHASE].threshold, 50050);
        c = expect_ok("[large_purchase]\nthreshold = 500\n");
        cr_assert_eq(c.rule[SG_RULE_LARGE_PURCHASE].threshold, 50000);
        c = expect_ok("[large_purchase]\nthreshold = 0.01\n"
                      "high_threshold = 1000000000000\n");
        cr_assert_eq(c.rule[SG_RULE_LARGE_PURCHASE].threshold, 1);
        cr_assert_eq(c.rule[SG_RULE_LARGE_PURCHASE].high_threshold,
                     100000000000000LL);
        c = expect_ok("[large_purchase]\nhigh_threshold = 600.07\n");
        cr_assert_eq(c.rule[SG_RULE_LARGE_PURCHASE].high_threshold, 60007);

        static const char *const bad[] = {
            "500.001", "-1", "1e3", "0", "0.00", "500.", ".5", "+5",
            "1,5",     "5 00", "1000000000000.01", "99999999999999999999",
            "0x10",    "inf", "nan",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char text[128], what[64];

                snprintf(text, sizeof(text),
                         "[large_purchase]\nthreshold = %s\n", bad[i]);
                snprintf(what, sizeof(what), "threshold: '%s' is not an "
                                             "amount", bad[i]);
                expect_error(text, "t:2: ", what);
        }
        /* high_threshold above threshold (severity high from it on) */
        expect_error("[large_purchase]\nthreshold = 20000\n", "t:2: ",
                     "high_threshold (10000.00) must be above threshold "
                     "(20000.00)");
        expect_error("[large_purchase]\nhigh_threshold = 500.00\n", "t:2: ",
                     "(500.00) must be above threshold (500.00)");
        expect_error("[large_purchase]\nhigh_threshold = 200\n"
                     "threshold = 300\nweight = 1\n",
                     "t:3: ", "must be above");
}

Test(rules_conf, decimals)
{
        sg_rules_conf_t c;

        c = expect_ok("[content_error_rate]\nratio = 0.20\n"
                      "[traffic_anomaly]\nalpha = 1\nsigmas = 100\n"
                      "min_stddev = 0\n");
        cr_assert_eq(c.rule[SG_RULE_CONTENT_ERROR_RATE].ratio, 0.20);
        cr_assert_eq(c.rule[SG_RULE_TRAFFIC_ANOMALY].alpha, 1.0);
        cr_assert_eq(c.rule[SG_RULE_TRAFFIC_ANOMALY].sigmas, 100.0);
        cr_assert_eq(c.rule[SG_RULE_TRAFFIC_ANOMALY].min_stddev, 0.0);
        /* the double the C compiler gives the same decimal */
        c = expect_ok("[content_error_rate]\nratio = 0.333\n"
                      "[traffic_anomaly]\nalpha = 0.05\nsigmas = 3.5\n"
                      "min_stddev = 2.75\n");
        cr_assert_eq(c.rule[SG_RULE_CONTENT_ERROR_RATE].ratio, 0.333);
        cr_assert_eq(c.rule[SG_RULE_TRAFFIC_ANOMALY].alpha, 0.05);
        cr_assert_eq(c.rule[SG_RULE_TRAFFIC_ANOMALY].sigmas, 3.5);
        cr_assert_eq(c.rule[SG_RULE_TRAFFIC_ANOMALY].min_stddev, 2.75);
        c = expect_ok("[content_error_rate]\n"
                      "ratio = 0.0000000000000000000001\n"); /* 22 decimals */
        cr_assert_eq(c.rule[SG_RULE_CONTENT_ERROR_RATE].ratio, 1e-22);

        expect_error("[content_error_rate]\nratio = 0\n", "t:2: ",
                     "ratio: '0' is not a decimal above 0 and below 1");
        expect_error("[content_error_rate]\nratio = 1\n", "t:2: ", "ratio");
        expect_error("[content_error_rate]\nratio = 1.5\n", "t:2: ", "ratio");
        expect_error("[content_error_rate]\nratio = 1e-1\n", "t:2: ", "ratio");
        expect_error("[content_error_rate]\nratio = .2\n", "t:2: ", "ratio");
        expect_error("[content_error_rate]\nratio = 0,2\n", "t:2: ", "ratio");
        expect_error("[content_error_rate]\nratio = 0.2.\n", "t:2: ", "ratio");
        expect_error("[content_error_rate]\n"
                     "ratio = 0.00000000000000000000001\n", /* 23 */
                     "t:2: ", "ratio");
        expect_error("[traffic_anomaly]\nalpha = 0\n", "t:2: ", "alpha");
        expect_error("[traffic_anomaly]\nalpha = 1.01\n", "t:2: ", "alpha");
        expect_error("[traffic_anomaly]\nsigmas = 0\n", "t:2: ", "sigmas");
        expect_error("[traffic_anomaly]\nsigmas = 100.5\n", "t:2: ", "sigmas");
        expect_error("[traffic_anomaly]\nmin_stddev = -1\n", "t:2: ",
                     "min_stddev");
        expect_error("[traffic_anomaly]\nmin_stddev = 99999999999999999\n",
                     "t:2: ", "min_stddev");
        expect_error("[traffic_anomaly]\nmin_stddev = nan\n", "t:2: ",
                     "min_stddev");
}

Test(rules_conf, integers)
{
        sg_rules_conf_t c;

        c = expect_ok("playback_error_weight = 0\nlevel_high = 1000\n"
                      "level_medium = 1000\nmax_user_events = 16\n"
                      "[multi_network]\nthreshold = 0\nweight = 100\n"
                      "[high_frequency]\nthreshold = 1000000000\n"
                      "[content_error_rate]\nmin_events = 1\n"
                      "[traffic_anomaly]\nhistory = 10000\n");
        cr_assert_eq(c.playback_error_weight, 0);
        cr_assert_eq(c.level_high, 1000);
        cr_assert_eq(c.level_medium, 1000);
        cr_assert_eq(c.max_user_events, 16);
        cr_assert_eq(c.rule[SG_RULE_MULTI_NETWORK].threshold, 0);
        cr_assert_eq(c.rule[SG_RULE_MULTI_NETWORK].weight, 100);
        cr_assert_eq(c.rule[SG_RULE_HIGH_FREQUENCY].threshold, 1000000000);
        cr_assert_eq(c.rule[SG_RULE_CONTENT_ERROR_RATE].min_events, 1);
        cr_assert_eq(c.rule[SG_RULE_TRAFFIC_ANOMALY].history, 10000);
        c = expect_ok("max_user_events = 65536\n");
        cr_assert_eq(c.max_user_events, 65536);

        static const char *const bad[] = {
            "-1", "1000000001", "2x", "+2", "0x10", "2.0", "1e3", "2 2",
            "99999999999999999999999",
        };
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                char text[128], what[64];

                snprintf(text, sizeof(text),
                         "[purchase_burst]\nthreshold = %s\n", bad[i]);
                snprintf(what, sizeof(what), "threshold: '%s' is not an "
                                             "integer", bad[i]);
                expect_error(text, "t:2: ", what);
        }
        expect_error("[eu_no_consent]\nweight = 101\n", "t:2: ",
                     "weight: '101' is not an integer from 0 to 100");
        expect_error("[eu_no_consent]\nweight = -1\n", "t:2: ", "weight");
        expect_error("playback_error_weight = 101\n", "t:1: ",
                     "playback_error_weight");
        expect_error("[content_error_rate]\nmin_events = 0\n", "t:2: ",
                     "min_events");
        expect_error("[content_error_rate]\nmin_events = 1000000001\n",
                     "t:2: ", "min_events");
        expect_error("[traffic_anomaly]\nhistory = 0\n", "t:2: ", "history");
        expect_error("[traffic_anomaly]\nhistory = 10001\n", "t:2: ",
                     "history");
        expect_error("[traffic_anomaly]\nhistory = 1.5\n", "t:2: ", "history");
        expect_error("max_user_events = 15\n", "t:1: ", "max_user_events");
        expect_error("max_user_events = 65537\n", "t:1: ", "max_user_events");
        expect_error("level_medium = 0\n", "t:1: ", "level_medium");
        expect_error("level_high = 1001\n", "t:1: ", "level_high");
}

Test(rules_conf, levels_and_high_thresholds_agree)
{
        sg_rules_conf_t c;

        c = expect_ok("level_high = 4\nlevel_medium = 3\n");
        cr_assert_eq(c.level_high, 4);
        cr_assert_eq(c.level_medium, 3);
        c = expect_ok("level_medium = 8\n");
        cr_assert_eq(c.level_medium, 8);
        /* checked on the values the globals end with, at the later key */
        expect_error("level_medium = 9\n", "t:1: ",
                     "level_medium (9) must not be above level_high (8)");
        expect_error("level_high = 4\n[multi_country]\n", "t:1: ",
                     "must not be above");
        expect_error("level_medium = 7\nlateness = 1s\nlevel_high = 6\n"
                     "[eu_no_consent]\nweight = 1\n",
                     "t:3: ", "must not be above");

        c = expect_ok("[multi_country]\nthreshold = 5\nhigh_threshold = 0\n");
        cr_assert_eq(c.rule[SG_RULE_MULTI_COUNTRY].high_threshold, 0,
                     "0: no high severity");
        c = expect_ok("[multi_country]\nhigh_threshold = 9\nthreshold = 8\n");
        cr_assert_eq(c.rule[SG_RULE_MULTI_COUNTRY].threshold, 8);
        expect_error("[multi_country]\nthreshold = 3\nhigh_threshold = 3\n",
                     "t:3: ", "high_threshold (3) must be above threshold (3");
        expect_error("[multi_country]\nthreshold = 5\n[multi_network]\n",
                     "t:2: ", "high_threshold (3) must be above threshold (5");
        expect_error("[multi_country]\nhigh_threshold = 2\n", "t:2: ",
                     "must be above");
}

Test(rules_conf, sections_and_keys)
{
        expect_error("[nope]\n", "t:1: ", "unknown section [nope]");
        expect_error("lateness = 1s\n\n[Multi_Country]\n", "t:3: ",
                     "unknown section");
        expect_error("[]\n", "t:1: ", "unknown section");
        expect_error("[multi_country\n", "t:1: ", "malformed section");
        expect_error("[multi_country] x\n", "t:1: ", "malformed section");
        expect_error("[multi_country]\nthreshold = 3\n\n[multi_country]\n",
                     "t:4: ", "duplicate section [multi_country] (first at "
                              "line 1)");
        expect_error("[multi_country]\nfoo = 1\n", "t:2: ",
                     "unknown key 'foo'");
        expect_error("foo = 1\n", "t:1: ", "unknown key 'foo'");
        expect_error("[eu_no_consent]\nwindow = 1h\n", "t:2: ",
                     "[eu_no_consent] does not use 'window'");
        expect_error("[multi_network]\nhigh_threshold = 5\n", "t:2: ",
                     "[multi_network] does not use 'high_threshold'");
        expect_error("[large_purchase]\nwindow = 1h\n", "t:2: ",
                     "does not use 'window'");
        expect_error("[content_error_rate]\nthreshold = 3\n", "t:2: ",
                     "does not use 'threshold'");
        expect_error("[traffic_anomaly]\nratio = 0.5\n", "t:2: ",
                     "does not use 'ratio'");
        expect_error("[multi_country]\nlateness = 1s\n", "t:2: ",
                     "'lateness' is a global setting");
        expect_error("window = 1h\n", "t:1: ", "'window' is a rule's key");
        expect_error("[multi_country]\nthreshold = 2\n# c\nthreshold = 2\n",
                     "t:4: ", "duplicate key 'threshold' in [multi_country] "
                              "(first at line 2)");
        expect_error("lateness = 1s\nlateness = 1s\n", "t:2: ",
                     "duplicate key 'lateness' (first at line 1)");
        expect_error("[multi_country]\nthreshold 2\n", "t:2: ",
                     "missing '='");
        expect_error("[multi_country]\n# threshold = 2\nthreshold: 2\n",
                     "t:3: ", "missing '='");
        expect_error("= 3\n", "t:1: ", "missing key");
        expect_error("[multi_country]\nthreshold =\n", "t:2: ",
                     "threshold: empty value");
        expect_error("[multi_country]\nthreshold =   # none\n", "t:2: ",
                     "empty value");
        expect_error("lateness=\n", "t:1: ", "lateness: empty value");
        /* the first error only */
        expect_error("[multi_country]\nthreshold = x\nfoo = 1\n", "t:2: ",
                     "threshold");
}

Test(rules_conf, booleans_and_severities)
{
        sg_rules_conf_t c;

        c = expect_ok("[do_not_track]\nenabled = false\nseverity = low\n"
                      "[high_frequency]\nseverity = high\n");
        cr_assert_not(c.rule[SG_RULE_DO_NOT_TRACK].enabled);
        cr_assert_eq(c.rule[SG_RULE_DO_NOT_TRACK].severity, SG_SEV_LOW);
        cr_assert_eq(c.rule[SG_RULE_HIGH_FREQUENCY].severity, SG_SEV_HIGH);
        static const char *const bools[] = {"yes", "TRUE", "1", "on", "truex",
                                            "f"};
        for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
                char text[64];

                snprintf(text, sizeof(text), "[do_not_track]\nenabled = %s\n",
                         bools[i]);
                expect_error(text, "t:2: ", "is not a boolean");
        }
        expect_error("[do_not_track]\nseverity = critical\n", "t:2: ",
                     "severity: 'critical' is not a severity");
        expect_error("[do_not_track]\nseverity = High\n", "t:2: ",
                     "not a severity");
        expect_error("[do_not_track]\nseverity = 3\n", "t:2: ",
                     "not a severity");
}

Test(rules_conf, bad_bytes_and_long_lines)
{
        static const char nul[] = "lateness = 60s\n[multi\0_country]\n";
        sg_rules_conf_t c, before;
        char err[512] = "", text[4096];

        sg_rules_conf_defaults(&c);
        memcpy(&before, &c, sizeof(c));
        cr_assert_eq(sg_rules_conf_parse(&c, "t", nul, sizeof(nul) - 1, err,
                                         sizeof(err)),
                     -1);
        cr_assert_str_eq(err, "t:2: a NUL byte in the line");
        cr_assert(memcmp(&c, &before, sizeof(c)) == 0);

        /* a long line */
        memset(text, 'x', sizeof(text) - 1);
        text[sizeof(text) - 1] = '\0';
        memcpy(text, "# ok\n", 5);
        expect_error(text, "t:2: ", "line longer than 1024 bytes");

        /* a long key and a long value are cut short in the message, and
         * bytes a terminal would act on are not echoed */
        snprintf(text, sizeof(text), "[multi_country]\nthreshold = %0900dx\n",
                 7);
        expect_error(text, "t:2: ", "threshold: '000000");
        expect_error(text, "t:2: ", "...' is not an integer");
        memset(text, 'k', 1000);
        memcpy(text + 1000, " = 1\n", 6);
        expect_error(text, "t:1: ", "unknown key 'kkkk");
        expect_error("[multi_country]\nthreshold = \x1b[31m\n", "t:2: ",
                     "'?[31m'");
        /* and no errstr at all is fine */
        cr_assert_eq(sg_rules_conf_parse(&c, "t", "foo\n", 4, NULL, 0), -1);
}

Test(rules_conf, load)
{
        const char *bad = "[multi_country]\nthreshold = -4\n";
        sg_rules_conf_t c, before;
        char err[512] = "", path[64], want[128];

        sg_rules_conf_defaults(&c);
        memcpy(&before, &c, sizeof(c));
        cr_assert_eq(sg_rules_conf_load(&c, "/nonexistent/x.rules", err,
                                        sizeof(err)),
                     -1);
        cr_assert_str_eq(err, "/nonexistent/x.rules: No such file or "
                              "directory");

        /* a bad file names itself and the line */
        temp_file(path, bad, strlen(bad));
        cr_assert_eq(sg_rules_conf_load(&c, path, err, sizeof(err)), -1);
        unlink(path);
        snprintf(want, sizeof(want), "%s:2: threshold: '-4'", path);
        cr_assert(strncmp(err, want, strlen(want)) == 0, "%s", err);
        cr_assert(memcmp(&c, &before, sizeof(c)) == 0);

        /* 1 MiB of comments loads; a byte more does not */
        temp_file(path, "# a comment line of 32 bytes...\n",
                  SG_RULES_CONF_MAX_FILE);
        cr_assert_eq(sg_rules_conf_load(&c, path, err, sizeof(err)), 0, "%s",
                     err);
        unlink(path);
        temp_file(path, "# a comment line of 32 bytes...\n",
                  SG_RULES_CONF_MAX_FILE + 1);
        cr_assert_eq(sg_rules_conf_load(&c, path, err, sizeof(err)), -1);
        unlink(path);
        snprintf(want, sizeof(want), "%s: larger than 1 MiB", path);
        cr_assert_str_eq(err, want);

        /* a folder cannot be read */
        cr_assert_eq(sg_rules_conf_load(&c, "/tmp", err, sizeof(err)), -1);
        cr_assert(strncmp(err, "/tmp: ", 6) == 0, "%s", err);
        cr_assert(memcmp(&c, &before, sizeof(c)) == 0);
}
