"""Redaction by value: secrets by variable name, registered config values, and URL credentials anywhere."""

from __future__ import annotations

import base64
import io
from urllib.parse import quote, quote_plus

import pytest

from devloop.runtime import redact as r


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    monkeypatch.setattr(r, "_registered", set())


def test_a_url_password_is_a_secret_whatever_the_variable_is_called(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:hunter2-long@db:5432/x")
    assert "hunter2-long" in r.secret_values()
    assert r.redact("the password hunter2-long leaked") == "the password [redacted] leaked"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("see https://bob:tiny@example.com/x", "see https://bob:[redacted]@example.com/x"),
        ("redis://:p@ss@cache:6379", "redis://:[redacted]@cache:6379"),
        ("mysql://user:pw@h and ftp://u:v@w", "mysql://user:[redacted]@h and ftp://u:[redacted]@w"),
        ("no credentials: https://example.com/a:b@c", "no credentials: https://example.com/a:b@c"),
        ("mail me: a@b.c", "mail me: a@b.c"),
    ],
)
def test_url_credentials_are_masked_in_any_text(text, want):
    assert r.redact(text, secrets=[]) == want


def test_secret_names_and_registered_values(monkeypatch):
    monkeypatch.setenv("MY_API_TOKEN", "tok-123456")
    monkeypatch.setenv("HARMLESS", "value-123456")
    r.register({"X_SECRET": "from-config-999", "PLAIN": "not-secret-888"})
    values = r.secret_values()
    assert "tok-123456" in values and "from-config-999" in values
    assert "value-123456" not in values and "not-secret-888" not in values


def test_the_longest_secret_is_masked_whole(monkeypatch):
    monkeypatch.setenv("A_KEY", "abcdef")
    monkeypatch.setenv("B_KEY", "abcdef-ghijkl")
    assert r.redact("x abcdef-ghijkl y") == "x [redacted] y"


def test_short_values_are_left_alone(monkeypatch):
    monkeypatch.setenv("SHORT_KEY", "abc")
    assert r.redact("abc abc") == "abc abc"


def test_a_redacting_stream_masks_what_is_written(monkeypatch):
    monkeypatch.setenv("SERVICE_PASSWORD", "p4ssw0rd-xyz")
    out = io.StringIO()
    stream = r.RedactingStream(out)
    stream.write("Next: login with p4ssw0rd-xyz\n")
    stream.flush()
    assert out.getvalue() == "Next: login with [redacted]\n"


@pytest.mark.parametrize(
    "encode",
    [
        lambda s: base64.b64encode(s).decode(),
        lambda s: base64.b64encode(b"user:" + s).decode(),  # an Authorization: Basic header
        lambda s: base64.b64encode(b"ab:" + s + b"xyz").decode(),
        lambda s: base64.urlsafe_b64encode(b"x" + s).decode(),
        lambda s: quote(s.decode(), safe=""),
        lambda s: quote_plus(s.decode()),
        lambda s: s.hex(),
        lambda s: s.hex().upper(),
    ],
    ids=["base64", "basic-auth", "base64-offset-2", "urlsafe-offset-1", "url-encoded", "url-plus", "hex", "HEX"],
)
def test_a_secret_is_masked_in_the_forms_it_travels_in(monkeypatch: pytest.MonkeyPatch, encode: object) -> None:
    secret = "s3cr3t-Value!/+ =x"
    monkeypatch.setenv("DERIVED_TEST_TOKEN", secret)
    encoded = encode(secret.encode())  # type: ignore[operator]
    out = r.redact(f"header: {encoded} end")
    assert r.MASK in out and encoded not in out
    kept = out.replace(r.MASK, "").removeprefix("header: ").removesuffix(" end")
    assert len(kept) <= len(encoded) - len(secret), f"more than the encoding's edges survived: {kept!r}"
