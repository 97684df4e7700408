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


# -- issue 9 item 7: every part of a registered secret that identifies it ------------------

_token_chars = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=6,
                       max_size=15)
# A token that is not a plain route word: it has a digit in it (as real tokens do). The "Tq"
# prefix keeps what these tests register (for the rest of the session) from matching the
# text of other tests.
_tokens = st.builds(lambda t, d: f"Tq{t}{d}", _token_chars, st.integers(0, 9))


@given(_tokens, _tokens, _tokens, st.text(max_size=40), st.text(max_size=40))
def test_every_identifying_part_of_a_registered_url_is_masked(
    path_token: str, query_value: str, password: str, prefix: str, suffix: str
) -> None:
    url = f"https://user:{password}@hooks.example.org/hook/{path_token}?token={query_value}&wait=true"
    register_secret(url)
    for part in (path_token, query_value, password):
        out = redact(prefix + part + suffix)
        assert part not in out, (part, out)


@given(_tokens, st.sampled_from(["Bearer", "Basic", "Bot", "token"]), st.text(max_size=40))
def test_header_credential_masked_without_its_scheme_word(token: str, scheme: str, around: str) -> None:
    register_secret(f"{scheme} {token}")
    assert token not in redact(f"{around}{token}{around}")


def test_short_path_tokens_and_query_values_are_masked_but_route_words_are_not() -> None:
    register_secret("https://alerts.example.com/incoming/Tk3n9x?key=q7Sc3t&wait=true")
    out = redact('400 {"error": "bad token Tk3n9x", "key": "q7Sc3t"} for the incoming alerts webhook')
    assert "Tk3n9x" not in out
    assert "q7Sc3t" not in out
    assert "incoming alerts webhook" in out  # route words stay readable


def test_whsec_key_without_its_prefix_is_masked() -> None:
    register_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" not in redact("key MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw rejected")


def test_discord_id_stays_visible_in_redact_url_output() -> None:
    register_secret("https://discord.com/api/webhooks/998877665544332211/Zz9Token")
    assert redact(redact_url("https://discord.com/api/webhooks/998877665544332211/Zz9Token")) == (
        "https://discord.com/api/webhooks/998877665544332211/***")
