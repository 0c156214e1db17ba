"""Flow 1 and 5 in a real browser: register, log an interview with the people met,
see them at the organisation, edit and delete a contact — with JavaScript on and off."""

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PEOPLE = [
    {"name": "Dana Smith", "title": "CTO", "email": "dana@acme.example", "role": "Hiring manager"},
    {"name": "Lee Park", "title": "Staff Engineer", "email": "lee@acme.example", "role": ""},
    {"name": "Sam Ortiz", "title": "Recruiter", "email": "", "role": "Recruiter"},
]


def register(page, email: str = "dana.user@example.com") -> None:
    """Create an account through the registration form, keeping the preselected zone."""
    page.goto("/register")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/$"))
    expect(page.locator(".flash")).to_contain_text("Welcome to Keepwarm")


def fill_interview(page, organisation: str = "Acme Robotics", role: str = "Backend Engineer"):
    page.get_by_label("Organisation", exact=True).fill(organisation)
    page.get_by_label("Role", exact=True).fill(role)
    page.get_by_label("Stage").select_option(label="Onsite")
    page.get_by_label("Outcome").select_option(label="I declined")
    page.get_by_label("Notes").fill("Friendly team; the offer was below my range.")


def person_row(page, index: int):
    return page.locator("[data-person]").nth(index)


def fill_person(page, index: int, person: dict) -> None:
    row = person_row(page, index)
    row.get_by_label("Name", exact=True).fill(person["name"])
    row.get_by_label("Job title").fill(person["title"])
    row.get_by_label("Email").fill(person["email"])
    if person["role"]:
        row.get_by_label("Role in this interview").select_option(label=person["role"])


def people_section(page):
    """The "People" list on an organisation page."""
    return page.locator("section", has=page.get_by_role("heading", name="People", exact=True))


def test_register_log_three_people_edit_and_delete_a_contact(new_context):
    page = new_context(timezone_id="Europe/Berlin").new_page()
    page.goto("/register")
    # The script preselects the browser's own time zone.
    expect(page.get_by_label("Time zone")).to_have_value("Europe/Berlin")
    register(page)

    page.get_by_role("link", name="Log an interview").first.click()
    page.wait_for_url("**/interviews/new")
    form_url = page.url
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    page.evaluate("window.keepwarmMarker = 'same page'")

    fill_interview(page)
    fill_person(page, 0, PEOPLE[0])
    add = page.get_by_role("button", name="Add another person")
    add.click()
    expect(page.locator("[data-person]")).to_have_count(2)
    # The new row has focus, fresh names and ids, and an empty value.
    expect(person_row(page, 1).get_by_label("Name", exact=True)).to_be_focused()
    expect(person_row(page, 1).locator("legend")).to_have_text("Person 2")
    expect(page.locator("#people-1-name")).to_have_value("")
    fill_person(page, 1, PEOPLE[1])
    add.click()
    expect(page.locator("[data-person]")).to_have_count(3)
    fill_person(page, 2, PEOPLE[2])

    assert navigations == []
    assert page.url == form_url
    assert page.evaluate("window.keepwarmMarker") == "same page"
    expect(page.locator("#people-0-name")).to_have_value("Dana Smith")

    page.get_by_role("button", name="Save interview").click()
    page.wait_for_url(re.compile(r"/interviews/\d+$"))
    expect(page.locator(".flash")).to_have_text("Interview logged.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Backend Engineer")
    for person in PEOPLE:
        expect(page.get_by_role("link", name=person["name"])).to_be_visible()

    page.get_by_role("link", name="Acme Robotics").click()
    page.wait_for_url(re.compile(r"/organisations/\d+$"))
    organisation_url = page.url
    people = people_section(page)
    expect(people.locator(".list-item")).to_have_count(3)
    for person in PEOPLE:
        expect(people.get_by_role("link", name=person["name"])).to_be_visible()
    expect(people).to_contain_text("Hiring manager at the onsite interview")

    # Edit a contact: change the name and the email.
    people.get_by_role("link", name="Lee Park").click()
    page.get_by_role("link", name="Edit").click()
    expect(page.get_by_label("Email")).to_have_value("lee@acme.example")
    page.get_by_label("Name").fill("Lee Park-Jones")
    page.get_by_label("Email").fill("lee.pj@acme.example")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".flash")).to_have_text("Contact saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Lee Park-Jones")
    expect(page.get_by_role("link", name="lee.pj@acme.example")).to_have_attribute(
        "href", "mailto:lee.pj@acme.example"
    )

    # Delete another contact, through its confirmation page.
    page.goto(organisation_url)
    people_section(page).get_by_role("link", name="Sam Ortiz").click()
    page.get_by_role("link", name="Delete").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete Sam Ortiz?")
    page.get_by_role("button", name="Delete").click()
    expect(page.locator(".flash")).to_have_text("Sam Ortiz deleted.")
    expect(page.get_by_role("link", name="Sam Ortiz")).to_have_count(0)

    page.goto(organisation_url)
    people = people_section(page)
    expect(people.locator(".list-item")).to_have_count(2)
    expect(people.get_by_role("link", name="Lee Park-Jones")).to_be_visible()
    expect(people.get_by_role("link", name="Dana Smith")).to_be_visible()
    expect(page.get_by_text("Sam Ortiz")).to_have_count(0)


