"""The app database: SQLAlchemy 2 models, engines and sessions, Alembic migrations, a repository.

SQLite (``<home>/nivesh.db``) by default, PostgreSQL (``postgresql+psycopg://``) in production;
the same migrations serve both. Importing this package connects to nothing::

    from nivesh_ml.db import make_engine, session_scope, upgrade
    from nivesh_ml.db import repository

    upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    with session_scope(engine) as session:
        prediction_id = repository.log_prediction(session, model_id=..., ...)
"""

from __future__ import annotations

from nivesh_ml.db import repository
from nivesh_ml.db.migrate import current, downgrade, head, upgrade
from nivesh_ml.db.models import (
    DEPLOYMENT_STATUSES,
    MODEL_STATUSES,
    Base,
    CanaryDecision,
    DriftCheck,
    ModelDeployment,
    ModelPrediction,
    ModelRegistry,
    TrainingDataset,
)
from nivesh_ml.db.session import make_engine, make_session_factory, mask_url, session_scope

__all__ = [
    "DEPLOYMENT_STATUSES",
    "MODEL_STATUSES",
    "Base",
    "CanaryDecision",
    "DriftCheck",
    "ModelDeployment",
    "ModelPrediction",
    "ModelRegistry",
    "TrainingDataset",
    "current",
    "downgrade",
    "head",
    "make_engine",
    "make_session_factory",
    "mask_url",
    "repository",
    "session_scope",
    "upgrade",
]
