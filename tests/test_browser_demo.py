"""`python -m bot demo --browser` as a newcomer uses it: the address it prints serves the lobby, a channel
opens in simcord's preview, a slash command typed in the message box is answered by the real bot, a host
clicks Approve on Veles's request, and Ctrl+C (or SIGTERM) stops it cleanly (exit 0)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest

from tests.tools import require_program

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADDRESS = re.compile(r"http://127\.0\.0\.1:\d+/[\w-]+/")
READY = "() => window.simcordPreview && window.simcordPreview.ready === true"


class Demo:
    """The demo as a child process, its output collected line by line while it runs."""

    def __init__(self, cwd) -> None:
        env = {k: v for k, v in os.environ.items() if k not in {"DISCORD_TOKEN", "DATABASE_PATH"}}
        env["LOG_DIR"] = ""
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--browser"],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self.errors: list[str] = []
        for stream, sink in ((self.process.stdout, self.lines), (self.process.stderr, self.errors)):
            threading.Thread(target=lambda s=stream, k=sink: k.extend(s), daemon=True).start()

    def address(self, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            for line in list(self.lines):
                if match := ADDRESS.search(line):
                    return match.group(0)
            time.sleep(0.1)
        raise AssertionError(f"no address printed: {''.join(self.lines)}{''.join(self.errors)[-2000:]}")

    def interrupt(self, signum: int = signal.SIGINT) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=60)
        finally:
            if self.process.poll() is None:
                self.process.kill()


def test_the_browser_demo_serves_answers_a_command_and_stops_cleanly(tmp_path):
    chromium = require_program("chromium")
    from playwright.sync_api import sync_playwright

    demo = Demo(tmp_path)
    try:
        address = demo.address()
        lobby = urllib.request.urlopen(address, timeout=10).read().decode()
        for channel in ("1924-01 Lenin's Death", "author-review", "announcements", "general"):
            assert channel in lobby.replace("&#x27;", "'")
        with pytest.raises(urllib.error.HTTPError) as refused:  # the token is the key
            urllib.request.urlopen(re.sub(r"/[\w-]+/$", "/guess/", address), timeout=10)
        assert refused.value.code == 404

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS, headless=True)
            try:
                page = browser.new_page(viewport={"width": 1100, "height": 800})
                page.goto(address)
                page.get_by_role("link", name="# general").click()
                page.wait_for_function(READY, timeout=30_000)
                people = page.get_by_label("Viewing as").locator("option").all_inner_texts()
                assert {"Veles", "Indy"} <= set(people), people  # a member or a host, as you choose
                composer = page.locator("#channel-composer-input")
                composer.click()
                composer.type("/help")
                page.get_by_text("The commands you can use, grouped").wait_for(timeout=15_000)
                composer.press("Enter")  # picks /help from the list
                page.keyboard.press("Enter")  # runs it
                answer = page.locator(".channel-message", has_text="Archivist — commands")
                answer.wait_for(timeout=15_000)
                assert "/episode volunteer" in answer.inner_text()

                page.goto(address)  # back to the lobby, on to the review channel, as Indy (a host)
                page.get_by_role("link", name="# author-review").click()
                page.wait_for_function(READY, timeout=30_000)
                request = page.locator(".channel-message", has_text="Author request")
                request.get_by_role("button", name="Approve").click()
                page.locator(".channel-message", has_text="Approved by").wait_for(timeout=15_000)
                assert "@Indy" in page.locator(".channel-message", has_text="Approved by").inner_text()
            finally:
                browser.close()
    finally:
        code = demo.interrupt()
    output = "".join(demo.lines)
    assert code == 0, "".join(demo.errors)[-3000:]
    assert "closed its database" in output
    assert "Traceback" not in "".join(demo.errors)


def test_a_service_stop_closes_it_cleanly_too(tmp_path):
    demo = Demo(tmp_path)
    try:
        demo.address()
    finally:
        code = demo.interrupt(signal.SIGTERM)
    assert code == 0, "".join(demo.errors)[-3000:]
    assert "closed its database" in "".join(demo.lines)
