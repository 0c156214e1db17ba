"""Dates in words, the way the pages say them ("tomorrow", "3 days overdue", "3 Dec")."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

# The months as pages say them, whatever the process's locale (strftime's %b follows it).
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_date(day: date, today: date) -> str:
    """ "3 Dec" this year, "3 Dec 2025" otherwise."""
    if day.year == today.year:
        return f"{day.day} {MONTHS[day.month - 1]}"
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def relative_day(day: date, today: date) -> str:
    """ "today", "tomorrow", "in 5 days", "yesterday", "3 days ago"."""
    delta = (day - today).days
    if delta == 0:
        return "today"
    if delta == 1:
        return "tomorrow"
    if delta == -1:
        return "yesterday"
    if delta > 1:
        return f"in {delta} days"
    return f"{-delta} days ago"


def overdue_words(day: date, today: date) -> str:
    """ "due today", "due tomorrow", "3 days overdue", "due in 5 days"."""
    delta = (day - today).days
    if delta < 0:
        return "1 day overdue" if delta == -1 else f"{-delta} days overdue"
    return "due " + relative_day(day, today)


def local_time(moment: datetime, zone: str) -> time:
    """The wall-clock time of a UTC moment in the user's zone."""
    return moment.astimezone(ZoneInfo(zone)).time()


def clock_time(value: time) -> str:
    return f"{value:%H:%M}"
