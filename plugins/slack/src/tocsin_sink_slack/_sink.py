"""The Slack sink: rendering and Slack's reading of answers; delivery is tocsin's."""

from __future__ import annotations

import json

from tocsin import Alert, SinkSettings
from tocsin.delivery import Message, NetworkSink, Outcome, Response, Verdict, classify_response

from ._render import render_messages

__all__ = ["SlackSink"]

# Plain-text answers that mean the webhook will never work again for this process.
_GONE = frozenset({"no_service", "invalid_token", "channel_not_found", "channel_is_archived",
                   "action_prohibited", "no_active_hooks", "team_disabled"})


class SlackSink(NetworkSink):
    """Posts alerts to a Slack incoming webhook; see the package docstring."""

    default_min_interval = 1.0  # Slack: about one message per second per webhook
    default_max_concurrency = 1  # paced by the service's own headers: one request at a time
    max_batch = 50

    def configure(self, settings: SinkSettings) -> None:
        self.display_name = settings.display_name()

    def render(self, alerts: list[Alert]) -> list[Message]:
        return [
            Message(json.dumps(p, ensure_ascii=False).encode("utf-8"),
                    count=sum(b["type"] == "header" for b in p["blocks"]))  # one header per alert
            for p in render_messages(alerts, self.display_name)
        ]

    def classify(self, response: Response) -> Verdict:
        body = response.text().strip()
        if response.status == 200:
            if body in ("ok", ""):
                return Verdict(Outcome.DELIVERED)
            return Verdict(Outcome.REJECTED, None, response.summary())
        if body in _GONE:
            return Verdict(Outcome.GONE, None, response.summary())
        return classify_response(response)
