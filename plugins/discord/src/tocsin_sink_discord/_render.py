"""Alerts → Discord execute-webhook payloads, within every documented limit."""

from __future__ import annotations

from collections import Counter
from typing import Any, Final

from tocsin import Alert, Severity, context_value_text
from tocsin.delivery import severity_emoji, truncate

__all__ = ["LIMITS", "render_messages"]

# https://discord.com/developers/docs/resources/message#embed-object-embed-limits
LIMITS: Final = {
    "content": 2000, "embeds": 10, "title": 256, "description": 4096, "fields": 25,
    "field_name": 256, "field_value": 1024, "total": 6000,
}
COLOUR: Final = {Severity.INFO: 0x3498DB, Severity.WARNING: 0xF1C40F, Severity.CRITICAL: 0xE74C3C}
RESOLVED_COLOUR: Final = 0x2ECC71  # green
RESOLVED_EMOJI: Final = ":white_check_mark:"
_NOTE_ROOM: Final = 20  # "…" + "NN more keys"
_MIN_FIELD: Final = 24  # below this a field says nothing useful
NO_MENTIONS: Final[dict[str, list[str]]] = {"parse": []}


def _fit(text: str, limit: int) -> str:
    # Discord counts after trimming whitespace, and refuses empty names and values.
    return truncate(text.strip(), max(1, limit)).strip() or "—"


def _embed(alert: Alert, budget: int, with_title: bool) -> tuple[dict[str, Any], int]:
    """One alert's embed and the characters it counts against the 6000 total, at most ``budget``."""
    colour = RESOLVED_COLOUR if alert.resolved else COLOUR[alert.severity]
    embed: dict[str, Any] = {"timestamp": alert.timestamp.isoformat(), "color": colour}
    used = 0
    if with_title:
        title = _fit(f"{_label(alert)}: {alert.title}", min(LIMITS["title"], budget // 4))
        embed["title"] = title
        used += len(title)
    repeats = alert.repeats_text()
    if repeats:  # "repeated 59 times since …": the alerts repeat suppression held back
        embed["footer"] = {"text": repeats}
        used += len(repeats)
    items = list(alert.context.items())
    # The message gets the larger share; the context fields what it leaves (at least a third when
    # there is context).
    share = budget - used - (min(budget // 3, 60 * len(items)) if items else 0)
    description = _fit(alert.message, min(LIMITS["description"], max(1, share)))
    embed["description"] = description
    used += len(description)
    fields = []
    room = budget - used - _NOTE_ROOM  # keep room to say how many keys did not fit
    if items:
        shown = min(len(items), LIMITS["fields"], max(0, room // _MIN_FIELD))
        if shown < len(items):
            shown = min(shown, LIMITS["fields"] - 1)  # the last field says what is missing
        per_field = room // max(1, shown)
        for key, value in items[:shown]:
            name = _fit(key, min(LIMITS["field_name"], max(1, per_field // 4)))
            value_text = _fit(context_value_text(value), min(LIMITS["field_value"], max(1, per_field - len(name))))
            fields.append({"name": name, "value": value_text, "inline": True})
            used += len(name) + len(value_text)
        if shown < len(items):
            note = f"{len(items) - shown} more keys"
            fields.append({"name": "…", "value": note, "inline": True})
            used += 1 + len(note)
    if fields:
        embed["fields"] = fields
    return embed, used


def _label(alert: Alert) -> str:
    return "RESOLVED" if alert.resolved else alert.severity.value.upper()


def render_messages(alerts: list[Alert], display_name: str) -> list[dict[str, Any]]:
    """Payloads for ``alerts``, oldest first: one alert alone keeps the seed's shape; several go
    up to 10 per message, one embed each, the 6000-character total shared between them."""
    payloads = []
    for start in range(0, len(alerts), LIMITS["embeds"]):
        group = alerts[start : start + LIMITS["embeds"]]
        budget = LIMITS["total"] // len(group)
        embeds = [_embed(a, budget, with_title=len(group) > 1)[0] for a in group]
        if len(group) == 1:
            a = group[0]
            if a.resolved:
                content = f"{RESOLVED_EMOJI} **{display_name}** RESOLVED: {a.title}"
            else:
                content = f"{severity_emoji(a.severity)} **{display_name} {a.severity.value}**: {a.title}"
        else:
            firing = [a for a in group if not a.resolved]
            emoji = severity_emoji(max(a.severity for a in firing)) if firing else RESOLVED_EMOJI
            counts = Counter(a.severity for a in firing)
            parts = [f"{counts[s]} {s.value}" for s in sorted(counts, reverse=True)]
            if len(firing) < len(group):
                parts.append(f"{len(group) - len(firing)} resolved")
            content = f"{emoji} **{display_name}**: {len(group)} alerts ({', '.join(parts)})"
        payloads.append({
            "content": _fit(content, LIMITS["content"]),
            "embeds": embeds,
            "allowed_mentions": NO_MENTIONS,
        })
    return payloads
