#!/bin/sh
# First start of the compose PostgreSQL container (docker-entrypoint-initdb.d):
# the two login roles of README "Database roles" and the database, owned by the
# owner role. The application role gets its privileges from `migrate`.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$PERFORM_OWNER_PASSWORD" \
    -v app_password="$PERFORM_APP_PASSWORD" <<'SQL'
CREATE ROLE perform_owner WITH LOGIN NOSUPERUSER NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE perform_app WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    PASSWORD :'app_password';
CREATE DATABASE perform OWNER perform_owner;
SQL
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname perform <<'SQL'
ALTER SCHEMA public OWNER TO perform_owner;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
