"""The README's pictures: the home page and the interview form, on a desktop and a phone.

By default they go to a temporary folder and are only checked; `make screenshots`
passes `--screenshots docs` to refresh the ones in the repository.
"""

import struct
from pathlib import Path

import pytest
from playwright.sync_api import expect

# What a page looks like, and what it runs, does not depend on the database: one pass.
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def screenshot_dir(request, tmp_path) -> Path:
    chosen = request.config.getoption("--screenshots")
    folder = Path(chosen).resolve() if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's header, after checking it is one."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    assert data[-8:-4] == b"IEND", f"{path} is truncated"
    return struct.unpack(">II", data[16:24])


def fill_the_form(page) -> None:
    """What someone types on the way out of an interview."""
    page.get_by_label("Organisation", exact=True).fill("Globex")
    page.get_by_label("Role", exact=True).fill("Staff Platform Engineer")
    page.get_by_label("Time").fill("14:30")
    page.get_by_label("Stage").select_option(label="Final")
    page.get_by_label("Outcome").select_option(label="I declined")
    page.get_by_label("Interest in this organisation later").fill("4")
    page.get_by_label("Notes").fill("They are starting a data platform team next spring.")
    row = page.locator("[data-person]").first
    row.get_by_label("Name", exact=True).fill("Marcus Feld")
    row.get_by_label("Job title").fill("Engineering Manager")
    row.get_by_label("Email").fill("marcus@globex.example")
    row.get_by_label("Role in this interview").select_option(label="Hiring manager")
    row.get_by_label("What you talked about").fill("Growing the team from six to ten.")
    page.get_by_role("button", name="Add another person").click()
    row = page.locator("[data-person]").nth(1)
    row.get_by_label("Name", exact=True).fill("Aiko Tanaka")
    row.get_by_label("Job title").fill("Principal Engineer")
    page.get_by_label("Organisation", exact=True).focus()
    page.evaluate("window.scrollTo(0, 0)")


def snap(page, path: Path, most: int) -> None:
    """Screenshot the page as a window up to `most` pixels tall would show it.

    Sizing the window rather than using full_page keeps the sticky save bar where a
    person sees it: at the bottom of the window, not halfway down the picture.
    """
    width = page.viewport_size["width"]
    height = page.evaluate("document.documentElement.scrollHeight")
    page.set_viewport_size({"width": width, "height": min(height, most)})
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=path)


def test_readme_screenshots(new_context, viewports, demo_account, log_in_page, screenshot_dir):
    # A desktop shows most of the page; a phone, its first screen and a half.
    sizes = {"": (viewports["desktop"], 1400), "-phone": (viewports["phone"], 1100)}
    # Someone who keeps up: one of last week's thank-you notes is already sent.
    page = new_context().new_page()
    log_in_page(page, demo_account)
    sent = page.locator(".followup", has_text="Thank-you note: Marcus Feld")
    sent.get_by_role("button", name="Done", exact=True).click()
    expect(page.locator(".followup", has_text="Thank-you note: Marcus Feld")).to_have_count(0)
    for suffix, (viewport, most) in sizes.items():
        page = new_context(viewport=viewport, timezone_id="Europe/London").new_page()
        log_in_page(page, demo_account)
        expect(page.get_by_role("link", name="Senior Backend Engineer")).to_be_attached()
        snap(page, screenshot_dir / f"home{suffix}.png", most)

        page.goto("/interviews/new")
        fill_the_form(page)
        expect(page.locator("[data-person]")).to_have_count(2)
        snap(page, screenshot_dir / f"interview-form{suffix}.png", most)

    for suffix, (viewport, most) in sizes.items():
        for name in (f"home{suffix}.png", f"interview-form{suffix}.png"):
            path = screenshot_dir / name
            width, height = png_size(path)
            assert width == viewport["width"], name
            assert viewport["height"] // 2 <= height <= most, name
            assert 5_000 < path.stat().st_size < 1_000_000, name
