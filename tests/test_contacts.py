"""Contacts: search, pages, edit, moves between organisations, delete."""

import re
from datetime import UTC, date, datetime

import pytest
from helpers import (
    field_error,
    field_value,
    row_counts,
    textarea_value,
)

from tracker.contacts import contacts_query, meetings, record_move
from tracker.db import db
from tracker.followups import log_interaction
from tracker.interviews import known_people
from tracker.models import (
    Contact,
    FollowUp,
    Interaction,
    InteractionKind,
    Interview,
    Organisation,
    Participant,
    ParticipantRole,
    Position,
    User,
)
from tracker.organisations import find_or_create_organisation, summarise

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def add_contact(user_id: int, name: str, organisation: str = "", title: str = "") -> Contact:
    contact = Contact(user_id=user_id, name=name)
    if organisation:
        place = find_or_create_organisation(user_id, organisation)
        contact.positions.append(Position(organisation_id=place.id, title=title))
    db.session.add(contact)
    db.session.flush()
    return contact


@pytest.fixture
def people(app, user):
    """A small address book with awkward names."""
    with app.app_context():
        add_contact(user.id, "Dana Smith", "Acme", "CTO")
        add_contact(user.id, "Lee Chen", "Globex", "Recruiter")
        add_contact(user.id, "Pat 100% Lee", "Initech", "Engineer")
        add_contact(user.id, "Under_Score", "Initech", "")
        add_contact(user.id, "Kim Park", "Umbrella", "QA_Lead")
        add_contact(user.id, "Nobody Anywhere")
        db.session.commit()


def search(user_id: int, term: str) -> list[str]:
    return [c.name for c in db.session.execute(contacts_query(user_id, term)).all()]


# --- Search --------------------------------------------------------------------------------


@both_databases
@pytest.mark.parametrize(
    ("term", "expected"),
    [
        (
            "",
            [
                "Dana Smith",
                "Kim Park",
                "Lee Chen",
                "Nobody Anywhere",
                "Pat 100% Lee",
                "Under_Score",
            ],
        ),
        ("dana", ["Dana Smith"]),
        ("SMITH", ["Dana Smith"]),
        ("  lee  ", ["Lee Chen", "Pat 100% Lee"]),
        ("cto", ["Dana Smith"]),  # job title
        ("recruit", ["Lee Chen"]),
        ("GLOBEX", ["Lee Chen"]),  # organisation
        ("initech", ["Pat 100% Lee", "Under_Score"]),
        ("%", ["Pat 100% Lee"]),  # wildcards are taken literally
        ("100%", ["Pat 100% Lee"]),
        ("_", ["Kim Park", "Under_Score"]),
        ("a_e", []),
        ("d%h", []),
        ("\\", []),
        ("zzz", []),
    ],
)
def test_search_by_name_title_or_organisation(app, user, people, term, expected):
    with app.app_context():
        assert search(user.id, term) == expected


@both_databases
def test_search_finds_people_by_where_they_used_to_work(app, user, people):
    with app.app_context():
        lee = db.session.execute(db.select(Contact).filter_by(name="Lee Chen")).scalar_one()
        record_move(lee, "Hooli", "Head of Talent", None, date(2026, 11, 1))
        db.session.commit()
        assert search(user.id, "globex") == ["Lee Chen"]
        assert search(user.id, "hooli") == ["Lee Chen"]
        assert search(user.id, "head of") == ["Lee Chen"]


def test_search_never_shows_someone_elses_contacts(app, user, people, make_user):
    other = make_user()
    with app.app_context():
        add_contact(other.id, "Dana Secret", "Acme", "CTO")
        db.session.commit()
        assert search(user.id, "dana") == ["Dana Smith"]
        assert search(other.id, "") == ["Dana Secret"]


def test_the_search_page(client, user, people):
    page = client.get("/contacts/?q=InItEcH").get_data(as_text=True)
    assert "Pat 100% Lee" in page and "Under_Score" in page and "Dana Smith" not in page
    assert 'value="InItEcH"' in page
    assert "2 people" in page
    page = client.get("/contacts/?q=%25").get_data(as_text=True)  # a literal "%"
    assert "Pat 100% Lee" in page and "Dana Smith" not in page
    page = client.get("/contacts/?q=nothing+like+it").get_data(as_text=True)
    assert "No one matches" in page


