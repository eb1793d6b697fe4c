"""Speech on a voice call understood for the current question (the first, literal version)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.engine import BookCallback, Choose, FreeText, Rate, Step, StepOption
from bot.domain.questionnaire import NodeKind
from bot.domain.speech import Intent, understand

SINGLE = Step("q1", 1, NodeKind.SINGLE, "请问您最后买了哪个品牌？",
              options=(StepOption(0, "other_brand", "其他品牌"), StepOption(1, "not_yet", "还没有购买")))  # fmt: skip


def test_an_option_said_by_its_label_or_its_key_number_is_that_answer() -> None:
    assert understand(SINGLE, "其他品牌。").given == Choose("other_brand", "q1")
    assert understand(SINGLE, "我还没有购买呢").given == Choose("not_yet", "q1")
    assert understand(SINGLE, "2").given == Choose("not_yet", "q1")


def test_asking_to_stop_calls_or_for_a_person_is_not_an_answer() -> None:
    assert understand(SINGLE, "你们别再打了！").intent is Intent.OPT_OUT
    assert understand(SINGLE, "转人工").intent is Intent.PERSON
    assert understand(SINGLE, "没听清，再说一遍").intent is Intent.REPEAT


def test_silence_or_something_else_is_unclear() -> None:
    assert understand(SINGLE, "").intent is Intent.UNCLEAR
    assert understand(SINGLE, "今天天气不错").intent is Intent.UNCLEAR


def test_ratings_free_text_and_callback_times_are_read_for_their_kinds() -> None:
    rating = Step("s", 2, NodeKind.RATING, "请打分", scale=(1, 5))
    assert understand(rating, "5分").given == Rate(5, "s")
    text = Step("t", 3, NodeKind.TEXT, "您的意见？", max_length=200)
    assert understand(text, " 价格再便宜点就好了 ").given == FreeText("价格再便宜点就好了", "t")
    callback = Step("c", 4, NodeKind.CALLBACK, "什么时间方便？")
    now = datetime(2026, 11, 24, 10, 0)
    heard = understand(callback, "明天下午三点", now)
    assert isinstance(heard.given, BookCallback) and heard.given.at == datetime(2026, 11, 25, 15, 0)
