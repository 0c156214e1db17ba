"""The home page: what is due, grouped by when, and the latest interviews."""

from flask import Blueprint, render_template
from flask_login import current_user

from .. import agenda
from ..clock import local_today
from ..db import db
from ..models import Interview, Participant

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    if not current_user.is_authenticated:
        return render_template("home/welcome.html")
    today = local_today(current_user.timezone)
    shown = agenda.agenda(current_user, today)
    sections = [
        ("overdue", "Overdue", shown.overdue, ""),
        ("today", "Due today", shown.today, "Nothing else due today."),
        ("week", "This week", shown.this_week, "Nothing more this week."),
        ("later", "Later", shown.later, "Nothing planned further out."),
    ]
    # Described together: the context they need is read in one go for every section.
    every = [f for _, _, items, _ in sections for f in items]
    described = {item.follow_up.id: item for item in agenda.describe(every, today)}
    sections = [
        (key, heading, [described[f.id] for f in items], empty, key in shown.more)
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
    return render_template("home/index.html", agenda=shown, sections=sections, recent=recent)
