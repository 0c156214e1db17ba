"""Follow-up rows are rendered once and kept, and never shown stale: whatever a row shows
changes its key (tracker/web/followup_rows.py)."""

import re
from datetime import date

from helpers import utc

from tracker import agenda
from tracker.db import db
from tracker.models import Contact, FollowUp, FollowUpKind, Interaction, InteractionKind
from tracker.web.followup_rows import CACHE, followup_page, followup_row

NOW = utc(2026, 11, 25, 12, 0)
TODAY = date(2026, 11, 25)


def thank_you_row(html: str) -> str:
    """The home page's row of the thank-you note."""
    rows = re.findall(r'<li class="followup".*?</li>', html, re.S)
    [row] = [r for r in rows if "Thank-you note" in r]
    return row


def test_a_row_is_rendered_once_and_kept(app, make_user, make_interview):
    app.config["NOW"] = NOW
    user = make_user()
    make_interview(user, held_on=date(2026, 11, 24), people=[{"name": "Dana Smith"}])
    with app.app_context():
        [follow_up] = db.session.execute(
            db.select(FollowUp).filter_by(kind=FollowUpKind.THANK_YOU)
        ).scalars()
        [item] = agenda.describe([follow_up], TODAY)
        with app.test_request_context("/"):
            page = followup_page("a-token", "/", TODAY)
            first = followup_row(item, page)
            again = followup_row(item, page)
            other_day = followup_row(item, followup_page("a-token", "/", date(2026, 11, 26)))
            other_session = followup_row(item, followup_page("b-token", "/", TODAY))
            elsewhere = followup_row(item, followup_page("a-token", "/organisations/1", TODAY))
    assert again is first  # kept, not rendered again
    assert "due yesterday" not in first and "1 day overdue" not in first
    assert "due today" in first
    assert other_day is not first and "1 day overdue" in other_day
    assert 'value="a-token"' in first and 'value="b-token"' not in first
    assert 'value="b-token"' in other_session and 'value="a-token"' not in other_session
    assert 'value="/#follow-up-' in first
    assert 'value="/organisations/1#follow-up-' in elsewhere
    assert app.extensions[CACHE].entries  # what the pages will reuse


def test_a_changed_person_note_or_day_shows_at_once(app, client, make_user, login, make_interview):
    app.config["NOW"] = NOW
    user = make_user()
    make_interview(
        user,
        held_on=date(2026, 11, 24),
        people=[{"name": "Dana Smith", "email": "dana@example.com"}],
    )
    login(user)
    before = thank_you_row(client.get("/").get_data(as_text=True))
    assert "Dana Smith" in before and "due today" in before
    assert "mailto:dana@example.com" in before

    with app.app_context():
        contact = db.session.execute(db.select(Contact).filter_by(name="Dana Smith")).scalar_one()
        contact.name = "Dana <Jones>"
        contact.email = "dana.jones@example.com"
        db.session.commit()
    renamed = thank_you_row(client.get("/").get_data(as_text=True))
    assert "Dana &lt;Jones&gt;" in renamed and "Dana Smith" not in renamed
    assert "mailto:dana.jones@example.com" in renamed
    assert "Last note" not in renamed

    with app.app_context():
        contact = db.session.execute(db.select(Contact).filter_by(user_id=user.id)).scalar_one()
        db.session.add(
            Interaction(
                user_id=user.id,
                contact_id=contact.id,
                kind=InteractionKind.CALL,
                occurred_on=TODAY,
                note="Talked about the Q1 roadmap",
            )
        )
        db.session.commit()
    noted = thank_you_row(client.get("/").get_data(as_text=True))
    assert "Last note: “Talked about the Q1 roadmap”" in noted

    app.config["NOW"] = utc(2026, 11, 27, 12, 0)
    browser = login(user, as_client=app.test_client())  # yesterday's session has expired
    later = thank_you_row(browser.get("/").get_data(as_text=True))
    assert "2 days overdue" in later and "due-overdue" in later
    assert 'min="2026-11-27"' in later


def test_another_session_gets_forms_with_its_own_token(app, make_user, login, make_interview):
    app.config["NOW"] = NOW
    user = make_user()
    make_interview(user, held_on=date(2026, 11, 24), people=[{"name": "Dana Smith"}])
    tokens = []
    for _ in range(2):
        browser = login(user, as_client=app.test_client())
        html = browser.get("/").get_data(as_text=True)
        row_tokens = re.findall(r'name="csrf_token" value="([^"]+)"', thank_you_row(html))
        page_tokens = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
        assert len(row_tokens) >= 2 and len(page_tokens) == 1  # the layout's and the rows'
        assert set(row_tokens) == page_tokens
        tokens.append(row_tokens[0])
    assert tokens[0] != tokens[1]
