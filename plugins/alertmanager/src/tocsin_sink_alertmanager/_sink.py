"""The Alertmanager sink: every alert to every listed peer, one delivery engine per peer."""

from __future__ import annotations

import base64
import datetime as _dt
import json
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, Final

from tocsin import Alert, SinkSettings, hookimpl, redact_url, register_secret
from tocsin.delivery import (
    Destination,
    Message,
    Outcome,
    Response,
    Verdict,
    classify_response,
    destination_settings,
)

from ._payload import alert_payload

__all__ = ["API_PATH", "AlertmanagerSink", "classify_alertmanager"]

API_PATH: Final = "/api/v2/alerts"
_DEFAULT_RESOLVE_AFTER: Final = 300.0


def classify_alertmanager(response: Response) -> Verdict:
    """Alertmanager's answers: 200 delivered; 400 (and 422) a validation error, rejected with
    Alertmanager's own message (a JSON string, or ``{"code", "message"}``); the rest as usual."""
    if response.status in (400, 422):
        body = response.json()
        message = body.get("message") if isinstance(body, dict) else body
        text = message if isinstance(message, str) else response.text()
        return Verdict(Outcome.REJECTED, None, f"Alertmanager rejected the alerts (HTTP {response.status}): {text}")
    return classify_response(response)


def _endpoint(base: str) -> str:
    """``http://am:9093`` (or one with a route prefix) → its ``/api/v2/alerts``; a URL that
    already names the endpoint is kept."""
    base = base.rstrip("/")
    return base if base.endswith(API_PATH) else base + API_PATH


def _register_url(url: str) -> None:
    """A bare ``http://am-1:9093`` is no credential, and registering it would mask every peer's
    name in ``tocsin sinks``; a URL with a path, query or user info may carry one."""
    parts = urllib.parse.urlsplit(url)
    if "@" in parts.netloc or parts.query or parts.path.strip("/") not in ("", API_PATH.strip("/")):
        register_secret(url)
        register_secret(_endpoint(url))


def peer_destinations(
    settings: SinkSettings, urls: list[str], render: Any, headers: Mapping[str, str]
) -> list[Destination]:
    """One delivery engine per peer, each with NetworkSink's common settings (the one place
    that knows how the engine is built; see tocsin.delivery.NetworkSink for the settings)."""
    options = destination_settings(settings)
    destinations = []
    for url in urls:
        destination = Destination(settings.name, _endpoint(url), render, classify=classify_alertmanager,
                                  headers=headers, max_batch=AlertmanagerSink.max_batch, **options)
        destination.target = redact_url(url)  # the peer as configured: "http://am-1:9093/", not ".../***"
        destinations.append(destination)
    return destinations


