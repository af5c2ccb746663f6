#!/usr/bin/env bash
# One database per service of the stack, each owned by a login role of the same name:
#   mlflow   MLflow's backend store       password from MLFLOW_DB_PASSWORD
#   nivesh   the app DB (nivesh-ml)       password from NIVESH_DB_PASSWORD
#   airflow  Airflow's metadata DB        password from AIRFLOW_DB_PASSWORD
# No role may connect to another's database. Safe to re-run: it creates what is missing and resets the
# passwords. The postgres image runs it once, on an empty data directory (/docker-entrypoint-initdb.d).
# Without Docker (docs/DEPLOY_WITHOUT_DOCKER.md), as a superuser:
#   PGHOST=127.0.0.1 POSTGRES_USER=postgres MLFLOW_DB_PASSWORD=... NIVESH_DB_PASSWORD=... \
#   AIRFLOW_DB_PASSWORD=... bash deploy/postgres/initdb.d/10-databases.sh
# POSTGRES_APP_DATABASES overrides the list (names of lowercase letters, digits and _).
set -euo pipefail

create_database() {
  local name=$1 password=$2
  psql --no-psqlrc -v ON_ERROR_STOP=1 --quiet \
    --username "${POSTGRES_USER:-postgres}" --dbname "${POSTGRES_DB:-postgres}" \
    --set name="$name" --set password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN PASSWORD %L', :'name', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name') \gexec
SQL
}

for name in ${POSTGRES_APP_DATABASES:-mlflow nivesh airflow}; do
  if [[ ! $name =~ ^[a-z][a-z0-9_]*$ ]]; then
    echo "initdb: database name '$name' is not lowercase letters, digits and _" >&2
    exit 1
  fi
  variable="${name^^}_DB_PASSWORD"
  if [[ -z ${!variable:-} ]]; then
    echo "initdb: $variable is empty; set it (see deploy/.env.example)" >&2
    exit 1
  fi
  create_database "$name" "${!variable}"
  echo "initdb: database $name owned by role $name"
done
