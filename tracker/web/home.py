"""The home page: what is due, grouped by when, and the latest interviews."""

from flask import Blueprint, render_template
from flask_login import current_user

from .. import agenda, interviews
from ..clock import local_today
from .kept_pages import kept_page

bp = Blueprint("home", __name__)


@bp.get("/")
@kept_page
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
    recent = interviews.latest_interviews(current_user.id)
    return render_template("home/index.html", agenda=shown, sections=sections, recent=recent)
