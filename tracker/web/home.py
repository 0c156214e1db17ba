"""The home page: what to do next, and the latest interviews."""

from flask import Blueprint, render_template
from flask_login import current_user

from ..db import db
from ..models import Interview, Participant

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("home/welcome.html")
    recent = (
        db.session.execute(
            db.select(Interview)
            .filter_by(user_id=current_user.id)
            .options(
                db.joinedload(Interview.organisation),
                db.selectinload(Interview.participants).joinedload(Participant.contact),
            )
            .order_by(Interview.held_on.desc(), Interview.id.desc())
            .limit(10)
        )
        .scalars()
        .all()
    )
    return render_template("home/index.html", recent=recent)
