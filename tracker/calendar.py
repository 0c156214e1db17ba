"""Follow-ups as iCalendar: pure, deterministic, the same bytes for the same items.

One event builder serves the subscription feed, the single-event download and the
digest's `.ics` attachment. Nothing here reads the clock or the database: DTSTAMP is the
follow-up's last change, so an unchanged follow-up always produces identical bytes.
"""

import functools
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import (
    Alarm,
    Calendar,
    Event,
    vCalAddress,
    vCategory,
    vDDDTypes,
    vDuration,
    vInt,
    vText,
    vUri,
)

from .agenda import Item
from .drafts import KIND_LABELS

PRODID = "-//Keepwarm//Follow-ups//EN"
CALENDAR_NAME = "Keepwarm follow-ups"
CATEGORY = "Keepwarm"
# How often subscribers should fetch again (RFC 7986; X-PUBLISHED-TTL for Outlook).
REFRESH = timedelta(hours=4)
# A follow-up with a time is shown as a short slot starting then.
TIMED_LENGTH = timedelta(minutes=30)
DEFAULT_ALARM_HOUR = 8

# RFC 5545 TEXT allows no control characters but HTAB; every kind of line break becomes
# one LF, written as the escape "\n". Lone surrogates cannot be written as UTF-8.
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_NOT_TEXT = re.compile("[\x00-\x08\x0e-\x1f\x7f\ud800-\udfff]")
_NOT_ADDRESS = re.compile(r"[\s\x00-\x1f\x7f;:,\"<>\\]")


def clean_text(text: str) -> str:
    """The text as calendars will show it: line breaks as LF, no control characters."""
    return _NOT_TEXT.sub("", _LINE_BREAKS.sub("\n", text))


def escape_text(text: str) -> str:
    """RFC 5545 TEXT escaping: backslash, semicolon, comma and line breaks, nothing else."""
    return (
        clean_text(text)
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\n", "\\n")
    )


class Text(vText):
    """A TEXT value escaped by the RFC alone, never carrying a raw CR or LF.

    icalendar 7.3 turns a typed backslash-N into a line break, passes a bare CR through
    in some properties, and keeps LF out of a line only with an `assert` that `python -O`
    removes. This class writes every user's text itself, so none of that applies.
    """

    def to_ical(self) -> bytes:
        return escape_text(str(self)).encode()


def uid_for(follow_up_id: int, base_url: str) -> str:
    """The event's UID: fixed for the life of the follow-up, so clients update, not duplicate."""
    return f"followup-{follow_up_id}@{_host(base_url)}"


def calendar_uid(user_id: int, base_url: str) -> str:
    """The feed's own UID (RFC 7986): one per user, never changing."""
    return f"follow-ups-{user_id}@{_host(base_url)}"


