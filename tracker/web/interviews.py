"""Log, view, edit and delete interviews with the people met."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from wtforms import SelectChoice

from ..clock import local_today
from ..dates import local_time
from ..db import db
from ..forms import ConfirmForm, InterviewForm
from ..interviews import (
    InterviewInput,
    PersonInput,
    delete_interview,
    known_people,
    save_interview,
)
from ..models import Interview, Organisation, Outcome, Participant, ParticipantRole, Stage
from ..organisations import find_organisation, organisation_names
from . import owned_or_404

bp = Blueprint("interviews", __name__, url_prefix="/interviews")

BLANK_ROWS = 1


def _offer_known_people(form: InterviewForm, interview: Interview | None) -> None:
    """Fill each row's "met before" picker: people known at the chosen organisation, and
    those already in the interview (so moving it to another organisation keeps them)."""
    organisation = find_organisation(current_user.id, form.organisation.data or "")
    people = {p.contact_id: p.contact for p in interview.participants} if interview else {}
    if organisation is not None:
        people.update((c.id, c) for c in known_people(current_user.id, organisation.id))
    choices = [SelectChoice(0, "Someone new")]
    for contact in sorted(people.values(), key=lambda c: (c.name.casefold(), c.id)):
        choices.append(SelectChoice(contact.id, contact.name))
    for entry in form.people:
        entry.form.contact_id.choices = choices


def _input_from(form: InterviewForm) -> InterviewInput:
    return InterviewInput(
        organisation=form.organisation.data,
        role=form.role.data,
        held_on=form.held_on.data,
        start_time=form.start_time.data,
        stage=Stage(form.stage.data),
        outcome=Outcome(form.outcome.data),
        interest=form.interest.data,
        notes=form.notes.data or "",
        people=[
            PersonInput(
                contact_id=row.contact_id.data or None,
                name=row.name.data or "",
                title=row.title.data or "",
                email=row.email.data or "",
                phone=row.phone.data or "",
                linkedin_url=row.linkedin_url.data or "",
                role=ParticipantRole(row.role.data),
                topics=row.topics.data or "",
            )
            for row in form.people_rows()
        ],
    )


def _handle(form: InterviewForm, interview: Interview | None):
    """Shared by new and edit: add a row, or validate and save everything at once."""
    _offer_known_people(form, interview)
    if request.method == "POST" and form.add_person.data:
        if len(form.people) < form.people.max_entries:  # beyond it, WTForms raises
            form.people.append_entry()
        _offer_known_people(form, interview)
        return None
    if form.validate_on_submit():
        saved = save_interview(current_user, _input_from(form), interview)
        db.session.commit()
        flash("Interview saved." if interview else "Interview logged.", "success")
        return redirect(url_for("interviews.show", interview_id=saved.id))
    return None


def _render(form: InterviewForm, interview: Interview | None):
    status = 400 if form.errors else 200
    return (
        render_template(
            "interviews/form.html",
            form=form,
            interview=interview,
            organisations=organisation_names(current_user.id),
        ),
        status,
    )


@bp.route("/new", methods=["GET", "POST"])
@login_required
def new():
    form = InterviewForm()
    if request.method == "GET":
        form.held_on.data = local_today(current_user.timezone)
        organisation_id = request.args.get("organisation", type=int)
        if organisation_id:
            form.organisation.data = owned_or_404(Organisation, organisation_id).name
        while len(form.people) < BLANK_ROWS:
            form.people.append_entry()
    return _handle(form, None) or _render(form, None)


def _with_people() -> tuple:
    """Load options for an interview page: its organisation and everyone met, with names."""
    return (
        db.joinedload(Interview.organisation),
        db.selectinload(Interview.participants).joinedload(Participant.contact),
    )


@bp.get("/<int:interview_id>")
@login_required
def show(interview_id: int):
    interview = owned_or_404(Interview, interview_id, *_with_people())
    return render_template("interviews/show.html", interview=interview)


@bp.route("/<int:interview_id>/edit", methods=["GET", "POST"])
@login_required
def edit(interview_id: int):
    interview = owned_or_404(Interview, interview_id, *_with_people())
    form = InterviewForm()
    if request.method == "GET":
        form = InterviewForm(
            formdata=None,
            organisation=interview.organisation.name,
            role=interview.role,
            held_on=interview.held_on,
            start_time=local_time(interview.starts_at, current_user.timezone)
            if interview.starts_at
            else None,
            stage=interview.stage.value,
            outcome=interview.outcome.value,
            interest=interview.interest,
            notes=interview.notes,
            people=[
                {
                    "contact_id": p.contact_id,
                    "name": p.contact.name,
                    "role": p.role.value,
                    "topics": p.topics,
                }
                for p in interview.participants
            ]
            or [{}],
        )
    return _handle(form, interview) or _render(form, interview)


@bp.route("/<int:interview_id>/delete", methods=["GET", "POST"])
@login_required
def delete(interview_id: int):
    interview = owned_or_404(Interview, interview_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        organisation_id = interview.organisation_id
        delete_interview(current_user, interview)
        db.session.commit()
        flash("Interview deleted. The people you met stay in your contacts.", "success")
        return redirect(url_for("organisations.show", organisation_id=organisation_id))
    return render_template(
        "confirm_delete.html",
        form=form,
        title=f"Delete the {interview.role} interview at {interview.organisation.name}?",
        consequences=[
            "The interview, its notes and its list of people met.",
            "Follow-ups planned from this interview.",
        ],
        keeps="The people you met stay in your contacts.",
        cancel=url_for("interviews.show", interview_id=interview.id),
    )
