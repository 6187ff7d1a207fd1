"""Reviewing sessions over HTTP: comments on reps (the athlete's link page shows them, another coach
cannot reach them), the comparison of two sets (curves synchronised at a rep's start), trends kept
apart per variant with date and time on every point, the first-run page (localhost only) and the
health check (no login)."""

from __future__ import annotations

import json
import re
import threading
import time
import warnings

import httpx
import pytest
from sqlalchemy import event
from test_web_support import (
    CLEAN,
    RUSHED,
    add_coach,
    finished,
    seed_track,
    settings_for,
    sign_in,
    upload,
    uvicorn_thread,
    wait_for,
)

from formcheck.web import accounts
from formcheck.web.app import create_app
from formcheck.web.first_run import is_loopback
from formcheck.web.storage import result_dir

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture(scope="module")
def sessions(tmp_path_factory):
    """One coach, athlete Sam Lee with three finished sessions: the clean clip as a hip thrust,
    the rushed clip as a hip thrust, the clean clip again as a glute bridge."""
    settings = settings_for(tmp_path_factory.mktemp("review") / "data", job_workers=1)
    seed_track(settings.data_dir, CLEAN)
    seed_track(settings.data_dir, RUSHED)
    with TestClient(create_app(settings)) as client:
        sign_in(client)
        uids = [upload(client, clip, variant=v).json()["id"]
                for clip, v in ((CLEAN, "hip_thrust"), (RUSHED, "hip_thrust"), (CLEAN, "glute_bridge"))]
        for uid in uids:
            job = wait_for(lambda u=uid: client.get(f"/api/jobs/{u}").json(), finished)
            assert job["status"] == "done", job
        yield client, settings, uids


def report(client, uid: str) -> dict:
    return client.get(f"/api/jobs/{uid}/report").json()


def test_the_stored_curve_is_the_reports_reps_and_angles(sessions):
    client, settings, uids = sessions
    curve = json.loads((result_dir(settings, uids[0]) / "curve.json").read_text())
    rep = report(client, uids[0])
    starts = [(r["rep"], r["start_s"]) for r in rep["reps"]]
    assert [(r["rep"], r["start_s"]) for r in curve["reps"]] == starts
    assert len(curve["t"]) == len(curve["hip_deg"]) == rep["clip"]["frames"]
    for r in rep["reps"]:  # each rep's top angle is on the curve between its start and end
        pairs = zip(curve["t"], curve["hip_deg"], strict=True)
        inside = [v for t, v in pairs if r["start_s"] <= t <= r["end_s"] and v is not None]
        assert max(inside) == pytest.approx(r["top_hip_deg"], abs=3.0)


def test_the_comparison_syncs_both_sets_at_the_chosen_rep(sessions):
    client, _, uids = sessions
    a, b = uids[0], uids[1]
    for n in (1, 2):
        got = client.get("/api/compare", params={"a": a, "b": b, "rep": n}).json()
        for key, uid in (("a", a), ("b", b)):
            starts = {r["rep"]: r["start_s"] for r in report(client, uid)["reps"]}
            assert got[key]["sync_s"] == starts[n] and got[key]["sync_rep"] == n
            assert got[key]["curve"]["hip_deg"] and got[key]["video"].endswith(f"{uid}/files/annotated.mp4")
    page = client.get("/compare", params={"a": a, "b": b, "rep": 2}).text
    assert page.count('<video class="review"') == 2
    assert 'data-set="0"' in page and 'data-set="1"' in page  # both curves drawn
    # a rep one set does not have: that set is named unsynchronised instead of a wrong alignment
    many = client.get("/api/compare", params={"a": a, "b": b, "rep": 999}).json()
    assert many["a"]["sync_s"] is None and many["b"]["sync_rep"] is None


def test_two_athletes_are_compared_side_by_side(sessions):
    """The other use the issue names: two of the coach's athletes, offered on the job page."""
    client, _, uids = sessions
    jo = upload(client, CLEAN, athlete="Jo Park", variant="hip_thrust").json()["id"]
    try:
        assert wait_for(lambda: client.get(f"/api/jobs/{jo}").json(), finished)["status"] == "done"
        offered = client.get(f"/jobs/{uids[1]}").text
        assert re.search(rf'<option value="{jo}">Jo Park · ', offered)  # the job page's chooser
        got = client.get("/api/compare", params={"a": uids[1], "b": jo, "rep": 1}).json()
        assert (got["a"]["athlete"], got["b"]["athlete"]) == ("Sam Lee", "Jo Park")
        assert got["a"]["curve"]["hip_deg"] and got["b"]["curve"]["hip_deg"]
        assert got["b"]["sync_s"] == report(client, jo)["reps"][0]["start_s"]
        page = client.get("/compare", params={"a": uids[1], "b": jo, "rep": 1}).text
        assert page.count('<video class="review"') == 2 and "Sam Lee · " in page and "Jo Park · " in page
    finally:
        assert client.delete("/api/athletes/jo-park").status_code == 200  # the module's athlete stays alone


