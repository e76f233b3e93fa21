/* sg-api's pure modules: routes and roles, tokens, the failed-auth
 * limiter, e-mail shapes, POST /events' split, validation and masking, the
 * access-log queue's bound and the metrics' exposition. */

#include <criterion/criterion.h>

#include <stdlib.h>
#include <string.h>

#include "access_log.h"
#include "auth.h"
#include "email.h"
#include "ingest.h"
#include "metrics.h"
#include "routes.h"
#include "sg_buf.h"
#include "sg_event.h"

TestSuite(api, .timeout = 30);

/* --- routes ------------------------------------------------------------ */

static const sg_api_route_t *find(const char *m, const char *p, char *param,
                                  bool *known, char *allow)
{
        return sg_api_route_find(m, p, param, 64, known, allow, 32);
}

Test(api, routes_match_templates_and_params)
{
        char param[64], allow[32];
        bool known;
        const sg_api_route_t *r;

        r = find("GET", "/compliance/flags/abc-1", param, &known, allow);
        cr_assert(r);
        cr_assert_str_eq(r->path, "/compliance/flags/{flag_id}");
        cr_assert_str_eq(param, "abc-1");
        r = find("GET", "/privacy-requests/summary", param, &known, allow);
        cr_assert_str_eq(r->path, "/privacy-requests/summary",
                         "a literal segment wins over {id}");
        r = find("HEAD", "/healthz", param, &known, allow);
        cr_assert(r && r->handler == SG_API_H_HEALTHZ, "HEAD is GET");
        r = find("GET", "/static/vendor/chart.umd.js", param, &known, allow);
        cr_assert_str_eq(param, "vendor/chart.umd.js", "{path} takes the rest");
        cr_assert_null(find("GET", "/static/", param, &known, allow));
        cr_assert_null(find("GET", "/stats/content/", param, &known, allow));
        cr_assert_null(find("GET", "/stats/content/a/b", param, &known, allow));
        cr_assert_null(find("GET", "/healthz/", param, &known, allow));
        cr_assert_not(known);
}

Test(api, routes_405_and_allow)
{
        char param[64], allow[32];
        bool known;

        cr_assert_null(find("DELETE", "/events", param, &known, allow));
        cr_assert(known);
        cr_assert_str_eq(allow, "POST");
        cr_assert_null(find("POST", "/stats/summary", param, &known, allow));
        cr_assert(known);
        cr_assert_str_eq(allow, "GET, HEAD");
        cr_assert_null(find("GET", "/no/such", param, &known, allow));
        cr_assert_not(known);
}

Test(api, roles_as_the_contract_says)
{
        char param[64], allow[32];
        bool known;
        const sg_api_route_t *ev = find("POST", "/events", param, &known, allow);
        const sg_api_route_t *st =
            find("GET", "/stats/summary", param, &known, allow);
        const sg_api_route_t *ps =
            find("GET", "/privacy-requests/summary", param, &known, allow);
        const sg_api_route_t *pi =
            find("GET", "/privacy-requests/7", param, &known, allow);
        const sg_api_route_t *who =
            find("GET", "/auth/whoami", param, &known, allow);

        cr_assert(sg_api_role_allows(ev, SG_API_ROLE_INGEST));
        cr_assert_not(sg_api_role_allows(ev, SG_API_ROLE_ANALYST));
        cr_assert(sg_api_role_allows(ev, SG_API_ROLE_ADMIN));
        cr_assert(sg_api_role_allows(st, SG_API_ROLE_ANALYST));
        cr_assert_not(sg_api_role_allows(st, SG_API_ROLE_PRIVACY));
        cr_assert(sg_api_role_allows(ps, SG_API_ROLE_ANALYST));
        cr_assert(sg_api_role_allows(ps, SG_API_ROLE_PRIVACY));
        cr_assert_not(sg_api_role_allows(ps, SG_API_ROLE_INGEST));
        cr_assert(sg_api_role_allows(pi, SG_API_ROLE_PRIVACY));
        cr_assert_not(sg_api_role_allows(pi, SG_API_ROLE_ANALYST));
        for (int b = 1; b <= SG_API_ROLE_ADMIN; b <<= 1)
                cr_assert(sg_api_role_allows(who, (sg_api_role_t)b));
        cr_assert_eq(sg_api_role_parse("privacy"), SG_API_ROLE_PRIVACY);
        cr_assert_eq(sg_api_role_parse("root"), SG_API_ROLE_NONE);
        cr_assert_eq(sg_api_role_parse(NULL), SG_API_ROLE_NONE);
}

