#!/usr/bin/env python3
"""Helpers of bench/peers/kafka-connect/run.sh (standard library only).

  secrets  write the database password, found in ~/.pgpass, to a mode-600
           Java properties file (never printed)
  topic    read the whole topic with kcat, judge every message against the
           user_events v1 contract, and write what run.sh needs to know when
           the sink is done and what it lost
  done     is every partition's last trackable message in the table (by
           event_id) or in the dead-letter topic (by offset)?
  dlq      count the dead-letter topic's messages, by error
  final    missing valid events and stored invalid ones, from the table's ids

The contract check below follows shared/contracts/user_event.v1.md and
common/sg_event.c closely, with one simplification: a country code is
checked for its shape (2 upper-case letters, optional subdivision), not
against the list of assigned ISO 3166-1 codes. Its count of valid messages
is printed so that it can be compared with sg-generate's.
"""
import argparse
import ipaddress
import json
import math
import os
import re
import subprocess
import sys

MAX_MESSAGE = 8192
MAX_METADATA = 2048
EVENT_TYPES = {"page_view", "add_to_cart", "purchase", "play", "pause", "seek",
               "stop", "playback_error"}
PLAYBACK = {"play", "pause", "seek", "stop", "playback_error"}
EU27 = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR",
        "HR", "HU", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO",
        "SE", "SI", "SK"}
FIELDS = {  # name: (JSON type, required)
    "event_id": ("string", True), "user_id": ("string", True),
    "event_type": ("string", True), "event_timestamp": ("string", True),
    "country": ("string", True), "amount": ("number", False),
    "currency": ("string", False), "has_consent": ("boolean", False),
    "is_eu": ("boolean", False), "do_not_track": ("boolean", False),
    "device_id": ("string", False), "content_id": ("string", False),
    "watch_seconds": ("integer", False), "error_code": ("string", False),
    "ip_address": ("string", False), "metadata": ("object", False),
}
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TS_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-](\d{2}):(\d{2}))$")
COUNTRY_RE = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")


class Reject(Exception):
    pass


def _no_dups(pairs):
    seen = set()
    for k, _ in pairs:
        if k in seen:
            raise Reject("duplicate_key")
        seen.add(k)
    return dict(pairs)


def _bad_constant(name):
    raise ValueError(name)  # NaN, Infinity: not JSON


_DECODER = json.JSONDecoder(object_pairs_hook=_no_dups, parse_constant=_bad_constant)


def _jtype_ok(value, jtype):
    if jtype == "string":
        return isinstance(value, str)
    if jtype == "boolean":
        return isinstance(value, bool)
    if jtype == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if jtype == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    return isinstance(value, dict)


def _token(s, maxlen):
    return 1 <= len(s) <= maxlen and all(0x21 <= ord(c) <= 0x7E for c in s)


def _days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def _timestamp_ok(s):
    m = TS_RE.match(s)
    if not m:
        return False
    y, mo, d, h, mi, sec = (int(m.group(i)) for i in range(1, 7))
    if not 2000 <= y <= 2099 or not 1 <= mo <= 12 or not 1 <= d <= _days_in_month(y, mo):
        return False
    if h > 23 or mi > 59 or sec > 59:
        return False
    if m.group(9) is not None and (int(m.group(9)) > 23 or int(m.group(10)) > 59):
        return False
    return True


def _depth_ok(v, level):
    if level > 4:
        return False
    if isinstance(v, dict):
        return all(_depth_ok(x, level + 1) for x in v.values())
    if isinstance(v, list):
        return all(_depth_ok(x, level + 1) for x in v)
    return True