def test_a_set_analysed_before_curves_is_compared_without_one_and_no_error(sessions):
    """A session from before curve.json: synchronised at the rep from its report, named as having
    no curve; with its report gone too, shown unsynchronised with the reason. Never an error."""
    client, settings, uids = sessions
    folder = result_dir(settings, uids[2])
    curve, report_file = folder / "curve.json", folder / "report.json"
    kept = curve.read_bytes(), report_file.read_bytes()
    starts = {r["rep"]: r["start_s"] for r in report(client, uids[2])["reps"]}
    try:
        curve.unlink()
        got = client.get("/api/compare", params={"a": uids[0], "b": uids[2], "rep": 2})
        assert got.status_code == 200, got.text
        old = got.json()["b"]
        assert old["curve"] is None and "before curves were stored" in old["why_no_curve"]
        assert old["sync_s"] == starts[2] and old["sync_rep"] == 2 and old["fps"] > 0
        assert got.json()["a"]["curve"]["hip_deg"]  # the other set keeps its curve
        page = client.get("/compare", params={"a": uids[0], "b": uids[2], "rep": 2})
        assert page.status_code == 200 and "No angle curve for this set" in page.text
        assert "(no curve)" in page.text and 'data-set="0"' in page.text and 'data-set="1"' not in page.text
        assert f'data-sync="{starts[2]}"' in page.text

        report_file.unlink()  # nothing left to read the reps from
        gone = client.get("/api/compare", params={"a": uids[0], "b": uids[2], "rep": 2}).json()["b"]
        assert gone["sync_s"] is None and gone["why_no_curve"]
        page = client.get("/compare", params={"a": uids[2], "b": uids[0], "rep": 2})
        assert page.status_code == 200 and "not synchronised" in page.text
    finally:
        curve.write_bytes(kept[0])
        report_file.write_bytes(kept[1])


def test_a_comment_reaches_the_athlete_and_no_other_coach(sessions):
    client, _, uids = sessions
    uid = uids[0]
    bad = client.post(f"/api/jobs/{uid}/comments", json={"rep": 99, "text": "no such rep"})
    assert bad.status_code == 422 and "no rep" in bad.json()["detail"]
    assert client.post(f"/api/jobs/{uid}/comments", json={"rep": 1, "text": "  "}).status_code == 422
    made = client.post(f"/api/jobs/{uid}/comments", json={"rep": 2, "text": "Ribs down at the top <b>"})
    assert made.status_code == 201, made.text
    assert [c["text"] for c in client.get(f"/api/jobs/{uid}/comments").json()] == ["Ribs down at the top <b>"]
    page = client.get(f"/jobs/{uid}", headers={"accept": "text/html"}).text
    assert "Ribs down at the top &lt;b&gt;" in page  # shown, escaped

    link = client.post("/api/athletes/sam-lee/links", json={}).json()
    token = link["url"].rsplit("/a/", 1)[1]
    with TestClient(client.app) as athlete:  # no login: the link alone
        seen = athlete.get(f"/a/{token}/jobs/{uid}").text
        assert re.search(r'data-rep="2">Ribs down at the top &lt;b&gt;', seen)

    with TestClient(client.app) as other:
        sign_in(other, "Other Coach")
        assert other.get(f"/api/jobs/{uid}/comments").status_code == 404
        assert other.post(f"/api/jobs/{uid}/comments", json={"rep": 1, "text": "mine"}).status_code == 404
        assert other.delete(f"/api/jobs/{uid}/comments/{made.json()['id']}").status_code == 404
        assert other.get("/api/compare", params={"a": uid, "b": uids[1]}).status_code == 404
    assert len(client.get(f"/api/jobs/{uid}/comments").json()) == 1  # the other coach changed nothing
    assert client.delete(f"/api/jobs/{uid}/comments/{made.json()['id']}").status_code == 200
    assert client.get(f"/api/jobs/{uid}/comments").json() == []


def test_trends_are_per_variant_with_date_and_time_and_a_fixed_score_axis(sessions):
    client, _, uids = sessions
    page = client.get("/athletes/sam-lee", headers={"accept": "text/html"}).text
    groups = dict(re.findall(r'data-variant="([a-z_]+)">(.*?)</div>\s*</div>', page, re.S))
    assert set(groups) == {"hip_thrust", "glute_bridge"}
    for variant, n in (("hip_thrust", 2), ("glute_bridge", 1)):
        charts = re.findall(r"<svg.*?</svg>", groups[variant], re.S)
        assert len(charts) == 5
        reps_chart = charts[0]
        points = re.findall(r"<circle[^>]*><title>([^<]*)</title>", reps_chart)
        assert len(points) == n  # one point per session of that variant only
        assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d: reps \d+", p) for p in points)
        score = next(c for c in charts if "Score" in c)
        ticks = [float(v) for v in re.findall(r'class="a">(\d+)</text>', score)]
        assert min(ticks) == 0 and max(ticks) == 100
    assert client.patch(f"/api/jobs/{uids[1]}", json={"note": "60 kg, set 2"}).status_code == 200
    page = client.get("/athletes/sam-lee", headers={"accept": "text/html"}).text
    assert '<td class="note">60 kg, set 2</td>' in page
    trend = client.get("/api/athletes/sam-lee").json()["trend"]
    assert {p["variant"] for p in trend} == {"hip_thrust", "glute_bridge"}
    assert "60 kg, set 2" in [p["note"] for p in trend]


