"""Secrets and sellers' words stay out of logs and error replies.

Offline: a full check-up with every log record captured, and a real database error while a
shop name is stored. End to end: `coach run` on PostgreSQL with a password in DATABASE_URL,
through a Bot API 500 and the database refusing connections, then its whole log is grepped.
"""

from __future__ import annotations

import io
import logging
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from bot.logs import LIBRARY_LOG_LEVELS, RedactSecrets
from bot.replies import text as bot_text
from tests.db_fixtures import POSTGRES_ADMIN_URL, _admin, _run
from tests.support.fake_bot_api import FakeBotApi
from tests.support.harness import TOKEN, ChatHarness
from tests.test_bot_checkup import ENGLISH_ANSWERS, answer_all
from tests.test_e2e import ROOT, BotProcess, _run_script, _wait_next

SHOP_NAME = "Quokka Zebra Emporium 7781"  # unique enough to grep for


def test_redaction_covers_messages_arguments_tracebacks_and_stacks() -> None:
    password = "pw-" + secrets.token_hex(6)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactSecrets(TOKEN, password))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
        logger.warning(f"postgresql://coach:{password}@db/coach")
        try:
            raise ConnectionError(f"cannot reach postgresql://coach:{password}@db with bot {TOKEN}")
        except ConnectionError:
            logger.exception("database down")
    finally:
        logger.removeHandler(handler)
    written = out.getvalue()
    assert "database down" in written and "ConnectionError" in written and "[redacted]" in written
    assert TOKEN not in written and password not in written


async def test_a_full_checkup_logs_none_of_what_the_seller_typed(
    harness: ChatHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the bot's own loggers at their most talkative
    for name, level in LIBRARY_LOG_LEVELS.items():  # libraries as `coach run` sets them
        caplog.set_level(level, logger=name)
    seller = harness.seller()
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS[:-1])
    await seller.says(SHOP_NAME)
    await seller.says(f"/whatif {SHOP_NAME}")
    await seller.says(SHOP_NAME)  # idle text
    assert any("Bottleneck" in (m.text or "") for m in seller.messages()), seller.transcript()
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "Quokka" not in logged and TOKEN not in logged


async def test_a_database_error_while_storing_typed_text_logs_no_text(
    harness: ChatHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """SQL parameters (what the seller typed) must not reach the logged error."""
    seller = harness.seller()
    await seller.says("/checkup")
    await answer_all(seller, ENGLISH_ANSWERS[:-1])
    async with harness.store.engine.begin() as connection:  # the database refuses the write
        await connection.execute(text(
            "CREATE TRIGGER refuse_answers BEFORE INSERT ON answers BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        ))  # fmt: skip
    with caplog.at_level(logging.INFO):
        [reply] = await seller.says(SHOP_NAME)
    assert reply.text == bot_text("db_unavailable", "en")
    assert "disk full" in caplog.text  # the error itself is logged...
    assert "Quokka" not in caplog.text  # ...without the parameters
    assert all("Quokka" not in (r.exc_text or "") for r in caplog.records)


# --- end to end: the bot process with a database password and a token -------------------
@pytest.fixture
def password_database() -> Iterator[str]:
    """A PostgreSQL role with a password, owning a fresh database; its bot URL."""
    suffix = secrets.token_hex(4)
    role, database, password = f"coach_{suffix}", f"seller_coach_secret_{suffix}", "pw-" + secrets.token_hex(8)
    try:
        _run(_admin(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'"))
    except OSError as exc:
        pytest.skip(f"PostgreSQL unreachable: {exc!r}")
    _run(_admin(f'CREATE DATABASE "{database}" OWNER {role}'))
    admin = make_url(POSTGRES_ADMIN_URL)
    url = admin.set(drivername="postgresql+asyncpg", username=role, password=password, database=database)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        _run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        _run(_admin(f"DROP ROLE IF EXISTS {role}"))


@pytest.mark.e2e
@pytest.mark.postgres
def test_a_run_through_errors_never_logs_or_says_the_token_or_password(
    password_database: str, tmp_path: Path
) -> None:
    url = make_url(password_database)
    password, role = url.password, url.username
    assert password and password in password_database
    env = {**os.environ, "DATABASE_URL": password_database}
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    with FakeBotApi(token=TOKEN) as api:
        bot = BotProcess(api, password_database, tmp_path / "bot.log")
        bot.start()
        try:
            user = api.user(5151, first_name="Mei")
            mark = api.mark(user.id)
            api.send_text(user, "/checkup")
            _wait_next(api, user, mark)
            _run_script(api, user, ENGLISH_ANSWERS[:6])

            # The Bot API fails the next question once: the answer is stored (its question is
            # edited to show it) and the unconfirmed send is logged, not blindly repeated.
            api.fail_next("sendMessage", status=500)
            mark = api.mark(user.id)
            api.send_text(user, "about 10")
            api.wait_for_message(user.id, lambda m: "✓ 10" in (m.text or ""), timeout=15, since=mark)
            deadline = time.monotonic() + 15
            while "not confirmed by Telegram" not in bot.log_path.read_text(errors="replace"):
                assert time.monotonic() < deadline, bot.log_path.read_text(errors="replace")
                time.sleep(0.05)

            # The database refuses connections: the seller is told their answers are safe.
            _run(_admin(f"ALTER ROLE {role} NOLOGIN"))
            _run(_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'"))
            mark = api.mark(user.id)
            api.send_text(user, "/checkup")
            api.wait_for_message(user.id, lambda m: "temporarily unavailable" in (m.text or ""), timeout=15, since=mark)
            _run(_admin(f"ALTER ROLE {role} LOGIN"))

            # Back: the check-up goes on to the advice.
            mark = api.mark(user.id)
            api.send_text(user, "/checkup")
            _wait_next(api, user, mark)
            if "in progress" in (api.messages(user.id)[-1].text or ""):
                mark = api.mark(user.id)
                api.press_button_labelled(user, api.messages(user.id)[-1], "Continue")
                _wait_next(api, user, mark)
            question = api.messages(user.id)[-1].text or ""
            start = 6 if "new people" in question else 7
            _run_script(api, user, ENGLISH_ANSWERS[start:-1])
            mark = api.mark(user.id)
            api.send_text(user, SHOP_NAME)
            advice = _wait_next(api, user, mark)
            assert "Bottleneck" in (advice.text or ""), api.transcript(user.id)
        finally:
            bot.stop()
        sent = "\n".join((m.text or "") + (m.caption or "") for m in api.messages(user.id))

    log = bot.log_path.read_text(errors="replace")
    assert "database unavailable" in log and "not confirmed by Telegram" in log, log  # errors happened
    for secret in (TOKEN, password):
        assert secret not in log, "a secret was logged"
        assert secret not in sent, "a secret was sent to the user"
    assert "Quokka" not in log and "about 10" not in log