def test_remove_a_person_in_place_before_saving(page, make_user, log_in_page):
    log_in_page(page, make_user("remover@example.com"))
    page.goto("/interviews/new")
    page.evaluate("window.keepwarmMarker = 'same page'")
    fill_interview(page, organisation="Globex")
    fill_person(page, 0, PEOPLE[0])
    page.get_by_role("button", name="Add another person").click()
    fill_person(page, 1, PEOPLE[1])
    page.get_by_role("button", name="Add another person").click()
    fill_person(page, 2, PEOPLE[2])

    # The no-JS checkbox is replaced by a button that removes the row at once.
    for index in range(3):
        expect(person_row(page, index).get_by_role("checkbox")).to_be_hidden()
    person_row(page, 1).get_by_role("button", name="Remove this person").click()
    expect(page.locator("[data-person]")).to_have_count(2)
    expect(page.locator("#people-status")).to_have_text("Removed Lee Park.")
    # The rows after it are renumbered, so the server sees people-0 and people-1.
    expect(person_row(page, 1).locator("legend")).to_have_text("Person 2")
    expect(page.locator("#people-1-name")).to_have_value("Sam Ortiz")
    assert page.evaluate("window.keepwarmMarker") == "same page"

    page.get_by_role("button", name="Save interview").click()
    page.wait_for_url(re.compile(r"/interviews/\d+$"))
    people = page.locator("section", has=page.get_by_role("heading", name="People met"))
    expect(people.locator(".list-item")).to_have_count(2)
    expect(people).to_contain_text("Dana Smith")
    expect(people).to_contain_text("Sam Ortiz")
    expect(people).not_to_contain_text("Lee Park")

    page.goto("/contacts/")
    expect(page.locator(".list-item")).to_have_count(2)
    expect(page.get_by_text("Lee Park")).to_have_count(0)


def test_the_form_works_without_javascript(new_context, make_user, log_in_page):
    page = new_context(java_script_enabled=False).new_page()
    log_in_page(page, make_user("nojs@example.com"))
    page.goto("/interviews/new")
    fill_interview(page, organisation="Initech", role="Data Engineer")
    fill_person(page, 0, PEOPLE[0])

    # Without the script the button is a submit: a round trip adds a blank row.
    page.get_by_role("button", name="Add another person").click()
    page.wait_for_load_state()
    expect(page.locator("[data-person]")).to_have_count(2)
    expect(page.get_by_label("Organisation", exact=True)).to_have_value("Initech")
    expect(page.get_by_label("Role", exact=True)).to_have_value("Data Engineer")
    expect(page.get_by_label("Outcome")).to_have_value("declined")
    expect(page.locator("#people-0-name")).to_have_value("Dana Smith")
    expect(page.locator("#people-0-email")).to_have_value("dana@acme.example")
    expect(page.locator("#people-1-name")).to_have_value("")
    expect(page.locator(".error")).to_have_count(0)
    fill_person(page, 1, PEOPLE[1])

    page.get_by_role("button", name="Add another person").click()
    page.wait_for_load_state()
    expect(page.locator("[data-person]")).to_have_count(3)
    expect(page.locator("#people-1-name")).to_have_value("Lee Park")
    fill_person(page, 2, PEOPLE[2])
    # Without the script, removing is a checkbox that the save honours.
    person_row(page, 2).get_by_label("Remove this person").check()

    page.get_by_role("button", name="Save interview").click()
    page.wait_for_url(re.compile(r"/interviews/\d+$"))
    expect(page.locator(".flash")).to_have_text("Interview logged.")

    page.get_by_role("link", name="Initech").click()
    people = people_section(page)
    expect(people.locator(".list-item")).to_have_count(2)
    expect(people.get_by_role("link", name="Dana Smith")).to_be_visible()
    expect(people.get_by_role("link", name="Lee Park")).to_be_visible()
    expect(page.get_by_text("Sam Ortiz")).to_have_count(0)


def test_bad_input_is_shown_next_to_the_field_and_kept(page, make_user, log_in_page):
    log_in_page(page, make_user("typo@example.com"))
    page.goto("/interviews/new")
    fill_interview(page, organisation="")
    page.get_by_label("Role", exact=True).fill("Platform Engineer")
    fill_person(page, 0, {**PEOPLE[0], "email": "dana-at-acme"})

    page.get_by_role("button", name="Save interview").click()
    page.wait_for_load_state()

    expect(page.get_by_role("alert")).to_contain_text("Nothing was saved.")
    organisation = page.get_by_label("Organisation", exact=True)
    expect(organisation).to_have_attribute("aria-invalid", "true")
    expect(organisation).to_have_attribute("aria-describedby", re.compile("organisation-error"))
    error = page.locator("#organisation-error")
    expect(error).to_have_text("Enter the organisation's name.")
    # "Next to the field": the message is in the same field block, just below the input.
    field = page.locator(".field", has=organisation)
    expect(field.locator(".error")).to_have_text("Enter the organisation's name.")
    below = error.bounding_box()["y"] - organisation.bounding_box()["y"]
    assert 0 < below < 80

    email = page.locator("#people-0-email")
    expect(email).to_have_value("dana-at-acme")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#people-0-email-error")).to_have_text(
        "Enter an email address like dana@example.com."
    )
    expect(page.get_by_label("Role", exact=True)).to_have_value("Platform Engineer")
    expect(page.locator("#people-0-name")).to_have_value("Dana Smith")
    expect(page.locator("#people-0-title")).to_have_value("CTO")
    expect(page.get_by_label("Notes")).to_have_value("Friendly team; the offer was below my range.")
    expect(page.locator(".error")).to_have_count(2)

    # Nothing was half-saved.
    page.goto("/organisations/")
    expect(page.get_by_text("No organisations yet.")).to_be_visible()
    page.goto("/contacts/")
    expect(page.get_by_text("No contacts yet.")).to_be_visible()
