"""`python -m bot [run|backup PATH|check|demo]`: run Archivist, or operate on its database."""

from __future__ import annotations

import argparse
import asyncio
import sys

import aiohttp
import discord
from dotenv import load_dotenv

from bot.config import ConfigError, Settings


def fail(message: str) -> int:
    print(f"archivist: {message}", file=sys.stderr)
    return 1


def run(settings: Settings) -> int:
    from bot import logging_setup
    from bot.app import Archivist

    token = settings.require_token()
    logging_setup.configure(settings.log_level, settings.log_dir, token)

    async def main() -> None:
        bot = Archivist(settings)
        async with bot:
            await bot.start(token)

    try:
        asyncio.run(main())
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
    except KeyboardInterrupt:
        return 0
    return 0


async def backup(settings: Settings, target: str) -> int:
    from bot.storage.db import Database

    if not settings.database_path.exists():
        return fail(f"there is no database at {settings.database_path} (DATABASE_PATH).")
    db = Database(settings.database_path)
    await db.open()
    try:
        await db.backup_to(target)
    finally:
        await db.close()
    print(f"Backed up {settings.database_path} to {target}.")
    return 0


async def check(settings: Settings) -> int:
    from bot.storage.db import Database, migrations

    if not settings.database_path.exists():
        return fail(f"there is no database at {settings.database_path} (DATABASE_PATH).")
    db = Database(settings.database_path)
    await db.open(target_version=0)  # read-only as far as the schema goes: do not migrate here
    try:
        integrity = [r[0] for r in await db.fetchall("PRAGMA integrity_check")]
        version = await db.user_version()
    finally:
        await db.close()
    latest = migrations()[-1][0]
    print(f"database: {settings.database_path}")
    print(f"integrity: {', '.join(integrity)}")
    print(
        f"schema version: {version} of {latest}"
        + (" (up to date)" if version == latest else " (will upgrade at next start)")
    )
    return 0 if integrity == ["ok"] and version <= latest else 1


def main(argv: list[str] | None = None) -> int:
    load_dotenv()
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Run Archivist or look after its data."
    )
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="run the bot (the default)")
    backup_parser = sub.add_parser("backup", help="copy the database consistently, even while the bot runs")
    backup_parser.add_argument("path")
    sub.add_parser("check", help="integrity check and migration status of the database")
    sub.add_parser("demo", help="a scripted community against the simulator, no token needed")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        if args.command == "backup":
            return asyncio.run(backup(settings, args.path))
        if args.command == "check":
            return asyncio.run(check(settings))
        if args.command == "demo":
            from bot.demo import main as demo_main

            return demo_main()
        return run(settings)
    except ConfigError as exc:
        return fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
