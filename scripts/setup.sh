#!/usr/bin/env bash
# One setup path for both README commands. On a fresh Debian machine it
# installs what is missing, builds, starts PostgreSQL (as the postgres user),
# creates the roles and the database, and applies the migrations. Running it
# again changes nothing that is already in place.
#
#   scripts/setup.sh            the release build, in build/
#   scripts/setup.sh --asan     the ASan+UBSan build the tests use, in
#                               build-asan/ (instead of build/)
#   scripts/setup.sh --no-kafka skip the real Apache Kafka (Java, Maven, jars)
#
# PostgreSQL: the local cluster on PGPORT (default 5432), database
# PGDATABASE (default streamguard): libpq's own variables, which every
# binary and script honours too.
#
# A real Apache Kafka is installed by scripts/kafka.sh install (a Java 17
# runtime and Maven from Debian, the broker's jars from Maven Central, once).
# If that fails, setup goes on: the reason is kept in .sg/kafka-unavailable
# and said in one line; the demo then runs on sg-broker and the test suite
# fails its real-broker lane with that reason.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SANITIZE=0
KAFKA=1
for arg in "$@"; do
  case "$arg" in
    --asan) SANITIZE=1 ;;
    --no-kafka) KAFKA=0 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option '$arg'" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}

# ---------------------------------------------------------------- packages
PACKAGES=(build-essential cmake pkg-config git ca-certificates
          librdkafka-dev libpq-dev libjansson-dev libjsmn-dev libcurl4-openssl-dev libssl-dev
          libmicrohttpd-dev curl wrk
          libcriterion-dev kcat postgresql postgresql-client postgresql-15-pgaudit jq
          python3 python3-yaml openssl clang)
APT_UPDATED=0
install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if [ "$APT_UPDATED" -eq 0 ]; then $SUDO apt-get update -qq; APT_UPDATED=1; fi
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
install_missing "${PACKAGES[@]}"
# The fuzzer's runtime comes with the clang Debian installed, whichever
# version that is.
CLANG_MAJOR=$(clang --version | sed -n 's/.*clang version \([0-9]*\)\..*/\1/p' | head -1)
install_missing "libclang-rt-$CLANG_MAJOR-dev"
# The dashboard's browser test drives Debian's Chromium (never a browser
# download of Playwright's own): the test path only.
if [ "$SANITIZE" -eq 1 ]; then install_missing chromium; fi

# -------------------------------------------------------------- JavaScript
# The dashboard's chart library (chart.js, served by sg-api as
# /static/vendor/chart.umd.js) and the browser test's driver
# (playwright-core): exact versions in package-lock.json, installed into
# node_modules/ by npm ci without install scripts. Skipped when
# node_modules/ was installed from this very lockfile (its digest is kept
# there). Node.js and npm from Debian, only if there is no node at all.
if ! command -v node >/dev/null; then install_missing nodejs npm; fi
command -v npm >/dev/null || { echo "setup.sh: node is installed but npm is not (install npm)" >&2; exit 1; }
LOCK_SUM=$(sha256sum "$ROOT/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$ROOT/node_modules/.sg-lock.sha256" 2>/dev/null)" != "$LOCK_SUM" ] ||
   [ ! -f "$ROOT/node_modules/chart.js/dist/chart.umd.js" ]; then
  say "installing the JavaScript packages of package-lock.json (npm ci)"
  mkdir -p "$ROOT/.sg"
  if ! (cd "$ROOT" && npm ci --ignore-scripts --no-audit --no-fund) >"$ROOT/.sg/npm-ci.log" 2>&1; then
    cat "$ROOT/.sg/npm-ci.log" >&2
    echo "setup.sh: npm ci failed (output above, also in .sg/npm-ci.log)" >&2
    exit 1
  fi
  echo "$LOCK_SUM" >"$ROOT/node_modules/.sg-lock.sha256"
fi

# ------------------------------------------------------------------- build
# Quiet when it works; the whole compiler output when it does not.
build() {
  local dir=$1 log; shift
  mkdir -p "$dir"
  log=$dir/build.log
  if { [ -f "$dir/CMakeCache.txt" ] || cmake -S "$ROOT" -B "$dir" "$@"; } >"$log" 2>&1 &&
     cmake --build "$dir" -j"$(nproc)" >>"$log" 2>&1; then
    return 0
  fi
  cat "$log" >&2
  echo "setup.sh: the build in $dir failed (output above, also in $log)" >&2
  exit 1
}
if [ "$SANITIZE" -eq 1 ]; then
  BUILD=$ROOT/build-asan
  say "building build-asan/ (AddressSanitizer + UndefinedBehaviorSanitizer)"
  build "$BUILD" -DCMAKE_BUILD_TYPE=Debug -DSG_SANITIZE=ON
else
  BUILD=$ROOT/build
  say "building build/"
  build "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

# -------------------------------------------------------------- PostgreSQL
PGPORT_LOCAL=${PGPORT:-5432}
cluster=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PGPORT_LOCAL" '$3 == p' | head -1)
if [ -z "$cluster" ]; then
  ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
  say "creating PostgreSQL $ver cluster 'main' on port $PGPORT_LOCAL"
  $SUDO pg_createcluster "$ver" main --port "$PGPORT_LOCAL" >/dev/null
  cluster=$(pg_lsclusters -h | awk -v p="$PGPORT_LOCAL" '$3 == p' | head -1)
