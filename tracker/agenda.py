"""The read side of follow-ups: the home agenda, due counts, the digest's list, and the
words, drafts and context every page, email and calendar event shows for a follow-up.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta

from sqlalchemy import (
    BindParameter,
    Date,
    Select,
    Subquery,
    and_,
    bindparam,
    case,
    func,
    literal,
    union_all,
)

from . import drafts
from .dates import short_date
from .db import count_param, count_value, db, rows_of
from .models import (
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interaction,
    Interview,
    Organisation,
    Participant,
    Stage,
    User,
)

OPEN = FollowUpStatus.OPEN


# The home page's sections, in order, and how many follow-ups each shows before "Show all".
SECTIONS = ("overdue", "today", "week", "later")
HOME_ROWS = 10
# The most follow-ups one digest lists, oldest first; it says how many more are due.
DIGEST_ROWS = 50


@dataclass(frozen=True, slots=True)
class Person:
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Place:
    name: str


@dataclass(frozen=True, slots=True)
class Meeting:
    role: str
    stage: Stage
    held_on: date


@dataclass(frozen=True, slots=True)
class Listed:
    """An open follow-up as a list of them shows it, with the little it shows of the person,
    the organisation and the interview: the attributes of a FollowUp that describe() and
    the follow-up template read, read as plain rows. ORM objects for the home page's 40
    follow-ups and everything they refer to cost more to load than the rest of the page.
    """

    id: int
    kind: FollowUpKind
    title: str
    due_on: date
    due_time: time | None
    status: FollowUpStatus
    note: str
    contact_id: int | None
    organisation_id: int | None
    interview_id: int | None
    contact: Person | None
    organisation: Place | None
    interview: Meeting | None
    # What the person and the user talked about at that interview, and the user's latest
    # note about the person: read with the row, so describe() need not look them up.
    topics: str
    last_note: str


# A follow-up's own columns that a Listed is made of.
_OWN = (
    FollowUp.id,
    FollowUp.kind,
    FollowUp.title,
    FollowUp.due_on,
    FollowUp.due_time,
    FollowUp.status,
    FollowUp.note,
    FollowUp.contact_id,
    FollowUp.organisation_id,
    FollowUp.interview_id,
)


def _listed_select(source: Subquery | None = None) -> Select:
    """The _OWN columns of follow-ups (of the table, or all of `source`, a subquery of
    them) with the little a Listed shows of their contact, organisation and interview.

    The organisation's name is looked up for each follow-up: joined, PostgreSQL hashed
    every organisation of every account to name a page's forty.
    """
    columns, own = (_OWN, FollowUp) if source is None else ((source,), source.c)
    organisation_name = (
        db.select(Organisation.name)
        .where(Organisation.id == own.organisation_id)
        .scalar_subquery()
        .label("organisation_name")
    )
    # One lookup per row each: the participant by its key, the person's notes by theirs.
    topics = (
        db.select(Participant.topics)
        .where(
            Participant.interview_id == own.interview_id,
            Participant.contact_id == own.contact_id,
        )
        .scalar_subquery()
        .label("topics")
    )
    last_note = (
        db.select(Interaction.note)
        .where(Interaction.contact_id == own.contact_id, Interaction.note != "")
        .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())
        .limit(count_value(1))
        .scalar_subquery()
        .label("last_note")
    )
    return (
        db.select(
            *columns,
            Contact.name.label("contact_name"),
            Contact.email.label("contact_email"),
            organisation_name,
            Interview.role,
            Interview.stage,
            Interview.held_on,
            topics,
            last_note,
        )
        .outerjoin(Contact, Contact.id == own.contact_id)
        .outerjoin(Interview, Interview.id == own.interview_id)
    )


def _listed(row) -> Listed:
    """A Listed from a row of a _listed_select statement: its last eighteen columns, taken
    by position (by name, each costs a lookup: 0.6 ms for the home page's forty rows)."""
    (
        id_,
        kind,
        title,
        due_on,
        due_time,
        status,
        note,
        contact_id,
        organisation_id,
        interview_id,
        contact_name,
        contact_email,
        organisation_name,
        role,
        stage,
        held_on,
        topics,
        last_note,
    ) = row[-18:]
    return Listed(
        id_,
        kind,
        title,
        due_on,
        due_time,
        status,
        note,
        contact_id,
        organisation_id,
        interview_id,
        Person(contact_name, contact_email) if contact_id is not None else None,
        Place(organisation_name) if organisation_id is not None else None,
        Meeting(role, stage, held_on) if interview_id is not None else None,
        topics or "",
        last_note or "",
    )


@dataclass(frozen=True)
class Agenda:
    overdue: list[Listed]
    today: list[Listed]
    this_week: list[Listed]
    later: list[Listed]
    # The sections that hold more than they show.
    more: frozenset[str] = frozenset()

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.today or self.this_week or self.later)


