"""Organisations: one per name, their figures, their page, edit and delete."""

from datetime import date

import pytest
from helpers import field_error, field_value, row_counts, textarea_value

from tracker.contacts import record_move
from tracker.db import db
from tracker.followups import log_interaction
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpStatus,
    Interaction,
    InteractionKind,
    Interview,
    Organisation,
    Outcome,
    Participant,
    ParticipantRole,
    Position,
    User,
)
from tracker.organisations import (
    find_or_create_organisation,
    name_key,
    people_at,
    rename_organisation,
    summarise,
)

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def organisation_id(app, name: str) -> int:
    with app.app_context():
        return db.session.execute(
            db.select(Organisation.id).filter_by(name_key=name_key(name))
        ).scalar_one()


def contact_id(app, name: str) -> int:
    with app.app_context():
        return db.session.execute(db.select(Contact.id).filter_by(name=name)).scalar_one()


# --- Use cases -----------------------------------------------------------------------------


def test_name_key_ignores_case_and_spacing():
    assert name_key("  Acme   Corp ") == name_key("ACME corp") == "acme corp"
    assert name_key("Straße") == name_key("STRASSE")


@both_databases
def test_find_or_create_returns_the_one_organisation(app, make_user):
    user = make_user()
    with app.app_context():
        first = find_or_create_organisation(user.id, " Acme  Corp ")
        second = find_or_create_organisation(user.id, "acme corp")
        db.session.commit()
        assert first.id == second.id
        assert first.name == "Acme Corp"


@both_databases
def test_renaming_onto_another_name_is_refused(app, make_user):
    user = make_user()
    with app.app_context():
        acme = find_or_create_organisation(user.id, "Acme")
        globex = find_or_create_organisation(user.id, "Globex")
        assert not rename_organisation(globex, " ACME ")
        assert rename_organisation(acme, "ACME Inc")
        assert rename_organisation(globex, "globex")  # its own name, differently written
        db.session.commit()
        assert (acme.name, acme.name_key) == ("ACME Inc", "acme inc")
        assert globex.name == "globex"


@both_databases
def test_summaries_count_interviews_people_and_the_last_contact(app, make_user, make_interview):
    user = make_user()
    make_interview(user, "Acme", held_on=date(2026, 3, 1), people=[{"name": "Dana"}])
    make_interview(
        user, "Acme", held_on=date(2026, 6, 1), people=[{"name": "Dana"}, {"name": "Lee"}]
    )
    make_interview(user, "Globex", held_on=date(2026, 5, 1))
    with app.app_context():
        owner = db.session.get(User, user.id)
        lee = db.session.execute(db.select(Contact).filter_by(name="Lee")).scalar_one()
        log_interaction(owner, lee, InteractionKind.COFFEE, date(2026, 8, 15))
        db.session.commit()
        organisations = list(
            db.session.execute(db.select(Organisation).order_by(Organisation.name)).scalars()
        )
        acme, globex, initech = summarise(
            [*organisations, find_or_create_organisation(user.id, "Initech")]
        )
        assert (acme.interviews, acme.contacts, acme.last_contact) == (2, 2, date(2026, 8, 15))
        assert (globex.interviews, globex.contacts, globex.last_contact) == (1, 0, date(2026, 5, 1))
        assert (initech.interviews, initech.contacts, initech.last_contact) == (0, 0, None)
        assert summarise([]) == []


def test_people_at_lists_everyone_who_works_or_worked_there(app, make_user, make_interview):
    user = make_user()
    make_interview(user, "Acme", people=[{"name": "Lee", "title": "Recruiter"}, {"name": "Ann"}])
    with app.app_context():
        lee = db.session.execute(db.select(Contact).filter_by(name="Lee")).scalar_one()
        record_move(lee, "Globex", "Head of Talent", date(2026, 12, 1), date(2026, 12, 1))
        db.session.commit()
        acme = db.session.execute(db.select(Organisation).filter_by(name="Acme")).scalar_one()
        people = people_at(acme)
        assert [contact.name for contact, _ in people] == ["Ann", "Lee"]
        [lee_positions] = [positions for contact, positions in people if contact.name == "Lee"]
        assert [(p.title, p.ended_on) for p in lee_positions] == [("Recruiter", date(2026, 12, 1))]


# --- List and page -------------------------------------------------------------------------