/* --- tokens ----------------------------------------------------------------- */

Test(api, tokens_are_random_and_shaped)
{
        char a[SG_API_TOKEN_LEN + 1], b[SG_API_TOKEN_LEN + 1];
        uint8_t da[32], db[32], d2[32];

        cr_assert_eq(sg_api_token_new(a, da), 0);
        cr_assert_eq(sg_api_token_new(b, db), 0);
        cr_assert_eq(strlen(a), SG_API_TOKEN_LEN);
        cr_assert(sg_api_token_shape(a) && sg_api_token_shape(b));
        cr_assert_str_neq(a, b);
        sg_api_token_digest(a, d2);
        cr_assert_eq(memcmp(da, d2, 32), 0, "the digest is SHA-256 of the text");
        cr_assert_neq(memcmp(da, db, 32), 0);
        cr_assert_not(sg_api_token_shape("sgt_short"));
        cr_assert_not(sg_api_token_shape(NULL));
        a[10] = '+'; /* not URL-safe base64 */
        cr_assert_not(sg_api_token_shape(a));
        cr_assert(sg_api_token_name_ok("dash-1.prod_x"));
        cr_assert_not(sg_api_token_name_ok(""));
        cr_assert_not(sg_api_token_name_ok("a b"));
        cr_assert_not(sg_api_token_name_ok("x'; drop"));
}

Test(api, tokens_unavailable_before_the_first_load)
{
        sg_api_tokens_t *t = sg_api_tokens_new(2000);
        char tok[SG_API_TOKEN_LEN + 1], name[SG_API_TOKEN_NAME_MAX + 1];
        uint8_t d[32];
        sg_api_role_t role;

        cr_assert_eq(sg_api_token_new(tok, d), 0);
        cr_assert_eq(sg_api_tokens_check(t, tok, name, &role),
                     SG_API_AUTH_UNAVAILABLE, "no table yet: not trusted");
        sg_api_tokens_destroy(t);
}

/* --- limiter ---------------------------------------------------------------- */

Test(api, limiter_blocks_after_limit_per_address_for_a_minute)
{
        sg_api_limiter_t *l = sg_api_limiter_new(3);
        const uint8_t a[4] = {127, 0, 0, 2}, b[4] = {127, 0, 0, 3};

        for (int i = 0; i < 3; i++) {
                cr_assert_eq(sg_api_limiter_blocked(l, a, 4, 1000), 0);
                sg_api_limiter_fail(l, a, 4, 1000 + i);
        }
        cr_assert_eq(sg_api_limiter_blocked(l, a, 4, 2000), 59);
        cr_assert_eq(sg_api_limiter_blocked(l, a, 4, 31000), 30);
        cr_assert_eq(sg_api_limiter_blocked(l, b, 4, 2000), 0, "per address");
        cr_assert_eq(sg_api_limiter_blocked(l, a, 4, 61000), 0,
                     "a new window after a minute");
        sg_api_limiter_destroy(l);
}

Test(api, limiter_table_stays_bounded)
{
        sg_api_limiter_t *l = sg_api_limiter_new(1);
        uint8_t a[16] = {0};

        for (unsigned i = 0; i < 100000; i++) {
                memcpy(a, &i, sizeof(i));
                sg_api_limiter_fail(l, a, 16, 1000);
        }
        memcpy(a, &(unsigned){99999}, sizeof(unsigned));
        cr_assert_gt(sg_api_limiter_blocked(l, a, 16, 1000), 0,
                     "the newest address is remembered");
        sg_api_limiter_destroy(l);
}

/* --- e-mail ------------------------------------------------------------------- */

