"""Secrets the app must read back, kept sealed: the feed token's display copy and the
two-factor login secret.

Sealed with Fernet (AES and an HMAC) under a key derived from SECRET_KEY by HKDF, one key
per purpose, so a copy of the database alone reveals neither. Opened with SECRET_KEY or
any of SECRET_KEY_FALLBACKS, so the key can be rotated: put the old one among the
fallbacks, and what it sealed still opens.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app

FEED_TOKEN = b"keepwarm calendar feed token"
TOTP_SECRET = b"keepwarm totp secret"


def _fernet(secret_key: str | bytes, purpose: bytes) -> Fernet:
    """A Fernet key of its own for this purpose, derived from one secret key."""
    if isinstance(secret_key, str):
        secret_key = secret_key.encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(secret_key)
    return Fernet(base64.urlsafe_b64encode(key))


def _sealer(purpose: bytes) -> MultiFernet:
    """Seals with SECRET_KEY; opens with it or any of SECRET_KEY_FALLBACKS."""
    config = current_app.config
    keys = [config["SECRET_KEY"], *(config.get("SECRET_KEY_FALLBACKS") or [])]
    return MultiFernet([_fernet(key, purpose) for key in keys])


def seal(purpose: bytes, value: str) -> str:
    """`value` encrypted and authenticated with the current SECRET_KEY, as text."""
    return _sealer(purpose).encrypt(value.encode()).decode()


def unseal(purpose: bytes, sealed: str) -> str | None:
    """The sealed value, or None when no configured key opens it (or it was tampered with)."""
    try:
        return _sealer(purpose).decrypt(sealed.encode()).decode()
    except InvalidToken:
        return None


def reseal(purpose: bytes, sealed: str) -> str:
    """The same value sealed with the current SECRET_KEY (so a fallback can be retired)."""
    return _sealer(purpose).rotate(sealed.encode()).decode()
