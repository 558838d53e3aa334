#!/bin/sh
# Runs once, on the first start of an empty PostgreSQL volume (docker-entrypoint-initdb.d):
# creates the control-store database and the ONA indicator database, owned by POSTGRES_USER.
set -eu
for db in "${CONTROL_DB:-control}" "${ONA_DB:-ona}"; do
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -c "CREATE DATABASE \"$db\" OWNER \"$POSTGRES_USER\""
done
