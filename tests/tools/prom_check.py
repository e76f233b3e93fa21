#!/usr/bin/env python3
"""Checks Prometheus text exposition (format 0.0.4) files, strictly enough
to catch what our renderer could get wrong: every line's syntax (names,
label escaping, numbers), HELP/TYPE once per family and before its
samples, a family's samples together, histograms whose buckets are
cumulative and end in le="+Inf" equal to _count, and (--max-values N) no
label with more than N distinct values in a family (le aside).

  prom_check.py [--max-values N] FILE...

Exit 0 when every file passes, 1 with one line per problem otherwise.
"""
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
NUMBER = r"(?:[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]Inf|NaN)"
SAMPLE = re.compile(
    rf"^({NAME})(?:\{{((?:{LABEL}={VALUE})(?:,{LABEL}={VALUE})*)?,?\}})? ({NUMBER})(?: -?[0-9]+)?$")
PAIR = re.compile(rf"({LABEL})=({VALUE})")
HELP = re.compile(rf"^# HELP ({NAME}) (?:[^\\\n]|\\[\\n])*$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v[1:-1])


def family_of(name, types):
    for fam, kind in types.items():
        for suf in SUFFIXES.get(kind, ()):
            if suf and name == fam + suf:
                return fam
    return name


def check(path, max_values, problems):
    def bad(n, what):
        problems.append(f"{path}:{n}: {what}")

    text = open(path, encoding="utf-8").read()
    if text and not text.endswith("\n"):
        bad(0, "no newline at the end")
    types, helps, done = {}, set(), set()
    current = None
    values = {}   # (family, label) -> set of values
    hist = {}     # (family, labels without le) -> {"buckets": [(le, v)], "count": v}
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("#"):
            m = HELP.match(line)
            t = TYPE.match(line)
            if line.startswith("# HELP "):
                if not m:
                    bad(n, "malformed HELP")
                    continue
                if m.group(1) in helps:
                    bad(n, f"second HELP for {m.group(1)}")
                helps.add(m.group(1))
            elif line.startswith("# TYPE "):
                if not t:
                    bad(n, "malformed TYPE")
                    continue
                fam = t.group(1)
                if fam in types:
                    bad(n, f"second TYPE for {fam}")
                if fam in done:
                    bad(n, f"TYPE of {fam} after its samples")
                types[fam] = t.group(2)
            continue
        m = SAMPLE.match(line)
        if not m:
            bad(n, f"malformed sample: {line[:120]!r}")
            continue
        name, labels, num = m.group(1), m.group(2) or "", m.group(3)
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                bad(n, f"samples of {fam} not together")
            if current:
                done.add(current)
            current = fam
        pairs = [(k, unescape(v)) for k, v in PAIR.findall(labels)]
        names = [k for k, _ in pairs]
        if len(set(names)) != len(names):
            bad(n, "a label given twice")
        for k, v in pairs:
            if k != "le":
                values.setdefault((fam, k), set()).add(v)
        kind = types.get(fam, "untyped")
        if kind == "counter" and (num.startswith("-") or num == "NaN"):
            bad(n, f"counter {name} is {num}")
        if kind == "histogram":
            key = (fam, tuple(p for p in pairs if p[0] != "le"))
            h = hist.setdefault(key, {"buckets": [], "count": None})
            if name == fam + "_bucket":
                le = dict(pairs).get("le")
                if le is None:
                    bad(n, "a bucket without le")
                    continue
                h["buckets"].append((float(le), float(num)))
            elif name == fam + "_count":
                h["count"] = float(num)
            elif name != fam + "_sum":
                bad(n, f"{name} in histogram {fam}")
    for (fam, labels), h in hist.items():
        b = h["buckets"]
        if not b or b[-1][0] != float("inf"):
            problems.append(f"{path}: {fam}{dict(labels)}: no le=\"+Inf\" bucket")
            continue
        if any(b[i][0] >= b[i + 1][0] for i in range(len(b) - 1)):
            problems.append(f"{path}: {fam}{dict(labels)}: buckets not in increasing le order")
        if any(b[i][1] > b[i + 1][1] for i in range(len(b) - 1)):
            problems.append(f"{path}: {fam}{dict(labels)}: buckets not cumulative")
        if h["count"] != b[-1][1]:
            problems.append(f"{path}: {fam}{dict(labels)}: _count {h['count']} != +Inf bucket {b[-1][1]}")
    if max_values is not None:
        for (fam, k), vs in sorted(values.items()):
            if len(vs) > max_values:
                problems.append(f"{path}: {fam} label {k} has {len(vs)} values (at most {max_values})")


def main(argv):
    max_values = None
    if len(argv) > 1 and argv[0] == "--max-values":
        max_values = int(argv[1])
        argv = argv[2:]
    if not argv:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    problems = []
    for path in argv:
        check(path, max_values, problems)
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
