from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from tocsin import redact, redact_url, register_secret

TOKEN = "aBcD3fGh1JkLmN0pQrStUvWxYz_-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGH"
DISCORD = f"https://discord.com/api/webhooks/123456789012345678/{TOKEN}"


def test_redact_url_keeps_only_what_identifies() -> None:
    assert redact_url(DISCORD) == "https://discord.com/api/webhooks/123456789012345678/***"
    assert redact_url("https://canary.discord.com/api/v10/webhooks/1/tok?wait=true") == (
        "https://canary.discord.com/api/v10/webhooks/1/***"
    )
    assert redact_url("https://hooks.slack.com/services/T0/B0/XXXXXXXX") == "https://hooks.slack.com/services/***"
    assert redact_url("https://user:pw@example.com:8443/hook/abc?token=x") == "https://example.com:8443/***"
    assert redact_url("http://127.0.0.1:9000/") == "http://127.0.0.1:9000/"
    assert redact_url("not a url") == "***"


def test_patterns_redacted_without_registration() -> None:
    text = f"POST {DISCORD} failed; slack https://hooks.slack.com/services/T1/B2/abc; whsec_c2VjcmV0 http://u:p@h/"
    out = redact(text)
    assert TOKEN not in out
    assert "T1/B2/abc" not in out
    assert "c2VjcmV0" not in out
    assert "u:p@" not in out


def test_registered_secret_redacted_even_as_a_bare_path() -> None:
    url = "https://alerts.example.net/incoming/7f3a9c2e4b1d8f6a0e5c"
    register_secret(url)
    # urllib3 quotes only the path in its errors
    msg = "Max retries exceeded with url: /incoming/7f3a9c2e4b1d8f6a0e5c (Caused by ...)"
    assert "7f3a9c2e4b1d8f6a0e5c" not in redact(msg)
    assert "7f3a9c2e4b1d8f6a0e5c" not in redact(f"error for {url}")


@given(st.text(), st.text())
def test_registered_secret_never_survives(prefix: str, suffix: str) -> None:
    secret = "S3cr3t-" + "q" * 20
    register_secret(secret)
    assert secret not in redact(prefix + secret + suffix)
