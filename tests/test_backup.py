"""The JSON backup: everything of the user, restored identically into an empty account,
refused for a non-empty one, and bad files refused with nothing changed."""

import json

import pytest
from helpers import row_counts
from transfer_helpers import build_network, notice, upload

from tracker import backup
from tracker.db import db
from tracker.models import User

both_databases = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
TABLES = [model.__tablename__ for model in backup.MODELS]


@pytest.fixture
def network(app, client, make_user, make_interview, login):
    user = make_user("alex@example.com", timezone="Europe/Berlin")
    build_network(app, make_interview, user)
    login(user)
    return user


@pytest.fixture
def newcomer(app, make_user, login):
    """A second, empty account with its own client."""
    user = make_user("new@example.com")
    return user, login(user, as_client=app.test_client())


def references() -> dict[str, dict[str, str]]:
    """table -> {column: the table it refers to} for the backed-up tables."""
    return {
        model.__tablename__: {
            column.name: next(iter(column.foreign_keys)).column.table.name
            for column in model.__table__.columns
            if column.foreign_keys and column.name != "user_id"
        }
        for model in backup.MODELS
    }


def comparable(document: dict) -> dict:
    """The backup with each id replaced by the record's position in its table."""
    position = {
        table: {record["id"]: index for index, record in enumerate(records)}
        for table, records in document["tables"].items()
    }
    tables = {}
    for table, records in document["tables"].items():
        refers = references()[table]
        tables[table] = [
            {
                name: position[refers[name]][value] if name in refers and value else value
                for name, value in record.items()
                if name != "id"
            }
            for record in records
        ]
    return {"version": document["version"], "settings": document["settings"], "tables": tables}


def download(client) -> bytes:
    response = client.get("/export/backup.json")
    assert response.status_code == 200
    return response.get_data()


@both_databases
def test_a_backup_restored_into_a_new_account_is_the_same_account(app, client, network, newcomer):
    original = download(client)
    document = json.loads(original)
    assert document["format"] == "keepwarm-backup" and document["version"] == 1
    assert document["settings"]["digest_hour"] == 6
    assert document["settings"]["timezone"] == "Europe/Berlin"
    assert {
        table: len(records) > 0 for table, records in document["tables"].items()
    } == dict.fromkeys(TABLES, True)
    statuses = {record["status"] for record in document["tables"]["follow_up"]}
    assert statuses == {"open", "done", "skipped"}

    user, other = newcomer
    response = upload(other, original, "keepwarm-backup.json", url="/import/restore")
    assert response.status_code == 302, response.get_data(as_text=True)
    welcome = other.get(response.headers["Location"]).get_data(as_text=True)
    assert "Backup restored: 4 contacts, 2 interviews" in welcome
    restored = json.loads(download(other))
    assert comparable(restored) == comparable(document)
    # And the pages show it.
    assert "Dana Smith" in other.get("/contacts/").get_data(as_text=True)
    assert "Globex, Inc." in other.get("/organisations/").get_data(as_text=True)


def test_restoring_into_an_account_with_data_is_refused(
    app, client, network, newcomer, make_interview
):
    original = download(client)
    user, other = newcomer
    make_interview(user, organisation="Initech", people=[{"name": "Sam Ortiz"}])
    page = other.get("/import/restore").get_data(as_text=True)
    assert "This account already has data" in page and 'type="file"' not in page
    before = row_counts(app)
    response = upload(other, original, "keepwarm-backup.json", url="/import/restore")
    assert response.status_code == 400
    assert backup.NOT_EMPTY in response.get_data(as_text=True)
    assert row_counts(app) == before
    # The account that made the backup is not empty either.
    again = upload(client, original, "keepwarm-backup.json", url="/import/restore")
    assert again.status_code == 400 and row_counts(app) == before


def mutate(document: dict, change) -> bytes:
    copy = json.loads(json.dumps(document))
    change(copy)
    return json.dumps(copy).encode()


def first(table: str):
    return lambda d: d["tables"][table][0]


