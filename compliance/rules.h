#ifndef SG_RULES_H
#define SG_RULES_H

/* The compliance rules' evaluation (docs/compliance.md), pure: no Kafka,
 * no PostgreSQL, no clock. sg-compliance feeds it each partition's events
 * in order and persists what it reports; sg-batch-compliance feeds it
 * events_raw in the same order. Both then close the cross-partition
 * windows with the same judges (sg_rules_judge_content,
 * sg_rules_country_advance). The same events in the same per-partition
 * order give the same flags, whatever the batches, restarts or the number
 * of instances, provided the state a batch starts from is the state the
 * previous one left (the caller persists it with the batch).
 *
 * State: per partition, the highest event time seen and, per user, the
 * user's recent events (ids, times, countries, IP prefixes, purchases)
 * and the period of each rule's current flag. A batch's outputs: the
 * flags raised or extended, the cross-partition windows' partial counts,
 * the risk-level counts, the late counts.
 *
 * Two ways of reporting flags. Merged (the default, sg-batch-compliance):
 * one entry per flag, its count the batch's events. Split (sg-compliance,
 * sg_rules_set_split): the batch's list (sg_rules_flags) holds only the
 * flags raised (count 1: the raising event) and escalated (count 0) by
 * the batch, to be written now; every other matching event is an
 * extension, added up per partition (sg_rules_pending) until the caller
 * writes them with the partition's snapshot (sg_rules_part_dump). What
 * the store holds then depends only on the events up to the snapshot and
 * the raises after it, never on where batches ended; after a crash,
 * restoring the snapshot and replaying the partition's events since it
 * (sg_rules_set_replay: state and extensions only) gives back exactly the
 * extensions that were not written. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_conf.h"
#include "sg_buf.h"
#include "sg_defs.h"
#include "sg_event.h"

#define SG_FLAG_EVIDENCE_MAX 512

/* What a batch's entry stands for (split mode; merged: raised or
 * extended). */
typedef enum sg_flag_change {
        SG_FLAG_EXTENDED = 0,
        SG_FLAG_RAISED,
        SG_FLAG_ESCALATED,
} sg_flag_change_t;

typedef struct sg_flag {
        char flag_id[37];
        sg_flag_change_t change;
        sg_rule_id_t rule;
        char rule_version[13];
        sg_severity_t severity;
        sg_subject_t subject_type;
        char subject_id[65];
        long long window_start_us;
        long long window_end_us;
        char first_event_id[37]; /* "" for a window without events */
        long long first_ts_us;   /* its event time (0 with it) */
        int32_t first_partition; /* -1 with it */
        int64_t first_offset;
        char last_event_id[37];
        long long event_count; /* in this batch (the store adds them up) */
        double observed;
        double threshold;
        char evidence[SG_FLAG_EVIDENCE_MAX]; /* JSON object */
} sg_flag_t;

/* A cross-partition window's counts from some events (a batch, or the
 * sum of all batches): content_error_rate (a = plays, b = errors) or
 * traffic_anomaly (a = events). first and last: the earliest and latest
 * counted event by (time, event id). */
typedef struct sg_wpart {
        sg_rule_id_t rule;
        char subject[65];
        long long start_us;
        long long a, b;
        long long first_ts;
        char first_event_id[37];
        int32_t first_partition;
        int64_t first_offset;
        long long last_ts;
        char last_event_id[37];
} sg_wpart_t;

/* A country's traffic baseline (traffic_anomaly). n == 0: no window yet;
 * next_start_us: the first window not yet folded in. */
typedef struct sg_baseline {
        char country[8];
        double mean;
        double var;
        long long n;
        long long next_start_us;
} sg_baseline_t;

typedef struct sg_risk_count {
        int32_t day; /* days since 1970-01-01 */
        char country[8];
        int level; /* sg_severity_t: low, medium, high */
        long long events;
} sg_risk_count_t;

