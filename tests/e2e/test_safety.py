"""Hostile member text through every path that echoes it: stored exactly, never pings @everyone, @here or roles."""

from __future__ import annotations


async def test_hostile_text_is_kept_and_never_pings_everyone_or_roles(world):
    w = world
    evil = (
        f"@everyone @here <@&{w.host_role.id}> **bold** `code` \" ' \\ ; DROP TABLE episodes; -- 🎉 ünïcödé"
    )
    r = await w.host.slash(w.general, "episode create", code="EV-1", title=evil[:90], description=evil)
    assert "Created" in r.response.content
    thread = w.thread_of("EV-1")
    await w.host.slash(w.general, "episode status", episode="EV-1", status="writing", note=evil[:500])
    await w.alice.slash(w.general, "episode volunteer", episode="EV-1", pitch=evil)
    await w.alice.send(thread, evil)
    await w.alice.slash(w.general, "research search", query=evil)
    await w.alice.slash(w.general, "remind me", when="in 1 hour", text=evil)
    await w.env.advance_time(3700)
    await w.host.slash(w.general, "episode status", episode="EV-1", status="recorded")
    assert w.env.errors == []
    info = await w.alice.slash(w.general, "episode info", episode="ev-1")
    assert info.response.embeds[0].description == evil
    checked = 0
    for request in w.env.http_requests:
        body = request.json if isinstance(request.json, dict) else {}
        mentions = body.get("allowed_mentions") or (body.get("data") or {}).get("allowed_mentions")
        if mentions is not None:
            checked += 1
            assert "everyone" not in (mentions.get("parse") or []), request.path
            assert "roles" not in (mentions.get("parse") or []), request.path
            assert not mentions.get("roles"), request.path
    assert checked > 5
