#!/usr/bin/env python3
"""A webhook receiver for sg-alert's tests (python3 standard library only).

Binds 127.0.0.1 only. Verifies every request's signature the way
docs/alerts.md tells receivers to (HMAC-SHA256 of "<timestamp>.<body>"
with the secret in the environment variable --secret-env names, and a
timestamp at most 300 s old), answers 401 to a bad one, and logs one JSON
line per request to --log: time, path, idempotency key, the body's
sha256, signature_valid, timestamp_age_s, status answered (or "timeout"),
retry_after sent, the body's alert_id and kind, and the body itself (test
data: the test greps it for e-mail addresses).

Faults, by request number (1-based, over the receiver's life):
  --fail-first K       the first K requests are answered 500
  --plan LIST          then request K+1, K+2, ... follow LIST, a comma list
                       of: ok | STATUS | STATUS:SECONDS (with Retry-After:
                       SECONDS) | STATUS:dSECONDS (Retry-After as an
                       HTTP-date SECONDS ahead) | timeout (no answer for
                       --timeout-s); after LIST, ok
  --status-for-kind KIND=STATUS  (repeatable) a body of that kind always
                       gets STATUS (a permanent 4xx, say)
  --delay-ms MS        every answer waits MS first
"The receiver goes away for a while": the test stops this process and
starts it again on the same port. --tls-cert/--tls-key serve HTTPS.
"""

import argparse
import email.utils
import hashlib
import hmac
import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20
MAX_AGE_S = 300


def parse_plan(text):
    plan = []
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        if item in ("ok", "timeout"):
            plan.append((item, None))
            continue
        status, _, ra = item.partition(":")
        if not status.isdigit() or not 100 <= int(status) <= 599:
            raise SystemExit(f"alert_receiver: bad plan item {item!r}")
        plan.append((int(status), ra or None))
    return plan


class State:
    def __init__(self, args):
        self.args = args
        self.plan = parse_plan(args.plan)
        self.kind_status = {}
        for kv in args.status_for_kind or []:
            kind, _, status = kv.partition("=")
            self.kind_status[kind] = int(status)
        secret = os.environ.get(args.secret_env, "")
        if not secret:
            raise SystemExit(f"alert_receiver: {args.secret_env} is not set")
        self.secret = secret.encode()
        self.lock = threading.Lock()
        self.count = 0
        self.log = open(args.log, "a", encoding="utf-8") if args.log else None

    def next_number(self):
        with self.lock:
            self.count += 1
            return self.count

    def write(self, rec):
        if not self.log:
            return
        with self.lock:
            self.log.write(json.dumps(rec, sort_keys=True) + "\n")
            self.log.flush()


class Handler(BaseHTTPRequestHandler):
    server_version = "alert-receiver/1"

    def log_message(self, fmt, *a):  # quiet: the JSON log is the record
        pass

    def do_POST(self):
        st = self.server.state
        n = st.next_number()
        now = time.time()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, MAX_BODY))
        key = self.headers.get("Idempotency-Key", "")
        ts = self.headers.get("X-StreamGuard-Timestamp", "")
        sig = self.headers.get("X-StreamGuard-Signature", "")
        want = "v1=" + hmac.new(st.secret, ts.encode() + b"." + body,
                                hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(want, sig)
        age = now - int(ts) if ts.isdigit() else None
        fresh = age is not None and -60 <= age <= MAX_AGE_S
        try:
            doc = json.loads(body)
        except ValueError:
            doc = {}
        kind = doc.get("kind") if isinstance(doc, dict) else None
        # What to answer.
        action, ra = "ok", None
        if n <= st.args.fail_first:
            action = 500
        elif n - st.args.fail_first - 1 < len(st.plan):
            action, ra = st.plan[n - st.args.fail_first - 1]
        if kind in st.kind_status:
            action, ra = st.kind_status[kind], None
        if not (valid and fresh):
            action, ra = 401, None
        if action == "ok":
            action = 200
        retry_after = None
        retry_at = None
        if ra is not None:
            if ra.startswith("d"):
                retry_at = int(now) + int(ra[1:])
                retry_after = email.utils.formatdate(retry_at, usegmt=True)
            else:
                retry_after = ra
                retry_at = now + int(ra)
        st.write({"time": now, "n": n, "path": self.path, "key": key,
                  "body_sha256": hashlib.sha256(body).hexdigest(),
                  "signature_valid": valid, "timestamp_age_s": age,
                  "status": action, "retry_after": retry_after,
                  "retry_at": retry_at,
                  "alert_id": doc.get("alert_id") if isinstance(doc, dict) else None,
                  "kind": kind, "body": body.decode("utf-8", "replace")})
        if action == "timeout":
            time.sleep(st.args.timeout_s)
            action = 200
        if st.args.delay_ms:
            time.sleep(st.args.delay_ms / 1000.0)
        out = b'{"ok":true}' if action == 200 else b'{"ok":false}'
        try:
            self.send_response(action)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
        except OSError:
            pass  # the client gave up (a timeout): nothing to answer


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file", help="write the bound port here")
    p.add_argument("--secret-env", required=True)
    p.add_argument("--log")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--plan", default="")
    p.add_argument("--status-for-kind", action="append")
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--timeout-s", type=float, default=5.0)
    p.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-key", help="... and this private key (PEM)")
    args = p.parse_args()
    state = State(args)
    # A deep accept queue: sg-alert opens many connections at once, and an
    # overflowing backlog turns into 1 s SYN retransmits (false timeouts).
    ThreadingHTTPServer.request_queue_size = 256
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.state = state
    if args.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{srv.server_address[1]}\n")
        os.replace(tmp, args.port_file)
    try:
        srv.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
