"""Workspace key and webhook signature checks."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from agentic_memory.auth import check_workspace_key, parse_signature_header, sign, verify_signature
from agentic_memory.errors import Unauthorized

BODY = b'{"type":"post_call_transcription","data":{}}'
NOW = 1_795_253_400
TOLERANCE = 1800


def verify(header, body=BODY, secrets=("secret",), now=NOW):
    verify_signature(header, body, secrets, tolerance_seconds=TOLERANCE, now=now)


class TestWorkspaceKey:
    def test_accepts_the_configured_key(self):
        check_workspace_key("k1", ("k1",))

    def test_accepts_either_key_during_rotation(self):
        check_workspace_key("new", ("old", "new"))
        check_workspace_key("old", ("old", "new"))

    @pytest.mark.parametrize("presented", [None, "", "k2", "k1 extra", "K1"])
    def test_rejects_anything_else(self, presented):
        with pytest.raises(Unauthorized):
            check_workspace_key(presented, ("k1",))

    def test_fails_closed_without_a_configured_key(self):
        # Given no key is configured, When even an empty key is presented, Then it is refused
        with pytest.raises(Unauthorized, match="not configured"):
            check_workspace_key("", ())
        with pytest.raises(Unauthorized):
            check_workspace_key("anything", ())


class TestSignature:
    def test_signature_is_hmac_sha256_of_timestamp_dot_body(self):
        expected = hmac.new(b"secret", f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
        assert sign(BODY, "secret", NOW) == f"t={NOW},v0={expected}"

    def test_accepts_a_valid_signature(self):
        verify(sign(BODY, "secret", NOW))

    def test_accepts_any_of_several_secrets(self):
        verify(sign(BODY, "next", NOW), secrets=("current", "next"))

    def test_any_v0_in_the_header_may_match(self):
        good = sign(BODY, "secret", NOW).split(",")[1]
        verify(f"t={NOW},v0={'a' * 64},{good}")

    def test_rejects_a_tampered_body(self):
        with pytest.raises(Unauthorized, match="does not match"):
            verify(sign(BODY, "secret", NOW), body=BODY + b" ")

    def test_rejects_the_wrong_secret(self):
        with pytest.raises(Unauthorized):
            verify(sign(BODY, "other", NOW))

    @pytest.mark.parametrize("offset", [-1801, 1801, -86400])
    def test_rejects_timestamps_outside_thirty_minutes(self, offset):
        with pytest.raises(Unauthorized, match="window"):
            verify(sign(BODY, "secret", NOW + offset))

    @pytest.mark.parametrize("offset", [-1800, 0, 1800])
    def test_accepts_timestamps_inside_the_window(self, offset):
        verify(sign(BODY, "secret", NOW + offset))

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
            verify(sign(BODY, "secret", NOW), secrets=())