def test_the_list_shows_each_organisations_figures(client, app, user, make_interview):
    make_interview(user, "Acme", held_on=date(2026, 3, 1), people=[{"name": "Dana"}])
    make_interview(
        user, "Acme", held_on=date(2026, 6, 1), people=[{"name": "Dana"}, {"name": "Lee"}]
    )
    make_interview(user, "Globex", held_on=date(2025, 5, 1), people=[{"name": "Sam"}])
    page = client.get("/organisations/").get_data(as_text=True)
    acme_row = row_of(page, "Acme")
    assert cell(acme_row, "Interviews") == "2"
    assert cell(acme_row, "People") == "2"
    assert "1 Jun" in cell(acme_row, "Last contact")
    globex_row = row_of(page, "Globex")
    assert (cell(globex_row, "Interviews"), cell(globex_row, "People")) == ("1", "1")
    assert "1 May 2025" in cell(globex_row, "Last contact")
    assert page.index(">Acme</a>") < page.index(">Globex</a>")


def row_of(page: str, name: str) -> str:
    start = page.index(f">{name}</a>")
    return page[start : page.index("</tr>", start)]


def cell(row: str, label: str) -> str:
    start = row.index(f'data-label="{label}">') + len(f'data-label="{label}">')
    return row[start : row.index("</td>", start)].strip()


def test_the_list_is_paginated(client, app, user):
    with app.app_context():
        for number in range(55):
            find_or_create_organisation(user.id, f"Org {number:02d}")
        db.session.commit()
    first = client.get("/organisations/").get_data(as_text=True)
    second = client.get("/organisations/?page=2").get_data(as_text=True)
    assert "Org 49" in first and "Org 50" not in first
    assert "Org 50" in second and "Org 54" in second and "Org 00" not in second
    assert "Page 1 of 2" in first
    assert client.get("/organisations/?page=abc").get_data(as_text=True).count("Org 0") == 10


def test_the_page_shows_every_interview_and_everyone_met_with_their_roles(
    client, app, user, make_interview
):
    first = make_interview(
        user,
        "Acme",
        role="Backend Engineer",
        held_on=date(2026, 3, 4),
        people=[
            {"name": "Dana Smith", "title": "CTO", "role": ParticipantRole.HIRING_MANAGER},
            {"name": "Lee Chen", "role": ParticipantRole.RECRUITER},
        ],
    )
    second = make_interview(
        user,
        "Acme",
        role="Staff Engineer",
        held_on=date(2026, 9, 10),
        outcome=Outcome.DECLINED,
        people=[{"name": "Dana Smith", "role": ParticipantRole.INTERVIEWER}, {"name": "Kim"}],
    )
    make_interview(user, "Globex", role="Elsewhere", people=[{"name": "Other Person"}])
    page = client.get(f"/organisations/{organisation_id(app, 'Acme')}").get_data(as_text=True)

    assert f"/interviews/{first}" in page and f"/interviews/{second}" in page
    assert "Backend Engineer" in page and "Staff Engineer" in page
    assert "Elsewhere" not in page and "Other Person" not in page
    assert "Met Dana Smith, Lee Chen" in page and "Met Dana Smith, Kim" in page
    dana = person_entry(page, "Dana Smith")
    assert "CTO" in dana
    assert "Hiring manager at the" in dana and "4 Mar" in dana
    assert "Interviewer at the" in dana and "10 Sep" in dana
    assert "Recruiter at the" in person_entry(page, "Lee Chen")
    assert "Interviewer at the" in person_entry(page, "Kim")


def test_the_page_shows_the_figures_the_list_shows(client, app, user, make_interview):
    make_interview(user, "Acme", held_on=date(2026, 3, 1), people=[{"name": "Dana"}])
    make_interview(
        user, "Acme", held_on=date(2026, 6, 1), people=[{"name": "Dana"}, {"name": "Lee"}]
    )
    acme = organisation_id(app, "Acme")
    page = client.get(f"/organisations/{acme}").get_data(as_text=True)
    assert (fact(page, "Interviews"), fact(page, "People")) == ("2", "2")
    assert fact(page, "Last contact").startswith("1 Jun")
    lee_id = contact_id(app, "Lee")
    with app.app_context():
        owner = db.session.get(User, user.id)
        lee = db.session.get(Contact, lee_id)
        log_interaction(owner, lee, InteractionKind.COFFEE, date(2026, 8, 15))
        db.session.commit()
    page = client.get(f"/organisations/{acme}").get_data(as_text=True)
    assert fact(page, "Last contact").startswith("15 Aug")
    empty = client.get(f"/organisations/{new_organisation(app, user, 'Initech')}")
    page = empty.get_data(as_text=True)
    assert (fact(page, "Interviews"), fact(page, "People"), fact(page, "Last contact")) == (
        "0",
        "0",
        "never",
    )


