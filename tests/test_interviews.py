"""Logging an interview with the people met: the use case and the form, all or nothing."""

import re
from datetime import date, time

import pytest
from helpers import (
    field_error,
    field_value,
    interview_form,
    row_counts,
    selected_option,
    textarea_value,
)

from tracker import interviews as use_cases
from tracker.db import db
from tracker.interviews import InterviewInput, PersonInput, save_interview
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpKind,
    FollowUpStatus,
    Interview,
    Organisation,
    Outcome,
    Participant,
    ParticipantRole,
    Position,
    Stage,
    User,
)
from tracker.organisations import find_or_create_organisation

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def interview_input(organisation: str = "Acme", people: list[PersonInput] = (), **fields):
    return InterviewInput(
        organisation=organisation,
        role=fields.get("role", "Backend Engineer"),
        held_on=fields.get("held_on", date(2026, 11, 20)),
        start_time=fields.get("start_time"),
        stage=fields.get("stage", Stage.ONSITE),
        outcome=fields.get("outcome", Outcome.PENDING),
        interest=fields.get("interest", 4),
        notes=fields.get("notes", ""),
        people=list(people),
    )


def all_rows(model) -> list:
    return list(db.session.execute(db.select(model)).scalars())


# --- The use case ------------------------------------------------------------------------


@both_databases
def test_saves_the_interview_with_every_person_met(app, make_user):
    user = make_user(timezone="Europe/Berlin")
    with app.app_context():
        owner = db.session.get(User, user.id)
        interview = save_interview(
            owner,
            interview_input(
                start_time=time(14, 30),
                people=[
                    PersonInput(
                        name="Dana  Smith",
                        title="CTO",
                        email="dana@example.com",
                        role=ParticipantRole.HIRING_MANAGER,
                        topics="Platform rewrite",
                    ),
                    PersonInput(name="Lee Chen", title="Recruiter", role=ParticipantRole.RECRUITER),
                    PersonInput(name="Sam Park"),
                ],
            ),
        )
        db.session.commit()
        db.session.expire_all()

        saved = db.session.get(Interview, interview.id)
        assert saved.organisation.name == "Acme"
        # 14:30 in Berlin in November is 13:30 UTC.
        assert saved.starts_at.isoformat() == "2026-11-20T13:30:00+00:00"
        people = {p.contact.name: p for p in saved.participants}
        assert set(people) == {"Dana Smith", "Lee Chen", "Sam Park"}
        assert people["Dana Smith"].role is ParticipantRole.HIRING_MANAGER
        assert people["Dana Smith"].topics == "Platform rewrite"
        assert people["Dana Smith"].contact.email == "dana@example.com"
        assert people["Lee Chen"].contact.current_position.title == "Recruiter"
        assert all(
            p.contact.current_position.organisation_id == saved.organisation_id
            for p in saved.participants
        )
        assert len(all_rows(Contact)) == 3
        assert len(all_rows(Position)) == 3


@both_databases
def test_organisation_names_match_whatever_the_case_and_spaces(app, make_user):
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        first = save_interview(owner, interview_input("Acme Corp"))
        second = save_interview(owner, interview_input("  acme   CORP "))
        third = save_interview(owner, interview_input("ACME corp"))
        db.session.commit()
        assert first.organisation_id == second.organisation_id == third.organisation_id
        assert [o.name for o in all_rows(Organisation)] == ["Acme Corp"]


def test_each_user_has_their_own_organisations(app, make_user):
    first, second = make_user(), make_user()
    with app.app_context():
        a = save_interview(db.session.get(User, first.id), interview_input("Acme"))
        b = save_interview(db.session.get(User, second.id), interview_input("Acme"))
        db.session.commit()
        assert a.organisation_id != b.organisation_id


@both_databases
def test_a_person_picked_from_the_list_is_one_contact_across_interviews(app, make_user):
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        first = save_interview(owner, interview_input(people=[PersonInput(name="Dana Smith")]))
        dana = first.participants[0].contact
        second = save_interview(
            owner,
            interview_input(
                stage=Stage.FINAL,
                people=[PersonInput(contact_id=dana.id, role=ParticipantRole.HIRING_MANAGER)],
            ),
        )
        db.session.commit()
        assert second.participants[0].contact_id == dana.id
        assert len(all_rows(Contact)) == 1
        assert len(all_rows(Position)) == 1
        assert len(all_rows(Participant)) == 2