def open_in_section(
    user_id: int | BindParameter,
    section: str,
    today: date | BindParameter,
    week_end: date | BindParameter | None = None,
) -> Select:
    """The user's open follow-ups in one section of the agenda, soonest first.

    Served by the (user, status, due) index: a range of it per section. The user's id and
    the dates are values or bound parameters.
    """
    week_end = week_end if week_end is not None else today + timedelta(days=7)
    return (
        db.select(FollowUp)
        .where(
            FollowUp.user_id == user_id,
            FollowUp.status == OPEN,
            _section_condition(section, today, week_end),
        )
        .options(
            db.joinedload(FollowUp.contact),
            db.joinedload(FollowUp.organisation),
            db.joinedload(FollowUp.interview),
        )
        .order_by(FollowUp.due_on, FollowUp.due_time, FollowUp.id)
    )


def _section_condition(
    section: str, today: date | BindParameter, week_end: date | BindParameter
) -> object:
    return {
        "overdue": FollowUp.due_on < today,
        "today": FollowUp.due_on == today,
        "week": and_(FollowUp.due_on > today, FollowUp.due_on <= week_end),
        "later": FollowUp.due_on > week_end,
    }[section]


def _first_of_sections() -> Select:
    """The first rows of every section in one statement, built once, with parameters for
    the user, the day, the week's end and the number of rows.

    Each part of the UNION ALL reads its own range of the (user, status, due) index and
    stops at its limit; the few rows they find are then joined to their contacts,
    organisations and interviews once. Joined inside each part instead, the statement
    took PostgreSQL 6 ms to plan, five times as long as to run; this one about 0.3 ms.
    """
    user_id = bindparam("user_id")
    today = bindparam("today", type_=Date)
    week_end = bindparam("week_end", type_=Date)
    order = (FollowUp.due_on, FollowUp.due_time, FollowUp.id)
    parts = [
        db.select(literal(position).label("section"), *_OWN)
        .where(
            FollowUp.user_id == user_id,
            FollowUp.status == OPEN,
            _section_condition(section, today, week_end),
        )
        .order_by(*order)
        .limit(count_param("rows"))
        .subquery()
        .select()
        for position, section in enumerate(SECTIONS)
    ]
    first = union_all(*parts).subquery("first")
    return _listed_select(first).order_by(
        first.c.section, first.c.due_on, first.c.due_time, first.c.id
    )


_FIRST_OF_SECTIONS = _first_of_sections()


def agenda(user: User, today: date, rows: int = HOME_ROWS) -> Agenda:
    """The first `rows` open follow-ups of each section, and which sections have more.

    However much is due, the home page shows the same number of rows: the rest of a
    section is on its own paginated page.
    """
    found: dict[str, list[Listed]] = {section: [] for section in SECTIONS}
    values = {
        "user_id": user.id,
        "today": today,
        "week_end": today + timedelta(days=7),
        "rows": rows + 1,
    }
    for row in rows_of(_FIRST_OF_SECTIONS, values):
        found[SECTIONS[row[0]]].append(_listed(row))  # the first column: the section
    shown = {section: listed[:rows] for section, listed in found.items()}
    more = {section for section, listed in found.items() if len(listed) > rows}
    return Agenda(
        overdue=shown["overdue"],
        today=shown["today"],
        this_week=shown["week"],
        later=shown["later"],
        more=frozenset(more),
    )


# The navigation's badge counts on every page: its statements are built once, here, since
# building one cost more than running it. Executed with the user's id and date (and cap).
_DUE = db.select(FollowUp.id).where(
    FollowUp.user_id == bindparam("user_id"),
    FollowUp.status == OPEN,
    FollowUp.due_on <= bindparam("today"),
)
_DUE_COUNT = db.select(func.count()).select_from(_DUE.subquery())
_DUE_COUNT_UP_TO = db.select(func.count()).select_from(_DUE.limit(count_param("up_to")).subquery())


