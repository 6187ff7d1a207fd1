"""Coach accounts and the app's defences, over plain HTTP (FastAPI's TestClient, and a real
`formcheck serve` where the log matters): every route needs a login, one coach never sees another's
athletes, requests from other sites and unknown Hosts are refused before anything is made, bad
bodies get a 4xx with a reason, and an existing database from before accounts upgrades."""

from __future__ import annotations

import io
import itertools
import re
import sqlite3
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy
from fastapi.routing import APIRoute
from test_web_support import (
    CLEAN,
    PASSWORD,
    ServerProcess,
    add_coach,
    files_under,
    old_schema,
    settings_for,
    sign_in,
    upload,
)

from formcheck import cli
from formcheck.web import accounts
from formcheck.web.app import create_app
from formcheck.web.command import _hosts
from formcheck.web.db import Database
from formcheck.web.migrations import current
from formcheck.web.security import SESSION_COOKIE, host_name

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

FORM = {"content-type": "multipart/form-data; boundary=b0undary"}



@pytest.fixture
def app_and_settings(tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=0)
    with TestClient(create_app(settings)) as client:
        yield client, settings


def log_in(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Through the login form, as a browser does; returns the session's CSRF token from the page."""
    r = client.post("/login", data={"login": name, "password": password, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/").text
    return re.search(r'<meta name="csrf-token" content="([^"]+)"', page).group(1)


def served(routes: list, others: list | None = None) -> Iterator[APIRoute]:
    """The app's routes, through the routers it includes (FastAPI may keep those nested); any
    other kind of route (a plain Starlette route, a mount) goes to `others`."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from served(inner.routes, others)
        elif isinstance(route, APIRoute):
            yield route
        elif others is not None:
            others.append(route)


def test_every_route_answers_401_or_the_login_page_without_a_login(app_and_settings):
    client, settings = app_and_settings
    add_coach(client.app.state.ctx.db)  # accounts exist; this client has none of their cookies or tokens
    # every route the app serves (the API's schema /openapi.json among them), so a router added
    # later is checked too; the open ones are named
    open_routes = {"/login", "/api/health", "/setup"}  # /setup: localhost, and only with no coach yet
    checked, opened, others = 0, set(), []
    for route in served(client.app.routes, others):
        path = re.sub(r"\{job_id\}", "0" * 32, route.path)
        path = re.sub(r"\{[a-z_]+\}", "1", path)
        if route.path in open_routes or route.path.startswith("/a/{token}"):
            opened.add(route.path)
            if route.path.startswith("/a/"):  # an athlete's link: the token is the login
                for method in route.methods - {"HEAD"}:
                    assert client.request(method, path).status_code == 404, (method, path)
            continue
        for method in route.methods - {"HEAD"}:
            bare = client.request(method, path)
            assert bare.status_code == 401, (method, path, bare.status_code)
            assert bare.json()["detail"].startswith("log in first")
            assert bare.headers["www-authenticate"] == "Bearer"
            page = client.request(method, path, headers={"accept": "text/html"}, follow_redirects=False)
            if not path.startswith("/api/") and "/files/" not in path:
                assert page.status_code == 303 and page.headers["location"].startswith("/login?next="), path
            checked += 1
    assert checked >= 40  # the API, the files, the pages and the review routes were all there
    # a route added another way (app.add_route, a mount) is not checked above: only one exists, the
    # pages' own scripts and styles; FastAPI's docs pages are not served at all
    assert sorted(r.path for r in others) == ["/static"]
    assert client.get("/static/app.css").status_code == 200
    for docs in ("/docs", "/redoc", "/docs/oauth2-redirect"):
        assert client.get(docs).status_code in (401, 404), docs
    assert client.get("/openapi.json").status_code == 401
    assert opened - {p for p in opened if p.startswith("/a/{token}")} == open_routes
    assert client.get("/api/jobs", headers={"authorization": "Bearer fc_not-a-token"}).status_code == 401
    assert files_under(settings.clips_dir) == []


def test_log_in_cookie_flags_logout_and_password_change(app_and_settings):
    client, _ = app_and_settings
    db = client.app.state.ctx.db
    accounts.add_user(db, "Ana Coach", PASSWORD, email="ana@example.org")
    login = client.get("/login")
    assert login.status_code == 200 and 'id="login-form"' in login.text
    wrong = client.post("/login", data={"login": "ana coach", "password": "not the password"})
    assert wrong.status_code == 401 and "Wrong name or password" in wrong.text
    r = client.post("/login", data={"login": "ANA@example.org", "password": PASSWORD, "next": "/athletes"},
                    follow_redirects=False)  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == "/athletes"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain HTTP here: a Secure cookie would never come back
    home = client.get("/")
    assert home.status_code == 200 and 'id="account-link">Ana Coach<' in home.text
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', home.text).group(1)
    # an outside "next" never leads off the server
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example"):
        away = client.post("/login", data={"login": "Ana Coach", "password": PASSWORD, "next": target},
                           follow_redirects=False)  # fmt: skip
        assert away.headers["location"] == "/", target
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    # the page's upload (its script sends the session's CSRF token as a header)
    ok = client.post("/api/jobs", data={"athlete": "Sam"}, headers={"x-csrf-token": csrf},
                     files={"file": ("c.mp4", CLEAN.read_bytes(), "video/mp4")})  # fmt: skip
    assert ok.status_code == 201, ok.text
    # another device logged in, then the password changed here: that device is logged out
    other = TestClient(client.app)
    log_in(other, "Ana Coach")
    assert other.get("/api/jobs").status_code == 200
    new = "a new long password"
    changed = client.post("/account/password",
                          data={"csrf": csrf, "current": PASSWORD, "new": new, "again": new})  # fmt: skip
    assert changed.status_code == 200 and "Password changed" in changed.text
    assert other.get("/api/jobs").status_code == 401
    assert client.get("/api/jobs").status_code == 200  # this session was renewed
    assert accounts.authenticate(db, "Ana Coach", PASSWORD) is None
    # logout needs the form's token, then ends the session
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', client.get("/").text).group(1)
    assert client.post("/logout").status_code == 403
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303 and f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]
    assert client.get("/api/jobs").status_code == 401


def test_the_session_cookie_is_secure_over_https(tmp_path):
    settings = settings_for(tmp_path / "data", job_workers=0)
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        accounts.add_user(client.app.state.ctx.db, "Ana", PASSWORD)
        r = client.post("/login", data={"login": "Ana", "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303 and "Secure" in r.headers["set-cookie"]


def test_failed_logins_are_rate_limited(app_and_settings):
    client, _ = app_and_settings
    accounts.add_user(client.app.state.ctx.db, "Ana", PASSWORD)
    for _ in range(5):
        assert client.post("/login", data={"login": "Ana", "password": "guess guess"}).status_code == 401
    limited = client.post("/login", data={"login": "Ana", "password": PASSWORD})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert SESSION_COOKIE not in client.cookies  # not even the right password gets through now


def test_a_second_coach_sees_nothing_of_the_first(app_and_settings):
    client, settings = app_and_settings
    sign_in(client, "First")
    job = upload(client, CLEAN, athlete="Jo Park").json()
    uid = job["id"]
    assert client.put("/api/athletes/jo-park/height", json={"height_cm": 180}).status_code == 200
    second = TestClient(client.app)
    sign_in(second, "Second")
    assert second.get("/api/athletes").json() == [] and second.get("/api/jobs").json() == []
    for path in (f"/api/jobs/{uid}", f"/api/jobs/{uid}/report", f"/jobs/{uid}/clip",
                 f"/jobs/{uid}/files/report.json", "/api/athletes/jo-park", "/api/jobs?athlete=jo-park"):
        assert second.get(path).status_code == 404, path  # fmt: skip
    for path in (f"/jobs/{uid}", "/athletes/jo-park"):
        page = second.get(path, headers={"accept": "text/html"})
        assert page.status_code == 404 and "Jo Park" not in page.text, path
    assert "Jo Park" not in second.get("/").text and "Jo Park" not in second.get("/athletes").text
    assert second.post(f"/api/jobs/{uid}/retry").status_code == 404
    assert second.put("/api/athletes/jo-park/height", json={"height_cm": 150}).status_code == 404
    assert second.post("/athletes/jo-park/height", data={"height_cm": "150"}).status_code == 404
    # the second coach's own "Jo Park" is another athlete; the first one's is untouched
    theirs = upload(second, CLEAN, athlete="Jo Park").json()
    assert theirs["athlete_slug"] == "jo-park"
    assert len(second.get("/api/athletes/jo-park").json()["jobs"]) == 1
    first_view = client.get("/api/athletes/jo-park").json()
    assert [j["id"] for j in first_view["jobs"]] == [uid]
    assert client.get(f"/api/jobs/{theirs['id']}").status_code == 404
    assert client.get("/api/health").json()["jobs"]["queued"] == 2  # the queue is shared, the data is not


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({"origin": "http://evil.example"}, "another site"),
        ({"origin": "null"}, "no origin"),
        ({"origin": "http://testserver.evil.example"}, "another site"),
        ({"sec-fetch-site": "cross-site"}, "another site"),
        ({"origin": "http://[::1"}, "malformed"),  # urlsplit raises on it (a 500 before)
    ],
)
def test_cross_site_uploads_are_refused_before_anything_is_made(app_and_settings, headers, why):
    client, settings = app_and_settings
    accounts.add_user(client.app.state.ctx.db, "Ana", PASSWORD)
    csrf = log_in(client, "Ana")  # the victim is logged in: the browser sends their cookie along
    for path in ("/api/jobs", "/upload"):
        r = client.post(path, data={"athlete": "Junk", "csrf": csrf}, headers=headers,
                        files={"file": ("c.mp4", CLEAN.read_bytes(), "video/mp4")})  # fmt: skip
        assert r.status_code == 403 and why in r.json()["detail"], (path, r.text)
        assert "access-control-allow-origin" not in r.headers
    assert client.get("/api/jobs").json() == [] and client.get("/api/athletes").json() == []
    assert files_under(settings.clips_dir) == [] and files_under(settings.incoming_dir) == []


def test_a_session_without_the_csrf_token_changes_nothing(app_and_settings):
    client, settings = app_and_settings
    accounts.add_user(client.app.state.ctx.db, "Ana", PASSWORD)
    csrf = log_in(client, "Ana")
    clip = {"file": ("c.mp4", CLEAN.read_bytes(), "video/mp4")}
    for extra in ({}, {"csrf": "stale"}):
        for path in ("/api/jobs", "/upload"):
            r = client.post(path, data={"athlete": "Sam"} | extra, files=clip)
            assert r.status_code == 403 and "CSRF" in r.text, (path, extra)
    assert client.get("/api/jobs").json() == [] and files_under(settings.clips_dir) == []
    # the plain form (no script) carries the token as a field: accepted
    ok = client.post("/upload", data={"athlete": "Sam", "csrf": csrf}, files=clip, follow_redirects=False)
    assert ok.status_code == 303
    # no CORS: a preflight gets no Access-Control-Allow-Origin
    pre = client.options("/api/jobs", headers={"origin": "http://evil.example",
                                               "access-control-request-method": "POST"})  # fmt: skip
    assert "access-control-allow-origin" not in pre.headers


def test_unknown_host_names_are_refused(app_and_settings):
    client, _ = app_and_settings
    sign_in(client)
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example", ""):
        r = client.get("/api/jobs", headers={"host": host})
        assert r.status_code == 400 and "unknown Host" in r.json()["detail"], host
    assert client.get("/api/jobs", headers={"host": "localhost:8000"}).status_code == 200
    assert host_name("[::1]:8000") == "::1" and host_name("Example.ORG:443") == "example.org"
    assert _hosts(None, "127.0.0.1") == ("localhost", "127.0.0.1", "::1")
    assert _hosts(None, "0.0.0.0") == ("localhost", "127.0.0.1", "::1")
    assert _hosts(["coach.example.org:443", "Coach.example.org"], "0.0.0.0") == ("coach.example.org",)


def _multipart(*parts: bytes, end: bool = True) -> bytes:
    body = b"".join(b"--b0undary\r\n" + p + b"\r\n" for p in parts)
    return body + (b"--b0undary--\r\n" if end else b"")


ATHLETE = b'Content-Disposition: form-data; name="athlete"\r\n\r\nSam'
NAMED = b'Content-Disposition: form-data; name="athlete"\r\n\r\n'
NOTE = b'Content-Disposition: form-data; name="note"\r\n\r\n'
CLIP = b'Content-Disposition: form-data; name="file"; filename="c.mp4"\r\n\r\n' + CLEAN.read_bytes()


@pytest.mark.parametrize(
    ("case", "body", "status", "words"),
    [
        ("wrong boundary", _multipart(ATHLETE, CLIP).replace(b"b0undary", b"other"), 400, "multipart"),
        ("random bytes", bytes(range(256)) * 40, 400, "multipart"),
        ("cut before the end", _multipart(ATHLETE, CLIP, end=False)[:-200], 400, "closing boundary"),
        ("athlete not UTF-8", _multipart(NAMED + b"S\xe9b", CLIP), 422, "UTF-8"),
        ("file name not UTF-8", _multipart(ATHLETE, CLIP.replace(b'"c.mp4"', b'"\xff.mp4"')), 422, "UTF-8"),
        ("clip as 'video'", _multipart(ATHLETE, CLIP.replace(b'"file"', b'"video"')), 422, "'file'"),
        ("control characters", _multipart(NAMED + b"S\x07am", CLIP), 422, "not text"),
        # a note is held to the rule a note's edit is (web.models.note_text)
        ("note with U+FFFD", _multipart(ATHLETE, NOTE + "S\ufffd".encode(), CLIP), 422, "the note"),
        ("note too long", _multipart(ATHLETE, NOTE + b"x" * 501, CLIP), 422, "the note"),
    ],
)  # fmt: skip
def test_malformed_uploads_get_a_4xx_with_a_reason_and_leave_nothing(app_and_settings, case, body, status,
                                                                     words):  # fmt: skip
    client, settings = app_and_settings
    sign_in(client)
    r = client.post("/api/jobs", content=body, headers=FORM)
    assert r.status_code == status, (case, r.text)
    assert words in r.json()["detail"], case
    assert client.get("/api/jobs").json() == [] and client.get("/api/athletes").json() == []
    assert files_under(settings.clips_dir) == [] and files_under(settings.incoming_dir) == []


def test_a_boundary_past_the_parsers_limit_is_a_400_on_every_upload_path(app_and_settings):
    """python-multipart refuses a boundary over 256 bytes when the parser is made, before any byte
    is read (a 500 before): the API, the upload page and an athlete's link all say 400 why."""
    client, settings = app_and_settings
    sign_in(client)
    upload(client, CLEAN, athlete="Sam")
    link = client.post("/api/athletes/sam/links", json={}).json()["url"]
    long = "b" * 300
    body = _multipart(ATHLETE, CLIP).replace(b"b0undary", long.encode())
    for path in ("/api/jobs", "/upload", f"{link}/api/jobs", f"{link}/upload"):
        r = client.post(path, content=body, headers={"content-type": f"multipart/form-data; boundary={long}"})
        assert r.status_code == 400 and "not well-formed multipart" in r.text, (path, r.text[:300])
        if "/api/" in path:
            assert "Boundary length" in r.json()["detail"]
    assert len(client.get("/api/jobs").json()) == 1 and files_under(settings.incoming_dir) == []


def test_malformed_json_gets_a_4xx_with_a_detail(app_and_settings):
    client, _ = app_and_settings
    sign_in(client)
    upload(client, CLEAN, athlete="Sam")
    for body in (b"{not json", b"\xff\xfe", b"[1, 2]"):
        r = client.put("/api/athletes/sam/height", content=body, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500 and "detail" in r.json(), body


def test_passwords_are_never_stored_or_logged_in_clear(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    secret = "Sup3r secret coach passphrase"
    changed, second, third = "Changed pass phrase 2", "Bo's own pass phrase", "Setup pass phrase 3"
    monkeypatch.setattr("sys.stdin", io.StringIO(secret + "\n"))
    assert cli.main(["users", "--data", str(data), "add", "Ana", "--password-stdin"]) == 0
    assert "added Ana (admin)" in capsys.readouterr().out
    server = ServerProcess(data)
    try:
        anon = server.client.__class__(base_url=server.url)
        assert anon.post("/login", data={"login": "Ana", "password": secret + "x"}).status_code == 401
        ok = anon.post("/login", data={"login": "Ana", "password": secret}, follow_redirects=False)
        assert ok.status_code == 303
        token = ok.cookies[SESSION_COOKIE]
        assert anon.get("/api/athletes").status_code == 200
        # the other ways a password reaches the server: the account page's change and the admin's
        # new coach (each also once refused), and the setup page once a coach exists
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', anon.get("/").text).group(1)
        change = {"csrf": csrf, "current": secret, "new": changed, "again": changed}
        assert "differ" in anon.post("/account/password", data=change | {"again": "x" * 12}).text
        assert anon.post("/account/password", data=change).status_code == 200
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', anon.get("/").text).group(1)  # renewed
        coach = {"csrf": csrf, "name": "Bo", "password": second}
        assert anon.post("/account/coaches", data=coach | {"name": ""}).status_code == 400
        assert anon.post("/account/coaches", data=coach).status_code == 200
        setup = {"name": "Eve", "password": third, "again": third}
        assert anon.post("/setup", data=setup).status_code == 404  # a coach exists: the page is gone
        anon.close()
    finally:
        server.stop()
    raw = b"".join(p.read_bytes() for p in data.glob("formcheck.db*"))
    for clear in (secret, token, changed, second, third):  # only hashes of any of them
        assert clear.encode() not in raw, clear
    with sqlite3.connect(data / "formcheck.db") as con:
        hashes = dict(con.execute("select name, password_hash from users"))
    assert hashes.keys() >= {"Ana", "Bo"} and all(h.startswith("$argon2id$") for h in hashes.values())
    log = Path(server.log.name).read_text(errors="replace")
    assert all(clear not in log for clear in (secret, token, changed, second, third))
    assert "Traceback" not in log


def test_an_existing_database_upgrades_and_its_athletes_go_to_the_first_admin(tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    with sqlite3.connect(data / "formcheck.db") as con:  # formcheck before accounts, with a session in it
        for statement in old_schema():
            con.execute(statement)
        con.execute("insert into athletes values (1, 'sam-lee', 'Sam Lee', '2026-11-01 10:00:00')")
        con.execute("insert into clips values (?, 10, 'mp4/mov', 'x.mp4', '2026-11-01')", ("a" * 64,))
        con.execute(
            "insert into jobs (id, uid, athlete_id, clip_sha256, display_name, variant, note, status, stage,"
            " progress_done, progress_total, attempts, created_at, rep_count) values (1, ?, 1, ?, 'set.mp4',"
            " 'auto', '60 kg', 'done', 'done', 0, 0, 1, '2026-11-01 10:00:00', 7)", ("b" * 32, "a" * 64))
        con.execute("insert into athlete_heights values (1, 181.0)")
    settings = settings_for(data, job_workers=0)
    db = Database(settings.db_url)
    assert current(db.engine) == "0004"
    Database(settings.db_url).close()  # opening it again migrates nothing
    with sqlite3.connect(data / "formcheck.db") as con:
        assert con.execute("select coach_id, name from athletes").fetchall() == [(None, "Sam Lee")]
    db.close()
    assert cli.main(["users", "--data", str(data), "add", "Head Coach"]) == 25  # no terminal, no password
    assert "no password" in capsys.readouterr().err
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("FORMCHECK_PASSWORD", PASSWORD)
        assert cli.main(["users", "--data", str(data), "add", "Head Coach"]) == 0
        assert cli.main(["users", "--data", str(data), "add", "Assistant"]) == 0
        assert cli.main(["users", "--data", str(data), "add", "head coach"]) == 25  # the same name
    assert "already a coach" in capsys.readouterr().err
    assert cli.main(["users", "--data", str(data), "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["Head Coach\t\tadmin", "Assistant\t\tcoach"]
    assert cli.main(["users", "--data", str(data), "token", "Head Coach"]) == 0
    token = capsys.readouterr().out.strip()
    with TestClient(create_app(settings)) as client:
        client.headers["authorization"] = f"Bearer {token}"
        sam = client.get("/api/athletes/sam-lee").json()
        jobs = [(j["id"], j["note"], j["summary"]["rep_count"]) for j in sam["jobs"]]
        assert jobs == [("b" * 32, "60 kg", 7)]
        assert client.get("/api/jobs").json()[0]["athlete"] == "Sam Lee"
        assistant = TestClient(client.app)
        sign_in(assistant, "Assistant")
        assert assistant.get("/api/athletes").json() == []  # the old data went to the admin only
    assert cli.main(["users", "--data", str(data), "remove", "Head Coach"]) == 0
    with TestClient(create_app(settings)) as client:
        assert client.get("/api/jobs", headers={"authorization": f"Bearer {token}"}).status_code == 401


@pytest.mark.parametrize("action", [["list"], ["token", "Coach"], ["passwd", "Coach"], ["remove", "Coach"]])
def test_users_on_a_missing_data_dir_says_so_and_makes_nothing(tmp_path, capsys, monkeypatch, action):
    monkeypatch.delenv("FORMCHECK_DATABASE_URL", raising=False)
    typo = tmp_path / "formcheck-dta"
    assert cli.main(["users", "--data", str(typo), *action]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no formcheck database" in err[0] and str(typo) in err[0]
    assert not typo.exists()  # a mistyped --data leaves no empty data dir behind
    # an existing data dir with no database yet (not made by formcheck): the same, and nothing added
    typo.mkdir()
    assert cli.main(["users", "--data", str(typo), *action]) == 2
    assert list(typo.iterdir()) == []


def test_the_admin_adds_and_removes_coaches_from_the_account_page(app_and_settings):
    client, _ = app_and_settings
    db = client.app.state.ctx.db
    accounts.add_user(db, "Admin", PASSWORD)
    accounts.add_user(db, "Bo", PASSWORD)
    bo = TestClient(client.app)
    bo_csrf = log_in(bo, "Bo")
    refused = bo.post("/account/coaches", data={"csrf": bo_csrf, "name": "Cy", "password": PASSWORD})
    assert refused.status_code == 403 and accounts.find_user(db, "Cy") is None
    csrf = log_in(client, "Admin")
    page = client.post("/account/coaches", data={"csrf": csrf, "name": "Cy", "password": PASSWORD})
    assert page.status_code == 200 and "Coach Cy added" in page.text
    short = client.post("/account/coaches", data={"csrf": csrf, "name": "Di", "password": "short"})
    assert short.status_code == 400 and "at least 10" in short.text
    bo_id = accounts.find_user(db, "Bo").id
    assert client.post(f"/account/coaches/{bo_id}/remove", data={"csrf": csrf}).status_code == 200
    assert bo.get("/api/jobs").status_code == 401  # removed: the session ended with the account
    again = client.post("/account/coaches", data={"csrf": csrf, "name": "bo", "password": PASSWORD})
    assert again.status_code == 400 and "name of a removed coach" in again.text
    assert "Coach bo added" not in again.text and accounts.find_user(db, "bo") is None
    token_page = client.post("/account/tokens", data={"csrf": csrf, "label": "script"}).text
    token = re.search(r'id="new-token">([^<]+)<', token_page).group(1)
    script = TestClient(client.app, headers={"authorization": f"Bearer {token}"})
    assert script.get("/api/jobs").status_code == 200


def test_a_removed_coach_is_out_at_once_and_their_athletes_links_stop(app_and_settings):
    """Removing a coach ends their sessions and API tokens, and their athletes' upload links: the
    athletes and sessions are kept, but nothing more is uploaded to an account no one can open."""
    client, settings = app_and_settings
    db = client.app.state.ctx.db
    accounts.add_user(db, "Admin", PASSWORD)
    bo_id = accounts.add_user(db, "Bo", PASSWORD).id
    bo = TestClient(client.app)
    log_in(bo, "Bo")
    script = TestClient(client.app, headers={"authorization": f"Bearer {accounts.new_api_token(db, bo_id)}"})
    uid = upload(script, CLEAN, athlete="Sam").json()["id"]
    url = script.post("/api/athletes/sam/links", json={}).json()["url"]
    athlete = TestClient(client.app)  # the link is all the athlete has
    clip = {"file": ("set.mp4", CLEAN.read_bytes(), "video/mp4")}
    assert athlete.get(url).status_code == 200 and athlete.get(f"{url}/jobs/{uid}").status_code == 200
    assert athlete.post(f"{url}/api/jobs", files=clip).status_code == 201
    kept = files_under(settings.clips_dir) + files_under(settings.results_dir)
    csrf = log_in(client, "Admin")
    assert client.post(f"/account/coaches/{bo_id}/remove", data={"csrf": csrf}).status_code == 200
    # the coach's cookie and token stop at once, in the API and the pages
    assert bo.get("/api/jobs").status_code == 401 and script.get("/api/jobs").status_code == 401
    page = bo.get("/athletes", headers={"accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    # the link opens nothing and takes nothing, by the API or the page's form
    assert athlete.get(url).status_code == 404 and athlete.get(f"{url}/jobs/{uid}").status_code == 404
    assert athlete.get(f"{url}/jobs/{uid}/files/report.json").status_code == 404
    assert athlete.post(f"{url}/api/jobs", files=clip).status_code == 404
    assert athlete.post(f"{url}/upload", files=clip, headers={"accept": "text/html"}).status_code == 404
    # the data is kept as it was (two sessions), and not handed to anyone else
    assert len(db.jobs(coach_id=bo_id)) == 2
    assert files_under(settings.clips_dir) + files_under(settings.results_dir) == kept
    assert client.get("/api/athletes").json() == []


def test_an_athlete_link_uploads_for_that_athlete_only_and_stops_when_revoked(app_and_settings):
    client, settings = app_and_settings
    sign_in(client)
    alex = upload(client, CLEAN, athlete="Alex Kim").json()["id"]
    mine = upload(client, CLEAN, athlete="Sam Lee").json()["id"]
    made = client.post("/api/athletes/sam-lee/links", json={"days": 30})
    assert made.status_code == 201 and made.json()["live"] and made.json()["expires_at"]
    url, link_id = made.json()["url"], made.json()["id"]
    assert re.fullmatch(r"/a/[A-Za-z0-9_-]{40,}", url)
    athlete = TestClient(client.app)  # no account, no cookie: only the link
    page = athlete.get(url)
    assert page.status_code == 200 and 'id="athlete-name">Sam Lee<' in page.text
    assert "Alex Kim" not in page.text and mine in page.text and alex not in page.text
    # the upload is Sam's, whatever name the form says
    sent = athlete.post(f"{url}/api/jobs", data={"athlete": "Alex Kim", "note": "from my phone"},
                        files={"file": ("set.mp4", CLEAN.read_bytes(), "video/mp4")})  # fmt: skip
    assert sent.status_code == 201, sent.text
    uid = sent.json()["id"]
    assert sent.json()["links"]["page"] == f"{url}/jobs/{uid}"
    sam_jobs = {j["id"]: j for j in client.get("/api/athletes/sam-lee").json()["jobs"]}
    assert set(sam_jobs) == {mine, uid} and sam_jobs[uid]["note"] == "from my phone"
    assert len(client.get("/api/athletes/alex-kim").json()["jobs"]) == 1
    assert athlete.get(f"{url}/jobs/{uid}").status_code == 200
    assert athlete.get(f"{url}/jobs/{alex}").status_code == 404  # another athlete's session
    assert athlete.get(f"/jobs/{uid}").status_code == 401  # the coach's pages stay closed
    # from another site, even with the link: refused
    evil = athlete.post(f"{url}/api/jobs", headers={"origin": "http://evil.example"},
                        files={"file": ("set.mp4", CLEAN.read_bytes(), "video/mp4")})  # fmt: skip
    assert evil.status_code == 403
    # a second coach cannot make or revoke links for the first one's athlete
    other = TestClient(client.app)
    sign_in(other, "Other")
    assert other.post("/api/athletes/sam-lee/links", json={}).status_code == 404
    assert other.delete(f"/api/athletes/sam-lee/links/{link_id}").status_code == 404
    # revoked: the link opens nothing and uploads nothing
    assert client.delete(f"/api/athletes/sam-lee/links/{link_id}").json() == {"id": link_id, "revoked": True}
    for r in (athlete.get(url), athlete.get(f"{url}/jobs/{uid}"),
              athlete.post(f"{url}/api/jobs", files={"file": ("x.mp4", CLEAN.read_bytes(), "video/mp4")})):
        assert r.status_code == 404, r.text  # fmt: skip
    assert len(client.get("/api/athletes/sam-lee").json()["jobs"]) == 2
    assert [x["live"] for x in client.get("/api/athletes/sam-lee/links").json()] == [False]
    assert client.post("/api/athletes/sam-lee/links", json={"days": 0}).status_code == 400


def test_an_expired_athlete_link_opens_nothing(app_and_settings):
    client, _ = app_and_settings
    sign_in(client)
    upload(client, CLEAN, athlete="Sam Lee")
    url = client.post("/api/athletes/sam-lee/links", json={"days": 1}).json()["url"]
    assert TestClient(client.app).get(url).status_code == 200
    with client.app.state.ctx.db.session() as s:
        s.execute(sqlalchemy.text("update athlete_links set expires_at = '2020-01-01 00:00:00'"))
    assert TestClient(client.app).get(url).status_code == 404


def test_ids_too_long_for_the_database_get_a_4xx_not_a_500(app_and_settings):
    """Every route with a numeric id in its path, found from the app's routes: an id past the
    database's INTEGER (an overflow in the driver, a 500 before) is refused with a reason."""
    client, _ = app_and_settings
    sign_in(client)
    uid = upload(client, CLEAN, athlete="Sam").json()["id"]
    numeric = [r for r in served(client.app.routes)
               if any(p.field_info.annotation is int for p in r.dependant.path_params)]  # fmt: skip
    assert len(numeric) >= 4  # link revoke (API and page), comment delete (API and page)
    for route in numeric:
        path = route.path.replace("{job_id}", uid).replace("{slug}", "sam")
        for number in ("99999999999999999999999999", str(2**31), "0", "-1"):
            (method,) = route.methods
            r = client.request(method, re.sub(r"\{[a-z_]+\}", number, path))
            assert r.status_code == 422 and r.json()["detail"], (route.path, number, r.text)


JUNK_BODIES = [
    ("application/json", b"{not json"),
    ("application/json", b'{"name": ["x"], "note": 5, "into": {}, "days": 1e999, "height_cm": "NaN"}'),
    ("application/json", b"\xff\xfe"),
    ("application/x-www-form-urlencoded", b"name=%FF&note=%FF&text=%FF&rep=9999999999999999&days=-1"),
    ("multipart/form-data; boundary=b0undary", bytes(range(256)) * 4),
    ("multipart/form-data; boundary=" + "b" * 300, b"--" + b"b" * 300 + b"--\r\n"),
    ("multipart/form-data", b"no boundary"),
    ("text/plain", b"hello"),
]


def test_every_route_answers_junk_with_a_4xx_never_a_500(app_and_settings):
    """Each route the app serves (from its own route list, so a new one is in), each method, sent
    each malformed body as a logged-in script: a refusal with a reason, never an error of ours
    (the TestClient raises any exception the app lets out)."""
    client, _ = app_and_settings
    sign_in(client)
    uid = upload(client, CLEAN, athlete="Sam").json()["id"]
    token = client.post("/api/athletes/sam/links", json={}).json()["url"].rsplit("/", 1)[1]
    values = {"job_id": uid, "uid": uid, "slug": "sam", "token": token, "name": "report.json"}
    browser = TestClient(client.app)  # a person logged in by cookie: the CSRF check reads the form first
    accounts.add_user(client.app.state.ctx.db, "Ana", PASSWORD)
    log_in(browser, "Ana")
    tried = 0
    for route in served(client.app.routes):
        path = re.sub(r"\{([a-z_]+)\}", lambda m: values.get(m.group(1), "1"), route.path)
        for method in route.methods - {"GET", "HEAD"}:
            for (ctype, body), who in itertools.product(JUNK_BODIES, (client, browser)):
                r = who.request(method, path, content=body, headers={"content-type": ctype})
                assert r.status_code < 500, (method, route.path, ctype, r.text[:200])
                tried += 1
    assert tried >= 50 * len(JUNK_BODIES)  # (DELETE reads no body: the session is gone by now)