@both_databases
def test_odd_searches_do_not_break_the_page(client, user, people):
    for query in ("%00", "a%00b", "%27%3B--", "<script>", "x" * 5000, "%F0%9F%9A%80"):
        response = client.get(f"/contacts/?q={query}")
        assert response.status_code == 200, query
        assert "<script>" not in response.get_data(as_text=True).split("<main", 1)[1]


def test_fifty_one_contacts_make_two_pages(client, app, user):
    with app.app_context():
        for number in range(51):
            add_contact(user.id, f"Person {number:02d}", "Acme")
        db.session.commit()
    first = client.get("/contacts/").get_data(as_text=True)
    second = client.get("/contacts/?page=2").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Page 2 of 2" in second
    assert first.count(">Person ") == 50 and "Person 50" not in first
    assert second.count(">Person ") == 1 and "Person 50" in second
    assert "51 people" in first
    for odd in ("abc", "0", "-1", "1.5", "99999999999"):
        page = client.get(f"/contacts/?page={odd}").get_data(as_text=True)
        assert "Person 00" in page and "Page 1 of 2" in page, odd
    beyond = client.get("/contacts/?page=7")
    assert beyond.status_code == 200 and ">Person " not in beyond.get_data(as_text=True)
    searched = client.get("/contacts/?q=person&page=2").get_data(as_text=True)
    assert "Person 50" in searched and 'href="/contacts/?page=1&amp;q=person"' in searched


def test_the_list_shows_each_contacts_current_job(client, app, user):
    """The list reads jobs as rows: the one it shows is Contact.current_position."""
    with app.app_context():

        def job(contact, organisation, title, started_on, ended_on=None) -> None:
            place = find_or_create_organisation(user.id, organisation)
            contact.positions.append(
                Position(
                    organisation_id=place.id,
                    title=title,
                    started_on=started_on,
                    ended_on=ended_on,
                )
            )

        lee = add_contact(user.id, "Lee Chen")
        job(lee, "Acme", "Recruiter", date(2026, 1, 15), date(2026, 2, 1))  # latest, but over
        job(lee, "Initech", "Advisor", date(2024, 1, 1))
        job(lee, "Globex", "Head of Talent", date(2025, 3, 1))  # the current job begun last
        kim = add_contact(user.id, "Kim Park")
        job(kim, "Hooli", "Tester", date(2020, 1, 1), date(2023, 1, 1))
        job(kim, "Umbrella", "QA Lead", date(2024, 1, 1), date(2025, 6, 30))
        add_contact(user.id, "Nobody Anywhere")
        db.session.commit()
        db.session.expire_all()
        shown = {c.name: c.current_position for c in (lee, kim)}
        assert (shown["Lee Chen"].title, shown["Kim Park"].title) == ("Head of Talent", "QA Lead")
    page = client.get("/contacts/").get_data(as_text=True)
    items = re.findall(r'<li class="list-item">(.*?)</li>', page, re.S)
    assert len(items) == 3
    kim_item, lee_item, nobody_item = (" ".join(item.split()) for item in items)
    assert "Kim Park" in kim_item and "QA Lead · Umbrella (until 30 Jun 2025)" in kim_item
    assert "Lee Chen" in lee_item and "Head of Talent · Globex</span>" in lee_item
    assert "Initech" not in lee_item and "Acme" not in lee_item and "Hooli" not in kim_item
    assert "Nobody Anywhere" in nobody_item and "meta" not in nobody_item
    # A search reads its rows another way, and shows the same current jobs.
    found = client.get("/contacts/?q=park").get_data(as_text=True)
    [kim_found] = re.findall(r'<li class="list-item">(.*?)</li>', found, re.S)
    assert "QA Lead · Umbrella (until 30 Jun 2025)" in " ".join(kim_found.split())


# --- The contact page ----------------------------------------------------------------------


