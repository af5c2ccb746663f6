"""POST /feedback."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy.exc import SQLAlchemyError

from nivesh_ml.db import repository, session_scope
from nivesh_ml.errors import DatabaseError, DataError
from nivesh_ml.log import get_logger
from nivesh_ml.pii import redact_obj
from nivesh_ml.serving.deps import PredictKey, StateDep
from nivesh_ml.serving.errors import UnknownPredictionError
from nivesh_ml.serving.routes._docs import PREDICT_ERRORS
from nivesh_ml.serving.schemas import ErrorBody, FeedbackRequest
from nivesh_ml.serving.state import ServerState

router = APIRouter(tags=["feedback"])
log = get_logger(__name__)

# A prediction made a moment ago may still be in the log's queue: wait this long for it.
QUEUED_WAIT_S = 2.0


def _record(state: ServerState, prediction_id: uuid.UUID, actual: Any) -> bool:
    try:
        with session_scope(state.engine()) as session:
            repository.record_feedback(session, prediction_id, actual)
    except DataError:
        return False
    except SQLAlchemyError as error:
        log.warning("cannot record feedback: %s", error)
        raise DatabaseError("the app database cannot record feedback now; try again") from None
    return True


@router.post(
    "/feedback",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**PREDICT_ERRORS, 404: {"model": ErrorBody, "description": "No prediction has that id."}},
)
def feedback(body: FeedbackRequest, state: StateDep, _key: PredictKey) -> None:
    """Record the actual outcome of a prediction, by its ``prediction_id``."""
    actual = redact_obj(body.actual)
    if _record(state, body.prediction_id, actual):
        return
    state.predlog.flush(QUEUED_WAIT_S)
    if not _record(state, body.prediction_id, actual):
        raise UnknownPredictionError(f"no prediction with id {body.prediction_id}")
