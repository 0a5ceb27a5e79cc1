"""`coach run` that cannot start says why in one line, and what to do.

Each failure is met by the real `coach run` process, against the local Bot API server or
the PostgreSQL server: it ends with one line on stderr ("coach: ..."), a non-zero status
(2: a setting to fix; 1: a service not answering, worth a restart later), no traceback, and
none of the secrets it was given (the token, the database password, the webhook secret).
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.storage.migrate import head_revision, upgrade_database
from tests.db_fixtures import _admin, _drop_everything, _run
from tests.support.fake_bot_api import CONFLICT_POLL, FakeBotApi
from tests.support.harness import TOKEN
from tests.test_secrets import password_database  # noqa: F401  (a fixture)

pytestmark = pytest.mark.e2e
PASSWORD = "pw-" + secrets.token_hex(8)


@dataclass
class Failure:
    status: int
    line: str  # the last line on stderr
    output: str  # everything it printed, stdout and stderr


def coach_run(tmp_path: Path, **settings: str) -> Failure:
    """`coach run` with these settings (over a working default: the token, an SQLite file);
    it must stop by itself."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "WEBHOOK_", "DATABASE_"))
    }
    env |= {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'coach.db'}",
        **settings,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=tmp_path,  # no .env of the repository
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = result.stderr.strip().splitlines()
    return Failure(result.returncode, lines[-1] if lines else "", result.stdout + result.stderr)


def assert_explained(
    failure: Failure, status: int, *phrases: str, secrets: tuple[str, ...] = ()
) -> None:
    assert "Traceback" not in failure.output, failure.output
    assert failure.status == status, failure.output
    assert failure.line.startswith("coach: "), failure.output
    for phrase in phrases:
        assert phrase in failure.line, failure.line
    for secret in secrets:
        assert secret not in failure.output, "a secret was printed"


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- Telegram ----------------------------------------------------------------------------
def test_a_token_telegram_rejects_is_named_without_printing_it(
    api: FakeBotApi, tmp_path: Path
) -> None:
    wrong = "987654:" + secrets.token_urlsafe(24)  # well-formed, not the server's: 401 at getMe

    failure = coach_run(tmp_path, TELEGRAM_BOT_TOKEN=wrong, TELEGRAM_API_URL=api.base_url)

    assert_explained(
        failure, 2, "Telegram rejected the bot token", "TELEGRAM_BOT_TOKEN", secrets=(wrong,)
    )


def test_an_unreachable_bot_api_is_named_with_its_address(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/bot"

    failure = coach_run(tmp_path, TELEGRAM_API_URL=url)

    assert_explained(
        failure,
        1,
        "cannot reach the Telegram Bot API at http://127.0.0.1:",
        "TELEGRAM_API_URL",
        secrets=(TOKEN,),
    )


@pytest.mark.parametrize("method", ["setMyCommands", "deleteWebhook"])
def test_a_start_up_request_telegram_refuses_is_named_with_telegrams_reason(
    api: FakeBotApi, tmp_path: Path, method: str
) -> None:
    api.fail_next(method, status=400, description="Bad Request: too many commands in the list")

    failure = coach_run(tmp_path, TELEGRAM_API_URL=api.base_url)

    assert_explained(
        failure, 2, f"Telegram refused {method}: Too many commands in the list", secrets=(TOKEN,)
    )


def test_another_process_polling_with_the_token_stops_this_one_with_telegrams_reason(
    api: FakeBotApi, tmp_path: Path
) -> None:
    api.fail_next("getUpdates", status=409, description=CONFLICT_POLL)

    failure = coach_run(tmp_path, TELEGRAM_API_URL=api.base_url)

    assert_explained(
        failure,
        2,
        "Telegram refused getUpdates: Conflict",
        "only one bot instance",
        secrets=(TOKEN,),
    )


# --- the database ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://coach:{PASSWORD}@db.example:not-a-port/coach",
        f"mysql://coach:{PASSWORD}@db.example/coach",
    ],
    ids=["malformed", "unsupported"],
)
def test_a_bad_database_url_says_what_it_must_look_like(
    api: FakeBotApi, tmp_path: Path, url: str
) -> None:
    failure = coach_run(tmp_path, TELEGRAM_API_URL=api.base_url, DATABASE_URL=url)

    assert_explained(
        failure,
        2,
        "DATABASE_URL",
        "postgresql://user:password@host:port/database",
        secrets=(PASSWORD,),
    )