def judge(raw):
    """(reason or None, event_id as sent or None): the contract's verdict."""
    if raw is None:
        return "malformed_json", None  # a tombstone: no value at all
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8", None
    try:
        ev = _DECODER.decode(text)
    except Reject:
        ev = None
        try:  # still find the event_id, as a lenient parser would
            ev = json.loads(text)
        except ValueError:
            pass
        eid = ev.get("event_id") if isinstance(ev, dict) else None
        return "duplicate_key", eid if isinstance(eid, str) else None
    except ValueError:
        return "malformed_json", None
    if not isinstance(ev, dict):
        return "not_object", None
    eid = ev.get("event_id")
    eid = eid if isinstance(eid, str) else None
    if len(raw) > MAX_MESSAGE:
        return "too_large", eid
    for name, (_, required) in FIELDS.items():
        if required and ev.get(name) is None:
            return "missing_field", eid
    for name in ev:
        if name not in FIELDS:
            return "unknown_field", eid
    has = {k for k, v in ev.items() if v is not None}
    for name in has:
        if not _jtype_ok(ev[name], FIELDS[name][0]):
            return "wrong_type", eid
    etype = ev["event_type"]
    if not UUID_RE.match(ev["event_id"]) or not UUID_RE.match(ev["user_id"]):
        return "invalid_value", eid
    if etype not in EVENT_TYPES or not _timestamp_ok(ev["event_timestamp"]):
        return "invalid_value", eid
    country = ev["country"]
    if not COUNTRY_RE.match(country):
        return "invalid_value", eid
    amount_nonzero = False
    if "amount" in has:
        a = ev["amount"]
        if isinstance(a, float):
            if not math.isfinite(a) or float("%.2f" % a) != a:
                return "invalid_value", eid
        if a < 0 or (etype == "purchase" and (a == 0 or a > 1000000)):
            return "invalid_value", eid
        amount_nonzero = a != 0
    if "currency" in has and not CURRENCY_RE.match(ev["currency"]):
        return "invalid_value", eid
    for name, maxlen in (("device_id", 64), ("content_id", 64), ("error_code", 32)):
        if name in has and not _token(ev[name], maxlen):
            return "invalid_value", eid
    if "watch_seconds" in has and not 0 <= ev["watch_seconds"] <= 86400:
        return "invalid_value", eid
    if "ip_address" in has:
        try:
            ipaddress.ip_address(ev["ip_address"])
        except ValueError:
            return "invalid_value", eid
    if "metadata" in has:
        meta = ev["metadata"]
        dumped = json.dumps(meta, separators=(",", ":"), ensure_ascii=False).encode()
        if not _depth_ok(meta, 1) or len(dumped) > MAX_METADATA:
            return "invalid_value", eid
    if etype == "purchase" and "amount" not in has:
        return "missing_field", eid
    if etype == "playback_error" and "error_code" not in has:
        return "missing_field", eid
    if "is_eu" in has and ev["is_eu"] != (country[:2] in EU27):
        return "inconsistent", eid
    if etype != "purchase" and amount_nonzero:
        return "inconsistent", eid
    if etype != "playback_error" and "error_code" in has:
        return "inconsistent", eid
    if etype in PLAYBACK and "content_id" not in has:
        return "inconsistent", eid
    if etype != "stop" and "watch_seconds" in has:
        return "inconsistent", eid
    return None, eid


