"""Contact rows checked and matched: what each row of a file would become, and why not.

Pure: no database, no request. `candidates` checks each row of a Table under a column
mapping; `plan` says which rows are new, which match a contact the user has (same email,
or same name at the same organisation) or an earlier row, and which cannot be imported.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from urllib.parse import urlsplit

from .contact_files import CONTROL, FIELDS, ImportProblem, Table, guess_mapping, read
from .exports import csv_unescape
from .organisations import name_key

__all__ = ["ImportProblem", "Table", "guess_mapping", "read"]  # the file-reading half

LIMITS = {
    "name": 200,
    "email": 254,
    "phone": 50,
    "organisation": 200,
    "title": 200,
    "linkedin_url": 500,
    "notes": 10_000,
}
CONNECTED_NOTE = "Connected on LinkedIn"
DATE_FORMATS = ("%d %b %Y", "%d %B %Y", "%d-%b-%y", "%d-%b-%Y", "%Y-%m-%d")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# A cell a spreadsheet would run: "=...", or "+", "-", "@" then a call, a pipe or a sheet
# reference. "+44 (20) 7946 0000" and "- met in May" are text; "@SUM(A1)", "-2+cmd|x" and
# "+Sheet1!A1" are formulas.
FORMULA = re.compile(r"=|[+\-@].*(?:[A-Za-z_][\w.]*\(|\||\w!\$?[A-Za-z]{1,3}\$?\d)", re.S)


def mapping_problem(mapping: dict[str, int]) -> str | None:
    """Why rows cannot be read under this mapping, or None."""
    if not {"name", "first_name", "last_name"} & mapping.keys():
        return "Choose the column that holds the name (or the first and last names)."
    return None


@dataclass(frozen=True)
class Candidate:
    """One row as a contact would be made from it, with what stops or trims it."""

    number: int
    name: str = ""
    email: str = ""
    phone: str = ""
    organisation: str = ""
    title: str = ""
    linkedin_url: str = ""
    notes: str = ""
    connected_on: date | None = None
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def clean(value: str) -> str:
    return value.translate(CONTROL).strip()


def parse_date(text: str) -> date | None:
    for pattern in DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None


def web_address(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:59] + "…"


def candidate(table: Table, mapping: dict[str, int], index: int) -> Candidate:
    """Check one row: formulas, missing name and oversized cells stop it; bad links are cut."""
    cells, errors, warnings = table.rows[index], [], []
    if len(cells) > len(table.columns) and any(c.strip() for c in cells[len(table.columns) :]):
        errors.append(
            f"This {table.noun} has {len(cells)} cells but the header has {len(table.columns)}."
        )
    values = {}
    for name, column in mapping.items():
        raw = cells[column] if column < len(cells) else ""
        if table.source != "vcard":
            if FORMULA.match(raw.strip()):
                errors.append(
                    f"“{table.columns[column]}” holds a spreadsheet formula "
                    f"({_short(raw.strip())}); formulas are not imported."
                )
            raw = csv_unescape(raw)
        values[name] = clean(raw)
    first_last = f"{values.get('first_name', '')} {values.get('last_name', '')}"
    name = " ".join((values.get("name") or first_last).split())
    values["name"] = name
    if not name:
        errors.append("No name.")
    for key, limit in LIMITS.items():
        if len(values.get(key, "")) > limit:
            errors.append(f"{FIELDS[key]} is longer than {limit:,} characters.")
    email, url = values.get("email", ""), values.get("linkedin_url", "")
    if email and not EMAIL.fullmatch(email):
        warnings.append(f"Email “{_short(email)}” left out: it is not an email address.")
        email = ""
    if url and not web_address(url):
        warnings.append("LinkedIn URL left out: only addresses starting with https:// are kept.")
        url = ""
    connected = values.get("connected_on", "")
    connected_on = parse_date(connected) if connected else None
    if connected and connected_on is None:
        warnings.append(f"Date “{_short(connected)}” not understood; no connection logged.")
    return Candidate(
        number=table.numbers[index],
        name=name,
        email=email,
        phone=values.get("phone", ""),
        organisation=" ".join(values.get("organisation", "").split()),
        title=values.get("title", ""),
        linkedin_url=url,
        notes=values.get("notes", ""),
        connected_on=connected_on,
        errors=tuple(errors),
        warnings=tuple(warnings),
    )


def candidates(table: Table, mapping: dict[str, int]) -> list[Candidate]:
    return [candidate(table, mapping, index) for index in range(len(table.rows))]


class Action(StrEnum):
    NEW = "new"
    MATCH = "match"  # an existing contact of the user
    REPEAT = "repeat"  # an earlier row of the same file
    INVALID = "invalid"


@dataclass(frozen=True)
class Known:
    """The user's contacts as the matching rules see them."""

    by_email: dict[str, int] = field(default_factory=dict)  # casefolded email -> id
    by_name: dict[tuple[str, str], int] = field(default_factory=dict)  # (name, org) keys -> id
    names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    row: Candidate
    action: Action
    contact_id: int | None = None
    earlier: int | None = None  # index of the row this one repeats
    why: str = ""


def plan(rows: list[Candidate], known: Known, noun: str = "line") -> list[Decision]:
    """New, matching (same email, else same name at the same organisation), or invalid."""
    decisions: list[Decision] = []
    seen_email: dict[str, int] = {}
    seen_name: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        if row.errors:
            decisions.append(Decision(row, Action.INVALID))
            continue
        email = row.email.casefold()
        key = (name_key(row.name), name_key(row.organisation))
        if email and email in known.by_email:
            found, why = known.by_email[email], "same email"
        elif key in known.by_name:
            found = known.by_name[key]
            why = f"same name at {row.organisation}" if row.organisation else "same name"
        else:
            found = None
        if found is not None:
            decisions.append(Decision(row, Action.MATCH, contact_id=found, why=why))
            continue
        earlier = seen_email.get(email) if email else None
        earlier = seen_name.get(key) if earlier is None else earlier
        if earlier is not None:
            why = f"same person as {noun} {rows[earlier].number}"
            decisions.append(Decision(row, Action.REPEAT, earlier=earlier, why=why))
            continue
        decisions.append(Decision(row, Action.NEW))
        if email:
            seen_email[email] = index
        seen_name[key] = index
    return decisions
