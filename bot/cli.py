"""The ``coach`` command: advice from a profile file, the terminal check-up, the bot."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from advice.profile import Profile, ProfileError
from advice.render import FORMATS

BOTFATHER_HELP = """\
No TELEGRAM_BOT_TOKEN is set, so the Telegram bot cannot start.
To run it: open Telegram, talk to @BotFather, send /newbot, and put the token it gives you
in the environment or in a .env file:  TELEGRAM_BOT_TOKEN=123456:ABC...
Meanwhile, here is the same check-up in your terminal (coach chat).
"""


def _advise(args: argparse.Namespace) -> int:
    from advice.engine import assess
    from advice.render import render

    try:
        profile = Profile.load(args.profile)
    except OSError as exc:
        print(f"coach: cannot read {args.profile}: {exc.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError:
        print(f"coach: {args.profile} is not UTF-8 text", file=sys.stderr)
        return 2
    except ProfileError as exc:
        print(f"coach: {args.profile}: {exc}", file=sys.stderr)
        return 2
    print(render(assess(profile), args.lang, args.format, view=args.view))
    return 0


def _chat(args: argparse.Namespace) -> int:
    from bot.terminal import chat

    return chat(lang=args.lang, save=args.save)


def _run(args: argparse.Namespace) -> int:
    from bot.config import ConfigError, Settings

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return 2
    if not settings.telegram_bot_token:
        print(BOTFATHER_HELP)
        from bot.terminal import chat

        return chat(lang=args.lang)
    from bot.main import run_bot

    return run_bot(settings)


def _db(args: argparse.Namespace) -> int:
    from bot.config import ConfigError, Settings
    from bot.startup import StartupError, Step, step
    from bot.storage.migrate import current_revision, upgrade_database

    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"coach: {exc}", file=sys.stderr)
        return 2
    try:
        with step(Step.DATABASE, settings):
            if args.db_command == "upgrade":
                print(upgrade_database(settings.database_url))
            else:
                print(
                    current_revision(settings.database_url)
                    or "empty database (run: coach db upgrade)"
                )
    except StartupError as exc:  # the database cannot be reached, or refused: one line
        print(f"coach: {exc}", file=sys.stderr)
        return exc.exit_status
    return 0


def _version() -> str:
    """The installed distribution's version (pyproject.toml's, once installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("seller-coach")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "(version unknown: not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coach", description="Seller Coach: advice on the four levers of sales."
    )
    parser.add_argument("-V", "--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True)

    advise = commands.add_parser("advise", help="print the advice for a seller profile (JSON file)")
    advise.add_argument("profile", type=Path)
    advise.add_argument("--lang", choices=("en", "zh"), default="en")
    advise.add_argument("--format", choices=FORMATS, default="text")
    advise.add_argument("--view", choices=("report", "why", "more"), default="report")
    advise.set_defaults(handler=_advise)

    chat = commands.add_parser("chat", help="run the check-up in this terminal")
    chat.add_argument("--lang", choices=("en", "zh"), default="en")
    chat.add_argument("--save", type=Path, help="save the finished profile to this JSON file")
    chat.set_defaults(handler=_chat)

    run = commands.add_parser(
        "run", help="run the Telegram bot (the terminal check-up without a token)"
    )
    run.add_argument(
        "--lang", choices=("en", "zh"), default="en", help="language of the terminal check-up"
    )
    run.set_defaults(handler=_run)

    db = commands.add_parser("db", help="database schema")
    db.add_argument("db_command", choices=("upgrade", "current"))
    db.set_defaults(handler=_db)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
