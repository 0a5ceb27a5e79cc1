"""Telegram's size limits, and long messages cut into parts that each fit.

Telegram refuses a text over 4,096 characters and a caption over 1,024, counted after the
HTML is parsed: tags count nothing and ``&amp;`` counts one. It counts in UTF-16 code units
(an emoji outside the basic plane counts two), which is what is counted here.

A message over its limit is cut where a reader would cut it: at the last blank line that
fits (between findings and paragraphs), else at the last line break, else at the last space,
and only as a last resort between two characters. A cut never falls inside a tag or a
character reference; a tag open across the cut is closed at the end of the part and opened
again at the start of the next, so every part is valid HTML on its own.

Checking costs next to nothing for a message that fits: its length in characters, or in
UTF-16 units, bounds what is visible, so only a message longer than the limit is parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

# A tag, a character reference, or one character (a stray "<" or "&" is one character here:
# what Telegram would refuse is refused there, not mended here).
_ATOM = re.compile(r"<[^<>]*>|&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z]{2,8});|.", re.DOTALL)
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9-]*)")
_PARAGRAPH, _LINE, _WORD = 3, 2, 1  # how good a cut is


@dataclass(frozen=True, slots=True)
class _Atom:
    start: int
    end: int
    units: int  # UTF-16 code units it shows (0 for a tag)
    char: str  # the character it shows ("" for a tag)
    tag: str | None = None  # for a tag, its name
    source: str = ""  # for an opening tag, its text (to open it again in the next part)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fits(html: str, limit: int) -> bool:
    """Whether the visible text of ``html`` is at most ``limit`` long; cheap when it is short."""
    if len(html) * 2 <= limit:  # even if every character counted two
        return True
    if utf16_units(html) <= limit:  # tags and references only shorten it
        return True
    return visible_length(html) <= limit


def visible_length(html: str) -> int:
    """The length Telegram counts: UTF-16 units of the text once the HTML is parsed."""
    return sum(atom.units for atom in _atoms(html))


def split_html(html: str, limit: int = TEXT_LIMIT, first_limit: int | None = None) -> list[str]:
    """``html`` as parts of at most ``limit`` visible units each (the first at most
    ``first_limit``: a caption followed by texts). The whitespace a cut falls on is
    dropped, as Telegram would trim it."""
    budget = limit if first_limit is None else first_limit
    if fits(html, budget):
        return [html]
    atoms = _atoms(html)
    parts: list[str] = []
    begin = 0  # where the part starts
    reopen: list[_Atom] = []  # the tags open there
    while (begin := _skip_blank(atoms, begin)) < len(atoms):
        cut, shown, open_at_cut = _cut(atoms, begin, reopen, budget)
        if shown:  # a part of tags and blanks only is not sent (Telegram refuses it)
            body = html[atoms[begin].start : atoms[cut - 1].end]
            closing = "".join(f"</{atom.tag}>" for atom in reversed(open_at_cut))
            parts.append("".join(atom.source for atom in reopen) + body + closing)
            budget = limit
        begin, reopen = cut, open_at_cut
    return parts


def _atoms(html: str) -> list[_Atom]:
    atoms = []
    for match in _ATOM.finditer(html):
        token = match.group()
        if len(token) == 1:
            atoms.append(_Atom(match.start(), match.end(), 2 if ord(token) > 0xFFFF else 1, token))
        elif token[0] == "&":  # a character reference shows one character
            atoms.append(_Atom(match.start(), match.end(), 1, "&"))
        else:
            name = _TAG_NAME.match(token)
            tag = name.group(1).lower() if name else ""
            atoms.append(
                _Atom(match.start(), match.end(), 0, "", tag, "" if token[1] == "/" else token)
            )
    return atoms


def _skip_blank(atoms: list[_Atom], begin: int) -> int:
    while begin < len(atoms) and atoms[begin].char.isspace():
        begin += 1
    return begin


def _cut(
    atoms: list[_Atom], begin: int, reopen: list[_Atom], budget: int
) -> tuple[int, int, list[_Atom]]:
    """Where the part starting at ``begin`` ends (an atom index), the units it shows, and
    the tags open there: the best cut that fits, or the end of the message if it fits."""
    opened = list(reopen)
    units = shown = 0  # units so far, and up to the last character that is not blank
    best: dict[int, tuple[int, int, list[_Atom]]] = {}
    last_break: tuple[int, int, list[_Atom]] | None = None  # a line break just before
    for index in range(begin, len(atoms)):
        atom = atoms[index]
        if atom.tag is not None:
            _track(opened, atom)
            continue
        if atom.char in "\n " and shown:
            here = (index, shown, list(opened))
            if atom.char == " ":
                best[_WORD] = here
            else:
                if last_break is not None:  # a blank line: cut before its first break
                    best[_PARAGRAPH] = last_break
                best[_LINE] = here
        if units + atom.units > budget:
            for kind in (_PARAGRAPH, _LINE, _WORD):
                if kind in best:
                    return best[kind]
            return index, shown, opened  # not one space in the part: between two characters
        units += atom.units
        if atom.char == "\n":
            last_break = here if shown else None
        elif not atom.char.isspace():
            shown, last_break = units, None
    return len(atoms), shown, opened


def _track(opened: list[_Atom], tag: _Atom) -> None:
    if tag.source:
        opened.append(tag)
        return
    for position in range(len(opened) - 1, -1, -1):
        if opened[position].tag == tag.tag:
            del opened[position]
            return
