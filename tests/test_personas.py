"""A seller in, the advice out: each persona's bottleneck, red flags and key findings."""

from __future__ import annotations

import json

import pytest

from advice.data import LEVERS
from advice.engine import Assessment, assess, default_rulebook
from advice.profile import Profile
from advice.render import render
from tests.personas import HEALTHY, PERSONAS, Persona

LANGS = ("en", "zh")
RED_FLAGS = {r.id for r in default_rulebook().rules if r.red_flag}


def _assess(persona: Persona) -> Assessment:
    return assess(Profile.from_dict(persona.profile))


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_persona_gets_the_expected_diagnosis(persona: Persona) -> None:
    assessment = _assess(persona)
    found = {f.id for f in assessment.findings}
    assert assessment.bottleneck == persona.bottleneck
    assert set(assessment.red_flags) == persona.red_flags
    assert persona.must_find <= found, f"missing {persona.must_find - found}"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p.name)
def test_persona_advice_renders_in_every_format(persona: Persona, lang: str) -> None:
    assessment = _assess(persona)
    text = render(assessment, lang, "text")
    html = render(assessment, lang, "html")
    data = json.loads(render(assessment, lang, "json"))
    bottleneck_name = {"en": {"traffic": "traffic", "conversion": "conversion",
                              "order_value": "order value", "repeat": "repeat purchases"},
                       "zh": {"traffic": "流量", "conversion": "转化率",
                              "order_value": "客单价", "repeat": "复购"}}[lang][persona.bottleneck]
    assert bottleneck_name in text and bottleneck_name in html
    assert data["bottleneck"] == persona.bottleneck
    assert set(data["red_flags"]) == persona.red_flags
    assert data["language"] == lang


def test_every_lever_is_the_bottleneck_of_some_persona() -> None:
    assert {p.bottleneck for p in PERSONAS} == set(LEVERS)


def test_every_red_flag_is_raised_by_some_persona_and_absent_from_the_healthy_seller() -> None:
    raised = set().union(*(p.red_flags for p in PERSONAS))
    assert raised == RED_FLAGS
    assert _assess(Persona("healthy", HEALTHY, "order_value")).red_flags == ()


def test_the_healthy_seller_gets_no_findings_and_is_told_so() -> None:
    assessment = assess(Profile.from_dict(HEALTHY))
    assert assessment.findings == ()
    assert "No rule found a problem" in render(assessment, "en", "text")
    assert "没有发现明显问题" in render(assessment, "zh", "text")
