"""The HTML dossier in a real browser (headless Chromium through Playwright): it loads nothing from the
network, runs no script whatever members wrote, its contents and #N links land on their targets, and
it renders on screen and on paper (a screenshot and a PDF are saved to look at)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from cogs.research.export import render
from tests.domain.test_dossier_seed import seed_dossier
from tests.tools import require_program

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("ARCHIVIST_SHOTS", "/tmp"))  # where a person can look at the pictures
CSP = '<meta http-equiv="Content-Security-Policy"'

# What the page may look like from inside: no script, no handler, nothing loaded, nothing hidden.
PROBE = """() => ({
  scripts: document.scripts.length,
  handlers: [...document.querySelectorAll('*')].flatMap(el => [...el.attributes])
      .filter(a => a.name.startsWith('on')).map(a => a.name),
  loaders: document.querySelectorAll('img, iframe, object, embed, svg, video, audio, link, base, form').length,
  styles: document.querySelectorAll('style').length,
  title: document.title,
  hrefs: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.rel]),
  broken: [...document.querySelectorAll('a[href^="#"]')].map(a => a.getAttribute('href'))
      .filter(h => !document.getElementById(h.slice(1))),
  visible: getComputedStyle(document.body).display,
})"""


@pytest.fixture
async def chromium():
    executable = require_program("chromium")
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=executable, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


async def open_page(browser, path: Path):
    """A page that records every request and dialog, refusing anything but the file itself."""
    context = await browser.new_context(viewport={"width": 1000, "height": 900})
    page = await context.new_page()
    seen: dict[str, list[str]] = {"requests": [], "dialogs": [], "console": []}

    async def only_the_file(route):
        if route.request.url == path.as_uri():
            await route.continue_()
        else:
            await route.abort()

    await context.route("**/*", only_the_file)
    page.on("request", lambda request: seen["requests"].append(request.url))

    async def dialog(dialog):  # an alert() would block the page: record it and close it
        seen["dialogs"].append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", dialog)
    page.on("console", lambda message: seen["console"].append(message.text))
    await page.goto(path.as_uri(), wait_until="load", timeout=15_000)
    await page.wait_for_timeout(300)  # let anything that would run, run
    return page, seen


def write(tmp_path: Path, html: str, name: str) -> Path:
    path = tmp_path / name
    path.write_text(html, encoding="utf-8")
    return path


async def test_the_dossier_loads_nothing_and_runs_nothing(chromium, tmp_path):
    name, html = render(seed_dossier(), "html")
    assert CSP in html
    # Once as exported, once without its Content-Security-Policy: escaping alone must hold too.
    bare = html.replace(html[html.index(CSP) : html.index(">", html.index(CSP)) + 1], "")
    for path in (write(tmp_path, html, name), write(tmp_path, bare, "no-csp.html")):
        page, seen = await open_page(chromium, path)
        found = await page.evaluate(PROBE)
        assert seen["requests"] == [path.as_uri()], seen["requests"]  # no font, image, favicon, prefetch
        assert seen["dialogs"] == [] and seen["console"] == []
        assert found["scripts"] == 0 and found["handlers"] == [] and found["loaders"] == 0
        assert found["styles"] == 1 and found["visible"] == "block"
        assert found["title"] == "1924-01 · Lenin's Death and Stalin's Rise to Power — research dossier"
        assert found["broken"] == []
        for href, rel in found["hrefs"]:
            assert href.startswith(("#", "https://", "http://")), href
            if not href.startswith("#"):
                assert rel == "noopener noreferrer nofollow", href
        # The hostile contribution is there, as text.
        text = await page.inner_text("#c7")
        assert "<script>document.title='pwned'</script>" in text and "[click me](javascript:alert(6))" in text
        assert '<script>alert("name")</script>' in await page.inner_text("#c7 .byline")
        await page.context.close()


async def test_contents_and_reply_links_land_on_their_contribution(chromium, tmp_path):
    name, html = render(seed_dossier(), "html")
    page, _ = await open_page(chromium, write(tmp_path, html, name))
    for link, target in (("nav.toc a[href='#c6']", "#c6"), ("#c1 .replies a[href='#c2']", "#c2")):
        await page.click(link)
        assert await page.evaluate("location.hash") == target
        top = await page.evaluate(f"document.querySelector('{target}').getBoundingClientRect().top")
        assert abs(top) < 5, (target, top)  # scrolled to it
    await page.click("#c2 .cites a[href='#s3']")
    assert "Nadezhda_Krupskaya" in await page.inner_text("#s3")
    await page.context.close()


async def test_screenshot_and_print(chromium, tmp_path):
    name, html = render(seed_dossier(), "html")
    page, _ = await open_page(chromium, write(tmp_path, html, name))
    shot = await page.screenshot(full_page=True, path=tmp_path / "dossier.png")
    assert shot.startswith(b"\x89PNG") and len(shot) > 20_000
    pdf = await page.pdf(format="A4", print_background=False)
    # On paper: the cover and contents, then the contributions, then the bibliography on a page of its own.
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) >= 3
    await page.emulate_media(media="print")
    printed = await page.screenshot(full_page=True)
    try:
        (SHOTS / "dossier-shot.png").write_bytes(shot)
        (SHOTS / "dossier-print.png").write_bytes(printed)
        (SHOTS / "dossier.pdf").write_bytes(pdf)
    except OSError:
        pass  # only a convenience for people looking at it
    await page.context.close()