def test_an_sqlite_file_that_cannot_be_opened_is_named(api: FakeBotApi, tmp_path: Path) -> None:
    path = tmp_path / "no such folder" / "coach.db"

    failure = coach_run(tmp_path, TELEGRAM_API_URL=api.base_url, DATABASE_URL=f"sqlite:///{path}")

    assert_explained(failure, 2, f"cannot open the SQLite database '{path}'", "folder exists")


def test_a_database_nothing_answers_at_is_named_by_host_and_port(
    api: FakeBotApi, tmp_path: Path
) -> None:
    port = closed_port()
    url = f"postgresql://coach:{PASSWORD}@127.0.0.1:{port}/coach"

    failure = coach_run(tmp_path, TELEGRAM_API_URL=api.base_url, DATABASE_URL=url)

    assert_explained(
        failure,
        1,
        f"cannot connect to the database at 127.0.0.1:{port} (Connection refused)",
        secrets=(PASSWORD, TOKEN),
    )


@pytest.mark.postgres
def test_a_database_refusing_the_login_says_so(
    api: FakeBotApi,
    tmp_path: Path,
    password_database: str,  # noqa: F811
) -> None:
    url = make_url(password_database)
    _run(_admin(f"ALTER ROLE {url.username} NOLOGIN"))

    failure = coach_run(tmp_path, TELEGRAM_API_URL=api.base_url, DATABASE_URL=password_database)

    assert_explained(
        failure,
        2,
        "refused the connection",
        "not permitted to log in",
        "DATABASE_URL",
        secrets=(url.password or "-",),
    )


@pytest.fixture
def schema_behind(postgres_database: str) -> Iterator[str]:
    _run(_drop_everything(postgres_database))
    yield postgres_database
    _run(_drop_everything(postgres_database))


@pytest.mark.postgres
@pytest.mark.parametrize("revision", [None, "0002"], ids=["empty", "old"])
def test_a_schema_behind_on_postgresql_asks_for_coach_db_upgrade(
    api: FakeBotApi, tmp_path: Path, schema_behind: str, revision: str | None
) -> None:
    if revision is not None:
        upgrade_database(schema_behind, revision)

    failure = coach_run(tmp_path, TELEGRAM_API_URL=api.base_url, DATABASE_URL=schema_behind)

    where = f"schema is at revision {revision}" if revision else "has no schema yet"
    assert_explained(
        failure, 2, where, f"needs revision {head_revision()}", "run `coach db upgrade`"
    )


def test_coach_db_upgrade_against_a_database_nothing_answers_at_says_so_in_one_line(
    tmp_path: Path,
) -> None:
    port = closed_port()
    env = {**os.environ, "DATABASE_URL": f"postgresql://coach:{PASSWORD}@127.0.0.1:{port}/coach"}

    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip() == (
        f"coach: cannot connect to the database at 127.0.0.1:{port} (Connection refused): "
        "start PostgreSQL there, or set DATABASE_URL to where it runs"
    )


# --- the webhook -------------------------------------------------------------------------
def test_a_webhook_without_its_secret_says_how_to_choose_one(
    api: FakeBotApi, tmp_path: Path
) -> None:
    failure = coach_run(
        tmp_path, TELEGRAM_API_URL=api.base_url, WEBHOOK_URL="https://coach.example"
    )

    assert_explained(
        failure, 2, "WEBHOOK_SECRET must be set when WEBHOOK_URL is set", "A-Z, a-z, 0-9"
    )


def test_a_webhook_port_in_use_is_named_before_telegram_is_told_to_send_there(
    api: FakeBotApi, tmp_path: Path
) -> None:
    secret = "whsec" + secrets.token_hex(8)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        failure = coach_run(
            tmp_path,
            TELEGRAM_API_URL=api.base_url,
            WEBHOOK_URL="https://coach.example",
            WEBHOOK_SECRET=secret,
            WEBHOOK_PORT=str(port),
        )

    assert_explained(
        failure,
        2,
        f"cannot listen for webhooks on 127.0.0.1:{port}",
        "WEBHOOK_PORT",
        secrets=(secret, TOKEN),
    )
    assert api.calls("setWebhook") == []
