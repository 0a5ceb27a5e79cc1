"""Rule texts rendered: the Jinja environments, and findings with their texts in one
language and format.

Rule texts are Jinja2 templates kept in the rule files; report layouts are the ``.j2`` files
in ``advice/templates``. The HTML environment autoescapes, so anything a seller typed (a
shop name such as ``<b>x</b>`` or ``{{7*7}}``) appears literally; template *sources* come
only from our own data files, never from user input.
"""

from __future__ import annotations

from functools import cache, cached_property
from typing import Any, Literal

import jinja2
import markupsafe

from advice.data import DATA_DIR, LANGUAGES
from advice.engine import Assessment, Finding
from advice.formatting import Formatter
from advice.progress import Movement

Format = Literal["text", "html", "json"]
FORMATS: tuple[str, ...] = ("text", "html", "json")
TOP_ACTIONS = 3


@cache
def environment(fmt: str) -> jinja2.Environment:
    """One Jinja environment per output format (HTML escapes, text does not)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(DATA_DIR.parent / "templates"),
        autoescape=fmt == "html",
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@cache
def _compiled(fmt: str, source: str) -> jinja2.Template | None:
    """The rule text as a template; None for a text with no Jinja syntax (most of them),
    which renders as itself in both formats: only what expressions print is escaped."""
    if not any(mark in source for mark in ("{{", "{%", "{#")):
        return None
    return environment(fmt).from_string(source)


def _rule_text(fmt: str, finding: Finding, key: str, values: dict[str, Any], lang: str) -> str:
    """One text of the rule (``key``), rendered with ``values`` (see :func:`_rule_values`)."""
    texts = getattr(finding.rule, key)
    if not texts:
        return ""
    source = texts[lang]
    template = _compiled(fmt, source)
    if template is None:
        text = source.strip()
    else:
        # Shared: the rule's texts read the one dict of values, not a copy each (copying
        # them cost more than rendering). Templates cannot change it: what they set goes
        # to their own context.
        text = template.environment.concat(
            template.root_render_func(template.new_context(values, shared=True))
        ).strip()
    # Already escaped by the HTML environment: mark it so the report does not escape twice.
    return markupsafe.Markup(text) if fmt == "html" else text


def _rule_values(fmt: str, assessment: Assessment, f: Formatter) -> dict[str, Any]:
    """What rule texts may use: Jinja's globals, the assessment's context and ``f``."""
    return {**environment(fmt).globals, **assessment.context, "f": f}


class RenderedFinding:
    """A finding with its texts in one language and format, each rendered when first used:
    a report shows the texts of a few of its findings, and the reasons only on "why"."""

    def __init__(self, finding: Finding, fmt: str, values: dict[str, Any], f: Formatter) -> None:
        self.finding = finding
        self.rule = finding.id
        self.lever = finding.lever
        self.severity = finding.rule.severity
        self.red_flag = finding.rule.red_flag
        self.has_action = bool(finding.rule.action)
        self.because = finding.because
        self.impact = finding.impact if finding.impact and finding.impact.gain > 0 else None
        self._fmt, self._values, self._f = fmt, values, f

    @cached_property
    def message(self) -> str:
        return _rule_text(self._fmt, self.finding, "message", self._values, self._f.lang)

    @cached_property
    def action(self) -> str:
        return _rule_text(self._fmt, self.finding, "action", self._values, self._f.lang)

    @cached_property
    def example(self) -> str:
        return _rule_text(self._fmt, self.finding, "example", self._values, self._f.lang)

    @cached_property
    def because_text(self) -> list[tuple[str, str]]:
        return [(self._f.label(k), self._f.value(k, v)) for k, v in self.because.items()]


def render_findings(assessment: Assessment, fmt: str, f: Formatter) -> list[RenderedFinding]:
    """The assessment's findings, ranked, with texts escaped for ``fmt`` (JSON as text)."""
    escape_fmt = "html" if fmt == "html" else "text"
    values = _rule_values(escape_fmt, assessment, f)
    return [RenderedFinding(finding, escape_fmt, values, f) for finding in assessment.findings]


def new_actions(
    movement: Movement, assessment: Assessment, fmt: str, f: Formatter
) -> list[RenderedFinding]:
    """The top actions for the new bottleneck; none while the bottleneck stays where it was."""
    if not movement.bottleneck_changed:
        return []
    return [r for r in render_findings(assessment, fmt, f) if r.has_action][:TOP_ACTIONS]


def check_language(lang: str) -> None:
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}")


def check_format(fmt: str) -> str:
    """The format asked for ('txt' is accepted for 'text')."""
    fmt = "text" if fmt == "txt" else fmt
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    return fmt


def suffix(fmt: str) -> str:
    """The template's file suffix for a format: 'html', or 'txt' for plain text."""
    return "html" if fmt == "html" else "txt"
