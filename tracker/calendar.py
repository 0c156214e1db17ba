"""Follow-ups as iCalendar: pure, deterministic, the same bytes for the same items.

Used for the digest's `.ics` attachment; the subscription feed and the single-event
download build on the same functions. Nothing here reads the clock: DTSTAMP is the
follow-up's last change, so an unchanged follow-up always produces identical bytes.
"""

from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import urlsplit

from icalendar import Calendar, Event

from .followups import Item

PRODID = "-//Keepwarm//Follow-ups//EN"


def uid_for(follow_up_id: int, base_url: str) -> str:
    """The event's UID: fixed for the life of the follow-up, so clients update, not duplicate."""
    host = urlsplit(base_url).hostname or "localhost"
    return f"followup-{follow_up_id}@{host}"


def description_of(item: Item) -> str:
    """Why it is due and where the person was met, one fact per line."""
    lines = [item.reason]
    if item.where_met:
        lines.append(item.where_met)
    if item.last_note:
        lines.append(f"Last note: {item.last_note}")
    return "\n".join(lines)


def event_for(item: Item, base_url: str) -> Event:
    """One all-day VEVENT for one follow-up on its due date."""
    follow_up = item.follow_up
    event = Event()
    event.add("uid", uid_for(follow_up.id, base_url))
    # The last change, not "now": calendar bytes must not depend on when they were built.
    event.add("dtstamp", follow_up.changed_at)
    event.add("sequence", follow_up.revision)
    event.add("dtstart", follow_up.due_on)
    event.add("dtend", follow_up.due_on + timedelta(days=1))
    event.add("summary", item.summary)
    event.add("description", description_of(item))
    # All-day reminders should not block the day in anyone's free/busy view.
    event.add("transp", "TRANSPARENT")
    return event


def calendar_bytes(
    items: Iterable[Item],
    base_url: str,
    name: str = "Keepwarm follow-ups",
    method: str | None = None,
) -> bytes:
    """A VCALENDAR with one VEVENT per item, as bytes ready to serve or attach."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    if method:
        calendar.add("method", method)
    calendar.add("x-wr-calname", name)
    for item in items:
        calendar.add_component(event_for(item, base_url))
    return calendar.to_ical()
