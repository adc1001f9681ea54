"""The local console's requests: the page, its script and style, and a JSON API that does what
``scripts/memory_admin.py`` does, through the same ``operator_tools.memory_admin`` (so every action is audited
the same way, with ``source`` = ``console``). ``scripts/console.py`` serves it on 127.0.0.1 only.

Who may drive it: whoever holds the URL. The URL carries a random token made at each start (its path prefix);
any other path answers 404. Because a web page in the operator's own browser could still send requests to
127.0.0.1, every request must also name this server in ``Host`` (``127.0.0.1:<port>`` or ``localhost:<port>``:
DNS rebinding gives another name), and every API request must come from this server's own origin (``Origin``,
and ``Sec-Fetch-Site`` when the browser sends it) with a JSON body (a cross-site form cannot send one without a
preflight this server never grants). Answers are never cached, never framed, send no referrer (the token is in
the URL), and the page runs only its own script (a Content-Security-Policy without inline code), which puts
every remembered text on the page as text, never as markup.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agentic_memory.operator_tools.memory_admin import AdminError, MemoryAdmin

STATIC = Path(__file__).resolve().parent / "console_static"
FILES = {"": ("index.html", "text/html; charset=utf-8"), "console.js": ("console.js", "text/javascript; charset=utf-8"),
         "console.css": ("console.css", "text/css; charset=utf-8")}  # fmt: skip
MAX_BODY_BYTES = 64 * 1024
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self';"
        " base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
}
_NUMBERS = re.compile(r"\+?\d[\d\s().\-]{5,}\d")
DESTRUCTIVE = frozenset({"delete", "correct", "rename", "forget"})


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _json(status: int, value: Any) -> Response:
    return Response(status, json.dumps(value, ensure_ascii=False).encode(), {"Content-Type": "application/json"})


class ConsoleApp:
    """One console: ``admin`` does the work, ``token`` guards it, ``port`` is where it listens (for the Host
    and Origin checks)."""

    def __init__(self, admin: MemoryAdmin, token: str, port: int) -> None:
        if len(token) < 16:
            raise ValueError("the console's token must be long and random")
        self.admin, self.token, self.port = admin, token, port

    @property
    def hosts(self) -> frozenset[str]:
        return frozenset({f"127.0.0.1:{self.port}", f"localhost:{self.port}"})

    @property
    def origins(self) -> frozenset[str]:
        return frozenset(f"http://{host}" for host in self.hosts)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/{self.token}/"

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one request; ``headers`` with lower-case names."""
        response = self._answer(method, path, {k.lower(): v for k, v in headers.items()}, body)
        response.headers.update(SECURITY_HEADERS)
        return response

    def _answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        if headers.get("host", "") not in self.hosts:
            return _json(421, {"error": "this console answers only as 127.0.0.1 or localhost on its own port"})
        prefix, _, rest = path.split("?", 1)[0].lstrip("/").partition("/")
        if not hmac.compare_digest(prefix.encode(), self.token.encode()):
            return _json(404, {"error": "not found"})
        if method == "GET" and rest in FILES:
            name, kind = FILES[rest]
            return Response(200, (STATIC / name).read_bytes(), {"Content-Type": kind})
        if rest.startswith("api/"):
            if method != "POST":
                return _json(405, {"error": "the API takes POST"})
            refused = self._refused(headers, body)
            if refused:
                return _json(403, {"error": refused})
            try:
                request = json.loads(body or b"{}")
            except ValueError:
                return _json(400, {"error": "the body must be JSON"})
            if not isinstance(request, dict):
                return _json(400, {"error": "the body must be a JSON object"})
            return self._api(rest[4:], request)
        return _json(404, {"error": "not found"})

    def _refused(self, headers: dict[str, str], body: bytes) -> str | None:
        if headers.get("origin") not in self.origins:
            return "the API answers only this console's own page (Origin)"
        if headers.get("sec-fetch-site", "same-origin") != "same-origin":
            return "the API answers only this console's own page (Sec-Fetch-Site)"
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return "the API takes application/json"
        if len(body) > MAX_BODY_BYTES:
            return "the request is too large"
        return None

    def _api(self, action: str, request: dict[str, Any]) -> Response:
        admin = self.admin

        def text(name: str) -> str:
            value = request.get(name)
            return value if isinstance(value, str) else ""

        if action in DESTRUCTIVE and request.get("confirmed") is not True:
            return _json(400, {"error": f"{action} needs confirmed: true (the page asks first)"})
        agent = text("agent") or None
        try:
            if action == "find":
                result: Any = admin.find(text("caller"))
            elif action == "show":
                result = admin.show(text("caller"))
            elif action == "search":
                result = admin.search(text("caller"), text("query"), agent=agent)
            elif action == "delete":
                result = admin.delete(text("caller"), text("memory_id"))
            elif action == "correct":
                result = admin.correct(text("caller"), text("memory_id"), text("text"))
            elif action == "rename":
                result = admin.rename(text("caller"), text("name"), agent=agent)
            elif action == "note":
                result = admin.note(text("caller"), text("text"), agent=agent)
            elif action == "export":
                result = admin.export(text("caller"))
            elif action == "forget":
                result = admin.forget(text("caller"))
            elif action == "audit":
                days = request.get("days")
                result = admin.audit_trail(
                    days=days if isinstance(days, int) and 0 < days <= 400 else 7, raw=text("caller") or None
                )
                if result is None:
                    return _json(404, {"error": "this stack has no audit table"})
            else:
                return _json(404, {"error": f"no action {action!r}"})
        except AdminError as exc:
            return _json(400, {"error": str(exc)})
        except Exception as exc:
            cause = exc.__cause__ if exc.__cause__ is not None else exc
            message = _NUMBERS.sub("<number>", " ".join(str(cause).split()))[:200]
            return _json(502, {"error": f"{action} failed: {type(cause).__name__}: {message}"})
        return _json(200, {"result": result, "recorded": admin.recording})
