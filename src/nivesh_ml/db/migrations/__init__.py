"""Alembic migrations of the app database, shipped inside the package (see ``nivesh_ml.db.migrate``)."""
