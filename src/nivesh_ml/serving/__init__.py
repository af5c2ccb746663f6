"""The model server: FastAPI over the registry's champions, with auth, limits, PII redaction,
canary/shadow traffic, a durable prediction log and Prometheus metrics.

::

    from nivesh_ml.serving import create_app, serve

    app = create_app(settings)   # for tests and ASGI servers
    serve(settings)              # uvicorn on settings.host:settings.port

API keys: :func:`create_key`, :func:`revoke_key`, :func:`list_keys`.
"""

from __future__ import annotations

from nivesh_ml.serving.app import create_app, serve
from nivesh_ml.serving.config import ServingConfig
from nivesh_ml.serving.keys import create_key, list_keys, revoke_key

__all__ = ["ServingConfig", "create_app", "create_key", "list_keys", "revoke_key", "serve"]