class AlertmanagerSink:
    """Posts alerts to Prometheus Alertmanager's API v2; see the package docstring.

    Each peer in ``urls`` has its own queue, thread and retries (a
    :class:`tocsin.delivery.Destination`), so a peer that is down or slow delays nobody: not
    the caller, not the local sinks, not the other peers.
    """

    max_batch: Final = 100
    """Alerts in one POST at most (Alertmanager takes an array; Prometheus sends 64 by default)."""

    def __init__(self, settings: SinkSettings) -> None:
        self.name = settings.name
        self.project = settings.project
        self.urls = self._read_urls(settings)
        self.label_keys = self._read_list(settings, "labels")
        self.resolve_after = settings.get_duration("resolve_after", _DEFAULT_RESOLVE_AFTER)
        if self.resolve_after <= 0:  # endsAt = startsAt: Alertmanager would take every alert as resolved
            settings.problem("resolve_after", "must be more than 0 s")
            self.resolve_after = _DEFAULT_RESOLVE_AFTER
        self.generator_url = settings.get_str("generator_url")
        self._headers = self._read_auth(settings)
        self.destinations = peer_destinations(settings, self.urls, self.render, self._headers)

    # -- settings ----------------------------------------------------------------------------

    @staticmethod
    def _read_list(settings: SinkSettings, key: str) -> list[str]:
        if key not in settings:
            return []
        value = settings[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            settings.problem(key, f"expected a list of strings, got {value!r}"[:200])
            return []
        return [settings.expand(key, v) for v in value]

    def _read_urls(self, settings: SinkSettings) -> list[str]:
        urls = [settings.get_str("url"), *self._read_list(settings, "urls")]
        valid: list[str] = []
        for url in urls:
            url = url.strip()
            if not url:
                continue
            _register_url(url)  # before anything can log it
            if not url.startswith(("https://", "http://")):
                settings.problem("urls", f"expected http:// or https:// URLs, got {redact_url(url)}")
            elif url not in valid:
                valid.append(url)
        return valid

    @staticmethod
    def _read_auth(settings: SinkSettings) -> dict[str, str]:
        token = settings.get_str("bearer_token")
        basic = settings.get_str_map("basic_auth")
        if token and basic:
            settings.problem("basic_auth", "give bearer_token or basic_auth, not both")
        if token:
            register_secret(token)
            value = f"Bearer {token}"
        elif basic:
            unknown = set(basic) - {"username", "password"}
            if unknown:
                settings.problem("basic_auth", f"unknown keys {sorted(unknown)} (expected username, password)")
            register_secret(basic.get("password", ""))
            pair = f"{basic.get('username', '')}:{basic.get('password', '')}".encode()
            value = "Basic " + base64.b64encode(pair).decode("ascii")
        else:
            return {}
        register_secret(value)
        return {"Authorization": value}

    # -- the wire ----------------------------------------------------------------------------

    def render(self, alerts: list[Alert]) -> list[Message]:
        """All pending alerts as one JSON array: one POST per batch."""
        now = _dt.datetime.now(_dt.timezone.utc)
        body = [
            alert_payload(a, project=self.project, label_keys=self.label_keys, resolve_after=self.resolve_after,
                          generator_url=self.generator_url, now=now)
            for a in alerts
        ]
        return [Message(json.dumps(body, ensure_ascii=False).encode("utf-8"), count=len(alerts))]

    # -- hooks -------------------------------------------------------------------------------

    @hookimpl
    def alert_emitted(self, alert: Alert) -> None:
        for destination in self.destinations:
            destination.submit(alert)

    @hookimpl
    def sink_flush(self, timeout: float) -> bool:
        # The peers deliver in parallel (a thread each): waiting for them one after the other
        # against one deadline costs no more than the slowest.
        deadline = time.monotonic() + timeout
        flushed = [d.flush(max(0.0, deadline - time.monotonic())) for d in self.destinations]  # every one
        return all(flushed)

    @hookimpl
    def sink_close(self) -> None:
        for destination in self.destinations:
            destination.close()

    @hookimpl
    def sink_status(self) -> dict[str, object]:
        if not self.destinations:
            return {"configured": False}
        peers = [self._peer_status(url, d) for url, d in zip(self.urls, self.destinations, strict=True)]
        errors = [f"{p['target']}: {p['last_error']}" for p in peers if p["last_error"]]
        return {
            "configured": True,
            # One line per peer in `tocsin sinks` and `tocsin test`, which print the target.
            "target": "; ".join(f"{p['target']} ({p['state']})" for p in peers),
            "pending": sum(int(p["pending"]) for p in peers),
            "delivered": sum(int(p["delivered"]) for p in peers),
            "failed": sum(int(p["failed"]) for p in peers),
            "dropped": sum(int(p["dropped"]) for p in peers),
            "gone": any(p["gone"] for p in peers),
            "last_error": "; ".join(errors) or None,
            "peers": peers,
        }

    @staticmethod
    def _peer_status(url: str, destination: Destination) -> dict[str, Any]:
        status = destination.status()
        pending, delivered, failed = status["pending"], status["delivered"], status["failed"]
        state = f"{delivered} delivered, {pending} pending, {failed} failed"
        if status["retries"]:
            state += f", {status['retries']} retries"
        return {
            "target": redact_url(url),
            "state": state,
            "pending": pending,
            "delivered": delivered,
            "messages": status["messages"],
            "failed": failed,
            "retries": status["retries"],
            "dropped": status["dropped"],
            "gone": status["gone"],
            "last_error": status["last_error"],
        }
