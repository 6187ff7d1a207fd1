"""The README's web-app recipe, run as written against a temp data dir and a real `formcheck serve`:
create the first coach with the command it gives, get an API token, send a clip as its curl line
does, invite an athlete with a link, and run behind an HTTPS proxy (the proxy's Host and
X-Forwarded-Proto from 127.0.0.1: the session cookie is then Secure, and the link opens)."""

from __future__ import annotations

import re
import shlex

from test_web_support import CLEAN, ROOT, ServerProcess

from formcheck import cli
from formcheck.web.security import SESSION_COOKIE

README = (ROOT / "README.md").read_text(encoding="utf-8")
PROXIED = "coach.example.org"  # the name the README's proxy examples serve


def readme_command(start: str) -> list[str]:
    """The first `formcheck ...` command in backticks that starts with `start`, split as a shell would."""
    found = re.search(r"`(" + re.escape(start) + r"[^`]*)`", README)
    assert found, f"the README gives no `{start} ...` command"
    return shlex.split(found.group(1))


def test_the_readme_recipe_first_coach_token_link_and_https(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    add = readme_command("formcheck users add")
    assert add[-2:] == ["--data", "DIR"], add  # the README names the data dir as serve does
    monkeypatch.setenv("FORMCHECK_PASSWORD", "a long coach passphrase")
    assert cli.main([*add[1:-1], str(data)]) == 0
    assert "added Head Coach (admin)" in capsys.readouterr().out
    assert cli.main(["users", "token", "Head Coach", "--data", str(data)]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("fc_")

    serve = readme_command("formcheck serve --allowed-host")
    assert serve[-2:] == ["--allowed-host", PROXIED], serve
    server = ServerProcess(data, "--jobs", "0", *serve[2:], "--allowed-host", "127.0.0.1")
    try:
        as_head = {"authorization": f"Bearer {token}"}
        # the README's curl line: -F athlete=... -F variant=auto -F note=... -F file=@set2.mp4
        form = {"athlete": "Sam Lee", "variant": "auto", "note": "60 kg"}
        clip = {"file": ("set2.mp4", CLEAN.read_bytes())}
        sent = server.client.post("/api/jobs", headers=as_head, files=clip, data=form)
        assert sent.status_code == 201 and sent.json()["athlete"] == "Sam Lee", sent.text
        link = server.client.post("/api/athletes/sam-lee/links", headers=as_head, json={"days": 30})
        assert link.status_code == 201 and link.json()["expires_at"], link.text

        # behind the proxy: the browser is at https://coach.example.org, the proxy connects from 127.0.0.1
        browser = {"host": PROXIED, "x-forwarded-proto": "https", "origin": f"https://{PROXIED}"}
        login = {"login": "Head Coach", "password": "a long coach passphrase", "next": "/"}
        anon = server.client.__class__(base_url=server.url)
        ok = anon.post("/login", data=login, headers=browser, follow_redirects=False)
        assert ok.status_code == 303, ok.text
        cookie = ok.headers["set-cookie"]
        assert cookie.startswith(SESSION_COOKIE)
        assert all(flag in cookie for flag in ("Secure", "HttpOnly", "SameSite=lax")), cookie
        plain = anon.post("/login", data=login, headers={"host": PROXIED}, follow_redirects=False)
        assert plain.status_code == 303 and "Secure" not in plain.headers["set-cookie"]  # http: not marked
        # on another port: nginx's $http_host keeps it, so the Origin matches; $host would drop it
        assert "proxy_set_header Host $http_host;" in README
        port = {"host": f"{PROXIED}:8443", "x-forwarded-proto": "https", "origin": f"https://{PROXIED}:8443"}
        assert anon.post("/login", data=login, headers=port, follow_redirects=False).status_code == 303
        dropped = port | {"host": PROXIED}
        assert anon.post("/login", data=login, headers=dropped, follow_redirects=False).status_code == 403
        page = anon.get(link.json()["url"], headers=browser)
        assert page.status_code == 200 and "Sam Lee" in page.text
        assert anon.get("/api/jobs", headers={"host": "evil.example"}).status_code == 400
        anon.close()
    finally:
        server.stop()
    assert "Traceback" not in server.output()
