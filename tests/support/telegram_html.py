"""Telegram's HTML parse mode, following TDLib's ``parse_html``.

Why: the fake Bot API must reject exactly the markup Telegram rejects (with Telegram's own
error texts), so formatting bugs in the bot fail in tests instead of in production.

Two deliberate differences: TDLib keeps a stray ``&`` or ``>`` literally, but the Bot API
documentation requires every ``<``, ``>`` and ``&`` that is not part of a tag or an entity
to be escaped ("All <, > and & symbols that are not a part of a tag or an HTML entity must be
replaced with the corresponding HTML entities"), so this parser rejects them. That catches
user input interpolated without ``html.escape``, and text that only works by TDLib's
leniency. Inside quoted attribute values (URLs) a stray ``&`` is accepted, as Telegram does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SPACES = " \t\r\n\v\f"
SUPPORTED_TAGS = frozenset(
    {
        "a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins",
        "tg-spoiler", "tg-emoji", "span", "pre", "code", "blockquote",
    }
)  # fmt: skip
SIMPLE_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


class HtmlParseError(ValueError):
    """The text is not valid Telegram HTML; the message is Telegram's reason."""


@dataclass
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    text_index: int
    expandable: bool


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(html: str) -> tuple[str, list[dict[str, Any]]]:
    """Return the plain text and the message entities of Telegram-flavoured HTML."""
    return _HtmlParser(html).parse()


