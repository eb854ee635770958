"""Accounts and access: argon2 hashes, sessions, share links, CSRF, media ids, ranges and path traversal."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from web_helpers import csrf, login, post_note

from posthouse.core.errors import MediaError
from posthouse.core.project import Project
from posthouse.web.app import create_app
from posthouse.web.media import resolve_under
from posthouse.web.models import ShareRecord, UserRecord
from posthouse.web.store import ReviewStore

EDITOR = ("edith", "cutting-room-1")
REVIEWER = ("rita", "watching-room-1")


@pytest.fixture
def client(review_project: Project) -> TestClient:
    return TestClient(create_app(review_project))


def test_passwords_are_argon2_and_sessions_are_hashed(review_project: Project, client: TestClient) -> None:
    store = ReviewStore(review_project.catalog)
    with review_project.catalog.session() as s:
        stored = s.query(UserRecord).filter_by(name="edith").one().password_hash
    assert stored.startswith("$argon2id$") and "cutting-room-1" not in stored
    assert store.authenticate("edith", "cutting-room-1") is not None
    assert store.authenticate("edith", "wrong-password") is None
    assert store.authenticate("nobody", "cutting-room-1") is None

    client.get("/login")
    r = client.post(
        "/login",
        data={"name": "edith", "password": "nope-nope", "csrf_token": client.cookies["ph_csrf"]},
        follow_redirects=False,
    )
    assert r.status_code == 401 and "Wrong name or password" in r.text
    r = client.post(
        "/login",
        data={"name": "edith", "password": "cutting-room-1", "csrf_token": client.cookies["ph_csrf"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    token = client.cookies["ph_session"]
    with review_project.catalog.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM review_sessions"))
    assert token not in dump  # only the hash is stored
    assert client.get("/").status_code == 200


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"name": "edith", "password": "cutting-room-1"}, follow_redirects=False)
    assert r.status_code == 403
    assert "ph_session" not in client.cookies


def test_missing_or_wrong_csrf_token_is_refused(review_project: Project, client: TestClient) -> None:
    token = login(client, *EDITOR)
    r = client.post("/api/cuts/reel1/1/notes", json={"frame": 3, "text": "no token"})
    assert r.status_code == 403 and "CSRF" in r.json()["error"]
    r = client.post(
        "/api/cuts/reel1/1/notes", json={"frame": 3, "text": "bad"}, headers={"X-CSRF-Token": "x" + token}
    )
    assert r.status_code == 403
    r = client.post("/logout", data={}, follow_redirects=False)
    assert r.status_code == 403  # the logout form needs it too
    assert ReviewStore(review_project.catalog).notes("reel1", 1) == []
    assert post_note(client, token, 3, "with token").status_code == 201
    r = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/session").status_code == 401


def test_roles(client: TestClient) -> None:
    token = login(client, *REVIEWER)
    assert post_note(client, token, 5, "reviewer note").status_code == 201
    note_id = client.get("/api/cuts/reel1/1/notes").json()[0]["id"]
    r = client.post(f"/api/notes/{note_id}", json={"status": "addressed"}, headers={"X-CSRF-Token": token})
    assert r.status_code == 403  # addressing notes is the editor's
    r = client.post("/api/shares", json={"cut": "reel1", "version": 1}, headers={"X-CSRF-Token": token})
    assert r.status_code == 403
    assert client.get("/api/cuts/nope/1").status_code == 404


def test_share_link_opens_one_cut_version_only(review_project: Project) -> None:
    editor = TestClient(create_app(review_project))
    token = login(editor, *EDITOR)
    r = editor.post(
        "/api/shares", json={"cut": "reel1", "version": 1, "hours": 2}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 201
    url = r.json()["url"]
    share_token = url.rsplit("/", 1)[1]
    with review_project.catalog.engine.connect() as conn:
        dump = " ".join(str(row) for row in conn.exec_driver_sql("SELECT * FROM review_shares"))
    assert share_token not in dump

    guest = TestClient(create_app(review_project))
    r = guest.get(f"/s/{share_token}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/cuts/reel1/v1"
    assert guest.get("/cuts/reel1/v1").status_code == 200
    assert guest.get("/media/review/reel1/1", headers={"Range": "bytes=0-9"}).status_code == 206
    gtoken = csrf(guest)
    r = post_note(guest, gtoken, 12, "from outside", author="Olive")
    assert r.status_code == 201 and r.json()["author"] == "Olive"
    # nothing else: not v2, not the dashboard, not the dailies, not another note's status, no new links
    for path in (
        "/api/cuts/reel1/2",
        "/cuts/reel1/v2",
        "/api/cuts",
        "/dailies",
        "/qc",
        "/media/review/reel1/2",
    ):
        assert guest.get(path, headers={"accept": "application/json"}).status_code == 403, path
    assert guest.get("/", follow_redirects=False).headers["location"] == "/cuts/reel1/v1"
    note_id = r.json()["id"]
    assert (
        guest.post(
            f"/api/notes/{note_id}", json={"status": "addressed"}, headers={"X-CSRF-Token": gtoken}
        ).status_code
        == 403
    )
    assert (
        guest.post(
            "/api/shares", json={"cut": "reel1", "version": 2}, headers={"X-CSRF-Token": gtoken}
        ).status_code
        == 403
    )


def test_expired_share_link_is_refused(review_project: Project, client: TestClient) -> None:
    store = ReviewStore(review_project.catalog)
    token, share = store.create_share("reel1", 1, hours=1)
    # a guest who opened it while it was valid...
    guest = TestClient(create_app(review_project))
    assert guest.get(f"/s/{token}", follow_redirects=False).status_code == 303
    assert guest.get("/api/cuts/reel1/1").status_code == 200
    with review_project.catalog.session() as s:
        s.execute(
            update(ShareRecord)
            .where(ShareRecord.id == share.id)
            .values(expires=datetime.now(UTC) - timedelta(minutes=1))
        )
    r = client.get(f"/s/{token}", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 410 and "expired" in r.text
    assert "ph_session" not in client.cookies
    # ...loses it when the link expires
    assert guest.get("/api/cuts/reel1/1").status_code == 401
    assert guest.get("/media/review/reel1/1").status_code == 401
    assert client.get("/s/not-a-real-token").status_code == 404


def test_media_ranges(client: TestClient, review_project: Project) -> None:
    login(client, *EDITOR)
    path = review_project.root / "cuts" / "reel1" / "v001.review.mp4"
    data = path.read_bytes()
    r = client.get("/media/review/reel1/1")
    assert r.status_code == 200 and r.content == data and r.headers["accept-ranges"] == "bytes"
    assert r.headers["content-type"] == "video/mp4"
    r = client.get("/media/review/reel1/1", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == data[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{len(data)}"
    r = client.get("/media/review/reel1/1", headers={"Range": "bytes=-50"})
    assert r.status_code == 206 and r.content == data[-50:]
    r = client.get("/media/review/reel1/1", headers={"Range": f"bytes={len(data)}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"
    r = client.get("/media/review/reel1/1", headers={"Range": "bytes=oops"})
    assert r.status_code == 416
    # the render has its index first (faststart): 'moov' before 'mdat'
    assert data.index(b"moov") < data.index(b"mdat")
    assert client.get("/media/review/reel1/2").status_code == 404  # v2 has no render


def test_path_traversal_and_other_projects_media_are_refused(
    review_project: Project, client: TestClient, tmp_path: Path
) -> None:
    login(client, *EDITOR)
    root = review_project.root
    # another project next door with its own dailies
    other = Project.init(tmp_path / "other", fps="24", resolution="160x90")
    (other.root / "dailies").mkdir(exist_ok=True)
    (other.root / "dailies" / "secret.mp4").write_bytes(b"other project's media")
    (other.root / "dailies" / "secret.dailies.json").write_text(
        '{"output": {"take": "1-1", "review": "%s"}}' % (other.root / "dailies" / "secret.mp4")
    )
    (root / "dailies").mkdir(exist_ok=True)
    # a sidecar in this project naming the other project's file, and a symlink to it
    (root / "dailies" / "evil.dailies.json").write_text(
        '{"output": {"take": "6-6", "review": "%s"}}' % (other.root / "dailies" / "secret.mp4")
    )
    os.symlink(other.root / "dailies" / "secret.mp4", root / "dailies" / "link.mp4")
    (root / "dailies" / "link.dailies.json").write_text(
        '{"output": {"take": "7-7", "review": "dailies/link.mp4"}}'
    )
    for path in (
        "/media/dailies/secret",  # the other project's id
        "/media/dailies/evil",  # a sidecar naming a file outside
        "/media/dailies/link",  # a symlink out of the project
        "/media/dailies/..%2F..%2Fother%2Fdailies%2Fsecret",
        "/media/dailies/../../etc/passwd",
        "/media/thumb/..",
        "/media/qc/..%2Fsecret",
        "/media/review/..%2F..%2Fmedia/1",
        "/static/../app.py",
        "/static/..%2Fapp.py",
    ):
        r = client.get(path)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert b"other project's media" not in r.content and b"def create_app" not in r.content
    with pytest.raises(MediaError, match="climbs out"):
        resolve_under(root, "media/../../other/dailies/secret.mp4")
    with pytest.raises(MediaError, match="outside the project"):
        resolve_under(root, root / "dailies" / "link.mp4")
    # a share link of the other project means nothing here
    token, _ = ReviewStore(other.catalog).create_share("reel1", 1, hours=1)
    assert (
        TestClient(create_app(review_project)).get(f"/s/{token}", follow_redirects=False).status_code == 404
    )


def test_security_headers_and_login_redirect(client: TestClient) -> None:
    r = client.get("/cuts/reel1/v1", headers={"accept": "text/html"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    r = client.get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    assert client.get("/api/cuts").status_code == 401


def test_login_is_throttled_and_never_redirects_off_site(client: TestClient) -> None:
    client.get("/login")
    form = {"name": "edith", "csrf_token": client.cookies["ph_csrf"]}
    for _ in range(5):
        assert client.post("/login", data={**form, "password": "guess-guess"}).status_code == 401
    r = client.post("/login", data={**form, "password": "cutting-room-1"})
    assert r.status_code == 429  # even the right password waits now
    other = TestClient(client.app)
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        other.get("/login")
        r = other.post(
            "/login",
            data={
                "name": "rita",
                "password": "watching-room-1",
                "csrf_token": other.cookies["ph_csrf"],
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/", target
    r = other.get('/login?next="><script>alert(1)</script>')
    assert "<script>alert(1)" not in r.text
