"""A small, faithful, thread-safe Telegram Bot API server for tests.

Why: end-to-end tests run the real bot process against this server (via ``base_url``), so
they never reach the internet yet exercise the same HTTP, validation and error paths the bot
meets in production. Only the standard library is used and the server runs in its own threads,
independent of any asyncio loop in the test.

Usage::

    with FakeBotApi(token="123456:TEST-token") as api:
        user = api.user(1001, first_name="Li", language_code="zh-hans")
        mark = api.mark(user.id)
        api.send_text(user, "/start")
        reply = api.wait_for_message(user.id, since=mark)

Standalone: ``python -m tests.support.fake_bot_api --port 8081 --token 123:abc``.
"""

from __future__ import annotations

import argparse
import copy
import email.parser
import itertools
import json
import re
import secrets
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from http import HTTPStatus
from http.client import HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .telegram_html import HtmlParseError, parse_html, utf16_len

TOKEN_RE = re.compile(r"(\d+):[A-Za-z0-9_-]+")
BOT_FIRST_NAME = "Seller Coach Test"
BOT_USERNAME = "seller_coach_test_bot"
MAX_TEXT = 4096
MAX_CAPTION = 1024
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
CONFLICT_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
BLOCKED = "Forbidden: bot was blocked by the user"
CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice",
        "upload_voice", "upload_document", "choose_sticker", "find_location",
        "record_video_note", "upload_video_note",
    }
)  # fmt: skip
BUTTON_ACTIONS = (
    "callback_data", "url", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
    "callback_game", "pay", "web_app", "copy_text",
)  # fmt: skip
COMMAND_SCOPES = frozenset(
    {
        "default", "all_private_chats", "all_group_chats", "all_chat_administrators",
        "chat", "chat_administrators", "chat_member",
    }
)  # fmt: skip
DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
MESSAGE_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
JSON_FIELDS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "allowed_updates", "commands",
        "scope", "menu_button", "link_preview_options", "reply_parameters",
    }
)  # fmt: skip
INT_FIELDS = frozenset(
    {
        "chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id",
        "max_connections", "cache_time", "message_thread_id", "user_id",
    }
)  # fmt: skip
BOOL_FIELDS = frozenset(
    {
        "drop_pending_updates", "show_alert", "disable_notification", "protect_content",
        "allow_sending_without_reply", "disable_content_type_detection", "has_spoiler",
        "show_caption_above_media",
    }
)  # fmt: skip
IMAGE_SIGNATURES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM", b"RIFF")
USER_FILE_HEADERS = {"photo": b"\xff\xd8\xff\xe0", "sticker": b"RIFF", "voice": b"OggS"}
FILE_ID_PREFIXES = {
    "document": "BQACAgIAAxkBAAI",
    "photo": "AgACAgIAAxkBAAI",
    "sticker": "CAACAgIAAxkBAAI",
    "voice": "AwACAgIAAxkBAAI",
}


# -- public data types ------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeUser:
    """A Telegram user who talks to the bot; their private chat id equals their user id."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The Bot API ``User`` object."""
        data = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        optional = {
            "last_name": self.last_name,
            "username": self.username,
            "language_code": self.language_code,
        }
        return data | {key: value for key, value in optional.items() if value is not None}

    def chat_dict(self) -> dict[str, Any]:
        """The Bot API ``Chat`` object of the private chat with this user."""
        data = {"id": self.id, "type": "private", "first_name": self.first_name}
        optional = {"last_name": self.last_name, "username": self.username}
        return data | {key: value for key, value in optional.items() if value is not None}


