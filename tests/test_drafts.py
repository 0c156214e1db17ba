"""The words and drafts of a follow-up, as plain functions."""

from urllib.parse import quote, unquote

import pytest

from tracker import drafts

# Every character of the Basic Multilingual Plane but the surrogates, and a few beyond it.
EVERY_CHARACTER = "".join(
    chr(code) for code in [*range(0xD800), *range(0xE000, 0x10000), 0x1F600, 0x10FFFF]
)


def test_percent_encoding_is_urllib_quote_with_nothing_safe():
    assert drafts.percent_encoded(EVERY_CHARACTER) == quote(EVERY_CHARACTER, safe="")
    assert unquote(drafts.percent_encoded(EVERY_CHARACTER)) == EVERY_CHARACTER


@pytest.mark.parametrize(
    ("address", "subject", "body", "link"),
    [
        (
            "zoë+jobs@example.com",
            "Thank you — Backend Engineer",
            "Hi Zoë,\n\nA & B; 100% <b>fun</b>\r\nBye",
            "mailto:zo%C3%AB+jobs@example.com?subject=Thank%20you%20%E2%80%94%20Backend%20Engineer"
            "&body=Hi%20Zo%C3%AB%2C%0D%0A%0D%0AA%20%26%20B%3B%20100%25%20%3Cb%3Efun%3C%2Fb%3E"
            "%0D%0ABye",
        ),
        ("", "?&=#", "", "mailto:?subject=%3F%26%3D%23&body="),
    ],
)
def test_mailto_encodes_subject_and_body_and_keeps_the_address_readable(
    address, subject, body, link
):
    assert drafts.mailto(address, subject, body) == link


def test_a_lone_surrogate_is_refused_as_urllib_refuses_it():
    with pytest.raises(UnicodeEncodeError):
        drafts.percent_encoded("\ud800")
    with pytest.raises(UnicodeEncodeError):
        quote("\ud800", safe="")
