"""The playbook as plain functions: facts, settings and today in, a plan out."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tracker.models import FollowUpKind as K
from tracker.models import FollowUpStatus as S
from tracker.models import Outcome as O
from tracker.playbook import (
    FollowUpFacts,
    InterviewFacts,
    PersonFacts,
    Planned,
    Settings,
    reconcile,
)

DEFAULTS = Settings()
DAY = date(2026, 3, 2)


def days(n: int) -> date:
    return DAY + timedelta(days=n)


def person(*interviews, interaction=None, generated=(), remind=True) -> PersonFacts:
    return PersonFacts(
        remind=remind,
        interviews=[
            InterviewFacts(i, held, outcome) for i, (held, outcome) in enumerate(interviews, 1)
        ],
        last_interaction_on=interaction,
        generated=list(generated),
    )


def created(plan) -> set[tuple[K, date]]:
    return {(p.kind, p.due_on) for p in plan.create}


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (O.PENDING, {(K.THANK_YOU, days(1)), (K.STATUS_CHECK, days(7))}),
        (O.DECLINED, {(K.THANK_YOU, days(1)), (K.CHECK_IN, days(90))}),
        (O.OFFER, {(K.THANK_YOU, days(1)), (K.CHECK_IN, days(90))}),
        (O.WITHDREW, {(K.THANK_YOU, days(1)), (K.CHECK_IN, days(90))}),
        (O.REJECTED, {(K.THANK_YOU, days(1)), (K.FEEDBACK, days(7)), (K.CHECK_IN, days(90))}),
        (O.ACCEPTED, {(K.THANK_YOU, days(1))}),
    ],
)
def test_logging_an_interview_today_plans_by_outcome(outcome, expected):
    assert created(reconcile(DEFAULTS, DAY, person((DAY, outcome)))) == expected


@pytest.mark.parametrize(
    ("age", "thank_you"),
    [(0, True), (1, True), (6, True), (7, True), (8, False), (60, False)],
)
def test_thank_you_only_for_interviews_in_the_last_seven_days(age, thank_you):
    today = days(age)
    plan = reconcile(DEFAULTS, today, person((DAY, O.ACCEPTED)))
    assert ((K.THANK_YOU, days(1)) in created(plan)) is thank_you


def test_an_old_interview_does_not_produce_a_pile_of_overdue_follow_ups():
    today = days(400)
    plan = reconcile(DEFAULTS, today, person((DAY, O.REJECTED)))
    # Only the next check-in in the series (90, 180, 360, 540 …) not over a week old.
    assert created(plan) == {(K.CHECK_IN, days(540))}
    assert all(p.due_on >= today - timedelta(days=7) for p in plan.create)


def test_check_ins_follow_the_series_as_each_is_closed():
    series = []
    generated = []
    for n in range(5):
        today = series[-1] if series else DAY
        plan = reconcile(DEFAULTS, today, person((DAY, O.DECLINED), generated=generated))
        check_ins = [p for p in plan.create if p.kind is K.CHECK_IN]
        assert len(check_ins) == 1
        series.append(check_ins[0].due_on)
        generated.append(FollowUpFacts(n + 100, K.CHECK_IN, 1, check_ins[0].due_on, S.DONE))
    assert series == [days(90), days(180), days(360), days(540), days(720)]


def test_an_interaction_re_plans_the_next_check_in_from_its_date():
    open_check_in = FollowUpFacts(7, K.CHECK_IN, 1, days(90), S.OPEN)
    plan = reconcile(
        DEFAULTS,
        days(30),
        person((DAY, O.DECLINED), interaction=days(30), generated=[open_check_in]),
    )
    assert plan.cancel == [7]
    assert created(plan) == {(K.CHECK_IN, days(120))}


def test_changing_the_outcome_re_plans_open_follow_ups_not_yet_due():
    generated = [
        FollowUpFacts(1, K.THANK_YOU, 1, days(1), S.DONE),
        FollowUpFacts(2, K.STATUS_CHECK, 1, days(7), S.OPEN),
    ]
    plan = reconcile(DEFAULTS, days(3), person((DAY, O.REJECTED), generated=generated))
    assert plan.cancel == [2]
    assert created(plan) == {(K.FEEDBACK, days(7)), (K.CHECK_IN, days(90))}


def test_a_follow_up_already_due_is_never_cancelled_by_a_re_plan():
    generated = [FollowUpFacts(2, K.STATUS_CHECK, 1, days(7), S.OPEN)]
    plan = reconcile(DEFAULTS, days(9), person((DAY, O.ACCEPTED), generated=generated))
    assert plan.cancel == []


def test_accepting_a_job_stops_check_ins():
    generated = [FollowUpFacts(5, K.CHECK_IN, 1, days(90), S.OPEN)]
    plan = reconcile(
        DEFAULTS, days(40), person((DAY, O.DECLINED), (days(40), O.ACCEPTED), generated=generated)
    )
    assert 5 in plan.cancel
    assert not [p for p in plan.create if p.kind is K.CHECK_IN]


def test_done_follow_ups_are_not_made_again():
    generated = [
        FollowUpFacts(1, K.THANK_YOU, 1, days(1), S.DONE),
        FollowUpFacts(2, K.STATUS_CHECK, 1, days(7), S.SKIPPED),
    ]
    assert reconcile(DEFAULTS, days(2), person((DAY, O.PENDING), generated=generated)).create == []


def test_a_snoozed_check_in_keeps_the_later_date_the_user_chose():
    snoozed = FollowUpFacts(3, K.CHECK_IN, 1, days(120), S.OPEN, moved=True)
    plan = reconcile(DEFAULTS, days(95), person((DAY, O.DECLINED), generated=[snoozed]))
    assert plan == type(plan)()


def test_dont_remind_me_cancels_what_is_not_yet_due_and_plans_nothing():
    generated = [
        FollowUpFacts(1, K.THANK_YOU, 1, days(1), S.OPEN),
        FollowUpFacts(2, K.CHECK_IN, 1, days(90), S.OPEN),
    ]
    plan = reconcile(
        DEFAULTS, days(1), person((DAY, O.DECLINED), generated=generated, remind=False)
    )
    assert plan.create == [] and plan.cancel == [2]


def test_every_number_is_a_setting():
    custom = Settings(
        thank_you_after_days=2,
        stale_after_days=3,
        feedback_after_days=10,
        first_check_in_days=30,
        second_check_in_days=60,
        repeat_check_in_days=90,
    )
    plan = reconcile(custom, DAY, person((DAY, O.REJECTED)))
    assert created(plan) == {(K.THANK_YOU, days(2)), (K.FEEDBACK, days(10)), (K.CHECK_IN, days(30))}
    assert created(reconcile(custom, days(4), person((DAY, O.ACCEPTED)))) == set()


# --- Property: any history keeps at most one open check-in per person, none too early. ---

events = st.lists(
    st.one_of(
        st.tuples(st.just("interview"), st.integers(0, 30), st.sampled_from(list(O))),
        st.tuples(st.just("outcome"), st.integers(0, 30), st.sampled_from(list(O))),
        st.tuples(st.just("interaction"), st.integers(0, 200), st.none()),
        st.tuples(st.just("done"), st.integers(0, 400), st.none()),
        st.tuples(st.just("wait"), st.integers(1, 400), st.none()),
    ),
    max_size=25,
)


@hsettings(max_examples=300, deadline=None)
@given(events)
def test_any_history_keeps_one_open_check_in_and_nothing_before_its_interview(history):
    today = DAY
    interviews: list[InterviewFacts] = []
    follow_ups: dict[int, FollowUpFacts] = {}
    interaction = None
    next_id = iter(range(1, 10_000))
    for kind, number, outcome in history:
        if kind == "interview":
            interviews.append(
                InterviewFacts(len(interviews) + 1, today - timedelta(days=number), outcome)
            )
        elif kind == "outcome" and interviews:
            target = interviews[number % len(interviews)]
            interviews[number % len(interviews)] = InterviewFacts(
                target.id, target.held_on, outcome
            )
        elif kind == "interaction":
            interaction = today
            for f in list(follow_ups.values()):
                if f.status is S.OPEN and f.due_on <= today:
                    follow_ups[f.id] = FollowUpFacts(f.id, f.kind, f.interview_id, f.due_on, S.DONE)
        elif kind == "done":
            due = [f for f in follow_ups.values() if f.status is S.OPEN and f.due_on <= today]
            if due:
                f = due[number % len(due)]
                follow_ups[f.id] = FollowUpFacts(f.id, f.kind, f.interview_id, f.due_on, S.DONE)
        elif kind == "wait":
            today += timedelta(days=number)
        facts = PersonFacts(True, list(interviews), interaction, list(follow_ups.values()))
        plan = reconcile(DEFAULTS, today, facts)
        for ident in plan.cancel:
            assert follow_ups[ident].status is S.OPEN and follow_ups[ident].due_on > today
            del follow_ups[ident]
        for planned in plan.create:
            assert isinstance(planned, Planned)
            ident = next(next_id)
            follow_ups[ident] = FollowUpFacts(
                ident, planned.kind, planned.interview_id, planned.due_on, S.OPEN
            )
        open_check_ins = [
            f for f in follow_ups.values() if f.kind is K.CHECK_IN and f.status is S.OPEN
        ]
        assert len(open_check_ins) <= 1
        held = {i.id: i.held_on for i in interviews}
        for f in follow_ups.values():
            assert f.due_on > held[f.interview_id], (f, held)