def test_the_same_name_at_the_same_organisation_is_the_same_person(app, make_user):
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        save_interview(owner, interview_input("Acme", people=[PersonInput(name="Dana Smith")]))
        again = save_interview(
            owner,
            interview_input(
                "acme", people=[PersonInput(name="dana  smith", email="dana@example.com")]
            ),
        )
        elsewhere = save_interview(
            owner, interview_input("Globex", people=[PersonInput(name="Dana Smith")])
        )
        db.session.commit()
        dana = again.participants[0].contact
        assert dana.name == "Dana Smith"  # the name as first written stays
        assert dana.email == "dana@example.com"  # a detail they did not have is filled in
        assert elsewhere.participants[0].contact_id != dana.id
        assert len(all_rows(Contact)) == 2


def test_the_same_person_twice_in_one_interview_is_one_participant(app, make_user):
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        interview = save_interview(
            owner,
            interview_input(
                people=[PersonInput(name="Dana Smith"), PersonInput(name="dana smith")]
            ),
        )
        db.session.commit()
        assert len(interview.participants) == 1
        assert len(all_rows(Contact)) == 1


def test_someone_elses_contact_is_never_linked(app, make_user):
    mine, theirs = make_user(), make_user()
    with app.app_context():
        other = save_interview(
            db.session.get(User, theirs.id), interview_input(people=[PersonInput(name="Secret")])
        )
        secret_id = other.participants[0].contact_id
        interview = save_interview(
            db.session.get(User, mine.id),
            interview_input(people=[PersonInput(contact_id=secret_id, name="Dana Smith")]),
        )
        db.session.commit()
        assert interview.participants[0].contact_id != secret_id
        assert interview.participants[0].contact.user_id == mine.id
        assert interview.participants[0].contact.name == "Dana Smith"


@both_databases
def test_editing_changes_the_people_and_keeps_the_contacts(app, make_user):
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        interview = save_interview(
            owner,
            interview_input(people=[PersonInput(name="Dana Smith"), PersonInput(name="Lee Chen")]),
        )
        dana = next(p.contact for p in interview.participants if p.contact.name == "Dana Smith")
        save_interview(
            owner,
            interview_input(
                outcome=Outcome.DECLINED,
                people=[
                    PersonInput(contact_id=dana.id, role=ParticipantRole.RECRUITER, topics="Pay"),
                    PersonInput(name="Sam Park"),
                ],
            ),
            interview,
        )
        db.session.commit()
        db.session.expire_all()
        saved = db.session.get(Interview, interview.id)
        assert saved.outcome is Outcome.DECLINED
        assert [(p.contact.name, p.role, p.topics) for p in saved.participants] == [
            ("Dana Smith", ParticipantRole.RECRUITER, "Pay"),
            ("Sam Park", ParticipantRole.INTERVIEWER, ""),
        ]
        # Lee is no longer listed at this interview but stays a contact known at Acme.
        assert {c.name for c in all_rows(Contact)} == {"Dana Smith", "Lee Chen", "Sam Park"}
        assert len(all_rows(Participant)) == 2


@both_databases
def test_moving_an_interview_to_another_organisation_moves_who_was_met_there(app, make_user):
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        kept = save_interview(owner, interview_input("Acme", people=[PersonInput(name="Lee Chen")]))
        wrong = save_interview(
            owner,
            interview_input(
                "Acme",
                people=[PersonInput(name="Dana Smith", title="CTO"), PersonInput(name="Lee Chen")],
            ),
        )
        people = [PersonInput(contact_id=p.contact_id) for p in wrong.participants]
        save_interview(owner, interview_input("Globex", people=people), wrong)
        db.session.commit()
        db.session.expire_all()

        dana = db.session.execute(db.select(Contact).filter_by(name="Dana Smith")).scalar_one()
        lee = db.session.execute(db.select(Contact).filter_by(name="Lee Chen")).scalar_one()
        # Dana was only ever met at this interview: her job moves with it, title and all.
        assert [(p.organisation.name, p.title) for p in dana.positions] == [("Globex", "CTO")]
        # Lee was also met at another Acme interview: Acme stays, Globex is added.
        assert sorted(p.organisation.name for p in lee.positions) == ["Acme", "Globex"]
        assert db.session.get(Interview, kept.id).organisation.name == "Acme"


