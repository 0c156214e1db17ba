"""Pages stay the same size however much there is: capped sections, capped counts, pages.

A user with thousands of follow-ups due sees ten per section on the home page and a link
to the whole section, a page at a time; lists count their rows only up to 1,000; a
search never counts beyond the page it shows.
"""

import re
from datetime import date, timedelta

import pytest
from helpers import add_follow_ups, add_organisations, utc
from sqlalchemy import insert

from tracker.db import db
from tracker.models import Contact, FollowUp

NOW = utc(2026, 11, 21, 9, 0)
TODAY = date(2026, 11, 21)


@pytest.fixture(autouse=True)
def _setup(app, monkeypatch):
    app.config["NOW"] = NOW


@pytest.fixture
def user(make_user, login):
    user = make_user()
    login(user)
    return user


def follow_ups(app, user, days: list[int]) -> None:
    """Manual follow-ups due `days` from today, titled by their number."""
    due = {f"Item {n:04d}": TODAY + timedelta(days=day) for n, day in enumerate(days)}
    add_follow_ups(app, user, due)


def contacts(app, user, count: int, name: str = "Person") -> None:
    with app.app_context():
        db.session.execute(
            insert(Contact),
            [{"user_id": user.id, "name": f"{name} {n:04d}"} for n in range(count)],
        )
        db.session.commit()


def shown_items(page: str) -> list[str]:
    """The numbers of the follow-ups listed, in order (each item names itself twice)."""
    return list(dict.fromkeys(re.findall(r">Item (\d{4})<", page)))


def section(page: str, key: str) -> str:
    """The HTML of one section of the home page."""
    return page.split(f'id="h-{key}"', 1)[1].split("</section>", 1)[0]


def test_the_home_page_shows_ten_per_section_and_links_to_the_rest(app, client, user):
    follow_ups(app, user, [-5] * 25 + [0] * 3 + [3] * 11 + [30] * 10)
    page = client.get("/").get_data(as_text=True)
    overdue, today, week, later = (section(page, k) for k in ("overdue", "today", "week", "later"))
    assert len(shown_items(overdue)) == 10 and '<span class="count">10+</span>' in overdue
    assert 'href="/follow-ups/?section=overdue"' in overdue
    assert len(shown_items(today)) == 3 and "Show all" not in today
    assert len(shown_items(week)) == 10 and 'href="/follow-ups/?section=week"' in week
    assert len(shown_items(later)) == 10 and "Show all" not in later  # exactly ten: no more


def test_a_whole_section_a_page_at_a_time(app, client, user):
    follow_ups(app, user, [-n - 1 for n in range(120)])  # Item 0000 is the least overdue
    first = client.get("/follow-ups/?section=overdue").get_data(as_text=True)
    assert shown_items(first) == [f"{n:04d}" for n in range(119, 69, -1)]  # oldest first
    assert '<span class="count">120</span>' in first and "Page 1 of 3" in first
    last = client.get("/follow-ups/?section=overdue&page=3").get_data(as_text=True)
    assert len(shown_items(last)) == 20 and "Page 3 of 3" in last
    assert 'href="/follow-ups/?page=2&amp;section=overdue"' in last
    assert client.get("/follow-ups/?section=later").status_code == 200
    assert client.get("/follow-ups/?section=someday").status_code == 404


def test_the_due_badge_stops_counting_at_99(app, client, user):
    follow_ups(app, user, [-1] * 150 + [0] * 10 + [5] * 5)
    page = client.get("/contacts/").get_data(as_text=True)
    assert '<span class="badge" aria-label="99+ due">99+</span>' in page
    with app.app_context():
        db.session.execute(db.delete(FollowUp).where(FollowUp.due_on < TODAY))
        db.session.commit()
    page = client.get("/contacts/").get_data(as_text=True)
    assert '<span class="badge" aria-label="10 due">10</span>' in page


def test_long_lists_count_to_a_thousand(app, client, user):
    contacts(app, user, 1001)
    page = client.get("/contacts/").get_data(as_text=True)
    assert "More than 1,000 people" in page
    assert "<span>Page 1</span>" in page and 'href="/contacts/?page=2"' in page
    with app.app_context():
        db.session.execute(db.delete(Contact).where(Contact.name == "Person 1000"))
        db.session.commit()
    page = client.get("/contacts/").get_data(as_text=True)
    assert "1000 people" in page and "Page 1 of 20" in page


def test_the_last_page_knows_the_total_without_counting(app, client, user):
    contacts(app, user, 1060)
    last = client.get("/contacts/?page=22").get_data(as_text=True)
    assert "1060 people" in last and "Page 22 of 22" in last and "Next" not in last
    beyond = client.get("/contacts/?page=30")
    assert beyond.status_code == 200 and ">Person " not in beyond.get_data(as_text=True)


def test_a_search_counts_no_further_than_its_page(app, client, user):
    contacts(app, user, 51, "Tanaka")
    contacts(app, user, 10, "Other")
    page = client.get("/contacts/?q=tanaka").get_data(as_text=True)
    assert "More than 50 people matching “tanaka”" in page
    assert "<span>Page 1</span>" in page and 'href="/contacts/?page=2&amp;q=tanaka"' in page
    second = client.get("/contacts/?q=tanaka&page=2").get_data(as_text=True)
    assert "51 people matching" in second and "Page 2 of 2" in second
    assert client.get("/contacts/?q=other").get_data(as_text=True).count(">Other ") == 10


def test_organisations_count_to_a_thousand_too(app, client, user):
    add_organisations(app, user, [f"Org {n:04d}" for n in range(1001)])
    page = client.get("/organisations/").get_data(as_text=True)
    assert "<span>Page 1</span>" in page and 'href="/organisations/?page=2"' in page
    assert page.count(">Org ") == 50
