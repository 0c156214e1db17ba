"""Organisations: the list, one organisation's interviews and people, edit and delete."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from .. import agenda
from ..clock import local_today
from ..db import db
from ..forms import ConfirmForm, OrganisationForm
from ..interviews import ListedInterview, interviews_at
from ..models import Organisation, ParticipantRole
from ..organisations import (
    delete_organisation,
    interactions_at,
    people_at,
    rename_organisation,
    summarise,
    summary_from,
)
from . import owned_or_404, page_number, paginate
from .kept_pages import kept_page

bp = Blueprint("organisations", __name__, url_prefix="/organisations")


@bp.get("/")
@login_required
@kept_page
def index():
    page = paginate(
        db.select(Organisation)
        .filter_by(user_id=current_user.id)
        .order_by(Organisation.name, Organisation.id),
        page_number(request.args.get("page")),
        current_app.config["PER_PAGE"],
    )
    return render_template(
        "organisations/index.html", page=page, summaries=summarise(list(page.items))
    )


@bp.get("/<int:organisation_id>")
@login_required
@kept_page
def show(organisation_id: int):
    organisation = owned_or_404(Organisation, organisation_id)
    interviews = interviews_at(organisation.id)
    roles: dict[int, list[tuple[ListedInterview, ParticipantRole]]] = {}
    for interview in interviews:
        for person in interview.people:
            roles.setdefault(person.contact_id, []).append((interview, person.role))
    interactions = interactions_at(organisation.id)
    people = people_at(organisation)
    return render_template(
        "organisations/show.html",
        organisation=organisation,
        summary=summary_from(organisation, interviews, people, interactions),
        interviews=interviews,
        people=people,
        roles=roles,
        interactions=interactions,
        follow_ups=agenda.describe(
            agenda.for_organisation(organisation.id), local_today(current_user.timezone)
        ),
    )


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int):
    organisation = owned_or_404(Organisation, organisation_id)
    form = OrganisationForm(obj=organisation)
    if form.validate_on_submit():
        if rename_organisation(organisation, form.name.data):
            organisation.website = form.website.data or ""
            organisation.notes = form.notes.data or ""
            db.session.commit()
            flash("Organisation saved.", "success")
            return redirect(url_for("organisations.show", organisation_id=organisation.id))
        form.name.errors.append("You already have an organisation with this name.")
    status = 400 if form.errors else 200
    return render_template("organisations/edit.html", form=form, organisation=organisation), status


@bp.route("/<int:organisation_id>/delete", methods=["GET", "POST"])
@login_required
def delete(organisation_id: int):
    organisation = owned_or_404(Organisation, organisation_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        name = organisation.name
        delete_organisation(current_user, organisation)
        db.session.commit()
        flash(f"{name} deleted.", "success")
        return redirect(url_for("organisations.index"))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=f"Delete {organisation.name}?",
        consequences=[
            "Every interview logged at this organisation.",
            "The record of who worked here, and the interactions and follow-ups "
            "logged for the organisation.",
        ],
        keeps="The people stay in your contacts, with their other jobs.",
        cancel=url_for("organisations.show", organisation_id=organisation.id),
    )
