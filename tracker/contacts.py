"""Contacts: search, the jobs they hold over time, and where they were met."""

from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from sqlalchemy import ColumnElement, Row, Select, and_, bindparam, exists, func, or_
from sqlalchemy.orm import aliased

from . import search as search_index
from .db import count_param, count_value, db, rows_of
from .models import Contact, Interaction, Interview, Organisation, Participant, Position
from .organisations import find_or_create_organisation

# Control characters cannot be in a name; PostgreSQL refuses NUL even in a pattern.
_CONTROL = dict.fromkeys(range(32))
# SQLite counts a term's matches through its trigram index, cheaply: up to FEW are
# collected and sorted. More, like a term PostgreSQL's statistics call common, may be
# read in the list's (name) order until a page is full, but only when the first PROBE
# contacts in that order already hold a PAGE of matches (the list's 50, and the row that
# tells whether a next page exists). Otherwise the matches sort late ("zoe" among
# 100,000 contacts): reading in name order would pass most of the account before the
# first one, so they are collected through the trigram index and sorted instead, at
# about a microsecond each (3,000 in 3-5 ms). The probe costs about as much as reading
# PROBE rows; terms with matches spread over the names ("northwind", "engineer") are
# still read in name order, and fill the page within those rows.
FEW = 2000
PROBE = 1000
PAGE = 51


def _like(term: str) -> str:
    """A LIKE pattern matching `term` anywhere, with its wildcards taken literally."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contacts_query(user_id: int, search: str = "", first_page_rows: int | None = None) -> Select:
    """The user's contacts by name (id and name, as plain rows), optionally matching name,
    job title or organisation. `first_page_rows`: the query is for the first page, which
    reads that many rows (see _sqlite_matching).

    Rows, not Contact objects: the list shows a name and one job, and building objects
    for them cost more than the rest of the page. `current_jobs` reads the jobs.
    """
    term = search.translate(_CONTROL).strip()
    query = db.select(Contact.id, Contact.name)
    if term and db.session.get_bind().dialect.name == "postgresql":
        # One indexed document per contact. The planner chooses how to read it, assuming
        # the matches spread over the names: when they do not, they are collected.
        pattern = _like(term)
        if len(term) >= search_index.MIN_LENGTH and not _read_in_name_order(user_id, pattern):
            return search_index.postgresql_collected(user_id, pattern)
        return search_index.postgresql_search(query, user_id, pattern)
    condition = _matching(user_id, term, first_page_rows) if term else Contact.user_id == user_id
    return query.where(condition).order_by(Contact.name, Contact.id)


# Contacts' jobs with their organisation's name, in Contact.positions' order: the first
# of each contact's is its current job. Built once (the list runs it on every page view),
# executed with the contact ids. The name is looked up for each job: joined instead,
# PostgreSQL hashed every organisation of every account to find a page's fifty.
_JOBS = (
    db.select(
        Position.contact_id,
        Position.title,
        Position.ended_on,
        db.select(Organisation.name)
        .where(Organisation.id == Position.organisation_id)
        .scalar_subquery()
        .label("organisation"),
    )
    .where(Position.contact_id.in_(bindparam("contact_ids", expanding=True)))
    .order_by(
        Position.contact_id,
        Position.ended_on.is_(None).desc(),
        Position.started_on.desc(),
        Position.id.desc(),
    )
)


class Job(NamedTuple):
    """A contact's current job: its title, when it ended (None: it goes on) and where."""

    title: str
    ended_on: date | None
    organisation: str


# A row of the contacts list, flat: the contact's id and name, then their current job's
# title, end and organisation (all None when they have none). Flat, so the template
# unpacks it in its loop: a row's fields read by name cost a tenth of the contacts list.
Listed = tuple[int, str, str | None, date | None, str | None]
NO_JOB = (None, None, None)


def with_jobs(found: Sequence[Row]) -> list[Listed]:
    """Rows of contacts_query (id and name) with each contact's current job."""
    jobs = current_jobs([contact_id for contact_id, _ in found])
    return [(contact_id, name, *jobs.get(contact_id, NO_JOB)) for contact_id, name in found]


