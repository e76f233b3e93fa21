#!/usr/bin/env bash
# Writes .env next to docker-compose.yml with a random password for every
# role the compose file needs, once: an existing .env is kept, and only the
# variables it lacks are appended. There are no default passwords anywhere;
# `docker compose` refuses to start while one is unset.
#
#   scripts/compose-env.sh            # then: docker compose up -d
#   scripts/compose-env.sh FILE       # another file (the tests use this)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ENV_FILE=${1:-$ROOT/.env}
command -v openssl >/dev/null || { echo "compose-env.sh: openssl is needed (apt-get install -y openssl)" >&2; exit 1; }
umask 077
touch "$ENV_FILE"
chmod 600 "$ENV_FILE"
added=0
# Every ${NAME:?...} the compose file requires.
for var in $(grep -o '\${[A-Z_]*PASSWORD:?' "$ROOT/docker-compose.yml" | sed 's/^\${//; s/:?$//' | sort -u); do
  if ! grep -q "^$var=" "$ENV_FILE"; then
    echo "$var=$(openssl rand -hex 16)" >>"$ENV_FILE"
    added=$((added + 1))
  fi
done
echo "compose-env.sh: $ENV_FILE: $added password(s) added (mode 600; never commit it)" >&2
