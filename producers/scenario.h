#ifndef SG_SCENARIO_H
#define SG_SCENARIO_H

/* sg-generate --scenario compliance: a deterministic mix of events, three
 * hours of event time, that holds realistic background traffic and a known
 * set of violations of every compliance rule (docs/compliance.md, default
 * rules), with the flags those rules must raise (the ground truth). Pure:
 * no I/O, no clock; the caller passes the time base and the users. The
 * same (seed, start, users, erased user) always give the same bytes.
 *
 * Timeline: [start, start + 3 h), 36 tumbling 5-minute windows. The
 * background fills every window of three countries (the largest in the
 * user list, at least one of them EU-27) at 58..66 events per window
 * (with about 2,500 users or more; with fewer, what the users can send
 * at 6 events an hour at most: about 32 with sg-seed-users' 1,000), and
 * raises nothing. The violations sit in the middle of the timeline, so
 * every content or country window they touch closes (the watermark is the
 * highest event time minus the 60 s lateness). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gen_event.h"
#include "sg_defs.h"

#define SG_SCENARIO_WINDOW_US 300000000LL     /* tumbling window: 5 min */
#define SG_SCENARIO_WINDOWS 36                /* 3 hours of them */
#define SG_SCENARIO_SPAN_US (SG_SCENARIO_WINDOWS * SG_SCENARIO_WINDOW_US)
#define SG_SCENARIO_LATENESS_US 60000000LL   /* allowed lateness */
/* The erased user's events may lie up to this long after the timeline's
 * end (exclusive): an erasure made just before sg-generate ran, with the
 * default start, is at most 5 min after it. Up to 6 min, those events
 * stay in the window after the timeline (36), which does not close: the
 * watermark stays below its end. */
#define SG_SCENARIO_ERASED_SLACK_US (6 * 60000000LL)

typedef struct sg_scenario_conf {
        uint64_t seed;
        long long start_us; /* a multiple of 5 minutes, UTC us */
        /* The users to choose from (sg-generate reads users_public):
         * read during sg_scenario_init only. */
        const sg_gen_user_t *users;
        size_t nusers;
        /* An erased user (canonical UUID) and the time of the erasure, or
         * NULL: then no erased_user_activity. Its three events are 1, 2
         * and 3 s after erased_at_us, which must lie in
         * [start, start + 3 h + 6 min - 3 s). */
        const char *erased_user;
        long long erased_at_us;
} sg_scenario_conf_t;

/* One message, in event-time order. */
typedef struct sg_scenario_event {
        char key[37];      /* the user id: the message's key */
        char event_id[37];
        long long ts_us;   /* its event_timestamp */
        const char *role;  /* "background", "eu_no_consent",
                              "control:purchase_burst", ... (static) */
        char *json;        /* the value, NUL-terminated; owned by the
                              scenario */
        size_t len;
} sg_scenario_event_t;

/* One flag the default rules must raise: a line of the truth file. */
typedef struct sg_scenario_flag {
        const char *rule;         /* "eu_no_consent", ... (static) */
        const char *subject_type; /* "user", "content", "country" */
        char subject_id[40];
        long long window_start_us; /* the period's start */
} sg_scenario_flag_t;

typedef struct sg_scenario {
        sg_scenario_event_t *events; /* nevents, nondecreasing ts_us */
        size_t nevents;
        sg_scenario_flag_t *flags;   /* nflags, in the truth file's order */
        size_t nflags;

        uint64_t seed;
        long long start_us, end_us; /* the timeline, [start, end) */
        long long max_ts_us;        /* the highest event time */
        size_t nusers;              /* distinct users with events */
        size_t nbackground;         /* of which background users */
        char countries[3][8];       /* the background countries */
        int levels[3];              /* their events per window (about) */
        bool has_erased;
        char erased_user[37];
        long long erased_at_us;
} sg_scenario_t;

/* The default time base for a wall clock reading: now floored to 5
 * minutes, minus 3 hours (the timeline then ends at most 5 min ago). */
long long sg_scenario_default_start(long long now_us);

/* Builds the scenario into *sc (caller's storage; sg_scenario_fini frees
 * what it holds, after success or failure). Returns 0, or -1 with why in
 * errstr: a start not on a 5-minute boundary or outside 2000..2099, an
 * erasure time out of range, or too few users of the needed countries
 * (the message says how many). */
int sg_scenario_init(sg_scenario_t *sc, const sg_scenario_conf_t *conf,
                     char *errstr, size_t errstr_size) SG_MUST_CHECK;

/* Frees what sc holds. NULL-safe, idempotent. */
void sg_scenario_fini(sg_scenario_t *sc);

/* The self-check: validates every event against the contract (with the
 * event's key, time and order), then evaluates what the rules would
 * raise on the events as published: every country's 5-minute counts
 * through traffic_anomaly's baseline, every title's windows through
 * content_error_rate (closing windows only), every user's day, sliding
 * and purchase rules, and the background users' own limits (at most 6
 * events per rolling hour, one country, one IP prefix, small purchases
 * at least 10 s apart, consent in the EU, no do_not_track). Returns 0 when
 * exactly the declared flags come out, else -1 with the first difference
 * in errstr (ids and counts only). */
int sg_scenario_check(const sg_scenario_t *sc, char *errstr,
                      size_t errstr_size) SG_MUST_CHECK;

/* The truth file: '#' comment lines (seed, time base, counts), then one
 * line per flag, "rule\tsubject_type\tsubject_id\twindow_start\n", the
 * start in RFC 3339 UTC with microseconds, lines in bytewise order. The
 * caller frees the NUL-terminated text; *len (may be NULL) receives its
 * length. */
char *sg_scenario_truth_text(const sg_scenario_t *sc, size_t *len);

#endif
