"""GET /healthz: the database answers and the scheduler ticks, or 503 for the load balancer."""

from datetime import timedelta

from helpers import utc

from tracker import create_app, jobs
from tracker.db import db

NOW = utc(2026, 11, 21, 9, 0)
TICK = 10  # SCHEDULER_TICK_SECONDS by default


def ticked(app, seconds_ago: float, job: str = "dispatch-outbox", error: str = "") -> None:
    """Record a run of `job` as the scheduler does, `seconds_ago` before NOW."""
    with app.app_context():
        jobs.record_run(job, NOW - timedelta(seconds=seconds_ago), error)


def health(client):
    response = client.get("/healthz")
    return response.status_code, response.get_json()


def test_healthy_when_the_scheduler_sent_within_three_ticks(app, client):
    app.config["NOW"] = NOW
    ticked(app, 4)
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "scheduler": "ok",
        "last_tick_seconds_ago": 4,
    }
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


def test_503_when_no_scheduler_ever_ran(app, client):
    app.config["NOW"] = NOW
    assert health(client) == (
        503,
        {
            "status": "unavailable",
            "database": "ok",
            "scheduler": "never ran",
            "last_tick_seconds_ago": None,
        },
    )


def test_503_once_the_last_tick_is_older_than_three_intervals(app, client):
    app.config["NOW"] = NOW
    ticked(app, 3 * TICK)
    assert health(client)[0] == 200
    ticked(app, 3 * TICK + 1)
    status, body = health(client)
    assert status == 503
    assert (body["scheduler"], body["last_tick_seconds_ago"]) == ("late", 31)


def test_the_interval_follows_the_tick_setting(app, client):
    app.config.update(NOW=NOW, SCHEDULER_TICK_SECONDS=60)
    ticked(app, 150)
    assert health(client)[0] == 200
    ticked(app, 181)
    assert health(client)[0] == 503


def test_a_failing_send_job_or_another_job_does_not_count_as_a_tick(app, client):
    app.config["NOW"] = NOW
    ticked(app, 100)  # the last success
    ticked(app, 1, error="OperationalError: the database went away")
    ticked(app, 1, job="plan-digests")
    status, body = health(client)
    assert status == 503
    assert body["last_tick_seconds_ago"] == 100


def test_503_when_the_database_does_not_answer(tmp_path):
    # Nothing listens on port 1: every connection is refused at once.
    down = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "health-test-secret-" + "x" * 40,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://keepwarm@127.0.0.1:1/keepwarm",
            "INSTANCE_PATH": str(tmp_path / "instance"),
        }
    )
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    with down.app_context():
        db.engine.dispose()


def test_no_login_needed_and_nothing_about_users(app, client, make_user, login):
    app.config["NOW"] = NOW
    ticked(app, 1)
    user = make_user("dana.private@example.com")
    anonymous = app.test_client()
    assert health(anonymous)[0] == 200
    login(user)
    response = client.get("/healthz")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "dana" not in text and "example.com" not in text
    assert set(response.get_json()) == {"status", "database", "scheduler", "last_tick_seconds_ago"}
