"""Speech on a voice call understood for the current question (the first, literal version)."""

from __future__ import annotations

from datetime import datetime

from bot.domain.engine import BookCallback, Choose, ChooseMany, FreeText, Rate, Step, StepOption
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


Q2 = Step("q2", 5, NodeKind.SINGLE, "主要原因是什么？",
          options=(StepOption(0, "no_stock", "缺车", ("没现车", "没货")),
                   StepOption(1, "price_value", "价格/价值", ("太贵",)),
                   StepOption(2, "sales", "销售人员表现", ("态度",))))  # fmt: skip


def test_an_option_is_heard_by_its_declared_synonyms_and_by_each_part_of_its_label() -> None:
    assert understand(Q2, "主要是你们没现车").given == Choose("no_stock", "q2")
    assert understand(Q2, "太贵了").given == Choose("price_value", "q2")
    assert understand(Q2, "价值").given == Choose("price_value", "q2")


def test_a_sound_alike_answer_is_taken_and_marked_as_heard_by_sound() -> None:
    heard = understand(Q2, "主要是价直")  # 价值 as a recogniser may write it
    assert heard.given == Choose("price_value", "q2") and heard.by_sound
    assert understand(Q2, "消受人员表现").given == Choose("sales", "q2")  # 消受 for 销售
    assert not understand(Q2, "价值").by_sound


def test_below_the_confidence_floor_no_answer_is_taken_but_a_request_to_stop_is_honoured() -> None:
    assert understand(Q2, "太贵了", confidence=0.2).intent is Intent.UNCLEAR
    assert understand(Q2, "太贵了", confidence=0.9).given == Choose("price_value", "q2")
    assert understand(Q2, "太贵了", confidence=0.0).given == Choose("price_value", "q2")  # 0.0: not reported
    assert understand(Q2, "太贵了", confidence=0.2, min_confidence=0.1).given == Choose("price_value", "q2")
    assert understand(Q2, "别再给我打电话了", confidence=0.1).intent is Intent.OPT_OUT
    assert understand(Q2, "转人工", confidence=0.1).intent is Intent.PERSON


def test_our_own_words_and_a_labour_charge_are_not_requests() -> None:
    assert understand(Q2, "不打扰你了，就是太贵").given == Choose("price_value", "q2")
    labour = Step("q", 1, NodeKind.SINGLE, "哪方面？", options=(StepOption(0, "cost_high", "费用高", ("人工费",)),))
    assert understand(labour, "人工费太贵了").given == Choose("cost_high", "q")


def test_a_negated_option_is_not_that_option() -> None:
    satisfied = Step("s", 1, NodeKind.SINGLE, "满意吗？",
                     options=(StepOption(0, "yes", "满意"), StepOption(1, "no", "不满意")))  # fmt: skip
    assert understand(satisfied, "不太满意").given == Choose("no", "s")
    assert understand(satisfied, "没有不满意").given == Choose("yes", "s")
    assert understand(satisfied, "挺满意的").given == Choose("yes", "s")
    only_yes = Step("s", 1, NodeKind.SINGLE, "满意吗？",
                    options=(StepOption(0, "yes", "满意"), StepOption(1, "x", "其他")))  # fmt: skip
    assert understand(only_yes, "不满意").intent is Intent.UNCLEAR


def test_warm_up_loads_the_pinyin_dictionaries_so_the_first_caller_does_not_wait_for_them() -> None:
    import sys

    from bot.domain.speech import warm_up

    warm_up()
    assert "pypinyin" in sys.modules


def test_stop_calling_is_an_opt_out_but_call_me_later_and_no_discount_are_not() -> None:
    callback = Step("c", 4, NodeKind.CALLBACK, "什么时间方便？")
    now = datetime(2026, 11, 24, 10, 0)
    for said in ("别打了", "不要再打了", "以后别给我打电话", "以后不要联系我了，明天也别打", "退订"):
        assert understand(callback, said, now).intent is Intent.OPT_OUT, said
    later = understand(callback, "现在别打，明天下午三点再打", now)
    assert later.intent is Intent.ANSWER and isinstance(later.given, BookCallback)
    discount = Step("m", 5, NodeKind.MULTI, "什么能让您回店？",
                    options=(StepOption(0, "discount", "工时优惠", ("打折",)),
                             StepOption(1, "pickup", "上门取送车")))  # fmt: skip
    assert understand(discount, "不要打折，上门取送车就行").given == ChooseMany(("pickup",), "m")
