"""GET /healthz for load balancers and monitoring: the database answers, the scheduler ticks.

No login and no user data: only whether each part works and how long ago the scheduler
last finished sending. 503 when the database does not answer, or when no scheduler has
sent the outbox successfully for three of its intervals (none running, or it is failing).
"""

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..clock import utcnow
from ..db import db
from ..models import JobRun

bp = Blueprint("health", __name__)
# The job that runs every SCHEDULER_TICK_SECONDS (tracker.scheduler.configure).
TICK_JOB = "dispatch-outbox"
MISSED_TICKS = 3


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        last_tick = db.session.execute(
            db.select(JobRun.last_success_at).where(JobRun.name == TICK_JOB)
        ).scalar()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.warning("healthz: the database does not answer", exc_info=True)
        return _answer({"status": "unavailable", "database": "unreachable"}, 503)
    db.session.rollback()  # nothing was written; end the read transaction now
    limit = MISSED_TICKS * current_app.config["SCHEDULER_TICK_SECONDS"]
    age = None if last_tick is None else max(0, round((utcnow() - last_tick).total_seconds()))
    ticking = age is not None and age <= limit
    body = {
        "status": "ok" if ticking else "unavailable",
        "database": "ok",
        "scheduler": "ok" if ticking else ("never ran" if age is None else "late"),
        "last_tick_seconds_ago": age,
    }
    return _answer(body, 200 if ticking else 503)


def _answer(body: dict, status: int) -> Response:
    response = jsonify(body)
    response.status_code = status
    response.content_type = "application/json; charset=utf-8"
    return response