Test(api, email_shapes)
{
        const char *good[] = {"jane.doe@example.com", "a+tag@sub.example.co.uk",
                              "x_y-z@d-1.io", NULL};
        const char *bad[] = {"", "plain", "@example.com", "a@", "a@b",
                             "a@b.c", "a@@b.com", "a@b@c.com", ".a@b.com",
                             "a.@b.com", "a..b@c.com", "a@-b.com", "a@b-.com",
                             "a@b..com", "a b@c.com", "a@b.c0m", "a@b.com.",
                             "Ω@b.com", NULL};
        char longer[300];

        for (int i = 0; good[i]; i++)
                cr_assert(sg_api_email_shape(good[i]), "refused %s", good[i]);
        for (int i = 0; bad[i]; i++)
                cr_assert_not(sg_api_email_shape(bad[i]), "accepted %s", bad[i]);
        memset(longer, 'a', sizeof(longer));
        memcpy(longer + 250, "@b.com", 7);
        cr_assert_not(sg_api_email_shape(longer), "over 254 bytes");
}

/* --- POST /events ------------------------------------------------------------------ */

#define EV(id, extra)                                                         \
        "{\"event_id\":\"" id "\",\"user_id\":\"5D2F7A4E-9b61-4f0a-8c7d-"     \
        "1e2f3a4b5c6d\",\"event_type\":\"purchase\",\"event_timestamp\":"     \
        "\"2000-01-01T00:30:00+01:00\",\"country\":\"NL\",\"amount\":19.99" extra "}"

#define ID1 "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c31"
#define ID2 "0b8f6f3e-2c1a-4c8e-9a53-6f1f0e1d2c32"

static sg_api_ingest_rc_t prep(const char *body, sg_api_body_kind_t k, int max,
                               sg_api_ingest_t *in)
{
        return sg_api_ingest_prepare(body, strlen(body), k, max, in);
}

Test(api, ingest_keeps_what_needs_no_masking_byte_for_byte)
{
        const char *body = EV(ID1, ",\"metadata\":{\"n\":1.10}");
        sg_api_ingest_t in;

        cr_assert_eq(prep(body, SG_API_BODY_JSON, 10, &in), SG_API_INGEST_OK);
        cr_assert_eq(in.n, 1);
        cr_assert_null(in.items[0].owned);
        cr_assert_eq(in.items[0].len, strlen(body));
        cr_assert_eq(memcmp(in.items[0].value, body, in.items[0].len), 0);
        cr_assert_str_eq(in.items[0].key, "5d2f7a4e-9b61-4f0a-8c7d-1e2f3a4b5c6d",
                         "key: the canonical user_id");
        cr_assert_str_eq(in.items[0].event_id, ID1);
        sg_api_ingest_fini(&in);
}

Test(api, ingest_masks_ip_and_redacts_metadata_in_place)
{
        const char *body =
            EV(ID1, ",\"ip_address\":\"203.0.113.77\",\"metadata\":{\"note\":"
                    "\"mail a.b@example.com\",\"v\":[1.5,{\"x\":\"y\"}]},"
                    "\"device_id\":\"tv_1\"");
        const char *want =
            EV(ID1, ",\"ip_address\":\"203.0.113.0\",\"metadata\":{\"note\":"
                    "\"[redacted]\",\"v\":[1.5,{\"x\":\"y\"}]},\"device_id\":"
                    "\"tv_1\"");
        sg_api_ingest_t in;
        sg_event_t ev;
        char msg[128];

        cr_assert_eq(prep(body, SG_API_BODY_JSON, 10, &in), SG_API_INGEST_OK);
        cr_assert_not_null(in.items[0].owned);
        cr_assert_str_eq(in.items[0].value, want);
        /* What Kafka gets validates the same, to the same event. */
        cr_assert_eq(sg_event_parse(in.items[0].value, in.items[0].len, &ev, msg,
                                    sizeof(msg)),
                     SG_REASON_OK, "%s", msg);
        cr_assert_str_eq(ev.ip, "203.0.113.0");
        cr_assert_eq(ev.amount_cents, 1999);
        sg_event_fini(&ev);
        sg_api_ingest_fini(&in);
}

Test(api, ingest_masks_ipv6_and_escaped_keys)
{
        /* "ip\u005faddress" is ip_address: the splice cannot see it, the
         * jansson rewrite must. */
        const char *body = EV(ID1, ",\"ip\\u005faddress\":\"2001:db8:1:2::5\"");
        sg_api_ingest_t in;

        cr_assert_eq(prep(body, SG_API_BODY_JSON, 10, &in), SG_API_INGEST_OK);
        cr_assert_not_null(in.items[0].owned);
        cr_assert(strstr(in.items[0].value, "\"2001:db8:1::\""), "%s",
                  in.items[0].value);
        cr_assert_null(strstr(in.items[0].value, "1:2::5"));
        sg_api_ingest_fini(&in);
}