def test_the_page_shows_details_meetings_notes_and_jobs(client, app, user, make_interview):
    make_interview(
        user,
        "Acme",
        role="Platform Engineer",
        held_on=date(2026, 3, 4),
        people=[
            {
                "name": "Dana Smith",
                "title": "CTO",
                "email": "dana@example.com",
                "phone": "+44 20 7946 0000",
                "linkedin_url": "https://www.linkedin.com/in/dana",
                "role": ParticipantRole.HIRING_MANAGER,
                "topics": "Event sourcing",
            }
        ],
    )
    with app.app_context():
        dana = db.session.execute(db.select(Contact).filter_by(name="Dana Smith")).scalar_one()
        dana.notes = "Likes <b>bold</b> ideas"
        log_interaction(
            db.session.get(User, user.id),
            dana,
            InteractionKind.COFFEE,
            date(2026, 11, 2),
            "Coffee near the office",
        )
        db.session.commit()
        dana_id = dana.id
    page = client.get(f"/contacts/{dana_id}").get_data(as_text=True)
    for text in (
        "Dana Smith",
        "dana@example.com",
        "+44 20 7946 0000",
        'href="https://www.linkedin.com/in/dana"',
        "CTO",
        "Acme",
        "Platform Engineer",
        "4 Mar",
        "Hiring manager",
        "Event sourcing",
        "Likes &lt;b&gt;bold&lt;/b&gt; ideas",
        "Coffee near the office",
    ):
        assert text in page, text


def test_someone_elses_contact_is_not_found(client, app, user, make_user):
    other = make_user()
    with app.app_context():
        secret = add_contact(other.id, "Secret Person", "Acme").id
        db.session.commit()
    before = row_counts(app)
    for url in (f"/contacts/{secret}", f"/contacts/{secret}/edit", f"/contacts/{secret}/delete"):
        assert client.get(url).status_code == 404
    assert client.post(f"/contacts/{secret}/edit", data={"name": "Mine"}).status_code == 404
    assert client.post(f"/contacts/{secret}/move", data={"organisation": "X"}).status_code == 404
    assert client.post(f"/contacts/{secret}/delete").status_code == 404
    assert row_counts(app) == before


# --- Edit ----------------------------------------------------------------------------------


