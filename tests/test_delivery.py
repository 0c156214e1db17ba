"""The email delivery page: the scheduler's last run, the next digest, and every email."""

import html
from datetime import date, timedelta
from pathlib import Path

import pytest
from helpers import utc

from tracker import agenda, followups
from tracker.db import db
from tracker.mail import dispatch, enqueue_test_email
from tracker.models import JobRun, Outbox, OutboxStatus, User

NOW = utc(2026, 11, 21, 7, 0)


@pytest.fixture(autouse=True)
def fixed_clock(app):
    app.config["NOW"] = NOW
    app.config["SMTP_HOST"] = ""


def add_email(app, user, subject: str, status=OutboxStatus.SENT, **fields) -> int:
    """An outbox row as the sender leaves it."""
    with app.app_context():
        row = Outbox(
            user_id=user.id,
            key=f"{subject}:{user.id}",
            kind=fields.pop("kind", "test"),
            recipient=user.email,
            subject=subject,
            message=f"Subject: {subject}\n\nHello.\n",
            message_id=f"<{abs(hash(subject))}@example.com>",
            status=status,
            created_at=fields.pop("created_at", NOW - timedelta(hours=1)),
            **fields,
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def page_text(client, url: str = "/delivery/") -> str:
    response = client.get(url)
    assert response.status_code == 200
    return html.unescape(response.get_data(as_text=True))


def test_the_page_needs_a_login(client):
    assert client.get("/delivery/").status_code == 302


def test_linked_from_settings(client, login, make_user):
    login(make_user())
    assert 'href="/delivery/"' in client.get("/settings/").get_data(as_text=True)


def test_a_scheduler_that_never_ran_says_so(client, login, make_user):
    login(make_user())
    assert "The scheduler has never run" in page_text(client)


def test_job_runs_in_the_users_zone_and_in_words(app, client, login, make_user):
    login(make_user(timezone="Europe/Berlin"))
    with app.app_context():
        db.session.add_all(
            [
                JobRun(
                    name="dispatch-outbox",
                    last_run_at=NOW - timedelta(minutes=2),
                    last_success_at=NOW - timedelta(minutes=2),
                ),
                JobRun(
                    name="plan-digests",
                    last_run_at=NOW - timedelta(minutes=1),
                    last_success_at=NOW - timedelta(hours=3),
                    last_error="OperationalError: carol@example.com ...",
                ),
            ]
        )
        db.session.commit()

    text = page_text(client)

    assert "Send emails" in text
    assert "Last run: 21 Nov 07:58 (2 minutes ago)" in text  # 06:58 UTC in Berlin
    assert "Last success: 21 Nov 05:00 (3 hours ago)" in text
    assert "The last run failed" in text
    assert "carol@example.com" not in text  # a job's error may name anyone: it stays in the log


def test_no_digest_when_nothing_is_due(client, login, make_user):
    login(make_user())
    assert "No follow-ups due today — no digest will be sent." in page_text(client)


def test_the_next_digest_with_what_is_due(app, client, login, make_user, make_interview):
    app.config["NOW"] = utc(2026, 11, 21, 7, 45)
    user = make_user()
    login(user)
    make_interview(user, people=[{"name": "Dana Smith"}], held_on=date(2026, 11, 20))

    assert "Next digest: today at 08:00 (UTC), with 1 follow-up." in page_text(client)

    app.config["NOW"] = utc(2026, 11, 21, 8, 5)  # the hour has come, the job not yet run
    assert "Next digest: now, at the scheduler's next run, with 1 follow-up." in page_text(client)

    add_email(app, user, "1 follow-up due today", kind="digest", local_date=date(2026, 11, 21))
    assert "Next digest: tomorrow, 22 Nov at 08:00 (UTC), with 1 follow-up." in page_text(client)

    with app.app_context():
        owner = db.session.get(User, user.id)
        for follow_up in agenda.due_for_digest(owner, date(2026, 11, 21)):
            followups.complete(owner, follow_up)
        db.session.commit()
    assert "No follow-ups due tomorrow, 22 Nov — no digest will be sent." in page_text(client)


def test_a_digest_that_is_off_says_so(app, client, login, make_user, make_interview):
    user = make_user()
    login(user)
    make_interview(user, people=[{"name": "Dana Smith"}], held_on=date(2026, 11, 20))
    with app.app_context():
        db.session.get(User, user.id).digest_enabled = False
        db.session.commit()

    assert "The daily digest is off." in page_text(client)


def test_the_log_shows_every_email_and_failures_with_their_error(app, client, login, make_user):
    user, other = make_user(), make_user()
    login(user)
    add_email(app, user, "Keepwarm test email", sent_at=NOW - timedelta(minutes=59), attempts=1)
    add_email(
        app,
        user,
        "3 follow-ups due today",
        status=OutboxStatus.FAILED,
        attempts=5,
        last_error="550 5.1.1 mailbox unavailable",
    )
    add_email(
        app,
        user,
        "2 follow-ups due today",
        status=OutboxStatus.PENDING,
        attempts=2,
        last_error="connection failed: timed out",
        next_attempt_at=NOW + timedelta(minutes=4),
    )
    add_email(app, other, "Someone else's digest", status=OutboxStatus.FAILED, last_error="x")

    text = page_text(client)

    assert "Keepwarm test email" in text
    assert '<tr class="failed">' in text
    assert "Failed" in text and "550 5.1.1 mailbox unavailable" in text
    assert "Retrying" in text and "Next attempt 21 Nov 07:04 (in 4 minutes)" in text
    assert "21 Nov 06:01 (59 minutes ago)" in text
    assert "Someone else's digest" not in text


def test_the_log_is_paginated(app, client, login, make_user):
    user = make_user()
    login(user)
    app.config["PER_PAGE"] = 2
    for minute in range(3):
        add_email(app, user, f"Email {minute}", created_at=NOW - timedelta(minutes=minute + 1))

    first, second = page_text(client), page_text(client, "/delivery/?page=2")

    assert "Email 0" in first and "Email 1" in first and "Email 2" not in first
    assert "Email 2" in second and "Page 2 of 2" in second
    assert page_text(client, "/delivery/?page=abc")  # odd page numbers are page 1


def test_one_email_shows_its_headers_and_text(app, client, login, make_user):
    user = make_user()
    login(user)
    with app.app_context():
        enqueue_test_email(db.session.get(User, user.id))
        db.session.commit()
        ident = db.session.execute(db.select(Outbox.id)).scalar_one()

    text = page_text(client, f"/delivery/{ident}")

    assert "Keepwarm test email" in text
    assert f"<dt>To</dt><dd>{user.email}</dd>" in text
    assert "Message-ID" in text
    assert "If you are reading it, your reminder emails will reach you." in text


def test_another_users_email_is_not_found(app, client, login, make_user):
    user, other = make_user(), make_user()
    login(user)
    theirs = add_email(app, other, "Someone else's digest")

    for url in (f"/delivery/{theirs}", "/delivery/999999"):
        response = client.get(url)
        assert response.status_code == 404
        assert "Someone else" not in response.get_data(as_text=True)


def test_without_smtp_the_eml_files_are_listed_and_viewable(app, client, login, make_user):
    user, other = make_user(), make_user()
    login(user)
    with app.app_context():
        for person in (user, other):
            enqueue_test_email(db.session.get(User, person.id))
        db.session.commit()
        dispatch()  # the real sender, writing files as it does without SMTP_HOST
        mine, theirs = db.session.execute(db.select(Outbox).order_by(Outbox.id)).scalars()
        assert mine.status is OutboxStatus.SENT
    files = sorted(p.name for p in (Path(app.instance_path) / "mail").glob("*.eml"))
    assert len(files) == 2

    text = page_text(client)

    assert "SMTP_HOST" in text
    [shown] = [name for name in files if f"instance/mail/{name}" in text]
    assert shown.endswith(f"-{mine.id}.eml")
    assert f'href="/delivery/{mine.id}"' in text
    assert f"-{theirs.id}.eml" not in text
    assert shown in page_text(client, f"/delivery/{mine.id}")


def test_linked_from_every_page_footer(client, login, make_user):
    login(make_user())
    assert 'href="/delivery/"' in client.get("/contacts/").get_data(as_text=True)
