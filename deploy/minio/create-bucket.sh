#!/bin/sh
# One-shot job of deploy/docker-compose.yml (image minio/mc): the bucket MLflow keeps its artefacts in,
# private, and a MinIO user that may use that bucket and nothing else (the MLflow server's key).
# Safe to re-run. Without Docker: the same commands with the `mc` client, MINIO_URL=http://127.0.0.1:9000.
set -eu

: "${MINIO_URL:=http://minio:9000}"
: "${MINIO_ROOT_USER:?set MINIO_ROOT_USER}"
: "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD}"
: "${MLFLOW_S3_ACCESS_KEY:?set MLFLOW_S3_ACCESS_KEY}"
: "${MLFLOW_S3_SECRET_KEY:?set MLFLOW_S3_SECRET_KEY}"
POLICY_FILE="${POLICY_FILE:-$(dirname "$0")/mlflow-policy.json}"

mc alias set local "$MINIO_URL" "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null
mc mb --ignore-existing local/mlflow
mc anonymous set none local/mlflow
mc admin policy create local mlflow-artifacts "$POLICY_FILE"
mc admin user add local "$MLFLOW_S3_ACCESS_KEY" "$MLFLOW_S3_SECRET_KEY"
if ! mc admin user info local "$MLFLOW_S3_ACCESS_KEY" | grep -q mlflow-artifacts; then
  mc admin policy attach local mlflow-artifacts --user "$MLFLOW_S3_ACCESS_KEY"
fi
echo "minio: bucket mlflow ready; user $MLFLOW_S3_ACCESS_KEY may read and write it"