def decode_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference at ``text[pos] == '&'`` as TDLib does.

    Returns the character and the position after the reference (the ``;`` is optional),
    or None when it is not one of &lt; &gt; &amp; &quot; or a numeric reference.
    """
    end = pos + 1
    if text.startswith("#", end):
        end += 1
        hexadecimal = text.startswith("x", end)
        digits, base = ("0123456789abcdefABCDEF", 16) if hexadecimal else ("0123456789", 10)
        end += hexadecimal
        start = end
        while end < len(text) and text[end] in digits:
            end += 1
        code = int(text[start:end], base) if end > start else 0
        if code == 0 or code >= 0x10FFFF or end - pos >= 10 or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < len(text) and text[end].isascii() and text[end].isalpha():
            end += 1
        char = NAMED_ENTITIES.get(text[pos + 1 : end])
        if char is None:
            return None
    return char, end + 1 if text.startswith(";", end) else end


class _HtmlParser:
    """One pass over the input, mirroring TDLib's state machine and error messages."""

    def __init__(self, html: str) -> None:
        self.src = html
        self.pos = 0
        self.out: list[str] = []
        self.utf16 = 0
        self.entities: list[dict[str, Any]] = []
        self.stack: list[_OpenTag] = []

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        while self.pos < len(self.src):
            char = self.src[self.pos]
            if char == "&":
                self._character_reference()
            elif char == "<":
                self._tag()
            elif char == ">":
                raise self._error('Character ">" must be escaped as "&gt;"', self.pos)
            else:
                self._emit(char)
                self.pos += 1
        if self.stack:
            raise HtmlParseError(
                f"Can't find end tag corresponding to start tag {self.stack[-1].name}"
            )
        for entity in self.entities:
            if entity["type"] == "code":
                entity.pop("language", None)
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    # -- scanning helpers -------------------------------------------------------------------

    def _char(self) -> str:
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def _at_end(self) -> bool:
        return self.pos >= len(self.src)

    def _skip_spaces(self) -> None:
        while not self._at_end() and self._char() in SPACES:
            self.pos += 1

    def _byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def _error(self, reason: str, index: int) -> HtmlParseError:
        return HtmlParseError(f"{reason} at byte offset {self._byte_offset(index)}")

    def _emit(self, char: str) -> None:
        self.out.append(char)
        self.utf16 += 2 if ord(char) > 0xFFFF else 1

    # -- grammar ----------------------------------------------------------------------------

    def _character_reference(self) -> None:
        decoded = decode_entity(self.src, self.pos)
        if decoded is None:
            raise self._error('Character "&" must be escaped as "&amp;"', self.pos)
        char, self.pos = decoded
        self._emit(char)

    def _tag(self) -> None:
        begin = self.pos
        self.pos += 1
        if self._char() == "/":
            self._end_tag(begin)
        else:
            self._start_tag(begin)

    def _start_tag(self, begin: int) -> None:
        while not self._at_end() and self._char() not in SPACES + ">":
            self.pos += 1
        if self._at_end():
            raise self._error("Unclosed start tag", begin)
        name = self.src[begin + 1 : self.pos].lower()
        if name not in SUPPORTED_TAGS:
            raise self._error(f'Unsupported start tag "{name}"', begin)
        argument, expandable = self._attributes(name, begin)
        self.pos += 1  # the closing '>'
        if name == "span" and argument != "spoiler":
            raise self._error('Tag "span" must have class "tg-spoiler"', begin)
        self.stack.append(_OpenTag(name, argument, self.utf16, len(self.out), expandable))

    def _attributes(self, tag: str, begin: int) -> tuple[str, bool]:
        """Read attributes up to '>'; return the tag's argument and the expandable flag."""
        argument, expandable = "", False
        while self._char() != ">":
            self._skip_spaces()
            if self._char() == ">":
                break
            name_begin = self.pos
            while not self._at_end() and self._char() not in SPACES + "=>":
                self.pos += 1
            name = self.src[name_begin : self.pos]
            if not name:
                raise self._error(f'Empty attribute name in the tag "{tag}"', begin)
            self._skip_spaces()
            if self._char() != "=":
                if tag == "blockquote" and name == "expandable":
                    expandable = True
                    continue
                raise self._error(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            self.pos += 1
            self._skip_spaces()
            if self._at_end():
                raise self._error(f'Unclosed start tag "{tag}"', begin)
            value = self._attribute_value()
            if self._at_end():
                raise self._error("Unclosed start tag", begin)
            argument = _tag_argument(tag, name, value, argument)
        return argument, expandable

    def _attribute_value(self) -> str:
        quote = self._char()
        if quote not in "'\"":
            token_begin = self.pos
            while not self._at_end() and (self._char().isalnum() or self._char() in ".-"):
                self.pos += 1
            if not self._at_end() and self._char() not in SPACES + ">":
                raise self._error("Unexpected end of name token", token_begin)
            return self.src[token_begin : self.pos].lower()
        self.pos += 1
        chars: list[str] = []
        while not self._at_end() and self._char() != quote:
            decoded = decode_entity(self.src, self.pos) if self._char() == "&" else None
            if decoded is None:
                chars.append(self._char())
                self.pos += 1
            else:
                char, self.pos = decoded
                chars.append(char)
        if self._char() == quote:
            self.pos += 1
        return "".join(chars)

    def _end_tag(self, begin: int) -> None:
        if not self.stack:
            raise self._error("Unexpected end tag", begin)
        while not self._at_end() and self._char() not in SPACES + ">":
            self.pos += 1
        end_name = self.src[begin + 2 : self.pos].lower()
        self._skip_spaces()
        if self._char() != ">":
            raise self._error("Unclosed end tag", begin)
        self.pos += 1
        opened = self.stack[-1]
        if end_name and end_name != opened.name:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {self._byte_offset(begin)}, "
                f'expected "</{opened.name}>", found "</{end_name}>"'
            )
        self.stack.pop()
        if self.utf16 > opened.utf16_offset:
            self._close_entity(opened)

    def _close_entity(self, tag: _OpenTag) -> None:
        entity: dict[str, Any] = {
            "offset": tag.utf16_offset,
            "length": self.utf16 - tag.utf16_offset,
        }
        last = self.entities[-1] if self.entities else None
        same_span = last is not None and (last["offset"], last["length"]) == (
            entity["offset"],
            entity["length"],
        )
        if tag.name in SIMPLE_ENTITY_TYPES:
            entity["type"] = SIMPLE_ENTITY_TYPES[tag.name]
        elif tag.name == "tg-emoji":
            if not tag.argument.isdigit() or int(tag.argument) == 0:
                raise HtmlParseError("Invalid custom emoji identifier specified")
            entity.update(type="custom_emoji", custom_emoji_id=tag.argument)
        elif tag.name == "a":
            entity.update(_link_entity(tag.argument or "".join(self.out[tag.text_index :])))
        elif tag.name == "blockquote":
            entity["type"] = "expandable_blockquote" if tag.expandable else "blockquote"
        elif tag.name == "pre" and same_span and last["type"] == "code" and "language" in last:
            last["type"] = "pre"
            return
        elif tag.name == "code" and same_span and last["type"] == "pre" and tag.argument:
            last["language"] = tag.argument
            return
        else:
            entity["type"] = tag.name
            if tag.name == "code" and tag.argument:
                entity["language"] = tag.argument
        self.entities.append(entity)


def _tag_argument(tag: str, attribute: str, value: str, current: str) -> str:
    """The attribute value TDLib keeps for this tag, or the current argument."""
    if tag == "a" and attribute == "href":
        return value
    if tag == "code" and attribute == "class" and value.startswith("language-"):
        return value.removeprefix("language-")
    if tag == "span" and attribute == "class" and value.startswith("tg-"):
        return value.removeprefix("tg-")
    if tag == "tg-emoji" and attribute == "emoji-id":
        return value
    return current


def _link_entity(url: str) -> dict[str, Any]:
    """A text_mention for tg://user links, else a text_link."""
    prefix = "tg://user?id="
    if url.startswith(prefix) and url.removeprefix(prefix).isdigit():
        user = {"id": int(url.removeprefix(prefix)), "is_bot": False, "first_name": ""}
        return {"type": "text_mention", "user": user}
    return {"type": "text_link", "url": url}
