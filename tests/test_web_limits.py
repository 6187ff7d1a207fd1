"""The cap on request bodies (formcheck.web.limits): a JSON or form body over the cap is refused with
413 before any route runs, whether it says its length or is sent chunked, and no more than the cap
is read; a body under it reaches the route whole; the clip uploads keep their own, larger limit."""

from __future__ import annotations

import json
import select
import socket
import warnings
from pathlib import Path

import anyio
import pytest
from test_web_support import CLEAN, ServerProcess, settings_for, sign_in, upload

from formcheck.web.app import ROUTERS, create_app
from formcheck.web.limits import MAX_BODY_BYTES, BodyLimit, upload_paths

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CHUNK = 64 * 1024


# the clip uploads' paths as the coach app gives them to BodyLimit
UPLOADS = upload_paths([r for router in ROUTERS for r in router.routes])


@pytest.fixture
def client(tmp_path):
    with TestClient(create_app(settings_for(tmp_path / "data", job_workers=0))) as c:
        sign_in(c)
        yield c


def scope(method: str, path: str, headers: dict[str, str]) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip


class ChunkedBody:
    """A client sending `total` bytes in chunks without a Content-Length; counts what was read."""

    def __init__(self, total: int, chunk: bytes = b"x" * CHUNK) -> None:
        self.left, self.chunk, self.read = total, chunk, 0

    async def receive(self) -> dict:
        if self.left <= 0:
            await anyio.sleep_forever()  # the client waits for the answer; it never disconnects here
        part = self.chunk[: self.left]
        self.left -= len(part)
        self.read += len(part)
        return {"type": "http.request", "body": part, "more_body": self.left > 0}


def call(app, method: str, path: str, body: ChunkedBody, headers: dict[str, str]) -> tuple[int, dict]:
    """Run one request through an ASGI app: its status and JSON answer."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    anyio.run(app, scope(method, path, headers), body.receive, send)
    status = sent[0]["status"]
    answer = b"".join(m.get("body", b"") for m in sent[1:])
    return status, json.loads(answer) if answer else {}


class Recorder:
    """An inner app that reads the whole body, as a route does, and remembers it."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:  # noqa: ANN001 (ASGI)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def test_a_chunked_body_past_the_cap_is_refused_after_reading_only_the_cap():
    inner = Recorder()
    limited = BodyLimit(inner, UPLOADS, max_bytes=100 * 1024)
    body = ChunkedBody(50 * 1024 * 1024)  # 50 MB, no Content-Length
    status, answer = call(limited, "PATCH", "/api/jobs/x", body, {"content-type": "application/json"})
    assert status == 413 and "larger than 100 kB" in answer["detail"]
    assert inner.bodies == []  # the route never ran
    assert body.read <= 100 * 1024 + CHUNK  # the rest was never read, so never held


def test_a_body_under_the_cap_reaches_the_route_whole_however_it_is_cut():
    inner = Recorder()
    limited = BodyLimit(inner, UPLOADS, max_bytes=100 * 1024)
    body = ChunkedBody(100 * 1024, chunk=bytes(range(256)) * 8)  # 2 kB chunks up to exactly the cap
    status, _ = call(limited, "PUT", "/api/athletes/sam/height", body, {})
    assert status == 200 and inner.bodies == [(bytes(range(256)) * 8) * 50]


def test_the_exempt_routes_are_exactly_the_clip_uploads():
    """Read from the app's own routers: the routes marked streams_upload, and no other."""
    exempt = sorted(p.pattern for p in UPLOADS)
    assert exempt == sorted(
        ["^/api/jobs$", "^/upload$", "^/a/(?P<token>[^/]+)/upload$", "^/a/(?P<token>[^/]+)/api/jobs$"]
    )


