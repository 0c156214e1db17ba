"""Every page, on a desktop and on a 360-pixel phone: nothing overflows sideways, every
input has a visible label, text meets WCAG AA contrast, and the keyboard focus shows.

Each page is also saved as a PNG in the test's tmp_path, to look at after a layout change
(`pytest tests/browser/test_pages.py --basetemp=/tmp/pages`).
"""

import pytest
from playwright.sync_api import expect

from tracker.db import db
from tracker.models import Contact, FollowUp, Interview, Organisation

# What a page looks like, and what it runs, does not depend on the database: one pass.
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("backend", ["sqlite"], indirect=True)]

# Interactive controls that are visible but have no visible <label> naming them.
UNLABELLED = """() => [...document.querySelectorAll("input, select, textarea")]
  .filter((el) => !["hidden", "submit", "button"].includes(el.type))
  .filter((el) => el.checkVisibility())
  .filter((el) => ![...el.labels].some((l) => l.checkVisibility() && l.innerText.trim()))
  .map((el) => el.name || el.id || el.outerHTML)"""

# Text whose colour against its background is below WCAG 2.2 AA (4.5:1, or 3:1 when large).
LOW_CONTRAST = """() => {
  const rgb = (value) => value.match(/[\\d.]+/g).map(Number);
  const luminance = ([r, g, b]) => {
    const lin = (c) => {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  const background = (el) => {
    for (; el; el = el.parentElement) {
      const c = rgb(getComputedStyle(el).backgroundColor);
      if (c.length < 4 || c[3] > 0) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const failures = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    const isControl = ["INPUT", "SELECT", "TEXTAREA"].includes(el.tagName) && el.type !== "hidden";
    if ((!own && !isControl) || !el.checkVisibility({ visibilityProperty: true })) continue;
    const style = getComputedStyle(el);
    if (el.closest(".visually-hidden, .skip")) continue;
    const l1 = luminance(rgb(style.color).slice(0, 3));
    const l2 = luminance(background(el));
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const text = (el.innerText || el.value || "").slice(0, 30);
      failures.push(`${el.tagName}.${el.className} "${text}" ${ratio.toFixed(2)}`);
    }
  }
  return failures;
}"""

# Boxes that stick out past the right edge of the viewport.
OVERFLOWING = """() => [...document.querySelectorAll("body *")]
  .filter((el) => el.checkVisibility() && !el.closest(".visually-hidden, .skip"))
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
  .map((el) => `${el.tagName}.${el.className}`)"""


@pytest.fixture
def ids(app, demo_account) -> dict[str, int]:
    """Ids of a few of the demo account's rows."""
    with app.app_context():

        def one(model, **where) -> int:
            return db.session.execute(db.select(model.id).filter_by(**where)).scalar_one()

        return {
            "organisation": one(Organisation, name="Acme Robotics"),
            "interview": one(Interview, role="Senior Backend Engineer"),
            "contact": one(Contact, name="Dana Smith"),
            "follow_up": db.session.execute(
                db.select(FollowUp.id).order_by(FollowUp.due_on, FollowUp.id).limit(1)
            ).scalar_one(),
        }


def check_page(page, name: str, viewport: dict, folder) -> list[str]:
    """Screenshot the page and return what is wrong with it."""
    page.screenshot(path=folder / f"{name}-{viewport['width']}.png", full_page=True)
    problems = []
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > viewport["width"]:
        wide = page.evaluate(OVERFLOWING)
        problems.append(f"{name}: {width}px wide at {viewport['width']}px: {wide[:5]}")
    problems += [f"{name}: no visible label for {n}" for n in page.evaluate(UNLABELLED)]
    problems += [f"{name}: low contrast {t}" for t in page.evaluate(LOW_CONTRAST)]
    return problems


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_fits_is_labelled_and_readable(
    size, viewports, new_context, make_user, demo_account, ids, log_in_page, tmp_path
):
    viewport = viewports[size]
    problems, visited = [], []

    def visit(page, name: str, url: str | None = None, status: int = 200) -> None:
        if url is not None:
            response = page.goto(url)
            assert response.status == status, (name, url, response.status)
        expect(page.locator("h1")).to_have_count(1)
        visited.append(f"{name}-{viewport['width']}.png")
        problems.extend(check_page(page, name, viewport, tmp_path))

    page = new_context(viewport=viewport).new_page()
    visit(page, "welcome", "/")
    visit(page, "login", "/login")
    visit(page, "register", "/register")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".error").first).to_be_visible()
    visit(page, "register-errors")

    log_in_page(page, make_user("empty@example.com"))
    visit(page, "home-empty", "/")
    visit(page, "organisations-empty", "/organisations/")
    visit(page, "contacts-empty", "/contacts/")
    page.context.clear_cookies()

    log_in_page(page, demo_account)
    visit(page, "home", "/")
    page.get_by_text("More", exact=True).first.click()
    visit(page, "home-more")
    visit(page, "follow-up", f"/follow-ups/{ids['follow_up']}")
    visit(page, "follow-up-edit", f"/follow-ups/{ids['follow_up']}/edit")
    visit(page, "follow-up-new", f"/follow-ups/new?contact={ids['contact']}")
    visit(page, "settings", "/settings/")
    visit(page, "delivery", "/delivery/")
    visit(page, "interview-new", "/interviews/new")
    page.get_by_role("button", name="Add another person").click()
    page.locator("#people-0-email").fill("not an email")
    page.locator("#people-1-linkedin_url").fill("linkedin.com/in/someone")
    page.get_by_role("button", name="Save interview").click()
    expect(page.locator("#organisation-error")).to_be_visible()
    visit(page, "interview-errors")
    visit(page, "interview", f"/interviews/{ids['interview']}")
    visit(page, "interview-edit", f"/interviews/{ids['interview']}/edit")
    visit(page, "interview-delete", f"/interviews/{ids['interview']}/delete")
    visit(page, "organisations", "/organisations/")
    visit(page, "organisation", f"/organisations/{ids['organisation']}")
    visit(page, "organisation-edit", f"/organisations/{ids['organisation']}/edit")
    visit(page, "contacts", "/contacts/")
    visit(page, "contacts-search", "/contacts/?q=engineer")
    visit(page, "contacts-no-match", "/contacts/?q=nobody-at-all")
    visit(page, "contact", f"/contacts/{ids['contact']}")
    page.get_by_text("They moved to a new job").click()
    visit(page, "contact-move")
    visit(page, "contact-edit", f"/contacts/{ids['contact']}/edit")
    page.get_by_label("Name").fill("")
    page.get_by_label("Email").fill("dana at acme")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".error")).to_have_count(2)
    visit(page, "contact-edit-errors")
    visit(page, "contact-delete", f"/contacts/{ids['contact']}/delete")
    visit(page, "account", "/account")
    visit(page, "not-found", "/contacts/999999", status=404)

    assert problems == [], "\n".join(problems)
    assert sorted(p.name for p in tmp_path.glob("*.png")) == sorted(visited)


def test_keyboard_focus_is_visible(page, make_user, log_in_page):
    log_in_page(page, make_user("keys@example.com"))
    page.goto("/interviews/new")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    for _ in range(8):
        page.keyboard.press("Tab")
        outline = page.evaluate(
            "() => { const s = getComputedStyle(document.activeElement);"
            " return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
        )
        assert outline[0] != "none" and outline[1] >= 2, outline
