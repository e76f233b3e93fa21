#!/usr/bin/env bash
# Static checks of the Docker deployment: docker-compose.yml, Dockerfile,
# .dockerignore and the postgres init script. Needs no Docker engine: the
# compose file is parsed with python3 + PyYAML; `docker compose config -q`
# runs as well when the compose plugin is installed.
#
#   bash tests/integration/test_compose.sh
#   SG_COMPOSE_FILE=/tmp/broken.yml bash tests/integration/test_compose.sh
#
# Environment: SG_SRC (source tree; default: two levels up from here),
# SG_COMPOSE_FILE (default $SG_SRC/docker-compose.yml), SG_DOCKERFILE
# (default $SG_SRC/Dockerfile). Relative paths in the compose file are
# resolved against SG_SRC, as `docker compose` does for its project directory.
set -euo pipefail

SRC="${SG_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}"
COMPOSE="${SG_COMPOSE_FILE:-$SRC/docker-compose.yml}"
DOCKERFILE="${SG_DOCKERFILE:-$SRC/Dockerfile}"

echo "compose: source tree $SRC"
echo "compose: compose file $COMPOSE"
echo "compose: Dockerfile $DOCKERFILE"

if ! python3 -c 'import yaml' 2>/dev/null; then
  echo "compose: FAIL: python3 cannot import yaml (PyYAML is missing)." >&2
  echo "compose: install it with 'apt-get install -y python3-yaml'" \
       "(scripts/setup.sh does this)." >&2
  exit 1
fi

extra=0
if docker compose version >/dev/null 2>&1; then
  echo "compose: running docker compose config -q"
  if ! docker compose --project-directory "$SRC" -f "$COMPOSE" config -q; then
    echo "FAIL - docker compose config rejects $COMPOSE" >&2
    exit 1
  fi
  echo "ok - docker compose config -q accepts the file"
  extra=1
else
  echo "compose: note: 'docker compose' is not available here;" \
       "skipping 'docker compose config -q'"
fi

SG_SRC="$SRC" SG_COMPOSE_FILE="$COMPOSE" SG_DOCKERFILE="$DOCKERFILE" \
SG_EXTRA_CHECKS="$extra" python3 - <<'PY'
import glob
import os
import re
import shlex
import subprocess
import sys

import yaml

src = os.environ["SG_SRC"]
compose_path = os.environ["SG_COMPOSE_FILE"]
dockerfile_path = os.environ["SG_DOCKERFILE"]
passed = int(os.environ.get("SG_EXTRA_CHECKS", "0"))
failed = 0

REQUIRED = ["kafka", "kafka-init", "postgres", "migrate", "seed-users",
            "raw-store", "stream-metrics", "gdpr", "generate"]