def fact(page: str, label: str) -> str:
    start = page.index(f"<dt>{label}</dt><dd>") + len(f"<dt>{label}</dt><dd>")
    return page[start : page.index("</dd>", start)]


def new_organisation(app, user, name: str) -> int:
    with app.app_context():
        organisation = find_or_create_organisation(user.id, name)
        db.session.commit()
        return organisation.id


def person_entry(page: str, name: str) -> str:
    start = page.index(f">{name}</a>")
    return page[start : page.index("</li>", start)]


def test_someone_who_moved_on_is_still_listed_with_their_history(client, app, user, make_interview):
    make_interview(user, "Acme", people=[{"name": "Lee Chen", "title": "Recruiter"}])
    with app.app_context():
        lee = db.session.get(Contact, contact_id(app, "Lee Chen"))
        record_move(lee, "Globex", "Head of Talent", date(2026, 10, 1), date(2026, 10, 1))
        db.session.commit()
    acme = client.get(f"/organisations/{organisation_id(app, 'Acme')}").get_data(as_text=True)
    assert "Recruiter" in person_entry(acme, "Lee Chen") and "left" in person_entry(
        acme, "Lee Chen"
    )
    globex = client.get(f"/organisations/{organisation_id(app, 'Globex')}").get_data(as_text=True)
    assert "Head of Talent" in person_entry(globex, "Lee Chen")
    assert "works here" in person_entry(globex, "Lee Chen")


def test_someone_elses_organisation_is_not_found(client, app, user, make_user, make_interview):
    make_interview(make_user(), "Secret Org", people=[{"name": "Dana"}])
    other = organisation_id(app, "Secret Org")
    before = row_counts(app)
    for url in (
        f"/organisations/{other}",
        f"/organisations/{other}/edit",
        f"/organisations/{other}/delete",
        f"/interviews/new?organisation={other}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/organisations/{other}/delete").status_code == 404
    assert client.post(f"/organisations/{other}/edit", data={"name": "Mine"}).status_code == 404
    assert "Secret Org" not in client.get("/organisations/").get_data(as_text=True)
    assert row_counts(app) == before


# --- Edit ----------------------------------------------------------------------------------


def test_edit_saves_name_website_and_notes(client, app, user, make_interview):
    make_interview(user, "Acme")
    ident = organisation_id(app, "Acme")
    page = client.get(f"/organisations/{ident}/edit").get_data(as_text=True)
    assert field_value(page, "name") == "Acme"
    response = client.post(
        f"/organisations/{ident}/edit",
        data={"name": " Acme  Inc ", "website": "https://acme.example.com", "notes": "Big 🚀"},
    )
    assert response.status_code == 302
    page = client.get(f"/organisations/{ident}").get_data(as_text=True)
    assert "Acme Inc" in page and 'href="https://acme.example.com"' in page and "Big 🚀" in page