def follow_up_url(follow_up_id: int, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/follow-ups/{follow_up_id}"


def _host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def description_of(item: Item, url: str | None = None) -> str:
    """Why it is due, where the person was met, the notes, the draft email and the link."""
    follow_up = item.follow_up
    lines = [item.reason]
    if item.where_met:
        lines.append(item.where_met)
    if item.last_note:
        lines.append(f"Last note: {item.last_note}")
    if follow_up.note:
        lines.append(f"Note: {follow_up.note}")
    if item.draft is not None:
        subject, body = item.draft
        lines += ["", f"Draft email — Subject: {subject}", "", body.rstrip("\n")]
    if url:
        lines += ["", f"Open in Keepwarm: {url}"]
    return "\n".join(lines)


def span_of(due_on: date, due_time: time | None, zone: str) -> tuple[date | datetime, ...]:
    """DTSTART and DTEND: the local date and the next day, or a UTC slot for a set time."""
    if due_time is None:
        return due_on, due_on + timedelta(days=1)
    start = datetime.combine(due_on, due_time, tzinfo=ZoneInfo(zone)).astimezone(UTC)
    return start, start + TIMED_LENGTH


def alarm_trigger(start: date | datetime, zone: str, hour: int) -> timedelta:
    """When to remind, relative to the start: at `hour` on the day, never after a set time.

    An all-day event starts at local midnight, so the offset is the hour itself.
    """
    if not isinstance(start, datetime):
        return timedelta(hours=hour)
    local_day = start.astimezone(ZoneInfo(zone)).date()
    moment = datetime.combine(local_day, time(hour), tzinfo=ZoneInfo(zone))
    return min(moment - start, timedelta(0))


def event_for(
    item: Item,
    base_url: str,
    *,
    zone: str = "UTC",
    alarm_hour: int = DEFAULT_ALARM_HOUR,
    organizer: str | None = None,
) -> Event:
    """One VEVENT for one follow-up: all-day on its local date, or at its time in UTC.

    `zone` is the user's time zone (it places a set time), `alarm_hour` their digest hour.
    """
    follow_up = item.follow_up
    # One sweep builds thousands of these: properties are set with their types given,
    # where `add` would infer each one's type; the summary's value serves twice.
    changed = vDDDTypes(follow_up.changed_at.astimezone(UTC))
    url = follow_up_url(follow_up.id, base_url)
    start, end = span_of(follow_up.due_on, follow_up.due_time, zone)
    summary = Text(item.summary)
    event = Event()
    event["uid"] = vText(uid_for(follow_up.id, base_url))
    # The last change, not "now": calendar bytes must not depend on when they were built.
    event["dtstamp"] = changed
    event["last-modified"] = changed
    event["sequence"] = vInt(follow_up.revision)
    event["dtstart"] = vDDDTypes(start)
    event["dtend"] = vDDDTypes(end)
    event["summary"] = summary
    event["description"] = Text(description_of(item, url))
    event["url"] = vUri(url)
    event["categories"] = vCategory([Text(CATEGORY), Text(KIND_LABELS[follow_up.kind])])
    # Reminders should not block the day in anyone's free/busy view.
    event["transp"] = vText("TRANSPARENT")
    if organizer:
        # An address from the configuration; still, nothing in it may break the line.
        event["organizer"] = vCalAddress("mailto:" + _NOT_ADDRESS.sub("", organizer))
    alarm = Alarm()
    alarm["action"] = vText("DISPLAY")
    alarm["description"] = summary
    alarm["trigger"] = vDuration(alarm_trigger(start, zone, alarm_hour))
    event.add_component(alarm)
    return event


def _calendar(name: str, method: str | None = None) -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", Text(name))
    return calendar


END = b"END:VCALENDAR\r\n"


@functools.lru_cache(maxsize=16)
def _head(name: str, method: str | None) -> bytes:
    """The calendar's lines before its events: the same for every calendar of this name
    and method, so serialised once. Events follow, then END (what `to_ical` of the whole
    calendar writes, without serialising these lines again for every digest)."""
    return _calendar(name, method).to_ical().removesuffix(END)


def calendar_bytes(
    items: Iterable[Item],
    base_url: str,
    name: str = CALENDAR_NAME,
    method: str | None = None,
    *,
    zone: str = "UTC",
    alarm_hour: int = DEFAULT_ALARM_HOUR,
    organizer: str | None = None,
) -> bytes:
    """A VCALENDAR with one VEVENT per item: a download, an attachment or an export.

    With `method` (the digest sends PUBLISH), `organizer` is required: iTIP wants an
    ORGANIZER on every event of a scheduling message.
    """
    if method and not organizer:
        raise ValueError(f"METHOD:{method} needs an ORGANIZER address")
    events = (
        event_for(item, base_url, zone=zone, alarm_hour=alarm_hour, organizer=organizer)
        for item in items
    )
    return _head(name, method) + b"".join(event.to_ical() for event in events) + END


def feed_bytes(
    items: Iterable[Item],
    base_url: str,
    user_id: int,
    *,
    zone: str,
    alarm_hour: int,
) -> bytes:
    """The subscription feed: named, with its own UID and refresh hints, and no METHOD.

    icalendar 7.3 writes a plain timedelta as "PT4H" without VALUE=DURATION for
    REFRESH-INTERVAL (which RFC 7986 requires) and as "4:00:00" for X-PUBLISHED-TTL, so
    both are given as explicit durations.
    """
    calendar = _calendar(CALENDAR_NAME)
    calendar.add("name", Text(CALENDAR_NAME))
    calendar.add("uid", calendar_uid(user_id, base_url))
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    for item in items:
        calendar.add_component(event_for(item, base_url, zone=zone, alarm_hour=alarm_hour))
    return calendar.to_ical()
