#!/usr/bin/env python3
"""The README's pictures, made from the real bot: `python3 tasks.py screenshots`.

Plays the demo community of bot.demo_world through the real bot in simcord (no token, no network), then
photographs what members see with simcord's preview in Debian's Chromium (Playwright, `executable_path`):

    docs/screenshots/card.png     the status card: the starter message of an episode's forum post
    docs/screenshots/review.png   Veles's request to write, with Approve and Decline, in the review channel
    docs/screenshots/digest.png   the Monday digest in the announcements channel
    docs/screenshots/dossier.png  the research dossier: `/research export format:html`, opened in Chromium

Each picture is cropped to the message (or to the dossier down to its bibliography). The script refuses
to write a picture that shows a raw mention or timestamp (`<@…>`, `<#…>`, `<t:…>`). Run it again
whenever the bot's messages change: `--out DIR` writes elsewhere (the tests use that).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout: `python scripts/screenshots.py`

from bot.demo_world import LENIN, Community, seed, show_mentions_in_embeds  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDTH, HEIGHT = 1100, 1000  # the preview's window; its channel pane is about 840 pixels wide
DOSSIER_WIDTH = 900
READY = "() => window.simcordPreview && window.simcordPreview.ready === true"

# The message's own extent: its text and anything it draws (embed, buttons), not the empty row beside it.
MESSAGE_BOX = """(id) => {
  const message = document.querySelector(`.channel-message[data-message-id="${id}"]`);
  if (!message) return null;
  message.scrollIntoView({block: "start"});
  const box = message.getBoundingClientRect();
  let right = box.left;
  const range = document.createRange();
  const texts = document.createTreeWalker(message, NodeFilter.SHOW_TEXT);
  while (texts.nextNode()) {
    range.selectNodeContents(texts.currentNode);
    for (const rect of range.getClientRects()) if (rect.width) right = Math.max(right, rect.right);
  }
  for (const element of message.querySelectorAll("*")) {
    if (element.closest(".message-context-actions")) continue;  // the hover toolbar, not the message
    const style = getComputedStyle(element);
    const drawn = style.backgroundColor !== "rgba(0, 0, 0, 0)" || style.borderLeftWidth !== "0px"
      || element.matches("button, img, svg");
    const rect = element.getBoundingClientRect();
    if (drawn && rect.width) right = Math.max(right, rect.right);
  }
  return {x: box.left, y: box.top, width: Math.min(box.right, right + 16) - box.left,
          height: box.height, text: message.innerText};
}"""
RAW = ("<@", "<#", "<t:")


def chromium_path() -> str | None:
    return shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


async def shoot_message(env: Any, browser: Any, channel: Any, message: Any, viewer: Any, path: Path) -> None:
    """One message as `viewer` sees it in simcord's preview of `channel`, cropped to the message."""
    async with env.preview(
        channel, viewers=[viewer], layout="channel", width=WIDTH - 256, height=HEIGHT
    ) as preview:
        await preview.show(message)
        page = await browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        try:
            await page.goto(preview.url)
            await page.wait_for_function(READY, timeout=30_000)
            await page.evaluate("document.fonts.ready")
            box = await page.evaluate(MESSAGE_BOX, str(message.id))
            if box is None:
                raise RuntimeError(f"{path.name}: the preview did not show the message")
            if raw := [marker for marker in RAW if marker in box["text"]]:
                raise RuntimeError(f"{path.name}: the picture would show raw Discord markup {raw}")
            clip = {key: box[key] for key in ("x", "y", "width", "height")}
            await page.screenshot(path=str(path), clip=clip, animations="disabled", caret="hide")
        finally:
            await page.close()


async def shoot_dossier(browser: Any, html_file: Path, path: Path) -> None:
    """The HTML dossier as a browser shows it, from its top down to the end of its bibliography."""
    page = await browser.new_page(viewport={"width": DOSSIER_WIDTH, "height": 1200})
    try:
        await page.route("**/*", lambda route: _only_file(route, html_file))
        await page.goto(html_file.as_uri(), wait_until="load")
        bottom = await page.evaluate(
            "() => { const s = document.querySelector('#bibliography') || document.body;"
            " return s.getBoundingClientRect().bottom + window.scrollY; }"
        )
        clip = {"x": 0, "y": 0, "width": DOSSIER_WIDTH, "height": int(bottom) + 24}
        await page.screenshot(path=str(path), clip=clip, full_page=True)
    finally:
        await page.close()


async def _only_file(route: Any, html_file: Path) -> None:
    """The dossier loads nothing but itself; anything else it asked for would be a bug, and is refused."""
    if route.request.url == html_file.as_uri():
        await route.continue_()
    else:
        await route.abort()


async def export_dossier(c: Community, folder: Path) -> Path:
    result = await c.veles.slash(c.general, "research export", episode=LENIN[0], format="html")
    files = list(result.response.attachments) if result.response is not None else []
    files += [attachment for followup in result.followups for attachment in followup.attachments]
    if not files:
        raise RuntimeError("/research export answered without a file")
    return write(folder / files[0].filename, await files[0].read())


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def starter_message(c: Community, code: str) -> Any:
    """The first message of an episode's forum post: the call for research and the status card."""
    return min((m for m in c.thread(code).history() if m.author.bot), key=lambda m: m.id)


async def make(out: Path, chromium: str) -> list[Path]:
    import simcord
    from playwright.async_api import async_playwright

    from bot import create_bot

    with tempfile.TemporaryDirectory(prefix="archivist-shots-") as work:
        folder = Path(work)
        os.environ["DATABASE_PATH"] = str(folder / "shots.sqlite3")
        os.environ.setdefault("LOG_DIR", "")
        show_mentions_in_embeds()
        bot = create_bot()
        written: list[Path] = []
        async with simcord.run(bot, check_errors=False) as env, async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            try:
                c = await seed(env)
                dossier = await export_dossier(c, folder)
                shots = [
                    ("card.png", c.thread(LENIN[0]), starter_message(c, LENIN[0]), c.veles),
                    ("review.png", c.review, c.review.last_message, c.indy),
                    ("digest.png", c.announcements, c.announcements.last_message, c.indy),
                ]
                for name, channel, message, viewer in shots:
                    if message is None:
                        raise RuntimeError(f"{name}: the bot posted nothing to photograph")
                    await shoot_message(env, browser, channel, message, viewer, out / name)
                    written.append(out / name)
                await shoot_dossier(browser, dossier, out / "dossier.png")
                written.append(out / "dossier.png")
            finally:
                await browser.close()
                await env.bot.close()
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="where to write")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    chromium = chromium_path()
    if chromium is None:
        print("The screenshots need Chromium: sudo apt-get install chromium (Debian/Ubuntu).")
        return 1
    try:
        import playwright  # noqa: F401
        import simcord  # noqa: F401
    except ImportError:
        print("The screenshots need the test tools: python3 tasks.py test installs them into .venv.")
        return 1
    for path in asyncio.run(make(args.out, chromium)):
        print(f"{path} written")
    return 0


if __name__ == "__main__":
    sys.exit(main())
