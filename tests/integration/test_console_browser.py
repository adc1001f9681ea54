"""The console end to end, in a real headless browser: `make dev` (scripts/dev.py) in a subprocess, a caller
remembered through its HTTP API (scripts/simulate_call.py), the console (scripts/console.py) in another, and
Debian's chromium driven by Playwright: find the caller, delete one memory, add a note, see the next
client_data answer change, see each action in the audit list. The screenshot goes to docs/console.png.

Chromium comes from Debian's package (`make browser`, which `make test` runs first), never a download:
Playwright launches /usr/bin/chromium with the flags this machine's notes give for a closed network.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOT = ROOT / "docs" / "console.png"
NOTE = "Prefers a call back on the landline after 6 pm."


def _clean_env() -> dict[str, str]:
    drop = ("MEM0_", "ELEVENLABS_", "AWS_ENDPOINT_URL", "IDEMPOTENCY_", "PORT", "POWERTOOLS_", "LOG_LEVEL", "AUDIT_")
    return {k: v for k, v in os.environ.items() if not k.startswith(drop)} | {"PYTHONUNBUFFERED": "1"}


class Process:
    """A script in a subprocess, its output read by a thread so the pipe never fills."""

    def __init__(self, *args: str) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=_clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := re.search(pattern, line):
                    return match
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r}; it said:\n" + "\n".join(self.lines[-40:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`make dev` on a free port, with one caller remembered; its state file, env file and caller."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data, env_file = tmp_path / "data", tmp_path / "dot.env"
    stack = Process("scripts/dev.py", "--port", str(port), "--data-dir", str(data), "--env-file", str(env_file))
    try:
        stack.wait_for(r"ready in \d+\.\d s", timeout=90)
        state = data / "dev-stack.json"
        simulated = subprocess.run(
            [sys.executable, "scripts/simulate_call.py", "--state", str(state), "--env-file", str(env_file),
             "--timeout", "20"],
            cwd=ROOT, env=_clean_env(), capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert simulated.returncode == 0, simulated.stdout + simulated.stderr
        caller = re.search(r"Simulating a call from (\+\d+)", simulated.stdout).group(1)
        yield {"state": str(state), "env_file": str(env_file), "caller": caller}
    finally:
        stack.stop()


@pytest.fixture
def console(dev_stack: dict[str, str]) -> Iterator[str]:
    """scripts/console.py for that stack; its URL (with the token)."""
    process = Process("scripts/console.py", "--state", dev_stack["state"], "--env-file", dev_stack["env_file"])
    try:
        yield process.wait_for(r"console for local:\S+: (http://127\.0\.0\.1:\d+/\S+/)$", timeout=30).group(1)
    finally:
        process.stop()


def client_data(dev_stack: dict[str, str]) -> dict[str, str]:
    """What the stack's conversation-initiation webhook answers for the caller now."""
    state = json.loads(Path(dev_stack["state"]).read_text())
    key = re.search(r"^ELEVENLABS_WORKSPACE_KEY=(\S+)$", Path(dev_stack["env_file"]).read_text(), re.M).group(1)
    body = json.dumps({"caller_id": dev_stack["caller"], "agent_id": "agent_console", "called_number": "+15550100000"})
    request = urllib.request.Request(
        f"{state['api_url']}/client-data", data=body.encode(), method="POST",
        headers={"Content-Type": "application/json", "X-Workspace-Key": key},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:  # nosec B310 - the local stack
        return json.loads(response.read())["dynamic_variables"]


@pytest.mark.slow
def test_the_console_finds_deletes_notes_and_shows_each_action_in_the_audit(dev_stack, console):
    assert CHROMIUM.is_file(), "Debian's chromium is missing: run `make browser` (make test does)"
    from playwright.sync_api import expect, sync_playwright

    before = client_data(dev_stack)
    assert before["returning_caller"] == "yes"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda dialog: dialog.accept())
            page.goto(console)

            # Find the caller: their memories appear, each with where it came from
            page.fill("#caller", dev_stack["caller"])
            page.click("#find")
            expect(page.locator("#summary")).to_contain_text("memories")
            rows = page.locator("#memories tbody tr")
            expect(rows.first).to_be_visible()
            held = rows.count()
            assert held > 0
            expect(rows.first.locator("td.origin")).to_contain_text("call conv_sim_")

            # Delete one memory (a collected fact the greeting quotes)
            fact = page.locator("#memories tbody tr[data-kind='fact']").filter(has_text=re.compile("allerg", re.I))
            if fact.count() == 0:
                fact = page.locator("#memories tbody tr[data-kind='fact']")
            deleted_text = fact.first.locator("td.text").inner_text()
            fact.first.locator("button.delete").click()
            expect(rows).to_have_count(held - 1)
            expect(page.locator("#status")).to_have_text("Delete: done")

            # Add a note by hand
            page.fill("#note-text", NOTE)
            page.click("#add-note")
            expect(page.locator("#profiles .note")).to_contain_text(NOTE)
            expect(page.locator("#memories tbody tr[data-kind='manual_note'] td.origin")).to_contain_text(
                "added by hand by local:"
            )

            # Each action is in the audit list, newest first
            expect(page.locator("#audit tbody tr[data-action='note']")).to_have_count(1)
            audit_actions = page.locator("#audit tbody tr td.action").all_inner_texts()
            for action in ("find", "view", "delete", "note"):
                assert action in audit_actions, audit_actions
            assert audit_actions.index("note") < audit_actions.index("delete") < audit_actions.index("find")
            audit_text = page.locator("#audit").inner_text()
            assert dev_stack["caller"] not in audit_text  # masked
            assert NOTE not in audit_text  # never content

            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()

    # The next client_data answer changed: the note leads, the deleted fact is gone
    after = client_data(dev_stack)
    assert after["memory_summary"].startswith(NOTE.rstrip("."))
    assert deleted_text not in after["memory_summary"]
    assert after["memory_summary"] != before["memory_summary"]
    assert SCREENSHOT.stat().st_size > 10_000