typedef struct sg_late_count {
        int32_t day;
        int32_t partition;
        long long events;
} sg_late_count_t;

/* What one event did (for tests and counters). */
typedef struct sg_eval_result {
        bool duplicate; /* skipped: its id is in the user's state */
        bool late;      /* entered no window */
        unsigned fired; /* bit (1u << rule) per rule that raised or extended */
        unsigned raised; /* ... that raised a new flag */
        int score;
        sg_severity_t level;
} sg_eval_result_t;

typedef struct sg_rules sg_rules_t;

/* A rules engine over conf (copied). Never NULL (out of memory aborts). */
sg_rules_t *sg_rules_new(const sg_rules_conf_t *conf);
void sg_rules_destroy(sg_rules_t *r);

/* Replaces the rules (SIGHUP): state is kept; new flags record the new
 * versions. */
void sg_rules_set_conf(sg_rules_t *r, const sg_rules_conf_t *conf);
const sg_rules_conf_t *sg_rules_conf(const sg_rules_t *r);

/* Split mode (see above), and replay: while on, events change the state
 * and add extensions, and report nothing else (no batch flags, windows,
 * risk or late counts). */
void sg_rules_set_split(sg_rules_t *r, bool split);
void sg_rules_set_replay(sg_rules_t *r, bool replay);

/* Partitions' state. A partition is known once restored (or evaluated:
 * an unknown partition starts empty). */
bool sg_rules_part_known(const sg_rules_t *r, int32_t partition);
/* The partition's whole state (its highest event time and every user's),
 * appended to out: a snapshot. Pending extensions are not in it. */
void sg_rules_part_dump(const sg_rules_t *r, int32_t partition, sg_buf_t *out);
/* The snapshot of an empty state (no users, no event seen): what
 * sg_rules_part_dump gives for a partition never fed. */
void sg_rules_empty_dump(sg_buf_t *out);
/* Replaces the partition's state by a snapshot's (no pending
 * extensions). Returns 0, or -1 (the partition left empty) if the bytes
 * are not a snapshot this version wrote. */
int sg_rules_part_restore(sg_rules_t *r, int32_t partition, const void *data,
                          size_t len) SG_MUST_CHECK;
/* The partition's highest event time (LLONG_MIN if none). */
long long sg_rules_part_max(const sg_rules_t *r, int32_t partition);
/* Users held for the partition. */
size_t sg_rules_part_users(const sg_rules_t *r, int32_t partition);
/* Forgets one partition's state and extensions (it went to another
 * member), or every partition's (after a failed or discarded batch the
 * caller restores what it stored). sg_rules_forget also resets the
 * batch. */
void sg_rules_forget_part(sg_rules_t *r, int32_t partition);
void sg_rules_forget(sg_rules_t *r);

/* Split mode: the partition's extensions not yet written (one entry per
 * flag, counts added up), and emptying them once written. */
const sg_flag_t *sg_rules_pending(const sg_rules_t *r, int32_t partition,
                                  size_t *n);
void sg_rules_pending_clear(sg_rules_t *r, int32_t partition);
/* Split mode: the events of the batch (not replayed) that extended a
 * flag. */
long long sg_rules_extensions(const sg_rules_t *r);

/* Evaluates one valid event of partition at offset. erased_at_us: the
 * user's erasure time, or -1 when not erased. res may be NULL. */
void sg_rules_eval(sg_rules_t *r, int32_t partition, int64_t offset,
                   const sg_event_t *ev, long long erased_at_us,
                   sg_eval_result_t *res);

/* The batch's outputs, valid until the next eval or reset. */
const sg_flag_t *sg_rules_flags(const sg_rules_t *r, size_t *n);
/* Split mode: empties the batch's list of raises and escalations once
 * they are written (a batch written in parts: a later escalation of the
 * same flag is then an entry of its own, as in a later batch). */
