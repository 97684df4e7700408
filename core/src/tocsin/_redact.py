"""Keeping credentials out of every line tocsin writes.

Webhook URLs are credentials (the token is in the path), and so are signing secrets and
header values. Network sinks register them with :func:`register_secret` when they are
configured; every diagnostic tocsin logs goes through :func:`redact`, which replaces each
registered secret and anything shaped like a known webhook credential with ``***``.
Displaying a destination uses :func:`redact_url`, which keeps only what identifies it.
"""

from __future__ import annotations

import re
import threading
from typing import Final

from ._seed_compat import DISCORD_WEBHOOK_PATH, SLACK_WEBHOOK_PATH

__all__ = ["MASK", "redact", "redact_url", "register_secret"]

MASK: Final = "***"

# Shapes of credentials that are redacted even when nobody registered them (a URL from an
# environment variable that a sink never parsed, say).
_PATTERNS: Final = (
    # Discord: the token after the webhook id
    (re.compile(f"({DISCORD_WEBHOOK_PATH})[^/?#\\s'\"<>]+"), r"\1" + MASK),
    # Slack: hooks.slack.com/services/T…/B…/X…
    (re.compile(rf"(hooks\.slack\.com{SLACK_WEBHOOK_PATH})[^?#\s'\"<>]+"), r"\1" + MASK),
    # user:password@ in any URL
    (re.compile(r"(\w+://)[^/@\s'\"<>]+@"), r"\1" + MASK + "@"),
    # Standard Webhooks secrets
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), "whsec_" + MASK),
)

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()

# Fragments shorter than this are not treated as secrets: redacting "a" or "api" everywhere
# would mangle every message while protecting nothing.
_MIN_SECRET_LEN: Final = 6


def register_secret(secret: str) -> None:
    """Make :func:`redact` replace ``secret`` (and, for a URL, its path and query) from now on.

    Call it for every webhook URL, signing secret and credential header value a sink holds,
    before the first request. Registering is idempotent and thread-safe.
    """
    global _secrets
    import urllib.parse  # only sinks with credentials pay for it

    parts = {secret}
    if "://" in secret:
        try:
            url = urllib.parse.urlsplit(secret)
        except ValueError:
            url = None
        if url is not None:
            # urllib3 errors quote only the path ("… with url: /api/webhooks/1/TOKEN"):
            # the path and the query on their own are credentials too.
            parts |= {url.path, url.query, url.netloc.rpartition("@")[0]}
            parts |= {seg for seg in url.path.split("/") if len(seg) >= 16}
    fresh = {p for p in parts if len(p) >= _MIN_SECRET_LEN and p != "/"}
    with _lock:
        # Longest first, so that a URL is replaced whole before its own path is.
        _secrets = tuple(sorted(set(_secrets) | fresh, key=len, reverse=True))


def redact(text: str) -> str:
    """Return ``text`` with every registered secret and credential-shaped URL part masked."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_url(url: str) -> str:
    """A form of ``url`` that identifies the destination without its credential.

    ``https://discord.com/api/webhooks/1234/***`` (the webhook id kept),
    ``https://hooks.slack.com/services/***``, and for any other URL the scheme, host and port
    with the path and query masked: ``https://example.com/***``.
    """
    import urllib.parse

    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    origin = f"{parts.scheme}://{host}{port}"
    discord = re.match(DISCORD_WEBHOOK_PATH, parts.path)
    if discord:
        return origin + discord.group(0) + MASK
    if parts.path.startswith(SLACK_WEBHOOK_PATH) and host == "hooks.slack.com":
        return origin + SLACK_WEBHOOK_PATH + MASK
    if parts.path in ("", "/") and not parts.query:
        return origin + "/"
    return origin + "/" + MASK
