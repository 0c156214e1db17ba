"""vCards in and out: cards read with vobject into plain fields, contacts written as vCard 4.0.

Reading takes what Google Contacts, Apple Contacts and Outlook export (vCard 2.1, 3.0
and 4.0, one or many cards per file). Writing is done by hand because vobject writes
only vCard 3.0; the rules it needs (escaping, folding at 75 octets) are few.
"""

import io
import re
from collections.abc import Iterator

import vobject

# The fields a card is read into, in the order the import preview shows them.
CARD_FIELDS = ("name", "email", "phone", "organisation", "title", "linkedin_url", "notes")
ESCAPED = re.compile(r"\\(.)", re.S)
TOKENS = re.compile(r"\\.|;|[^;\\]+|\\", re.S)  # an escape, a separator, or plain text


class CardProblem(ValueError):
    """The file cannot be read as vCards; the message says where and why."""


def unescape(value: str) -> str:
    """A TEXT value with its backslash escapes undone; unescaped commas stay (2.1 has many)."""
    return ESCAPED.sub(lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def split(value: str) -> list[str]:
    """The parts of a structured value (N, ORG), split at unescaped semicolons."""
    parts, current = [], []
    for piece in TOKENS.findall(value):
        if piece == ";":
            parts.append(unescape("".join(current)))
            current = []
        else:
            current.append(piece)
    return [*parts, unescape("".join(current))]


def _preferred(lines: list) -> str:
    """The value marked preferred (PREF in 2.1, TYPE=pref in 3.0, PREF=1 in 4.0), else the first."""
    for line in lines:
        types = ",".join(line.params.get("TYPE", [])).lower().split(",")
        if "pref" in types or "PREF" in line.params or "PREF" in line.singletonparams:
            return unescape(line.value)
    return unescape(lines[0].value) if lines else ""


def _fields(card: dict[str, list]) -> dict[str, str]:
    name = unescape(card["FN"][0].value) if "FN" in card else ""
    if not name.strip() and "N" in card:
        family, given, additional, prefix, suffix = (split(card["N"][0].value) + [""] * 5)[:5]
        name = " ".join(part for part in (prefix, given, additional, family, suffix) if part)
    urls = [unescape(line.value) for line in card.get("URL", []) + card.get("X-SOCIALPROFILE", [])]
    linkedin = [url for url in urls if "linkedin.com" in url.lower()]
    return {
        "name": name,
        "email": _preferred(card.get("EMAIL", [])),
        "phone": _preferred(card.get("TEL", [])).removeprefix("tel:"),
        "organisation": split(card["ORG"][0].value)[0] if "ORG" in card else "",
        "title": _preferred(card.get("TITLE", [])),
        "linkedin_url": (linkedin or urls or [""])[0],
        "notes": "\n".join(unescape(line.value) for line in card.get("NOTE", [])),
    }


def _lines(text: str) -> Iterator:
    """vobject's content lines: unfolded, parameters parsed, quoted-printable decoded.

    Only the line layer of vobject is used: its vCard behaviours keep just the first of
    any comma-separated values ("Becker, Tom" would become "Becker").
    """
    for line, number in vobject.base.getLogicalLines(io.StringIO(text), allowQP=True):
        yield vobject.base.textLineToContentLine(line, number), number


def read_cards(text: str) -> list[dict[str, str]]:
    """Every card in the text as a dict of CARD_FIELDS; CardProblem for a broken file."""
    cards, card, depth, number = [], {}, 0, 0
    try:
        for line, number in _lines(text):
            kind = str(line.value).strip().upper()
            if line.name == "BEGIN":
                if depth == 0 and kind != "VCARD":
                    raise CardProblem(f"The file holds a {kind}, not contact cards.")
                depth, card = depth + 1, card if depth else {}
            elif line.name == "END" and depth:
                depth -= 1
                if depth == 0:
                    cards.append(_fields(card))
            elif depth == 1:
                card.setdefault(line.name, []).append(line)
            elif depth == 0:
                raise vobject.base.ParseError("text outside a card", number)
        if depth:
            raise vobject.base.ParseError("a card is never closed", number)
    except CardProblem:
        raise
    except vobject.base.VObjectError as error:
        where = f" at line {error.lineNumber}" if getattr(error, "lineNumber", None) else ""
        raise CardProblem(
            f"The vCard file is broken{where}, so nothing was imported. "
            "Export it again from your address book and try once more."
        ) from None
    except (ValueError, LookupError, UnicodeError):  # a bad charset or encoding on a line
        raise CardProblem(
            f"The vCard file could not be read at line {number}, so nothing was imported. "
            "Export it again from your address book and try once more."
        ) from None
    return cards


def _escape(value: str) -> str:
    """A TEXT value: backslash, comma, semicolon and newlines escaped (RFC 6350 3.4)."""
    value = value.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")
    return value.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def fold(line: str) -> str:
    """One content line folded at 75 octets with CRLF and a space, never inside a character."""
    if len(line.encode()) <= 75:
        return line + "\r\n"
    pieces, current, size = [], [], 0
    for char in line:
        width = len(char.encode())
        if size + width > 75:
            pieces.append("".join(current))
            current, size = [], 1  # continuation lines start with the space
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces) + "\r\n"


def write_card(
    name: str,
    uid: str,
    email: str = "",
    phone: str = "",
    organisation: str = "",
    title: str = "",
    url: str = "",
    notes: str = "",
) -> str:
    """One vCard 4.0 for one contact, lines ending in CRLF."""
    given, _, family = name.rpartition(" ") if " " in name else (name, "", "")
    lines = [
        "BEGIN:VCARD",
        "VERSION:4.0",
        f"UID:{uid}",
        f"FN:{_escape(name)}",
        f"N:{_escape(family)};{_escape(given)};;;",
    ]
    if email:
        lines.append(f"EMAIL:{_escape(email)}")
    if phone:
        lines.append(f"TEL;VALUE=text:{_escape(phone)}")
    if organisation:
        lines.append(f"ORG:{_escape(organisation)}")
    if title:
        lines.append(f"TITLE:{_escape(title)}")
    if url:
        lines.append("URL:" + "".join(url.splitlines()))  # a URI value: not escaped
    if notes:
        lines.append(f"NOTE:{_escape(notes)}")
    lines.append("END:VCARD")
    return "".join(fold(line) for line in lines)