def test_a_failure_half_way_saves_nothing(app, make_user, monkeypatch):
    user = make_user()
    real = use_cases._resolve_person

    def fail_on_second(owner, organisation_id, person):
        if person.name == "Lee Chen":
            raise RuntimeError("disk full")
        return real(owner, organisation_id, person)

    monkeypatch.setattr(use_cases, "_resolve_person", fail_on_second)
    before = row_counts(app)
    with app.app_context(), pytest.raises(RuntimeError):
        save_interview(
            db.session.get(User, user.id),
            interview_input(
                "New Org", people=[PersonInput(name="Dana"), PersonInput(name="Lee Chen")]
            ),
        )
    assert row_counts(app) == before


@both_databases
def test_interest_outside_one_to_five_is_refused_by_the_database(app, make_user):
    user = make_user()
    with app.app_context():
        owner = db.session.get(User, user.id)
        organisation = find_or_create_organisation(owner.id, "Acme")
        db.session.add(
            Interview(
                user_id=owner.id,
                organisation_id=organisation.id,
                role="x",
                held_on=date(2026, 1, 1),
                stage=Stage.OTHER,
                interest=6,
            )
        )
        with pytest.raises(Exception, match="(?i)interest_range|check constraint"):
            db.session.flush()
        db.session.rollback()


# --- Through the form --------------------------------------------------------------------


