"""The web page's form fields read as engine inputs, the texts of message nodes passed on the way to a question,
and the page's guards (CSRF field, rate limits): plain Python, no server."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from bot.domain.engine import BookCallback, Choose, ChooseMany, FreeText, Rate, answer, start, step_with_messages
from bot.domain.presentation import form_input
from bot.questionnaires.loading import load_file
from bot.rendering import TemplateRenderer
from bot.web.guard import RateLimiter, csrf_field, csrf_ok

EVERY_KIND = load_file(Path(__file__).resolve().parents[1] / "e2e" / "fixtures" / "every_kind.yaml")
CONTEXT = {"customer": {"title": "王先生"}, "store": {"name": "惠州江铃4S店"}}
NOW = datetime(2026, 11, 25, 10, 0)


def _walk(*inputs: object):  # type: ignore[no-untyped-def]
    renderer = TemplateRenderer()
    result = start(EVERY_KIND, CONTEXT, renderer)
    for given in inputs:
        result = answer(EVERY_KIND, result.state, given, renderer)  # type: ignore[arg-type]
    return result


def test_each_kind_of_question_reads_its_own_fields() -> None:
    opening = _walk().step
    assert form_input(opening, {"choice": ["0"]}) == Choose("agree", "opening")
    reasons = _walk(Choose("agree")).step
    assert form_input(reasons, {"choice": ["2", "0", "2"]}) == ChooseMany(("service", "price"), "reasons")
    score = _walk(Choose("agree"), ChooseMany(("price",))).step
    assert form_input(score, {"rating": ["１０"]}) == Rate(10, "score")
    remarks = _walk(Choose("agree"), ChooseMany(("price",)), Rate(9)).step
    assert form_input(remarks, {"text": ["很好\x00"]}) == FreeText("很好", "remarks")
    when = _walk(Choose("agree"), ChooseMany(("price",)), Rate(9), FreeText("好")).step
    assert form_input(when, {"slot": ["202611261000"]}, NOW) == BookCallback(datetime(2026, 11, 26, 10), "when", NOW)
    typed = form_input(when, {"when": ["明天下午3点"]}, NOW)
    assert isinstance(typed, BookCallback) and typed.at == datetime(2026, 11, 26, 15, 0)


def test_fields_that_are_not_an_answer_to_this_question_read_as_nothing() -> None:
    opening = _walk().step
    for fields in ({}, {"choice": ["7"]}, {"choice": ["-1"]}, {"choice": ["a"]}, {"rating": ["1"]}):
        assert form_input(opening, fields) is None, fields
    reasons = _walk(Choose("agree")).step
    assert form_input(reasons, {"choice": ["0", "9"]}) is None
    score = _walk(Choose("agree"), ChooseMany(("price",))).step
    assert form_input(score, {"rating": ["九"]}) is None


def test_a_question_reached_through_a_message_node_shows_that_message_again_after_a_reload() -> None:
    result = _walk(Choose("agree"))
    assert result.step.preamble == ("谢谢！一共只有几个问题。",)
    again = step_with_messages(EVERY_KIND, result.state, TemplateRenderer())
    assert again.preamble == result.step.preamble and again.node_id == "reasons"
    later = _walk(Choose("agree"), ChooseMany(("price",)))
    assert step_with_messages(EVERY_KIND, later.state, TemplateRenderer()).preamble == ()


def test_a_csrf_field_belongs_to_one_browser_and_one_link() -> None:
    key = b"k" * 32
    field = csrf_field(key, "cookie-of-this-browser", "token-one-abcdefghij")
    assert csrf_ok(key, "cookie-of-this-browser", "token-one-abcdefghij", field)
    assert not csrf_ok(key, "another-browser-cookie", "token-one-abcdefghij", field)
    assert not csrf_ok(key, "cookie-of-this-browser", "token-two-abcdefghij", field)
    assert not csrf_ok(key, None, "token-one-abcdefghij", field) and not csrf_ok(key, "c", "t", None)


def test_a_rate_limit_refuses_past_its_rate_and_refills_with_time() -> None:
    now = [0.0]
    limiter = RateLimiter(6, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(7)] == [True] * 6 + [False]
    assert limiter.allow("b")  # another key has its own bucket
    now[0] += 10.0  # 6 a minute: one more every 10 s
    assert limiter.allow("a") and not limiter.allow("a")


def test_a_flood_of_distinct_keys_keeps_the_limiter_small() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0], max_keys=100)
    for i in range(1000):
        now[0] += 0.001
        limiter.allow(f"address-{i}")
    assert len(limiter._buckets) <= 101
