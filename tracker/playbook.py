"""The follow-up playbook: plain functions from facts, settings and today to a plan.

Nothing here touches a request, the database or the clock. `reconcile` looks at one
person — the interviews they were met at, their last interaction, the generated
follow-ups they already have — and says which follow-ups to create and which open,
not-yet-due ones to cancel. Use cases call it after every event that can change a plan.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from .models import FollowUpKind, FollowUpStatus, Outcome

KEEP_WARM = frozenset({Outcome.DECLINED, Outcome.OFFER, Outcome.WITHDREW, Outcome.REJECTED})


@dataclass(frozen=True)
class Settings:
    """Every number of the playbook; each is a user setting with these defaults."""

    thank_you_after_days: int = 1
    # Nothing is planned that would already be more than this many days overdue.
    stale_after_days: int = 7
    feedback_after_days: int = 7
    status_check_after_days: int = 7
    first_check_in_days: int = 90
    second_check_in_days: int = 180
    repeat_check_in_days: int = 180


@dataclass(frozen=True)
class InterviewFacts:
    id: int
    held_on: date
    outcome: Outcome


@dataclass(frozen=True)
class FollowUpFacts:
    id: int
    kind: FollowUpKind
    interview_id: int | None
    due_on: date
    status: FollowUpStatus
    # The user moved it (snooze or edit): a later date they chose is respected.
    moved: bool = False


@dataclass(frozen=True)
class PersonFacts:
    """What the playbook needs to know about one contact."""

    remind: bool
    interviews: Sequence[InterviewFacts]
    last_interaction_on: date | None = None
    generated: Sequence[FollowUpFacts] = ()


@dataclass(frozen=True)
class Planned:
    kind: FollowUpKind
    due_on: date
    interview_id: int | None


@dataclass(frozen=True)
class Plan:
    create: list[Planned] = field(default_factory=list)
    cancel: list[int] = field(default_factory=list)


def check_in_offsets(settings: Settings) -> Iterable[int]:
    """Days after the anchor: first, second, then every `repeat` days, for ever."""
    yield settings.first_check_in_days
    offset = settings.second_check_in_days
    while True:
        yield offset
        offset += settings.repeat_check_in_days


def keep_warm_interview(interviews: Sequence[InterviewFacts]) -> InterviewFacts | None:
    """The latest decided interview if it calls for check-ins; None after an accepted job."""
    decided = [i for i in interviews if i.outcome is not Outcome.PENDING]
    if not decided:
        return None
    latest = max(decided, key=lambda i: (i.held_on, i.id))
    return latest if latest.outcome in KEEP_WARM else None


def next_check_in(settings: Settings, today: date, person: PersonFacts) -> Planned | None:
    """The one check-in that should be open for this person, or None."""
    if not person.remind:
        return None
    anchor_interview = keep_warm_interview(person.interviews)
    if anchor_interview is None:
        return None
    anchor = anchor_interview.held_on
    if person.last_interaction_on and person.last_interaction_on > anchor:
        anchor = person.last_interaction_on
    closed = [
        f.due_on
        for f in person.generated
        if f.kind is FollowUpKind.CHECK_IN and f.status is not FollowUpStatus.OPEN
    ]
    after = max([d for d in closed if d >= anchor], default=None)
    earliest = today - timedelta(days=settings.stale_after_days)
    for offset in check_in_offsets(settings):
        due = anchor + timedelta(days=offset)
        if (after is None or due > after) and due >= earliest:
            return Planned(FollowUpKind.CHECK_IN, due, anchor_interview.id)
    return None  # pragma: no cover - the series is endless


def one_offs(settings: Settings, today: date, interview: InterviewFacts) -> list[Planned]:
    """Thank-you, feedback request and status check wanted for one interview."""
    earliest = today - timedelta(days=settings.stale_after_days)
    wanted: list[Planned] = []
    if today - interview.held_on <= timedelta(days=settings.stale_after_days):
        due = interview.held_on + timedelta(days=settings.thank_you_after_days)
        wanted.append(Planned(FollowUpKind.THANK_YOU, due, interview.id))
    if interview.outcome is Outcome.REJECTED:
        due = interview.held_on + timedelta(days=settings.feedback_after_days)
        if due >= earliest:
            wanted.append(Planned(FollowUpKind.FEEDBACK, due, interview.id))
    if interview.outcome is Outcome.PENDING:
        due = interview.held_on + timedelta(days=settings.status_check_after_days)
        if due >= earliest:
            wanted.append(Planned(FollowUpKind.STATUS_CHECK, due, interview.id))
    return wanted


def reconcile(settings: Settings, today: date, person: PersonFacts) -> Plan:
    """What to create and cancel so this person's generated follow-ups match the playbook.

    Open follow-ups that are already due are never cancelled: the user sees and decides.
    A one-off that exists in any state is never made again, so done stays done.
    """
    plan = Plan()
    if not person.remind:
        plan.cancel.extend(
            f.id for f in person.generated if f.status is FollowUpStatus.OPEN and f.due_on > today
        )
        return plan

    existing = {(f.interview_id, f.kind) for f in person.generated}
    wanted_one_offs: set[tuple[int | None, FollowUpKind]] = set()
    for interview in person.interviews:
        for planned in one_offs(settings, today, interview):
            wanted_one_offs.add((planned.interview_id, planned.kind))
            if (planned.interview_id, planned.kind) not in existing:
                plan.create.append(planned)
    for f in person.generated:
        if (
            f.kind is not FollowUpKind.CHECK_IN
            and f.kind is not FollowUpKind.THANK_YOU
            and f.status is FollowUpStatus.OPEN
            and f.due_on > today
            and (f.interview_id, f.kind) not in wanted_one_offs
        ):
            plan.cancel.append(f.id)

    wanted = next_check_in(settings, today, person)
    open_check_ins = [
        f
        for f in person.generated
        if f.kind is FollowUpKind.CHECK_IN and f.status is FollowUpStatus.OPEN
    ]
    if any(f.due_on <= today for f in open_check_ins):
        # One is due now: it stays the only open one until the user acts on it.
        plan.cancel.extend(f.id for f in open_check_ins if f.due_on > today)
        return plan
    keep = next(
        (
            f
            for f in open_check_ins
            if wanted and (f.due_on == wanted.due_on or (f.moved and f.due_on > wanted.due_on))
        ),
        None,
    )
    plan.cancel.extend(f.id for f in open_check_ins if f is not keep)
    if wanted and keep is None:
        plan.create.append(wanted)
    return plan
