#!/bin/sh
# PostgreSQL's first start in compose (docker-entrypoint-initdb.d): one role and one database per
# service, each role owning only its database (the services share no tables; they refer to each
# other by href). Each password is read from that service's secret file, never from this script,
# an environment variable or a URL; psql quotes it (:'password').
set -eu
for service in valuechains portfolio principles; do
    password_file="/run/secrets/${service}_database_password"
    [ -s "$password_file" ] || { echo "postgres-init: $password_file is missing or empty" >&2; exit 1; }
    psql --set ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        --set role="$service" --set password="$(cat "$password_file")" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password';
CREATE DATABASE :"role" OWNER :"role";
SQL
done
