"""Helpers every view and template shares."""

import pytest
from flask import url_for

from tracker.web import MAX_ID, row_links


@pytest.mark.parametrize(
    ("endpoint", "argument"),
    [
        ("contacts.show", "contact_id"),
        ("interviews.show", "interview_id"),
        ("contacts.edit", "contact_id"),  # the id in the middle of the path
        ("followups.done", "follow_up_id"),
    ],
)
@pytest.mark.parametrize("script_root", ["", "/keepwarm"])
def test_row_links_are_the_urls_url_for_builds(app, endpoint, argument, script_root):
    with app.test_request_context("/", base_url=f"http://localhost{script_root}"):
        link = row_links(endpoint)
        for ident in (1, 42, 7_000_000, MAX_ID):
            assert link(ident) == url_for(endpoint, **{argument: ident})
        assert link(42).startswith(f"{script_root}/")


def test_row_links_take_only_integer_ids(app):
    with app.test_request_context("/"):
        link = row_links("contacts.show")
        assert link("17") == "/contacts/17"
        with pytest.raises(ValueError):
            link("17/../../admin")
