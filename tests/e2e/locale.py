"""Members who use Discord in another language: their interactions carry that `locale`.

simcord builds every interaction with `locale: "en-US"`, where Discord sends the member's client
language. `speaks(monkeypatch, member, "de")` makes that member's interactions (slash commands,
autocomplete, clicks) carry the given locale, as Discord would; other members keep "en-US".
"""

from __future__ import annotations

import simcord.interactions


def speaks(monkeypatch, member, locale: str) -> None:
    """From now on in this test, `member`'s interactions carry `locale` (e.g. "en-GB", "de", "pl")."""
    real = simcord.interactions.base_payload
    chosen: dict[int, str] = getattr(real, "locales", None) or {}
    if not hasattr(real, "locales"):

        def base_payload(*args, **kwargs):
            record, payload = real(*args, **kwargs)
            if kwargs.get("user_id") in chosen:
                payload["locale"] = chosen[kwargs["user_id"]]
            return record, payload

        base_payload.locales = chosen  # type: ignore[attr-defined]
        monkeypatch.setattr(simcord.interactions, "base_payload", base_payload)
    chosen[member.id] = locale