def due_count(user: User, today: date, up_to: int | None = None) -> int:
    """How many open follow-ups are due today or overdue; with `up_to`, counted no further."""
    values = {"user_id": user.id, "today": today}
    if up_to is None:
        return rows_of(_DUE_COUNT, values).scalar_one()
    return rows_of(_DUE_COUNT_UP_TO, {**values, "up_to": up_to}).scalar_one()


@dataclass(frozen=True)
class Item:
    """A follow-up with everything a page, an email or a calendar says about it."""

    follow_up: FollowUp | Listed
    reason: str
    summary: str
    mailto: str | None
    where_met: str
    last_note: str
    contact_name: str
    organisation_name: str
    # Subject and body of the prefilled email (the calendar shows it), when there is a person.
    draft: tuple[str, str] | None = None


# describe()'s two reads of context for follow-ups loaded as objects, built once: the
# people's ids are an expanding parameter, so each call runs the cached statement instead
# of building one. Topics are read for every meeting of the people (a few each, by the
# participant's contact index) and looked up by meeting: a list of interviews and one of
# people, matched together, probed the key for every interview with every person.
_TOPICS = db.select(Participant.interview_id, Participant.contact_id, Participant.topics).where(
    Participant.contact_id.in_(bindparam("contact_ids", expanding=True))
)
_NOTES = (
    db.select(Interaction.contact_id, Interaction.note)
    .where(
        Interaction.contact_id.in_(bindparam("contact_ids", expanding=True)), Interaction.note != ""
    )
    .order_by(Interaction.occurred_on, Interaction.id)
)


def _looked_up(
    follow_ups: Sequence[FollowUp],
) -> tuple[dict[tuple[int, int], str], dict[int, str]]:
    """Topics by (interview, person) and last notes by person, for follow-ups loaded as
    objects (a Listed carries its own), in two queries."""
    pairs = {(f.interview_id, f.contact_id) for f in follow_ups if f.interview_id and f.contact_id}
    topics: dict[tuple[int, int], str] = {}
    if pairs:
        found = rows_of(_TOPICS, {"contact_ids": sorted({c for _, c in pairs})})
        topics = {(interview_id, contact_id): text for interview_id, contact_id, text in found}
    contact_ids = {f.contact_id for f in follow_ups if f.contact_id}
    last_notes: dict[int, str] = {}
    if contact_ids:
        found = rows_of(_NOTES, {"contact_ids": sorted(contact_ids)})
        last_notes = {contact_id: note for contact_id, note in found}  # the latest wins
    return topics, last_notes


def describe(follow_ups: Sequence[FollowUp | Listed], today: date) -> list[Item]:
    """Words, drafts and context for many follow-ups: Listed ones as they were read,
    objects with two queries for them all."""
    topics, last_notes = _looked_up([f for f in follow_ups if not isinstance(f, Listed)])
    items = []
    for f in follow_ups:
        if isinstance(f, Listed):
            topic, last_note = f.topics, f.last_note
        else:
            topic = topics.get((f.interview_id, f.contact_id), "")
            last_note = last_notes.get(f.contact_id, "") if f.contact_id else ""
        interview = f.interview
        organisation = f.organisation.name if f.organisation else ""
        ctx = drafts.Context(
            kind=f.kind,
            title=f.title,
            contact_name=f.contact.name if f.contact else "",
            contact_email=f.contact.email if f.contact else "",
            organisation=organisation,
            role=interview.role if interview else "",
            stage=interview.stage.value if interview else "",
            held_on=interview.held_on if interview else None,
            topics=topic,
        )
        where_met = ""
        if interview is not None:
            stage = drafts.STAGE_WORDS.get(interview.stage.value, "interview")
            where_met = (
                f"Met at the {stage} for {interview.role} on {short_date(interview.held_on, today)}"
            )
        draft = drafts.draft(ctx, today) if f.contact else None
        items.append(
            Item(
                follow_up=f,
                reason=drafts.reason(ctx, today),
                summary=drafts.summary(ctx),
                mailto=drafts.mailto(ctx.contact_email, *draft) if draft else None,
                where_met=where_met,
                last_note=last_note,
                contact_name=ctx.contact_name,
                organisation_name=organisation,
                draft=draft,
            )
        )
    return items


