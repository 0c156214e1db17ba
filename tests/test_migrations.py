"""Migrations build the schema the models describe; SQLite is set up for concurrent use."""

import sqlite3
import threading
import time

import flask_migrate
import pyotp
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from helpers import sqlite_begins
from sqlalchemy import inspect, text

from tracker import create_app, twofactor
from tracker.accounts import create_user
from tracker.db import db, modelled
from tracker.demo import fill_demo_account
from tracker.models import Organisation, RecoveryCode, User

SECRET = "migration-test-secret-" + "x" * 40

# SQLite's own settings and lock file: the PostgreSQL pass has nothing to run here.
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def bare_app(database_url, tmp_path):
    """The app on an empty database: no create_all, only what migrations make."""
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": SECRET,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def schema_differences() -> list:
    with db.engine.connect() as connection:
        # Types included; server defaults are not compared (a migration may keep one that
        # backfilled existing rows, while the models set their defaults in Python).
        # The contact search index is made by DDL, not models (tracker.search).
        opts = {"compare_type": True, "include_name": modelled}
        context = MigrationContext.configure(connection, opts=opts)
        return compare_metadata(context, db.metadata)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(bare_app):
    with bare_app.app_context():
        assert inspect(db.engine).get_table_names() == []
        flask_migrate.upgrade()
        tables = set(inspect(db.engine).get_table_names())
        assert set(db.metadata.tables) <= tables
        differences = schema_differences()
        assert differences == [], f"models and migrations disagree: {differences}"

        flask_migrate.downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}

        flask_migrate.upgrade()  # and back up again, from base
        assert schema_differences() == []


def test_migrated_database_enforces_foreign_keys_and_checks(bare_app):
    with bare_app.app_context():
        flask_migrate.upgrade()
        db.session.add(Organisation(user_id=12345, name="Orphan", name_key="orphan"))
        with pytest.raises(Exception, match="(?i)foreign key"):
            db.session.commit()
        db.session.rollback()


BEFORE_SEALING = "40b635b42b41"  # the revision before two-factor secrets were sealed


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_two_factor_secrets_are_opened_by_the_downgrade_and_sealed_by_the_upgrade(bare_app):
    with bare_app.app_context():
        flask_migrate.upgrade()
        user = create_user("lee@example.com", "correct horse battery staple", "UTC")
        db.session.add(Organisation(user_id=user.id, name="Acme", name_key="acme"))
        twofactor.start_setup(user)
        twofactor.enable(user)
        db.session.commit()
        secret = twofactor.secret(user)
        db.session.remove()

        flask_migrate.downgrade(revision=BEFORE_SEALING)
        plain = db.session.execute(text('SELECT totp_secret FROM "user"')).scalar_one()
        db.session.remove()
        assert plain == secret

        flask_migrate.upgrade()
        sealed = db.session.execute(text('SELECT totp_secret_sealed FROM "user"')).scalar_one()
        assert secret not in sealed
        user = db.session.get(User, user.id)
        assert user.totp_enabled and twofactor.secret(user) == secret
        assert twofactor.verify_code(user, pyotp.TOTP(secret).now())
        # Nothing else was touched: SQLite's table was altered in place, never rebuilt.
        assert db.session.scalar(db.select(db.func.count()).select_from(Organisation)) == 1
        assert db.session.scalar(db.select(db.func.count()).select_from(RecoveryCode)) == 10
        db.session.remove()


SECOND_REVISION = "b3a8c43cae89"  # the first revision after the initial schema


def row_counts(tables) -> dict[str, int]:
    return {t: db.session.execute(text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_migrating_down_and_up_keeps_every_row_of_a_full_account(bare_app):
    """Batch mode rebuilds SQLite tables; a rebuilt parent must not take its children along."""
    with bare_app.app_context():
        flask_migrate.upgrade()
        user = create_user("lee@example.com", "correct horse battery staple", "UTC")
        fill_demo_account(user)
        db.session.commit()
        db.session.remove()

        flask_migrate.downgrade(revision=SECOND_REVISION)
        kept = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
        assert {"user", "organisation", "contact", "interview", "follow_up"} <= kept
        before = row_counts(kept)
        db.session.remove()
        assert before["contact"] > 0 and before["follow_up"] > 0

        flask_migrate.upgrade()
        assert row_counts(kept) == before
        db.session.remove()


# --- SQLite connection settings ------------------------------------------------------------


@sqlite_only
def test_sqlite_connections_use_wal_a_busy_timeout_and_foreign_keys(app):
    with app.app_context(), db.engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") >= 5000
        assert pragma("synchronous") == 1  # NORMAL, safe with WAL


def begins_seen(app, method: str | None) -> list[str]:
    """The BEGIN statements SQLite runs for one unit of work (in a request by `method`)."""

    def work() -> None:
        if method is None:
            db.session.execute(text("SELECT 1"))
            db.session.rollback()
        else:
            with app.test_request_context("/", method=method):
                db.session.execute(text("SELECT 1"))
                db.session.rollback()

    return sqlite_begins(app, work)


@sqlite_only
def test_write_transactions_begin_immediate_and_page_reads_stay_deferred(app):
    assert begins_seen(app, "POST") == ["BEGIN IMMEDIATE"]
    assert begins_seen(app, None) == ["BEGIN IMMEDIATE"]  # CLI commands and jobs may write
    assert begins_seen(app, "GET") == ["BEGIN"]


def test_a_deferred_read_then_write_would_fail_when_another_writer_got_in(tmp_path):
    """Why BEGIN IMMEDIATE: the busy timeout cannot save a deferred transaction."""
    path = tmp_path / "plain.sqlite3"
    first = sqlite3.connect(path, isolation_level=None, timeout=5)
    second = sqlite3.connect(path, isolation_level=None, timeout=5)
    first.execute("PRAGMA journal_mode=WAL")
    first.execute("CREATE TABLE t (x INTEGER)")
    first.execute("BEGIN")
    first.execute("SELECT count(*) FROM t").fetchone()
    second.execute("INSERT INTO t VALUES (1)")  # another process commits in between
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        first.execute("INSERT INTO t VALUES (2)")
    first.close()
    second.close()


@sqlite_only
def test_read_then_write_succeeds_while_another_connection_writes(app, make_user):
    """With BEGIN IMMEDIATE the second writer waits its turn instead of failing."""
    user = make_user()
    finished: dict[str, float] = {}
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            with app.app_context():
                db.session.add(Organisation(user_id=user.id, name="Globex", name_key="globex"))
                db.session.commit()
                finished["other"] = time.monotonic()
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    with app.app_context():
        # Read first, as a use case does (find the organisation), then write.
        existing = db.session.execute(db.select(Organisation).filter_by(name_key="acme")).first()
        assert existing is None
        thread = threading.Thread(target=other_writer)
        thread.start()
        time.sleep(0.3)  # the other writer is now waiting for the lock, not failing
        assert "other" not in finished
        db.session.add(Organisation(user_id=user.id, name="Acme", name_key="acme"))
        db.session.commit()
        committed = time.monotonic()
        thread.join(timeout=15)

    assert not errors, errors
    assert finished["other"] >= committed
    with app.app_context():
        names = db.session.execute(db.select(Organisation.name).order_by(Organisation.name))
        assert names.scalars().all() == ["Acme", "Globex"]
