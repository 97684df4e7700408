"""Everything tocsin keeps for the callers of the seed helper, in one place.

tocsin grew out of a single-module helper (AtoCore's ``alerts.py``) whose behaviour is a
compatibility contract. The rules that exist only because the seed had them live here, and
nowhere else in core names a first-party sink:

* the environment variables ``ATOCORE_ALERT_LOG`` (the alert log's path) and
  ``ATOCORE_ALERT_WEBHOOK`` (one webhook URL, routed to the sink that speaks its service);
  ``ATOCORE_BASE_URL`` is accepted and unused, as it was by the seed;
* the project ``atocore`` and the display name "AtoCore" in chat messages;
* the severity emoji of the seed's Discord message;
* the shapes of Discord and Slack webhook URLs (for routing and for redaction).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from ._severity import Severity

__all__ = [
    "DISCORD_WEBHOOK_PATH",
    "SEED_DISPLAY_NAME",
    "SEED_PROJECT",
    "SLACK_WEBHOOK_PATH",
    "apply_seed_environment",
    "default_display_name",
    "severity_emoji",
    "webhook_kind",
]

SEED_PROJECT: Final = "atocore"
"""The seed's project name, tocsin's default, so that the state keys stay the same."""
SEED_DISPLAY_NAME: Final = "AtoCore"
"""How the seed's chat messages named the installation of the default project."""

DISCORD_WEBHOOK_PATH: Final = r"/api(?:/v\d+)?/webhooks/\d+/"
"""The path of a Discord execute-webhook URL up to its token: /api[/vN]/webhooks/{id}/."""
SLACK_WEBHOOK_PATH: Final = "/services/"
"""The path of a Slack incoming-webhook URL (on hooks.slack.com) up to its token."""

_EMOJI: Final = {
    Severity.INFO: ":information_source:",
    Severity.WARNING: ":warning:",
    Severity.CRITICAL: ":rotating_light:",
}
_DISCORD: Final = re.compile(
    rf"^https?://(?:(?:ptb|canary)\.)?discord(?:app)?\.com{DISCORD_WEBHOOK_PATH}[^/?#]+", re.IGNORECASE
)
_SLACK: Final = re.compile(r"^https?://hooks\.slack\.com/", re.IGNORECASE)


def severity_emoji(severity: Severity) -> str:
    """The seed's chat shortcode: ``:information_source:``, ``:warning:``, ``:rotating_light:``
    (Discord and Slack both render them)."""
    return _EMOJI[severity]


def default_display_name(project: str) -> str:
    """The name chat messages give the installation: "AtoCore" for the seed's project, else the project."""
    return SEED_DISPLAY_NAME if project == SEED_PROJECT else project


def webhook_kind(url: str) -> Literal["discord", "slack", "webhook"]:
    """Which sink a URL belongs to: Discord's execute-webhook URLs (discord.com, discordapp.com,
    their ptb. and canary. hosts, optional /api/vN), Slack's hooks.slack.com, else generic."""
    if _DISCORD.match(url.strip()):
        return "discord"
    if _SLACK.match(url.strip()):
        return "slack"
    return "webhook"


def apply_seed_environment(sinks: dict[str, dict[str, Any]], environ: Mapping[str, str]) -> None:
    """Route the seed's variables into the sink tables: ``ATOCORE_ALERT_LOG`` is the ``file``
    sink's ``path``; ``ATOCORE_ALERT_WEBHOOK`` the ``url`` of the discord, slack or webhook sink,
    by the URL's shape (the seed posted every alert to that one URL, shaped for Discord when it
    looked like Discord)."""
    if environ.get("ATOCORE_ALERT_LOG"):
        sinks.setdefault("file", {})["path"] = environ["ATOCORE_ALERT_LOG"]
    url = environ.get("ATOCORE_ALERT_WEBHOOK", "").strip()
    if url:
        sinks.setdefault(webhook_kind(url), {})["url"] = url
