"""The console's guards (src/agentic_memory/operator_tools/console_app.py), on the app and on the real server:
only its token's URL, only as 127.0.0.1 or localhost on its port, the API only from its own page with JSON,
nothing destructive without the page's confirmation, and answers that are never cached, framed or referred."""

from __future__ import annotations

import json
import sys
from typing import Any

import httpx
import pytest

from agentic_memory.operator_tools.console_app import ConsoleApp
from agentic_memory.operator_tools.memory_admin import AdminError
from tests.support import ROOT

TOKEN = "t" * 32
PORT = 3213
PAGE = {"host": f"127.0.0.1:{PORT}", "origin": f"http://127.0.0.1:{PORT}", "content-type": "application/json"}


class FakeAdmin:
    """Records what the console asked for; answers like MemoryAdmin."""

    recording = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __getattr__(self, name: str) -> Any:
        def action(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args))
            if args and args[0] == "anonymous":
                raise AdminError("not a caller")
            return {"done": name}

        return action


@pytest.fixture
def app() -> ConsoleApp:
    return ConsoleApp(FakeAdmin(), TOKEN, PORT)


def post(app: ConsoleApp, action: str, body: dict[str, Any], **headers: str):
    return app.handle("POST", f"/{TOKEN}/api/{action}", PAGE | headers, json.dumps(body).encode())


def test_the_page_and_the_api_answer_with_the_token(app):
    page = app.handle("GET", f"/{TOKEN}/", {"host": PAGE["host"]}, b"")
    assert page.status == 200
    assert b"AgenticMemory console" in page.body
    answer = post(app, "show", {"caller": "+16129782029"})
    assert (answer.status, json.loads(answer.body)) == (200, {"result": {"done": "show"}, "recorded": True})
    assert app.admin.calls == [("show", ("+16129782029",))]


@pytest.mark.parametrize(
    "path", ["/", "/nope/", f"/{TOKEN[:-1]}/", f"/{TOKEN}x/", f"/{TOKEN}/../console_app.py", f"/{TOKEN}/index.html"]
)
def test_any_other_path_is_not_found(app, path):
    assert app.handle("GET", path, {"host": PAGE["host"]}, b"").status == 404


@pytest.mark.parametrize("host", ["", "evil.example", "evil.example:3213", "127.0.0.1:1", "0.0.0.0:3213"])
def test_another_host_name_is_refused(app, host):
    # DNS rebinding: a page of evil.example resolved to 127.0.0.1 still sends its own name as Host
    assert app.handle("GET", f"/{TOKEN}/", {"host": host}, b"").status == 421
    assert post(app, "show", {"caller": "x"}, host=host).status == 421
    assert app.admin.calls == []


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://evil.example"},
        {"origin": "null"},
        {"origin": ""},
        {"sec-fetch-site": "cross-site"},
        {"content-type": "text/plain"},
        {"content-type": "application/x-www-form-urlencoded"},
    ],
)
def test_the_api_answers_only_its_own_page(app, headers):
    answer = post(app, "forget", {"caller": "+16129782029", "confirmed": True}, **headers)
    assert answer.status == 403
    assert app.admin.calls == []


@pytest.mark.parametrize("action", ["delete", "correct", "rename", "forget"])
def test_nothing_destructive_without_the_pages_confirmation(app, action):
    assert post(app, action, {"caller": "+16129782029"}).status == 400
    assert post(app, action, {"caller": "+16129782029", "confirmed": "yes"}).status == 400
    assert app.admin.calls == []
    assert post(app, action, {"caller": "+16129782029", "confirmed": True}).status == 200
    assert [name for name, _ in app.admin.calls] == [action]


def test_errors_are_json_and_one_line(app):
    answer = post(app, "show", {"caller": "anonymous"})
    assert (answer.status, json.loads(answer.body)) == (400, {"error": "not a caller"})
    assert post(app, "nothing", {}).status == 404
    assert app.handle("GET", f"/{TOKEN}/api/show", {"host": PAGE["host"]}, b"").status == 405
    assert app.handle("POST", f"/{TOKEN}/api/show", PAGE, b"{not json").status == 400


def test_every_answer_carries_the_security_headers(app):
    for response in (
        app.handle("GET", f"/{TOKEN}/", {"host": PAGE["host"]}, b""),
        app.handle("GET", "/wrong/", {"host": PAGE["host"]}, b""),
        post(app, "show", {"caller": "+16129782029"}),
    ):
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert response.headers["X-Frame-Options"] == "DENY"
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp


def test_the_page_runs_no_inline_code_and_never_writes_markup():
    static = ROOT / "src" / "agentic_memory" / "operator_tools" / "console_static"
    page = (static / "index.html").read_text()
    assert "<script>" not in page
    assert " on" not in page.replace("one", "").split("<body>")[1].split("=")[0]  # no onclick= handlers
    script = (static / "console.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in script


def test_the_server_listens_on_loopback_only_and_checks_over_http():
    sys.path.insert(0, str(ROOT / "scripts"))
    import console

    server = console.serve(0, FakeAdmin(), token=TOKEN)
    try:
        assert server.server_address[0] == "127.0.0.1"
        import threading

        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        base = f"http://127.0.0.1:{port}/{TOKEN}"
        assert httpx.get(f"{base}/").status_code == 200
        same = {"Origin": f"http://127.0.0.1:{port}"}
        assert httpx.post(f"{base}/api/find", json={"caller": "+16129782029"}, headers=same).status_code == 200
        foreign = {"Origin": "http://evil.example"}
        assert httpx.post(f"{base}/api/find", json={"caller": "+16129782029"}, headers=foreign).status_code == 403
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 404
    finally:
        server.shutdown()
        server.server_close()
