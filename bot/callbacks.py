"""Button data: short, versioned strings that are parsed strictly, because anyone can forge them.

Formats (all fields are plain integers or short words, at most 64 bytes):
  a:<checkup>:<question>:<option>   answer a choice question
  m:<checkup>:<question>:<mask>     toggle in a multi-choice question (mask = chosen so far)
  md:<checkup>:<question>:<mask>    done with a multi-choice question
  bk|sk|dk:<checkup>:<question>     back / skip / don't know
  cu:go|restart                     continue or restart a check-up
  menu:checkup|help|checkin|language
  adv:why|more:<report>             explain a report / more actions
  wi:<lever>                        what if this lever reached the benchmark
  wi:ask                            which lever? (the what-if button under the advice)
  lang:en|zh                        choose the language
  del:yes|no                        confirm deletion
  co:yes|no                         accept or decline the offer of check-ins
  ci:go|snooze|skip|pause:<round>   a check-in message's buttons
  cia:<checkup>:<question>          "same as last time" in a check-in
  cif:<checkup>:<outcome>           did you try last time's top action
  cs:menu|resume                    check-in settings / resume after a pause
  csc:<cadence> csd:<0-6> csh:<0-23> csz:<index>|keep   cadence, day, hour, time zone
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATTERNS: dict[str, re.Pattern[str]] = {
    "a": re.compile(r"a:(\d{1,12}):(\d{1,3}):(\d{1,3})"),
    "m": re.compile(r"m:(\d{1,12}):(\d{1,3}):(\d{1,6})"),
    "md": re.compile(r"md:(\d{1,12}):(\d{1,3}):(\d{1,6})"),
    "bk": re.compile(r"bk:(\d{1,12}):(\d{1,3})"),
    "sk": re.compile(r"sk:(\d{1,12}):(\d{1,3})"),
    "dk": re.compile(r"dk:(\d{1,12}):(\d{1,3})"),
    "cu": re.compile(r"cu:(go|restart)"),
    "menu": re.compile(r"menu:(checkup|help|checkin|language)"),
    "adv": re.compile(r"adv:(why|more):(\d{1,12})"),
    "wi": re.compile(r"wi:(traffic|conversion|order_value|repeat|ask)"),
    "lang": re.compile(r"lang:(en|zh)"),
    "del": re.compile(r"del:(yes|no)"),
    "co": re.compile(r"co:(yes|no)"),
    "ci": re.compile(r"ci:(go|snooze|skip|pause):(\d{1,12})"),
    "cia": re.compile(r"cia:(\d{1,12}):(\d)"),
    "cif": re.compile(r"cif:(\d{1,12}):(tried|not_yet|not_relevant)"),
    "cs": re.compile(r"cs:(menu|resume)"),
    "csc": re.compile(r"csc:(daily|weekly|biweekly|off)"),
    "csd": re.compile(r"csd:([0-6])"),
    "csh": re.compile(r"csh:(\d|1\d|2[0-3])"),
    "csz": re.compile(r"csz:(\d{1,2}|keep)"),
}


@dataclass(frozen=True, slots=True)
class Callback:
    kind: str
    args: tuple[str, ...]

    def int(self, i: int) -> int:
        return int(self.args[i])


def parse_callback(data: str | None) -> Callback | None:
    """The parsed button data, or None for anything we did not send."""
    if not data or len(data.encode()) > 64:
        return None
    kind = data.split(":", 1)[0]
    pattern = _PATTERNS.get(kind)
    match = pattern.fullmatch(data) if pattern else None
    return Callback(kind, match.groups()) if match else None
