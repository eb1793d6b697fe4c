"""What a customer said on a voice call, understood for the current step.

``understand(step, utterance, now, confidence=…)`` turns the speech recogniser's text (Twilio's
``SpeechResult`` and ``Confidence``, or any other provider's) into one of: an answer (an engine ``Input``), a
request to stop calling (opt-out), a request for a person, a request to repeat, or "unclear" (the dialog
re-prompts). Every voice adapter (TwiML, Aliyun, …) calls this one function.

How it reads an utterance, in order:

1. **Normalise.** NFKC (full-width letters and digits become ASCII: ``４分`` is ``4分``), lower case, spaces
   between Chinese characters dropped (recognisers put them between words), punctuation kept only as a
   clause boundary (``|``): a negation never reaches across a comma. Filler words and recogniser noise
   (嗯 啊 呃 哦 那个 这个 就是 然后 我觉得 其实 … and sentence-final 吧 呢 啦 呀 嘛) are removed; an utterance that
   is nothing but 嗯 / 恩 stays ``嗯`` (a yes). Degree words between a negation and what it negates are
   dropped (不太满意 / 不是很满意 / 不怎么满意 → 不满意; 一点也不 → 不), and 十分 before an adjective is 非常.
2. **Requests that are not answers**, at any question: opt-out (别再打了, 不要打了, 别打了, 退订, 不要再联系 …;
   but 现在别打，明天再打 names a time and asks for later, and 不要打折 is an answer), a person (转人工, 找人工,
   人工服务, 真人; but 人工费 is not one), repeat (再说一遍, 没听清, 信号不好 …). An opt-out is honoured even at
   low confidence: calling again after a misheard "stop" costs the customer far more than a lost survey costs
   the store.
3. **Low confidence.** ``confidence`` is the recogniser's own 0–1 score; ``None`` or exactly ``0.0`` mean "not
   reported" (several recognisers use 0.0 for that) and count as sure. Below ``min_confidence`` (default
   ``MIN_CONFIDENCE`` = 0.4) no answer is taken: the result is ``UNCLEAR`` and the dialog asks again, because
   recording a wrong answer is worse than asking twice. Requests (step 2) are still honoured.
4. **The answer, by the step's kind.**

   * single / multiple choice: every option is said by its *phrases*: the parts of its label (split at
     punctuation and brackets: ``价格/价值`` is 价格 and 价值; a part two options share, like the 有 of
     ``有，已经解决了`` and ``有，还没有解决``, names neither) and the ``synonyms`` declared on the option in the
     questionnaire file (``huifang scripts check`` refuses a synonym two options of a node share). A phrase is
     a *core* and a polarity: a leading 不 / 没 / 未 / 无 is the polarity (不满意 = 满意, negative; 没有 = 有,
     negative). Cores are found in the utterance longest first, without overlap; each found core takes the
     polarity of the negations right before it (没有不满意: two, so positive; 还没解决: one), and counts for
     the option that declared that core *with that polarity*. So 不太满意 is never 满意, and a negated phrase
     of an option that has no negative form counts for nothing (a negated option never maps to itself). A
     core followed by 没有 / 不用 / 不需要 / 算了 is negated as well (其他没有了). Options are ranked by the
     length of what was found for them, then by who was named first; a multiple choice takes every option
     found (价格高和品牌, 两个都有 …). An explicit spoken number picks by position: 选二, 第二个, 2号, 按2, or the
     number alone (一 / 两 / 2); a multiple choice reads 一和三, 1、3, 第一个和第三个.
   * If no phrase is found literally, the same search runs again on the *sound*: every character becomes its
     toneless pinyin (pypinyin, the character's most common reading), with the initials and finals that
     southern speakers and recognisers confuse merged (zh/z, ch/c, sh/s, n/l, eng/en, ing/in), so 价个高 is
     价格高 and 没有为题 is 没有问题. Only cores of two or more characters are matched by sound, and such an
     answer says so (``Understood.by_sound``) so a dialog may confirm it.
   * rating: a number said in any form (五分, 打个四分, 给4分, 四颗星, ``4``, 满分), the last one if the caller
     corrects themselves (五分，不对，四分); a number after 不是 is not the answer; two different numbers
     without a correction are unclear. On a 1–5 scale, words also rate (非常满意 5, 满意 4, 一般 3, 不满意 2,
     非常不满意 1), through the same negation rules as options; a number said wins over words.
   * free text: the recogniser's text verbatim (only trimmed); noise alone is unclear.
   * callback time: the time expression is cut out of the sentence (filler and words like 吧, 左右, 再打过来
     dropped) and read by ``bot.domain.callback_time.parse_callback_time``, the parser chat and the
     specialist's screen use; each clause is tried, the last first (明天不行，后天下午三点).

Why by hand: no library maps Chinese speech to a questionnaire's options (intent classifiers want training
data a dealership does not have, and must not guess on a survey answer). pypinyin is used for the sounds: a
pure-Python library with packaged dictionaries, no I/O after import and deterministic, so it is allowed in
the domain core (the import-linter contract forbids only I/O, framework and format libraries); it is
imported on first use, so commands that never hear speech do not pay for loading its dictionaries.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from bot.domain.callback_time import parse_callback_time
from bot.domain.engine import BookCallback, Choose, ChooseMany, FreeText, Input, Rate, Step, StepOption
from bot.domain.questionnaire import NodeKind

MIN_CONFIDENCE = 0.4  # below this recogniser confidence no answer is taken (see the module docstring)


class Intent(StrEnum):
    ANSWER = "answer"  # ``given`` holds the engine input
    OPT_OUT = "opt_out"  # 别再打了 / 不要打了: never call or message again
    PERSON = "person"  # 转人工: hand over to a person
    REPEAT = "repeat"  # 再说一遍: say the question again
    UNCLEAR = "unclear"  # nothing this step accepts: re-prompt


@dataclass(frozen=True)
class Understood:
    intent: Intent
    given: Input | None = None
    by_sound: bool = False  # the answer was matched by pinyin, not by the words: a dialog may confirm it


# --------------------------------------------------------------------------------------------------
# Vocabulary the recogniser's text is matched against (what customers say), not text shown to anyone.

_OPT_OUT_FOR_GOOD = re.compile(
    r"以后(都)?(别|不要|不用)(再)?(给我)?(打|联系)|再也(别|不要)|永远(别|不要)"
    r"|(别|不要|不用)(再)?(联系|骚扰)我?|退订|拉黑|别烦我|再打(我就)?投诉"
)
# 别打了 / 不要再打了; not 不要打折 / 打分 (an answer), not 不打扰您了 (our own words repeated)
_OPT_OUT = re.compile(r"(别|不要|不用|甭)(再)?(给我)?(打(?!折|分|扰|算|开|听|针|卡|车|字|球|牌|工)|来电|打过来)")
# 现在别打，明天再打: a time named with it asks for later, not for never
_LATER = re.compile(
    r"明天|后天|上午|下午|晚上|早上|中午|改天|晚点|晚一点|回头|过会|等会|一会|下次|下周|周[一二三四五六日天]"
    r"|星期|礼拜|[0-9零一二两三四五六七八九十]+点"
)
_PERSON = re.compile(
    r"(转|找|要|接|换|叫)(个|一个)?(人工|真人|活人|客服)"
    r"|人工(服务|客服|坐席|接听)"
    r"|真人|^人工$|找(你们)?(经理|负责人|领导)|(换|找)(个|一个)人(来|跟我|和我)"
)
_REPEAT = re.compile(
    r"(再|重新)(说|讲|念|问)(一|1)?(遍|次|下)|没听(清|懂|明白)|听不(清|懂|到|见)|重复(一)?(遍|下|次)"
    r"|你说(的是)?(什么|啥)|什么意思|啥意思|说慢(一)?点|大声(一)?点|声音(太)?小|信号(不好|差)"
)

_SEPARATORS = re.compile(r"[\s,.!?;:…~，。！？、；：…～“”\"'‘’（）()\[\]【】<>《》/\\|-]+")
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
# Fillers and recogniser noise: removed wherever they stand (longest first).
_FILLERS = re.compile(
    r"怎么说呢|怎么说|让我想想|我想想|想一想|就是说|我觉得|我感觉|我认为|其实|反正|然后|那个|这个|就是"
    r"|嗯+|恩+|啊+|呃+|额+|哦+|噢+|喔+|唔+|哎+|诶+|欸+|呀|吧|呢|啦|嘛|哈哈+|咯|喽|哇|喂"
)
_HM = re.compile(r"[嗯恩]")
_DEGREE_AFTER_NEGATION = re.compile(r"(不|没)(是)?(太|很|怎么(?!样)|大|特别|那么|非常|十分|够|算|完全|全)(?=\w)")
_NEGATION_WORDS = ((re.compile(r"一点(也|都|儿也|儿都)不"), "不"), (re.compile(r"并不"), "不"))
# Degree words say how much, not which option: dropped when matching options (not ratings: 很不满意 is 1).
_DEGREE = re.compile(r"很|太|特别|非常|挺|有点|有些|蛮|相当|十分|超级")
_VERY = re.compile(r"十分(?=满意|好|不错|差|糟|满足|开心|不)")

# Negations: a phrase starting with one is that phrase's core, negated.
_LEADING_NEGATION = ("不", "没", "未", "无")
# Read backwards from a core: a negation, or an adverb standing between one and the core.
_NEGATORS = ("不需要", "不要", "不用", "不想", "没有", "不是", "不", "没", "别", "未", "无")
_BETWEEN = ("还", "都", "也", "就", "再", "从来", "根本", "一直", "完全", "真", "什么", "啥", "怎么")
_AFTER_NEGATION = re.compile(r"^(没有|没了|不用|不需要|不要|算了|除外)了?(\||$)")  # 其他没有了; not 预约不用排队

_CN_DIGIT = {"零": 0, "〇": 0, "幺": 1, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6}
_CN_DIGIT |= {"七": 7, "八": 8, "九": 9}
_NUM = r"(?:\d{1,3}|[零〇幺一二两三四五六七八九十百]{1,4})"
_OPTION_NUMBER = re.compile(
    rf"第({_NUM})(?!次|天|年|回|名)(?:个|项|种|条|点)?|选(?:项|择|第)?({_NUM})|按({_NUM})|({_NUM})号|^({_NUM})(?:个|项)?$"
)
_NUMBER_LIST = re.compile(rf"^(?:第?{_NUM}(?:个|项|号)?(?:和|跟|与|还有|及|以及|\||加)?)+$")
_SCORE = re.compile(rf"(不是|不)?(?:打|给|评|算)?(?:个|了)?({_NUM})(分|星|颗星|个星|点)?")
_CORRECTION = re.compile(r"不对|不是|算了|还是|改成|改为|应该是|哦不")
_FULL_MARKS = re.compile(r"满分|一百分|100分")

# Verbal ratings on a 1–5 scale (the questions say "5分表示非常满意"), read like option synonyms.
_RATING_WORDS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (5, ("非常满意", "很满意", "特别满意", "超级满意", "相当满意", "太满意", "满意极了", "非常好", "很好",
         "特别好", "完美", "没得说", "无可挑剔")),
    (4, ("满意", "挺满意", "比较满意", "还算满意", "蛮满意", "不错", "挺好", "还不错", "好", "比较好")),
    (3, ("一般", "差不多", "还行", "还可以", "马马虎虎", "凑合", "过得去", "普通", "中等", "中规中矩", "说得过去")),
    (2, ("不满意", "不好", "不怎么样", "有点差", "差", "不太行", "不行")),
    (1, ("非常不满意", "很不满意", "特别不满意", "极不满意", "很差", "非常差", "太差", "特别差", "极差",
         "垃圾", "糟糕", "很糟糕")),
)  # fmt: skip


def understand(
    step: Step,
    utterance: str,
    now: datetime | None = None,
    *,
    confidence: float | None = None,
    min_confidence: float = MIN_CONFIDENCE,
) -> Understood:
    """The customer's intent for ``step`` from recognised speech.

    ``now``: naive store-local time, for callback times. ``confidence``: the recogniser's 0–1 score (None or
    0.0: not reported); below ``min_confidence`` no answer is taken (``UNCLEAR``), while opt-out, a person
    and repeat are still honoured.
    """
    said = normalise(utterance)
    flat = said.replace("|", "")
    if not flat:
        return Understood(Intent.UNCLEAR)
    if _OPT_OUT_FOR_GOOD.search(flat) or (_OPT_OUT.search(flat) and not _LATER.search(flat)):
        return Understood(Intent.OPT_OUT)
    if _PERSON.search(flat):
        return Understood(Intent.PERSON)
    if _REPEAT.search(flat):
        return Understood(Intent.REPEAT)
    if confidence and confidence < min_confidence:
        return Understood(Intent.UNCLEAR)
    given, by_sound = _answer(step, said, utterance, now)
    if given is None:
        return Understood(Intent.UNCLEAR)
    return Understood(Intent.ANSWER, given, by_sound)


def normalise(text: str) -> str:
    """The utterance as matched: NFKC, lower case, fillers gone, clauses separated by ``|`` (see above)."""
    original = text
    text = unicodedata.normalize("NFKC", text).lower()
    text = _CJK_SPACE.sub("", text)
    text = _SEPARATORS.sub("|", text)
    text = _FILLERS.sub("", text)
    for pattern, replacement in _NEGATION_WORDS:
        text = pattern.sub(replacement, text)
    text = _VERY.sub("非常", text)
    text = _DEGREE_AFTER_NEGATION.sub(r"\1", text)
    text = re.sub(r"\|+", "|", text).strip("|")
    if not text and _HM.search(original):
        return "嗯"  # nothing but fillers and a 嗯: a yes
    return text


# --------------------------------------------------------------------------------------------------
# Answers by kind


def _answer(step: Step, said: str, raw: str, now: datetime | None) -> tuple[Input | None, bool]:
    match step.kind:
        case NodeKind.SINGLE:
            return _single(step, said)
        case NodeKind.MULTI:
            return _multi(step, said)
        case NodeKind.RATING:
            return _rating(step, said)
        case NodeKind.TEXT:
            noise_only = not _FILLERS.sub("", said.replace("|", ""))
            return (None if noise_only else FreeText(raw.strip(), step.node_id)), False
        case NodeKind.CALLBACK if now is not None:
            at = _callback_time(raw, now)
            return (BookCallback(at, step.node_id, earliest=now) if at is not None else None), False
        case _:
            return None, False


def _single(step: Step, said: str) -> tuple[Input | None, bool]:
    picked = _option_numbers(said, len(step.options), many=False)
    if picked:
        return Choose(step.options[picked[0]].code, step.node_id), False
    ranked, by_sound = _ranked(_vocabulary(step.options), _DEGREE.sub("", said))
    if not ranked:
        return None, False
    return Choose(step.options[ranked[0]].code, step.node_id), by_sound


def _multi(step: Step, said: str) -> tuple[Input | None, bool]:
    picked = _option_numbers(said, len(step.options), many=True)
    by_sound = False
    if not picked:
        ranked, by_sound = _ranked(_vocabulary(step.options), _DEGREE.sub("", said))
        picked = sorted(ranked)
    if not picked:
        return None, False
    return ChooseMany(tuple(step.options[i].code for i in picked), step.node_id), by_sound


def _rating(step: Step, said: str) -> tuple[Input | None, bool]:
    low, high = step.scale or (1, 5)
    if _FULL_MARKS.search(said.replace("|", "")):
        return Rate(high, step.node_id), False
    value = _score_number(said)
    if value is not None:
        return Rate(value, step.node_id), False
    if (low, high) != (1, 5):
        return None, False
    ranked, by_sound = _ranked(_rating_vocabulary(), said)
    if not ranked:
        return None, False
    return Rate(_RATING_WORDS[ranked[0]][0], step.node_id), by_sound


def _callback_time(raw: str, now: datetime) -> datetime | None:
    text = unicodedata.normalize("NFKC", raw)
    clauses = [c for c in re.split(r"[,，。;；!！?？、\s…~～]+|\.{2,}", text) if c]
    candidates = [*reversed(clauses), "".join(clauses)]
    for candidate in candidates:
        kept = _TIME_CHARS.sub("", _TIME_NOISE.sub("", _FILLERS.sub("", candidate))).replace("点钟", "点")
        at = parse_callback_time(kept, now.date()) if kept else None
        if at is not None:
            return at
    return None


_TIME_NOISE = re.compile(r"左右|前后|以后|之后|以前|之前|的时候|这个|那个")
_TIME_CHARS = re.compile(
    r"[^0-9零〇一二两三四五六七八九十年月日号点时分半刻上下午早晨凌中傍晚今明后大天周星期礼拜个:./-]"
)


# --------------------------------------------------------------------------------------------------
# Numbers


def number(word: str) -> int | None:
    """A number written in digits or Chinese numerals (一…九十九, 两, 幺, 一百); None if it is not one."""
    if word.isdigit():
        return int(word)
    if all(c in _CN_DIGIT for c in word):
        return int("".join(str(_CN_DIGIT[c]) for c in word)) if len(word) <= 2 else None
    if word in ("百", "一百"):
        return 100
    if word.count("十") == 1 and "百" not in word:
        tens, _, ones = word.partition("十")
        if len(tens) > 1 or len(ones) > 1:
            return None
        t = _CN_DIGIT.get(tens, None) if tens else 1
        o = _CN_DIGIT.get(ones, None) if ones else 0
        if t is None or o is None:
            return None
        return t * 10 + o
    return None


def _option_numbers(said: str, count: int, *, many: bool) -> list[int]:
    """Option positions (0-based) named by number: 选二, 第二个, 2号, 按2, 二 alone; a list when ``many``."""
    clauses = said.split("|")
    if many and _NUMBER_LIST.match(said):
        found = [number(m) for m in re.findall(_NUM, said)]
    else:
        found = []
        for clause in clauses:
            for m in _OPTION_NUMBER.finditer(clause):
                found.append(number(next(g for g in m.groups() if g)))
    picked = list(dict.fromkeys(n - 1 for n in found if n is not None and 1 <= n <= count))
    if not picked or len(picked) != len(found):
        return []
    return picked if many else picked[-1:] if len(picked) == 1 else []


def _score_number(said: str) -> int | None:
    """The score said: the last one after a correction, none if two differ without one."""
    values: list[tuple[int, int, bool]] = []  # (position, value, has unit)
    for m in _SCORE.finditer(said):
        negated, word, unit = m.group(1), m.group(2), m.group(3)
        value = number(word)
        if value is None or (unit is None and word in ("一", "两") and m.end() < len(said)):
            continue  # 一般, 一点, 两个 … are not scores
        if negated:
            continue
        if unit == "点":
            unit = None  # 四点 is not a score unit; 四点五 is not read either
            if m.end() < len(said) and said[m.end()].isdigit():
                return None
        values.append((m.start(), value, unit is not None))
    if not values:
        return None
    with_unit = [v for v in values if v[2]]
    chosen = with_unit or values
    distinct = {v[1] for v in chosen}
    if len(distinct) == 1:
        return chosen[0][1]
    first, last = chosen[0], chosen[-1]
    if _CORRECTION.search(said[first[0] : last[0]]):
        return last[1]
    return None


# --------------------------------------------------------------------------------------------------
# Phrases: cores with a polarity, found literally or by sound


@dataclass(frozen=True)
class _Phrase:
    core: str
    negative: bool
    choice: int  # which option (or rating word group)


@dataclass(frozen=True)
class _Vocabulary:
    phrases: tuple[_Phrase, ...]  # longest core first
    by_core: dict[str, dict[bool, int]]  # core -> polarity -> choice
    cores: tuple[str, ...]  # every core once, longest first
    sounds: tuple[tuple[str, str], ...]  # (core, its sound key) for cores of 2+ characters, longest first


def spoken_phrases(label: str, synonyms: Sequence[str] = ()) -> tuple[tuple[str, bool], ...]:
    """What a caller may say for an option: (core, negative) for each label part and synonym."""
    parts = [p for p in _option_form(label).split("|") if p] + [_option_form(s).replace("|", "") for s in synonyms]
    return tuple(dict.fromkeys(_polar(p) for p in parts if p))


def _polar(phrase: str) -> tuple[str, bool]:
    """A phrase as (core, negative): 不满意 → (满意, True); a trailing 的 / 了 is dropped (好的 → 好)."""
    if len(phrase) > 1 and phrase[-1] in "的了":
        phrase = phrase[:-1]
    if len(phrase) > 2 and phrase[-1] == "过":
        phrase = phrase[:-1]
    if len(phrase) > 1 and phrase[0] in _LEADING_NEGATION:
        return phrase[1:], True
    return phrase, False


def _option_form(text: str) -> str:
    return _DEGREE.sub("", normalise(text))


@lru_cache(maxsize=512)
def _vocabulary(options: tuple[StepOption, ...]) -> _Vocabulary:
    label_parts = [
        {_polar(p) for p in _option_form(o.label).split("|") if p} for o in options
    ]  # a label part two options share names neither
    shared = {p for i, parts in enumerate(label_parts) for p in parts if any(p in q for q in label_parts[i + 1 :])}
    groups = []
    for o in options:
        phrases = [p for p in spoken_phrases(o.label) if p not in shared]
        phrases += [_polar(_option_form(s).replace("|", "")) for s in o.synonyms if _option_form(s)]
        groups.append(phrases)
    return _build(groups)


@lru_cache(maxsize=1)
def _rating_vocabulary() -> _Vocabulary:
    return _build([[_polar(normalise(w)) for w in words] for _, words in _RATING_WORDS])


def _build(groups: Sequence[Sequence[tuple[str, bool]]]) -> _Vocabulary:
    by_core: dict[str, dict[bool, int]] = {}
    phrases = []
    for choice, group in enumerate(groups):
        for core, negative in group:
            by_core.setdefault(core, {}).setdefault(negative, choice)
            phrases.append(_Phrase(core, negative, choice))
    phrases.sort(key=lambda p: -len(p.core))
    cores = sorted({p.core for p in phrases if len(p.core) >= 2}, key=lambda c: -len(c))
    every = tuple(dict.fromkeys(p.core for p in phrases))
    return _Vocabulary(tuple(phrases), by_core, every, tuple((c, _sound_key(c)) for c in cores))


def _ranked(vocabulary: _Vocabulary, said: str) -> tuple[list[int], bool]:
    """Choices found in ``said``, best first; and whether they were found by sound."""
    found = _find(vocabulary, said)
    by_sound = False
    if not found:
        found = _find_by_sound(vocabulary, said)
        by_sound = bool(found)
    weight: dict[int, int] = {}
    first: dict[int, int] = {}
    for position, length, choice in found:
        weight[choice] = weight.get(choice, 0) + length
        first.setdefault(choice, position)
    return sorted(weight, key=lambda c: (-weight[c], first[c])), by_sound


def _find(vocabulary: _Vocabulary, said: str) -> list[tuple[int, int, int]]:
    taken = [False] * len(said)
    found: list[tuple[int, int, int]] = []
    for core in vocabulary.cores:
        start = said.find(core)
        while start != -1:
            end = start + len(core)
            if not any(taken[start:end]) and (len(core) > 1 or _stands_alone(said, start, end)):
                for i in range(start, end):
                    taken[i] = True
                hit = _counts_for(vocabulary.by_core[core], said, start, end)
                if hit is not None:
                    found.append((start, len(core), hit))
            start = said.find(core, start + 1)
    return found


def _find_by_sound(vocabulary: _Vocabulary, said: str) -> list[tuple[int, int, int]]:
    keys = [_char_sound(c) for c in said]
    line = " " + " ".join(keys) + " "
    offsets = []  # character index of each key's start in ``line``
    at = 1
    for k in keys:
        offsets.append(at)
        at += len(k) + 1
    index_of = {o: i for i, o in enumerate(offsets)}
    taken = [False] * len(said)
    found: list[tuple[int, int, int]] = []
    for core, key in vocabulary.sounds:
        pattern = " " + key + " "
        pos = line.find(pattern)
        while pos != -1:
            start = index_of[pos + 1]
            end = start + len(core)
            if not any(taken[start:end]):
                for i in range(start, end):
                    taken[i] = True
                hit = _counts_for(vocabulary.by_core[core], said, start, end)
                if hit is not None:
                    found.append((start, len(core), hit))
            pos = line.find(pattern, pos + 1)
    return found


def _stands_alone(said: str, start: int, end: int) -> bool:
    """A one-character core (是, 对, 有, 贵 …) counts only where it is the answer, at the start or the end of its
    clause (是的, 对对对, 确实有, 太贵了), not inside other words (你是谁, 我是他老婆)."""
    clause_start = said.rfind("|", 0, start) + 1
    clause_end = len(said) if (bar := said.find("|", end)) == -1 else bar
    core = said[start:end]
    before = said[clause_start:start].strip(core + "不没还也都就再真确实")
    after = said[end:clause_end].strip(core + "了的啊过呀吧呢")
    return not before or not after


def _counts_for(polarities: dict[bool, int], said: str, start: int, end: int) -> int | None:
    """The choice a core found at ``start`` counts for, given the negations around it (None: none)."""
    negations, stopped = _negations_before(said, start, said[start:end])
    clause_start = said.rfind("|", 0, start) + 1
    if "不是" in said[clause_start:stopped]:
        negations += 1  # 不是价格的问题 / 也不是对你们不满意: 不是 denies the rest of its clause
    negative = negations % 2 == 1
    if _AFTER_NEGATION.match(said[end:]):
        negative = not negative
    return polarities.get(negative)


def _negations_before(said: str, start: int, core: str) -> tuple[int, int]:
    """How many negations stand right before a core: 没有不满意 two, 还没解决 one; a repeated answer
    (没有没有, 不是不是) is the same negation said twice, not a double one. Also where the reading stopped."""
    count = 0
    prefix = said[:start]
    while prefix:
        negator = next((n for n in _NEGATORS if prefix.endswith(n)), None)
        if negator is not None:
            count += 1
            prefix = prefix[: -len(negator)]
            if count == 1 and prefix.endswith(negator + core):
                break
            continue
        adverb = next((a for a in _BETWEEN if prefix.endswith(a)), None)
        if adverb is not None and count == 0 and any(prefix[: -len(adverb)].endswith(n) for n in _NEGATORS):
            prefix = prefix[: -len(adverb)]
            continue
        break
    return count, len(prefix)


# --------------------------------------------------------------------------------------------------
# Sounds

_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"), ("n", "l"))
_FINALS = (("eng", "en"), ("ing", "in"))


def warm_up() -> None:
    """Load pypinyin's dictionaries now (about half a second) rather than during the first caller's turn; a
    voice server calls this once at start-up."""
    _char_sound("价")


@lru_cache(maxsize=8192)
def _char_sound(char: str) -> str:
    """A character's toneless pinyin with confusable initials and finals merged; other characters as is."""
    if not "\u3400" <= char <= "\u9fff":
        return char
    from pypinyin import Style, pinyin  # loaded on first use (see the module docstring)

    syllable: str = pinyin(char, style=Style.NORMAL, heteronym=False)[0][0]
    for spelled, merged in _INITIALS:
        if syllable.startswith(spelled):
            syllable = merged + syllable[len(spelled) :]
            break
    for spelled, merged in _FINALS:
        if syllable.endswith(spelled):
            syllable = syllable[: -len(spelled)] + merged
            break
    return syllable


def _sound_key(text: str) -> str:
    return " ".join(_char_sound(c) for c in text)
