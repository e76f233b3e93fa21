-- Cluster-wide objects: the four roles and the database. Run by a
-- superuser with psql:
--   psql -v ON_ERROR_STOP=1 -v owner_pw=... -v writer_pw=... \
--        -v analytics_pw=... -v api_pw=... -v dbname=streamguard -f db-roles.sql
-- Idempotent: existing roles and database are left as they are.
--   sg_owner     owns the schema, runs migrations (CREATEDB: the test
--                harness creates throw-away databases with it)
--   sg_writer    the daemons: reads and writes what they need, nothing more
--   sg_analytics read-only, and never users_pii
--   sg_api       the HTTP server (sg-api): reads statistics and compliance,
--                files privacy requests; can never read an e-mail
--   sg_auditor   NOLOGIN, no members: pgaudit's audit role (pgaudit.role);
--                what it may touch is what pgaudit logs (users_pii)

SELECT format('CREATE ROLE sg_owner LOGIN CREATEDB PASSWORD %L', :'owner_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sg_owner') \gexec
SELECT format('CREATE ROLE sg_writer LOGIN PASSWORD %L', :'writer_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sg_writer') \gexec
SELECT format('CREATE ROLE sg_analytics LOGIN PASSWORD %L', :'analytics_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sg_analytics') \gexec

SELECT format('CREATE ROLE sg_api LOGIN PASSWORD %L', :'api_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sg_api') \gexec

SELECT 'CREATE ROLE sg_auditor NOLOGIN'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'sg_auditor') \gexec

-- pgaudit (scripts/pg-audit.sh): its object audit skips what SECURITY
-- DEFINER functions read for another role (pgaudit issue #157), so the
-- calls of the daemons' role are logged instead (FUNCTION class: one line
-- per call of pii_lookup and the other access functions). A placeholder
-- where pgaudit is not loaded.
ALTER ROLE sg_writer SET pgaudit.log = 'function';

SELECT format('CREATE DATABASE %I OWNER sg_owner', :'dbname')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \gexec

-- Only our roles may connect to the database.
REVOKE CONNECT ON DATABASE :"dbname" FROM PUBLIC;
GRANT CONNECT ON DATABASE :"dbname" TO sg_owner, sg_writer, sg_analytics, sg_api;
