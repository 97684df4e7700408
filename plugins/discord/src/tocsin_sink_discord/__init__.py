"""tocsin-sink-discord: alerts to a Discord channel through an execute-webhook URL.

The message is the seed's — content ``"{emoji} **{name} {severity}**: {title}"``, one embed with
the message as description, the timestamp and the context as fields — plus a colour per
severity. When alerts arrive faster than Discord accepts them, up to 10 go in one message
(one embed each, within Discord's 6000-character total). Every documented limit is respected by
truncating with a visible marker; ``allowed_mentions`` is empty, so ``@everyone`` in an alert
pings nobody. A deleted webhook (404, 401) stops the sink for the process, with one critical
log event.

Settings (``[sinks.discord]``): ``url``, ``display_name`` (default: the project, "AtoCore" for
the default project as the seed wrote it), and every :class:`tocsin.delivery.NetworkSink` setting.
"""

from __future__ import annotations

from ._render import render_messages
from ._sink import DiscordSink

__all__ = ["DiscordSink", "render_messages"]
