"""The seller profile is a strict public contract.

A valid profile survives a round trip through JSON unchanged. Every bad field gets exactly one
error naming the field, the value given and what is allowed; a value of the wrong type is an
error, never coerced; and all bad fields are reported at once. ``coach advise`` on a bad file
exits 2 and prints those errors.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from advice.profile import (
    REQUIRED,
    SHOP_NAME_MAX,
    FieldError,
    NumberRange,
    Profile,
    ProfileError,
)
from bot.cli import main
from tests.personas import HEALTHY, seller

ROOT = Path(__file__).resolve().parent.parent
NAN, INF = float("nan"), float("inf")


def _errors(data: Any) -> list[FieldError]:
    with pytest.raises(ProfileError) as caught:
        Profile.from_dict(data)
    return caught.value.errors


# --- a valid profile ---------------------------------------------------------------------


@pytest.fixture
def full_profile() -> dict[str, Any]:
    """Every field given, including the optional ones."""
    return seller(
        shop_name="Lao Wang's 男装 <b>shop</b>",
        assumed=["repeat_rate"],
        repeat_rate=0.125,
        measured=["weekly_orders", "average_order_value"],
        measured_days=30,
    )


def test_a_valid_profile_round_trips_through_json(full_profile: dict[str, Any]) -> None:
    profile = Profile.from_dict(full_profile)
    assert Profile.from_json(profile.to_json()) == profile
    assert Profile.from_dict(json.loads(json.dumps(profile.to_dict()))) == profile
    assert profile.to_dict() == {
        **full_profile,
        "weekly_orders": 10.0,
        "average_order_value": 220.0,
    }


def test_a_profile_file_loads(tmp_path: Path, full_profile: dict[str, Any]) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps(full_profile, ensure_ascii=False), encoding="utf-8")
    assert Profile.load(path) == Profile.from_dict(full_profile)


def test_lists_become_tuples_and_numbers_keep_their_kind() -> None:
    profile = Profile.from_dict(HEALTHY)
    assert profile.channels == tuple(HEALTHY["channels"])
    assert isinstance(profile.weekly_reach, int)
    assert isinstance(profile.weekly_orders, float)
    assert isinstance(profile.response_hours, float)


def test_only_the_required_fields_are_needed_and_the_rest_have_defaults() -> None:
    profile = Profile.from_dict({name: HEALTHY[name] for name in REQUIRED})
    assert profile.currency == "CNY"
    assert profile.social_proof is False
    assert profile.value_add == ()
    assert profile.response_hours is None
    assert profile.after_sales == "none"
    assert profile.recruits_agents is False
    assert profile.unsold_stock_weeks is None
    assert profile.posts_per_week is None
    assert profile.shop_name is None
    assert profile.assumed == ()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("response_hours", None),
        ("unsold_stock_weeks", None),
        ("posts_per_week", None),
        ("shop_name", None),
        ("channels", []),
        ("value_add", []),
        ("weekly_reach", 0),
        ("weekly_orders", 0),
        ("repeat_rate", 0),
        ("repeat_rate", 1),
        ("weekly_reach", 10_000_000),
        ("shop_name", "x" * SHOP_NAME_MAX),
        ("currency", "USD"),
    ],
)
def test_edge_values_that_are_allowed(name: str, value: Any) -> None:
    profile = Profile.from_dict(seller(**{name: value}))
    given = tuple(value) if isinstance(value, list) else value
    assert getattr(profile, name) == given


# --- one clear error per bad field -------------------------------------------------------

WHOLE_REACH = "a whole number from 0 to 10,000,000"
ORDERS = "a number from 0 to 1,000,000"
CHANNELS = "a list without repeats of: offline_store, moments_feed, groups"

BAD_FIELDS: list[tuple[str, Any, str]] = [
    # strings are never read as numbers or truth values
    ("weekly_reach", "10", WHOLE_REACH),
    ("weekly_orders", "10", ORDERS),
    ("social_proof", "yes", "true or false"),
    ("social_proof", "true", "true or false"),
    # 1/0 are not truth values, and truth values are not numbers
    ("social_proof", 1, "true or false"),
    ("recruits_agents", 0, "true or false"),
    ("weekly_orders", True, ORDERS),
    ("weekly_reach", False, WHOLE_REACH),
    # not finite, too large for a float, out of range, not whole
    ("weekly_orders", NAN, ORDERS),
    ("average_order_value", INF, "a number above 0 to 10,000,000"),
    ("repeat_rate", -INF, "a number from 0 to 1"),
    ("weekly_reach", 10**400, WHOLE_REACH),
    ("repeat_rate", 1.5, "a number from 0 to 1"),
    ("weekly_reach", -1, WHOLE_REACH),
    ("weekly_reach", 10_000_001, WHOLE_REACH),
    ("weekly_reach", 10.5, WHOLE_REACH),
    ("average_order_value", 0, "a number above 0"),
    ("response_hours", 721, "a number from 0 to 720, or null"),
    ("posts_per_week", "10", "a number from 0 to 1,000, or null"),
    # null only where a field is optional
    ("weekly_reach", None, WHOLE_REACH),
    ("category", None, "one of menswear, womenswear"),
    # choices are exact codes, not labels or other spellings
    ("category", "Menswear", "one of menswear, womenswear, jewellery"),
    ("price_tier", "cheap", "one of budget, mid, premium, luxury"),
    ("after_sales", "sometimes", "one of none, returns, returns_and_follow_up"),
    # lists: a list, of known items, without repeats
    ("channels", ["groups", "groups"], CHANNELS),
    ("channels", ["tiktok"], CHANNELS),
    ("channels", "groups", CHANNELS),
    ("value_add", ["warranty", 1], "a list without repeats of: styling_advice"),
    ("assumed", ["category"], "a list without repeats of: weekly_reach"),
    ("measured", ["weekly_reach"], "a list without repeats of: weekly_orders"),
    ("measured_days", 0, "a whole number of days from 1 to 90, or null"),
    ("measured_days", 91, "a whole number of days from 1 to 90"),
    ("measured_days", 14.5, "a whole number of days"),
    ("measured_days", True, "a whole number of days"),
    # currency codes are the ones with an exchange rate, in capitals
    ("currency", "XYZ", "an ISO 4217 currency code, one of CNY, USD"),
    ("currency", "usd", "an ISO 4217 currency code"),
    # shop name
    ("shop_name", "x" * (SHOP_NAME_MAX + 1), f"text of 1 to {SHOP_NAME_MAX} characters, or null"),
    ("shop_name", "", f"text of 1 to {SHOP_NAME_MAX} characters"),
    ("shop_name", 42, f"text of 1 to {SHOP_NAME_MAX} characters"),
]


@pytest.mark.parametrize(
    ("name", "value", "allowed"), BAD_FIELDS, ids=[f"{n}={v!r:.20}" for n, v, _ in BAD_FIELDS]
)
def test_a_bad_field_gets_exactly_one_clear_error(name: str, value: Any, allowed: str) -> None:
    [error] = _errors(seller(**{name: value}))
    assert error.field == name
    assert error.value is value  # the value as given, not a converted one
    assert allowed in error.allowed
    assert not error.missing
    assert str(error).startswith(f"{name}: got ")
    assert f"expected {error.allowed}" in str(error)


def test_an_unknown_field_is_an_error_that_lists_the_known_fields() -> None:
    [error] = _errors(seller(colour="red"))
    assert (error.field, error.value) == ("colour", "red")
    assert error.allowed == (
        "no such field; known: after_sales, assumed, audience, average_order_value, category, "
        "channels, copywriting, currency, measured, measured_days, posts_per_week, price_tier, "
        "recruits_agents, "
        "repeat_rate, response_hours, shop_name, social_proof, supply_tier, "
        "unsold_stock_weeks, value_add, weekly_orders, weekly_reach"
    )


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_a_missing_required_field_is_an_error(name: str) -> None:
    data = dict(HEALTHY)
    del data[name]
    [error] = _errors(data)
    assert error.field == name
    assert error.missing
    assert error.value is None
    assert error.allowed  # says what the field accepts
    assert str(error) == f"{name}: missing; expected {error.allowed}"


def test_several_bad_fields_are_all_reported_at_once() -> None:
    data = seller(weekly_reach="10", social_proof="yes", currency="XYZ", colour="red")
    del data["category"]
    errors = _errors(data)
    assert sorted(e.field for e in errors) == [
        "category", "colour", "currency", "social_proof", "weekly_reach",
    ]  # fmt: skip
    with pytest.raises(ProfileError) as caught:
        Profile.from_dict(data)
    message = str(caught.value)
    for error in errors:
        assert f"  - {error}" in message


@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_every_bad_field_is_reported_wherever_an_unknown_field_stands(position: str) -> None:
    bad = {"weekly_reach": -1, "copywriting": "stolen", "posts_per_week": "many"}
    fields = list(seller(**bad).items())
    at = {"first": 0, "middle": len(fields) // 2, "last": len(fields)}[position]
    fields[at:at] = [("colour", "red"), ("size", "XL")]
    errors = _errors(dict(fields))
    assert sorted(e.field for e in errors) == sorted([*bad, "colour", "size"])
    assert all(e.value == dict(fields)[e.field] for e in errors)


def test_the_error_lists_each_bad_field_on_its_own_line() -> None:
    data = seller(weekly_reach=-1, copywriting="stolen")
    with pytest.raises(ProfileError) as caught:
        Profile.from_dict(data)
    assert str(caught.value) == (  # in the order the fields were given
        "invalid seller profile:\n"
        "  - weekly_reach: got -1; expected a whole number from 0 to 10,000,000\n"
        "  - copywriting: got 'stolen'; expected one of original, mixed, copied"
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("category", "one of menswear, womenswear, jewellery, beauty, food, home, other"),
        ("channels", "a list of: offline_store, moments_feed, groups, short_video, paid_ads, "
                     "marketplace, referrals, acquaintances"),
        ("weekly_orders", "a number from 0 to 1,000,000"),
        ("repeat_rate", "a number from 0 to 1"),
    ],
)  # fmt: skip
def test_a_missing_field_says_what_it_accepts(name: str, expected: str) -> None:
    data = dict(HEALTHY)
    del data[name]
    [error] = _errors(data)
    assert error.allowed == expected


@pytest.mark.parametrize(
    ("bounds", "described"),
    [
        (NumberRange(0, 1), "a number from 0 to 1"),
        (NumberRange(0, 2.5), "a number from 0 to 2.5"),
        (NumberRange(0, 10), "a number from 0 to 10"),
        (NumberRange(0, 10.5), "a number from 0 to 10.5"),
        (NumberRange(0.5, 720), "a number from 0.5 to 720"),
        (NumberRange(0, 10_000_000, integer=True), "a whole number from 0 to 10,000,000"),
        (NumberRange(0, 10_000_000, low_inclusive=False), "a number above 0 to 10,000,000"),
    ],
)
def test_a_range_says_what_it_allows(bounds: NumberRange, described: str) -> None:
    assert bounds.describe() == described


@pytest.mark.parametrize("value", [[], ["repeat_rate", "weekly_reach"]])
def test_assumed_may_be_empty_or_name_estimated_numbers(value: list[str]) -> None:
    assert Profile.from_dict(seller(assumed=value)).assumed == tuple(value)


def test_the_json_of_a_profile_is_indented_and_keeps_its_characters() -> None:
    text = Profile.from_dict(seller(shop_name="老王男装")).to_json()
    assert '\n  "shop_name": "老王男装",\n' in text
    assert text.startswith('{\n  "category": "menswear",\n')


def test_text_that_is_not_json_is_quoted_back_in_its_first_40_characters() -> None:
    text = "category: menswear, weekly_reach: 120, channels: groups"
    [error] = _errors_of_json(text)
    assert error.value == text[:40]
    assert error.field == "profile"


def _errors_of_json(text: str) -> list[FieldError]:
    with pytest.raises(ProfileError) as caught:
        Profile.from_json(text)
    return caught.value.errors


def test_non_finite_numbers_are_refused_from_json_text() -> None:
    text = json.dumps(seller()).replace('"weekly_orders": 10', '"weekly_orders": NaN')
    text = text.replace('"average_order_value": 220', '"average_order_value": Infinity')
    with pytest.raises(ProfileError) as caught:
        Profile.from_json(text)
    errors = {e.field: e for e in caught.value.errors}
    assert set(errors) == {"weekly_orders", "average_order_value"}
    assert math.isnan(errors["weekly_orders"].value)
    assert errors["average_order_value"].value == INF


@pytest.mark.parametrize("text", ["[]", "null", '"menswear"', "42"])
def test_json_that_is_not_an_object_is_one_error(text: str) -> None:
    with pytest.raises(ProfileError) as caught:
        Profile.from_json(text)
    [error] = caught.value.errors
    assert (error.field, error.allowed) == ("profile", "a JSON object of fields")
    assert error.value == json.loads(text)  # what was given instead


def test_text_that_is_not_json_is_one_error() -> None:
    with pytest.raises(ProfileError) as caught:
        Profile.from_json('{"category": "menswear",')
    [error] = caught.value.errors
    assert error.field == "profile"
    assert error.allowed.startswith("valid JSON")


# --- coach advise --------------------------------------------------------------------------


@pytest.fixture
def bad_profile_file(tmp_path: Path) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(seller(weekly_reach="10", social_proof="yes", currency="XYZ")))
    return path


EXPECTED_ERROR_LINES = (
    "  - weekly_reach: got '10'; expected a whole number from 0 to 10,000,000",
    "  - social_proof: got 'yes'; expected true or false",
    "  - currency: got 'XYZ'; expected an ISO 4217 currency code",
)


def test_coach_advise_on_a_bad_profile_exits_2_with_the_field_errors(
    bad_profile_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(bad_profile_file)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert f"coach: {bad_profile_file}: invalid seller profile:" in err
    for line in EXPECTED_ERROR_LINES:
        assert line in err


def test_coach_advise_on_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["advise", str(tmp_path / "nowhere.json")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_coach_advise_on_a_good_profile_prints_the_advice(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.json"
    path.write_text(json.dumps(seller(weekly_reach=10, weekly_orders=1)))
    assert main(["advise", str(path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["bottleneck"] == "traffic"


def test_coach_advise_as_a_command_exits_2_with_the_field_errors(bad_profile_file: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "advise", str(bad_profile_file)],
        capture_output=True, text=True, encoding="utf-8", timeout=60, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    for line in EXPECTED_ERROR_LINES:
        assert line in result.stderr
    assert "Traceback" not in result.stderr
