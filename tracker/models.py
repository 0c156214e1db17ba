"""Typed models. Every row below the user carries `user_id` so every query is scoped."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import UTC, date, datetime, time

from flask_login import UserMixin
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import utcnow
from .db import db


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where UTC is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(cls: type[enum.Enum]) -> Enum:
    """Store enums by value, as VARCHAR with a CHECK, the same on SQLite and PostgreSQL."""
    return Enum(
        cls,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        name=cls.__name__.lower(),
    )


class Stage(enum.StrEnum):
    PHONE_SCREEN = "phone_screen"
    TECHNICAL = "technical"
    ONSITE = "onsite"
    FINAL = "final"
    OTHER = "other"


class Outcome(enum.StrEnum):
    PENDING = "pending"
    OFFER = "offer"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REJECTED = "rejected"
    WITHDREW = "withdrew"


class ParticipantRole(enum.StrEnum):
    INTERVIEWER = "interviewer"
    RECRUITER = "recruiter"
    HIRING_MANAGER = "hiring_manager"
    OTHER = "other"


class InteractionKind(enum.StrEnum):
    EMAIL = "email"
    CALL = "call"
    COFFEE = "coffee"
    MESSAGE = "message"
    MEETING = "meeting"
    OTHER = "other"


class FollowUpKind(enum.StrEnum):
    THANK_YOU = "thank_you"
    FEEDBACK = "feedback"
    STATUS_CHECK = "status_check"
    CHECK_IN = "check_in"
    MANUAL = "manual"


class FollowUpStatus(enum.StrEnum):
    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Bumped on logout and password change: every cookie carrying the old value dies.
    session_version: Mapped[int] = mapped_column(default=1)
    digest_enabled: Mapped[bool] = mapped_column(default=True)
    digest_hour: Mapped[int] = mapped_column(default=8)
    # The follow-up playbook's numbers (see tracker.playbook.Settings for their meaning).
    thank_you_after_days: Mapped[int] = mapped_column(default=1)
    stale_after_days: Mapped[int] = mapped_column(default=7)
    feedback_after_days: Mapped[int] = mapped_column(default=7)
    status_check_after_days: Mapped[int] = mapped_column(default=7)
    first_check_in_days: Mapped[int] = mapped_column(default=90)
    second_check_in_days: Mapped[int] = mapped_column(default=180)
    repeat_check_in_days: Mapped[int] = mapped_column(default=180)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The calendar feed: the SHA-256 of its secret token (the token itself is never
    # stored), and a counter with its time that every change the feed shows bumps
    # (tracker.feed_changes), so a cached feed is reused exactly while it is current.
    feed_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    feed_token_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The same token encrypted with a key derived from SECRET_KEY, so Settings can show the
    # address again; a copy of the database alone reveals neither.
    feed_token_sealed: Mapped[str | None] = mapped_column(Text)
    feed_version: Mapped[int] = mapped_column(default=0, server_default="0")
    feed_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Two-factor login (tracker.twofactor): the TOTP secret, sealed like the feed token,
    # set when setup starts and in force once `totp_enabled`; the last time step used, so
    # a code works only once.
    totp_secret_sealed: Mapped[str | None] = mapped_column(Text)
    totp_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    totp_last_step: Mapped[int | None]

    def get_id(self) -> str:
        """Flask-Login's session id carries the session version, so bumping it logs out."""
        return f"{self.id}:{self.session_version}"

    def record(self) -> User:
        """The user to change: this one (see Account.record)."""
        return self


USER_COLUMNS = tuple(column.key for column in User.__table__.columns)


class Account(UserMixin):
    """The logged-in user as read at the start of the request: every column of User under
    its name, read-only.

    Every request reads its user, to check the session is still valid, and most requests
    only read it: a row read without the ORM costs about half of loading a User (no
    instance to build, track and let go of at the end). It passes for a User wherever
    code only reads one (pages, planning follow-ups: the same names, the same values). To
    change the user, or to hand it to code that does, take `record()`.
    """

    def __init__(self, row: Sequence[object]) -> None:
        self.__dict__.update(zip(USER_COLUMNS, row, strict=True))
        self.__dict__["columns"] = tuple(row)  # every value, in USER_COLUMNS order

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"the logged-in Account is read-only: set {name} on its record()")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def record(self) -> User:
        """The User itself, in this request's transaction (loaded once, then the same)."""
        user = db.session.get(User, self.id)
        if user is None:
            raise LookupError(f"user {self.id} no longer exists")
        return user


class LoginThrottle(db.Model):
    """Failed-login counters per account and per address, shared by every process."""

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)