@dataclass
class BotMessage:
    """A message the bot sent, in its current state (after edits); tests assert on these."""

    chat_id: int
    message_id: int
    text: str | None
    html: str | None = None
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    kind: str = "text"
    file_bytes: bytes | None = None
    file_name: str | None = None
    caption: str | None = None
    edits: int = 0
    deleted: bool = False
    entities: list[dict[str, Any]] = field(default_factory=list)
    date: int = 0
    file_id: str | None = None
    mime_type: str | None = None

    @property
    def buttons(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard rows as (label, callback_data); URL buttons have None data."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(button["text"], button.get("callback_data")) for button in row] for row in rows]


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request."""

    filename: str
    content: bytes
    content_type: str


@dataclass
class ApiCall:
    """One Bot API request as the fake saw it; timestamp is time.monotonic() on arrival."""

    method: str
    params: dict[str, Any]
    timestamp: float
    status: int | None = None

    @property
    def chat_id(self) -> int | str | None:
        return self.params.get("chat_id")


@dataclass(frozen=True)
class ChatEvent:
    """One entry of a chat's activity log.

    kind: user | sent | edited | deleted | callback_answer | chat_action | member;
    ``message`` is a snapshot of the bot message for sent and edited.
    """

    kind: str
    line: str
    message: BotMessage | None


class ApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


# -- internal state ---------------------------------------------------------------------------


@dataclass
class _Chat:
    info: dict[str, Any]
    next_message_id: int = 1
    bot_messages: dict[int, BotMessage] = field(default_factory=dict)
    user_messages: dict[int, dict[str, Any]] = field(default_factory=dict)

    @property
    def id(self) -> int:
        return self.info["id"]

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _Fault:
    method: str | None
    remaining: int
    error: ApiError | None = None
    delay: float = 0.0


@dataclass
class _Webhook:
    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes
    file_name: str | None
    mime_type: str | None


# -- request decoding -------------------------------------------------------------------------


def read_params(query: str, content_type: str, body: bytes) -> dict[str, Any]:
    """Merge query string and body (form, multipart or JSON) into decoded parameters."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    mime = content_type.split(";")[0].strip().lower()
    if mime == "application/json" and body:
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("can't parse JSON object")
        params.update(data)
    elif mime == "multipart/form-data":
        params.update(parse_multipart(body, content_type))
    elif body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return {key: decode_value(key, value) for key, value in params.items()}


def parse_multipart(body: bytes, content_type: str) -> dict[str, Any]:
    """Split multipart/form-data exactly on the boundary (binary-safe)."""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    if match is None:
        raise bad_request("multipart boundary is missing")
    fields: dict[str, Any] = {}
    for part in body.split(b"--" + match.group(1).encode())[1:]:
        if part.startswith(b"--"):
            break
        head, _, content = part.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        headers = email.parser.HeaderParser().parsestr(head.decode("utf-8", "replace").strip())
        name = headers.get_param("name", header="content-disposition")
        filename = headers.get_filename()
        if not isinstance(name, str):
            continue
        if filename is None:
            fields[name] = content.decode("utf-8", "replace")
        else:
            fields[name] = UploadedFile(filename, content, headers.get_content_type())
    return fields


def decode_value(key: str, value: Any) -> Any:
    """Decode JSON-encoded objects, integers and booleans that arrive as form strings."""
    if not isinstance(value, str):
        return value
    if key in JSON_FIELDS:
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if key == "reply_markup" else key
            raise bad_request(f"can't parse {what} JSON object") from None
    if key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in BOOL_FIELDS and value.lower() in ("true", "false", "1", "0", ""):
        return value.lower() in ("true", "1")
    return value


# -- validation helpers -----------------------------------------------------------------------


def trim_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip surrounding whitespace as Telegram does, shifting and clipping the entities."""
    stripped = text.lstrip()
    shift = utf16_len(text) - utf16_len(stripped)
    stripped = stripped.rstrip()
    limit = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, limit)
        if end > start:
            kept.append(entity | {"offset": start, "length": end - start})
    return stripped, kept


def validate_reply_markup(markup: Any) -> None:
    """Reject keyboards Telegram would reject."""
    if markup is None:
        return
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        validate_inline_keyboard(markup["inline_keyboard"])
    elif "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request('Field "keyboard" of the ReplyKeyboardMarkup should be an Array')
    elif "remove_keyboard" not in markup and "force_reply" not in markup:
        raise bad_request("can't parse reply keyboard markup JSON object")


def validate_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'Field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for button in itertools.chain.from_iterable(rows):
        if not isinstance(button, dict) or not isinstance(button.get("text"), str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        if not button["text"].strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        if not any(button.get(action) not in (None, "") for action in BUTTON_ACTIONS):
            raise bad_request(
                "can't parse inline keyboard button: "
                "Text buttons are unallowed in the inline keyboard"
            )
        data = button.get("callback_data")
        if data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
            raise bad_request("BUTTON_DATA_INVALID")


def inline_only(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """Telegram attaches only inline keyboards to a message."""
    return markup if markup and "inline_keyboard" in markup else None


def validate_commands(commands: Any) -> list[dict[str, Any]]:
    if not isinstance(commands, list) or not all(isinstance(c, dict) for c in commands):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    for command in commands:
        if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
            raise bad_request("BOT_COMMAND_INVALID")
        description = str(command.get("description", "")).strip()
        if not description:
            raise bad_request("command description must be non-empty")
        if len(description) > 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
    return [{"command": c["command"], "description": c["description"]} for c in commands]


# What setMyDescription and setMyShortDescription set: the parameter and its length limit.
DESCRIPTIONS = {False: ("description", 512), True: ("short_description", 120)}


def commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
    """Validate scope and language code; return the storage key Telegram uses."""
    scope = scope or {"type": "default"}
    if not isinstance(scope, dict) or scope.get("type") not in COMMAND_SCOPES:
        raise bad_request("can't parse BotCommandScope JSON object")
    language = language_code or ""
    if language and not re.fullmatch(r"[a-z]{2}", str(language)):
        raise bad_request("invalid language code specified")
    return json.dumps(scope, sort_keys=True), str(language)


def image_size(data: bytes) -> tuple[int, int]:
    """Width and height of PNG or JPEG data (0, 0 when unknown)."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    index = 2
    while data.startswith(b"\xff\xd8") and index + 9 < len(data):
        marker, length = data[index + 1], int.from_bytes(data[index + 2 : index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            return int.from_bytes(data[index + 7 : index + 9], "big"), height
        if length < 2:
            break
        index += 2 + length
    return 0, 0


def update_type(update: dict[str, Any]) -> str | None:
    return next((key for key in update if key != "update_id"), None)


def update_chat(update: dict[str, Any]) -> dict[str, Any] | None:
    """The chat an update belongs to, if any (message-like and callback updates)."""
    for value in update.values():
        if not isinstance(value, dict):
            continue
        if isinstance(value.get("chat"), dict):
            return value["chat"]
        nested = value.get("message")
        if isinstance(nested, dict) and isinstance(nested.get("chat"), dict):
            return nested["chat"]
    return None


def describe_message(message: BotMessage) -> str:
    """One transcript line body: text or media, then the keyboard rows."""
    if message.kind == "text":
        body = message.text or ""
    else:
        name = f" {message.file_name}" if message.file_name else ""
        body = f"[{message.kind}{name}]" + (f" {message.caption}" if message.caption else "")
    return (body + describe_keyboard(message.reply_markup)).replace("\n", "\n  ")


def describe_keyboard(markup: dict[str, Any] | None) -> str:
    """Inline rows as '[a | b]', reply keyboard rows as '{a | b}'."""
    markup = markup or {}
    if "inline_keyboard" in markup:
        rows, left, right = markup["inline_keyboard"], "[", "]"
    elif "keyboard" in markup:
        rows, left, right = markup["keyboard"], "{", "}"
    else:
        return ""
    labels = [[b if isinstance(b, str) else str(b.get("text")) for b in row] for row in rows]
    return "".join(f" {left}{' | '.join(row)}{right}" for row in labels)


# -- the server -------------------------------------------------------------------------------


class FakeBotApi:
    """The fake Bot API server plus the control API tests drive it with."""

    webhook_timeout = 5.0
    webhook_retry_initial = 0.05
    webhook_retry_max = 1.0

    def __init__(
        self, token: str = "123456:TEST-token", *, host: str = "127.0.0.1", port: int = 0
    ) -> None:
        match = TOKEN_RE.fullmatch(token)
        if match is None:
            raise ValueError(f"not a bot token: {token!r}")
        self.token = token
        self.bot_id = int(match.group(1))
        self._address = (host, port)
        self._cond = threading.Condition(threading.RLock())
        self._stopped = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        self._next_update_id = 1
        self._users: dict[int, FakeUser] = {}
        self._chats: dict[int, _Chat] = {}
        self._logs: defaultdict[int, list[ChatEvent]] = defaultdict(list)
        self._updates: list[dict[str, Any]] = []
        self._allowed_updates: list[str] = []
        self._poll_generation = 0
        self._webhook: _Webhook | None = None
        self._deliveries: list[tuple[int, int | str]] = []
        self._calls: list[ApiCall] = []
        self._failures: list[_Fault] = []
        self._delays: list[_Fault] = []
        self._holding = False
        self._held: list[str] = []
        self._blocked: set[int] = set()
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._menu_buttons: dict[int | None, dict[str, Any]] = {}
        # setMyDescription / setMyShortDescription, by (which, language code; "" for all).
        self._descriptions: dict[tuple[str, str], str] = {}
        self._pending_queries: dict[str, int] = {}
        self._files: dict[str, _StoredFile] = {}
        self._methods: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {
            name.lower(): (name, handler) for name, handler in self._handlers().items()
        }

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        """Bind (port 0 picks a free port) and serve in a background thread."""
        self._server = _Server(self._address, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; wakes long polls and the webhook deliverer so nothing lingers."""
        with self._cond:
            self._stopped.set()
            self._webhook = None
            self._cond.notify_all()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApi is not started")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """What to pass to ApplicationBuilder().base_url(); the token is appended to it."""
        return f"http://127.0.0.1:{self.port}/bot"

    # -- control API: users and their input ---------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        """Create (or redefine) a user. The bot can message them only after they wrote."""
        user = FakeUser(user_id, first_name, last_name, username, language_code)
        with self._cond:
            self._users[user_id] = user
            if user_id in self._chats:
                self._chats[user_id].info = user.chat_dict()
        return user

    def send_text(self, user: FakeUser | int, text: str) -> dict[str, Any]:
        """Queue a text message from the user; commands get a bot_command entity."""
        message: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        return self._user_message(user, message, f"> {text}")

    def send_sticker(self, user: FakeUser | int, emoji: str = "👍") -> dict[str, Any]:
        sticker = self._file_fields("sticker", 512 * 1024) | {
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "TestStickers",
        }
        return self._user_message(user, {"sticker": sticker}, f"> [sticker {emoji}]")

    def send_photo(self, user: FakeUser | int, caption: str | None = None) -> dict[str, Any]:
        sizes = [
            self._file_fields("photo", size) | {"width": width, "height": width * 3 // 4}
            for width, size in ((90, 1200), (320, 15000), (1280, 120000))
        ]
        message: dict[str, Any] = {"photo": sizes}
        if caption:
            message["caption"] = caption
        return self._user_message(user, message, f"> [photo]{f' {caption}' if caption else ''}")

    def send_voice(self, user: FakeUser | int, duration: int = 3) -> dict[str, Any]:
        voice = self._file_fields("voice", duration * 4000) | {
            "duration": duration,
            "mime_type": "audio/ogg",
        }
        return self._user_message(user, {"voice": voice}, f"> [voice {duration}s]")

    def press_button(
        self, user: FakeUser | int, message: BotMessage | int, data: str
    ) -> dict[str, Any]:
        """Queue a callback_query with ``data`` for a bot message.

        The data need not be on a shown button: modified clients can send any callback data,
        so this also tests forged and stale presses (the transcript marks them as forged).
        """
        with self._cond:
            sender, chat, current = self._pressable(user, message)
            labels = {d: label for row in current.buttons for label, d in row if d is not None}
            return self._queue_press(sender, chat, current, labels.get(data), data)

    def press_button_labelled(
        self, user: FakeUser | int, message: BotMessage | int, label: str
    ) -> dict[str, Any]:
        """Like press_button, finding the button by its label (exact, else unique substring)."""
        with self._cond:
            sender, chat, current = self._pressable(user, message)
            buttons = [button for row in current.buttons for button in row]
            matches = [b for b in buttons if b[0] == label] or [b for b in buttons if label in b[0]]
            if len(matches) != 1:
                problem = "no button" if not matches else "several buttons"
                raise AssertionError(
                    f"message #{current.message_id} has {problem} labelled {label!r}; "
                    f"labels: {[text for text, _ in buttons]}"
                )
            text, data = matches[0]
            if data is None:
                raise AssertionError(f"button {text!r} has no callback_data")
            return self._queue_press(sender, chat, current, text, data)

    def send_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue any raw update (update_id assigned if missing); its chat becomes known."""
        update = copy.deepcopy(update)
        with self._cond:
            chat_info = update_chat(update)
            if chat_info is not None and isinstance(chat_info.get("id"), int):
                self._note_raw_update(self._known_chat(chat_info), update)
            return self._enqueue(update)

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends answer 403 and a my_chat_member update is queued."""
        with self._cond:
            self._blocked.add(user_id)
            self._member_update(user_id, "member", "kicked")

    def unblock(self, user_id: int) -> None:
        with self._cond:
            self._blocked.discard(user_id)
            self._member_update(user_id, "kicked", "member")

    # -- control API: faults ------------------------------------------------------------------

    def fail_next(
        self,
        method: str | None,
        *,
        status: int = 429,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (None: any method) with an error."""
        if description is None:
            description = (
                f"Too Many Requests: retry after {retry_after}"
                if status == 429
                else HTTPStatus(status).phrase
            )
        parameters = {"retry_after": retry_after} if status == 429 else None
        error = ApiError(status, description, parameters)
        with self._cond:
            self._failures.append(_Fault(self._fault_method(method), times, error=error))

    def delay_next(self, method: str | None, seconds: float, times: int = 1) -> None:
        """Sleep before handling the next calls (the call still takes effect, as on Telegram)."""
        with self._cond:
            self._delays.append(_Fault(self._fault_method(method), times, delay=seconds))

    def hold_calls(self) -> None:
        """Keep every Bot API call but getUpdates waiting, received and unanswered, until
        :meth:`release_calls` (as a slow Telegram would): shows what a bot has in flight at once."""
        with self._cond:
            self._holding = True

    def release_calls(self) -> None:
        """Answer the calls held by :meth:`hold_calls`, and stop holding."""
        with self._cond:
            self._holding = False
            self._cond.notify_all()

    def wait_until_held(self, count: int, timeout: float = 5.0) -> list[str]:
        """Wait until ``count`` calls are held at once; their methods, in arrival order.

        Blocking: from async tests call it via ``asyncio.to_thread``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._held) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    held = ", ".join(self._held) or "none"
                    raise AssertionError(f"never {count} calls in flight at once; held: {held}")
                self._cond.wait(remaining)
            return list(self._held)

    # -- control API: inspection --------------------------------------------------------------

    def messages(self, chat_id: FakeUser | int) -> list[BotMessage]:
        """What the bot sent to the chat, current state, in order (deleted ones flagged)."""
        with self._cond:
            found = self._chats.get(_chat_id(chat_id))
            return copy.deepcopy(list(found.bot_messages.values())) if found else []

    def mark(self, chat_id: FakeUser | int) -> int:
        """An opaque position in the chat's activity log, for wait_for_message(since=...)."""
        with self._cond:
            return len(self._logs[_chat_id(chat_id)])

    def events(self, chat_id: FakeUser | int, since: int = 0) -> list[ChatEvent]:
        """The chat's activity log from the position ``since`` (see :meth:`mark`)."""
        with self._cond:
            return list(self._logs[_chat_id(chat_id)][since:])

    def wait_for_message(
        self,
        chat_id: FakeUser | int,
        predicate: Callable[[BotMessage], bool] | None = None,
        timeout: float = 10.0,
        since: int | None = None,
    ) -> BotMessage:
        """Wait for a new or edited bot message after ``since`` (default: now).

        Returns the message as it was at that event. Blocking: from async tests call it via
        ``asyncio.to_thread``.
        """
        chat_id = _chat_id(chat_id)
        deadline = time.monotonic() + timeout
        with self._cond:
            position = len(self._logs[chat_id]) if since is None else since
            while True:
                events = self._logs[chat_id]
                for event in events[position:]:
                    if event.message is None or event.kind not in ("sent", "edited"):
                        continue
                    if predicate is None or predicate(event.message):
                        return copy.deepcopy(event.message)
                position = len(events)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    matching = " matching the predicate" if predicate else ""
                    raise AssertionError(
                        f"no bot message{matching} in chat {chat_id} within {timeout}s; "
                        f"transcript:\n{self._transcript(chat_id, last=30)}"
                    )
                self._cond.wait(remaining)

    def transcript(self, chat_id: FakeUser | int) -> str:
        """The chat as readable lines: '> user', '< bot', '~ edited', '[callback answer: ..]'."""
        with self._cond:
            return self._transcript(_chat_id(chat_id))

    def calls(self, method: str | None = None) -> list[ApiCall]:
        """Recorded requests (all, or of one method, case-insensitive), oldest first."""
        with self._cond:
            wanted = [
                c for c in self._calls if method is None or c.method.lower() == method.lower()
            ]
            return copy.deepcopy(wanted)

    def peak_rate(self, chat_id: FakeUser | int | None = None, *, window: float = 1.0) -> int:
        """Most messages successfully sent within any ``window`` seconds (to one chat or all)."""
        chat_id = None if chat_id is None else _chat_id(chat_id)
        times = [
            call.timestamp
            for call in self.calls()
            if call.method in MESSAGE_METHODS
            and call.status == 200
            and (chat_id is None or call.chat_id == chat_id)
        ]
        best, start = 0, 0
        for end, moment in enumerate(times):
            while moment - times[start] >= window:
                start += 1
            best = max(best, end - start + 1)
        return best

    def commands(
        self, language_code: str | None = None, scope: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        """Commands stored by setMyCommands for exactly this scope and language."""
        with self._cond:
            key = (json.dumps(scope or {"type": "default"}, sort_keys=True), language_code or "")
            return copy.deepcopy(self._commands.get(key, []))

    def description(self, language_code: str | None = None, *, short: bool = False) -> str:
        """The description (``short``: the short description) set for exactly this language
        ("" when none is)."""
        with self._cond:
            return self._descriptions.get((DESCRIPTIONS[short][0], language_code or ""), "")

    def menu_button(self, chat_id: int | None = None) -> dict[str, Any]:
        """The menu button set by setChatMenuButton for a chat (None: the default one)."""
        with self._cond:
            return copy.deepcopy(self._menu_buttons.get(chat_id, {"type": "commands"}))

    def pending_updates(self) -> int:
        """Updates queued and not yet confirmed (by offset or webhook delivery)."""
        with self._cond:
            return len(self._updates)

    def webhook_deliveries(self) -> list[tuple[int, int | str]]:
        """Each webhook POST attempt: (update_id, HTTP status or error text)."""
        with self._cond:
            return list(self._deliveries)

    # -- HTTP entry point ---------------------------------------------------------------------

    def handle_http(self, path: str, query: str, content_type: str, body: bytes) -> tuple[int, Any]:
        """Answer one HTTP request: (status, JSON payload)."""
        if path.startswith("/_control/"):
            return self._control(path.removeprefix("/_control/"), query, body)
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)", path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, name = match.groups()
        if token != self.token:
            status = 401 if TOKEN_RE.fullmatch(token) else 404
            return status, ApiError(status, HTTPStatus(status).phrase).payload()
        method, handler = self._methods.get(name.lower(), (name, None))
        try:
            params = read_params(query, content_type, body)
        except ApiError as error:
            self._record(method, {"raw_body": body}, error.status)
            return error.status, error.payload()
        call = self._record(method, params, None)
        try:
            if handler is None:
                raise ApiError(404, "Not Found")
            status, payload = 200, {"ok": True, "result": self._call(method, handler, params)}
        except ApiError as error:
            status, payload = error.status, error.payload()
        with self._cond:
            call.status = status
        return status, payload

    def _call(self, method: str, handler: Callable[[dict[str, Any]], Any], params: dict) -> Any:
        with self._cond:
            if self._holding and method.lower() != "getupdates":
                self._held.append(method)
                self._cond.notify_all()
                while self._holding and not self._stopped.is_set():
                    self._cond.wait()
                self._held.remove(method)
            delay = self._take_fault(self._delays, method)
            failure = self._take_fault(self._failures, method)
        if delay is not None:
            self._stopped.wait(delay.delay)
        if failure is not None and failure.error is not None:
            raise failure.error
        with self._cond:
            return handler(params)

    def _record(self, method: str, params: dict[str, Any], status: int | None) -> ApiCall:
        call = ApiCall(method, params, time.monotonic(), status)
        with self._cond:
            self._calls.append(call)
        return call

    def _take_fault(self, faults: list[_Fault], method: str) -> _Fault | None:
        for fault in faults:
            if fault.method in (None, method.lower()):
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.remove(fault)
                return fault
        return None

    def _fault_method(self, method: str | None) -> str | None:
        if method is not None and method.lower() not in self._methods:
            raise ValueError(f"the fake does not implement {method!r}")
        return None if method is None else method.lower()

    # -- Bot API methods ----------------------------------------------------------------------

    def _handlers(self) -> dict[str, Callable[[dict[str, Any]], Any]]:
        return {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setChatMenuButton": self._set_chat_menu_button,
            "setMyDescription": partial(self._set_description, short=False),
            "getMyDescription": partial(self._get_description, short=False),
            "setMyShortDescription": partial(self._set_description, short=True),
            "getMyShortDescription": partial(self._get_description, short=True),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "sendDocument": lambda params: self._send_media(params, "document"),
            "sendPhoto": lambda params: self._send_media(params, "photo"),
            "close": lambda params: True,
            "logOut": lambda params: True,
        }

    def _bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }

    def _get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Confirm below offset, then long-poll up to ``timeout`` seconds as Telegram does."""
        if self._webhook is not None:
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = int(_number_param(params, "offset", 0))
        limit = min(max(int(_number_param(params, "limit", 100)), 1), 100)
        timeout = max(_number_param(params, "timeout", 0), 0)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        if offset > 0:
            self._updates = [u for u in self._updates if u.get("update_id", 0) >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        self._poll_generation += 1
        generation = self._poll_generation
        self._cond.notify_all()
        deadline = time.monotonic() + timeout
        while not self._updates and not self._stopped.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._cond.wait(remaining)
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT_POLL)
            if self._webhook is not None:
                raise ApiError(409, CONFLICT_WEBHOOK)
        return copy.deepcopy(self._updates[:limit])

    def _set_webhook(self, params: dict[str, Any]) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return self._delete_webhook(params)
        if urlsplit(url).scheme not in ("http", "https"):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"]
        hook = _Webhook(url, secret, int(_number_param(params, "max_connections", 40)))
        self._webhook = hook
        self._cond.notify_all()
        threading.Thread(target=self._deliver, args=(hook,), daemon=True).start()
        return True

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._cond.notify_all()
        return True

    def _get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        hook = self._webhook
        if hook is not None:
            info |= {"url": hook.url, "max_connections": hook.max_connections}
            info["ip_address"] = "127.0.0.1"
            if self._allowed_updates:
                info["allowed_updates"] = self._allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = validate_commands(params.get("commands", []))
        key = commands_key(params.get("scope"), params.get("language_code"))
        if commands:
            self._commands[key] = commands
        else:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        key = commands_key(params.get("scope"), params.get("language_code"))
        return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._commands.pop(commands_key(params.get("scope"), params.get("language_code")), None)
        return True

    def _set_description(self, params: dict[str, Any], *, short: bool) -> bool:
        """Telegram's limits: 512 characters (120 for the short one); an empty text removes
        the language's own, so the one for all languages shows."""
        which, limit = DESCRIPTIONS[short]
        text = params.get(which) or ""
        if not isinstance(text, str) or len(text) > limit:
            raise bad_request(f"{which.upper()}_INVALID")
        key = commands_key(None, params.get("language_code"))[1]
        if text:
            self._descriptions[which, key] = text
        else:
            self._descriptions.pop((which, key), None)
        return True

    def _get_description(self, params: dict[str, Any], *, short: bool) -> dict[str, str]:
        which = DESCRIPTIONS[short][0]
        key = commands_key(None, params.get("language_code"))[1]
        return {which: self._descriptions.get((which, key), "")}

    def _set_chat_menu_button(self, params: dict[str, Any]) -> bool:
        chat_id = params.get("chat_id")
        if chat_id is not None:
            chat_id = self._target_chat(params).id
        button = params.get("menu_button") or {"type": "default"}
        if not isinstance(button, dict) or button.get("type") not in (
            "commands",
            "web_app",
            "default",
        ):
            raise bad_request("can't parse menu button JSON object")
        self._menu_buttons[chat_id] = button
        return True

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._target_chat(params)
        validate_reply_markup(params.get("reply_markup"))
        text, entities, html = self._formatted(params, "text", "entities", MAX_TEXT)
        reply_to = self._reply_target(chat, params)
        message = BotMessage(
            chat_id=chat.id,
            message_id=chat.allocate_message_id(),
            text=text,
            html=html,
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            entities=entities,
            date=int(time.time()),
        )
        return self._store_sent(chat, message, reply_to)

    def _send_media(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        chat = self._target_chat(params)
        validate_reply_markup(params.get("reply_markup"))
        stored = self._input_file(params.get(kind), kind)
        caption, entities, html = self._formatted(
            params, "caption", "caption_entities", MAX_CAPTION, required=False
        )
        if kind == "photo" and not stored.content.startswith(IMAGE_SIGNATURES):
            raise bad_request("IMAGE_PROCESS_FAILED")
        reply_to = self._reply_target(chat, params)
        message = BotMessage(
            chat_id=chat.id,
            message_id=chat.allocate_message_id(),
            text=None,
            html=html,
            parse_mode=params.get("parse_mode"),
            reply_markup=params.get("reply_markup"),
            kind=kind,
            file_bytes=stored.content,
            file_name=stored.file_name,
            caption=caption,
            entities=entities,
            date=int(time.time()),
            file_id=stored.file_id,
            mime_type=stored.mime_type,
        )
        return self._store_sent(chat, message, reply_to)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        if message.kind != "text":
            raise bad_request("there is no text in the message to edit")
        markup = params.get("reply_markup")
        validate_reply_markup(markup)
        text, entities, html = self._formatted(params, "text", "entities", MAX_TEXT)
        if (text, entities, inline_only(markup)) == (
            message.text,
            message.entities,
            inline_only(message.reply_markup),
        ):
            raise bad_request(NOT_MODIFIED)
        message.text, message.entities, message.html = text, entities, html
        message.parse_mode = params.get("parse_mode")
        message.reply_markup = markup
        return self._store_edit(chat, message)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        chat, message = self._editable(params)
        markup = params.get("reply_markup")
        validate_reply_markup(markup)
        if inline_only(markup) == inline_only(message.reply_markup):
            raise bad_request(NOT_MODIFIED)
        message.reply_markup = markup
        return self._store_edit(chat, message)

    def _delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        message = chat.bot_messages.get(message_id) if isinstance(message_id, int) else None
        if message is not None and not message.deleted:
            message.deleted = True
            self._log(chat.id, "deleted", f"x deleted: {describe_message(message)}")
        elif chat.user_messages.pop(message_id, None) is not None:
            self._log(chat.id, "deleted", f"x deleted user message #{message_id}")
        else:
            raise bad_request("message to delete not found")
        return True

    def _answer_callback_query(self, params: dict[str, Any]) -> bool:
        chat_id = self._pending_queries.pop(str(params.get("callback_query_id")), None)
        if chat_id is None:
            raise bad_request(QUERY_INVALID)
        text = params.get("text")
        line = f"[callback answer: {text}]" if text else "[callback answer]"
        if params.get("show_alert"):
            line += " (alert)"
        self._log(chat_id, "callback_answer", line)
        return True

    def _send_chat_action(self, params: dict[str, Any]) -> bool:
        chat = self._target_chat(params)
        action = params.get("action")
        if action not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        self._log(chat.id, "chat_action", f"[chat action: {action}]")
        return True

    # -- method helpers -----------------------------------------------------------------------

    def _target_chat(self, params: dict[str, Any]) -> _Chat:
        """The chat a method acts on: known (someone wrote from it) and not blocking the bot."""
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next(
                (c for c in self._chats.values() if c.info.get("username") == chat_id[1:]), None
            )
        else:
            chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise bad_request("chat not found")
        if chat.id in self._blocked:
            raise ApiError(403, BLOCKED)
        return chat

    def _editable(self, params: dict[str, Any]) -> tuple[_Chat, BotMessage]:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if isinstance(message_id, int) and message_id in chat.user_messages:
            raise bad_request("message can't be edited")
        message = chat.bot_messages.get(message_id) if isinstance(message_id, int) else None
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        return chat, message

    def _formatted(
        self,
        params: dict[str, Any],
        key: str,
        entities_key: str,
        limit: int,
        *,
        required: bool = True,
    ) -> tuple[str | None, list[dict[str, Any]], str | None]:
        """Parse text or caption per parse_mode; return (plain, entities, raw HTML or None)."""
        raw = params.get(key)
        raw = "" if raw is None else str(raw)
        mode = str(params.get("parse_mode") or "").lower()
        if mode == "html":
            try:
                text, entities = parse_html(raw)
            except HtmlParseError as error:
                raise bad_request(f"can't parse entities: {error}") from None
        elif mode in ("", "markdown", "markdownv2"):
            text, entities = raw, list(params.get(entities_key) or [])
        else:
            raise bad_request("unsupported parse_mode")
        text, entities = trim_text(text, entities)
        if not text:
            if required:
                raise bad_request("message text is empty")
            return None, [], None
        if utf16_len(text) > limit:  # characters as Telegram counts them: UTF-16 code units
            reason = "message is too long" if key == "text" else "message caption is too long"
            raise bad_request(reason)
        return text, entities, raw if mode == "html" else None

    def _reply_target(self, chat: _Chat, params: dict[str, Any]) -> dict[str, Any] | None:
        reference = params.get("reply_parameters")
        if not isinstance(reference, dict):
            reference = (
                {"message_id": params["reply_to_message_id"]}
                if "reply_to_message_id" in params
                else None
            )
        if reference is None:
            return None
        message_id = reference.get("message_id")
        if message_id in chat.user_messages:
            return copy.deepcopy(chat.user_messages[message_id])
        bot_message = chat.bot_messages.get(message_id)
        if bot_message is not None and not bot_message.deleted:
            return self._message_payload(chat, bot_message)
        if reference.get("allow_sending_without_reply") or params.get(
            "allow_sending_without_reply"
        ):
            return None
        raise bad_request("message to be replied not found")

    def _input_file(self, value: Any, kind: str) -> _StoredFile:
        """An uploaded file or a file_id issued before; URLs can't be fetched offline."""
        if isinstance(value, UploadedFile):
            if not value.content:
                raise bad_request("file must be non-empty")
            stored = _StoredFile(
                file_id=self._new_file_id(kind),
                file_unique_id=f"AQAD{secrets.token_urlsafe(8)}",
                content=value.content,
                file_name=value.filename,
                mime_type=value.content_type,
            )
            self._files[stored.file_id] = stored
            return stored
        if isinstance(value, str) and value in self._files:
            return self._files[value]
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        if value:
            raise bad_request("wrong file identifier/HTTP URL specified")
        raise bad_request(f"there is no {kind} in the request")

    def _new_file_id(self, kind: str) -> str:
        return f"{FILE_ID_PREFIXES[kind]}{next(self._ids):06d}{secrets.token_urlsafe(12)}"

    def _file_fields(self, kind: str, size: int) -> dict[str, Any]:
        """File fields for a user's media, registered so the bot can re-send it by file_id."""
        stored = _StoredFile(
            file_id=self._new_file_id(kind),
            file_unique_id=f"AQAD{secrets.token_urlsafe(8)}",
            content=USER_FILE_HEADERS[kind].ljust(size, b"\0"),
            file_name=None,
            mime_type=None,
        )
        with self._cond:
            self._files[stored.file_id] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": size,
        }

    def _store_sent(
        self, chat: _Chat, message: BotMessage, reply_to: dict[str, Any] | None
    ) -> dict[str, Any]:
        chat.bot_messages[message.message_id] = message
        self._log(chat.id, "sent", f"< {describe_message(message)}", message)
        payload = self._message_payload(chat, message)
        if reply_to is not None:
            payload["reply_to_message"] = reply_to
        return payload

    def _store_edit(self, chat: _Chat, message: BotMessage) -> dict[str, Any]:
        message.edits += 1
        self._log(chat.id, "edited", f"~ edited: {describe_message(message)}", message)
        return self._message_payload(chat, message)

    def _message_payload(self, chat: _Chat, message: BotMessage) -> dict[str, Any]:
        """The Bot API ``Message`` object for a bot message, in its current state."""
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self._bot_user(),
            "chat": copy.deepcopy(chat.info),
            "date": message.date,
        }
        entities_key = "entities"
        if message.kind == "text":
            payload["text"] = message.text
        else:
            entities_key = "caption_entities"
            payload[message.kind] = self._media_payload(message)
            if message.caption:
                payload["caption"] = message.caption
        if message.entities:
            payload[entities_key] = copy.deepcopy(message.entities)
        if message.edits:
            payload["edit_date"] = int(time.time())
        markup = inline_only(message.reply_markup)
        if markup:
            payload["reply_markup"] = copy.deepcopy(markup)
        return payload

    def _media_payload(self, message: BotMessage) -> Any:
        stored = self._files[message.file_id or ""]
        base = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.content),
        }
        if message.kind == "photo":
            width, height = image_size(stored.content)
            return [base | {"width": width, "height": height}]
        return base | {"file_name": stored.file_name, "mime_type": stored.mime_type}

    # -- control helpers ----------------------------------------------------------------------

    def _resolve_user(self, user: FakeUser | int) -> FakeUser:
        if isinstance(user, FakeUser):
            self._users.setdefault(user.id, user)
            return user
        return self._users.get(user) or self.user(user, f"User{user}")

    def _known_chat(self, info: dict[str, Any]) -> _Chat:
        chat = self._chats.get(info["id"])
        if chat is None:
            chat = self._chats[info["id"]] = _Chat(copy.deepcopy(info))
        return chat

    def _user_message(
        self, user: FakeUser | int, content: dict[str, Any], line: str
    ) -> dict[str, Any]:
        with self._cond:
            sender = self._resolve_user(user)
            chat = self._known_chat(sender.chat_dict())
            message = {
                "message_id": chat.allocate_message_id(),
                "from": sender.to_dict(),
                "chat": copy.deepcopy(chat.info),
                "date": int(time.time()),
            } | content
            chat.user_messages[message["message_id"]] = message
            self._log(chat.id, "user", line)
            return self._enqueue({"message": copy.deepcopy(message)})

    def _note_raw_update(self, chat: _Chat, update: dict[str, Any]) -> None:
        """Let later calls find what a raw update introduced (messages, callback queries)."""
        kind = update_type(update)
        content = update.get(kind) if kind else None
        content = content if isinstance(content, dict) else {}
        message_id = content.get("message_id")
        if isinstance(message_id, int):
            chat.next_message_id = max(chat.next_message_id, message_id + 1)
            if kind == "message":
                chat.user_messages[message_id] = copy.deepcopy(content)
        if kind == "callback_query" and "id" in content:
            self._pending_queries[str(content["id"])] = chat.id
        text = content.get("text")
        parts = [] if kind == "message" and text else [f"[{kind}]"]
        self._log(chat.id, "user", "> " + " ".join(parts + ([text] if text else [])))

    def _pressable(
        self, user: FakeUser | int, message: BotMessage | int
    ) -> tuple[FakeUser, _Chat, BotMessage]:
        sender = self._resolve_user(user)
        chat = self._chats.get(sender.id)
        message_id = message.message_id if isinstance(message, BotMessage) else message
        current = chat.bot_messages.get(message_id) if chat else None
        if current is None or current.deleted:
            raise AssertionError(f"no bot message #{message_id} in chat {sender.id} to press")
        return sender, chat, current

    def _queue_press(
        self, sender: FakeUser, chat: _Chat, message: BotMessage, label: str | None, data: str
    ) -> dict[str, Any]:
        query_id = str(next(self._ids) * 1_000_003 + sender.id)
        self._pending_queries[query_id] = chat.id
        shown = repr(label) if label is not None else "forged"
        self._log(chat.id, "user", f"> [pressed {shown} ({data})]")
        query = {
            "id": query_id,
            "from": sender.to_dict(),
            "message": self._message_payload(chat, message),
            "chat_instance": str(-chat.id * 7919),
            "data": data,
        }
        return self._enqueue({"callback_query": query})

    def _member_update(self, user_id: int, old: str, new: str) -> None:
        sender = self._resolve_user(user_id)
        chat = self._known_chat(sender.chat_dict())
        verb = "blocked" if new == "kicked" else "unblocked"
        self._log(chat.id, "member", f"[user {verb} the bot]")
        member = {"user": self._bot_user()}
        self._enqueue(
            {
                "my_chat_member": {
                    "chat": copy.deepcopy(chat.info),
                    "from": sender.to_dict(),
                    "date": int(time.time()),
                    "old_chat_member": member | {"status": old, "until_date": 0},
                    "new_chat_member": member | {"status": new, "until_date": 0},
                }
            }
        )

    def _enqueue(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update if its type is allowed now (Telegram filters at creation time)."""
        if not isinstance(update.get("update_id"), int):
            update = {"update_id": self._next_update_id} | update
        self._next_update_id = max(self._next_update_id, update["update_id"] + 1)
        kind = update_type(update)
        allowed = (
            kind in self._allowed_updates
            if self._allowed_updates
            else kind not in DEFAULT_EXCLUDED_UPDATES
        )
        if kind is None or allowed:
            self._updates.append(update)
            self._cond.notify_all()
        return copy.deepcopy(update)

    def _log(self, chat_id: int, kind: str, line: str, message: BotMessage | None = None) -> None:
        snapshot = copy.deepcopy(message)
        self._logs[chat_id].append(ChatEvent(kind, line, snapshot))
        self._cond.notify_all()

    def _transcript(self, chat_id: int, last: int | None = None) -> str:
        lines = [event.line for event in self._logs.get(chat_id, [])]
        return "\n".join(lines[-last:] if last else lines) or "(no activity)"

    # -- webhook delivery ---------------------------------------------------------------------

    def _deliver(self, hook: _Webhook) -> None:
        """POST queued updates one by one, in order, retrying with backoff until accepted."""
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        backoff = self.webhook_retry_initial
        while True:
            with self._cond:
                while self._webhook is hook and not self._updates:
                    self._cond.wait()
                if self._webhook is not hook:
                    return
                update = self._updates[0]
            outcome = self._post_update(opener, hook, update)
            with self._cond:
                self._deliveries.append((update["update_id"], outcome))
                if isinstance(outcome, int) and 200 <= outcome < 300:
                    if self._updates and self._updates[0] is update:
                        self._updates.pop(0)
                    backoff = self.webhook_retry_initial
                    continue
                hook.last_error_date = int(time.time())
                hook.last_error_message = (
                    f"Wrong response from the webhook: {outcome} {HTTPStatus(outcome).phrase}"
                    if isinstance(outcome, int)
                    else outcome
                )
                self._cond.wait(backoff)
                backoff = min(backoff * 2, self.webhook_retry_max)

    def _post_update(
        self, opener: urllib.request.OpenerDirector, hook: _Webhook, update: dict[str, Any]
    ) -> int | str:
        headers = {"Content-Type": "application/json"}
        if hook.secret_token:
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook.secret_token
        request = urllib.request.Request(
            hook.url, data=json.dumps(update).encode(), headers=headers, method="POST"
        )
        try:
            with opener.open(request, timeout=self.webhook_timeout) as response:
                return response.status
        except urllib.error.HTTPError as error:
            error.close()
            return error.code
        except (OSError, HTTPException, ValueError) as error:
            return f"{type(error).__name__}: {error}"

    # -- tiny HTTP control API for standalone use ---------------------------------------------

    def _control(self, action: str, query: str, body: bytes) -> tuple[int, Any]:
        try:
            args = dict(parse_qsl(query)) | (json.loads(body) if body else {})
            if action == "send_text":
                result: Any = self.send_text(int(args["user_id"]), str(args["text"]))
            elif action == "press_button":
                user_id, message_id = int(args["user_id"]), int(args["message_id"])
                result = self.press_button(user_id, message_id, str(args["data"]))
            elif action == "messages":
                result = [
                    asdict(m) | {"file_bytes": len(m.file_bytes or b"")}
                    for m in self.messages(int(args["chat_id"]))
                ]
            elif action == "transcript":
                result = self.transcript(int(args["chat_id"]))
            else:
                return 404, ApiError(404, "Not Found").payload()
        except (KeyError, TypeError, ValueError, AssertionError) as error:
            return 400, ApiError(400, f"Bad Request: {error!r}").payload()
        return 200, {"ok": True, "result": result}


def _chat_id(chat: FakeUser | int) -> int:
    return chat.id if isinstance(chat, FakeUser) else chat


def _number_param(params: dict[str, Any], key: str, default: float) -> float:
    try:
        return float(params.get(key, default))
    except (TypeError, ValueError):
        raise bad_request(f"invalid {key} specified") from None


# -- HTTP plumbing ----------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """Threaded server that can cut keep-alive connections on stop."""

    def __init__(self, address: tuple[str, int], api: FakeBotApi) -> None:
        self.api = api
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up (cancelled long polls, timeouts) are normal here."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls
    server: _Server

    def do_GET(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = urlsplit(self.path)
        status, payload = self.server.api.handle_http(
            url.path, url.query, self.headers.get("Content-Type", ""), body
        )
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_POST = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


def main(argv: list[str] | None = None) -> None:
    """Serve until Ctrl-C, for trying the bot by hand against the fake."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    args = parser.parse_args(argv)
    api = FakeBotApi(args.token, host=args.host, port=args.port).start()
    print(api.base_url, flush=True)
    print(
        f"control: POST http://127.0.0.1:{api.port}/_control/send_text "
        '{"user_id": 1001, "text": "/start"}; '
        f"GET http://127.0.0.1:{api.port}/_control/messages?chat_id=1001",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        api.stop()


if __name__ == "__main__":
    main()
