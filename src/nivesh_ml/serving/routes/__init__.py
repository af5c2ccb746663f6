"""The server's routers: one per model, and the operational ones."""

from __future__ import annotations

from fastapi import APIRouter

from nivesh_ml.serving.routes import (
    admin,
    anomaly,
    assistant,
    credit_risk,
    feedback,
    health,
    intent,
    models,
    ner,
    spending,
)

__all__ = ["ROUTERS"]

ROUTERS: tuple[APIRouter, ...] = (
    intent.router,
    ner.router,
    spending.router,
    anomaly.router,
    credit_risk.router,
    assistant.router,
    feedback.router,
    health.router,
    models.router,
    admin.router,
)