BAD = {
    "not JSON": (lambda d: b"name,email\r\nDana,d@x.example", "it is not a JSON file"),
    "a list": (lambda d: b"[1, 2]", "not a Keepwarm backup file"),
    "another format": (
        lambda d: mutate(d, lambda c: c.update(format="other")),
        "not a Keepwarm backup file",
    ),
    "a newer version": (
        lambda d: mutate(d, lambda c: c.update(version=2)),
        "another version of Keepwarm",
    ),
    "an unknown table": (
        lambda d: mutate(d, lambda c: c["tables"].update(secrets=[])),
        "a kind Keepwarm does not know",
    ),
    "an unknown field": (
        lambda d: mutate(d, lambda c: first("contact")(c).update(user_id=1)),
        "has unknown fields: user_id",
    ),
    "a record without an id": (
        lambda d: mutate(d, lambda c: first("organisation")(c).pop("id")),
        "has no id",
    ),
    "a dangling reference": (
        lambda d: mutate(d, lambda c: first("position")(c).update(contact_id=987654)),
        "refers to a record that is not in the backup",
    ),
    "a stage that does not exist": (
        lambda d: mutate(d, lambda c: first("interview")(c).update(stage="lunch")),
        "“stage” is not valid",
    ),
    "a time without a zone": (
        lambda d: mutate(d, lambda c: first("contact")(c).update(created_at="2026-11-20T10:00:00")),
        "no time zone",
    ),
    "a name too long": (
        lambda d: mutate(d, lambda c: first("contact")(c).update(name="x" * 201)),
        "“name” is not valid",
    ),
    "a number as text": (
        lambda d: mutate(d, lambda c: first("interview")(c).update(interest="5")),
        "“interest” is not valid",
    ),
    "an interest of 9": (
        lambda d: mutate(d, lambda c: first("interview")(c).update(interest=9)),
        "The database refused a record in “interview”",
    ),
    "two records with one id": (
        lambda d: mutate(d, lambda c: c["tables"]["contact"].append(first("contact")(c))),
        "two records with the same id",
    ),
    "an unknown time zone": (
        lambda d: mutate(d, lambda c: c["settings"].update(timezone="Mars/Olympus")),
        "setting “timezone”",
    ),
    "a NUL in a note": (
        lambda d: mutate(d, lambda c: first("contact")(c).update(notes="a\x00b")),
        "“notes” is not valid",
    ),
}


@pytest.mark.parametrize("case", BAD)
def test_a_bad_backup_is_refused_and_changes_nothing(app, client, network, newcomer, case):
    document = json.loads(download(client))
    build, message = BAD[case]
    user, other = newcomer
    before = row_counts(app)
    response = upload(other, build(document), "backup.json", url="/import/restore")
    assert response.status_code == 400
    assert message in notice(response.get_data(as_text=True))
    assert row_counts(app) == before
    with app.app_context():
        assert db.session.get(User, user.id).timezone == "UTC"  # settings untouched too


def test_a_backup_over_the_limit_is_refused(app, client, network, newcomer):
    app.config["BACKUP_MAX_BYTES"] = 2048
    user, other = newcomer
    response = upload(other, download(client), "backup.json", url="/import/restore")
    assert response.status_code == 400
    assert notice(response.get_data(as_text=True)) == (
        "The file is too large: the most Keepwarm reads is 2 KB."
    )


def test_restore_needs_the_form_token(app, newcomer):
    user, other = newcomer
    response = other.post("/import/restore", data={}, csrf=False)
    assert response.status_code == 400
    assert "Form expired" in response.get_data(as_text=True)


def test_every_table_of_a_user_is_backed_up_or_left_out_on_purpose():
    backed_up = set(TABLES)
    for table in db.metadata.sorted_tables:
        owned = "user_id" in table.c or any(
            fk.column.table.name in backed_up for fk in table.foreign_keys
        )
        if owned:
            assert table.name in backed_up | backup.NOT_BACKED_UP.keys(), table.name


def test_a_backup_holds_only_your_own_records(app, client, network, make_user, make_interview):
    stranger = make_user("stranger@example.com")
    make_interview(stranger, organisation="Yak Industries", people=[{"name": "Bob Stranger"}])
    text = download(client).decode()
    assert "Yak Industries" not in text and "Bob Stranger" not in text
    document = json.loads(text)
    with app.app_context():
        counts = row_counts(app)
        mine = {
            "organisation": 3,
            "contact": 4,
            "interview": 2,
            "participant": 4,
        }
        for table, count in mine.items():
            assert len(document["tables"][table]) == count, table
            assert counts[table] > count  # the stranger's rows exist, and are left out
