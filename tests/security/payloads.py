"""The payload corpus, typed into every text field of the real forms, and the checks that
none of it escapes its context: in HTML (parsed), email, CSV, vCard and iCalendar.

`fill_account` drives the forms as a browser would; `shown_pages` lists every page of
the account (every GET route, with every id and a real token where the route takes one).
"""

import re
from collections.abc import Iterator
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from tracker import tokens
from tracker.db import db
from tracker.models import Contact, FollowUp, FollowUpStatus, Interview, Organisation, Outbox

from .walk import app_rules, route_params

ROOT = Path(__file__).resolve().parents[2]
LONG = ("<svg/onload=alert(10)>" + "ten thousand " * 8)[:120] * 84  # 10,080 characters
PAYLOADS = {
    "script": "<script>alert('kw-script')</script>",
    "svg": '"><svg onload=alert(1)>',
    "img": "<img src=x onerror=alert(2)>",
    "attribute": "' autofocus onfocus='alert(3)' x='",
    "template": "kw{{7*7}}kw ${7*7} {% print 7*7 %}",
    "javascript": "javascript:alert(4)",
    "apostrophe": 'O\'Hara & "Sons" <Ltd>',
    "crlf": "Dana\r\nBcc: evil@example.com\r\nX-Injected: yes",
    "nul": "nul\x00byte",
    "long": LONG[:10_000],
    "rtl": "\u202egnp.exe\u202c مرحبا بكم שלום",
    "emoji": "Zoë 👩🏽‍💻🎉 ﷽",
    "ical": "Lee\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nSUMMARY:injected\r\nX-INJECTED:1",
    "ical-bare-cr": "Kim\rATTENDEE:mailto:evil@example.com",
    "formula": '=HYPERLINK("http://evil.example","click")',
    "plus": "+1-555-0100+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "tab": "\t=1+1",
}
TODAY = date(2026, 11, 20)
SEARCHES = ("contacts.index", "organisations.index", "followups.index", "home.index")


def stored_form(value: str, limit: int | None = None) -> str:
    """What the forms keep of a value: control characters (NUL) dropped, surrounding
    space trimmed, cut to the field's limit (the corpus fits it otherwise)."""
    control = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")
    value = value[:limit] if limit else value
    return value.translate(control).strip()


def shown_marker(name: str) -> str:
    """A piece of the payload any place that shows it must show literally."""
    value = stored_form(PAYLOADS[name], 200)
    return value.splitlines()[0][:60] if value else value


# Forms


def fill_account(client, name: str, value: str) -> dict[str, int]:
    """Put `value` into every text field of every form; returns the rows it made."""
    short, title = value[:200], value[:300]
    form = {
        "organisation": short,
        "role": short,
        "held_on": (TODAY.replace(day=19)).isoformat(),
        "stage": "onsite",
        "outcome": "rejected",
        "interest": "3",
        "notes": value,
        "people-0-contact_id": "0",
        "people-0-name": short,
        "people-0-title": short,
        "people-0-email": "",
        "people-0-phone": value[:50],
        "people-0-linkedin_url": "",
        "people-0-role": "recruiter",
        "people-0-topics": value,
    }
    response = client.post("/interviews/new", data=form)
    assert response.status_code == 302, (name, response.get_data(as_text=True)[-3000:])
    interview_id = int(response.headers["Location"].rsplit("/", 1)[1])
    ids = rows_of_interview(client.application, interview_id)
    contact, organisation = ids["contact_id"], ids["organisation_id"]

    edited = {**form, "people-0-contact_id": str(contact)}
    posts = [
        (f"/interviews/{interview_id}/edit", edited),
        (f"/organisations/{organisation}/edit", {"name": short, "website": "", "notes": value}),
        (
            f"/contacts/{contact}/edit",
            {"name": short, "email": "", "phone": value[:50], "notes": value, "remind": "y"},
        ),
        (
            f"/contacts/{contact}/interactions",
            {"kind": "coffee", "occurred_on": TODAY.isoformat(), "note": value},
        ),
        (f"/contacts/{contact}/move", {"organisation": short, "title": short}),
    ]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 302, (name, url, response.get_data(as_text=True)[-3000:])
    # Editing the interview planned its follow-ups afresh: pick one now.
    planned = newest(client.application, FollowUp, contact_id=contact, status=FollowUpStatus.OPEN)
    posts = [
        (f"/follow-ups/{planned}/done", {"kind": "call", "note": value}),
        (
            f"/follow-ups/new?contact={contact}",
            {"title": title, "due_on": TODAY.isoformat(), "note": value},
        ),
    ]
    for url, data in posts:
        response = client.post(url, data=data)
        assert response.status_code == 302, (name, url, response.get_data(as_text=True)[-3000:])
    manual = newest(client.application, FollowUp, contact_id=contact)
    edit = {"title": title, "due_on": TODAY.isoformat(), "note": value}
    response = client.post(f"/follow-ups/{manual}/edit", data=edit)
    assert response.status_code == 302, name
    return {"interview": interview_id, "contact": contact, "organisation": organisation}


