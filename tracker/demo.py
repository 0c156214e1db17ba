"""Demo data: eight months of a believable job hunt, written through the real use cases.

Dates are relative to today in the user's zone, so the follow-ups the playbook plans
land where they would for a real user: some thank-yous due, check-ins coming up.
"""

from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import func

from . import followups
from .clock import local_today
from .contacts import record_move
from .db import db
from .interviews import InterviewInput, PersonInput, save_interview
from .models import (
    Contact,
    InteractionKind,
    Interview,
    Organisation,
    Outcome,
    ParticipantRole,
    Stage,
    User,
)

HM = ParticipantRole.HIRING_MANAGER
INT = ParticipantRole.INTERVIEWER
REC = ParticipantRole.RECRUITER


def _person(
    name: str, title: str, role: ParticipantRole, topics: str, linkedin: bool = False
) -> PersonInput:
    handle = name.lower().replace(" ", ".").replace("'", "")
    domain = "example.org" if len(name) % 2 else "example.com"
    return PersonInput(
        name=name,
        title=title,
        email=f"{handle}@{domain}",
        linkedin_url=f"https://www.linkedin.com/in/{handle.replace('.', '-')}" if linkedin else "",
        role=role,
        topics=topics,
    )


@dataclass(frozen=True)
class _Demo:
    days_ago: int
    organisation: str
    role: str
    stage: Stage
    outcome: Outcome
    interest: int
    notes: str
    people: list[PersonInput]
    at: time | None = None


PRIYA = _person("Priya Raman", "Engineering Manager", HM, "Team topologies, on-call", True)
SAM = _person("Sam O'Neill", "Recruiter", REC, "Relocation package")
DIEGO = _person("Diego Alvarez", "Principal Engineer", INT, "Operators, CRDs", True)
GRACE = _person("Grace Kim", "Head of Data", HM, "Lakehouse migration", True)

# fmt: off
INTERVIEWS = [
    _Demo(240, "Northwind Traders", "Backend Engineer", Stage.PHONE_SCREEN, Outcome.REJECTED, 2,
          "Short call; they wanted someone with more Go.",
          [_person("Hannah Lee", "Talent Partner", REC, "Team size, stack"),
           _person("Raj Patel", "Engineering Lead", INT, "Go services, gRPC")], time(10, 0)),
    _Demo(205, "Contoso", "Senior Software Engineer", Stage.PHONE_SCREEN, Outcome.PENDING, 4,
          "Friendly first call.",
          [_person("Marcus Okafor", "Technical Recruiter", REC, "Salary bands, hybrid"), PRIYA],
          time(14, 30)),
    _Demo(190, "Contoso", "Senior Software Engineer", Stage.ONSITE, Outcome.DECLINED, 5,
          "Great team; I declined because of the commute. Keep in touch with Priya.",
          [PRIYA, _person("Tom Becker", "Staff Engineer", INT, "Event sourcing, Kafka", True),
           _person("Aisha Khan", "Product Lead", INT, "Roadmap for the payments team")]),
    _Demo(150, "Fabrikam", "Platform Engineer", Stage.TECHNICAL, Outcome.REJECTED, 3,
          "Live coding on Kubernetes operators; ran out of time.",
          [DIEGO, _person("Mei Tanaka", "Engineer", INT, "Incident reviews")], time(11, 0)),
    _Demo(120, "Globex", "Site Reliability Engineer", Stage.PHONE_SCREEN, Outcome.WITHDREW, 3,
          "Withdrew when the Initech offer looked likely.",
          [SAM, _person("Lena Fischer", "SRE Manager", HM, "Error budgets, on-call pay")]),
    _Demo(95, "Initech", "Software Engineer II", Stage.FINAL, Outcome.OFFER, 4,
          "Offer came two days later.",
          [_person("Laura Schmidt", "Director of Engineering", HM, "Growth path", True),
           _person("Kevin Zhou", "Senior Engineer", INT, "System design: a rate limiter"),
           _person("Nadia Haddad", "HR Business Partner", ParticipantRole.OTHER, "Benefits")],
          time(9, 30)),
    _Demo(60, "Acme Analytics", "Data Engineer", Stage.TECHNICAL, Outcome.DECLINED, 4,
          "Interesting data problems; declined, the salary was too low.",
          [GRACE, _person("Oliver Brown", "Data Engineer", INT, "dbt, Airflow")], time(15, 0)),
    _Demo(30, "Globex", "Senior Backend Engineer", Stage.ONSITE, Outcome.PENDING, 5,
          "Priya works here now and referred me.",
          [SAM, _person("Rachel Green", "VP Engineering", HM, "Culture, remote work", True),
           _person("Ben Carter", "Senior Engineer", INT, "API design")]),
    _Demo(9, "Fabrikam", "Senior Platform Engineer", Stage.PHONE_SCREEN, Outcome.PENDING, 3,
          "A new role; Diego put in a word.",
          [DIEGO, _person("Julia Novak", "Recruiter", REC, "Notice period")], time(16, 0)),
    _Demo(2, "Acme Analytics", "Analytics Engineer", Stage.FINAL, Outcome.PENDING, 4,
          "Final round with the CTO.",
          [GRACE, _person("Chris Murphy", "CTO", INT, "Why data, why now"),
           _person("Ana Costa", "Analytics Engineer", INT, "Looker or Metabase")], time(13, 0)),
]
# fmt: on

