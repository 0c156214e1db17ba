"""Composing emails: the daily digest (text, HTML, .ics) and the test email.

A message is composed once, when it is put in the outbox, and stored whole: every retry
sends the same bytes with the same Message-ID and Date. Header values with CR or LF are
refused (by EmailMessage, and by mime.py for the digest), so nothing a user typed can
add a header.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import urlsplit

from flask import current_app, render_template

from .. import calendar, tokens
from ..agenda import Item
from ..dates import overdue_words, short_date
from ..models import User
from . import mime

NO_ORGANISATION = "Other follow-ups"
# Headers are written on one line up to RFC 5322's limit: folding a long List-Unsubscribe
# URL would turn it into an encoded word that no mail client reads as a URL.
STORAGE_POLICY = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Composed:
    """A message as the outbox stores and sends it: CRLF lines, ASCII, headers unfolded."""

    subject: str
    message_id: str
    text: str


@dataclass(frozen=True)
class DigestLine:
    """One follow-up as the digest shows it, links included."""

    summary: str
    reason: str
    due: str
    overdue: bool
    where_met: str
    last_note: str
    done_url: str
    reached_out_url: str
    snooze_url: str


@dataclass(frozen=True)
class DigestGroup:
    organisation: str
    lines: list[DigestLine]


def subject_for(count: int, overdue: int) -> str:
    """ "3 follow-ups due today", with how many of them are overdue when any are."""
    noun = "follow-up" if count == 1 else "follow-ups"
    subject = f"{count:,} {noun} due today"
    return f"{subject} ({overdue:,} overdue)" if overdue else subject


def action_url(base_url: str, item: Item, action: str) -> str:
    token = tokens.action_token(item.follow_up.id, action, item.follow_up.revision)
    return f"{base_url}/email/action/{token}"


def unsubscribe_url(base_url: str, user_id: int) -> str:
    return f"{base_url}/email/unsubscribe/{tokens.unsubscribe_token(user_id)}"


def group_by_organisation(items: Sequence[Item], today: date, base_url: str) -> list[DigestGroup]:
    """Organisations in the order of their most overdue item; people without one last."""
    groups: dict[str, list[DigestLine]] = {}
    for item in sorted(items, key=lambda i: (i.follow_up.due_on, i.follow_up.id)):
        due_on = item.follow_up.due_on
        groups.setdefault(item.organisation_name or NO_ORGANISATION, []).append(
            DigestLine(
                summary=item.summary,
                reason=item.reason,
                due=overdue_words(due_on, today),
                overdue=due_on < today,
                where_met=item.where_met,
                last_note=item.last_note,
                done_url=action_url(base_url, item, "done"),
                reached_out_url=action_url(base_url, item, "reached-out"),
                snooze_url=action_url(base_url, item, "snooze"),
            )
        )
    ordered = sorted(groups.items(), key=lambda pair: pair[0] == NO_ORGANISATION)
    return [DigestGroup(name, lines) for name, lines in ordered]


def _base_headers(user: User, subject: str, now: datetime) -> list[tuple[str, str]]:
    """Headers every email from Keepwarm has: addresses, Date, Message-ID, Auto-Submitted."""
    config = current_app.config
    host = urlsplit(config["BASE_URL"]).hostname or "localhost"
    return [
        ("From", config["MAIL_FROM"]),
        ("To", user.email),
        ("Subject", subject),
        ("Date", format_datetime(now)),
        ("Message-ID", make_msgid(domain=host)),
        # Keeps vacation responders and other robots from answering a robot.
        ("Auto-Submitted", "auto-generated"),
    ]


def _base_message(user: User, subject: str, now: datetime) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    for name, value in _base_headers(user, subject, now):
        message[name] = value
    return message


def digest(
    user: User,
    items: Sequence[Item],
    today: date,
    now: datetime,
    due: int | None = None,
    overdue: int | None = None,
) -> Composed:
    """The daily digest: text and HTML alternatives, then the items as an .ics attachment.

    `due` and `overdue` count everything due when `items` are only the oldest of it
    (agenda.DIGEST_ROWS); the digest then says how many more there are and links home.
    Written by mime.py: the email package took longer to build it than SMTP to send it.
    """
    base_url = current_app.config["BASE_URL"]
    if due is None:
        due = len(items)
    if overdue is None:
        overdue = sum(1 for item in items if item.follow_up.due_on < today)
    subject = subject_for(due, overdue)
    headers = _base_headers(user, subject, now)
    unsubscribe = unsubscribe_url(base_url, user.id)
    headers += [
        ("List-Unsubscribe", f"<{unsubscribe}>"),
        ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    ]
    more = due - len(items)
    context = {
        "subject": subject,
        "day": short_date(today, today),
        "groups": group_by_organisation(items, today, base_url),
        "more": f"{more:,}" if more > 0 else "",
        "shown": len(items),
        "home_url": f"{base_url}/",
        "settings_url": f"{base_url}/settings/",
        "unsubscribe_url": unsubscribe,
    }
    ics = calendar.calendar_bytes(
        items,
        base_url,
        method="PUBLISH",
        zone=user.timezone,
        alarm_hour=user.digest_hour,
        organizer=parseaddr(current_app.config["MAIL_FROM"])[1] or "keepwarm@localhost",
    )
    # The .txt template is not autoescaped (right for plain text); the .html one is.
    alternatives = mime.multipart(
        "alternative",
        [
            mime.text("plain", render_template("email/digest.txt", **context)),
            mime.text("html", render_template("email/digest.html", **context)),
        ],
    )
    # The charset is stated for clients; base64 keeps the calendar's CRLF lines intact.
    calendar_part = mime.attachment(
        'text/calendar; charset="utf-8"', "keepwarm-follow-ups.ics", ics
    )
    body = mime.multipart("mixed", [alternatives, calendar_part])
    message_id = dict(headers)["Message-ID"]
    return Composed(subject, message_id, mime.message(headers, body))


def delivery_check(user: User, now: datetime) -> EmailMessage:
    """A short message that proves the mail settings work end to end."""
    base_url = current_app.config["BASE_URL"]
    message = _base_message(user, "Keepwarm test email", now)
    message.set_content(
        "This is a test email from Keepwarm.\n\n"
        "If you are reading it, your reminder emails will reach you.\n\n"
        f"Delivery log: {base_url}/delivery/\n",
        cte="quoted-printable",
    )
    return message


def serialise(message: EmailMessage) -> str:
    """The message as stored in the outbox and sent: CRLF lines, ASCII, headers unfolded."""
    return message.as_string(policy=STORAGE_POLICY)


def stored(message: EmailMessage | Composed) -> Composed:
    """A composed EmailMessage as the outbox keeps it (a digest comes that way already)."""
    if isinstance(message, Composed):
        return message
    return Composed(str(message["Subject"]), str(message["Message-ID"]), serialise(message))


def password_reset(user: User, link: str, minutes: int, now: datetime) -> EmailMessage:
    """The link to choose a new password; it says how long it works and what to do if
    the request was not yours."""
    message = _base_message(user, "Reset your Keepwarm password", now)
    message.set_content(
        "Someone asked to reset the password of your Keepwarm account.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{link}\n\n"
        "It works once. Choosing a new password logs out every device.\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n",
        cte="quoted-printable",
    )
    return message
