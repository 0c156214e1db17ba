"""Two-factor login: a TOTP app (RFC 6238) and single-use recovery codes.

The secret is made when setup starts and counts only once a code from the app has been
entered (`totp_enabled`). It is stored sealed (tracker.sealing), so a copy of the
database cannot make codes; sealed with a SECRET_KEY no longer configured, it cannot be
opened and only recovery codes work until two-factor login is set up again. A code is
good for the 30-second step it belongs to and one on either side (clocks drift), and
only once: the last step used is remembered. Recovery codes are 80 random bits each,
stored as salted SHA-256 and marked when used. Use cases flush; the caller commits.
"""

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp
import segno

from . import sealing
from .clock import utcnow
from .db import db
from .models import RecoveryCode, User

ISSUER = "Keepwarm"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_BYTES = 10  # 80 bits: 16 base32 characters, shown in groups of four


def new_secret() -> str:
    """A fresh TOTP secret: 160 bits in base32, as authenticator apps expect."""
    return pyotp.random_base32()


def secret(user: User) -> str | None:
    """The user's TOTP secret, or None: none made, or sealed with a key no longer configured."""
    if not user.totp_secret_sealed:
        return None
    return sealing.unseal(sealing.TOTP_SECRET, user.totp_secret_sealed)


def app_codes_lost(user: User) -> bool:
    """Whether the user has two-factor login on but its secret cannot be opened (SECRET_KEY
    changed and the old one is not among SECRET_KEY_FALLBACKS): recovery codes only."""
    return user.totp_enabled and secret(user) is None


def start_setup(user: User) -> None:
    """Give the user a new secret to scan; nothing changes at login until it is confirmed."""
    user.totp_secret_sealed = sealing.seal(sealing.TOTP_SECRET, new_secret())
    user.totp_enabled = False
    user.totp_last_step = None
    db.session.flush()


def setup_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret(user)).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code(uri: str) -> str:
    """The QR code as an SVG data: URI for an <img> (the CSP allows data: images only)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _digits(code: str) -> str:
    return "".join(code.split())


def verify_code(user: User, code: str, now: datetime | None = None) -> bool:
    """Whether `code` is the app's code now (± one step) and was not used before."""
    code = _digits(code)
    plain = secret(user)
    if plain is None or len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(plain)
    current = int((now or utcnow()).timestamp()) // STEP_SECONDS
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue  # this code, or an earlier one, was already used
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), code):
            user.totp_last_step = step
            # Sealed again with the current key, so an old one can leave the fallbacks.
            user.totp_secret_sealed = sealing.reseal(sealing.TOTP_SECRET, user.totp_secret_sealed)
            return True
    return False


def enable(user: User) -> list[str]:
    """Two-factor login is on from now; returns the recovery codes, to be shown once."""
    user.totp_enabled = True
    return new_recovery_codes(user)


def disable(user: User) -> None:
    """Back to the password alone: the secret and every recovery code are gone."""
    user.totp_enabled = False
    user.totp_secret_sealed = None
    user.totp_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.flush()


def _normalise_recovery(code: str) -> str:
    """Case, spaces and dashes do not matter when typing a code back."""
    return "".join(c for c in code.lower() if c.isalnum())


def _hash_recovery(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{_normalise_recovery(code)}".encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the user's recovery codes with new ones; returns them in plain text."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = base64.b32encode(secrets.token_bytes(RECOVERY_CODE_BYTES)).decode().lower()
        code = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
        salt = secrets.token_hex(8)
        db.session.add(
            RecoveryCode(user_id=user.id, code_hash=f"{salt}${_hash_recovery(code, salt)}")
        )
        codes.append(code)
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str, now: datetime | None = None) -> bool:
    """Spend one unused recovery code matching `code`; False if none does."""
    if len(_normalise_recovery(code)) != RECOVERY_CODE_BYTES * 8 // 5:
        return False
    unused = db.session.execute(
        db.select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).scalars()
    for row in unused:
        salt, _, digest = row.code_hash.partition("$")
        if hmac.compare_digest(digest, _hash_recovery(code, salt)):
            row.used_at = now or utcnow()
            db.session.flush()
            return True
    return False


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        db.select(db.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def second_factor(user: User, code: str, now: datetime | None = None) -> str | None:
    """Check what was typed at the second login step: "app", "recovery" or None."""
    if verify_code(user, code, now):
        return "app"
    if use_recovery_code(user, code, now):
        return "recovery"
    return None
