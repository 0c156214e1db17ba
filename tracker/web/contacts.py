"""Contacts: search and list, one contact's page, edit, a move to a new job, delete."""

from functools import partial

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import agenda, followups
from ..clock import local_today
from ..contacts import (
    contacts_query,
    interactions,
    list_page,
    meetings,
    record_move,
    with_jobs,
)
from ..db import db
from ..forms import ConfirmForm, ContactForm, InteractionForm, MoveForm
from ..models import Contact, InteractionKind, Position
from ..organisations import organisation_names
from . import owned_or_404, page_number, paginate
from .kept_pages import kept_page

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
SEARCH_MAX = 200


@bp.get("/")
@login_required
@kept_page
def index():
    search = request.args.get("q", "")[:SEARCH_MAX]
    number, per_page = page_number(request.args.get("page")), current_app.config["PER_PAGE"]
    if search.strip():
        query = contacts_query(current_user.id, search, per_page + 1 if number == 1 else None)
        page = paginate(query, number, per_page, count_up_to=0)
        rows = with_jobs(page.items)
    else:
        page = paginate(
            partial(contacts_query, current_user.id),
            number,
            per_page,
            count_kept=(("contacts", current_user.id), current_user.feed_version),
            read=partial(list_page, current_user.id),
        )
        rows = page.items
    return render_template("contacts/index.html", page=page, rows=rows, search=search)


def _render(
    contact: Contact,
    move: MoveForm | None = None,
    interaction: InteractionForm | None = None,
    status: int = 200,
):
    """The contact's page; a failed form is shown again with its errors."""
    today = local_today(current_user.timezone)
    if interaction is None:
        interaction = InteractionForm(formdata=None, occurred_on=today)
    return (
        render_template(
            "contacts/show.html",
            contact=contact,
            meetings=meetings(contact),
            interactions=interactions(contact),
            follow_ups=agenda.describe(agenda.for_contact(contact), today),
            move=move or MoveForm(formdata=None),
            interaction=interaction,
            organisations=organisation_names(current_user.id),
        ),
        status,
    )


@bp.get("/<int:contact_id>")
@login_required
def show(contact_id: int):
    jobs = db.selectinload(Contact.positions).joinedload(Position.organisation)
    return _render(owned_or_404(Contact, contact_id, jobs))


@bp.post("/<int:contact_id>/interactions")
@login_required
def log_interaction(contact_id: int):
    """Log an interaction: what is due for them is done, the next check-in planned."""
    contact = owned_or_404(Contact, contact_id)
    form = InteractionForm()
    valid = form.validate_on_submit()
    if valid and form.occurred_on.data > local_today(current_user.timezone):
        form.occurred_on.errors.append("Pick today or a day in the past.")
        valid = False
    if not valid:
        return _render(contact, interaction=form, status=400)
    followups.log_interaction(
        current_user,
        contact,
        InteractionKind(form.kind.data),
        form.occurred_on.data,
        form.note.data or "",
    )
    db.session.commit()
    message = f"Interaction with {contact.name} logged."
    upcoming = agenda.next_check_in(contact)
    if upcoming is not None:
        message += f" Next check-in planned for {upcoming.due_on.day} {upcoming.due_on:%b %Y}."
    flash(message, "success")
    return redirect(url_for("contacts.show", contact_id=contact.id))


@bp.route("/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def edit(contact_id: int):
    contact = owned_or_404(Contact, contact_id)
    form = ContactForm(obj=contact)
    if form.validate_on_submit():
        contact.name = form.name.data
        contact.email = form.email.data or ""
        contact.phone = form.phone.data or ""
        contact.linkedin_url = form.linkedin_url.data or ""
        contact.notes = form.notes.data or ""
        contact.remind = form.remind.data
        followups.replan_contact(current_user, contact)
        db.session.commit()
        flash("Contact saved.", "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    status = 400 if form.errors else 200
    return render_template("contacts/edit.html", form=form, contact=contact), status


@bp.post("/<int:contact_id>/move")
@login_required
def move(contact_id: int):
    contact = owned_or_404(Contact, contact_id)
    form = MoveForm()
    if form.validate_on_submit():
        position = record_move(
            contact,
            form.organisation.data,
            form.title.data or "",
            form.started_on.data,
            local_today(current_user.timezone),
        )
        db.session.commit()
        flash(f"{contact.name} now works at {position.organisation.name}.", "success")
        return redirect(url_for("contacts.show", contact_id=contact.id))
    return _render(contact, move=form, status=400)


@bp.route("/<int:contact_id>/delete", methods=["GET", "POST"])
@login_required
def delete(contact_id: int):
    contact = owned_or_404(Contact, contact_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        db.session.delete(contact)
        db.session.commit()
        flash(f"{contact.name} deleted.", "success")
        return redirect(url_for("contacts.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=f"Delete {contact.name}?",
        consequences=[
            "Their details, job history, interactions and follow-ups.",
            "Their place in the list of people met at each interview.",
        ],
        keeps="The interviews themselves stay.",
        cancel=url_for("contacts.show", contact_id=contact.id),
    )