fi
read -r pg_ver pg_name _ pg_status _ <<<"$cluster"
if [ "$pg_status" != "online" ]; then
  say "starting PostgreSQL $pg_ver/$pg_name as the postgres user"
  as_postgres pg_ctlcluster "$pg_ver" "$pg_name" start
fi
for _ in $(seq 1 60); do
  pg_isready -q -h localhost -p "$PGPORT_LOCAL" && break
  sleep 0.5
done
pg_isready -q -h localhost -p "$PGPORT_LOCAL" \
  || { echo "setup.sh: PostgreSQL did not become ready on port $PGPORT_LOCAL" >&2; exit 1; }
# Audit logging: pgaudit and the CSV server log (scripts/pg-audit.sh;
# restarts the cluster only when a preloaded library or the collector changes).
"$ROOT/scripts/pg-audit.sh" "$pg_ver" "$pg_name"
pg_isready -q -h localhost -p "$PGPORT_LOCAL" \
  || { echo "setup.sh: PostgreSQL is not ready after scripts/pg-audit.sh" >&2; exit 1; }

# Passwords: from the environment if given, else generated once and kept in
# ~/.pgpass (mode 600), where libpq and psql find them.
PGPASS=${PGPASSFILE:-$HOME/.pgpass}
touch "$PGPASS"; chmod 600 "$PGPASS"
password_for() {
  local role=$1 envvar=$2 pw
  pw=${!envvar:-}
  if [ -z "$pw" ]; then
    pw=$(awk -F: -v r="$role" -v p="$PGPORT_LOCAL" \
         '$1 == "localhost" && $2 == p && $4 == r { print $5; exit }' "$PGPASS")
  fi
  [ -n "$pw" ] || pw=$(openssl rand -hex 16)
  for host in localhost 127.0.0.1; do
    if ! grep -q "^$host:$PGPORT_LOCAL:\*:$role:" "$PGPASS"; then
      echo "$host:$PGPORT_LOCAL:*:$role:$pw" >>"$PGPASS"
    fi
  done
  echo "$pw"
}
OWNER_PW=$(password_for sg_owner SG_OWNER_PASSWORD)
WRITER_PW=$(password_for sg_writer SG_WRITER_PASSWORD)
ANALYTICS_PW=$(password_for sg_analytics SG_ANALYTICS_PASSWORD)
API_PW=$(password_for sg_api SG_API_PASSWORD)
DBNAME=${PGDATABASE:-streamguard}

as_postgres psql -X -q -p "$PGPORT_LOCAL" -d postgres -v ON_ERROR_STOP=1 \
  -v owner_pw="$OWNER_PW" -v writer_pw="$WRITER_PW" -v analytics_pw="$ANALYTICS_PW" -v api_pw="$API_PW" \
  -v dbname="$DBNAME" -f - <"$ROOT/scripts/db-roles.sql" >/dev/null
# Keep the roles' passwords in step with ~/.pgpass (e.g. after it was lost).
for pair in "sg_owner:$OWNER_PW" "sg_writer:$WRITER_PW" "sg_analytics:$ANALYTICS_PW" "sg_api:$API_PW"; do
  role=${pair%%:*}
  if ! psql -X -q -w "host=localhost port=$PGPORT_LOCAL dbname=$DBNAME user=$role" \
        -c 'SELECT 1' >/dev/null 2>&1; then
    say "resetting the password of $role to the one in $PGPASS"
    as_postgres psql -X -q -p "$PGPORT_LOCAL" -d postgres -v ON_ERROR_STOP=1 \
      -v role="$role" -v pw="${pair#*:}" -c 'ALTER ROLE :"role" PASSWORD :'"'"'pw'"'" >/dev/null
  fi
done

"$BUILD/bin/sg-migrate" --dsn "host=localhost port=$PGPORT_LOCAL dbname=$DBNAME user=sg_owner"

# ------------------------------------------------------------ Apache Kafka
mkdir -p "$ROOT/.sg"
if [ "$KAFKA" -eq 1 ]; then
  if "$ROOT/scripts/kafka.sh" install 2>"$ROOT/.sg/kafka-install.log"; then
    rm -f "$ROOT/.sg/kafka-unavailable"
  else
    grep 'kafka.sh:' "$ROOT/.sg/kafka-install.log" | tail -1 | sed 's/^kafka.sh: //' >"$ROOT/.sg/kafka-unavailable"
    [ -s "$ROOT/.sg/kafka-unavailable" ] || echo "scripts/kafka.sh install failed (.sg/kafka-install.log)" >"$ROOT/.sg/kafka-unavailable"
    say "no real Apache Kafka: $(cat "$ROOT/.sg/kafka-unavailable")"
  fi
fi
say "setup done: database $DBNAME on localhost:$PGPORT_LOCAL, binaries in ${BUILD#"$ROOT"/}/bin"
