"""Signed, single-purpose links for emails: act on one follow-up, or unsubscribe.

An action token names the follow-up, the action and the follow-up's revision, so it
expires after 14 days, cannot be used for another follow-up or action, and does
nothing once the follow-up has changed (a second click finds the revision moved on).
"""

import functools
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .clock import utcnow

ACTIONS = ("done", "reached-out", "snooze")
ACTION_MAX_AGE = timedelta(days=14)


@dataclass(frozen=True)
class ActionClaim:
    follow_up_id: int
    action: str
    revision: int


class InvalidToken(Exception):
    """The token is forged, expired, or for something else."""


def _serializer(salt: str) -> URLSafeTimedSerializer:
    """Signs with SECRET_KEY; links signed with one of SECRET_KEY_FALLBACKS still read."""
    config = current_app.config
    # itsdangerous signs with the last key and checks with every one.
    keys = (*(config.get("SECRET_KEY_FALLBACKS") or []), config["SECRET_KEY"])
    return _serializer_for(keys, salt)


@functools.lru_cache(maxsize=32)
def _serializer_for(keys: tuple[str, ...], salt: str) -> URLSafeTimedSerializer:
    """One serializer per keys and salt: a digest sweep signs four links per email."""
    return URLSafeTimedSerializer(list(keys), salt=salt)


def _now() -> float:
    return utcnow().timestamp()


def action_token(follow_up_id: int, action: str, revision: int) -> str:
    if action not in ACTIONS:
        raise ValueError(action)
    serializer = _serializer("email-action")
    signer = serializer.make_signer(serializer.salt)
    payload = serializer.dump_payload([follow_up_id, action, revision, int(_now())])
    return signer.sign(payload).decode()


def read_action_token(token: str) -> ActionClaim:
    """The claim in a token; InvalidToken when tampered with or older than 14 days."""
    serializer = _serializer("email-action")
    try:
        payload = serializer.make_signer(serializer.salt).unsign(token)
        follow_up_id, action, revision, issued = serializer.load_payload(payload)
    except (BadSignature, SignatureExpired, ValueError, TypeError) as error:
        raise InvalidToken(str(error)) from error
    if not all(isinstance(v, int) for v in (follow_up_id, revision, issued)):
        raise InvalidToken("malformed")
    if action not in ACTIONS:
        raise InvalidToken("unknown action")
    if _now() - issued > ACTION_MAX_AGE.total_seconds() or issued - _now() > 300:
        raise InvalidToken("expired")
    return ActionClaim(follow_up_id, action, revision)


def unsubscribe_token(user_id: int) -> str:
    return _serializer("unsubscribe").dumps(user_id)


def read_unsubscribe_token(token: str) -> int:
    try:
        user_id = _serializer("unsubscribe").loads(token)
    except BadSignature as error:
        raise InvalidToken(str(error)) from error
    if not isinstance(user_id, int):
        raise InvalidToken("malformed")
    return user_id
