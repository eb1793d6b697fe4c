"""The one disposition table: codes, Chinese labels, channels and AAPOR groups."""

from __future__ import annotations

from bot.domain import dispositions as d
from bot.domain.dispositions import AaporGroup


def test_every_disposition_has_a_unique_code_and_a_unique_chinese_label() -> None:
    codes = [x.code for x in d.DISPOSITIONS]
    labels = [x.label for x in d.DISPOSITIONS]

    assert len(codes) == len(set(codes))
    assert len(labels) == len(set(labels))
    assert all(code.isascii() and code == code.lower() for code in codes)


def test_every_tracking_failure_kind_of_the_seed_is_a_disposition_marked_as_a_failure() -> None:
    seed_kinds = [
        "停机",
        "空号",
        "号码有误",
        "人在外地",
        "无法接通",
        "无人接听",
        "关机",
        "呼转",
        "忙/有事",
        "拒接",
        "其他",
    ]

    assert all(d.BY_LABEL[label].tracking_failure for label in seed_kinds)


def test_the_phone_and_chat_channels_each_offer_their_own_outcomes() -> None:
    phone = {x.label for x in d.for_channel("phone")}
    chat = {x.label for x in d.for_channel("chat")}

    assert {"接通/完成", "无人接听", "占线", "关机", "停机", "空号", "拒访", "中途挂断", "预约回访"} <= phone
    assert {"接通/完成", "未回复", "已退订", "被屏蔽"} <= chat
    assert "未回复" not in phone and "空号" not in chat


def test_the_brief_s_aapor_mapping_holds_for_the_clear_cases() -> None:
    assert d.BY_CODE["completed"].group is AaporGroup.I
    assert d.BY_CODE["partial"].group is AaporGroup.P
    assert d.BY_CODE["refused"].group is AaporGroup.R
    assert d.BY_CODE["opted_out"].group is AaporGroup.R
    assert d.BY_CODE["no_answer"].group is AaporGroup.UH
    assert d.BY_CODE["vacant"].group is AaporGroup.NE
    assert {x.group for x in d.DISPOSITIONS} == set(AaporGroup)


def test_every_survey_outcome_maps_to_a_known_disposition() -> None:
    assert set(d.OUTCOME_DISPOSITION) == {"complete", "partial", "refusal", "appointment"}
    assert all(code in d.BY_CODE for code in d.OUTCOME_DISPOSITION.values())


def test_an_unknown_code_counts_as_unknown_eligibility_instead_of_failing() -> None:
    unknown = d.disposition("fax_tone")

    assert unknown.group is AaporGroup.UO
    assert unknown.label == "fax_tone"
    assert d.disposition("not_attempted").group is AaporGroup.UH


def test_counts_by_code_fold_into_counts_by_aapor_group() -> None:
    groups = d.group_counts({"completed": 3, "no_answer": 2, "line_busy": 1, "vacant": 4})

    assert groups[AaporGroup.I] == 3
    assert groups[AaporGroup.UH] == 3
    assert groups[AaporGroup.NE] == 4
    assert groups[AaporGroup.R] == 0