def test_edit_saves_the_details(client, app, user, people):
    with app.app_context():
        dana = db.session.execute(db.select(Contact.id).filter_by(name="Dana Smith")).scalar_one()
    page = client.get(f"/contacts/{dana}/edit").get_data(as_text=True)
    assert field_value(page, "name") == "Dana Smith"
    response = client.post(
        f"/contacts/{dana}/edit",
        data={
            "name": " Dana Smith-Jones ",
            "email": "dana@example.org",
            "phone": "555",
            "linkedin_url": "http://linkedin.example.com/dana",
            "notes": "Met twice 🙂",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        saved = db.session.get(Contact, dana)
        assert (saved.name, saved.email, saved.phone, saved.linkedin_url, saved.notes) == (
            "Dana Smith-Jones",
            "dana@example.org",
            "555",
            "http://linkedin.example.com/dana",
            "Met twice 🙂",
        )
        assert saved.remind is False  # an unticked box posts nothing


@pytest.mark.parametrize(
    ("override", "field_id", "message"),
    [
        ({"name": ""}, "name", "Enter the person's name."),
        ({"name": "n" * 201}, "name", "longer than 200"),
        ({"email": "dana@@example.com"}, "email", "Enter an email address like"),
        ({"email": "dana@localhost"}, "email", "Enter an email address like"),
        ({"phone": "1" * 51}, "phone", "longer than 50"),
        ({"linkedin_url": "javascript:alert(document.cookie)"}, "linkedin_url", "https://"),
        ({"linkedin_url": "//evil.example.com"}, "linkedin_url", "https://"),
        ({"linkedin_url": "https://e.com/" + "x" * 500}, "linkedin_url", "longer than 500"),
        ({"notes": "n" * 10_001}, "notes", "longer than 10000"),
    ],
)
def test_bad_edits_are_explained_and_change_nothing(
    client, app, user, people, override, field_id, message
):
    with app.app_context():
        dana = db.session.execute(db.select(Contact.id).filter_by(name="Dana Smith")).scalar_one()
    before = row_counts(app)
    form = {
        "name": "Dana Renamed",
        "email": "dana@example.com",
        "phone": "555",
        "linkedin_url": "https://www.linkedin.com/in/dana",
        "notes": "typed",
        "remind": "y",
        **override,
    }
    response = client.post(f"/contacts/{dana}/edit", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in (field_error(page, field_id) or ""), field_error(page, field_id)
    for key in ("name", "email", "phone", "linkedin_url"):
        assert field_value(page, key) == form[key], key
    assert textarea_value(page, "notes") == form["notes"]
    assert row_counts(app) == before
    with app.app_context():
        saved = db.session.get(Contact, dana)
        assert (saved.name, saved.email, saved.notes) == ("Dana Smith", "", "")


# --- Moves ---------------------------------------------------------------------------------


@both_databases
def test_a_move_keeps_the_old_job_and_starts_the_new_one(app, make_user, make_interview):
    user = make_user()
    make_interview(user, "Acme", people=[{"name": "Lee Chen", "title": "Recruiter"}])
    with app.app_context():
        lee = db.session.execute(db.select(Contact).filter_by(name="Lee Chen")).scalar_one()
        record_move(lee, "Globex", "Head of Talent", date(2027, 1, 10), date(2026, 12, 1))
        db.session.commit()
        db.session.expire_all()
        lee = db.session.get(Contact, lee.id)
        assert [
            (p.organisation.name, p.title, p.started_on, p.ended_on) for p in lee.positions
        ] == [
            ("Globex", "Head of Talent", date(2027, 1, 10), None),
            ("Acme", "Recruiter", None, date(2027, 1, 10)),
        ]
        assert lee.current_position.organisation.name == "Globex"
        globex = db.session.execute(db.select(Organisation).filter_by(name="Globex")).scalar_one()
        acme = db.session.execute(db.select(Organisation).filter_by(name="Acme")).scalar_one()
        # Warm at Globex now: offered when logging an interview there, counted there.
        assert [c.name for c in known_people(user.id, globex.id)] == ["Lee Chen"]
        assert summarise([globex])[0].contacts == 1
        # And the Acme history is intact.
        assert [c.name for c in known_people(user.id, acme.id)] == ["Lee Chen"]
        assert [i.organisation.name for _, i in meetings(lee)] == ["Acme"]


def test_a_move_without_a_date_starts_today(app, make_user):
    user = make_user()
    with app.app_context():
        dana = add_contact(user.id, "Dana", "Acme", "CTO")
        record_move(dana, "acme", "CEO", None, date(2026, 11, 25))  # a promotion, same place
        db.session.commit()
        assert [(p.title, p.started_on, p.ended_on) for p in dana.positions] == [
            ("CEO", date(2026, 11, 25), None),
            ("CTO", None, date(2026, 11, 25)),
        ]
        assert len(list(db.session.execute(db.select(Organisation)).scalars())) == 1


def test_recording_a_move_through_the_page(client, app, user, make_interview):
    met_at = make_interview(user, "Acme", people=[{"name": "Lee Chen", "title": "Recruiter"}])
    with app.app_context():
        lee = db.session.execute(db.select(Contact.id)).scalar_one()
    response = client.post(
        f"/contacts/{lee}/move",
        data={"organisation": "Globex", "title": "Head of Talent", "started_on": "2026-10-01"},
    )
    assert response.status_code == 302
    page = client.get(f"/contacts/{lee}").get_data(as_text=True)
    assert page.index("Globex") < page.index("Recruiter")  # the current job first
    assert "Head of Talent" in page and "Acme" in page and "until 1 Oct" in page
    assert f'href="/interviews/{met_at}"' in page  # where they were met stays
    listing = client.get("/contacts/").get_data(as_text=True)
    assert "Head of Talent · Globex" in listing
    with app.app_context():
        globex = db.session.execute(
            db.select(Organisation.id).filter_by(name="Globex")
        ).scalar_one()
        acme = db.session.execute(db.select(Organisation.id).filter_by(name="Acme")).scalar_one()
    assert "Lee Chen" in client.get(f"/organisations/{globex}").get_data(as_text=True)
    assert "Lee Chen" in client.get(f"/organisations/{acme}").get_data(as_text=True)
    new_form = client.get(f"/interviews/new?organisation={globex}").get_data(as_text=True)
    assert f'value="{lee}">Lee Chen</option>' in new_form


@pytest.mark.parametrize(
    ("override", "field_id", "message"),
    [
        ({"organisation": ""}, "organisation", "Enter the organisation's name."),
        ({"organisation": "o" * 201}, "organisation", "longer than 200"),
        ({"title": "t" * 201}, "title", "longer than 200"),
        ({"started_on": "2026-02-30"}, "started_on", "date"),
        ({"started_on": "yesterday"}, "started_on", "date"),
        ({"started_on": "9999-01-01"}, "started_on", "Enter a date between"),
    ],
)
def test_a_bad_move_is_explained_and_saves_nothing(
    client, app, user, make_interview, override, field_id, message
):
    make_interview(user, "Acme", people=[{"name": "Lee Chen", "title": "Recruiter"}])
    with app.app_context():
        lee = db.session.execute(db.select(Contact.id)).scalar_one()
    before = row_counts(app)
    form = {
        "organisation": "Globex",
        "title": "Head of Talent",
        "started_on": "2026-10-01",
        **override,
    }
    response = client.post(f"/contacts/{lee}/move", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in (field_error(page, field_id) or "").lower() or message in (
        field_error(page, field_id) or ""
    )
    assert field_value(page, field_id) == form[field_id]
    assert row_counts(app) == before


# --- Delete --------------------------------------------------------------------------------


def test_delete_asks_first(client, app, user, people):
    with app.app_context():
        dana = db.session.execute(db.select(Contact.id).filter_by(name="Dana Smith")).scalar_one()
    before = row_counts(app)
    assert "Delete Dana Smith?" in client.get(f"/contacts/{dana}/delete").get_data(as_text=True)
    assert client.post(f"/contacts/{dana}/delete", csrf=False).status_code == 400
    assert row_counts(app) == before


@both_databases
def test_delete_takes_their_traces_and_leaves_the_interviews(client, app, user, make_interview):
    # The day after the interaction, while the interview's follow-ups are still planned.
    app.config["NOW"] = datetime(2026, 11, 25, 12, tzinfo=UTC)
    make_interview(user, "Acme", people=[{"name": "Dana Smith"}, {"name": "Lee Chen"}])
    with app.app_context():
        dana = db.session.execute(db.select(Contact).filter_by(name="Dana Smith")).scalar_one()
        log_interaction(
            db.session.get(User, user.id), dana, InteractionKind.EMAIL, date(2026, 11, 24), "Thanks"
        )
        record_move(dana, "Globex", "", None, date(2026, 11, 24))
        db.session.commit()
        dana_id = dana.id
        theirs = {
            model.__tablename__: count(model, model.contact_id == dana_id)
            for model in (Participant, Position, Interaction, FollowUp)
        }
    assert all(theirs.values()), theirs
    before = row_counts(app)

    assert client.post(f"/contacts/{dana_id}/delete").status_code == 302

    after = row_counts(app)
    for table, removed in theirs.items():
        assert after[table] == before[table] - removed, table
    assert after["contact"] == before["contact"] - 1
    for table in ("interview", "organisation", "user"):
        assert after[table] == before[table], table
    with app.app_context():
        for model in (Participant, Position, Interaction, FollowUp):
            assert count(model, model.contact_id == dana_id) == 0
        interview = db.session.execute(db.select(Interview)).scalar_one()
        assert [p.contact.name for p in interview.participants] == ["Lee Chen"]
    assert client.get(f"/contacts/{dana_id}").status_code == 404


def count(model, *criteria) -> int:
    return db.session.execute(
        db.select(db.func.count()).select_from(model).where(*criteria)
    ).scalar_one()
