"""The six models. Each package has the same four names: ``train.py`` (data -> fit -> evaluate ->
log -> register through the gate), ``model.py`` (the served object, an MLflow pyfunc),
``evaluate.py`` (metrics on any labelled file) and a config section in ``Settings``."""
