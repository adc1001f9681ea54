"""The container's shared TLS context (agentic_memory/tls.py): made as httpx makes it, loaded on a thread."""

from __future__ import annotations

import ssl
import threading
from pathlib import Path

import httpx
import pytest

from agentic_memory.stores import tls


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    """A container that has not made its context yet, without httpx's certificate overrides."""
    monkeypatch.setattr(tls, "_context", None)
    monkeypatch.setattr(tls, "_loading", None)
    monkeypatch.setattr(tls, "_loaded", {})
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)


def settings_of(context: ssl.SSLContext) -> dict[str, object]:
    return {
        "certificates": context.cert_store_stats(),
        "verify_mode": context.verify_mode,
        "check_hostname": context.check_hostname,
        "minimum_version": context.minimum_version,
        "options": context.options,
    }


def test_the_context_is_the_one_httpx_makes_by_default(fresh):
    # Given no context yet
    # When the container's context is made
    made = tls.context()
    # Then it trusts the same certificates and checks the same way as httpx's default context
    assert settings_of(made) == settings_of(httpx.create_ssl_context())
    assert made.cert_store_stats()["x509_ca"] > 100  # certifi's bundle, loaded
    assert tls.context() is made  # one per container


def test_start_loads_it_on_a_thread_and_context_hands_that_one_out(fresh, monkeypatch):
    # Given a recorded load, so the test sees which thread made the context
    made_in: list[str] = []
    real = tls._load

    def recording(where: dict[str, str]) -> None:
        made_in.append(threading.current_thread().name)
        real(where)

    monkeypatch.setattr(tls, "_load", recording)
    # When init starts the load, and later a client asks for the context
    tls.start()
    tls.start()  # a second start does nothing
    made = tls.context()
    # Then the context came from the one loading thread, made as httpx would
    assert made_in == ["tls-context"]
    assert settings_of(made) == settings_of(httpx.create_ssl_context())
    assert tls.context() is made


def test_the_certificate_file_override_is_honoured_as_httpx_honours_it(fresh, monkeypatch, tmp_path):
    # Given SSL_CERT_FILE naming a bundle of one CA certificate (the first of certifi's)
    import certifi

    pem = Path(certifi.where()).read_text(encoding="ascii")
    first = pem[pem.index("-----BEGIN CERTIFICATE-----") : pem.index("-----END CERTIFICATE-----") + 25]
    bundle = tmp_path / "one.pem"
    bundle.write_text(first + "\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    # When the context is loaded on the thread
    tls.start()
    made = tls.context()
    # Then it trusts exactly that certificate, as httpx's default context would
    assert made.cert_store_stats()["x509_ca"] == 1
    assert settings_of(made) == settings_of(httpx.create_ssl_context())


def test_a_bundle_that_cannot_be_loaded_fails_where_the_client_is_built(fresh, monkeypatch, tmp_path):
    # Given SSL_CERT_FILE naming a file that is not there
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    # When init starts the load (it must not raise there)
    tls.start()
    # Then asking for the context raises the loading error, and nothing broken is kept
    with pytest.raises(FileNotFoundError):
        tls.context()
    assert tls._context is None
