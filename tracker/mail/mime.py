"""A MIME message written directly, for the digest: one is composed per user per day.

The standard library's email package parses every header it is given into objects and
folds them again on output; for a digest that took longer than sending it. The digest's
shape is fixed (text and HTML alternatives, then a calendar attachment) and simple to
write: ASCII header lines, quoted-printable text, a base64 attachment. Boundaries begin
with "=_", which quoted-printable and base64 never write, so no body can contain one.
"""

import base64
import binascii
import secrets
from collections.abc import Sequence
from email.policy import default

Headers = Sequence[tuple[str, str]]
# Folds the rare header that needs encoding, on one line as long as RFC 5322 allows.
ENCODING_POLICY = default.clone(max_line_length=998)


def _header(name: str, value: str) -> str:
    """One header line. CR and LF are refused: they would start a header of their own."""
    if "\r" in value or "\n" in value:
        raise ValueError(f"Header values may not contain linefeed or carriage return ({name})")
    if value.isascii():
        return f"{name}: {value}\n"
    # A name with accents in MAIL_FROM, say: encoded as the email package always has.
    return ENCODING_POLICY.header_factory(name, value).fold(policy=ENCODING_POLICY)


def _headers(headers: Headers) -> str:
    return "".join(_header(name, value) for name, value in headers)


def _part(headers: Headers, body: str) -> str:
    return _headers(headers) + "\n" + body


def text(subtype: str, content: str) -> str:
    """A text/<subtype> part in UTF-8, quoted-printable (lines of at most 76 characters)."""
    body = binascii.b2a_qp(content.encode("utf-8"), istext=True).decode("ascii")
    headers = [
        ("Content-Type", f'text/{subtype}; charset="utf-8"'),
        ("Content-Transfer-Encoding", "quoted-printable"),
    ]
    return _part(headers, body if body.endswith("\n") else body + "\n")


def attachment(content_type: str, filename: str, data: bytes) -> str:
    """A file, base64-encoded so its bytes (a calendar's CRLF lines) arrive unchanged."""
    headers = [
        ("Content-Type", content_type),
        ("Content-Transfer-Encoding", "base64"),
        ("Content-Disposition", f'attachment; filename="{filename}"'),
    ]
    return _part(headers, base64.encodebytes(data).decode("ascii"))


def multipart(subtype: str, parts: Sequence[str]) -> str:
    boundary = f"=_{secrets.token_hex(16)}"
    body = "".join(f"--{boundary}\n{part}" for part in parts) + f"--{boundary}--\n"
    return _part([("Content-Type", f'multipart/{subtype}; boundary="{boundary}"')], body)


def message(headers: Headers, body: str) -> str:
    """The message as stored and sent: its headers, then `body` (a part, which brings its
    own Content-Type), with CRLF line ends."""
    return (_headers([*headers, ("MIME-Version", "1.0")]) + body).replace("\n", "\r\n")
