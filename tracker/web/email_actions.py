"""Links in emails that work without logging in: act on one follow-up, or unsubscribe.

A GET only shows what would happen (mail scanners fetch every link); the POST acts. The
signed token is the permission, so these views never look at who is logged in.
"""

from datetime import timedelta

from flask import Blueprint, render_template

from .. import agenda, csrf, followups
from ..clock import local_today
from ..dates import short_date
from ..db import db
from ..forms import ConfirmForm
from ..models import FollowUp, FollowUpStatus, User
from ..security import log_denied
from ..tokens import InvalidToken, read_action_token, read_unsubscribe_token

bp = Blueprint("email_actions", __name__, url_prefix="/email")
SNOOZE_DAYS = 7
# What each action says before (the question, the button) and after.
WORDS = {
    "done": ("Mark “{summary}” as done?", "Mark as done", "“{summary}” is done."),
    "reached-out": (
        "Log that you reached out, and mark “{summary}” as done?",
        "Yes, I reached out",
        "Logged that you reached out. “{summary}” is done.",
    ),
    "snooze": (
        "Snooze “{summary}” for a week, until {until}?",
        "Snooze 1 week",
        "“{summary}” is snoozed until {until}.",
    ),
}


def _invalid():
    log_denied("email link invalid or expired")
    return render_template("email_actions/invalid.html"), 404


def _act(user: User, follow_up: FollowUp, action: str, until) -> None:
    if action == "done":
        followups.complete(user, follow_up)
    elif action == "reached-out":
        followups.complete(user, follow_up, log=True)
    else:
        followups.snooze(follow_up, until)


@bp.route("/action/<token>", methods=["GET", "POST"])
def action(token: str):
    try:
        claim = read_action_token(token)
    except InvalidToken:
        return _invalid()
    follow_up = db.session.get(FollowUp, claim.follow_up_id)
    if follow_up is None:
        return _invalid()
    if follow_up.revision != claim.revision or follow_up.status is not FollowUpStatus.OPEN:
        return render_template("email_actions/used.html"), 410
    user = db.session.get(User, follow_up.user_id)
    today = local_today(user.timezone)
    until = today + timedelta(days=SNOOZE_DAYS)
    summary = agenda.describe([follow_up], today)[0].summary
    question, button, outcome = (
        text.format(summary=summary, until=short_date(until, today)) for text in WORDS[claim.action]
    )
    form = ConfirmForm()
    if form.validate_on_submit():
        _act(user, follow_up, claim.action, until)
        db.session.commit()
        return render_template("email_actions/done.html", outcome=outcome)
    return render_template(
        "email_actions/confirm.html", form=form, question=question, button=button
    )


def _subscriber(token: str) -> User | None:
    try:
        return db.session.get(User, read_unsubscribe_token(token))
    except InvalidToken:
        return None


@bp.get("/unsubscribe/<token>")
def unsubscribe_confirm(token: str):
    if _subscriber(token) is None:
        return _invalid()
    return render_template("email_actions/unsubscribe.html")


@bp.post("/unsubscribe/<token>")
@csrf.exempt
def unsubscribe(token: str):
    """RFC 8058 one-click: the mail provider posts with no cookie and no CSRF token."""
    user = _subscriber(token)
    if user is None:
        return _invalid()
    user.digest_enabled = False
    db.session.commit()
    return render_template("email_actions/unsubscribed.html")
