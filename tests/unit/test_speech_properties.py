"""Properties of speech understanding that hold for every utterance, not only the table's."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.engine import Choose, ChooseMany, Rate, Step
from bot.domain.questionnaire import NodeKind
from bot.domain.speech import Intent, spoken_phrases, understand
from tests.unit.test_speech_table import CATALOG, HEARD_AT, ROWS, meaning, step_of

NOISE = ("嗯", "啊", "呃", "额", "哦", "那个", "这个", "就是", "然后", "我觉得", "其实", "怎么说呢", "嗯嗯", "呃呃")
ANSWERED = [row for row in ROWS if not row[2].startswith("@") and row[2] != "text"]
CHOICE_NODES = [
    (q.id, n.id) for q in CATALOG.by_id.values() for n in q.nodes if n.kind in (NodeKind.SINGLE, NodeKind.MULTI)
]


def _boundaries(utterance: str) -> list[int]:
    """Where a caller may pause: the start, the end, after each comma or full stop."""
    return [0, len(utterance), *(i + 1 for i, c in enumerate(utterance) if c in "，,。、 ")]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(row=st.sampled_from(ANSWERED), data=st.data())
def test_filler_words_and_recogniser_noise_never_change_the_answer(
    row: tuple[str, str, str, str], data: st.DataObject
) -> None:
    qid, node_id, expected, utterance = row
    noisy = utterance
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.sampled_from(_boundaries(noisy)))
        word = data.draw(st.sampled_from(NOISE)) + data.draw(st.sampled_from(("", "，", "……", " ")))
        noisy = noisy[:at] + word + noisy[at:]
    heard = understand(step_of(CATALOG.get(qid), node_id), noisy, HEARD_AT)
    assert meaning(heard.given, heard.intent, noisy) == expected, noisy


@settings(max_examples=400, deadline=None)
@given(place=st.sampled_from(CHOICE_NODES), data=st.data())
def test_an_option_said_negated_never_maps_to_that_option(place: tuple[str, str], data: st.DataObject) -> None:
    step = step_of(CATALOG.get(place[0]), place[1])
    option = data.draw(st.sampled_from(step.options))
    said = spoken_phrases(option.label, option.synonyms)
    positive = [core for core, negative in said if not negative and (core, True) not in said]
    if not positive:
        return
    phrase = data.draw(st.sampled_from(positive))
    # a negation word that is itself one of the option's phrases (没 for 没有) is an answer, not a negation
    words = ("不", "没", "没有", "不是", "不太", "并不", "一点也不")
    negations = [n for n in words if not any(core in n for core, _ in said)]
    if not negations:
        return
    negation = data.draw(st.sampled_from(negations))
    heard = understand(step, negation + phrase, HEARD_AT)
    chosen = heard.given.codes if isinstance(heard.given, ChooseMany) else ()
    assert heard.given != Choose(option.code, step.node_id) and option.code not in chosen, negation + phrase


DIGITS_CN = "零一二三四五六七八九十"


@settings(deadline=None)
@given(value=st.integers(1, 10), form=st.sampled_from(("{d}分", "{cn}分", "{w}分", "打个{cn}分", "给{d}分吧", "{cn}")))
def test_a_score_said_in_digits_chinese_numerals_or_full_width_is_that_score(value: int, form: str) -> None:
    rating = Step("r", 0, NodeKind.RATING, "请打分", scale=(0, 10))
    wide = str(value).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    said = form.format(d=value, cn=DIGITS_CN[value], w=wide)
    heard = understand(rating, said)
    assert heard.intent is Intent.ANSWER and heard.given == Rate(value, "r"), said
