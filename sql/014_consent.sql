-- 014: the consent log (sg-consent, docs/consent.md). Consent travels on
-- the events (has_consent, do_not_track; absent means false). sg-consent
-- keeps, exactly once (its rows and its offsets commit together), every
-- user's events ordered by EVENT TIME, and derives from them one
-- consent_log row each time the user's state changes and the current
-- state in user_consent. A late event (older than the user's latest) is
-- put in its place and the user's history is recomputed from there, so any
-- arrival order and any batching of the same events give the same rows.
-- No PII: pseudonymous user ids, flags, countries and times.

-- sg-consent's ordered per-user state: one row per distinct event (an
-- event_id sent twice keeps the least (event_timestamp, has_consent,
-- do_not_track, country, event_type), whatever the arrival order).
CREATE TABLE consent_events (
    user_id         uuid NOT NULL,
    event_id        uuid NOT NULL,
    event_timestamp timestamptz NOT NULL,
    event_type      text NOT NULL,
    country         text NOT NULL,
    is_eu           boolean NOT NULL,
    has_consent     boolean NOT NULL,
    do_not_track    boolean NOT NULL,
    PRIMARY KEY (user_id, event_id)
);
-- The order of a user's history: event time, ties by event_id.
CREATE INDEX consent_events_order ON consent_events (user_id, event_timestamp, event_id);

-- One row per change of a user's (consent, do_not_track), in event-time
-- order; the user's first event sets the initial state (prev_* NULL).
CREATE TABLE consent_log (
    user_id           uuid NOT NULL,
    changed_at        timestamptz NOT NULL, -- event_timestamp of the event
    event_id          uuid NOT NULL,        -- the event that set this state
    consent           boolean NOT NULL,
    do_not_track      boolean NOT NULL,
    source            text NOT NULL,        -- the event's event_type
    country           text NOT NULL,        -- the event's country
    prev_consent      boolean,              -- the state before; NULL: initial
    prev_do_not_track boolean,
    PRIMARY KEY (user_id, changed_at, event_id)
);
CREATE INDEX consent_log_changed_at ON consent_log (changed_at);

-- The current state per user: the last consent_log row and the user's
-- event-time range.
CREATE TABLE user_consent (
    user_id        uuid PRIMARY KEY,
    consent        boolean NOT NULL,
    do_not_track   boolean NOT NULL,
    since          timestamptz NOT NULL,  -- changed_at of the last log row
    since_event_id uuid NOT NULL,
    first_event_at timestamptz NOT NULL,
    last_event_at  timestamptz NOT NULL,  -- the latest event time seen
    last_event_id  uuid NOT NULL,
    changes        integer NOT NULL,      -- consent_log rows (initial included)
    updated_at     timestamptz NOT NULL DEFAULT now()
);

-- consent_log rows of a recomputed suffix are deleted and written again.
GRANT SELECT, INSERT, UPDATE ON consent_events, user_consent TO sg_writer;
GRANT SELECT, INSERT, DELETE ON consent_log TO sg_writer;
GRANT SELECT ON consent_events, consent_log, user_consent TO sg_analytics;
