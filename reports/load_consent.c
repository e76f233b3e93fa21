#include "load_consent.h"
#include "load.h"
#include "sg_defs.h"

#include <stdlib.h>
#include <string.h>

/* D as a half-open range of event time, [lo, hi), in UTC. */
#define SQL_CONSENT_DAY                                                        \
        "WITH d AS (SELECT $1::date::timestamp AT TIME ZONE 'UTC' AS lo, "    \
        "($1::date + 1)::timestamp AT TIME ZONE 'UTC' AS hi) "

static const char SQL_CONSENT_FIGURES[] =
    SQL_CONSENT_DAY
    ", e AS (SELECT c.* FROM consent_events c, d "
    "WHERE c.event_timestamp >= d.lo AND c.event_timestamp < d.hi), "
    "l AS (SELECT l.* FROM consent_log l, d "
    "WHERE l.changed_at >= d.lo AND l.changed_at < d.hi), "
    "k AS (SELECT DISTINCT ON (user_id) consent, do_not_track "
    "FROM consent_log, d WHERE changed_at < d.hi "
    "ORDER BY user_id, changed_at DESC, event_id DESC) "
    "SELECT (SELECT count(*) FROM e), "
    "(SELECT count(DISTINCT user_id) FROM e), "
    "(SELECT count(*) FILTER (WHERE is_eu) FROM e), "
    "(SELECT count(*) FILTER (WHERE is_eu AND has_consent) FROM e), "
    "(SELECT count(*) FILTER (WHERE do_not_track) FROM e), "
    "(SELECT count(*) FILTER (WHERE prev_consent IS NULL) FROM l), "
    "(SELECT count(*) FILTER (WHERE NOT prev_consent AND consent) FROM l), "
    "(SELECT count(*) FILTER (WHERE prev_consent AND NOT consent) FROM l), "
    "(SELECT count(*) FILTER (WHERE NOT prev_do_not_track AND do_not_track) "
    "FROM l), "
    "(SELECT count(*) FILTER (WHERE prev_do_not_track AND NOT do_not_track) "
    "FROM l), "
    "(SELECT count(DISTINCT user_id) FILTER (WHERE prev_consent IS NOT NULL) "
    "FROM l), "
    "(SELECT count(*) FROM k), "
    "(SELECT count(*) FILTER (WHERE consent) FROM k), "
    "(SELECT count(*) FILTER (WHERE do_not_track) FROM k)";

static const char SQL_CONSENT_COUNTRIES[] =
    SQL_CONSENT_DAY
    ", e AS (SELECT country, bool_or(is_eu) AS is_eu, count(*) AS n, "
    "count(*) FILTER (WHERE has_consent) AS c, "
    "count(*) FILTER (WHERE do_not_track) AS t "
    "FROM consent_events, d "
    "WHERE event_timestamp >= d.lo AND event_timestamp < d.hi "
    "GROUP BY country), "
    "g AS (SELECT country, "
    "count(*) FILTER (WHERE NOT prev_consent AND consent) AS gr, "
    "count(*) FILTER (WHERE prev_consent AND NOT consent) AS wd "
    "FROM consent_log, d WHERE changed_at >= d.lo AND changed_at < d.hi "
    "GROUP BY country) "
    "SELECT e.country, e.is_eu, e.n, e.c, e.t, coalesce(g.gr, 0), "
    "coalesce(g.wd, 0) FROM e LEFT JOIN g USING (country) "
    "ORDER BY e.n DESC, e.country COLLATE \"C\"";

void sg_load_consent_init(sg_load_consent_t *lc)
{
        memset(lc, 0, sizeof(*lc));
}

void sg_load_consent_fini(sg_load_consent_t *lc)
{
        for (int i = 0; i < 2; i++)
                PQclear(lc->res[i]);
        free(lc->countries);
        memset(lc, 0, sizeof(*lc));
}

int sg_load_consent(PGconn *conn, const char *date, sg_load_consent_t *lc,
                    sg_pg_err_t *err)
{
        const char *params[1] = {date};
        sg_consent_report_t *r = &lc->report;
        PGresult *res;
        int n;

        sg_load_consent_fini(lc);
        r->date = date;
        res = lc->res[0] = sg_pg_query(conn, SQL_CONSENT_FIGURES, 1, params, 1,
                                       "consent figures", err);
        if (!res)
                goto fail;
        r->events = sg_load_ll(res, 0, 0);
        r->users = sg_load_ll(res, 0, 1);
        r->eu_events = sg_load_ll(res, 0, 2);
        r->eu_with_consent = sg_load_ll(res, 0, 3);
        r->dnt_events = sg_load_ll(res, 0, 4);
        r->initial = sg_load_ll(res, 0, 5);
        r->granted = sg_load_ll(res, 0, 6);
        r->withdrawn = sg_load_ll(res, 0, 7);
        r->dnt_on = sg_load_ll(res, 0, 8);
        r->dnt_off = sg_load_ll(res, 0, 9);
        r->users_changed = sg_load_ll(res, 0, 10);
        r->known_users = sg_load_ll(res, 0, 11);
        r->known_consent = sg_load_ll(res, 0, 12);
        r->known_dnt = sg_load_ll(res, 0, 13);

        res = lc->res[1] = sg_pg_query(conn, SQL_CONSENT_COUNTRIES, 1, params,
                                       0, "consent by country", err);
        if (!res)
                goto fail;
        n = PQntuples(res);
        lc->countries = sg_load_calloc(n, sizeof(*lc->countries));
        for (int i = 0; i < n; i++) {
                sg_consent_country_t *c = &lc->countries[i];

                c->country = PQgetvalue(res, i, 0);
                c->is_eu = sg_load_bool(res, i, 1);
                c->events = sg_load_ll(res, i, 2);
                c->with_consent = sg_load_ll(res, i, 3);
                c->dnt = sg_load_ll(res, i, 4);
                c->granted = sg_load_ll(res, i, 5);
                c->withdrawn = sg_load_ll(res, i, 6);
        }
        r->ncountries = n;
        r->countries = lc->countries;
        return 0;
fail:
        sg_load_consent_fini(lc);
        return -1;
}