def kcat_messages(brokers, topic):
    """(partition, offset, value bytes or None) of every message, binary-safe."""
    cmd = ["kcat", "-b", brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
           "-f", "%p %o %S\n%s\n"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    out = proc.stdout
    while True:
        head = out.readline()
        if not head:
            break
        p, o, size = head.split()
        size = int(size)
        value = out.read(size) if size >= 0 else None
        out.read(1)  # the newline after the value
        yield int(p), int(o), value
    if proc.wait() != 0:
        raise SystemExit("analyze.py: kcat could not read topic %s" % topic)


def cmd_topic(a):
    per_part = {}
    reasons = {}
    valid = 0
    id_count = {}
    msgs = []  # (p, o, id lower-case or None)
    valid_ids = []
    valid_pos = []
    for p, o, value in kcat_messages(a.brokers, a.topic):
        reason, eid = judge(value)
        if reason is None:
            valid += 1
            valid_ids.append(eid.lower())
            valid_pos.append((p, o))
        else:
            reasons[reason] = reasons.get(reason, 0) + 1
        # The sink needs a string event_id (required in the value schema);
        # in strict mode it must also be a UUID, or PostgreSQL rejects it.
        key = eid.lower() if eid is not None else None
        if key is not None and a.strict and not UUID_RE.match(eid):
            key = "\0shared"  # untrackable by id; never counted as unique
        if key is not None:
            id_count[key] = id_count.get(key, 0) + 1
        msgs.append((p, o, key))
        st = per_part.setdefault(p, {"count": 0, "last": -1})
        st["count"] += 1
        st["last"] = max(st["last"], o)
    # How run.sh sees that the sink is done: per partition, the anchor is
    # the last valid message whose event_id no other message has (valid
    # messages always reach the table); Connect hands a partition's records
    # to the sink in order and the sink commits each batch before the next,
    # so once the anchor is in the table every earlier message of its
    # partition has been processed. The messages after the anchor (the
    # tail: invalid ones) must each be in the table (by a unique event_id)
    # or in the dead-letter topic (by offset); a tail message with a shared
    # event_id cannot be told apart and is not waited for.
    valid_at = set(valid_pos)
    parts = {}
    for p, o, key in reversed(msgs):
        st = parts.setdefault(p, {"partition": p, "anchor": None, "tail": []})
        if st["anchor"] is not None:
            continue
        unique = key is not None and key != "\0shared" and id_count[key] == 1
        if (p, o) in valid_at and unique:
            st["anchor"] = key
        elif key is None or unique:
            st["tail"].append({"offset": o, "event_id": key})
    with open(os.path.join(a.out, "valid_ids.txt"), "w") as f:
        for eid in valid_ids:
            f.write(eid + "\n")
    summary = {
        "messages": len(msgs), "valid": valid, "invalid": len(msgs) - valid,
        "invalid_by_reason": reasons,
        "distinct_valid_ids": len(set(valid_ids)),
        "partitions": {str(p): st for p, st in sorted(per_part.items())},
        "tracked": [parts[p] for p in sorted(parts)],
    }
    with open(os.path.join(a.out, "topic.json"), "w") as f:
        json.dump(summary, f)
    print(json.dumps({k: summary[k] for k in ("messages", "valid", "invalid", "invalid_by_reason")}))


DLQ_RE = re.compile(rb"__connect\.errors\.topic=([^,]*),__connect\.errors\.partition=(\d+),"
                    rb"__connect\.errors\.offset=(\d+)")
DLQ_STAGE_RE = re.compile(rb"__connect\.errors\.stage=([A-Z_]+)")
DLQ_EXC_RE = re.compile(rb"__connect\.errors\.exception\.class\.name=([\w.$]+)")
DLQ_MSG_RE = re.compile(rb"__connect\.errors\.exception\.message=([^\n,]{0,160})")


def read_dlq(brokers, topic):
    """Of the dead-letter topic: "count" distinct messages (by original
    partition and offset), "records" (with the copies a replay added),
    "offsets", "by_error" (distinct messages per stage, exception, gist)."""
    cmd = ["kcat", "-b", brokers, "-C", "-t", topic, "-o", "beginning", "-e", "-q",
           "-f", "%p %o\n%h\n\x1e\n"]
    try:
        res = subprocess.run(cmd, capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise SystemExit("analyze.py: kcat timed out reading %s" % topic)
    if res.returncode != 0:
        if b"Unknown topic" in res.stderr or b"UNKNOWN_TOPIC" in res.stderr:
            return {"count": 0, "records": 0, "offsets": set(), "by_error": {}}
        raise SystemExit("analyze.py: kcat could not read %s: %s" % (
            topic, res.stderr.decode(errors="replace").strip()[:200]))
    by_offset = {}  # a replay after a crash reports the same message again
    count = 0
    for rec in res.stdout.split(b"\n\x1e\n"):
        if not rec.strip():
            continue
        count += 1
        m = DLQ_RE.search(rec)
        where = (int(m.group(2)), int(m.group(3))) if m else ("?", count)
        stage = DLQ_STAGE_RE.search(rec)
        exc = DLQ_EXC_RE.search(rec)
        msg = DLQ_MSG_RE.search(rec)
        key = "%s: %s" % (stage.group(1).decode() if stage else "?",
                          exc.group(1).decode().rsplit(".", 1)[-1] if exc else "?")
        if msg:
            # Keep the message's gist, without any value it may quote.
            gist = re.sub(r"[\"'].*", "", msg.group(1).decode(errors="replace")).strip()
            key += " (" + gist[:80] + ")"
        by_offset[where] = key
    by_error = {}
    for key in by_offset.values():
        by_error[key] = by_error.get(key, 0) + 1
    return {"count": len(by_offset), "records": count, "offsets": set(by_offset), "by_error": by_error}


def cmd_done(a):
    """Exit 0 when every anchor is in the table and every tail message is
    in the table or the dead-letter topic (see cmd_topic)."""
    with open(a.state) as f:
        tracked = json.load(f)["tracked"]
    found = set(x.strip().lower() for x in a.found.split() if x.strip())
    if any(t["anchor"] is not None and t["anchor"] not in found for t in tracked):
        return 1
    rest = [(t["partition"], m["offset"]) for t in tracked for m in t["tail"]
            if m["event_id"] is None or m["event_id"] not in found]
    if not rest:
        return 0
    dlq = read_dlq(a.brokers, a.dlq)["offsets"]
    return 0 if all(x in dlq for x in rest) else 1


def cmd_dlq(a):
    d = read_dlq(a.brokers, a.dlq)
    print(json.dumps({"count": d["count"], "records": d["records"], "by_error": d["by_error"]}))


def cmd_final(a):
    """missing: valid events with no row; duplicates: rows beyond the first
    for a valid event's id (replays); stored_invalid_ids: ids in the table
    that no valid event has (invalid messages the sink stored)."""
    with open(a.valid) as f:
        valid = set(line.strip() for line in f if line.strip())
    rows = {}
    with open(a.table_ids) as f:
        for line in f:
            line = line.strip().lower()
            if line:
                rows[line] = rows.get(line, 0) + 1
    print(json.dumps({
        "missing": sum(1 for v in valid if v not in rows),
        "duplicates": sum(n - 1 for i, n in rows.items() if n > 1 and i in valid),
        "stored_invalid_ids": sum(1 for i in rows if i not in valid),
    }))


def cmd_secrets(a):
    path = os.environ.get("PGPASSFILE") or os.path.expanduser("~/.pgpass")
    password = None
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#"):
                    continue
                parts, cur, esc = [], "", False
                for c in line:
                    if esc:
                        cur += c
                        esc = False
                    elif c == "\\":
                        esc = True
                    elif c == ":" and len(parts) < 4:
                        parts.append(cur)
                        cur = ""
                    else:
                        cur += c
                parts.append(cur)
                if len(parts) != 5:
                    continue
                want = (a.host, a.port, a.db, a.user)
                if all(p == "*" or p == w for p, w in zip(parts[:4], want)):
                    password = parts[4]
                    break
    except OSError as e:
        raise SystemExit("analyze.py: cannot read %s: %s" % (path, e.strerror))
    if password is None:
        raise SystemExit("analyze.py: no line for %s@%s:%s/%s in %s" % (a.user, a.host, a.port, a.db, path))
    escaped = "".join(
        "\\\\" if c == "\\" else c if 0x20 <= ord(c) < 0x7F else "\\u%04x" % ord(c)
        for c in password)
    if escaped.startswith(" "):
        escaped = "\\" + escaped
    fd = os.open(a.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("password=" + escaped + "\n")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("secrets")
    for k in ("host", "port", "db", "user", "out"):
        s.add_argument("--" + k, required=True)
    s = sub.add_parser("topic")
    s.add_argument("--brokers", required=True)
    s.add_argument("--topic", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--strict", action="store_true")
    s = sub.add_parser("done")
    s.add_argument("--state", required=True)
    s.add_argument("--found", default="")
    s.add_argument("--brokers", required=True)
    s.add_argument("--dlq", required=True)
    s = sub.add_parser("dlq")
    s.add_argument("--brokers", required=True)
    s.add_argument("--dlq", required=True)
    s = sub.add_parser("final")
    s.add_argument("--valid", required=True)
    s.add_argument("--table-ids", required=True)
    a = ap.parse_args()
    return {"secrets": cmd_secrets, "topic": cmd_topic, "done": cmd_done,
            "dlq": cmd_dlq, "final": cmd_final}[a.cmd](a) or 0


if __name__ == "__main__":
    sys.exit(main())
