"""Alerts → Slack incoming-webhook payloads (Block Kit), within every documented limit."""

from __future__ import annotations

from typing import Any, Final

from tocsin import Alert, context_value_text
from tocsin.delivery import severity_emoji, truncate

__all__ = ["LIMITS", "escape", "render_messages"]

# https://api.slack.com/reference/block-kit/blocks
LIMITS: Final = {"blocks": 50, "header": 150, "section": 3000, "fields": 10, "field": 2000,
                 "context_elements": 10, "text": 40_000}
FALLBACK_LIMIT: Final = 3000  # well under the 40 000 Slack cuts at: it is a notification line
BLOCKS_PER_ALERT: Final = 5  # header, message, fields, context, divider
RESOLVED_EMOJI: Final = ":white_check_mark:"  # Block Kit has no colour: the green is the check mark's


def escape(text: str) -> str:
    """Slack's escaping of text we did not write: only ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str, limit: int) -> str:
    """``text`` escaped, at most ``limit`` characters after escaping, never cutting an entity."""
    cut = limit
    out = escape(truncate(text, cut))
    while len(out) > limit:  # escaping grew it: cut the raw text in proportion, and again
        cut = max(0, min(cut - 1, cut * limit // len(out)))
        out = escape(truncate(text, cut))
    return out


def _alert_blocks(alert: Alert, display_name: str) -> list[dict[str, Any]]:
    # plain_text is never parsed for mentions or entities: no escaping there.
    label = "RESOLVED" if alert.resolved else alert.severity.value.upper()
    header = truncate(f"{label}: {alert.title}".strip() or "alert", LIMITS["header"])
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": header}}]
    if alert.message.strip():
        text = _mrkdwn(alert.message, LIMITS["section"])
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    items = list(alert.context.items())
    if items:
        shown = items if len(items) <= LIMITS["fields"] else items[: LIMITS["fields"] - 1]
        fields = [{"type": "mrkdwn", "text": _mrkdwn(f"*{k}*\n{context_value_text(v)}", LIMITS["field"])}
                  for k, v in shown]
        if len(shown) < len(items):
            fields.append({"type": "mrkdwn", "text": f"… {len(items) - len(shown)} more"})
        blocks.append({"type": "section", "fields": fields})
    emoji = RESOLVED_EMOJI if alert.resolved else severity_emoji(alert.severity)
    state = f"{alert.severity.value} · resolved" if alert.resolved else alert.severity.value
    line = f"{emoji} *{display_name}* · {state} · {alert.host} · {alert.timestamp_text}"
    if alert.repeats:  # the alerts repeat suppression held back
        line += f" · {alert.repeats_text()}"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _mrkdwn(line, LIMITS["section"])}]})
    return blocks


def render_messages(alerts: list[Alert], display_name: str) -> list[dict[str, Any]]:
    """Payloads for ``alerts``, oldest first: up to ten alerts per message, 50 blocks at most."""
    per_message = LIMITS["blocks"] // BLOCKS_PER_ALERT
    payloads = []
    for start in range(0, len(alerts), per_message):
        group = alerts[start : start + per_message]
        blocks: list[dict[str, Any]] = []
        for alert in group:
            if blocks:
                blocks.append({"type": "divider"})
            blocks.extend(_alert_blocks(alert, display_name))
        if len(group) == 1:
            a = group[0]
            if a.resolved:
                fallback = f"{RESOLVED_EMOJI} {display_name} RESOLVED: {a.title}"
            else:
                fallback = f"{severity_emoji(a.severity)} {display_name} {a.severity.value}: {a.title}"
        else:
            fallback = f"{len(group)} alerts from {display_name}: " + "; ".join(
                f"{'RESOLVED' if a.resolved else a.severity.value}: {a.title}" for a in group)
        payloads.append({"text": _mrkdwn(fallback, FALLBACK_LIMIT), "blocks": blocks})
    return payloads
