"""Workspace key and webhook signature checks."""

from __future__ import annotations

import hashlib
import hmac
import logging

import pytest

from agentic_memory.config import load_settings
from agentic_memory.edge import auth
from agentic_memory.edge.auth import (
    MIN_SECRET_CHARS,
    check_workspace_key,
    parse_signature_header,
    sign,
    verify_signature,
)
from agentic_memory.errors import Unauthorized

BODY = b'{"type":"post_call_transcription","data":{}}'
NOW = 1_795_253_400
TOLERANCE = 1800
# Every configured secret must be at least 16 characters; these are.
K1 = "workspace-key-one-0001"
OLD, NEW = "workspace-key-old-0001", "workspace-key-new-0002"
SECRET = "webhook-secret-0001"


def verify(header, body=BODY, secrets=(SECRET,), now=NOW):
    verify_signature(header, body, secrets, tolerance_seconds=TOLERANCE, now=now)


class TestWorkspaceKey:
    def test_accepts_the_configured_key(self):
        check_workspace_key(K1, (K1,))

    def test_accepts_either_key_during_rotation(self):
        check_workspace_key(NEW, (OLD, NEW))
        check_workspace_key(OLD, (OLD, NEW))

    @pytest.mark.parametrize("presented", [None, "", "k2", K1 + " extra", K1.upper(), K1[:-1]])
    def test_rejects_anything_else(self, presented):
        with pytest.raises(Unauthorized):
            check_workspace_key(presented, (K1,))

    def test_fails_closed_without_a_configured_key(self):
        # Given no key is configured, When even an empty key is presented, Then it is refused
        with pytest.raises(Unauthorized, match="not configured"):
            check_workspace_key("", ())
        with pytest.raises(Unauthorized):
            check_workspace_key("anything", ())


class TestSignature:
    def test_signature_is_hmac_sha256_of_timestamp_dot_body(self):
        expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
        assert sign(BODY, SECRET, NOW) == f"t={NOW},v0={expected}"

    def test_accepts_a_valid_signature(self):
        verify(sign(BODY, SECRET, NOW))

    def test_accepts_any_of_several_secrets(self):
        verify(sign(BODY, "webhook-secret-next", NOW), secrets=("webhook-secret-current", "webhook-secret-next"))

    def test_any_v0_in_the_header_may_match(self):
        good = sign(BODY, SECRET, NOW).split(",")[1]
        verify(f"t={NOW},v0={'a' * 64},{good}")

    def test_rejects_a_tampered_body(self):
        with pytest.raises(Unauthorized, match="does not match"):
            verify(sign(BODY, SECRET, NOW), body=BODY + b" ")

    def test_rejects_the_wrong_secret(self):
        with pytest.raises(Unauthorized):
            verify(sign(BODY, "webhook-secret-other", NOW))

    @pytest.mark.parametrize("offset", [-1801, 1801, -86400])
    def test_rejects_timestamps_outside_thirty_minutes(self, offset):
        with pytest.raises(Unauthorized, match="window"):
            verify(sign(BODY, SECRET, NOW + offset))

    @pytest.mark.parametrize("offset", [-1800, 0, 1800])
    def test_accepts_timestamps_inside_the_window(self, offset):
        verify(sign(BODY, SECRET, NOW + offset))

    @pytest.mark.parametrize(
        "header",
        [
            "",
            "garbage",
            f"t={NOW}",
            "v0=" + "a" * 64,
            f"t=abc,v0={'a' * 64}",
            f"t=-5,v0={'a' * 64}",
            f"t={NOW},t={NOW},v0={'a' * 64}",
            f"t={NOW},v0=xyz",
            f"t={NOW},v0={'A' * 64}",
            f"t={NOW},,v0={'a' * 64}",
            f"t={NOW},v0=",
            f"t=١٢٣,v0={'a' * 64}",
        ],
    )
    def test_rejects_malformed_headers(self, header):
        with pytest.raises(Unauthorized):
            verify(header or None)

    def test_parses_strictly_but_ignores_other_schemes(self):
        assert parse_signature_header(f"t={NOW},v1=zzz,v0={'b' * 64}") == (NOW, ["b" * 64])

    def test_fails_closed_without_a_secret(self):
        with pytest.raises(Unauthorized, match="not configured"):
            verify(sign(BODY, SECRET, NOW), secrets=())


