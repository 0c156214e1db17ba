"""Accounts: the password policy, argon2id hashing and rehashing, normalised emails."""

import unicodedata

import pytest
from argon2 import PasswordHasher
from sqlalchemy.exc import IntegrityError

from tracker import accounts
from tracker.accounts import (
    check_password,
    common_passwords,
    create_user,
    find_user_by_email,
    hash_password,
    password_problem,
)
from tracker.db import db
from tracker.models import User

ARGON2ID_DEFAULTS = "$argon2id$v=19$m=65536,t=3,p=4$"
LONG_PASSWORD = "".join(f"{i:04d}-" for i in range(200))[:1000]


def test_seven_characters_are_too_short_and_eight_are_enough():
    assert password_problem("qz7-kx9") == "Use at least 8 characters."
    assert password_problem("qz7-kx9w") is None


def test_no_composition_rules():
    assert password_problem("only lower case words") is None
    assert password_problem("12345678901234567") is None


@pytest.mark.parametrize("length", [129, 200, 1000, accounts.MAX_PASSWORD_LENGTH])
def test_long_passwords_are_accepted(length):
    assert password_problem(("kettle-" * 200)[:length]) is None


def test_an_absurdly_long_password_is_refused_with_a_reason():
    problem = password_problem("k" * (accounts.MAX_PASSWORD_LENGTH + 1))
    assert problem == f"Use at most {accounts.MAX_PASSWORD_LENGTH} characters."


@pytest.mark.parametrize("password", ["password", "PASSWORD", "PassWord1", "Qwertyuiop"])
def test_common_passwords_are_refused_whatever_their_case(password):
    assert password.casefold() in common_passwords()
    assert password_problem(password) == (
        "This password is one of the most common ones; choose another."
    )


def test_a_common_password_in_full_width_letters_is_refused_too():
    assert password_problem("ＰＡＳＳＷＯＲＤ１") is not None


def test_the_shipped_list_is_loaded_and_has_no_short_entries():
    words = common_passwords()
    assert len(words) >= 100
    assert "password1" in words
    # Shorter ones are refused for their length anyway; the list need not carry them.
    assert all(len(word) >= accounts.MIN_PASSWORD_LENGTH for word in words)


@pytest.mark.real_password_hashing
def test_hashes_are_argon2id_with_the_asvs_parameters():
    hashed = hash_password("a long enough passphrase")
    assert hashed.startswith(ARGON2ID_DEFAULTS)
    assert hash_password("a long enough passphrase") != hashed  # salted


def test_a_1000_character_password_is_not_truncated(app, make_user):
    user = make_user(password=LONG_PASSWORD)
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert check_password(stored, LONG_PASSWORD)
        # Differs only at the 129th character, and then at the very last one.
        assert not check_password(stored, LONG_PASSWORD[:128] + "X" + LONG_PASSWORD[129:])
        assert not check_password(stored, LONG_PASSWORD[:-1] + "X")
        assert not check_password(stored, LONG_PASSWORD[:128])


def test_unicode_passwords_work(app, make_user):
    password = "Grüße aus Köln – 東京 🔑"
    user = make_user(password=password)
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert check_password(stored, password)
        assert not check_password(stored, password.replace("ü", "u"))


def test_a_unicode_password_typed_in_another_normal_form_still_matches(app, make_user):
    composed = unicodedata.normalize("NFC", "Crème brûlée à Zürich")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed  # what different keyboards and systems send
    user = make_user(password=composed)
    with app.app_context():
        assert check_password(db.session.get(User, user.id), decomposed)


def test_unknown_account_or_broken_hash_is_simply_a_failure(app, make_user):
    user = make_user()
    with app.app_context():
        assert not check_password(None, "correct horse battery staple")
        stored = db.session.get(User, user.id)
        stored.password_hash = "not-a-hash"
        assert not check_password(stored, "correct horse battery staple")


@pytest.mark.real_password_hashing
def test_a_hash_with_weaker_parameters_is_upgraded_at_login(app, make_user):
    password = "upgrade me please"
    user = make_user(password=password)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(password)
    with app.app_context():
        stored = db.session.get(User, user.id)
        stored.password_hash = weak
        db.session.commit()

        assert check_password(stored, password)
        db.session.commit()
        db.session.expire_all()
        upgraded = db.session.get(User, user.id).password_hash
    assert upgraded != weak
    assert upgraded.startswith(ARGON2ID_DEFAULTS)


def test_a_wrong_password_never_rewrites_a_weak_hash(app, make_user):
    user = make_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("something else")
    with app.app_context():
        stored = db.session.get(User, user.id)
        stored.password_hash = weak
        assert not check_password(stored, "not the password")
        assert stored.password_hash == weak


def test_emails_are_stored_trimmed_and_lower_case(app):
    with app.app_context():
        user = create_user("  Dana.Smith@Example.COM ", "a long enough passphrase", "UTC")
        db.session.commit()
        assert user.email == "dana.smith@example.com"
        assert find_user_by_email("DANA.SMITH@example.com").id == user.id
        assert find_user_by_email(" dana.smith@EXAMPLE.com\t").id == user.id
        assert find_user_by_email("dana@example.com") is None


def test_one_account_per_email_whatever_its_case(app, make_user):
    make_user("lee@example.com")
    with app.app_context():
        with pytest.raises(IntegrityError):
            create_user("LEE@Example.com", "a long enough passphrase", "UTC")
        db.session.rollback()
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1