# (person, days ago, kind, note) — a few touches after the interviews.
INTERACTIONS = [
    ("Priya Raman", 100, InteractionKind.COFFEE, "Coffee; she is moving to Globex."),
    ("Tom Becker", 70, InteractionKind.MESSAGE, "Sent him the Kafka talk we discussed."),
    ("Priya Raman", 45, InteractionKind.EMAIL, "Asked about openings on her new team."),
    ("Diego Alvarez", 20, InteractionKind.CALL, "He mentioned the new senior role."),
    ("Laura Schmidt", 14, InteractionKind.EMAIL, "Congratulated her on the team launch."),
]
# Priya leaves Contoso for Globex this many days ago: a warm contact there since.
MOVE = (PRIYA.name, "Globex", "Director of Engineering", 90)


def _count(model, user_id: int) -> int:
    return db.session.execute(
        db.select(func.count()).select_from(model).where(model.user_id == user_id)
    ).scalar_one()


def _contact(user_id: int, name: str) -> Contact:
    return (
        db.session.execute(
            db.select(Contact).filter_by(user_id=user_id, name=name).order_by(Contact.id)
        )
        .scalars()
        .first()
    )


def fill_demo_account(user: User) -> dict:
    """Add the demo data unless the account already has interviews; returns what was added."""
    models = {"organisations": Organisation, "interviews": Interview, "contacts": Contact}
    if _count(Interview, user.id):
        return dict.fromkeys(models, 0)
    before = {key: _count(model, user.id) for key, model in models.items()}
    today = local_today(user.timezone)

    def ago(days: int) -> date:
        return today - timedelta(days=days)

    def log_interview(demo: _Demo) -> None:
        save_interview(
            user,
            InterviewInput(
                organisation=demo.organisation,
                role=demo.role,
                held_on=ago(demo.days_ago),
                start_time=demo.at,
                stage=demo.stage,
                outcome=demo.outcome,
                interest=demo.interest,
                notes=demo.notes,
                people=demo.people,
            ),
        )

    def interact(name: str, days_ago: int, kind: InteractionKind, note: str) -> None:
        followups.log_interaction(user, _contact(user.id, name), kind, ago(days_ago), note)

    def move(name: str, organisation: str, title: str, days_ago: int) -> None:
        record_move(_contact(user.id, name), organisation, title, ago(days_ago), today)

    # In the order things happened, so each interaction is filed where the person was then.
    timeline = [(d.days_ago, 0, log_interview, (d,)) for d in INTERVIEWS]
    timeline += [(i[1], 1, interact, i) for i in INTERACTIONS]
    timeline.append((MOVE[3], 2, move, MOVE))
    for _, _, step, arguments in sorted(timeline, key=lambda e: (-e[0], e[1])):
        step(*arguments)
    return {key: _count(model, user.id) - before[key] for key, model in models.items()}
