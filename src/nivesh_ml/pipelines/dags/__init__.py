"""Airflow DAGs built from the retraining steps (see docs/AIRFLOW.md).

Two halves, one per interpreter:

- ``nivesh_dags.py`` is the DAG file. Airflow (its own venv, ``.venv-airflow``) parses it; it
  imports Airflow only, never ``nivesh_ml``.
- ``tasks.py`` is what each task runs, in the project's venv (``@task.external_python``): one
  retraining step, one model's drift check, or the feature refresh, with settings from the
  ``NIVESH_*`` environment.

Only small JSON (the step context, the drift verdict) crosses between them, as XCom.
"""
