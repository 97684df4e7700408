"""tocsin-sink-slack: alerts to a Slack channel through an incoming-webhook URL.

Each alert is Block Kit — a header, the message, the context as fields, and a context line —
with a ``text`` fallback for notifications. Alerts that arrive faster than Slack's one message
per second are coalesced, up to ten per message within the 50-block limit. Alert text has
``&``, ``<`` and ``>`` escaped (and nothing else), so ``<!channel>`` or ``<@U…>`` in an alert
mentions nobody. Slack answers ``200 ok`` on success and plain-text errors otherwise, which
are reported verbatim; a revoked hook or archived channel stops the sink for the process.

Settings (``[sinks.slack]``): ``url``, ``display_name``, ``min_interval`` (default 1 s), and
every :class:`tocsin.delivery.NetworkSink` setting.
"""

from __future__ import annotations

from ._render import escape, render_messages
from ._sink import SlackSink

__all__ = ["SlackSink", "escape", "render_messages"]
