"""The periodic jobs: idempotent, catching up after downtime, and `send-due` doing one pass."""

from datetime import date, timedelta

import pytest
from helpers import utc
from maildata import meet, outbox, set_user
from sqlalchemy import update

from tracker import jobs
from tracker.db import db
from tracker.mail import outbox as box
from tracker.mail.compose import delivery_check
from tracker.models import Outbox, OutboxStatus, PendingImport, User


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update(smtp_server.config())
    return app


def tick(app, now) -> None:
    app.config["NOW"] = now
    with app.app_context():
        jobs.reap_leases()
        jobs.plan_digests()
        jobs.dispatch_outbox()


def test_plan_digests_is_idempotent_minute_after_minute(
    mail_app, smtp_server, make_user, make_interview
):
    mail_app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user(timezone="Europe/Berlin")
    meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 20))
    for minute in range(90):
        tick(mail_app, utc(2026, 11, 21, 7, 0) + timedelta(minutes=minute))
    assert [row.key for row in outbox(mail_app)] == [f"digest:{user.id}:2026-11-21"]
    assert len(smtp_server.messages()) == 1


def test_after_two_days_down_one_digest_lists_everything_overdue(
    mail_app, smtp_server, make_user, make_interview
):
    mail_app.config["NOW"] = utc(2026, 11, 18, 6, 0)
    user = make_user(timezone="Europe/Berlin")
    meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 17))
    tick(mail_app, utc(2026, 11, 18, 7, 0))  # the 18th's digest goes out
    assert len(smtp_server.wait_for(1)) == 1

    mail_app.config["NOW"] = utc(2026, 11, 19, 6, 0)
    meet(make_interview, user, "Globex", "Sam Jones", held_on=date(2026, 11, 18))
    mail_app.config["NOW"] = utc(2026, 11, 20, 6, 0)
    meet(make_interview, user, "Initech", "Ana Ruiz", held_on=date(2026, 11, 19))
    # The scheduler is down from the 18th until the 21st at 10:30 in Berlin.
    for minute in range(0, 120, 1):
        tick(mail_app, utc(2026, 11, 21, 9, 30) + timedelta(minutes=minute))

    first, second = smtp_server.messages()
    assert second["Subject"] == "3 follow-ups due today (3 overdue)"
    text = second.get_body(("plain",)).get_content()
    for organisation in ("Acme", "Globex", "Initech"):
        assert f"== {organisation} ==" in text
    for overdue in ("3 days overdue", "2 days overdue", "1 day overdue"):
        assert overdue in text
    assert [row.local_date for row in outbox(mail_app)] == [date(2026, 11, 18), date(2026, 11, 21)]


def test_housekeeping_expires_past_digests_and_forgets_old_rows(app, make_user):
    app.config["NOW"] = now = utc(2026, 11, 21, 12, 0)
    user = make_user(timezone="Pacific/Auckland")  # already the 22nd there
    with app.app_context():
        owner = db.session.get(User, user.id)
        message = delivery_check(owner, now)
        box.enqueue(owner, "digest:a", "digest", message, date(2026, 11, 21), now)
        box.enqueue(owner, "digest:b", "digest", message, date(2026, 11, 22), now)
        for key, status in (("old-sent", "sent"), ("old-failed", "failed")):
            box.enqueue(owner, key, "test", message, now=now - timedelta(days=200))
            db.session.execute(update(Outbox).where(Outbox.key == key).values(status=status))
        for ident, age in (("stale", timedelta(days=2)), ("fresh", timedelta(hours=1))):
            db.session.add(
                PendingImport(id=ident, user_id=user.id, source="csv", created_at=now - age)
            )
        db.session.commit()
        assert jobs.housekeeping() == {"expired": 1, "deleted": 1, "uploads_forgotten": 1}
        assert [p.id for p in db.session.execute(db.select(PendingImport)).scalars()] == ["fresh"]
    statuses = {row.key: row.status for row in outbox(app)}
    assert statuses == {
        "digest:a": OutboxStatus.EXPIRED,
        "digest:b": OutboxStatus.PENDING,
        "old-failed": OutboxStatus.FAILED,
    }


def test_the_sweep_expires_older_waiting_digests_of_users_on_different_local_days(
    app, make_user, make_interview
):
    """One batch holds a user in Berlin (the 21st) and one in Kiritimati (already the
    22nd): each one's digest of an earlier day still waiting is expired by the sweep that
    stores today's, whichever local day that is."""
    app.config["NOW"] = now = utc(2026, 11, 21, 11, 0)
    berlin = make_user("berlin@example.com", timezone="Europe/Berlin")
    kiritimati = make_user("kiritimati@example.com", timezone="Pacific/Kiritimati")
    set_user(app, kiritimati, digest_hour=0)  # 01:00 there: its digest hour has come
    waiting = {berlin.id: date(2026, 11, 20), kiritimati.id: date(2026, 11, 21)}
    for user in (berlin, kiritimati):
        meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 19))
    with app.app_context():
        for user in (berlin, kiritimati):
            owner = db.session.get(User, user.id)
            day = waiting[user.id]
            box.enqueue(owner, f"digest:{user.id}:{day}", "digest", delivery_check(owner, now), day)
        # Still retrying: not due to be sent (and expired) by a sender yet.
        db.session.execute(update(Outbox).values(next_attempt_at=now + timedelta(hours=1)))
        db.session.commit()
        assert jobs.plan_digests() == 2
    statuses = {(row.user_id, row.local_date): row.status for row in outbox(app)}
    assert statuses == {
        (berlin.id, date(2026, 11, 20)): OutboxStatus.EXPIRED,
        (berlin.id, date(2026, 11, 21)): OutboxStatus.PENDING,
        (kiritimati.id, date(2026, 11, 21)): OutboxStatus.EXPIRED,
        (kiritimati.id, date(2026, 11, 22)): OutboxStatus.PENDING,
    }


def test_send_due_runs_one_pass_and_says_what_it_did(
    mail_app, smtp_server, runner, make_user, make_interview
):
    mail_app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user(timezone="Europe/Berlin")
    meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 20))
    mail_app.config["NOW"] = utc(2026, 11, 21, 7, 5)

    result = runner.invoke(args=["send-due"])
    assert result.exit_code == 0, result.output
    assert "Planned 1 digest(s)." in result.output
    assert "Outbox: 1 sent." in result.output
    assert smtp_server.messages()[0]["Subject"] == "1 follow-up due today"

    again = runner.invoke(args=["send-due"])
    assert "Planned 0 digest(s)." in again.output
    assert "Outbox: nothing to send." in again.output
    assert len(smtp_server.messages()) == 1


def test_send_due_before_the_digest_hour_sends_nothing(
    mail_app, smtp_server, runner, make_user, make_interview
):
    mail_app.config["NOW"] = utc(2026, 11, 21, 6, 0)
    user = make_user(timezone="Europe/Berlin")
    meet(make_interview, user, "Acme", "Lee Park", held_on=date(2026, 11, 20))
    set_user(mail_app, user, digest_hour=9)
    mail_app.config["NOW"] = utc(2026, 11, 21, 7, 59)  # 08:59 in Berlin
    result = runner.invoke(args=["send-due"])
    assert "Planned 0 digest(s)." in result.output and smtp_server.messages() == []
