"""Experiment tracking and the model registry (MLflow), with lineage into the app DB.

- :mod:`~nivesh_ml.tracking.store`: where MLflow keeps things; experiments and registered names.
- :mod:`~nivesh_ml.tracking.runs`: the one run helper every training pipeline logs through.
- :mod:`~nivesh_ml.tracking.gate` and :mod:`~nivesh_ml.tracking.registry`: the promotion gate,
  aliases ``champion`` / ``challenger``, promote, rollback, list.
- :mod:`~nivesh_ml.tracking.mirror`: alias moves mirrored into the app DB.
- :mod:`~nivesh_ml.tracking.loading`: ``load_model(settings, model, alias)`` for serving.
- :mod:`~nivesh_ml.tracking.relocation`: a copied home's stored locations moved to where it is now.
"""
