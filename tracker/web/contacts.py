"""Contacts: search and list, one contact's page, edit, a move to a new job, delete."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import followups
from ..clock import local_today
from ..contacts import contacts_query, interactions, meetings, record_move
from ..db import db
from ..forms import ConfirmForm, ContactForm, MoveForm
from ..models import Contact
from ..organisations import organisation_names
from . import owned_or_404, page_number

bp = Blueprint("contacts", __name__, url_prefix="/contacts")
SEARCH_MAX = 200


@bp.get("/")
@login_required
def index():
    search = request.args.get("q", "")[:SEARCH_MAX]
    page = db.paginate(
        contacts_query(current_user.id, search),
        page=page_number(request.args.get("page")),
        per_page=current_app.config["PER_PAGE"],
        error_out=False,
    )
    return render_template("contacts/index.html", page=page, search=search)


@bp.get("/<int:contact_id>")
@login_required
def show(contact_id: int):
    contact = owned_or_404(Contact, contact_id)
    return render_template(
        "contacts/show.html",
        contact=contact,
        meetings=meetings(contact),
        interactions=interactions(contact),
        move=MoveForm(),
        organisations=organisation_names(current_user.id),
    )


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
    return (
        render_template(
            "contacts/show.html",
            contact=contact,
            meetings=meetings(contact),
            interactions=interactions(contact),
            move=form,
            organisations=organisation_names(current_user.id),
        ),
        400,
    )


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
