"""End to end: the real bot process (`coach run`) against the local Bot API server over HTTP.

A simulated seller completes a check-up with buttons and typed numbers and gets the advice;
then the bot is killed with SIGKILL in the middle of a second check-up, started again, and
the seller finishes it with nothing lost or asked twice. In English and in Chinese, on
SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.fake_bot_api import BotMessage, FakeBotApi, FakeUser
from tests.support.harness import TOKEN
from tests.test_bot_checkup import CHINESE_ANSWERS, ENGLISH_ANSWERS

pytestmark = pytest.mark.e2e
PROGRESS = re.compile(r"\d+/\d+")
DONE = ("✅ Done", "✅ 完成")
ROOT = Path(__file__).resolve().parent.parent


class BotProcess:
    """`coach run` as a child process, pointed at the fake Bot API by TELEGRAM_API_URL."""

    def __init__(self, api: FakeBotApi, database_url: str, log_path: Path) -> None:
        self.env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": api.base_url,
            "DATABASE_URL": database_url,
        }
        self.env.pop("WEBHOOK_URL", None)
        self.api = api
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        polls = len(self.api.calls("getUpdates"))
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"], env=self.env, cwd=ROOT, stdout=log, stderr=log
        )
        deadline = time.monotonic() + 30
        while len(self.api.calls("getUpdates")) <= polls:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("the bot did not start polling:\n" + self.log_path.read_text())
            time.sleep(0.05)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()



@pytest.fixture
def bot(api: FakeBotApi, empty_database_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    if not empty_database_url.startswith("sqlite"):
        subprocess.run(
            [sys.executable, "-m", "bot.cli", "db", "upgrade"],
            env={**os.environ, "DATABASE_URL": empty_database_url}, cwd=ROOT, check=True, capture_output=True,
        )
    process = BotProcess(api, empty_database_url, tmp_path / "bot.log")
    process.start()
    yield process
    process.stop()
    log = process.log_path.read_text(errors="replace")
    assert TOKEN not in log, "the bot token must never be logged"
    assert "Traceback" not in log, log


def _wait_next(api: FakeBotApi, user: FakeUser, mark: int, timeout: float = 15) -> BotMessage:
    return api.wait_for_message(user.id, lambda m: m.edits == 0 and m.message_id > 0, timeout=timeout, since=mark)


def _wait_ticked(
    api: FakeBotApi, user: FakeUser, mark: int, option: str, timeout: float = 15
) -> BotMessage:
    """Wait for a keyboard showing ``option`` ticked. Not for any edit: the edit showing the
    previous answer goes out together with the next question and may land after it."""
    return api.wait_for_message(
        user.id,
        lambda m: any(
            option in label and label.startswith("✅") for row in m.buttons for label, _ in row
        ),
        timeout=timeout,
        since=mark,
    )


def _act(api: FakeBotApi, user: FakeUser, action: str, value: str) -> tuple[int, bool]:
    """Perform one step of the script: (chat position before it, whether a new message follows).

    Ticking an option of a multi-choice question only edits its message; everything else is
    answered with a new message (the next question or the advice)."""
    mark = api.mark(user.id)
    if action == "press":
        target = next(m for m in reversed(api.messages(user.id)) if m.buttons)
        labels = [label for row in target.buttons for label, _ in row]
        is_toggle = any(done in labels for done in DONE) and not any(value in d for d in DONE)
        api.press_button_labelled(user, target, value)
        return mark, not is_toggle
    api.send_text(user, value)
    return mark, True


def _run_script(api: FakeBotApi, user: FakeUser, script: list[tuple[str, str]]) -> None:
    for action, value in script:
        try:
            mark, new_message = _act(api, user, action, value)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{api.transcript(user.id)}") from None
        if new_message:
            _wait_next(api, user, mark)
        else:
            _wait_ticked(api, user, mark, value)


def _stored_answers(database_url: str, user_id: int) -> list[tuple[int, str, bool]]:
    """(check-up, field, is current) for every stored answer of the user, oldest first."""

    async def read() -> list[tuple[int, str, bool]]:
        engine = create_async_engine(database_url)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT checkup_id, field, superseded_at IS NULL FROM answers WHERE user_id = :u ORDER BY id"),
                {"u": user_id},
            )
            found = [(int(c), str(f), bool(cur)) for c, f, cur in rows.all()]
        await engine.dispose()
        return found

    with ThreadPoolExecutor(1) as thread:  # its own event loop, away from pytest-asyncio's
        return thread.submit(asyncio.run, read()).result()


def settle(api: FakeBotApi, timeout: float = 20) -> None:
    """Wait until the bot has handled and confirmed every update (its replies are out)."""
    deadline = time.monotonic() + timeout
    while api.pending_updates():
        assert time.monotonic() < deadline, "the bot did not catch up"
        time.sleep(0.02)


def _awaiting_answer(api: FakeBotApi, user: FakeUser) -> bool:
    """Whether the last thing the seller sees is a question not yet answered."""
    last = api.messages(user.id)[-1]
    first_line = (last.text or "").split("\n")[0]
    return bool(PROGRESS.search(first_line)) and "✓" not in (last.text or "")


@pytest.mark.parametrize(
    ("language_code", "script", "advice_marker"),
    [("en", ENGLISH_ANSWERS, "Bottleneck: traffic."), ("zh-hans", CHINESE_ANSWERS, "瓶颈：流量。")],
    ids=["english", "chinese"],
)
def test_checkup_survives_sigkill_and_restart(
    api: FakeBotApi, bot: BotProcess, language_code: str, script: list[tuple[str, str]], advice_marker: str
) -> None:
    user = api.user(4242, first_name="Mei", language_code=language_code)

    # A whole check-up with buttons and typed numbers ends with the advice.
    mark = api.mark(user.id)
    api.send_text(user, "/checkup")
    _wait_next(api, user, mark)
    _run_script(api, user, script)
    advice = api.messages(user.id)[-1]
    assert advice_marker in advice.text, api.transcript(user.id)

    # A second check-up, killed half-way, then finished after a restart.
    second_start = len(api.messages(user.id))
    mark = api.mark(user.id)
    api.send_text(user, "/checkup")
    _wait_next(api, user, mark)
    half = len(script) // 2
    _run_script(api, user, script[:half])
    answered = api.messages(user.id)[-1].message_id
    _act(api, user, *script[half])  # answered, and the bot dies at once
    bot.kill()
    bot.start()
    # Killed before it handled the answer: Telegram delivers it again after the restart,
    # and once nothing is pending any more, every reply to it has been sent.
    settle(api)
    if not _awaiting_answer(api, user) or api.messages(user.id)[-1].message_id == answered:
        # Stored before the kill, but the next question never went out: the seller asks.
        mark = api.mark(user.id)
        api.send_text(user, "/checkup")
        _wait_next(api, user, mark)
        mark, _ = _act(api, user, "press", "Continue" if language_code == "en" else "继续")
        _wait_next(api, user, mark)
    _run_script(api, user, script[half + 1 :])
    assert advice_marker in api.messages(user.id)[-1].text, api.transcript(user.id)

    rows = _stored_answers(bot.env["DATABASE_URL"], user.id)
    second = [(field, current) for checkup, field, current in rows if checkup == rows[-1][0]]
    fields = [field for field, _ in second]
    assert len(fields) == len(set(fields)), f"an answer was stored twice: {fields}"
    assert len(fields) == 19 and all(current for _, current in second)

    # No question was asked again once answered: each question message appears once.
    asked = [
        m.text.split("\n")[1]
        for m in api.messages(user.id)[second_start:]
        if m.text and PROGRESS.search(m.text.split("\n")[0])
    ]
    assert len(asked) == len(set(asked)) == 19, "\n".join(f"{m.message_id} e={m.edits} {m.text[:80]!r}" for m in api.messages(user.id)[second_start-2:])


def test_progress_photo_arrives_from_the_real_process(api: FakeBotApi, bot: BotProcess) -> None:
    """/progress over HTTP: the table, then the chart as a PNG photo (multipart upload)."""
    user = api.user(4343, first_name="Lan", language_code="en")
    mark = api.mark(user.id)
    api.send_text(user, "/progress")
    nothing_yet = _wait_next(api, user, mark)
    assert "No progress to show yet" in (nothing_yet.text or "")

    mark = api.mark(user.id)
    api.send_text(user, "/checkup")
    _wait_next(api, user, mark)
    _run_script(api, user, ENGLISH_ANSWERS)
    mark = api.mark(user.id)
    api.send_text(user, "/progress")
    chart = api.wait_for_message(user.id, lambda m: m.kind == "photo", timeout=30, since=mark)
    table = next(m for m in api.messages(user.id) if m.message_id == chart.message_id - 1)
    assert "Progress: Lao Wang <b>Menswear</b>" in (table.text or "") and "¥1,559" in (table.text or "")
    assert chart.file_bytes is not None and chart.file_bytes.startswith(b"\x89PNG\r\n\x1a\n")
    assert chart.caption and "monthly estimate" in chart.caption