def test_the_form_logs_an_interview_with_several_people(client, app, user):
    response = client.post(
        "/interviews/new",
        data=interview_form(
            start_time="09:15",
            outcome="declined",
            notes="Great team",
            people=[
                {
                    "name": "Dana Smith",
                    "title": "CTO",
                    "email": "dana@example.com",
                    "linkedin_url": "https://www.linkedin.com/in/dana",
                    "role": "hiring_manager",
                    "topics": "Platform",
                },
                {
                    "name": "Lee Chen",
                    "title": "Recruiter",
                    "phone": "+44 20 7946 0000",
                    "role": "recruiter",
                },
                {"name": "Sam Park"},
                {},  # an empty row is skipped
            ],
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    for text in (
        "Backend Engineer",
        "Acme",
        "Dana Smith",
        "Lee Chen",
        "Sam Park",
        "09:15",
        "I declined",
        "Great team",
        "Hiring manager",
        "Recruiter",
        "Platform",
    ):
        assert text in page
    counts = row_counts(app)
    assert (counts["interview"], counts["contact"], counts["participant"], counts["position"]) == (
        1,
        3,
        3,
        3,
    )


def test_the_form_matches_an_organisation_typed_differently(client, app, user):
    for name in ("Acme", "acme ", "  ACME"):
        response = client.post("/interviews/new", data=interview_form(organisation=name))
        assert response.status_code == 302
    assert row_counts(app)["organisation"] == 1
    assert row_counts(app)["interview"] == 3
    assert client.get("/organisations/").get_data(as_text=True).count(">Acme</a>") == 1


def test_someone_met_before_can_be_picked_instead_of_typed(client, app, user, make_interview):
    first = make_interview(user, "Acme", people=[{"name": "Dana Smith", "title": "CTO"}])
    with app.app_context():
        organisation_id = db.session.get(Interview, first).organisation_id
        dana_id = db.session.execute(db.select(Contact.id)).scalar_one()
    page = client.get(f"/interviews/new?organisation={organisation_id}").get_data(as_text=True)
    assert field_value(page, "organisation") == "Acme"
    assert re.search(rf'<option[^>]*value="{dana_id}"[^>]*>Dana Smith</option>', page)

    response = client.post(
        "/interviews/new",
        data=interview_form(
            organisation="acme",
            stage="final",
            people=[{"contact_id": dana_id, "role": "hiring_manager"}, {"name": "Lee Chen"}],
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    counts = row_counts(app)
    assert counts["contact"] == 2 and counts["participant"] == 3
    second = response.headers["Location"].rsplit("/", 1)[1]
    contact_page = client.get(f"/contacts/{dana_id}").get_data(as_text=True)
    assert f'href="/interviews/{first}"' in contact_page
    assert f'href="/interviews/{second}"' in contact_page


def test_a_name_already_known_at_the_organisation_is_matched(client, app, user, make_interview):
    make_interview(user, "Acme", people=[{"name": "Dana Smith"}])
    response = client.post(
        "/interviews/new",
        data=interview_form(organisation="ACME", people=[{"name": " dana smith "}]),
    )
    assert response.status_code == 302
    assert row_counts(app)["contact"] == 1
    response = client.post(
        "/interviews/new",
        data=interview_form(organisation="Globex", people=[{"name": "Dana Smith"}]),
    )
    assert row_counts(app)["contact"] == 2  # a namesake elsewhere is someone else


def test_a_contact_not_known_at_the_organisation_cannot_be_picked(
    client, app, user, make_interview
):
    make_interview(user, "Globex", people=[{"name": "Dana Smith"}])
    before = row_counts(app)
    with app.app_context():
        dana_id = db.session.execute(db.select(Contact.id)).scalar_one()
    response = client.post(
        "/interviews/new",
        data=interview_form(organisation="Acme", people=[{"contact_id": dana_id}]),
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "people-0-contact_id")
    assert row_counts(app) == before


def test_add_another_person_adds_a_row_and_saves_nothing(client, app, user):
    data = interview_form(people=[{"name": "Dana Smith"}])
    data["add_person"] = "Add another person"
    response = client.post("/interviews/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert field_value(page, "people-0-name") == "Dana Smith"
    assert 'id="people-1-name"' in page
    assert row_counts(app)["interview"] == 0


def test_editing_through_the_form(client, app, user, make_interview):
    interview_id = make_interview(
        user,
        "Acme",
        people=[{"name": "Dana Smith", "title": "CTO"}, {"name": "Lee Chen"}],
        start_time=time(10, 0),
    )
    page = client.get(f"/interviews/{interview_id}/edit").get_data(as_text=True)
    assert field_value(page, "organisation") == "Acme"
    assert field_value(page, "start_time") == "10:00"
    assert field_value(page, "people-0-name") == "Dana Smith"
    with app.app_context():
        ids = {c.name: c.id for c in all_rows(Contact)}
    assert selected_option(page, "people-0-contact_id") == str(ids["Dana Smith"])

    # Lee is removed, Dana becomes the recruiter, Sam is added, and it was really at Globex.
    response = client.post(
        f"/interviews/{interview_id}/edit",
        data=interview_form(
            organisation="Globex",
            outcome="rejected",
            people=[
                {"contact_id": ids["Dana Smith"], "name": "Dana Smith", "role": "recruiter"},
                {"contact_id": ids["Lee Chen"], "name": "Lee Chen", "remove": "y"},
                {"name": "Sam Park"},
            ],
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert "Globex" in page and "Rejected" in page
    assert "Dana Smith" in page and "Sam Park" in page and "Lee Chen" not in page
    counts = row_counts(app)
    assert (counts["interview"], counts["contact"], counts["participant"]) == (1, 3, 2)
    with app.app_context():
        dana = db.session.get(Contact, ids["Dana Smith"])
        assert [(p.organisation.name, p.title) for p in dana.positions] == [("Globex", "CTO")]
        globex = db.session.execute(db.select(Organisation).filter_by(name="Globex")).scalar_one()
    organisation_page = client.get(f"/organisations/{globex.id}").get_data(as_text=True)
    assert "Dana Smith" in organisation_page and "Recruiter" in organisation_page


def test_the_interview_page_shows_everything(client, user, make_interview):
    interview_id = make_interview(
        user,
        "Acme",
        role="Data Engineer",
        stage=Stage.TECHNICAL,
        outcome=Outcome.OFFER,
        interest=5,
        notes="Pairing exercise",
        held_on=date(2026, 3, 4),
        people=[{"name": "Dana Smith", "role": ParticipantRole.INTERVIEWER, "topics": "Kafka"}],
    )
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    for text in (
        "Data Engineer",
        "Acme",
        "Technical",
        "Offer",
        "5 of 5",
        "Pairing exercise",
        "Dana Smith",
        "Interviewer",
        "Kafka",
        "4 Mar",
    ):
        assert text in page


def test_the_home_page_lists_the_latest_five_interviews_and_whom_they_met(
    app, client, user, make_user, make_interview
):
    for day in range(1, 8):
        make_interview(
            user,
            f"Org {day}",
            role=f"Role {day}",
            held_on=date(2026, 11, day),
            people=[{"name": f"Ann {day}"}, {"name": f"Bo {day}"}] if day % 2 else [],
        )
    make_interview(make_user(), "Someone else's", held_on=date(2026, 11, 30))
    page = client.get("/").get_data(as_text=True)
    latest = page[page.index("Latest interviews") :]
    items = re.findall(r'<li class="list-item">(.*?)</li>', latest, re.S)
    assert [re.search(r">(Role \d)</a>", item).group(1) for item in items] == [
        "Role 7",
        "Role 6",
        "Role 5",
        "Role 4",
        "Role 3",
    ]
    newest = " ".join(items[0].split())
    assert ">Org 7</a>" in newest and "Onsite · 7 Nov" in newest and "Met Ann 7, Bo 7" in newest
    with app.app_context():
        org_id = db.session.execute(db.select(Organisation.id).filter_by(name="Org 7")).scalar()
    assert f'href="/organisations/{org_id}"' in items[0]
    assert "Met " not in items[1]  # nobody recorded at Role 6's interview
    assert "Someone else" not in page


def test_pages_of_someone_elses_interview_are_not_found(
    client, app, user, make_user, make_interview
):
    other = make_interview(make_user(), "Acme", people=[{"name": "Dana"}])
    before = row_counts(app)
    for url in (f"/interviews/{other}", f"/interviews/{other}/edit", f"/interviews/{other}/delete"):
        assert client.get(url).status_code == 404
    assert client.post(f"/interviews/{other}/delete").status_code == 404
    assert client.post(f"/interviews/{other}/edit", data=interview_form()).status_code == 404
    assert row_counts(app) == before


# --- Bad input: a message next to the field, the typed values back, nothing saved -------

BAD_INPUTS = [
    ({"organisation": ""}, "organisation", "Enter the organisation's name."),
    ({"organisation": "   "}, "organisation", "Enter the organisation's name."),
    ({"organisation": "A" * 201}, "organisation", "longer than 200"),
    ({"role": ""}, "role", "Enter the role you interviewed for."),
    ({"role": "R" * 201}, "role", "longer than 200"),
    ({"held_on": "2026-02-30"}, "held_on", "date"),
    ({"held_on": "20/11/2026"}, "held_on", "date"),
    ({"held_on": ""}, "held_on", "date"),
    ({"held_on": "9999-12-31", "outcome": "declined"}, "held_on", "Enter a date between"),
    ({"held_on": "0001-01-01", "start_time": "00:30"}, "held_on", "Enter a date between"),
    ({"start_time": "25:61"}, "start_time", "time"),
    ({"interest": "0"}, "interest", "Enter a number from 1 to 5."),
    ({"interest": "6"}, "interest", "Enter a number from 1 to 5."),
    ({"interest": "-1"}, "interest", "Enter a number from 1 to 5."),
    ({"interest": "abc"}, "interest", "integer"),
    ({"interest": "2.5"}, "interest", "integer"),
    ({"interest": ""}, "interest", "Enter a number from 1 to 5."),
    ({"stage": "lunch"}, "stage", "Not a valid choice"),
    ({"outcome": "hired"}, "outcome", "Not a valid choice"),
    ({"notes": "n" * 10_001}, "notes", "longer than 10000"),
    ({"people-0-name": ""}, "people-0-name", "Enter the person's name"),
    ({"people-0-name": "N" * 201}, "people-0-name", "longer than 200"),
    ({"people-0-title": "T" * 201}, "people-0-title", "longer than 200"),
    ({"people-0-email": "dana@"}, "people-0-email", "Enter an email address like"),
    ({"people-0-email": "dana at example.com"}, "people-0-email", "Enter an email address like"),
    ({"people-0-email": "d" * 250 + "@example.com"}, "people-0-email", "email address"),
    ({"people-0-phone": "1" * 51}, "people-0-phone", "longer than 50"),
    ({"people-0-linkedin_url": "javascript:alert(1)"}, "people-0-linkedin_url", "https://"),
    ({"people-0-linkedin_url": "ftp://example.com/dana"}, "people-0-linkedin_url", "https://"),
    ({"people-0-linkedin_url": "linkedin.com/in/dana"}, "people-0-linkedin_url", "https://"),
    ({"people-0-linkedin_url": "https://"}, "people-0-linkedin_url", "https://"),
    (
        {"people-0-linkedin_url": "https://x.com/" + "a" * 500},
        "people-0-linkedin_url",
        "longer than 500",
    ),
    ({"people-0-role": "boss"}, "people-0-role", "Not a valid choice"),
    ({"people-0-topics": "t" * 10_001}, "people-0-topics", "longer than 10000"),
    ({"people-1-email": "nobody@"}, "people-1-email", "Enter an email address like"),
]


def bad_form(override: dict) -> dict:
    data = interview_form(
        organisation="Initech",
        role="Platform Engineer",
        notes="Typed <notes> & more",
        people=[
            {
                "name": "Dana Smith",
                "title": "CTO",
                "email": "dana@example.com",
                "linkedin_url": "https://www.linkedin.com/in/dana",
                "topics": "Kafka",
            },
            {"name": "Lee Chen", "title": "Recruiter", "role": "recruiter"},
        ],
    )
    data.update(override)
    return data


@pytest.mark.parametrize(("override", "field_id", "message"), BAD_INPUTS)
def test_bad_input_is_shown_next_to_its_field_and_nothing_is_saved(
    client, app, user, make_interview, override, field_id, message
):
    make_interview(user, "Acme", people=[{"name": "Someone"}])
    before = row_counts(app)
    data = bad_form(override)
    response = client.post("/interviews/new", data=data)
    page = response.get_data(as_text=True)

    assert response.status_code == 400
    error = field_error(page, field_id)
    assert error is not None, f"no error next to {field_id}"
    assert message.lower() in error.lower()
    assert "Nothing was saved" in page
    # Everything typed comes back, the bad value included.
    typed = [
        "organisation",
        "role",
        "held_on",
        "interest",
        "people-0-name",
        "people-0-email",
        "people-0-linkedin_url",
        "people-1-title",
        field_id,
    ]
    for key in typed:
        if key in ("stage", "outcome") or key.endswith("-role"):
            # A made-up choice cannot be shown selected; the select is there to pick again.
            assert f'<select id="{key}"' in page or f'id="{key}" name="{key}"' in page, key
        elif key == "notes" or key.endswith("topics"):
            assert textarea_value(page, key) == data[key].strip(), key
        else:
            assert field_value(page, key) == data[key].strip(), key
    assert textarea_value(page, "notes") == data["notes"]
    assert textarea_value(page, "people-0-topics") == data["people-0-topics"]
    assert row_counts(app) == before


def test_bad_input_while_editing_changes_nothing(client, app, user, make_interview):
    interview_id = make_interview(user, "Acme", people=[{"name": "Dana Smith"}])
    before = row_counts(app)
    response = client.post(
        f"/interviews/{interview_id}/edit",
        data=interview_form(organisation="Globex", interest="9", people=[{"name": "Sam"}]),
    )
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "interest")
    assert row_counts(app) == before
    page = client.get(f"/interviews/{interview_id}").get_data(as_text=True)
    assert "Acme" in page and "Dana Smith" in page and "Sam" not in page


def test_a_request_too_large_is_refused_whole(client, app, user):
    response = client.post("/interviews/new", data=interview_form(notes="x" * 2_000_000))
    assert response.status_code == 413
    assert row_counts(app)["interview"] == 0


def test_text_is_kept_exactly_and_shown_escaped(client, app, user):
    organisation = "Café Ünïcødé 🚀 <b>Bold</b> & Co"
    person = "<script>alert('x')</script> Zoë 🙂"
    response = client.post(
        "/interviews/new",
        data=interview_form(
            organisation=organisation,
            role='Engineer "<i>lead</i>"',
            notes="<img src=x onerror=alert(1)>",
            people=[{"name": person, "topics": "<a href='javascript:x'>link</a>"}],
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    pages = [
        client.get(response.headers["Location"]).get_data(as_text=True),
        client.get("/organisations/").get_data(as_text=True),
        client.get("/contacts/").get_data(as_text=True),
        client.get("/").get_data(as_text=True),
    ]
    for page in pages:
        assert "<script>alert" not in page and "<b>Bold</b>" not in page
        assert "<img src=x" not in page and "<i>lead</i>" not in page
    assert "Café Ünïcødé 🚀 &lt;b&gt;Bold&lt;/b&gt; &amp; Co" in pages[0]
    assert "&lt;script&gt;" in pages[0] and "Zoë 🙂" in pages[0]
    with app.app_context():
        assert db.session.execute(db.select(Organisation.name)).scalar_one() == organisation
        assert db.session.execute(db.select(Contact.name)).scalar_one() == person


@both_databases
def test_invisible_control_characters_do_not_break_saving(client, app, user):
    response = client.post(
        "/interviews/new",
        data=interview_form(organisation="Acme\x00", people=[{"name": "Dana\x00 Smith"}]),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert db.session.execute(db.select(Organisation.name)).scalar_one() == "Acme"
        assert db.session.execute(db.select(Contact.name)).scalar_one() == "Dana Smith"


# --- Delete ------------------------------------------------------------------------------


def test_delete_asks_first_and_needs_the_form(client, app, user, make_interview):
    interview_id = make_interview(user, "Acme", people=[{"name": "Dana Smith"}])
    before = row_counts(app)
    page = client.get(f"/interviews/{interview_id}/delete").get_data(as_text=True)
    assert "Delete the Backend Engineer interview at Acme?" in page
    assert row_counts(app) == before
    assert client.post(f"/interviews/{interview_id}/delete", csrf=False).status_code == 400
    assert row_counts(app) == before


def test_delete_removes_the_interview_and_what_hangs_off_it_only(client, app, user, make_interview):
    interview_id = make_interview(user, "Acme", people=[{"name": "Dana Smith"}, {"name": "Lee"}])
    kept_id = make_interview(user, "Acme", people=[{"name": "Dana Smith"}])
    with app.app_context():
        dana = db.session.execute(db.select(Contact).filter_by(name="Dana Smith")).scalar_one()
        for interview in (interview_id, kept_id):
            db.session.add(
                FollowUp(
                    user_id=user.id,
                    contact_id=dana.id,
                    interview_id=interview,
                    kind=FollowUpKind.MANUAL,
                    generated=False,
                    due_on=date(2026, 11, 21),
                )
            )
        db.session.commit()
        planned_from_it = len(all_rows_where(FollowUp, interview_id=interview_id))
    before = row_counts(app)

    response = client.post(f"/interviews/{interview_id}/delete")
    assert response.status_code == 302
    after = row_counts(app)
    assert after["interview"] == before["interview"] - 1
    assert after["participant"] == before["participant"] - 2
    assert after["follow_up"] == before["follow_up"] - planned_from_it
    for table in ("contact", "position", "organisation", "user"):
        assert after[table] == before[table], table
    with app.app_context():
        assert db.session.get(Interview, interview_id) is None
        assert not all_rows_where(Participant, interview_id=interview_id)
        assert not all_rows_where(FollowUp, interview_id=interview_id)
        assert all_rows_where(FollowUp, interview_id=kept_id)
    assert client.get(f"/interviews/{interview_id}").status_code == 404


def all_rows_where(model, **criteria) -> list:
    return list(db.session.execute(db.select(model).filter_by(**criteria)).scalars())


def test_people_met_at_a_deleted_interview_are_planned_from_the_others(
    client, app, user, make_interview
):
    make_interview(
        user, "Acme", held_on=date(2026, 6, 1), outcome=Outcome.DECLINED, people=[{"name": "Dana"}]
    )
    with app.app_context():
        dana = db.session.execute(db.select(Contact.id)).scalar_one()
    latest = make_interview(
        user,
        "Acme",
        held_on=date(2026, 10, 1),
        outcome=Outcome.DECLINED,
        people=[{"contact_id": dana}],
    )
    assert client.post(f"/interviews/{latest}/delete").status_code == 302
    with app.app_context():
        open_ones = all_rows_where(FollowUp, contact_id=dana, status=FollowUpStatus.OPEN)
        assert open_ones, "Dana was left with nothing planned"
        assert all(f.interview_id != latest for f in open_ones)


def test_a_row_marked_for_removal_is_not_checked(client, app, user):
    response = client.post(
        "/interviews/new",
        data=interview_form(
            people=[{"name": "Dana Smith"}, {"name": "", "email": "not an email", "remove": "y"}]
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert row_counts(app)["contact"] == 1
