"""An account with `rows` of everything a page lists, for the scale tests.

The first organisation, interview and person take part in everything, so their own pages
list `rows` of each thing too (tests/test_queries.py, tests/test_scale_plans.py).
"""

from datetime import date, timedelta

from helpers import utc

from tracker.db import db
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    Interview,
    JobRun,
    Organisation,
    Outbox,
    OutboxStatus,
    Outcome,
    Participant,
    ParticipantRole,
    Position,
    Stage,
)

NOW = utc(2026, 11, 21, 9, 0)
TODAY = date(2026, 11, 21)


def fill(app, user, rows: int) -> dict[str, int]:
    """`rows` of everything: organisations, people with two jobs, interviews, notes, emails.

    The first organisation, interview and person take part in everything, so their own
    pages list `rows` of each thing too. Returns the ids of those first rows.
    """
    with app.app_context():
        organisations = [
            Organisation(user_id=user.id, name=f"Org {n:02d}", name_key=f"org {n:02d}")
            for n in range(rows)
        ]
        db.session.add_all(organisations)
        db.session.flush()
        first = organisations[0]
        people = [Contact(user_id=user.id, name=f"Person {n:02d}") for n in range(rows)]
        db.session.add_all(people)
        db.session.flush()
        for n, person in enumerate(people):
            db.session.add_all(
                [
                    Position(contact_id=person.id, organisation_id=first.id, title=f"Title {n}"),
                    Position(
                        contact_id=person.id,
                        organisation_id=organisations[n].id,
                        title="Before",
                        started_on=date(2024, 1, 1),
                        ended_on=date(2025, 1, 1),
                    ),
                ]
            )
        interviews = [
            Interview(
                user_id=user.id,
                organisation_id=first.id if n % 2 == 0 else organisations[n].id,
                role=f"Role {n}",
                held_on=TODAY - timedelta(days=n + 1),
                stage=Stage.ONSITE,
                outcome=Outcome.DECLINED,
                interest=3,
            )
            for n in range(rows)
        ]
        db.session.add_all(interviews)
        db.session.flush()
        him = people[0]
        for n, organisation in enumerate(organisations[1:]):  # a long career
            db.session.add(
                Position(
                    contact_id=him.id,
                    organisation_id=organisation.id,
                    title=f"Job {n}",
                    started_on=date(2000 + n % 20, 1, 1),
                    ended_on=date(2001 + n % 20, 1, 1),
                )
            )
        for n, interview in enumerate(interviews):
            # The first interview met everyone; the first person was at every interview.
            db.session.add(
                Participant(
                    interview_id=interview.id,
                    contact_id=him.id,
                    role=ParticipantRole.RECRUITER,
                    topics=f"Topic {n}",
                )
            )
            if n:
                db.session.add(Participant(interview_id=interviews[0].id, contact_id=people[n].id))
        for n, person in enumerate(people):
            interview = interviews[n]
            whens = (-3, 0, 3, 40)  # overdue, today, this week, later
            db.session.add_all(
                [
                    FollowUp(
                        user_id=user.id,
                        contact_id=person.id if n % 4 else him.id,
                        organisation_id=first.id,
                        interview_id=interview.id,
                        kind=FollowUpKind.CHECK_IN,
                        due_on=TODAY + timedelta(days=whens[n % 4] + n // 4),
                    ),
                    FollowUp(
                        user_id=user.id,
                        contact_id=him.id,
                        organisation_id=organisations[n].id,
                        kind=FollowUpKind.MANUAL,
                        generated=False,
                        title=f"Manual {n}",
                        due_on=TODAY - timedelta(days=30 + n),
                        status=FollowUpStatus.DONE,
                        completed_at=NOW - timedelta(days=n),
                    ),
                    Interaction(
                        user_id=user.id,
                        contact_id=him.id if n % 2 else person.id,
                        organisation_id=first.id,
                        kind=InteractionKind.EMAIL,
                        occurred_on=TODAY - timedelta(days=n),
                        note=f"Note {n}",
                    ),
                ]
            )
            db.session.add(
                Outbox(
                    user_id=user.id,
                    key=f"test:{user.id}:{n}",
                    kind="test",
                    recipient=user.email,
                    subject=f"Email {n}",
                    message="Subject: x\r\n\r\nx\r\n",
                    message_id=f"<{user.id}.{n}@example.com>",
                    status=OutboxStatus.FAILED if n % 3 == 0 else OutboxStatus.SENT,
                    attempts=1,
                    last_error="550 no" if n % 3 == 0 else "",
                    created_at=NOW - timedelta(minutes=n),
                )
            )
        if not db.session.get(JobRun, "dispatch-outbox"):
            db.session.add(JobRun(name="dispatch-outbox", last_run_at=NOW, last_success_at=NOW))
        db.session.commit()
        return {
            "organisation": first.id,
            "contact": him.id,
            "interview": interviews[0].id,
            "outbox": db.session.execute(
                db.select(Outbox.id).filter_by(user_id=user.id).limit(1)
            ).scalar(),
        }