def current_jobs(contact_ids: list[int]) -> dict[int, Job]:
    """Each contact's current job (Contact.current_position) by contact id; contacts with
    no job are left out."""
    if not contact_ids:
        return {}
    jobs: dict[int, Job] = {}
    for contact_id, *job in rows_of(_JOBS, {"contact_ids": contact_ids}):
        if contact_id not in jobs:
            jobs[contact_id] = Job(*job)
    return jobs


def _list_page() -> Select:
    """A page of the user's contacts in name order, each with their current job, in one
    statement built once (parameters: the user's id, `rows` and `skip`).

    Every contacts list that is not a search reads this. As two statements, or as one
    built for each request, the list spent three times as long in SQLAlchemy as in the
    database. The job, Contact.current_position, is looked up for each of the page's rows
    and its organisation joined by id (as a subquery per row, the organisation cost
    PostgreSQL a quarter of the statement's time): never a join of whole tables.
    """
    page = (
        db.select(Contact.id, Contact.name)
        .where(Contact.user_id == bindparam("user_id"))
        .order_by(Contact.name, Contact.id)
        .limit(count_param("rows"))
        .offset(count_param("skip"))
        .subquery("page")
    )
    held = aliased(Position)
    current = (
        db.select(held.id)
        .where(held.contact_id == page.c.id)
        .order_by(held.ended_on.is_(None).desc(), held.started_on.desc(), held.id.desc())
        .limit(count_value(1))
        .correlate(page)
        .scalar_subquery()
    )
    return (
        db.select(page.c.id, page.c.name, Position.title, Position.ended_on, Organisation.name)
        .select_from(page)
        .outerjoin(Position, Position.id == current)
        .outerjoin(Organisation, Organisation.id == Position.organisation_id)
        .order_by(page.c.name, page.c.id)
    )


_LIST_PAGE = _list_page()


def list_page(user_id: int, rows: int, skip: int) -> Sequence[Row]:
    """`rows` of the user's contacts in name order after the first `skip`, with their jobs:
    rows shaped as Listed."""
    values = {"user_id": user_id, "rows": rows, "skip": skip}
    return rows_of(_LIST_PAGE, values).all()


def _matching(user_id: int, term: str, first_page_rows: int | None = None) -> ColumnElement[bool]:
    """The user's contacts with `term` in their name, a job title or an organisation's name.

    Three characters or more on SQLite: through the trigram index (tracker.search), so the
    cost follows the number of matches, not of contacts. Shorter: the user's contacts in
    name order, tested one by one, when the first PROBE of them hold a page of matches;
    otherwise (SQLite) a scan of the search documents. (PostgreSQL searches its own
    table: tracker.search.postgresql_search.)
    """
    pattern = _like(term)
    dialect = db.session.get_bind().dialect.name
    if len(term) >= search_index.MIN_LENGTH and dialect == "sqlite":
        return _sqlite_matching(user_id, term, pattern, first_page_rows)
    if dialect == "sqlite" and not _sqlite_read_in_name_order(user_id, pattern):
        # No page among the first names ("zo", or a pair no one has): scanning every
        # document once (20 ms per 100,000) beats testing the user's contacts one by one
        # in name order until a page is full, when that means most of the account.
        return and_(
            (Contact.user_id + 0) == user_id, Contact.id.in_(search_index.sqlite_scanned(pattern))
        )
    at_matching_place = exists().where(
        Position.contact_id == Contact.id,
        or_(
            Position.title.ilike(pattern, escape="\\"),
            Position.organisation_id.in_(
                db.select(Organisation.id).where(
                    Organisation.user_id == user_id,
                    Organisation.name.ilike(pattern, escape="\\"),
                )
            ),
        ),
    )
    return and_(
        Contact.user_id == user_id,
        or_(Contact.name.ilike(pattern, escape="\\"), at_matching_place),
    )