@pytest.mark.parametrize(
    ("data", "field_id", "message"),
    [
        ({"name": ""}, "name", "Enter the organisation's name."),
        ({"name": "x" * 201}, "name", "longer than 200"),
        ({"name": "globex"}, "name", "You already have an organisation with this name."),
        ({"website": "javascript:alert(1)"}, "website", "https://"),
        ({"website": "data:text/html,hi"}, "website", "https://"),
        ({"website": "acme.example.com"}, "website", "https://"),
        ({"website": "https://" + "a" * 500}, "website", "longer than 500"),
        ({"notes": "n" * 10_001}, "notes", "longer than 10000"),
    ],
)
def test_bad_edits_are_explained_and_change_nothing(
    client, app, user, make_interview, data, field_id, message
):
    make_interview(user, "Acme")
    make_interview(user, "Globex")
    ident = organisation_id(app, "Acme")
    before = row_counts(app)
    form = {"name": "Acme Renamed", "website": "https://acme.example.com", "notes": "typed", **data}
    response = client.post(f"/organisations/{ident}/edit", data=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in (field_error(page, field_id) or "")
    assert field_value(page, "name") == form["name"]
    assert field_value(page, "website") == form["website"]
    assert textarea_value(page, "notes") == form["notes"]
    assert row_counts(app) == before
    with app.app_context():
        organisation = db.session.get(Organisation, ident)
        assert (organisation.name, organisation.website, organisation.notes) == ("Acme", "", "")


# --- Delete --------------------------------------------------------------------------------


def test_delete_asks_first(client, app, user, make_interview):
    make_interview(user, "Acme", people=[{"name": "Dana"}])
    ident = organisation_id(app, "Acme")
    before = row_counts(app)
    page = client.get(f"/organisations/{ident}/delete").get_data(as_text=True)
    assert "Delete Acme?" in page and "Every interview logged at this organisation." in page
    assert client.post(f"/organisations/{ident}/delete", csrf=False).status_code == 400
    assert row_counts(app) == before


@both_databases
def test_delete_takes_everything_there_and_leaves_the_people(client, app, user, make_interview):
    make_interview(
        user, "Acme", outcome=Outcome.DECLINED, people=[{"name": "Dana"}, {"name": "Lee"}]
    )
    make_interview(user, "Acme", people=[{"name": "Dana"}])
    make_interview(user, "Globex", outcome=Outcome.DECLINED, people=[{"name": "Sam"}])
    ids = {name: contact_id(app, name) for name in ("Dana", "Lee", "Sam")}
    with app.app_context():
        owner = db.session.get(User, user.id)
        for name in ("Dana", "Sam"):
            contact = db.session.get(Contact, ids[name])
            log_interaction(owner, contact, InteractionKind.CALL, date(2026, 11, 22))
        # Lee moved on to Globex: the Globex job stays, the Acme one goes.
        record_move(db.session.get(Contact, ids["Lee"]), "Globex", "", None, date(2026, 11, 23))
        db.session.commit()
    acme = organisation_id(app, "Acme")
    with app.app_context():
        there = {
            "interview": count(Interview, Interview.organisation_id == acme),
            "position": count(Position, Position.organisation_id == acme),
            "interaction": count(Interaction, Interaction.organisation_id == acme),
            "follow_up": count(FollowUp, FollowUp.organisation_id == acme),
            "participant": count(
                Participant,
                Participant.interview_id.in_(
                    db.select(Interview.id).where(Interview.organisation_id == acme)
                ),
            ),
        }
    assert all(there.values()), there
    before = row_counts(app)

    response = client.post(f"/organisations/{acme}/delete")
    assert response.status_code == 302

    after = row_counts(app)
    for table, removed in there.items():
        assert after[table] == before[table] - removed, table
    assert after["organisation"] == before["organisation"] - 1
    assert after["contact"] == before["contact"] == 3
    with app.app_context():
        for model in (Interview, Position, Interaction, FollowUp):
            assert count(model, model.organisation_id == acme) == 0
        lee = db.session.get(Contact, ids["Lee"])
        assert [p.organisation.name for p in lee.positions] == ["Globex"]
    assert client.get(f"/organisations/{acme}").status_code == 404
    assert "Dana" in client.get("/contacts/").get_data(as_text=True)


def test_people_still_met_elsewhere_keep_a_follow_up_plan(client, app, user, make_interview):
    """Deleting one organisation must not leave someone met elsewhere with nothing open."""
    make_interview(
        user,
        "Globex",
        held_on=date(2026, 6, 1),
        outcome=Outcome.DECLINED,
        people=[{"name": "Dana"}],
    )
    dana = contact_id(app, "Dana")
    make_interview(
        user,
        "Acme",
        held_on=date(2026, 10, 1),
        outcome=Outcome.DECLINED,
        people=[{"contact_id": dana}],
    )
    client.post(f"/organisations/{organisation_id(app, 'Acme')}/delete")
    with app.app_context():
        assert (
            count(FollowUp, FollowUp.contact_id == dana, FollowUp.status == FollowUpStatus.OPEN)
            >= 1
        )


def count(model, *criteria) -> int:
    return db.session.execute(
        db.select(db.func.count()).select_from(model).where(*criteria)
    ).scalar_one()
