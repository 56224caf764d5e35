"""The token never reaches a log line, whatever logs it."""

from __future__ import annotations

import logging

from bot import logging_setup

TOKEN = "MTAxMjM0NTY3ODkwMTIzNDU2Nw.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"


def test_token_is_redacted_in_console_and_file(tmp_path, capsys):
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        logging_setup.configure(logging.INFO, tmp_path, TOKEN)
        logging.getLogger("discord.http").warning("login with %s failed", TOKEN)
        logging.getLogger("bot.app").info(f"token is {TOKEN}")
        for handler in logging.getLogger().handlers:
            handler.flush()
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
            handler.close()
        root.setLevel(saved[0])
        for handler in saved[1]:
            root.addHandler(handler)
    console = capsys.readouterr().err
    written = (tmp_path / "archivist.log").read_text()
    for text in (console, written):
        assert TOKEN not in text
        assert "login with [token] failed" in text and "token is [token]" in text
