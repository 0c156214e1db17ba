def test_register_and_log_interview(client):
    r = client.post(
        "/register",
        data={
            "email": "a@example.com",
            "password": "long enough pass",
            "timezone": "Europe/Berlin",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    r = client.get("/interviews/new")
    assert r.status_code == 200
    r = client.post(
        "/interviews/new",
        data={
            "organisation": "Acme",
            "role": "Engineer",
            "held_on": "2026-11-20",
            "start_time": "14:30",
            "stage": "onsite",
            "outcome": "declined",
            "interest": "4",
            "notes": "good",
            "people-0-contact_id": "0",
            "people-0-name": "Dana Smith",
            "people-0-title": "CTO",
            "people-0-role": "hiring_manager",
            "people-1-contact_id": "0",
            "people-1-name": "Lee",
            "people-1-role": "interviewer",
        },
    )
    assert r.status_code == 302, r.get_data(as_text=True)
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Dana Smith" in page and "14:30" in page
    for url in [
        "/",
        "/organisations/",
        "/contacts/",
        "/contacts/?q=cto",
        "/organisations/1",
        "/contacts/1",
        "/interviews/1/edit",
        "/account",
        "/contacts/1/edit",
        "/organisations/1/edit",
        "/interviews/1/delete",
    ]:
        r = client.get(url)
        assert r.status_code == 200, (url, r.get_data(as_text=True))
    assert "Dana Smith" in client.get("/contacts/?q=acme").get_data(as_text=True)