void sg_rules_flags_clear(sg_rules_t *r);
const sg_wpart_t *sg_rules_windows(const sg_rules_t *r, size_t *n);
const sg_risk_count_t *sg_rules_risk(const sg_rules_t *r, size_t *n);
const sg_late_count_t *sg_rules_late(const sg_rules_t *r, size_t *n);
/* Partitions the batch touched, with their highest event time. */
size_t sg_rules_parts_touched(const sg_rules_t *r, int32_t *parts,
                              long long *max_ts, size_t cap);

/* The event time below which a user's whole state is useless in this
 * partition (no future event can see it; LLONG_MIN if nothing can go):
 * drops those users from memory (a user whose day flag is still current
 * stays). When it happens changes no outcome. Returns the cut. */
long long sg_rules_prune(sg_rules_t *r, int32_t partition);

/* Empties the batch's outputs (after commit), keeping the state. */
void sg_rules_batch_reset(sg_rules_t *r);

/* Cross-partition windows. The end (inclusive) of the window starting at
 * start_us for rule; the start of the window holding ts_us. */
long long sg_rules_window_end(const sg_rules_conf_t *c, sg_rule_id_t rule,
                              long long start_us);
long long sg_rules_window_start(const sg_rules_conf_t *c, sg_rule_id_t rule,
                                long long ts_us);

/* Sorts windows by (rule, subject, start): the order they close in. */
void sg_wpart_sort(sg_wpart_t *w, size_t n);

/* Merges b's counts into a (the same rule, subject and start). */
void sg_wpart_merge(sg_wpart_t *a, const sg_wpart_t *b);

/* content_error_rate on a closed window: true with *flag filled when it
 * fires. */
bool sg_rules_judge_content(const sg_rules_conf_t *c, const sg_wpart_t *w,
                            sg_flag_t *flag);

/* traffic_anomaly: folds the country's closed windows into b, in order:
 * the empty windows from b->next_start_us up to w's (they count 0), then
 * w; with w NULL, the empty windows that end below watermark_us. Calls
 * emit for each anomalous window. A baseline with n == 0 starts at w. */
void sg_rules_country_advance(const sg_rules_conf_t *c, sg_baseline_t *b,
                              const sg_wpart_t *w, long long watermark_us,
                              void (*emit)(void *arg, const sg_flag_t *flag),
                              void *arg);

/* Flags raised while closing windows, in a growable list. */
typedef struct sg_flag_list {
        sg_flag_t *v;
        size_t n, cap;
} sg_flag_list_t;

/* Appends a copy of flag to list (an sg_flag_list_t *): the emit of
 * sg_rules_country_advance. */
void sg_flag_list_push(void *list, const sg_flag_t *flag);
void sg_flag_list_fini(sg_flag_list_t *l);

/* Baselines by country, a growable list. */
typedef struct sg_baselines {
        sg_baseline_t *v;
        size_t n, cap;
} sg_baselines_t;

/* The country's baseline (appended, empty, if new). */
sg_baseline_t *sg_baselines_get(sg_baselines_t *b, const char *country);

/* Closes the windows w (n of them, sorted here) that the watermark wm
 * passed, as the stream and the batch both do: content windows through
 * sg_rules_judge_content, country windows in order through
 * sg_rules_country_advance, then every baseline's trailing empty windows
 * below wm. The flags go to out. */
void sg_rules_close(const sg_rules_conf_t *c, sg_wpart_t *w, size_t n,
                    sg_baselines_t *base, long long wm, sg_flag_list_t *out);

/* The deterministic flag id (a uuid string) of (rule, subject, period
 * start[, event id]). */
void sg_flag_id(sg_rule_id_t rule, sg_subject_t subject_type,
                const char *subject_id, long long start_us,
                const char *event_id, char out[37]);

/* The risk level of a score. */
sg_severity_t sg_rules_level(const sg_rules_conf_t *c, int score);

#endif