# ------------------------------------------------------------------ first run, health


@pytest.fixture
def fresh(tmp_path):
    return settings_for(tmp_path / "data", job_workers=0)


def first_coach(client: TestClient, **extra: str):
    form = {"name": "Head Coach", "password": "a long password", "again": "a long password"} | extra
    return client.post("/setup", data=form, follow_redirects=False)


@pytest.mark.parametrize("peer", ["testclient", "203.0.113.5", "192.168.1.2", "::ffff:10.0.0.1", "localhost"])
def test_the_first_run_page_refuses_any_other_client(fresh, peer):
    with TestClient(create_app(fresh), client=(peer, 40000)) as client:
        assert client.get("/setup").status_code == 403
        refused = first_coach(client)
        assert refused.status_code == 403 and "localhost" in refused.json()["detail"]
        assert accounts.count_users(client.app.state.ctx.db) == 0


@pytest.mark.parametrize("peer", ["127.0.0.1", "::1", "::ffff:127.0.0.1"])
def test_the_first_run_page_makes_the_first_coach_from_localhost_once(fresh, peer):
    with TestClient(create_app(fresh), client=(peer, 40000)) as client:
        assert "first-run page" in client.get("/login").text
        assert client.get("/setup").status_code == 200
        assert first_coach(client, again="another password").status_code == 400
        assert first_coach(client, password="short", again="short").status_code == 400
        assert accounts.count_users(client.app.state.ctx.db) == 0
        made = first_coach(client)
        assert made.status_code == 303 and "formcheck_session" in made.cookies
        assert client.get("/api/jobs").status_code == 200  # logged in as the new coach
        (coach,) = accounts.users(client.app.state.ctx.db)
        assert coach.name == "Head Coach" and coach.is_admin
        # once a coach exists the page is gone, even from localhost
        assert client.get("/setup").status_code == 404
        assert first_coach(client, name="Intruder").status_code == 404
        assert len(accounts.users(client.app.state.ctx.db)) == 1


def test_the_health_check_needs_no_login_and_everything_else_still_does(fresh):
    with TestClient(create_app(fresh)) as client:
        token = add_coach(client.app.state.ctx.db)
        bare = client.get("/api/health")
        assert bare.status_code == 200 and bare.json() == {"status": "ok", "database": "sqlite"}
        assert client.get("/api/jobs").status_code == 401
        assert client.get("/api/compare", params={"a": "0" * 32, "b": "0" * 32}).status_code == 401
        assert client.get(f"/api/jobs/{'0' * 32}/comments").status_code == 401
        full = client.get("/api/health", headers={"authorization": f"Bearer {token}"}).json()
        assert full["jobs"]["queued"] == 0 and "workers" in full


def test_loopback_is_an_address_never_a_name():
    assert is_loopback("127.0.0.1") and is_loopback("127.8.9.1") and is_loopback("::1")
    assert not is_loopback("localhost") and not is_loopback(None) and not is_loopback("10.0.0.1")


def test_concurrent_first_run_posts_make_exactly_one_coach(fresh):
    """Two browsers on the server's machine send the first-run form at once: one becomes the admin,
    the other is told a coach exists; never two admins."""
    names = [f"Coach {i}" for i in range(4)]
    start = threading.Barrier(len(names))
    codes: dict[str, int] = {}

    def post(url: str, name: str) -> None:
        form = {"name": name, "password": "a long password", "again": "a long password"}
        with httpx.Client(base_url=url, timeout=60) as client:
            start.wait()
            codes[name] = client.post("/setup", data=form).status_code

    def slow_count(_conn, _cursor, statement: str, *_args) -> None:
        """Widen the gap between "no coach yet?" and the insert, where a race would slip in."""
        if "count(*)" in statement.lower() and "from users" in statement.lower():
            time.sleep(0.2)

    app = create_app(fresh)
    with uvicorn_thread(app) as url:
        event.listen(app.state.ctx.db.engine, "before_cursor_execute", slow_count)
        threads = [threading.Thread(target=post, args=(url, n)) for n in names]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        made = accounts.users(app.state.ctx.db)
    assert len(made) == 1 and made[0].is_admin, made
    assert sorted(codes.values()) == [303] + [404] * (len(names) - 1), codes
    assert codes[made[0].name] == 303
