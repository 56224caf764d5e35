"""`python -m bot [run|backup PATH|check|demo]` (installed as `archivist`): run Archivist, or look after its
database."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import logging
import sqlite3
import sys
from pathlib import Path

import aiohttp
import discord
from dotenv import load_dotenv

from bot.config import ConfigError, Settings


def fail(message: str) -> int:
    print(f"archivist: {message}", file=sys.stderr)
    return 1


def run(settings: Settings) -> int:
    from bot import logging_setup
    from bot.app import create_bot
    from bot.core.db import DatabaseFileError

    token = settings.require_token()
    try:
        logging_setup.configure(settings.log_level, settings.log_dir, token)
    except OSError as exc:
        return fail(f"the log folder {settings.log_dir} can't be used ({exc.strerror or exc}): set LOG_DIR.")

    async def main() -> None:
        bot = create_bot(settings)
        # SIGTERM (a service manager's stop) and SIGINT (Ctrl+C) stop it cleanly: no new work, running
        # commands finish (a few seconds at most), deliveries are recorded, the database is closed; exit 0.
        bot.stop_on_signals(starting=asyncio.current_task())
        try:
            # The database first: a file that can't be used is told as itself, before Discord is asked
            # anything (and without a word written to it).
            await bot.services.db.open()
            await bot.start(token)  # returns once a stop has closed the connection
        except Exception:
            if not bot.stopping:
                raise
            # Stopped while starting: what the stop closed under the start does not matter.
            logging.getLogger("bot").info("start-up ended by the stop", exc_info=True)
        finally:
            await bot.close()  # waits for a stop under way to finish (the database is closed last)

    try:
        asyncio.run(main())
    except DatabaseFileError as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        return fail(f"the database {settings.database_path} could not be used ({exc}).")
    except discord.LoginFailure:
        return fail(
            "Discord refused the token (DISCORD_TOKEN): reset it in the Developer Portal → Bot and update .env."
        )
    except discord.PrivilegedIntentsRequired:
        return fail(
            "Discord refused the connection: enable the Server Members and Message Content intents "
            "in the Developer Portal → Bot → Privileged Gateway Intents."
        )
    except (aiohttp.ClientConnectionError, OSError, TimeoutError) as exc:
        return fail(f"Discord could not be reached ({type(exc).__name__}); check the network and try again.")
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    return 0


def _backup_target(target: str, source: Path) -> Path:
    """Where a backup goes: a new file (a backup never overwrites anything), in a folder that exists."""
    from bot.core.db import DatabaseFileError

    path = Path(target)
    if path.is_dir():
        raise DatabaseFileError(
            f"{path} is a folder: give the backup a file name, e.g. {path / 'backup.sqlite3'}."
        )
    if path.exists() or path.resolve() == source.resolve():
        raise DatabaseFileError(
            f"{path} already exists: a backup never overwrites a file, so give a new name."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseFileError(
            f"the folder for the backup, {path.parent}, can't be created ({exc.strerror or exc})."
        ) from exc
    return path


async def backup(settings: Settings, target: str) -> int:
    from bot.core.db import Database, DatabaseFileError, inspect_file

    source = settings.database_path
    if not source.is_dir() and not source.exists():
        return fail(f"there is no database at {source} (DATABASE_PATH).")
    db = Database(source)
    try:
        await asyncio.to_thread(inspect_file, source)  # what stops `run` stops a backup too
        path = _backup_target(target, source)
        await db.open(read_only=True)
        await db.backup_to(path)
    except DatabaseFileError as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        return fail(f"the backup to {target} failed ({exc}); the database was left as it is.")
    finally:
        await db.close()
    print(f"Backed up {source} to {path}.")
    return 0


async def check(settings: Settings) -> int:
    from bot.core.db import Database, DatabaseFileError, inspect_file, latest_version

    path = settings.database_path
    if not path.is_dir() and not path.exists():
        return fail(f"there is no database at {path} (DATABASE_PATH).")
    db = Database(path)
    try:
        await asyncio.to_thread(inspect_file, path)  # what would stop `run`, said first
        await db.open(read_only=True)  # nothing is written: no log mode change, no migration
        integrity = [r[0] for r in await db.fetchall("PRAGMA integrity_check(20)")]
        version = await db.user_version()
    except DatabaseFileError as exc:
        return fail(str(exc))
    except sqlite3.Error as exc:
        return fail(f"the database {path} could not be checked ({exc}); it was left as it is.")
    finally:
        await db.close()
    latest = latest_version()
    print(f"database: {path}")
    print(f"integrity: {', '.join(integrity)}")
    print(
        f"schema version: {version} of {latest}"
        + (" (up to date)" if version == latest else " (will upgrade at next start)")
    )
    if integrity != ["ok"]:
        return fail(f"the database {path} is damaged (integrity check above): restore a backup.")
    return 0


def demo_missing() -> str | None:
    """Why the demo can't run here (the simulator is not installed), or None."""
    if importlib.util.find_spec("simcord") is not None:
        return None
    return (
        "the demo needs the Discord simulator, which this installation leaves out: "
        "run `python3 tasks.py demo` in the project folder, or `pip install 'archivist[demo]'`."
    )


def main(argv: list[str] | None = None) -> int:
    """`python -m bot …`, installed as the `archivist` command."""
    load_dotenv()
    prog = "archivist" if Path(sys.argv[0]).name.startswith("archivist") else "python -m bot"
    parser = argparse.ArgumentParser(prog=prog, description="Run Archivist or look after its data.")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    backup_parser = sub.add_parser("backup", help="copy the database consistently, even while the bot runs")
    backup_parser.add_argument("path")
    sub.add_parser("check", help="integrity check and migration status of the database")
    demo_parser = sub.add_parser("demo", help="a scripted community against the simulator, no token needed")
    demo_parser.add_argument(
        "--browser", action="store_true", help="serve the simulated server in your browser to try it yourself"
    )
    demo_parser.add_argument("--port", type=int, default=None, help="with --browser: the loopback port")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "backup":
            return asyncio.run(backup(settings, args.path))
        if args.command == "check":
            return asyncio.run(check(settings))
        if args.command == "demo":
            if (missing := demo_missing()) is not None:
                return fail(missing)
            from bot.demo import main as demo_main

            return demo_main(browser=args.browser, port=args.port)
        return run(settings)
    except ConfigError as exc:
        return fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
