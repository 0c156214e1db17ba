"""Contact files into tables of text: encodings, CSV dialects, LinkedIn's notes, vCards.

Pure: bytes in, a Table (or an ImportProblem saying in plain words why not) out. What
the rows mean is decided under a column mapping, in tracker.imports.
"""

import csv
import io
import re
from dataclasses import dataclass

from .vcard import CARD_FIELDS, CardProblem, read_cards

FIELDS = {
    "name": "Name",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "organisation": "Organisation",
    "title": "Job title",
    "linkedin_url": "LinkedIn URL",
    "notes": "Notes",
    "connected_on": "Connected on (date)",
}
# Header names (lower case, letters and digits only) per field, the likeliest first:
# LinkedIn, Google Contacts, Outlook (whose "Title" is Mr/Ms, hence "Job Title" first).
HEADERS = {
    "name": ("name", "fullname", "displayname", "contactname"),
    "first_name": ("firstname", "givenname", "forename", "first"),
    "last_name": ("lastname", "familyname", "surname", "last"),
    "email": ("email", "emailaddress", "email1value", "email1", "primaryemail", "workemail"),
    "phone": (
        "phone",
        "phonenumber",
        "mobilephone",
        "mobile",
        "phone1value",
        "telephone",
        "businessphone",
        "primaryphone",
        "tel",
    ),
    "organisation": (
        "organisation",
        "organization",
        "company",
        "companyname",
        "organizationname",
        "organization1name",
        "employer",
    ),
    "title": ("jobtitle", "organizationtitle", "organization1title", "position", "title", "role"),
    "linkedin_url": ("linkedinurl", "linkedin", "linkedinprofile", "profileurl", "url"),
    "notes": ("notes", "note", "comments", "comment"),
    "connected_on": ("connectedon",),
}
MAX_ROWS = 50_000
MAX_COLUMNS = 200  # each column gets a field picker in the preview
CONTROL = dict.fromkeys(c for c in (*range(32), 127) if chr(c) not in "\t\n\r")
EXPORT_AGAIN = "Export your contacts as CSV or vCard and try again."
NOT_TEXT = "This is not a CSV or vCard file. " + EXPORT_AGAIN
MAGIC = {
    b"PK\x03\x04": "This looks like an Excel workbook or a zip file. Save it as CSV and try again.",
    b"\xd0\xcf\x11\xe0": "This looks like an Excel workbook. Save it as CSV and try again.",
    b"%PDF": "This is a PDF, not a contacts file. " + EXPORT_AGAIN,
}


class ImportProblem(ValueError):
    """The file cannot be imported at all; the message says why in plain words."""


@dataclass
class Table:
    """A file read into rows of text cells, with the line (or card) each row started on."""

    source: str  # "linkedin", "csv" or "vcard"
    columns: list[str]
    rows: list[list[str]]
    numbers: list[int]

    @property
    def noun(self) -> str:
        return "card" if self.source == "vcard" else "line"


def _text(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    for magic, message in MAGIC.items():
        if data.startswith(magic):
            raise ImportProblem(message)
    if b"\x00" in data:
        raise ImportProblem(NOT_TEXT)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252")


def decode(data: bytes) -> str:
    """The file as text: UTF-8 (with or without BOM), UTF-16 with a BOM, or Windows-1252."""
    try:
        text = _text(data)
    except UnicodeDecodeError:
        raise ImportProblem(
            "The file is in a text encoding Keepwarm cannot read. "
            "Save it as “CSV UTF-8” (or vCard) and try again."
        ) from None
    sample = text[:65536]
    if len(sample) - len(sample.translate(CONTROL)) > len(sample) // 100:
        raise ImportProblem(NOT_TEXT)  # text has the odd control character; binary has many
    return text


def read(data: bytes) -> Table:
    """Read an upload: vCards, LinkedIn's Connections.csv or any CSV; ImportProblem if none."""
    if not data.strip():
        raise ImportProblem("The file is empty.")
    text = decode(data)
    start = text.lstrip()[:20].upper()
    if start.startswith("BEGIN:VCARD"):
        return _vcards(text)
    if start.startswith("BEGIN:VCALENDAR"):
        raise ImportProblem("This is a calendar file, not contacts. " + EXPORT_AGAIN)
    if start[:1] in ("{", "["):
        raise ImportProblem(
            "This looks like a JSON file. To restore a Keepwarm backup, use “Restore a backup”."
        )
    if start[:1] == "<":
        raise ImportProblem("This looks like a web page or an XML file. " + EXPORT_AGAIN)
    return _csv(text)


def _vcards(text: str) -> Table:
    try:
        cards = read_cards(text)
    except CardProblem as problem:
        raise ImportProblem(str(problem)) from None
    if len(cards) > MAX_ROWS:
        raise ImportProblem(f"The file has more than {MAX_ROWS:,} cards; split it and try again.")
    rows = [[card[name] for name in CARD_FIELDS] for card in cards]
    numbers = list(range(1, len(rows) + 1))
    return Table("vcard", [FIELDS[name] for name in CARD_FIELDS], rows, numbers)


def _header_start(text: str) -> tuple[int, int, str]:
    """Offset and line number of the header row, and the source: LinkedIn puts notes first."""
    offset = 0
    for number, line in enumerate(text[:20_000].splitlines(keepends=True)[:20], start=1):
        if line.strip().lower().startswith("first name,last name,"):
            return offset, number, "linkedin"
        offset += len(line)
    blank = len(text) - len(text.lstrip("\r\n"))
    return blank, text[:blank].count("\n") + 1, "csv"


def _csv(text: str) -> Table:
    offset, first_line, source = _header_start(text)
    body = text[offset:]
    header_line = body.split("\n", 1)[0]
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(io.StringIO(body, newline=""), delimiter=delimiter, strict=True)
    rows, numbers = [], []
    try:
        header = next(reader, None)
        if header is None:
            raise ImportProblem("The file is empty.")
        while True:
            start = reader.line_num + first_line
            cells = next(reader, None)
            if cells is None:
                break
            if any(cell.strip() for cell in cells):
                if len(rows) == MAX_ROWS:
                    raise ImportProblem(
                        f"The file has more than {MAX_ROWS:,} rows; split it and try again."
                    )
                rows.append(cells)
                numbers.append(start)
    except csv.Error as error:
        line = reader.line_num + first_line - 1
        raise ImportProblem(
            f"This is not a CSV file Keepwarm can read (line {line}: {error})."
        ) from None
    columns = [cell.strip() or f"Column {i}" for i, cell in enumerate(header, start=1)]
    if len(columns) == 1 and not guess_mapping(columns):
        raise ImportProblem(
            "This does not look like a CSV file: its first line has no commas or semicolons "
            "between column names. " + EXPORT_AGAIN
        )
    if len(columns) > MAX_COLUMNS:
        raise ImportProblem(f"The file has more than {MAX_COLUMNS} columns; remove some and retry.")
    if not rows:
        raise ImportProblem("The file has a header row but no contacts under it.")
    return Table(source, columns, rows, numbers)


def _header_word(column: str) -> str:
    return re.sub(r"[^a-z0-9]", "", column.lower())


def guess_mapping(columns: list[str]) -> dict[str, int]:
    """Field -> column index, from the column names; each column used at most once."""
    words = [_header_word(column) for column in columns]
    mapping: dict[str, int] = {}
    for name, synonyms in HEADERS.items():
        for synonym in synonyms:
            if synonym in words and words.index(synonym) not in mapping.values():
                mapping[name] = words.index(synonym)
                break
    return mapping
