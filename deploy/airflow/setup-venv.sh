#!/usr/bin/env bash
# Create .venv-airflow (Airflow 3, apart from the project's venv) from requirements-airflow.txt.
# Idempotent and quiet: a stamp keyed on the pin file's hash; a second run does nothing.
# Env: AIRFLOW_VENV (default .venv-airflow), PYTHON (default python3.11).
set -euo pipefail
cd "$(dirname "$0")/../.."

venv=${AIRFLOW_VENV:-.venv-airflow}
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
stamp="$venv/.installed-$(sha256sum requirements-airflow.txt | cut -c1-16)"
[ -f "$stamp" ] && exit 0

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
echo "installing Airflow into $venv (first time: about 2 minutes)"
log="$venv/install.log"
export PIP_DISABLE_PIP_VERSION_CHECK=1
if ! { "$venv/bin/python" -m pip install --no-deps -r requirements-airflow.txt \
        && "$venv/bin/python" -m pip check \
        && "$venv/bin/python" -c "import airflow.sdk"; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    echo "installing Airflow into $venv failed; full log: $log" >&2
    exit 1
fi
rm -f "$venv"/.installed-*
touch "$stamp"
