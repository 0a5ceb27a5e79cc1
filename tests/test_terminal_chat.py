"""The check-up in a terminal, as a transcript: what the seller typed and what the coach said.

The seller makes a mistake and sees the hint, goes back, says "don't know", skips an optional
question, gets the advice with the bottleneck, and the saved profile loads back. The same runs
as the ``coach chat`` command in Chinese; input that ends early is a friendly stop, not a crash.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

from advice.profile import Profile
from bot.terminal import chat

ROOT = Path(__file__).resolve().parent.parent


class Seller:
    """Types the scripted replies one by one; the end of the script is the end of input."""

    def __init__(self, replies: Iterable[str]) -> None:
        self.replies = list(replies)
        self.prompts: list[str] = []

    def __call__(self, prompt: str) -> str:
        self.prompts.append(prompt)
        if not self.replies:
            raise EOFError
        return self.replies.pop(0)


# A menswear seller at mid prices who knows their figures except their weekly reach.
SCRIPT = [
    "1",  # What do you mainly sell? Menswear
    "2",  # prices: Mid-range
    "1",  # currency: CNY
    "1,2",  # channels: store and feed -> the posts question applies
    "don't know",  # new people a week
    "",  # posts a week: skipped (Enter)
    "a few",  # orders a week: not a number -> the hint
    "back",  # ... back to the posts question
    "12",  # posts a week, after all
    "10",  # orders a week
    "I write them myself",  # copywriting, by label
    "1",  # shows real buyer feedback: yes
    "1",  # replies within an hour
    "220",  # average order
    "2",  # buyers: young professionals
    "1",  # goods: first-hand (so no unsold-stock question)
    "1,2",  # styling advice, fast delivery
    "10%",  # repeat buyers
    "3",  # returns and follow-up
    "2",  # recruits agents: no
    "",  # shop name: skipped
    "why",  # after the advice: the reasons
    "",  # done
]


@pytest.fixture
def transcript(tmp_path: Path) -> tuple[int, str, Seller, Path]:
    saved = tmp_path / "profile.json"
    seller = Seller(SCRIPT)
    said: list[str] = []
    code = chat(ask=seller, say=said.append, lang="en", save=saved)
    return code, "\n".join(said), seller, saved


def test_the_whole_check_up_runs_to_the_advice(transcript: tuple[int, str, Seller, Path]) -> None:
    code, said, seller, _ = transcript
    assert code == 0
    assert seller.replies == []  # every scripted reply was used, none was missing
    assert "[Your shop - 1/19] What do you mainly sell?" in said


def test_a_wrong_answer_gets_the_problem_and_the_hint_then_the_question_again(
    transcript: tuple[int, str, Seller, Path],
) -> None:
    _, said, _, _ = transcript
    problem = (
        "I couldn't read a number in that. "
        "A number such as 12, or a range like 10-15. Zero is an honest answer."
    )
    assert problem in said
    after = said.split(problem, 1)[1]  # and "back" asks the question before it again
    assert after.lstrip().startswith(
        "[Traffic - 6/19] How many posts or videos do you publish in a week?"
    )


def test_back_returns_to_the_previous_question(transcript: tuple[int, str, Seller, Path]) -> None:
    _, said, _, _ = transcript
    assert said.count("How many posts or videos do you publish in a week?") == 2
    assert "  -> 12" in said


def test_dont_know_is_echoed_and_the_advice_states_the_assumption(
    transcript: tuple[int, str, Seller, Path],
) -> None:
    _, said, _, _ = transcript
    assert "  -> don't know" in said
    assert "You said you did not know these, so the advice assumes:" in said
    assert "• New people reached a week: 120" in said  # menswear at mid prices


def test_the_advice_names_the_bottleneck_and_what_to_do(
    transcript: tuple[int, str, Seller, Path],
) -> None:
    _, said, _, _ = transcript
    # 10% come back against 25% typical: the weakest lever
    assert "Bottleneck: repeat purchases." in said
    assert (
        "If repeat purchases reached the benchmark: monthly sales ¥9,526 -> ¥10,825 (+14%)" in said
    )
    assert "What to do first\n1. Contact every buyer once" in said
    assert "Want me to check in?" not in said  # a terminal cannot send check-ins
    # 'why' showed the reasons
    assert "Why this advice: every finding and the answers behind it" in said
    assert "Because: Buyers who came back: 10%; Typical repeat rate: 25%" in said


def test_the_saved_profile_loads_back(transcript: tuple[int, str, Seller, Path]) -> None:
    _, said, _, saved = transcript
    assert f"Saved to {saved}. Next time: coach advise {saved}" in said
    profile = Profile.load(saved)
    assert profile.weekly_reach == 120
    assert profile.assumed == ("weekly_reach",)
    assert profile.posts_per_week == 12
    assert profile.repeat_rate == pytest.approx(0.1)
    assert profile.channels == ("offline_store", "moments_feed")
    assert profile.shop_name is None  # skipped
    assert profile.unsold_stock_weeks is None  # not asked of a first-hand seller
    assert "Stopped" not in said


def test_quit_stops_without_saving(tmp_path: Path) -> None:
    said: list[str] = []
    saved = tmp_path / "profile.json"
    assert chat(ask=Seller(["1", "2", "quit"]), say=said.append, save=saved) == 0
    assert said[-1] == "Stopped. Nothing was saved."
    assert not saved.exists()


def test_back_on_the_first_question_says_so() -> None:
    said: list[str] = []
    chat(ask=Seller(["back"]), say=said.append)
    assert "This is the first question." in said


def test_input_ending_after_the_profile_was_saved_does_not_claim_nothing_was_saved(
    tmp_path: Path,
) -> None:
    saved = tmp_path / "profile.json"
    said: list[str] = []
    assert chat(ask=Seller(SCRIPT[:-2]), say=said.append, save=saved) == 0
    assert saved.exists()
    assert "Stopped. Nothing was saved." not in said


# --- as a command ---------------------------------------------------------------------------------

SCRIPT_ZH = [
    "男装",
    "中等",
    "CNY",
    "实体店，朋友圈/动态",
    "约150人",
    "10",
    "十单",
    "自己写",
    "有",
    "1",
    "220元",
    "年轻上班族",
    "1",
    "搭配/使用建议、快速发货",
    "不知道",  # repeat rate: half the typical 25% is assumed
    "3",
    "否",
    "",  # no shop name
    "",  # done
]


def coach_chat(args: list[str], replies: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", *args],
        input="".join(f"{reply}\n" for reply in replies),
        capture_output=True, text=True, encoding="utf-8", timeout=60, cwd=ROOT, env=env,
    )  # fmt: skip


def test_coach_chat_in_chinese_gives_chinese_advice_and_saves(tmp_path: Path) -> None:
    saved = tmp_path / "档案.json"
    result = coach_chat(["--lang", "zh", "--save", str(saved)], SCRIPT_ZH)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = result.stdout
    assert "[店铺 - 1/19] 你主要卖什么？" in out
    assert "月销售额估算：¥9,526" in out
    assert "瓶颈：复购。" in out
    assert "以下几项你选了“不知道”，建议按这些估计值计算：" in out
    assert f"已保存到 {saved}" in out
    profile = Profile.load(saved)
    assert profile.repeat_rate == pytest.approx(0.125)
    assert profile.assumed == ("repeat_rate",)
    assert json.loads(saved.read_text(encoding="utf-8"))["category"] == "menswear"


def test_coach_chat_stops_kindly_when_input_ends_midway(tmp_path: Path) -> None:
    saved = tmp_path / "profile.json"
    result = coach_chat(["--lang", "zh", "--save", str(saved)], SCRIPT_ZH[:3])
    assert result.returncode == 0
    assert result.stdout.rstrip().endswith("已退出，未保存任何内容。")
    assert "Traceback" not in result.stderr and "Error" not in result.stderr
    assert not saved.exists()


def test_after_the_check_up_the_commands_work_as_in_telegram(tmp_path: Path) -> None:
    said: list[str] = []
    after = ["/sold 180 2 cakes @Lena", "/sales", "/price 120 cost 50 ship 8", "/nosuch", ""]
    seller = Seller([*SCRIPT[:-2], *after])
    assert chat(ask=seller, say=said.append, lang="en", save=tmp_path / "profile.json") == 0
    shown = "\n".join(said)
    assert "Recorded: ¥180 · 2 x cakes · Lena" in shown
    assert "Your sales, week by week" in shown
    assert "Margin: ¥62 an order" in shown
    assert "I don't know that command" in shown


def test_a_bare_sold_in_the_terminal_asks_the_amount_then_who_with_numbered_buttons(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    after = ["/sold", "2", "2", "/sold", "180 2 cakes", "1", "Lena", "/sold", "75", "1", ""]
    seller = Seller([*SCRIPT[:-2], *after])
    assert chat(ask=seller, say=said.append, lang="en", save=tmp_path / "profile.json") == 0
    shown = "\n".join(said).split("How much was the sale?", 1)[1]
    # "2" after the prompt is an amount of 2, not the advice's second button
    assert "¥2\nWho bought it?" in shown and "  1. New customer\n  2. No customer" in shown
    assert "Recorded: ¥2\n" in shown
    assert "Type the new customer's nickname" in shown
    assert "Recorded: ¥180 · 2 x cakes · Lena" in shown
    assert "  1. Lena\n  2. New customer\n  3. No customer" in shown
    assert "Recorded: ¥75 · Lena" in shown
    assert seller.replies == []
