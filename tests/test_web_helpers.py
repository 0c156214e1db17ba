"""Helpers every view and template shares."""

import pytest
from flask import url_for

from tracker.db import db
from tracker.models import Contact
from tracker.web import MAX_ID, link, paginate, row_links


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


LAYOUT_LINKS = [
    ("home.index", {}),
    ("contacts.index", {}),
    ("auth.logout", {}),
    ("static", {"filename": "style.css"}),
]


def test_layout_links_are_the_urls_url_for_builds_under_each_script_root(app):
    """Paths are kept between requests, but each request's script root is its own."""
    for script_root in ("", "/keepwarm", "/other/root", ""):
        with app.test_request_context("/", base_url=f"http://localhost{script_root}"):
            for endpoint, values in LAYOUT_LINKS:
                assert link(endpoint, **values) == url_for(endpoint, **values)
            assert link("static", filename="app.js").startswith(f"{script_root}/static/")


def test_a_list_page_builds_its_count_query_only_to_count(app, make_user):
    """paginate(function, read=…) calls the function only for a count not kept."""
    user = make_user()
    built = []

    def query():
        built.append(1)
        return db.select(Contact.id).where(Contact.user_id == user.id).order_by(Contact.id)

    def read(limit, offset):
        return db.session.execute(query().limit(limit).offset(offset)).scalars().all()

    with app.app_context():
        db.session.add_all(Contact(user_id=user.id, name=f"Person {n}") for n in range(5))
        db.session.commit()
        kept = (("test-count", user.id), "version 1")
        # The whole list on one page: no count at all.
        built.clear()
        assert paginate(query, 1, 10, read=read, count_kept=kept).total == 5
        assert built == [1]  # by read() only
        # A first page of two: counted once, then the kept count serves the next view.
        built.clear()
        page = paginate(query, 1, 2, read=read, count_kept=kept)
        assert (page.total, page.has_next, len(built)) == (5, True, 2)
        built.clear()
        assert paginate(query, 2, 2, read=read, count_kept=kept).total == 5
        assert built == [1]
