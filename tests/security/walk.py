"""Route walks and database snapshots for the cross-cutting tests.

The walks read `app.url_map`, so a new page is covered the day it is added. An integer
URL parameter named `<thing>_id` is filled with the id of one of the user's rows of the
model `Thing` (the `make_owner` fixture gives every model with a `user_id` one row per
user); any other parameter is a signed token from an email link, filled with a forged one.
"""

import re
from dataclasses import dataclass, field

from werkzeug.routing import Rule

from tracker.db import db
from tracker.models import User

PASSWORD = "correct horse battery staple"  # the make_user default in tests/conftest.py
PARAMETER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")  # <int:id>, <token>
FORGED_TOKEN = "eyJmb3JnZWQiOnRydWV9.Zm9yZ2Vk.c2lnbmF0dXJl"

# Plausible values for every form field in the app: a POST that were let through would
# change something, so "nothing changed" means the request was refused.
PAYLOAD = {
    "email": "changed@example.com",
    "password": "another fine passphrase",
    "current_password": PASSWORD,
    "new_password": "another fine passphrase",
    "timezone": "Europe/Paris",
    "name": "Changed Name",
    "organisation": "Changed Organisation",
    "role": "Changed Role",
    "title": "Changed Title",
    "held_on": "2026-11-21",
    "start_time": "10:00",
    "stage": "final",
    "outcome": "offer",
    "interest": "5",
    "notes": "changed notes",
    "note": "changed note",
    "website": "https://changed.example",
    "phone": "+1 555 0100",
    "linkedin_url": "https://www.linkedin.com/in/changed",
    "remind": "y",
    "started_on": "2026-11-22",
    "due_on": "2026-12-01",
    "due_time": "09:30",
    "until": "2026-12-15",
    "days": "7",
    "kind": "email",
    "occurred_on": "2026-11-22",
    "digest_enabled": "y",
    "digest_hour": "6",
    "people-0-contact_id": "0",
    "people-0-name": "Changed Person",
    "people-0-role": "interviewer",
    "submit": "Save",
}


@dataclass
class Owner:
    """A user with one row of every kind, and a client logged in as them."""

    user: User
    client: object
    ids: dict[str, int] = field(default_factory=dict)
    markers: tuple[str, ...] = ()


def snapshot(app) -> dict[str, list[tuple]]:
    """Every row of every table, for before/after comparisons."""
    with app.app_context():
        return {
            table.name: sorted((tuple(row) for row in db.session.execute(table.select())), key=repr)
            for table in db.metadata.sorted_tables
        }


def route_params(rule: Rule) -> dict[str, bool]:
    """Each URL parameter of the rule, and whether it is an integer."""
    return {name: converter == "int" for converter, name in PARAMETER.findall(rule.rule)}


def fill(rule: Rule, ids: dict[str, int]) -> str:
    """A concrete URL for the rule: ids from `ids`, forged tokens for the rest."""
    values = {}
    for name, is_int in route_params(rule).items():
        if is_int:
            assert name in ids, f"{rule.rule}: no id for {name!r}; teach {__file__}"
            values[name] = ids[name]
        else:
            values[name] = FORGED_TOKEN
    return rule.build(values, append_unknown=False)[1]


def fetch(client, method: str, url: str, **options):
    """One request with the body read and the response closed (exports are streamed)."""
    if method == "POST":
        response = client.post(url, **options)
    else:
        response = client.open(url, method=method, **options)
    response.get_data()
    response.close()
    return response


# /healthz answers 503 by design while no scheduler runs, as in these tests; it shows no
# user data and tests/test_health.py checks its headers.
UNWALKED = ("static", "health.healthz")


def app_rules(app, method: str) -> list[Rule]:
    """The app's own rules that accept `method` (static files and /healthz left out)."""
    rules = [
        rule
        for rule in app.url_map.iter_rules()
        if method in rule.methods and rule.endpoint not in UNWALKED
    ]
    return sorted(rules, key=lambda rule: rule.rule)