STREAMGUARD = ["migrate", "seed-users", "raw-store", "stream-metrics", "gdpr", "generate"]
RESTART_OK = re.compile(r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
CONDITIONS = {"service_started", "service_healthy",
              "service_completed_successfully"}


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok - {what}")
    else:
        failed += 1
        print(f"FAIL - {what}")
    return bool(cond)


def finish():
    total = passed + failed
    if failed:
        print(f"compose: {failed} of {total} checks failed")
        sys.exit(1)
    print(f"compose: {passed} checks passed")
    sys.exit(0)


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        out = {}
        for item in env:
            k, _, v = str(item).partition("=")
            out[k] = v
        return out
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def argv_of(value):
    if value is None:
        return []
    if isinstance(value, str):
        return shlex.split(value)
    return [str(x) for x in value]


def programs(argv):
    """The programs a command runs: argv[0], or for `sh -c SCRIPT` the first
    word of every simple command in SCRIPT."""
    if not argv:
        return []
    if os.path.basename(argv[0]) in ("sh", "bash") and len(argv) >= 3 \
            and argv[1] == "-c":
        out = []
        for part in re.split(r"\n|;|&&|\|\||\|", argv[2]):
            words = shlex.split(part, comments=True)
            while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
                words = words[1:]          # leading VAR=value assignments
            if words and words[0] not in ("set", "exec", "then", "do"):
                out.append(os.path.basename(words[0]))
        return out
    return [os.path.basename(argv[0])]


def depends_of(svc):
    dep = svc.get("depends_on") or {}
    if isinstance(dep, list):
        return {str(d): {"condition": "service_started"} for d in dep}
    return {str(k): (v or {}) for k, v in dep.items()}


# --- the file parses -----------------------------------------------------------
if not check(os.path.isfile(compose_path), f"{compose_path} exists"):
    finish()
try:
    with open(compose_path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    parsed = isinstance(doc, dict) and isinstance(doc.get("services"), dict)
    err = "" if parsed else " (no services mapping)"
except yaml.YAMLError as e:
    parsed, err = False, f": {e}".replace("\n", " ")
if not check(parsed, f"docker-compose.yml parses as YAML with a services mapping{err}"):
    finish()
services = doc["services"]
volumes_top = doc.get("volumes") or {}

check("x-streamguard" in doc, "x-streamguard anchor (shared StreamGuard settings) is defined")
for name in REQUIRED:
    check(isinstance(services.get(name), dict), f"service {name} exists")

# --- Kafka: KRaft, no ZooKeeper ----------------------------------------------------
zk = [n for n, s in services.items()
      if "zookeeper" in n.lower() or "zookeeper" in str((s or {}).get("image", "")).lower()
      or any(k.endswith("ZOOKEEPER_CONNECT") for k in env_of(s or {}))]
check(not zk, f"no ZooKeeper service or setting (found: {', '.join(zk) or 'none'})")

kafka = services.get("kafka") or {}
kimage = str(kafka.get("image", ""))
check(kimage.startswith("apache/kafka:"), f"kafka uses an apache/kafka image ({kimage or 'none'})")

# One version and one set of broker settings for both launchers: the image
# tag is the version scripts/kafka.sh pins, and the broker settings are the
# file scripts/kafka.sh uses, mounted as the image's file input. The
# effective settings are that file overridden by KAFKA_* variables.
pinned = {}
with open(os.path.join(src, "config/kafka/versions.env"), encoding="utf-8") as f:
    for line in f:
        m = re.match(r"^([A-Z_]+)=(\S+)", line)
        if m:
            pinned[m.group(1)] = m.group(2)
check(kimage == f"apache/kafka:{pinned.get('KAFKA_VERSION')}",
      f"kafka image {kimage} is the version scripts/kafka.sh pins "
      f"(config/kafka/versions.env: {pinned.get('KAFKA_VERSION')})")
kvols = [str(v) if not isinstance(v, dict) else f"{v.get('source', '')}:{v.get('target', '')}"
         for v in kafka.get("volumes") or []]
mounted = [v.split(":")[0] for v in kvols
           if len(v.split(":")) > 1 and v.split(":")[1] == "/mnt/shared/config/server.properties"]
check(mounted and os.path.normpath(mounted[0]) == "config/kafka/broker.properties",
      "kafka mounts config/kafka/broker.properties (the settings scripts/kafka.sh uses) "
      "as the image's file input")
kenv = {}
if mounted and os.path.isfile(os.path.join(src, mounted[0])):
    with open(os.path.join(src, mounted[0]), encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                k, v = line.split("=", 1)
                kenv["KAFKA_" + k.strip().upper().replace(".", "_")] = v.strip()
kenv.update(env_of(kafka))
roles = [r.strip() for r in kenv.get("KAFKA_PROCESS_ROLES", "").split(",")]
check("controller" in roles and "broker" in roles,
      f"kafka runs KRaft: KAFKA_PROCESS_ROLES={kenv.get('KAFKA_PROCESS_ROLES', '')!r} "
      "has broker and controller")
check(kenv.get("KAFKA_CONTROLLER_QUORUM_VOTERS", "") != "",
      "kafka sets KAFKA_CONTROLLER_QUORUM_VOTERS")
ctl = kenv.get("KAFKA_CONTROLLER_LISTENER_NAMES", "")
check(ctl != "" and f"{ctl}://" in kenv.get("KAFKA_LISTENERS", ""),
      f"kafka's controller listener {ctl or '(unset)'} is in KAFKA_LISTENERS")
check(kenv.get("CLUSTER_ID", "") != "", "kafka sets CLUSTER_ID")
khc = " ".join(argv_of((kafka.get("healthcheck") or {}).get("test")))
check("kafka-topics.sh" in khc and "--list" in khc,
      "kafka has a healthcheck running kafka-topics.sh --list")
advertised = kenv.get("KAFKA_ADVERTISED_LISTENERS", "")

# kafka-init creates the topic (auto-creation is off).
init = services.get("kafka-init") or {}
check(str(init.get("image", "")) == kimage, "kafka-init uses the same image as kafka")
check(depends_of(init).get("kafka", {}).get("condition") == "service_healthy",
      "kafka-init waits for kafka to be healthy")
icmd = " ".join(argv_of(init.get("command")) + argv_of(init.get("entrypoint")))
check("--create" in icmd and re.search(r"--topic[ =]user_events\b", icmd)
      and re.search(r"--partitions[ =]6\b", icmd) and "--if-not-exists" in icmd,
      "kafka-init creates topic user_events with 6 partitions (--if-not-exists)")
if str(kenv.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "")).lower() == "false":
    check(True, "kafka has topic auto-creation off (kafka-init creates the topic)")

# --- PostgreSQL ------------------------------------------------------------------
pg = services.get("postgres") or {}
penv = env_of(pg)
pimage = str(pg.get("image", ""))
check(pimage.startswith("postgres:15"), f"postgres image is postgres:15 ({pimage or 'none'})")
check("pg_isready" in " ".join(argv_of((pg.get("healthcheck") or {}).get("test"))),
      "postgres has a pg_isready healthcheck")
pvols = [str(v) if not isinstance(v, dict) else f"{v.get('source', '')}:{v.get('target', '')}"
         for v in pg.get("volumes") or []]
data_vol = [v.split(":")[0] for v in pvols if len(v.split(":")) > 1
            and v.split(":")[1] == "/var/lib/postgresql/data"]
check(data_vol and data_vol[0] in volumes_top,
      "postgres keeps its data in a named volume declared under volumes:")
initdb = [v for v in pvols if len(v.split(":")) > 1
          and v.split(":")[1].startswith("/docker-entrypoint-initdb.d")]
check(initdb, "postgres mounts an init script into /docker-entrypoint-initdb.d")
check(penv.get("POSTGRES_PASSWORD", "").startswith("${"),
      "POSTGRES_PASSWORD comes from the environment (${...})")

# No default credentials: every password is required (${NAME:?...}), never
# defaulted (${NAME:-...}), and scripts/compose-env.sh generates each one.
raw = open(compose_path).read()
defaulted = sorted(set(re.findall(r"\$\{([A-Z0-9_]*(?:PASSWORD|SECRET|TOKEN)[A-Z0-9_]*):?-", raw)))
check(not defaulted, f"no password has a default value in the compose file (defaulted: {defaulted})")
required = sorted(set(re.findall(r"\$\{([A-Z0-9_]*PASSWORD):\?", raw)))
check(required, "the compose file requires its passwords (${NAME:?...})")
envfile = os.path.join(os.environ.get("T_ENV_DIR", "/tmp"), f"sg-compose-env-{os.getpid()}")
try:
    subprocess.run(["bash", os.path.join(src, "scripts/compose-env.sh"), envfile], check=True,
                   stderr=subprocess.DEVNULL)
    have = dict(l.split("=", 1) for l in open(envfile).read().split())
    check(sorted(have) == required and all(len(v) >= 32 for v in have.values()),
          "scripts/compose-env.sh writes a random password for every required variable")
    check((os.stat(envfile).st_mode & 0o077) == 0, "the .env it writes is mode 600")
finally:
    if os.path.exists(envfile):
        os.unlink(envfile)

# Every bind-mount source exists (relative to the project directory).
binds = {}
for n, s in services.items():
    for v in (s or {}).get("volumes") or []:
        srcpath = v.get("source", "") if isinstance(v, dict) else str(v).split(":")[0]
        if srcpath.startswith((".", "/")):
            binds[srcpath] = os.path.normpath(os.path.join(src, srcpath))
for rel, path in sorted(binds.items()):
    check(os.path.exists(path), f"bind-mount source {rel} exists")

# The init script passes every psql variable that the mounted SQL uses, and
# gets every password it reads from the postgres service's environment.
mounts = {}
for v in pvols:
    parts = v.split(":")
    if len(parts) > 1 and parts[0].startswith((".", "/")):
        mounts[parts[1]] = os.path.normpath(os.path.join(src, parts[0]))
for target, path in mounts.items():
    if not target.startswith("/docker-entrypoint-initdb.d") or not path.endswith(".sh") \
            or not os.path.isfile(path):
        continue
    with open(path, encoding="utf-8") as f:
        script = f.read()
    passed_vars = set(re.findall(r"-v\s+([A-Za-z_][A-Za-z0-9_]*)=", script))
    for m in re.finditer(r"-f\s+\"?(?:\$\{[A-Z_]+:-)?(/[^\s\"}]+)", script):
        sql_path = mounts.get(m.group(1))
        if not sql_path or not os.path.isfile(sql_path):
            check(False, f"{os.path.basename(path)} runs {m.group(1)}, which is mounted")
            continue
        with open(sql_path, encoding="utf-8") as f:
            sql = re.sub(r"--[^\n]*", "", f.read())
        used = set(re.findall(r"(?<![:\w]):['\"]?([A-Za-z_][A-Za-z0-9_]*)", sql))
        missing = sorted(used - passed_vars)
        check(used and not missing,
              f"{os.path.basename(path)} passes every psql variable of "
              f"{os.path.basename(sql_path)} ({', '.join(sorted(used))})"
              + (f"; missing: {', '.join(missing)}" if missing else ""))
    wanted = sorted(set(re.findall(r"\$\{?(SG_[A-Z0-9_]*PASSWORD)", script)))
    missing = [w for w in wanted if w not in penv]
    check(wanted and not missing,
          f"postgres service sets the passwords the init script reads "
          f"({', '.join(wanted)})" + (f"; missing: {', '.join(missing)}" if missing else ""))

# --- StreamGuard services ---------------------------------------------------------
built = {str(s.get("image", "")) for s in services.values()
         if isinstance(s, dict) and s.get("build") is not None}
check(len(built) == 1 and "" not in built,
      f"the StreamGuard image is built from the Dockerfile under one name ({', '.join(sorted(built)) or 'none'})")
built_image = next(iter(built)) if len(built) == 1 else None
for name in STREAMGUARD:
    s = services.get(name) or {}
    check(built_image and str(s.get("image", "")) == built_image,
          f"{name} uses the built image {built_image}")
    senv = env_of(s)
    boot = senv.get("KAFKA_BOOTSTRAP_SERVERS", "")
    host = boot.split(":")[0]
    check(host in services and f"//{boot}" in advertised,
          f"{name}: KAFKA_BOOTSTRAP_SERVERS={boot!r} is a listener kafka advertises")
    dsn = senv.get("PG_DSN", "")
    check("host=postgres" in dsn and "password=" not in dsn,
          f"{name}: PG_DSN points at postgres and holds no password")
    pw = senv.get("PGPASSWORD", "")
    check(pw.startswith("${"), f"{name}: PGPASSWORD comes from the environment (${{...}})")

mig = services.get("migrate") or {}
margv = argv_of(mig.get("command"))
mdir = margv[margv.index("--dir") + 1] if "--dir" in margv[:-1] else ""
dockerfile = ""
if check(os.path.isfile(dockerfile_path), "Dockerfile exists"):
    with open(dockerfile_path, encoding="utf-8") as f:
        dockerfile = f.read()
check(mdir != "" and mdir in dockerfile,
      f"migrate's --dir {mdir or '(none)'} is where the Dockerfile installs sql/")
check("user=sg_owner" in " ".join(margv) + " " + env_of(mig).get("PG_DSN", ""),
      "migrate connects as sg_owner")
for name, policy in (("migrate", "no"), ("seed-users", "no"), ("generate", "no"),
                     ("raw-store", "unless-stopped")):
    got = (services.get(name) or {}).get("restart")
    check(got == policy, f"{name} has restart: {policy!r} (got {got!r})")

# --- restart policies and dependencies ---------------------------------------------
for n, s in services.items():
    if isinstance(s, dict) and "restart" in s:
        r = s["restart"]
        check(isinstance(r, str) and RESTART_OK.match(r),
              f"{n}: restart {r!r} is a valid policy string (quote \"no\")")
for n, s in services.items():
    for dep, opts in depends_of(s or {}).items():
        cond = opts.get("condition", "service_started")
        check(dep in services, f"{n} depends_on {dep}, which exists")
        check(cond in CONDITIONS, f"{n} -> {dep}: condition {cond} is valid")
        target = services.get(dep) or {}
        if cond == "service_healthy":
            check("healthcheck" in target, f"{n} waits for {dep} healthy, and {dep} has a healthcheck")
        if cond == "service_completed_successfully":
            check(target.get("restart", "no") in ("no", "on-failure"),
                  f"{n} waits for {dep} to complete, and {dep} is a one-shot")

# No dependency cycles.
state = {}
cycle = []
def visit(n, path):
    if state.get(n) == 1:
        cycle.append(" -> ".join(path + [n]))
        return
    if state.get(n) == 2 or n not in services:
        return
    state[n] = 1
    for d in depends_of(services[n] or {}):
        visit(d, path + [n])
    state[n] = 2
for n in services:
    visit(n, [])
check(not cycle, "depends_on has no cycles" + (f" ({cycle[0]})" if cycle else ""))

# --- every sg-* program has a CMake target ------------------------------------------
targets = set()
for cm in glob.glob(os.path.join(src, "*", "CMakeLists.txt")):
    with open(cm, encoding="utf-8") as f:
        # add_executable(NAME ...), or a consumer's sg_consumer(NAME MODULE)
        targets |= set(re.findall(r"(?:add_executable|sg_consumer)\(\s*([A-Za-z0-9_.+-]+)", f.read()))
progs = set()
for n, s in services.items():
    for key in ("entrypoint", "command"):
        progs |= {p for p in programs(argv_of((s or {}).get(key))) if p.startswith("sg-")}
check(progs, f"the compose file runs StreamGuard programs ({', '.join(sorted(progs))})")
for p in sorted(progs):
    check(p in targets, f"{p} is an executable target in */CMakeLists.txt")

# --- Dockerfile and .dockerignore -------------------------------------------------
froms = re.findall(r"(?im)^\s*FROM\s+(\S+)", dockerfile)
check(len(froms) >= 2 and all(f.startswith("debian:bookworm-slim") for f in froms),
      f"Dockerfile is multi-stage on debian:bookworm-slim ({', '.join(froms) or 'no FROM'})")
check(re.search(r"-DSG_TESTS=OFF", dockerfile), "Dockerfile builds without the test suite")
check(re.search(r"(?m)^\s*COPY\s+--from=\S+\s+/build/bin", dockerfile),
      "Dockerfile copies /build/bin into the runtime image")
users = re.findall(r"(?im)^\s*USER\s+(\S+)", dockerfile)
check(users and users[-1] not in ("root", "0"),
      f"the runtime image runs as a non-root user ({users[-1] if users else 'none'})")
ignore_path = os.path.join(os.path.dirname(dockerfile_path), ".dockerignore")
ignore = open(ignore_path, encoding="utf-8").read() if os.path.isfile(ignore_path) else ""
check(re.search(r"(?m)^/?build\*?/?$", ignore) and re.search(r"(?m)^/?\.git/?$", ignore),
      ".dockerignore excludes the build trees and .git")

finish()
PY
