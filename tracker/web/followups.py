"""Follow-ups: the actions on each (done, snooze, skip, reopen, edit) and manual ones."""

from datetime import date, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required

from .. import agenda, counts, followups
from ..clock import local_today
from ..db import db
from ..forms import ConfirmForm, DoneForm, FollowUpForm, SnoozeForm
from ..models import Contact, FollowUp, FollowUpKind, FollowUpStatus, InteractionKind, Organisation
from . import owned_or_404, page_number, paginate, safe_next

bp = Blueprint("followups", __name__, url_prefix="/follow-ups")


@bp.app_context_processor
def due_badge() -> dict:
    """The count of what is due, for the navigation (computed only when shown)."""

    def due_now() -> int:
        if not current_user.is_authenticated:
            return 0
        user, today = current_user, local_today(current_user.timezone)
        return counts.kept(
            ("due", user.id),
            (user.feed_version, today),
            lambda: agenda.due_count(user, today, up_to=BADGE_MOST),
        )

    return {"due_now": due_now, "badge_most": BADGE_MOST}


# The navigation badge counts this far ("99+"), however much is due.
BADGE_MOST = 100
SECTION_HEADINGS = {
    "overdue": "Overdue",
    "today": "Due today",
    "week": "This week",
    "later": "Later",
}


@bp.get("/")
@login_required
def index():
    """One section of the home page's agenda, whole, a page at a time."""
    section = request.args.get("section", "overdue")
    if section not in agenda.SECTIONS:
        abort(404)
    today = _today()
    page = paginate(
        agenda.open_in_section(current_user.id, section, today),
        page_number(request.args.get("page")),
        current_app.config["PER_PAGE"],
    )
    return render_template(
        "followups/index.html",
        section=section,
        heading=SECTION_HEADINGS[section],
        page=page,
        items=agenda.describe(page.items, today),
    )


def _today() -> date:
    return local_today(current_user.timezone)


def _back(follow_up: FollowUp):
    default = url_for("home.index") + f"#follow-up-{follow_up.id}"
    return redirect(safe_next(request.form.get("next"), default))


def _label(follow_up: FollowUp) -> str:
    return agenda.describe([follow_up], _today())[0].summary


def _show(follow_up: FollowUp, done: DoneForm | None = None, snooze: SnoozeForm | None = None):
    """The follow-up's page; with a failed form, shown again with its errors."""
    item = agenda.describe([follow_up], _today())[0]
    failed = any(field.errors for form in (done, snooze) if form for field in form)
    page = render_template(
        "followups/show.html",
        item=item,
        done=done or DoneForm(formdata=None),
        snooze=snooze or SnoozeForm(formdata=None),
        confirm=ConfirmForm(formdata=None),
    )
    return page, 400 if failed else 200


@bp.get("/<int:follow_up_id>")
@login_required
def show(follow_up_id: int):
    return _show(owned_or_404(FollowUp, follow_up_id))


@bp.post("/<int:follow_up_id>/done")
@login_required
def done(follow_up_id: int):
    follow_up = owned_or_404(FollowUp, follow_up_id)
    form = DoneForm()
    if not form.validate_on_submit():
        return _show(follow_up, done=form)
    label = _label(follow_up)
    followups.complete(
        current_user, follow_up, note=form.note.data or "", kind=InteractionKind(form.kind.data)
    )
    db.session.commit()
    message = f"Done: {label}."
    upcoming = agenda.next_check_in(follow_up.contact) if follow_up.contact else None
    if upcoming is not None:
        message += f" Next check-in planned for {upcoming.due_on.day} {upcoming.due_on:%b %Y}."
    flash(message, "success")
    return _back(follow_up)


@bp.post("/<int:follow_up_id>/snooze")
@login_required
def snooze(follow_up_id: int):
    follow_up = owned_or_404(FollowUp, follow_up_id)
    if follow_up.status is not FollowUpStatus.OPEN:
        abort(409)
    form = SnoozeForm()
    today = _today()
    valid = form.validate_on_submit()
    if valid and form.period.data == "date" and form.until.data <= today:
        form.until.errors.append("Pick a date after today.")
        valid = False
    if not valid:
        return _show(follow_up, snooze=form)
    until = {
        "week": today + timedelta(days=7),
        "month": today + timedelta(days=30),
        "date": form.until.data,
    }[form.period.data]
    followups.snooze(follow_up, until)
    db.session.commit()
    flash(f"Snoozed until {until.day} {until:%b %Y}: {_label(follow_up)}.", "success")
    return _back(follow_up)


@bp.post("/<int:follow_up_id>/skip")
@login_required
def skip(follow_up_id: int):
    follow_up = owned_or_404(FollowUp, follow_up_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    followups.skip(current_user, follow_up)
    db.session.commit()
    flash(f"Skipped: {_label(follow_up)}.", "success")
    return _back(follow_up)


@bp.post("/<int:follow_up_id>/reopen")
@login_required
def reopen(follow_up_id: int):
    follow_up = owned_or_404(FollowUp, follow_up_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    followups.reopen(current_user, follow_up)
    db.session.commit()
    flash(f"Reopened: {_label(follow_up)}.", "success")
    return _back(follow_up)


@bp.route("/<int:follow_up_id>/edit", methods=["GET", "POST"])
@login_required
def edit(follow_up_id: int):
    follow_up = owned_or_404(FollowUp, follow_up_id)
    form = FollowUpForm(obj=follow_up)
    if form.validate_on_submit():
        if follow_up.kind is FollowUpKind.MANUAL and not form.title.data:
            form.title.errors.append("Say what to do.")
        else:
            followups.edit(
                follow_up,
                form.title.data or "",
                form.due_on.data,
                form.due_time.data,
                form.note.data or "",
            )
            db.session.commit()
            flash(f"Saved: {_label(follow_up)}.", "success")
            return redirect(url_for("followups.show", follow_up_id=follow_up.id))
    status = 400 if form.errors else 200
    return render_template("followups/form.html", form=form, follow_up=follow_up), status


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    contact_id = request.args.get("contact", type=int)
    organisation_id = request.args.get("organisation", type=int)
    contact = owned_or_404(Contact, contact_id) if contact_id else None
    organisation = owned_or_404(Organisation, organisation_id) if organisation_id else None
    if contact is None and organisation is None:
        abort(404)
    form = FollowUpForm()
    if request.method == "GET":
        form.due_on.data = _today() + timedelta(days=7)
    if form.validate_on_submit():
        if not form.title.data:
            form.title.errors.append("Say what to do.")
        else:
            follow_up = followups.add_manual(
                current_user,
                form.title.data,
                form.due_on.data,
                form.due_time.data,
                contact=contact,
                organisation_id=organisation.id if organisation else None,
                note=form.note.data or "",
            )
            db.session.commit()
            flash(
                f"Follow-up added for {follow_up.due_on.day} {follow_up.due_on:%b %Y}.", "success"
            )
            target = (
                url_for("contacts.show", contact_id=contact.id)
                if contact
                else url_for("organisations.show", organisation_id=organisation.id)
            )
            return redirect(target)
    status = 400 if form.errors else 200
    return (
        render_template(
            "followups/form.html",
            form=form,
            follow_up=None,
            contact=contact,
            organisation=organisation,
        ),
        status,
    )