class RecoveryCode(db.Model):
    """A single-use two-factor recovery code, stored as a salted SHA-256 (never the code)."""

    __table_args__ = (Index("ix_recovery_code_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(100))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PasswordReset(db.Model):
    """A password reset link: the SHA-256 of its token, deleted when used or the password
    changes, and worthless after tracker.reset.TOKEN_LIFETIME."""

    __table_args__ = (Index("ix_password_reset_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Organisation(db.Model):
    __table_args__ = (
        UniqueConstraint("user_id", "name_key"),
        Index("ix_organisation_user_name", "user_id", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    # Case- and space-insensitive form of the name: "Acme" and " acme " are one.
    name_key: Mapped[str] = mapped_column(String(200))
    website: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    interviews: Mapped[list[Interview]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True
    )
    positions: Mapped[list[Position]] = relationship(
        back_populates="organisation", cascade="all, delete-orphan", passive_deletes=True
    )


class Contact(db.Model):
    # Lists are in (name, id) order: with the id in the index, PostgreSQL reads a page in
    # order instead of sorting each run of equal names (SQLite's indexes end in the id).
    __table_args__ = (Index("ix_contact_user_name", "user_id", "name", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(50), default="")
    linkedin_url: Mapped[str] = mapped_column(String(500), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    remind: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    positions: Mapped[list[Position]] = relationship(
        back_populates="contact",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="(Position.ended_on.is_(None).desc(), Position.started_on.desc(), "
        "Position.id.desc())",
    )
    participations: Mapped[list[Participant]] = relationship(
        back_populates="contact", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def current_position(self) -> Position | None:
        """The position without an end date that started last, else the latest one."""
        return self.positions[0] if self.positions else None


class Position(db.Model):
    """Where a contact works or worked: people move, their history stays."""

    __table_args__ = (
        Index("ix_position_contact", "contact_id"),
        Index("ix_position_organisation", "organisation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200), default="")
    started_on: Mapped[date | None]
    ended_on: Mapped[date | None]

    contact: Mapped[Contact] = relationship(back_populates="positions")
    organisation: Mapped[Organisation] = relationship(back_populates="positions")


class Interview(db.Model):
    __table_args__ = (
        Index("ix_interview_user_held", "user_id", "held_on"),
        Index("ix_interview_organisation", "organisation_id", "held_on"),
        CheckConstraint("interest BETWEEN 1 AND 5", name="interest_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(200))
    # The user's local date, and the moment in UTC when a time was given.
    held_on: Mapped[date]
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stage: Mapped[Stage] = mapped_column(_enum(Stage))
    outcome: Mapped[Outcome] = mapped_column(_enum(Outcome), default=Outcome.PENDING)
    interest: Mapped[int] = mapped_column(default=3)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="interviews")
    participants: Mapped[list[Participant]] = relationship(
        back_populates="interview",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Participant.id",
    )


class Participant(db.Model):
    """A contact met at an interview, with their role in it and what was talked about."""

    __table_args__ = (
        UniqueConstraint("interview_id", "contact_id"),
        Index("ix_participant_contact", "contact_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    interview_id: Mapped[int] = mapped_column(ForeignKey("interview.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    role: Mapped[ParticipantRole] = mapped_column(
        _enum(ParticipantRole), default=ParticipantRole.INTERVIEWER
    )
    topics: Mapped[str] = mapped_column(Text, default="")

    interview: Mapped[Interview] = relationship(back_populates="participants")
    contact: Mapped[Contact] = relationship(back_populates="participations")


class Interaction(db.Model):
    __table_args__ = (
        Index("ix_interaction_contact", "contact_id", "occurred_on"),
        Index("ix_interaction_organisation", "organisation_id", "occurred_on"),
        Index("ix_interaction_user", "user_id", "occurred_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE")
    )
    kind: Mapped[InteractionKind] = mapped_column(_enum(InteractionKind))
    occurred_on: Mapped[date]
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class FollowUp(db.Model):
    """Something to do for a contact and/or an organisation on a local date."""

    __table_args__ = (
        # In the order the agenda lists them: a section is read, not sorted, at any size.
        Index("ix_follow_up_user_due", "user_id", "status", "due_on", "due_time", "id"),
        Index("ix_follow_up_contact", "contact_id", "status"),
        Index("ix_follow_up_organisation", "organisation_id", "status"),
        Index("ix_follow_up_interview", "interview_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE")
    )
    interview_id: Mapped[int | None] = mapped_column(ForeignKey("interview.id", ondelete="CASCADE"))
    kind: Mapped[FollowUpKind] = mapped_column(_enum(FollowUpKind))
    # Generated by the playbook (re-planned on change) or added by the user.
    generated: Mapped[bool] = mapped_column(default=True)
    title: Mapped[str] = mapped_column(String(300), default="")
    due_on: Mapped[date]
    due_time: Mapped[time | None]
    status: Mapped[FollowUpStatus] = mapped_column(
        _enum(FollowUpStatus), default=FollowUpStatus.OPEN
    )
    note: Mapped[str] = mapped_column(Text, default="")
    # The user chose the date (snooze, edit, reopen): re-planning keeps a later choice.
    moved: Mapped[bool] = mapped_column(default=False)
    # Bumped on every change of date, time or text (the calendar's SEQUENCE).
    revision: Mapped[int] = mapped_column(default=0)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contact: Mapped[Contact | None] = relationship()
    organisation: Mapped[Organisation | None] = relationship()
    interview: Mapped[Interview | None] = relationship()


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class Outbox(db.Model):
    """Every email, written here first and sent from here: nothing is silently dropped."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_user", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    # Idempotency: one row per purpose, e.g. "digest:<user>:<local date>".
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    local_date: Mapped[date | None]
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    # The whole message as composed once, so every retry sends the same bytes and Message-ID.
    message: Mapped[str] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(300))
    status: Mapped[OutboxStatus] = mapped_column(_enum(OutboxStatus), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class JobRun(db.Model):
    """When each scheduled job last ran and last succeeded, for the delivery page."""

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    last_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")


class PendingImport(db.Model):
    """An uploaded contact file, parsed once and kept until the user confirms or discards it."""

    __table_args__ = (Index("ix_pending_import_user", "user_id", "created_at"),)

    # Random and unguessable; every request still checks it belongs to the user.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255), default="")
    # "linkedin", "csv" or "vcard": how the file was read.
    source: Mapped[str] = mapped_column(String(20))
    row_count: Mapped[int] = mapped_column(default=0)
    # The parsed file as JSON (columns, rows, line numbers) and the column mapping;
    # the rows are dropped once the import is done.
    content: Mapped[str] = mapped_column(Text, default="")
    mapping: Mapped[str] = mapped_column(Text, default="{}")
    # "pending" until confirmed, then "done" with the counts in `result` (JSON).
    status: Mapped[str] = mapped_column(String(20), default="pending")
    result: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