class TestSecretStrength:
    """A configured secret shorter than 16 characters fails closed, like a missing one (issue 13, item 5)."""

    @pytest.fixture(autouse=True)
    def fresh_container(self, monkeypatch):
        # Each test is a new container: the "log once" memory starts empty.
        monkeypatch.setattr(auth, "_warned", set())

    def test_the_floor_is_sixteen_characters(self):
        # Given a key of exactly 16 characters and one of 15, Then the first works and the second refuses
        check_workspace_key("k" * 16, ("k" * 16,))
        with pytest.raises(Unauthorized, match="not configured"):
            check_workspace_key("k" * 15, ("k" * 15,))
        assert MIN_SECRET_CHARS == 16

    def test_a_short_workspace_key_refuses_even_its_own_value(self):
        # Given a short key configured, When the exact key is presented, Then it is still refused
        with pytest.raises(Unauthorized, match="not configured"):
            check_workspace_key("short-key", ("short-key",))

    def test_one_short_key_in_a_rotation_list_refuses_every_request(self):
        # Given a long key and a short one, When the long one is presented, Then it is refused too:
        # the misconfiguration must show at once, not the day the long key is retired.
        for presented in (K1, "tiny"):
            with pytest.raises(Unauthorized):
                check_workspace_key(presented, (K1, "tiny"))

    def test_a_short_webhook_secret_refuses_a_correctly_signed_body(self):
        with pytest.raises(Unauthorized, match="not configured"):
            verify(sign(BODY, "old-key", NOW), secrets=("old-key",))
        with pytest.raises(Unauthorized, match="not configured"):
            verify(sign(BODY, SECRET, NOW), secrets=(SECRET, "old-key"))

    def test_a_comma_inside_a_secret_splits_it_and_the_halves_are_refused(self, monkeypatch):
        # Given an operator who pasted "correct-horse,battery-staple" as one secret (27 characters),
        # When settings are loaded, Then the comma splits it into two pieces of 13 and 14 characters,
        # and neither a piece nor the whole string opens the endpoint.
        monkeypatch.setenv("ELEVENLABS_WORKSPACE_KEY", "correct-horse,battery-staple")
        keys = load_settings().workspace_keys
        assert keys == ("correct-horse", "battery-staple")
        for presented in ("correct-horse", "battery-staple", "correct-horse,battery-staple"):
            with pytest.raises(Unauthorized):
                check_workspace_key(presented, keys)

    def test_rotation_list_is_split_on_commas_and_trimmed(self, monkeypatch):
        monkeypatch.setenv("ELEVENLABS_HMAC_KEY", f" {OLD} ,{NEW},, ")
        assert load_settings().hmac_keys == (OLD, NEW)

    @pytest.mark.parametrize(
        ("check", "variable"),
        [
            (lambda keys: check_workspace_key(K1, keys), "ELEVENLABS_WORKSPACE_KEY"),
            (lambda keys: verify(sign(BODY, SECRET, NOW), secrets=keys), "ELEVENLABS_HMAC_KEY"),
        ],
    )
    def test_logs_one_line_naming_the_variable_never_the_value(self, caplog, check, variable):
        # Given a short secret, When three requests arrive, Then one error line names the variable and the
        # position in the list, and no line contains the secret
        secret = "hunter2-short"
        for _ in range(3):
            with pytest.raises(Unauthorized):
                check((K1 if variable.endswith("WORKSPACE_KEY") else SECRET, secret))
        lines = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
        assert len(lines) == 1
        assert variable in lines[0]
        assert "item 2 of 2" in lines[0]
        assert secret not in lines[0]
        assert "shorter than 16 characters" in lines[0]
