#!/usr/bin/env python3
"""The consent scenario of tests/integration/test_consent.sh: users whose
consent and do-not-track flags change over three days of event time, sent
OUT of event-time order (late events, ties on equal timestamps, offsets
other than Z, flags left out meaning false, an event sent twice, two
invalid messages). Deterministic (seeded).

Writes, into the folder given:
  events.tsv  key<TAB>value, in arrival order (for kcat -K '\\t')
  truth.tsv   one line per distinct valid event, in arrival order:
              user_id ts_us event_id has_consent do_not_track event_type country
The test computes the expected consent_log from truth.tsv by itself."""
import datetime as dt
import json
import random
import sys
import uuid

out = sys.argv[1]
users_n = int(sys.argv[2]) if len(sys.argv) > 2 else 40
per_user = int(sys.argv[3]) if len(sys.argv) > 3 else 60
rng = random.Random(20260210)
D0 = dt.datetime(2026, 2, 9, tzinfo=dt.timezone.utc)  # D-1; the report's day is D = 2026-02-10
COUNTRIES = ['DE', 'FR', 'NL', 'IT', 'ES', 'US', 'US-CA', 'GB', 'JP']
EU = {'DE', 'FR', 'NL', 'IT', 'ES'}


def uid():
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def stamp(t):
    """RFC 3339: mostly Z with microseconds, sometimes +02:00 or -05:00."""
    r = rng.random()
    if r < 0.15:
        tz = dt.timezone(dt.timedelta(hours=2))
        return t.astimezone(tz).isoformat(timespec='microseconds')
    if r < 0.25:
        tz = dt.timezone(dt.timedelta(hours=-5))
        return t.astimezone(tz).isoformat(timespec='microseconds')
    return t.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


streams = []   # per user: events in event-time order
for u in range(users_n):
    user = uid()
    country = COUNTRIES[u % len(COUNTRIES)]
    consent = rng.random() < 0.5
    dnt = rng.random() < 0.2
    times = sorted(rng.randrange(0, 3 * 86400 * 10**6) for _ in range(per_user))
    evs = []
    for i, off in enumerate(times):
        if i > 0 and rng.random() < 0.06:
            off = evs[-1]['off']          # a tie: same event time
        if rng.random() < 0.12:
            consent = not consent
        if rng.random() < 0.06:
            dnt = not dnt
        evs.append({'off': off, 'user': user, 'country': country,
                    'id': uid(), 'consent': consent, 'dnt': dnt})
    streams.append(evs)

# Arrival order per user: about a fifth of the events arrive late (moved
# 1-15 places later), a few very late (at the end of the stream).
arrivals = []
for evs in streams:
    order = list(evs)
    for _ in range(len(order) // 5):
        i = rng.randrange(len(order))
        e = order.pop(i)
        order.insert(min(len(order), i + rng.randint(1, 15)), e)
    very_late = [order.pop(rng.randrange(len(order))) for _ in range(2)]
    arrivals.append((order, very_late))

# Interleave the users (one user's events keep their relative order).
queue = []
cursors = [0] * users_n
while any(cursors[u] < len(arrivals[u][0]) for u in range(users_n)):
    u = rng.choice([u for u in range(users_n) if cursors[u] < len(arrivals[u][0])])
    queue.append(arrivals[u][0][cursors[u]])
    cursors[u] += 1
for order, very_late in arrivals:
    queue.extend(very_late)

types = ['page_view'] * 6 + ['add_to_cart', 'purchase', 'play']
lines, truth = [], []
for n, e in enumerate(queue):
    t = D0 + dt.timedelta(microseconds=e['off'])
    ty = types[n % len(types)]
    v = {'event_id': e['id'].upper() if n % 17 == 0 else e['id'],
         'user_id': e['user'], 'event_type': ty,
         'event_timestamp': stamp(t), 'country': e['country']}
    if ty == 'purchase':
        v['amount'] = 12.5
    if ty == 'play':
        v['content_id'] = 'c-%03d' % (n % 7)
    # Absent means false: a false flag is left out now and then.
    if e['consent'] or rng.random() < 0.5:
        v['has_consent'] = e['consent']
    if e['dnt'] or rng.random() < 0.5:
        v['do_not_track'] = e['dnt']
    e['json'] = json.dumps(v, separators=(',', ':'))
    lines.append(e['user'] + '\t' + e['json'])
    ts_us = e['off'] + int(D0.timestamp()) * 10**6
    truth.append('%s %d %s %s %s %s %s' % (e['user'], ts_us, e['id'],
                 't' if e['consent'] else 'f', 't' if e['dnt'] else 'f', ty, e['country']))
    e['type'] = ty

# An event sent twice (same bytes), and two invalid messages.
for i in (3, len(queue) // 2, len(queue) - 5):
    lines.append(queue[i]['user'] + '\t' + queue[i]['json'])
lines.append(queue[0]['user'] + '\t{"event_id":"not json"')
lines.append(queue[1]['user'] + '\t{"event_id":"%s","user_id":"%s"}' % (uid(), queue[1]['user']))

with open(out + '/events.tsv', 'w') as f:
    f.write('\n'.join(lines) + '\n')
with open(out + '/truth.tsv', 'w') as f:
    f.write('\n'.join(truth) + '\n')
print(len(lines), len(truth))
