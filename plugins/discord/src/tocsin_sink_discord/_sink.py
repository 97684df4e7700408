"""The Discord sink: rendering and Discord's reading of answers; delivery is tocsin's."""

from __future__ import annotations

import json

from tocsin import Alert, SinkSettings
from tocsin.delivery import Message, NetworkSink, Outcome, Response, Verdict, classify_response

from ._render import render_messages

__all__ = ["DiscordSink"]


class DiscordSink(NetworkSink):
    """Posts alerts to a Discord webhook; see the package docstring."""

    default_max_concurrency = 1  # paced by the service's own headers: one request at a time
    max_batch = 50  # five full messages per round: later alerts coalesce in the next

    def configure(self, settings: SinkSettings) -> None:
        self.display_name = settings.display_name()

    def render(self, alerts: list[Alert]) -> list[Message]:
        return [
            Message(json.dumps(p, ensure_ascii=False).encode("utf-8"), count=len(p["embeds"]))
            for p in render_messages(alerts, self.display_name)
        ]

    def classify(self, response: Response) -> Verdict:
        # 404 "Unknown Webhook" (10015) and 401 "Invalid Webhook Token" (50027): the webhook is
        # gone, and Discord asks clients to stop sending to it.
        if response.status in (401, 404):
            return Verdict(Outcome.GONE, None, response.summary())
        return classify_response(response)
