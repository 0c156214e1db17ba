"""Follow-up use cases: plan from the playbook, complete, snooze, skip, reopen, add.

Each function adds and flushes; the caller commits once.
"""

from datetime import date, time

from sqlalchemy import func

from . import playbook
from .clock import local_today, utcnow
from .db import db
from .models import (
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    Interview,
    Participant,
    User,
)

OPEN = FollowUpStatus.OPEN


def settings_of(user: User) -> playbook.Settings:
    """The user's playbook numbers."""
    return playbook.Settings(
        thank_you_after_days=user.thank_you_after_days,
        stale_after_days=user.stale_after_days,
        feedback_after_days=user.feedback_after_days,
        status_check_after_days=user.status_check_after_days,
        first_check_in_days=user.first_check_in_days,
        second_check_in_days=user.second_check_in_days,
        repeat_check_in_days=user.repeat_check_in_days,
    )


def _facts(contact: Contact) -> playbook.PersonFacts:
    interviews = db.session.execute(
        db.select(Interview.id, Interview.held_on, Interview.outcome)
        .join(Participant, Participant.interview_id == Interview.id)
        .where(Participant.contact_id == contact.id)
    ).all()
    last_interaction = db.session.execute(
        db.select(func.max(Interaction.occurred_on)).where(Interaction.contact_id == contact.id)
    ).scalar()
    generated = db.session.execute(
        db.select(FollowUp).where(FollowUp.contact_id == contact.id, FollowUp.generated.is_(True))
    ).scalars()
    return playbook.PersonFacts(
        remind=contact.remind,
        interviews=[playbook.InterviewFacts(i.id, i.held_on, i.outcome) for i in interviews],
        last_interaction_on=last_interaction,
        generated=[
            playbook.FollowUpFacts(f.id, f.kind, f.interview_id, f.due_on, f.status, f.moved)
            for f in generated
        ],
    )


def replan_contact(user: User, contact: Contact) -> None:
    """Bring one person's generated follow-ups in line with the playbook, today."""
    plan = playbook.reconcile(settings_of(user), local_today(user.timezone), _facts(contact))
    for ident in plan.cancel:
        db.session.delete(db.session.get(FollowUp, ident))
    organisation_id = _organisation_of(contact)
    for planned in plan.create:
        interview = (
            db.session.get(Interview, planned.interview_id) if planned.interview_id else None
        )
        db.session.add(
            FollowUp(
                user_id=user.id,
                contact_id=contact.id,
                organisation_id=interview.organisation_id if interview else organisation_id,
                interview_id=planned.interview_id,
                kind=planned.kind,
                generated=True,
                due_on=planned.due_on,
            )
        )
    db.session.flush()


def after_interview_saved(user: User, interview: Interview, removed: list[Contact]) -> None:
    """Re-plan everyone met there; people taken off the interview lose what it planned."""
    for contact in removed:
        stale = db.session.execute(
            db.select(FollowUp).where(
                FollowUp.contact_id == contact.id,
                FollowUp.interview_id == interview.id,
                FollowUp.status == OPEN,
            )
        ).scalars()
        for follow_up in stale:
            db.session.delete(follow_up)
        db.session.flush()
        replan_contact(user, contact)
    for participant in interview.participants:
        replan_contact(user, participant.contact)


def _organisation_of(contact: Contact) -> int | None:
    position = contact.current_position
    return position.organisation_id if position else None


def _touch(follow_up: FollowUp) -> None:
    """A change the calendar must see: bump the revision and the change time."""
    follow_up.revision += 1
    follow_up.changed_at = utcnow()


def log_interaction(
    user: User, contact: Contact, kind: InteractionKind, occurred_on: date, note: str = ""
) -> Interaction:
    """Record contact with a person: what is due for them is done, the next check-in planned."""
    interaction = Interaction(
        user_id=user.id,
        contact_id=contact.id,
        organisation_id=_organisation_of(contact),
        kind=kind,
        occurred_on=occurred_on,
        note=note,
    )
    db.session.add(interaction)
    today = local_today(user.timezone)
    due = db.session.execute(
        db.select(FollowUp).where(
            FollowUp.contact_id == contact.id, FollowUp.status == OPEN, FollowUp.due_on <= today
        )
    ).scalars()
    for follow_up in due:
        _close(follow_up, FollowUpStatus.DONE)
    db.session.flush()
    replan_contact(user, contact)
    return interaction


def _close(follow_up: FollowUp, status: FollowUpStatus) -> None:
    follow_up.status = status
    follow_up.completed_at = utcnow()
    _touch(follow_up)


def complete(
    user: User,
    follow_up: FollowUp,
    note: str = "",
    kind: InteractionKind = InteractionKind.MESSAGE,
    log: bool = False,
) -> None:
    """Done. With `log` (or a note), it also records the interaction it stands for."""
    if follow_up.status is not OPEN:
        return
    _close(follow_up, FollowUpStatus.DONE)
    follow_up.note = note or follow_up.note
    db.session.flush()
    contact = follow_up.contact
    if contact is not None and (log or note):
        log_interaction(user, contact, kind, local_today(user.timezone), note)
    elif contact is not None:
        replan_contact(user, contact)


def skip(user: User, follow_up: FollowUp) -> None:
    if follow_up.status is not OPEN:
        return
    _close(follow_up, FollowUpStatus.SKIPPED)
    db.session.flush()
    if follow_up.contact is not None:
        replan_contact(user, follow_up.contact)


def snooze(follow_up: FollowUp, until: date) -> None:
    """Move an open follow-up to a later date of the user's choosing."""
    follow_up.due_on = until
    follow_up.moved = True
    _touch(follow_up)
    db.session.flush()


def reopen(user: User, follow_up: FollowUp) -> None:
    """Undo Done or Skip; the reopened one counts as the user's choice of date."""
    if follow_up.status is OPEN:
        return
    follow_up.status = OPEN
    follow_up.completed_at = None
    follow_up.moved = True
    _touch(follow_up)
    db.session.flush()
    if follow_up.contact is not None and follow_up.kind is FollowUpKind.CHECK_IN:
        replan_contact(user, follow_up.contact)


def add_manual(
    user: User,
    title: str,
    due_on: date,
    due_time: time | None = None,
    contact: Contact | None = None,
    organisation_id: int | None = None,
    note: str = "",
) -> FollowUp:
    follow_up = FollowUp(
        user_id=user.id,
        contact_id=contact.id if contact else None,
        organisation_id=organisation_id or (_organisation_of(contact) if contact else None),
        kind=FollowUpKind.MANUAL,
        generated=False,
        title=title,
        due_on=due_on,
        due_time=due_time,
        note=note,
    )
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def edit(follow_up: FollowUp, title: str, due_on: date, due_time: time | None, note: str) -> None:
    """Change text or date; a change of date is the user's choice, kept by re-plans."""
    changed = (follow_up.title, follow_up.due_on, follow_up.due_time, follow_up.note) != (
        title,
        due_on,
        due_time,
        note,
    )
    if not changed:
        return
    if due_on != follow_up.due_on:
        follow_up.moved = True
    follow_up.title, follow_up.due_on, follow_up.due_time, follow_up.note = (
        title,
        due_on,
        due_time,
        note,
    )
    _touch(follow_up)
    db.session.flush()
