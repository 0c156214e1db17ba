"""Importing LinkedIn connections in a real browser: choose the file, read the preview,
confirm, and find the people; a bad file is refused next to the field. The import
pages fit a phone and pass the same label and contrast checks as every other page."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .test_pages import check_page

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).parent.parent / "data" / "linkedin_connections.csv"


def test_preview_then_confirm_a_linkedin_export(
    new_context, make_user, make_interview, log_in_page
):
    user = make_user("importer@example.com")
    make_interview(user, organisation="Acme Robotics", people=[{"name": "Dana Smith"}])
    page = new_context().new_page()
    log_in_page(page, user)

    page.get_by_role("link", name="Import contacts").click()
    expect(page.get_by_role("heading", name="Import contacts")).to_be_visible()
    page.get_by_label("Contacts file").set_input_files(SAMPLE)
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url(re.compile(r"/import/[\w-]{20,}$"))

    expect(page.get_by_role("heading", name="linkedin_connections.csv")).to_be_visible()
    expect(page.get_by_text("Read as a LinkedIn connections export: 6 lines")).to_be_visible()
    summary = page.locator("section", has=page.get_by_role("heading", name="What will happen"))
    expect(summary).to_contain_text("5 new contacts will be added")
    expect(summary).to_contain_text("1 row matches a contact you have")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(6)
    dana = rows.filter(has_text="Dana Smith")
    expect(dana).to_contain_text("Already a contact: Dana Smith (same name at Acme Robotics)")
    expect(rows.filter(has_text="Zoë Müller-Lüdenscheidt")).to_contain_text("Initech, Inc.")
    page.get_by_role("link", name="Already a contact (1)").click()
    expect(rows).to_have_count(1)

    page.get_by_label("When a row matches a contact").select_option(
        label="Merge it into the contact"
    )
    page.get_by_role("button", name="Import 6 rows").click()
    expect(page.locator(".flash")).to_contain_text("Import finished: 5 added, 1 merged.")
    expect(page.locator(".facts")).to_contain_text("Contacts added5")

    page.get_by_role("link", name="See your contacts").click()
    listing = page.locator(".list")
    for name in ("Dana Smith", "Lee Park", "Zoë Müller-Lüdenscheidt", "Priya Natarajan"):
        expect(listing).to_contain_text(name)
    expect(listing.locator(".list-item")).to_have_count(6)
    page.get_by_role("link", name="Dana Smith").click()
    expect(page.locator("main")).to_contain_text("Connected on LinkedIn")


def test_a_bad_file_is_refused_next_to_the_field(new_context, make_user, log_in_page, tmp_path):
    page = new_context().new_page()
    log_in_page(page, make_user("bad-file@example.com"))
    picture = tmp_path / "photo.csv"
    picture.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200))
    page.goto("/import/")
    field = page.get_by_label("Contacts file")
    field.set_input_files(picture)
    page.get_by_role("button", name="Preview the import").click()
    expect(page.locator("#file-error")).to_have_text(
        "This is not a CSV or vCard file. Export your contacts as CSV or vCard and try again."
    )
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was imported.")


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_import_and_export_pages_fit_and_are_labelled(
    size, viewports, new_context, make_user, log_in_page, tmp_path
):
    viewport = viewports[size]
    page = new_context(viewport=viewport).new_page()
    log_in_page(page, make_user(f"pages-{size}@example.com"))
    problems = []
    for name, url in (
        ("import", "/import/"),
        ("export", "/export/"),
        ("restore", "/import/restore"),
    ):
        page.goto(url)
        problems += check_page(page, name, viewport, tmp_path)
    page.goto("/import/")
    page.get_by_label("Contacts file").set_input_files(SAMPLE)
    page.get_by_role("button", name="Preview the import").click()
    page.wait_for_url(re.compile(r"/import/[\w-]{20,}$"))
    page.get_by_text("Columns: which field each one holds").click()
    problems += check_page(page, "preview", viewport, tmp_path)
    page.get_by_role("button", name=re.compile(r"^Import \d+ rows$")).click()
    expect(page.get_by_text("Import finished", exact=True)).to_be_visible()
    problems += check_page(page, "done", viewport, tmp_path)
    assert problems == [], "\n".join(problems)
