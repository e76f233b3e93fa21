#!/usr/bin/env bash
# Audit logging of the local PostgreSQL cluster: pgaudit (object audit of
# users_pii through the role sg_auditor) and the server log as CSV, one file
# per UTC day, where sg-report access-audit reads the refused attempts.
#
#   scripts/pg-audit.sh VERSION CLUSTER    e.g. scripts/pg-audit.sh 15 main
#
# Run as root (or with sudo) by scripts/setup.sh once the cluster is online.
# Idempotent: the settings live in one file of the cluster's conf.d; the
# cluster is reloaded when that file changes and restarted only when a
# setting that needs a restart (shared_preload_libraries, logging_collector)
# changed. Without the pgaudit package the CSV log is still configured, and
# one line says that pgaudit is missing.
set -euo pipefail

VER=${1:?usage: pg-audit.sh VERSION CLUSTER}
NAME=${2:?usage: pg-audit.sh VERSION CLUSTER}
CONF_DIR=/etc/postgresql/$VER/$NAME/conf.d
CONF=$CONF_DIR/streamguard-audit.conf
LOG_DIR=/var/log/postgresql

say() { printf '==> %s\n' "$*" >&2; }
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
as_postgres() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi
}
port=$(pg_lsclusters -h | awk -v v="$VER" -v n="$NAME" '$1 == v && $2 == n { print $3 }')
[ -n "$port" ] || { echo "pg-audit.sh: no cluster $VER/$NAME" >&2; exit 1; }
psql_pg() { as_postgres psql -X -q -At -p "$port" -d postgres -v ON_ERROR_STOP=1 "$@"; }

# Keep whatever else is preloaded; add pgaudit when its library is installed.
libs=$(psql_pg -c "SHOW shared_preload_libraries" | tr -d ' ')
has_pgaudit=0
if [ -f "/usr/lib/postgresql/$VER/lib/pgaudit.so" ]; then
  has_pgaudit=1
  case ",$libs," in *,pgaudit,*) ;; *) libs=${libs:+$libs,}pgaudit ;; esac
else
  say "pgaudit is not installed (package postgresql-$VER-pgaudit): refused attempts are still logged, reads of users_pii are not"
  libs=$(printf '%s' "$libs" | tr ',' '\n' | grep -vx pgaudit | paste -sd, -)
fi

want=$(mktemp)
trap 'rm -f "$want"' EXIT
{
  echo "# Written by StreamGuard's scripts/pg-audit.sh; edits are overwritten."
  echo "shared_preload_libraries = '$libs'"
  echo "logging_collector = on"
  echo "log_destination = 'csvlog'"
  echo "log_directory = '$LOG_DIR'"
  echo "log_filename = 'postgresql-$VER-$NAME-%Y-%m-%d.log'"
  echo "log_timezone = 'UTC'"
  echo "log_rotation_age = '1d'"
  echo "log_file_mode = 0640"
  echo "log_min_error_statement = error"
  if [ "$has_pgaudit" -eq 1 ]; then
    # Object audit only: every statement that reads or writes a table on
    # which sg_auditor holds a privilege (users_pii), nested statements of
    # functions included, but not what SECURITY DEFINER functions read for
    # another role (pgaudit issue #157): db-roles.sql has sg_writer's
    # function calls logged instead (ALTER ROLE ... SET pgaudit.log).
    echo "pgaudit.role = 'sg_auditor'"
    echo "pgaudit.log = 'none'"
    echo "pgaudit.log_catalog = off"
    echo "pgaudit.log_parameter = off"
    # No statement text: a statement with literal values (an INSERT typed
    # in psql) would put personal data into the log. Object, command and
    # role remain.
    echo "pgaudit.log_statement = off"
    echo "pgaudit.log_level = 'log'"
  fi
} >"$want"

if [ -f "$CONF" ] && cmp -s "$want" "$CONF"; then
  exit 0
fi
say "PostgreSQL $VER/$NAME: audit settings in $CONF"
$SUDO install -m 0644 -o postgres -g postgres "$want" "$CONF"
bad=$(psql_pg -c "SELECT string_agg(name || ': ' || error, '; ') FROM pg_file_settings WHERE sourcefile = '$CONF' AND error IS NOT NULL AND error <> 'setting could not be applied'")
if [ -n "$bad" ]; then
  $SUDO rm -f "$CONF"
  echo "pg-audit.sh: $CONF refused ($bad); removed, nothing changed" >&2
  exit 1
fi
psql_pg -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
pending=$(psql_pg -c "SELECT string_agg(name, ',') FROM pg_settings WHERE pending_restart")
if [ -n "$pending" ]; then
  say "restarting PostgreSQL $VER/$NAME ($pending changed)"
  as_postgres pg_ctlcluster "$VER" "$NAME" restart
  for _ in $(seq 1 60); do
    pg_isready -q -p "$port" && break
    sleep 0.5
  done
fi
