"""Three `coach run` processes in webhook mode on one PostgreSQL, behind a "load balancer"
(this test) that spreads each seller's updates over them at random, and now and then hands
the same update to two of them at once (a webhook retry landing elsewhere). What is stored
is the same as when one process handles everything, and no question is asked twice.

As Telegram does for one webhook, a seller's updates are sent one at a time (the next once the
previous got its 200); different sellers' updates run concurrently.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.webhook import SECRET_HEADER
from tests.support.fake_bot_api import FakeBotApi, FakeUser
from tests.support.harness import TOKEN
from tests.test_bot_checkup import CHINESE_ANSWERS, ENGLISH_ANSWERS
from tests.test_e2e import ROOT
from tests.test_kill_points import ADVICE, SCRIPTS, _questions_asked, _stored

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SECRET = "several-processes-secret"
PROCESSES = 3
SELLERS = 6
assert SCRIPTS == {"en": ENGLISH_ANSWERS, "zh-hans": CHINESE_ANSWERS}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class WebhookBots:
    """``PROCESSES`` bot processes, each serving the webhook on a port of its own."""

    def __init__(self, api: FakeBotApi, database_url: str, log_dir: Path) -> None:
        self.database_url = database_url
        self.ports = [_free_port() for _ in range(PROCESSES)]
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = [log_dir / f"bot{n}.log" for n in range(PROCESSES)]
        for port, log_path in zip(self.ports, self.logs, strict=True):
            env = {
                **os.environ,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": api.base_url,
                "DATABASE_URL": database_url,
                "WEBHOOK_URL": f"http://127.0.0.1:{port}",
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_PORT": str(port),
            }
            with log_path.open("ab") as log:
                self.processes.append(
                    subprocess.Popen([sys.executable, "-m", "bot.cli", "run"], env=env, cwd=ROOT, stdout=log, stderr=log)
                )
        deadline = time.monotonic() + 30
        for port, process, log_path in zip(self.ports, self.processes, self.logs, strict=True):
            while not self._healthy(port):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("a bot process did not start:\n" + log_path.read_text())
                time.sleep(0.05)
        # Each registered itself as the webhook; the test is the load balancer instead, so
        # Telegram (the fake) keeps updates to itself and the test posts them.
        api.handle_http(f"/bot{TOKEN}/deleteWebhook", "", "application/json", b"{}")

    @staticmethod
    def _healthy(port: int) -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()



@pytest.fixture
def bots(api: FakeBotApi, upgraded_postgres_url: str, tmp_path: Path) -> Iterator[WebhookBots]:
    running = WebhookBots(api, upgraded_postgres_url, tmp_path)
    yield running
    running.stop()
    for log_path in running.logs:
        log = log_path.read_text(errors="replace")
        assert TOKEN not in log and SECRET not in log and "Traceback" not in log, log


async def _converse(
    api: FakeBotApi, client: httpx.AsyncClient, user: FakeUser, language: str, targets: list[int], rng: random.Random
) -> None:
    """One seller's whole check-up; each update to a process picked by ``targets``'s policy."""
    for action, value in [("say", "/checkup"), *SCRIPTS[language]]:
        if action == "press":
            keyboard = next(m for m in reversed(api.messages(user.id)) if m.buttons)
            update = api.press_button_labelled(user, keyboard, value)
        else:
            update = api.send_text(user, value)
        ports = rng.sample(targets, 2) if len(targets) > 1 and rng.random() < 0.25 else [rng.choice(targets)]
        responses = await asyncio.gather(
            *(client.post(f"http://127.0.0.1:{port}/telegram", json=update, headers={SECRET_HEADER: SECRET}) for port in ports)
        )
        assert [r.status_code for r in responses] == [200] * len(ports)


async def test_three_processes_store_what_one_process_stores(api: FakeBotApi, bots: WebhookBots) -> None:
    rng = random.Random(6)
    languages = ["en", "zh-hans"] * (SELLERS // 2)
    spread = [api.user(9100 + n, language_code=lang) for n, lang in enumerate(languages)]
    single = [api.user(9200 + n, language_code=lang) for n, lang in enumerate(languages)]
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(
            *(
                _converse(api, client, user, lang, bots.ports, random.Random(rng.random()))
                for user, lang in zip(spread, languages, strict=True)
            ),
            *(
                _converse(api, client, user, lang, bots.ports[:1], random.Random(rng.random()))
                for user, lang in zip(single, languages, strict=True)
            ),
        )
    url = bots.database_url
    for user, alone, lang in zip(spread, single, languages, strict=True):
        chat = api.transcript(user.id)
        assert ADVICE[lang] in (api.messages(user.id)[-1].text or ""), chat
        expected = _stored(url, alone.id)
        assert len(expected) == 19
        assert _stored(url, user.id) == expected, chat
        asked = _questions_asked(api, user)
        assert len(asked) == len(set(asked)) == 19, chat