def refused_pages(client, anonymous, ids: dict[str, int], value: str) -> Iterator[tuple]:
    """Fields that check their format, given the payload: each answer is a page to check."""
    contact, organisation = ids["contact"], ids["organisation"]
    posts = [
        (client, f"/contacts/{contact}/edit", {"name": "Valid", "email": value}),
        (client, f"/contacts/{contact}/edit", {"name": "Valid", "linkedin_url": value}),
        (client, f"/organisations/{organisation}/edit", {"name": "Valid", "website": value}),
        (client, "/account/password", {"current_password": "kw-not-it-1", "new_password": value}),
        (client, "/account/profile", {"timezone": value}),
        (anonymous, "/login", {"email": value, "password": "kw-not-it-2"}),
        (anonymous, "/register", {"email": value, "password": value, "timezone": value}),
        (anonymous, "/forgot-password", {"email": value}),
    ]
    for who, url, data in posts:
        yield url, who.post(url, data=data, environ_base={"REMOTE_ADDR": "192.0.2.77"})


def rows_of_interview(app, interview_id: int) -> dict[str, int]:
    with app.app_context():
        interview = db.session.get(Interview, interview_id)
        return {
            "contact_id": interview.participants[0].contact_id,
            "organisation_id": interview.organisation_id,
        }


def newest(app, model: type, **where) -> int:
    with app.app_context():
        return db.session.execute(db.select(db.func.max(model.id)).filter_by(**where)).scalar()


# Where it is shown


def shown_pages(app, user_id: int, feed_token: str) -> list[str]:
    """Every GET page of the account: each route with each of the user's ids, a real
    token for email links and the feed, and the searches with the payloads."""
    with app.app_context():
        ids = {
            "interview_id": _ids(Interview, user_id),
            "organisation_id": _ids(Organisation, user_id),
            "contact_id": _ids(Contact, user_id),
            "follow_up_id": _ids(FollowUp, user_id),
            "outbox_id": _ids(Outbox, user_id),
        }
        open_ones = db.session.execute(
            db.select(FollowUp).filter_by(user_id=user_id, status=FollowUpStatus.OPEN)
        ).scalars()
        links = [tokens.action_token(f.id, "done", f.revision) for f in open_ones]
        unsubscribe = tokens.unsubscribe_token(user_id)
    urls = []
    for rule in app_rules(app, "GET"):
        params = route_params(rule)
        if rule.endpoint == "followups.new":  # always for someone or some organisation
            urls += [f"{rule.rule}?contact={ident}" for ident in ids["contact_id"]]
            urls += [f"{rule.rule}?organisation={ident}" for ident in ids["organisation_id"]]
        elif not params:
            urls.append(rule.rule)
            if rule.endpoint in SEARCHES:
                urls += [f"{rule.rule}?q={value[:100]}" for value in PAYLOADS.values()]
        elif rule.endpoint == "email_actions.action":
            urls += [rule.build({"token": link})[1] for link in links]
        elif rule.endpoint == "email_actions.unsubscribe_confirm":
            urls.append(rule.build({"token": unsubscribe})[1])
        elif rule.endpoint == "feed.subscription":
            urls.append(rule.build({"token": feed_token})[1])
        elif all(params.values()):
            [name] = params
            urls += [rule.build({name: ident})[1] for ident in ids[name]]
        # Left: the reset link and import previews, whose tokens this account has none of.
    return urls


def _ids(model: type, user_id: int) -> list[int]:
    return list(db.session.execute(db.select(model.id).filter_by(user_id=user_id)).scalars())


# HTML


def template_tags() -> set[str]:
    """Every element name the templates write; an injected one is anything else."""
    names = set()
    for path in (ROOT / "templates").rglob("*.html"):
        names |= set(re.findall(r"<([a-z][a-z0-9]*)\b", path.read_text()))
    return names


URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "poster"}


class Elements(HTMLParser):
    """Every element with its attributes, and the text, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        self.elements.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag

    def handle_data(self, data) -> None:
        self.text.append(data)


def _scheme(url: str) -> str:
    """The scheme a browser would see: it ignores tabs, newlines and leading space."""
    cleaned = re.sub(r"[\x00-\x20]", "", url).lower()
    return cleaned.split(":", 1)[0] if ":" in cleaned else ""


def html_problems(
    page: str, allowed_tags: set[str], inline_styles: bool = False
) -> tuple[list[str], str]:
    """What in the page a payload could have put there, and everything it shows (text and
    attribute values), for the payloads to be found in. Emails style inline (mail clients
    ignore style sheets): `inline_styles` lets the templates' style attributes be."""
    parser = Elements()
    parser.feed(page)
    parser.close()
    problems = []
    for tag, attrs in parser.elements:
        if tag not in allowed_tags:
            problems.append(f"an injected <{tag}> element")
        for name, value in attrs.items():
            if name.startswith("on"):
                problems.append(f"an event handler {name}= on <{tag}>")
            if (name == "style" and not inline_styles) or tag == "style":
                problems.append(f"inline style on <{tag}>")
            if name in URL_ATTRIBUTES and value and _scheme(value) in ("javascript", "vbscript"):
                problems.append(f"a script URL in {name}= on <{tag}>")
            qr_code = tag == "img" and (value or "").startswith("data:image/svg+xml")
            if name in URL_ATTRIBUTES and value and _scheme(value) == "data" and not qr_code:
                problems.append(f"a data: URL in {name}= on <{tag}>")
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            problems.append("a script that is not one of the app's files")
        if tag == "base" or (tag == "meta" and "http-equiv" in attrs):
            problems.append(f"a <{tag}> that changes how the page loads")
    shown = "".join(parser.text) + "\n".join(
        value or "" for _, attrs in parser.elements for value in attrs.values()
    )
    if "kw49kw" in shown:
        problems.append("a template expression was evaluated")
    return problems, shown
