"""Line 12: autoescaping wherever user text is shown, no way around it in the code, and
only http/https for the addresses people type. (What it does to real text is proven by
test_payloads.py and test_payloads_browser.py.)"""

import re
from pathlib import Path

import pytest

from tracker.db import db
from tracker.models import Contact, Organisation

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.*"))
CODE = sorted((ROOT / "tracker").rglob("*.py"))


def test_every_html_template_is_autoescaped_and_only_text_ones_are_not(app):
    assert TEMPLATES
    for path in TEMPLATES:
        name = path.relative_to(ROOT / "templates").as_posix()
        assert app.jinja_env.autoescape(name) is name.endswith((".html", ".xml")), name
    assert {p.suffix for p in TEMPLATES} <= {".html", ".txt"}


def test_no_template_or_module_turns_escaping_off():
    for path in TEMPLATES:
        text = path.read_text()
        assert not re.search(r"\|\s*safe\b", text), path
        assert "autoescape false" not in text.replace("  ", " ").lower(), path
    for path in CODE:
        text = path.read_text()
        assert not re.search(r"\bMarkup\s*\(", text), path
        assert "autoescape=False" not in text.replace(" ", ""), path


def test_text_templates_are_used_only_for_plain_text_email():
    texts = [p.relative_to(ROOT / "templates").as_posix() for p in TEMPLATES if p.suffix == ".txt"]
    assert all(name.startswith("email/") for name in texts), texts
    # Each is rendered into a text/plain part, never into HTML.
    compose = (ROOT / "tracker/mail/compose.py").read_text()
    for name in texts:
        call = re.search(rf'mime\.text\("plain", render_template\("{re.escape(name)}"', compose)
        assert call, name


BAD_URLS = [
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "//evil.example/",
    "/relative/path",
    "http:/missing-slash",
    "ftp://files.example",
    "mailto:lee@example.com",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_only_http_and_https_addresses_are_accepted(app, make_owner, url):
    owner = make_owner("ann", "Zebra Labs")
    contact, organisation = owner.ids["contact_id"], owner.ids["organisation_id"]
    posts = {
        f"/contacts/{contact}/edit": {"name": "Ann Contactperson", "linkedin_url": url},
        f"/organisations/{organisation}/edit": {"name": "Zebra Labs", "website": url},
    }
    for path, data in posts.items():
        response = owner.client.post(path, data=data)
        assert response.status_code == 400, (path, url)
        assert "Enter a web address starting with https:// or http://." in response.get_data(
            as_text=True
        )
    with app.app_context():
        assert db.session.get(Contact, contact).linkedin_url == ""
        assert db.session.get(Organisation, organisation).website == ""


def test_http_and_https_addresses_are_accepted_and_linked(app, make_owner):
    owner = make_owner("ann", "Zebra Labs")
    organisation = owner.ids["organisation_id"]
    response = owner.client.post(
        f"/organisations/{organisation}/edit",
        data={"name": "Zebra Labs", "website": "https://zebra.example/jobs?a=1&b=2"},
    )
    assert response.status_code == 302
    page = owner.client.get(f"/organisations/{organisation}").get_data(as_text=True)
    assert 'href="https://zebra.example/jobs?a=1&amp;b=2"' in page