# How many contacts the user has, counted no further than `up_to`, from the user's index.
_CONTACTS_UP_TO = db.select(func.count()).select_from(
    db.select(Contact.id)
    .where(Contact.user_id == bindparam("user_id"))
    .limit(count_param("up_to"))
    .subquery()
)


def _read_in_name_order(user_id: int, pattern: str) -> bool:
    """Whether the first PROBE contacts in name order hold a page of matches (see PROBE)."""
    return search_index.early_matches(user_id, pattern, among=PROBE, up_to=PAGE) >= PAGE


def _sqlite_read_in_name_order(user_id: int, pattern: str) -> bool:
    """Whether reading the user's contacts in name order meets a page within the first
    PROBE of them: they hold a page of matches, or they are all the user has."""
    return _read_in_name_order(user_id, pattern) or _within_probe(user_id)


def _within_probe(user_id: int) -> bool:
    """Whether the user has at most PROBE contacts, so a read in name order never goes
    further. SQLite's index holds every account's documents, so collecting the matches
    costs as many as all accounts have: a term a large account matches thousands of
    times must not make a small account collect them all, when it can read its own."""
    values = {"user_id": user_id, "up_to": PROBE + 1}
    return db.session.execute(_CONTACTS_UP_TO, values).scalar_one() <= PROBE


def _sqlite_matching(
    user_id: int, term: str, pattern: str, first_page_rows: int | None = None
) -> ColumnElement[bool]:
    """SQLite has no statistics to choose between two plans, so we choose, by a cheap count
    and, when many match, a probe of the first contacts in name order.

    Up to FEW matches, or more that sort late: look each up by id, then sort them by name
    (`user_id + 0` keeps SQLite off the user's name index, which it would otherwise read
    from end to end). More, with a page of them among the first PROBE names: read the
    user's contacts in name order and test each one's search document, so a page is full
    within those rows. Either way the work follows the matches, not the account's size.

    With `first_page_rows` (the first page's rows and the one that tells whether a next
    page exists), the probe reads that many matches: when it finds them all, they are the
    first page, looked up by id instead of read in name order a second time.
    """
    if search_index.sqlite_count(term, up_to=FEW + 1) > FEW:
        wanted = max(PAGE, first_page_rows or 0)
        first = search_index.sqlite_first_matches(user_id, pattern, PROBE, wanted)
        if first_page_rows and len(first) >= first_page_rows:
            return and_(Contact.user_id == user_id, Contact.id.in_(first))
        if len(first) >= PAGE or _within_probe(user_id):
            return and_(Contact.user_id == user_id, search_index.sqlite_document_has(pattern))
    return and_((Contact.user_id + 0) == user_id, Contact.id.in_(search_index.sqlite_matches(term)))


def record_move(
    contact: Contact, organisation_name: str, title: str, started_on: date | None, today: date
) -> Position:
    """The contact now works somewhere else: current positions end, the new one starts.

    The old positions stay, so the history at the previous organisation is intact.
    """
    organisation = find_or_create_organisation(contact.user_id, organisation_name)
    for position in contact.positions:
        if position.ended_on is None:
            position.ended_on = started_on or today
    position = Position(
        organisation_id=organisation.id, title=title, started_on=started_on or today
    )
    contact.positions.append(position)
    db.session.flush()
    return position


def meetings(contact: Contact) -> list[tuple[Participant, Interview]]:
    """The interviews the contact was met at, newest first."""
    rows = db.session.execute(
        db.select(Participant, Interview)
        .join(Interview, Participant.interview_id == Interview.id)
        .where(Participant.contact_id == contact.id)
        .options(db.joinedload(Interview.organisation))
        .order_by(Interview.held_on.desc(), Interview.id.desc())
    ).all()
    return [(participant, interview) for participant, interview in rows]


def interactions(contact: Contact) -> list[Interaction]:
    return list(
        db.session.execute(
            db.select(Interaction)
            .where(Interaction.contact_id == contact.id)
            .order_by(Interaction.occurred_on.desc(), Interaction.id.desc())
        ).scalars()
    )
