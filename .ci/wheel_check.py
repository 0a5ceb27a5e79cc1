"""CI: the built wheel runs on its own, as a container image or `pip install` would use it.

Builds the wheel from a clean copy of the source tree, fails if any file of advice/ or bot/
is not in it, installs it into a fresh virtual environment, and from an empty folder outside
the source tree runs `coach --version`, `coach db upgrade` (a new SQLite file), `coach advise`
(every view, which renders the templates) and `coach run` against the local Bot API test
server (tests/support/fake_bot_api.py, standard library only): it must poll, answer /start
and /checkup, and stop cleanly on SIGTERM, with no traceback.

    python3 .ci/wheel_check.py [--keep]

Uses only the standard library (and the test server from the source tree), so any Python
3.11 runs it; pip fetches the build backend and the dependencies as for any install.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.support.fake_bot_api import FakeBotApi  # noqa: E402

PACKAGES = ("advice", "bot")
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".pytest_cache",
    ".hypothesis", ".ruff_cache", "mutants", "*.db", ".env",
)  # fmt: skip
TOKEN = "123456:wheel-check-token"
RENDER_ALL = """
import sys
from advice.engine import assess
from advice.profile import Profile
from advice.render import FORMATS, render
advice = assess(Profile.load(sys.argv[1]))
for fmt in FORMATS:
    for view in ("report", "why", "more"):
        for lang in ("en", "zh"):
            assert render(advice, lang, fmt, view=view).strip()
"""


class CheckFailed(Exception):
    pass


def run(command: list[str | Path], **options: object) -> str:
    """Run a command; its output, or CheckFailed with it."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **options)  # type: ignore[call-overload]
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise CheckFailed(f"{' '.join(map(str, command))} exited {result.returncode}:\n{output}")
    return output


def build_wheel(work: Path) -> Path:
    """The wheel of a clean copy (no build/ left over from an earlier build can fill gaps)."""
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", source])
    [wheel] = (work / "dist").glob("seller_coach-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    missing = sorted(
        path.relative_to(source).as_posix()
        for package in PACKAGES
        for path in (source / package).rglob("*")
        if path.is_file() and path.relative_to(source).as_posix() not in shipped
    )
    if missing:
        raise CheckFailed(
            "not in the wheel (add them to package-data in pyproject.toml):\n  "
            + "\n  ".join(missing)
        )
    return wheel


def install(wheel: Path, work: Path) -> Path:
    venv = work / "venv"
    run([sys.executable, "-m", "venv", venv])
    # --no-compile: bytecode is written on first import, for what is imported (compiling
    # every dependency's modules made the whole check a quarter slower).
    run([venv / "bin" / "python", "-m", "pip", "install", "-q", "--no-compile", wheel])
    return venv / "bin"


def clean_environment(outside: Path) -> dict[str, str]:
    """This process's environment without anything that points at the source tree or a bot."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}
        and not k.startswith(("TELEGRAM_", "WEBHOOK_"))
    }
    env["DATABASE_URL"] = f"sqlite:///{outside / 'coach.db'}"
    return env


def check_installed(bin_dir: Path, outside: Path, env: dict[str, str]) -> None:
    where = run(
        [bin_dir / "python", "-c", "import advice, bot; print(advice.__file__, bot.__file__)"],
        cwd=outside,
        env=env,
    )
    if str(ROOT) in where or "site-packages" not in where:
        raise CheckFailed(f"the packages were not imported from the installed wheel: {where}")
    print(run([bin_dir / "coach", "--version"], cwd=outside, env=env).strip())
    upgraded = run([bin_dir / "coach", "db", "upgrade"], cwd=outside, env=env)
    if "created the database schema at revision" not in upgraded:
        raise CheckFailed(f"coach db upgrade did not create the schema:\n{upgraded}")
    print("coach db upgrade:", upgraded.strip().splitlines()[-1])
    profile = shutil.copy(ROOT / "examples" / "menswear-wechat.json", outside / "profile.json")
    run(
        [bin_dir / "coach", "advise", profile, "--lang", "zh", "--view", "why"],
        cwd=outside,
        env=env,
    )
    # Every template, in one process: each view in each format and language.
    run([bin_dir / "python", "-c", RENDER_ALL, profile], cwd=outside, env=env)
    print("coach advise: every view, format and language rendered")


def check_bot(bin_dir: Path, outside: Path, env: dict[str, str]) -> None:
    with FakeBotApi(token=TOKEN) as api:
        log_path = outside / "bot.log"
        with log_path.open("wb") as log:
            bot = subprocess.Popen(
                [bin_dir / "coach", "run"],
                cwd=outside,
                env={**env, "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": api.base_url},
                stdout=log,
                stderr=log,
            )
        try:
            deadline = time.monotonic() + 60
            while not api.calls("getUpdates"):
                if bot.poll() is not None or time.monotonic() > deadline:
                    raise CheckFailed(
                        "coach run did not start polling:\n" + log_path.read_text(errors="replace")
                    )
                time.sleep(0.1)
            user = api.user(1001, first_name="Wheel")
            for command in ("/start", "/checkup"):  # the welcome; the first question, with buttons
                mark = api.mark(user.id)
                api.send_text(user, command)
                reply = api.wait_for_message(user.id, since=mark, timeout=30)
                if not reply.text or (command == "/checkup" and not reply.buttons):
                    raise CheckFailed(f"unexpected reply to {command}:\n{api.transcript(user.id)}")
            print("coach run: polled, answered /start and /checkup")
        finally:
            if bot.poll() is None:
                bot.send_signal(signal.SIGTERM)
                try:
                    bot.wait(30)
                except subprocess.TimeoutExpired:
                    bot.kill()
    log_text = log_path.read_text(errors="replace")
    if bot.returncode != 0 or "Traceback" in log_text:
        raise CheckFailed(f"coach run exited {bot.returncode}:\n{log_text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="coach-wheel-"))
    started = time.monotonic()
    try:
        wheel = build_wheel(work)
        print(
            f"built {wheel.name} with every file of advice/ and bot/ ({time.monotonic() - started:.0f} s)"
        )
        bin_dir = install(wheel, work)
        print(f"installed into a fresh virtual environment ({time.monotonic() - started:.0f} s)")
        outside = work / "elsewhere"
        outside.mkdir()
        env = clean_environment(outside)
        check_installed(bin_dir, outside, env)
        check_bot(bin_dir, outside, env)
    except CheckFailed as exc:
        print(f"wheel check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print("kept", work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"wheel check passed in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
