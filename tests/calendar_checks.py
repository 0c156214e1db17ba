"""Checks for iCalendar bytes: our own byte-level rules, and three independent parsers.

The parsers accept files that real calendar apps reject (long lines, bare LF, a
character split by folding), so the byte rules come first. Then icalendar, the strict
`ical` package and libical (Debian's gir1.2-ical-3.0, run by the system python3) each
read the file, and the tests compare what they read with the database.
"""

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SYSTEM_PYTHON = Path("/usr/bin/python3")
LIBICAL_PACKAGES = "gir1.2-ical-3.0 python3-gi"
MAX_OCTETS = 75

# Run by the system python3, where Debian's GObject bindings live: parse, run libical's
# iTIP restriction check, and report what it read.
LIBICAL_SCRIPT = r"""
import json, sys
import gi
gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as I

def read(text):
    root = I.Component.new_from_string(text)
    ok = bool(I.restriction_check(root))
    written = root.as_ical_string().replace("\r\n ", "").replace("\r\n\t", "")
    events = []
    event = root.get_first_component(I.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        start, end = event.get_dtstart(), event.get_dtend()
        events.append({
            "uid": event.get_uid(),
            "summary": event.get_summary(),
            "description": event.get_description(),
            "dtstart": start.as_ical_string(),
            "dtend": end.as_ical_string(),
            "start_is_date": bool(start.is_date()),
            "end_is_date": bool(end.is_date()),
            "start_is_utc": bool(start.is_utc()),
            "sequence": event.get_sequence(),
            "alarms": event.count_components(I.ComponentKind.VALARM_COMPONENT),
        })
        event = root.get_next_component(I.ComponentKind.VEVENT_COMPONENT)
    errors = [line for line in written.split("\r\n") if line.startswith("X-LIC-ERROR")]
    return {"restrictions_pass": ok, "errors": errors, "events": events}

text = sys.stdin.buffer.read().decode("utf-8")
as_published = text
if "\r\nMETHOD:" not in text:
    as_published = text.replace("\r\nVERSION:2.0\r\n", "\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\n", 1)
print(json.dumps({"as_is": read(text), "as_published": read(as_published)}))
"""


def line_problems(data: bytes) -> list[str]:
    """Breaches of RFC 5545's line rules, each naming the line."""
    problems = []
    if not data.endswith(b"\r\n"):
        problems.append("does not end with CRLF")
    if re.search(rb"\r(?!\n)", data):
        problems.append("bare CR")
    if re.search(rb"(?<!\r)\n", data):
        problems.append("bare LF")
    for number, line in enumerate(data.split(b"\r\n")[:-1], start=1):
        if len(line) > MAX_OCTETS:
            problems.append(f"line {number} has {len(line)} octets")
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(f"line {number} splits a character: {line!r}")
        if not line:
            problems.append(f"line {number} is empty")
        if line.startswith((b" ", b"\t")) and number == 1:
            problems.append("the first line is a continuation")
    return problems


def unfold(data: bytes) -> list[str]:
    """The content lines, folding undone (RFC 5545 3.1)."""
    return data.decode("utf-8").replace("\r\n ", "").replace("\r\n\t", "").split("\r\n")[:-1]


def unescape(value: str) -> str:
    """A TEXT value as the text it stands for."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


@dataclass
class Component:
    """One BEGIN/END block: its properties as (name, params, value), and its children."""

    name: str
    properties: list[tuple[str, str, str]] = field(default_factory=list)
    children: list["Component"] = field(default_factory=list)

    def all(self, name: str) -> list[tuple[str, str, str]]:
        return [p for p in self.properties if p[0] == name]

    def one(self, name: str) -> tuple[str, str]:
        """(params, value) of a property that must be there exactly once."""
        found = self.all(name)
        assert len(found) == 1, f"{self.name}: {name} appears {len(found)} times"
        return found[0][1], found[0][2]

    def value(self, name: str) -> str:
        return self.one(name)[1]

    def text(self, name: str) -> str:
        return unescape(self.value(name))

    def walk(self, name: str) -> list["Component"]:
        found = [self] if self.name == name else []
        for child in self.children:
            found += child.walk(name)
        return found


CONTENT_LINE = re.compile(
    r'^([A-Za-z0-9-]+)((?:;[A-Za-z0-9-]+=(?:"[^"]*"|[^";:,]*)(?:,(?:"[^"]*"|[^";:,]*))*)*):(.*)$'
)


def parse(data: bytes) -> Component:
    """A strict reading of the structure: every line a well-formed content line,
    every BEGIN matched by its END, one VCALENDAR and nothing after it."""
    stack: list[Component] = []
    root = None
    for line in unfold(data):
        match = CONTENT_LINE.match(line)
        assert match, f"not a content line: {line!r}"
        name, params, value = match.group(1).upper(), match.group(2), match.group(3)
        if name == "BEGIN":
            component = Component(value.upper())
            if stack:
                stack[-1].children.append(component)
            else:
                assert root is None, "a second top-level component"
                root = component
            stack.append(component)
        elif name == "END":
            assert stack and stack[-1].name == value.upper(), f"END:{value} does not match"
            stack.pop()
        else:
            assert stack, f"{name} outside any component"
            stack[-1].properties.append((name, params, value))
    assert root is not None and root.name == "VCALENDAR" and not stack
    return root


def byte_checked(data: bytes) -> Component:
    """The calendar, after every byte rule has passed."""
    assert line_problems(data) == []
    calendar = parse(data)
    if not calendar.walk("VTIMEZONE"):
        assert "TZID=" not in data.decode("utf-8").replace("\r\n ", "").upper()
    return calendar


def libical(data: bytes) -> dict:
    """What libical reads, and its restriction check, as served and as if PUBLISHed."""
    if not SYSTEM_PYTHON.exists():
        pytest.fail(f"libical checks need {SYSTEM_PYTHON} with apt-get install {LIBICAL_PACKAGES}")
    result = subprocess.run(
        [str(SYSTEM_PYTHON), "-c", LIBICAL_SCRIPT],
        input=data,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        error = result.stderr.decode(errors="replace")
        if "No module named 'gi'" in error or "ICalGLib" in error:
            pytest.fail(
                "libical checks need Debian's GObject bindings for libical: "
                f"apt-get install -y {LIBICAL_PACKAGES} (.ci/run installs them).\n{error}"
            )
        pytest.fail(f"libical could not read the calendar:\n{error}")
    return json.loads(result.stdout)


def strict_ical(data: bytes):
    """The calendar as the `ical` package reads it (it raises on anything invalid)."""
    from ical.calendar_stream import IcsCalendarStream

    return IcsCalendarStream.calendar_from_ics(data.decode("utf-8"))
