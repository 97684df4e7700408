"""Recognising the services behind webhook URLs (for routing the seed's ATOCORE_ALERT_WEBHOOK)."""

from __future__ import annotations

import re
from typing import Final, Literal

from ._redact import DISCORD_WEBHOOK_PATH

__all__ = ["webhook_kind"]

_DISCORD: Final = re.compile(
    rf"^https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com{DISCORD_WEBHOOK_PATH}[^/?#]+", re.IGNORECASE
)
_SLACK: Final = re.compile(r"^https?://hooks\.slack\.com/", re.IGNORECASE)


def webhook_kind(url: str) -> Literal["discord", "slack", "webhook"]:
    """Which sink a URL belongs to: Discord's execute-webhook URLs (discord.com, discordapp.com,
    their ptb. and canary. hosts, optional /api/vN), Slack's hooks.slack.com, else generic."""
    if _DISCORD.match(url.strip()):
        return "discord"
    if _SLACK.match(url.strip()):
        return "slack"
    return "webhook"
