"""Fixtures for the cross-cutting tests: users with one row of every kind, logged in."""

import hashlib
from datetime import UTC, date, datetime

import pytest

from tracker.db import db
from tracker.models import (
    Contact,
    FollowUp,
    FollowUpKind,
    Interaction,
    InteractionKind,
    Outbox,
    PasswordReset,
    PendingImport,
    RecoveryCode,
    User,
)

from .walk import Owner


def _ensure_rows(user: User) -> None:
    """One row of each user-owned kind that logging the interview did not create."""
    today = date(2026, 11, 20)
    contact = db.session.execute(db.select(Contact).filter_by(user_id=user.id)).scalars().first()

    def missing(model: type) -> bool:
        return db.session.execute(db.select(model.id).filter_by(user_id=user.id)).first() is None

    if missing(Interaction):
        db.session.add(
            Interaction(
                user_id=user.id,
                contact_id=contact.id,
                kind=InteractionKind.COFFEE,
                occurred_on=today,
                note=f"coffee with {contact.name}",
            )
        )
    if missing(FollowUp):
        db.session.add(
            FollowUp(
                user_id=user.id,
                contact_id=contact.id,
                kind=FollowUpKind.MANUAL,
                generated=False,
                title=f"Write to {contact.name}",
                due_on=today,
            )
        )
    if missing(Outbox):
        db.session.add(
            Outbox(
                user_id=user.id,
                key=f"test:{user.id}",
                kind="test",
                recipient=user.email,
                subject="Keepwarm test email",
                message=f"To: {user.email}\nSubject: Keepwarm test email\n\nHello.\n",
                message_id=f"<test-{user.id}@keepwarm.example>",
                next_attempt_at=datetime(2026, 11, 20, tzinfo=UTC),
            )
        )
    if missing(PendingImport):
        db.session.add(
            PendingImport(
                id=f"test-import-{user.id}",
                user_id=user.id,
                filename="contacts.csv",
                source="csv",
                row_count=1,
                content='{"columns": ["Name"], "rows": [["Pat Import"]], "numbers": [2]}',
                mapping='{"name": 0}',
            )
        )
    if missing(RecoveryCode):
        db.session.add(RecoveryCode(user_id=user.id, code_hash=f"salt${'0' * 64}"))
    if missing(PasswordReset):
        token_hash = hashlib.sha256(f"reset-{user.id}".encode()).hexdigest()
        db.session.add(PasswordReset(user_id=user.id, token_hash=token_hash))
    db.session.flush()


def _ids_of(user_id: int) -> dict[str, int]:
    """`<model>_id` -> the id of one of the user's rows, for every model with user_id."""
    ids = {}
    for mapper in db.Model.registry.mappers:
        model = mapper.class_
        if "user_id" not in mapper.columns or model is User:
            continue
        row_id = db.session.execute(
            db.select(db.func.min(model.id)).where(model.user_id == user_id)
        ).scalar()
        assert row_id is not None, f"{model.__name__}: no row for the user; teach {__file__}"
        snake = "".join(f"_{c.lower()}" if c.isupper() else c for c in model.__name__)
        ids[snake.lstrip("_") + "_id"] = row_id
        ids[model.__name__.lower() + "_id"] = row_id
    return ids


@pytest.fixture
def make_owner(app, make_user, make_interview, login):
    """make_owner("a", "Zebra Labs") -> Owner logged in on their own client."""

    def make(label: str, organisation: str) -> Owner:
        user = make_user(f"{label}@example.com")
        person = f"{label.title()} Contactperson"
        make_interview(
            user,
            organisation=organisation,
            role=f"{label.title()} Role",
            notes=f"notes of {label}",
            people=[{"name": person, "title": f"{label.title()} Title"}],
        )
        with app.app_context():
            _ensure_rows(db.session.get(User, user.id))
            db.session.commit()
            ids = _ids_of(user.id)
        client = login(user, as_client=app.test_client())
        markers = (organisation, person, f"{label.title()} Role", f"notes of {label}", user.email)
        return Owner(user, client, ids, markers)

    return make