@pytest.mark.parametrize("path", ["/api/jobs", "/upload", "/a/some-token/upload", "/a/some-token/api/jobs"])
def test_the_clip_uploads_are_left_to_their_own_limit(path):
    inner = Recorder()
    limited = BodyLimit(inner, UPLOADS, max_bytes=1024)
    status, _ = call(limited, "POST", path, ChunkedBody(300 * 1024), {})
    assert status == 200 and len(inner.bodies[0]) == 300 * 1024
    # another method or a longer path on the same prefix is capped
    for method, other in (("PATCH", path), ("POST", f"{path}/x"), ("POST", f"/x{path}")):
        status, _ = call(limited, method, other, ChunkedBody(300 * 1024), {})
        assert status == 413, (method, other)
    assert len(inner.bodies) == 1


def test_the_app_refuses_a_large_json_body_with_413_and_changes_nothing(client):
    uid = upload(client, CLEAN, athlete="Sam").json()["id"]
    big = json.dumps({"note": "x" * (MAX_BODY_BYTES + 1)})
    r = client.patch(f"/api/jobs/{uid}", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413 and "larger than 1 MB" in r.json()["detail"]
    assert r.headers["content-security-policy"]  # answered inside the app's own headers
    assert client.get(f"/api/jobs/{uid}").json()["note"] == ""
    # the same sent chunked, through the whole app: 413 with only the cap read, the note unchanged
    body = ChunkedBody(50 * 1024 * 1024)
    headers = {"host": "testserver", "content-type": "application/json", **client.headers}
    status, answer = call(client.app, "PATCH", f"/api/jobs/{uid}", body, headers)
    assert status == 413 and answer["detail"].startswith("the request body is larger")
    assert body.read <= MAX_BODY_BYTES + CHUNK
    assert client.get(f"/api/jobs/{uid}").json()["note"] == ""
    # a login form as large: refused before the form is parsed or a password checked
    r = client.post("/login", data={"login": "Coach", "password": "x" * (MAX_BODY_BYTES + 1)})
    assert r.status_code == 413
    # under the cap the route answers as before
    ok = client.patch(f"/api/jobs/{uid}", json={"note": "60 kg"})
    assert ok.status_code == 200 and client.get(f"/api/jobs/{uid}").json()["note"] == "60 kg"


def test_an_upload_larger_than_the_cap_goes_to_the_upload_checks(client):
    """A 2 MB multipart body on /api/jobs is read by the upload path (its field limit answers), not
    refused by the body cap."""
    r = client.post("/api/jobs", data={"athlete": "Sam", "note": "n" * (2 * MAX_BODY_BYTES)},
                    files={"file": ("c.mp4", CLEAN.read_bytes(), "video/mp4")})  # fmt: skip
    assert r.status_code == 422 and "too long" in r.json()["detail"]


def peak_rss_kb(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(ln for ln in status.splitlines() if ln.startswith("VmHWM")).split()[1])


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="reads the server's peak RSS from /proc")
def test_a_real_server_answers_a_50_mb_chunked_body_with_413_and_flat_memory(tmp_path):
    """Against `formcheck serve` (uvicorn): the answer comes while the client is still sending, and
    the server's peak memory does not grow with the body (before the cap: 422 after reading all
    50 MB, and the peak grew by about 100 MB)."""
    server = ServerProcess(tmp_path / "data", "--jobs", "0")
    try:
        before = peak_rss_kb(server.proc.pid)
        head = (f"PATCH /api/jobs/{'0' * 32} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: {server.auth['authorization']}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")  # fmt: skip
        part = b'{"note": "' + b"x" * 65_000
        sent, answer = 0, b""
        with socket.create_connection(("127.0.0.1", server.port), timeout=60) as s:
            s.sendall(head.encode())
            try:
                while sent < 50 * 1024 * 1024 and not select.select([s], [], [], 0)[0]:
                    s.sendall(b"%x\r\n%b\r\n" % (len(part), part))
                    sent += len(part)
                if sent >= 50 * 1024 * 1024:  # all sent, unanswered: end the JSON and the body
                    s.sendall(b'2\r\n"}\r\n0\r\n\r\n')
            except OSError:  # the server closed the connection after its answer
                pass
            answer = s.recv(65536)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert sent < 50 * 1024 * 1024  # answered before the body ended
        assert peak_rss_kb(server.proc.pid) - before < 20 * 1024
    finally:
        server.stop()