def due_for_digest(user: User, today: date) -> list[FollowUp]:
    """Open follow-ups due today or overdue, oldest first, with what they refer to."""
    return list(
        db.session.execute(
            db.select(FollowUp)
            .where(FollowUp.user_id == user.id, FollowUp.status == OPEN, FollowUp.due_on <= today)
            .options(
                db.joinedload(FollowUp.contact),
                db.joinedload(FollowUp.organisation),
                db.joinedload(FollowUp.interview),
            )
            .order_by(FollowUp.due_on, FollowUp.id)
        )
        .scalars()
        .unique()
    )


@dataclass(frozen=True)
class DigestDue:
    """What one user's digest lists, and how many follow-ups are due and overdue in all."""

    follow_ups: list[FollowUp]
    count: int
    overdue: int

    @property
    def more(self) -> int:
        """How many are due beyond those listed."""
        return self.count - len(self.follow_ups)


def due_for_digests(
    user_ids: Collection[int], today: date, rows: int = DIGEST_ROWS
) -> dict[int, DigestDue]:
    """For each of the users with anything due: their oldest `rows` open follow-ups due
    today or overdue, with what they refer to, and the counts of all that is due.

    One query for all of them. A window numbers and counts each user's range of the
    (user, status, due) index, so thousands due cost a count, not thousands of rows.
    """
    in_order = (FollowUp.due_on, FollowUp.id)
    per_user = {"partition_by": FollowUp.user_id}
    ranked = (
        db.select(
            FollowUp.id,
            func.row_number().over(**per_user, order_by=in_order).label("position"),
            func.count().over(**per_user).label("due"),
            func.count(case((FollowUp.due_on < today, 1))).over(**per_user).label("overdue"),
        )
        .where(FollowUp.user_id.in_(user_ids), FollowUp.status == OPEN, FollowUp.due_on <= today)
        .subquery()
    )
    found: dict[int, DigestDue] = {}
    for follow_up, due, overdue in db.session.execute(
        db.select(FollowUp, ranked.c.due, ranked.c.overdue)
        .join(ranked, ranked.c.id == FollowUp.id)
        .where(ranked.c.position <= rows)
        .options(
            db.joinedload(FollowUp.contact),
            db.joinedload(FollowUp.organisation),
            db.joinedload(FollowUp.interview),
        )
        .order_by(FollowUp.user_id, *in_order)
    ):
        listed = found.setdefault(follow_up.user_id, DigestDue([], due, overdue))
        listed.follow_ups.append(follow_up)
    return found


def next_check_in(contact: Contact) -> FollowUp | None:
    """The person's open check-in, if one is planned."""
    return db.session.execute(
        db.select(FollowUp)
        .filter_by(contact_id=contact.id, status=OPEN, kind=FollowUpKind.CHECK_IN)
        .order_by(FollowUp.due_on)
        .limit(count_value(1))
    ).scalar_one_or_none()


def for_contact(contact: Contact, closed_limit: int = 20) -> list[FollowUp]:
    """The person's open follow-ups by date, then the latest closed ones."""
    query = (
        db.select(FollowUp)
        .where(FollowUp.contact_id == contact.id)
        .options(db.joinedload(FollowUp.organisation), db.joinedload(FollowUp.interview))
    )
    open_ones = (
        db.session.execute(
            query.where(FollowUp.status == OPEN).order_by(FollowUp.due_on, FollowUp.id)
        )
        .scalars()
        .all()
    )
    closed = (
        db.session.execute(
            query.where(FollowUp.status != OPEN)
            .order_by(FollowUp.completed_at.desc(), FollowUp.id.desc())
            .limit(count_value(closed_limit))
        )
        .scalars()
        .all()
    )
    return [*open_ones, *closed]


_FOR_ORGANISATION = (
    _listed_select()
    .where(FollowUp.organisation_id == bindparam("organisation_id"), FollowUp.status == OPEN)
    .order_by(FollowUp.due_on, FollowUp.id)
    .limit(count_param("limit"))
)


def for_organisation(organisation_id: int, limit: int = 50) -> list[Listed]:
    """Open follow-ups for the organisation or anyone met there, soonest first."""
    found = rows_of(_FOR_ORGANISATION, {"organisation_id": organisation_id, "limit": limit})
    return [_listed(row) for row in found]