Test(api, ingest_ndjson_all_or_nothing_with_line_numbers)
{
        const char *body = EV(ID1, "") "\r\n"
                                       "\n"
                                       "{\"event_id\":\"x\"}\n" EV(ID2, ",\"bogus\":1") "\n";
        sg_api_ingest_t in;

        cr_assert_eq(prep(body, SG_API_BODY_NDJSON, 10, &in),
                     SG_API_INGEST_INVALID);
        cr_assert_eq(in.n, 0, "no item once a line is invalid");
        cr_assert_eq(in.nerrors, 2);
        cr_assert_eq(in.errors[0].line, 3);
        cr_assert_eq(in.errors[0].reason, SG_REASON_MISSING_FIELD);
        cr_assert_eq(in.errors[1].line, 4);
        cr_assert_eq(in.errors[1].reason, SG_REASON_UNKNOWN_FIELD);
        sg_api_ingest_fini(&in);
}

Test(api, ingest_bounds_and_empty)
{
        const char *two = EV(ID1, "") "\n" EV(ID2, "") "\n";
        sg_api_ingest_t in;

        cr_assert_eq(prep(two, SG_API_BODY_NDJSON, 1, &in),
                     SG_API_INGEST_TOO_MANY);
        sg_api_ingest_fini(&in);
        cr_assert_eq(prep(two, SG_API_BODY_NDJSON, 2, &in), SG_API_INGEST_OK);
        cr_assert_eq(in.n, 2);
        cr_assert_str_eq(in.items[1].event_id, ID2);
        sg_api_ingest_fini(&in);
        cr_assert_eq(prep("\n \n\r\n", SG_API_BODY_NDJSON, 5, &in),
                     SG_API_INGEST_EMPTY);
        sg_api_ingest_fini(&in);
        cr_assert_eq(prep("  ", SG_API_BODY_JSON, 5, &in), SG_API_INGEST_EMPTY);
        sg_api_ingest_fini(&in);
        /* application/json: newlines inside the one event are fine */
        cr_assert_eq(prep("{\n\"event_id\":1}\n", SG_API_BODY_JSON, 5, &in),
                     SG_API_INGEST_INVALID);
        cr_assert_eq(in.errors[0].line, 1);
        sg_api_ingest_fini(&in);
}

/* --- access log and metrics -------------------------------------------------------- */

Test(api, access_log_queue_is_bounded)
{
        sg_api_access_log_t *l = sg_api_access_log_new(3);
        sg_api_access_row_t row = {.status = 200, .route = "/healthz"};

        for (int i = 0; i < 5; i++)
                sg_api_access_log_add(l, &row);
        cr_assert_eq(sg_api_access_log_pending(l), 3);
        cr_assert_eq(sg_api_access_log_dropped(l), 2);
        cr_assert(sg_api_access_log_due(l, 1LL << 60));
        sg_api_access_log_destroy(l);
}

Test(api, metrics_exposition)
{
        sg_metrics_t *m = sg_metrics_new();
        sg_buf_t b;

        sg_api_metrics_init(m);
        sg_api_metrics_observe("/events", 202, 0.002);
        sg_api_metrics_observe("/events", 202, 0.003);
        sg_api_metrics_observe(NULL, 404, 0.001);
        sg_buf_init(&b);
        sg_api_metrics_render(&b);
        sg_buf_putc(&b, '\0');
        cr_assert(strstr(b.data, "# TYPE sg_api_http_requests_total counter\n"));
        cr_assert(strstr(b.data, "sg_api_http_requests_total{route=\"/events\","
                                 "status=\"202\"} 2\n"));
        cr_assert(strstr(b.data, "sg_api_http_requests_total{route=\"unmatched\","
                                 "status=\"404\"} 1\n"));
        cr_assert(strstr(b.data, "sg_api_http_request_duration_seconds_count{"
                                 "route=\"/events\"} 2\n"));
        sg_buf_fini(&b);
        sg_api_metrics_init(NULL);
        sg_metrics_destroy(m);
}
