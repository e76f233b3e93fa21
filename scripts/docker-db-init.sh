#!/usr/bin/env bash
# Creates the StreamGuard roles and database inside the postgres:15 container.
#
# docker-compose.yml mounts this file into /docker-entrypoint-initdb.d, so the
# image's entrypoint runs it once, as the postgres user, on the first start of
# an empty data volume (against a temporary socket-only server). The SQL is
# scripts/db-roles.sql, mounted at /streamguard/db-roles.sql; the passwords
# come from the container's environment, set by docker-compose.yml.
#
# The entrypoint executes this file when it is executable and sources it
# otherwise, so it avoids `set -u` and `exit` on the success path.
set -e

: "${SG_OWNER_PASSWORD:?SG_OWNER_PASSWORD must be set}"
: "${SG_WRITER_PASSWORD:?SG_WRITER_PASSWORD must be set}"
: "${SG_ANALYTICS_PASSWORD:?SG_ANALYTICS_PASSWORD must be set}"
: "${SG_API_PASSWORD:?SG_API_PASSWORD must be set}"

echo "docker-db-init: creating roles sg_owner, sg_writer, sg_analytics, sg_api and database streamguard"
psql -X -v ON_ERROR_STOP=1 \
  --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
  -v owner_pw="$SG_OWNER_PASSWORD" \
  -v writer_pw="$SG_WRITER_PASSWORD" \
  -v analytics_pw="$SG_ANALYTICS_PASSWORD" \
  -v api_pw="$SG_API_PASSWORD" \
  -v dbname=streamguard \
  -f "${SG_DB_ROLES_SQL:-/streamguard/db-roles.sql}"
