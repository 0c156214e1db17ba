"""The home page: what is due, grouped by when, and the latest interviews."""

from flask import Blueprint, render_template
from flask_login import current_user

from .. import followups
from ..clock import local_today
from ..db import db
from ..models import Interview, Participant

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("home/welcome.html")
    today = local_today(current_user.timezone)
    agenda = followups.agenda(current_user, today)
    sections = [
        ("overdue", "Overdue", agenda.overdue, ""),
        ("today", "Due today", agenda.today, "Nothing else due today."),
        ("week", "This week", agenda.this_week, "Nothing more this week."),
        ("later", "Later", agenda.later, "Nothing planned further out."),
    ]
    sections = [
        (key, heading, followups.describe(items, today), empty, key in agenda.more)
        for key, heading, items, empty in sections
        if items or key != "overdue"
    ]
    recent = (
        db.session.execute(
            db.select(Interview)
            .filter_by(user_id=current_user.id)
            .options(
                db.joinedload(Interview.organisation),
                db.selectinload(Interview.participants).joinedload(Participant.contact),
            )
            .order_by(Interview.held_on.desc(), Interview.id.desc())
            .limit(5)
        )
        .scalars()
        .all()
    )
    return render_template("home/index.html", agenda=agenda, sections=sections, recent=recent)
