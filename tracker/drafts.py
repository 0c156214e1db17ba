"""What each follow-up is for, in words, and the prefilled email draft for it."""

import functools
import string
from dataclasses import dataclass
from datetime import date

from .dates import short_date
from .models import FollowUpKind

KIND_LABELS = {
    FollowUpKind.THANK_YOU: "Thank-you note",
    FollowUpKind.FEEDBACK: "Ask for feedback",
    FollowUpKind.STATUS_CHECK: "Status check",
    FollowUpKind.CHECK_IN: "Check-in",
    FollowUpKind.MANUAL: "Follow-up",
}

STAGE_WORDS = {
    "phone_screen": "phone screen",
    "technical": "technical interview",
    "onsite": "onsite interview",
    "final": "final interview",
    "other": "interview",
}


@dataclass(frozen=True)
class Context:
    """Plain values a follow-up's words are made from."""

    kind: FollowUpKind
    title: str = ""
    contact_name: str = ""
    contact_email: str = ""
    organisation: str = ""
    role: str = ""
    stage: str = ""
    held_on: date | None = None
    topics: str = ""


def reason(ctx: Context, today: date) -> str:
    """Why it is due: "Thank-you note after the onsite interview on 3 Dec"."""
    if ctx.kind is FollowUpKind.MANUAL:
        return ctx.title or "Follow-up"
    label = KIND_LABELS[ctx.kind]
    if ctx.held_on is None:
        return label
    meeting = STAGE_WORDS.get(ctx.stage, "interview")
    when = short_date(ctx.held_on, today)
    if ctx.kind is FollowUpKind.CHECK_IN:
        return f"Keep-warm check-in after the {meeting} on {when}"
    return f"{label} after the {meeting} on {when}"


def summary(ctx: Context) -> str:
    """Short line for calendars and email subjects: "Thank-you note: Dana Smith, Acme"."""
    label = ctx.title if ctx.kind is FollowUpKind.MANUAL and ctx.title else KIND_LABELS[ctx.kind]
    who = ", ".join(part for part in (ctx.contact_name, ctx.organisation) if part)
    return f"{label}: {who}" if who else label


def _first_name(name: str) -> str:
    return name.split()[0] if name.split() else "there"


def draft(ctx: Context, today: date) -> tuple[str, str]:
    """Subject and body of a ready-to-edit email for this follow-up."""
    hello = f"Hi {_first_name(ctx.contact_name)},"
    role = ctx.role or "the role"
    org = ctx.organisation or "your team"
    when = f" on {short_date(ctx.held_on, today)}" if ctx.held_on else ""
    topics = (
        f"\n\nI especially enjoyed our conversation about {ctx.topics.strip()}."
        if ctx.topics.strip()
        else ""
    )
    if ctx.kind is FollowUpKind.THANK_YOU:
        subject = f"Thank you — {role} interview"
        text = (
            f"Thank you for taking the time to meet me{when} about the {role} position "
            f"at {org}.{topics}\n\nIt was a pleasure to learn more about the team."
        )
    elif ctx.kind is FollowUpKind.FEEDBACK:
        subject = f"Feedback on my {role} interview"
        text = (
            f"Thank you again for considering me for the {role} position at {org}. "
            "Would you be willing to share any feedback on my interviews? It would help me "
            "a great deal, and I would love to stay in touch for future openings."
        )
    elif ctx.kind is FollowUpKind.STATUS_CHECK:
        subject = f"Following up on the {role} position"
        text = (
            f"I hope you are well. I am following up on my interview{when} for the {role} "
            f"position at {org}. I am still very interested — is there any news on next steps?"
        )
    elif ctx.kind is FollowUpKind.CHECK_IN:
        subject = "Catching up"
        text = (
            f"It has been a while since we met{when} about the {role} position at {org}."
            f"{topics}\n\nI would love to hear how things are going at {org} — "
            "would you be up for a quick call or coffee in the coming weeks?"
        )
    else:
        subject = ctx.title or "Following up"
        text = "I wanted to follow up with you."
    return subject, f"{hello}\n\n{text}\n\nBest regards,\n"


# Percent-encoding as urllib.parse.quote does it, for every byte at once: RFC 3986's
# unreserved characters stay, every other byte of the UTF-8 is %XX. The bytes are read as
# Latin-1, one character each, so one str.translate encodes a whole body (a page of drafts
# spent a third of its time in quote's per-byte Python loop).
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_PERCENT = {byte: chr(byte) if chr(byte) in _UNRESERVED else f"%{byte:02X}" for byte in range(256)}
_PERCENT_ADDRESS = {**_PERCENT, ord("@"): "@", ord("+"): "+"}


def percent_encoded(text: str, table: dict[int, str] = _PERCENT) -> str:
    return text.encode().decode("latin-1").translate(table)


# Pages show the same follow-ups' drafts view after view: each link is encoded once per
# process (a draft is a few hundred characters; a page shows at most a few dozen).
@functools.lru_cache(maxsize=1024)
def mailto(address: str, subject: str, body: str) -> str:
    """A `mailto:` link with subject and body, percent-encoded as UTF-8 (RFC 6068)."""
    body = body.replace("\r\n", "\n").replace("\n", "\r\n")
    address = percent_encoded(address, _PERCENT_ADDRESS)
    return f"mailto:{address}?subject={percent_encoded(subject)}&body={percent_encoded(body)}"
