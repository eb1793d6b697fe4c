"""The four shipped questionnaires: clean checks, seed wording, reason codes, scores and versioning."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.questionnaire import ActionKind, NodeKind, content_hash
from bot.domain.questionnaire_graph import max_scores
from bot.questionnaires import (
    QUESTIONNAIRES_DIR,
    SAMPLE_CONTEXT,
    check_paths,
    load_catalog,
    load_text,
    parse_questionnaire,
    sample_answers,
)
from bot.rendering import RenderError, TemplateRenderer

CATALOG = load_catalog()
SHIPPED = ["defeat", "lapsed", "delivery_3day", "owner_care"]


def test_the_four_seed_questionnaires_ship_and_pass_every_check() -> None:
    good, issues = check_paths([QUESTIONNAIRES_DIR])
    assert [str(i) for i in issues] == []
    assert sorted(q.id for q in good) == sorted(SHIPPED)


@pytest.mark.parametrize("qid", SHIPPED)
def test_every_shipped_template_renders_with_the_sample_context(qid: str) -> None:
    q = CATALOG.get(qid)
    renderer = TemplateRenderer()
    context = {**SAMPLE_CONTEXT, "answers": sample_answers(q)}
    for node in q.nodes:
        text = renderer.render(node.text, context)
        assert text and "{{" not in text and "None" not in text, node.id


def test_a_missing_field_is_an_error_never_a_blank() -> None:
    renderer = TemplateRenderer()
    with pytest.raises(RenderError):
        renderer.render("{{ customer.title }}您好", {"customer": {}})


def test_the_defeat_questionnaire_uses_the_seed_wording_with_piped_names() -> None:
    q = CATALOG.get("defeat")
    renderer = TemplateRenderer()
    opening = renderer.render(q.node("opening").text, SAMPLE_CONTEXT)
    assert opening.startswith("王先生您好，我是某某4S店客户专员小王")
    assert "也跟小李（销售顾问）商谈到报价环节，但最终没有选择在这买" in opening
    assert [o.label for o in q.node("opening").options] == ["拒绝回访", "时间不便", "配合回访"]
    assert [o.label for o in q.node("q2").options] == [
        "缺车",
        "朋友推荐",
        "硬件设施",
        "价格/价值",
        "销售人员表现",
        "其他",
    ]
    assert [o.label for o in q.node("q3").options] == [
        "销售人员态度不好",
        "销售人员专业知识不足",
        "销售人员不能了解我的需求",
        "其他",
    ]
    assert [o.label for o in q.node("q4").options] == [
        "品牌",
        "朋友推荐",
        "硬件设施",
        "性价比",
        "销售人员表现",
        "其他",
    ]
    assert [o.label for o in q.node("q5").options] == [
        "销售人员态度热忱",
        "销售人员专业",
        "销售人员了解我的需求",
        "其他",
    ]
    closing = renderer.render(q.node("closing").text, SAMPLE_CONTEXT)
    assert closing == (
        "感谢王先生您宝贵的意见，虽然这次没能满足您的需求，但希望下次还有机会为您服务！再次感谢您的配合，再见！"
    )


def test_not_bought_yet_declares_quasi_defeat_and_a_24_hour_task_for_the_consultant() -> None:
    option = CATALOG.get("defeat").node("q1").option("not_yet")
    assert option is not None
    kinds = {a.kind: a for a in option.actions}
    assert kinds[ActionKind.SET_STATUS].status == "quasi_defeated"
    task = kinds[ActionKind.CREATE_TASK]
    assert (task.role, task.task, task.due_hours) == ("sales_consultant", "recover_prospect", 24)


def test_every_end_node_declares_an_outcome_and_every_questionnaire_can_refuse_and_postpone() -> None:
    for q in CATALOG.by_id.values():
        outcomes = {n.outcome for n in q.nodes if n.kind is NodeKind.END}
        assert None not in outcomes
        assert {"complete", "refusal", "appointment"} <= outcomes, q.id


def test_lapsed_reasons_are_grouped_as_internal_and_external_and_contact_failures_are_not_answers() -> None:
    q = CATALOG.get("lapsed")
    assert {o.reason_group for o in q.node("q1_internal").options} == {"内因"}
    assert {o.reason_group for o in q.node("q1_external").options} == {"外因"}
    labels = {o.label for n in q.nodes for o in n.options}
    for failure in ("空号", "号码有误", "停机", "无人接听"):
        assert not any(failure in label for label in labels)


def test_owner_care_scores_loyalty_out_of_ten_as_the_seed_weights_it() -> None:
    q = CATALOG.get("owner_care")
    assert q.score_max("loyalty") == 10
    assert max_scores(q) == {"loyalty": 10}

    def best(node_id: str) -> int:
        return max(sum(p for _, p in o.score) for o in q.node(node_id).options)

    assert (best("q_satisfaction"), best("q_maintenance"), best("q_events"), best("q_recommend")) == (
        2,
        3,
        2,
        3,
    )
    referral = {o.code for o in q.node("q_referral_source").options}
    assert {
        "old_customer",
        "friends_family",
        "new_customer",
        "same_industry",
        "repeat",
        "same_region",
    } <= referral


def test_tallied_questions_carry_a_reason_and_group_on_every_option() -> None:
    for q in CATALOG.by_id.values():
        for node in q.nodes:
            if node.tally:
                assert all(o.reason and o.reason_group for o in node.options), (q.id, node.id)


def test_editing_a_file_creates_a_new_version_ref_while_codes_stay_comparable() -> None:
    q = CATALOG.get("defeat")
    assert q.ref == f"defeat@{q.version}+{content_hash(q.text)}"
    edited_text = q.text.replace("再次感谢您的配合，再见！", "再次感谢您的配合，祝您用车愉快，再见！")
    edited = load_text(edited_text, "defeat.yaml")
    assert edited.ref != q.ref and edited.version == q.version
    assert [o.code for o in edited.node("q2").options] == [o.code for o in q.node("q2").options]
    bumped, issues = parse_questionnaire(q.text.replace("version: 1", "version: 2"), "defeat.yaml")
    assert issues == [] and bumped is not None and bumped.ref.startswith("defeat@2+")


def test_questionnaire_files_are_found_in_the_package_directory() -> None:
    assert sorted(p.stem for p in Path(QUESTIONNAIRES_DIR).glob("*.yaml")) == sorted(SHIPPED)


def test_every_tallied_question_rating_and_reason_has_a_short_label_for_charts() -> None:
    from bot.questionnaires import QUESTIONNAIRES_DIR, load_catalog
    from bot.questionnaires.schema import SHORT_MAX

    missing = []
    for qn in load_catalog(QUESTIONNAIRES_DIR).by_id.values():
        for node in qn.nodes:
            if node.tally or node.scale == (1, 5):
                if not node.short:
                    missing.append(f"{qn.id}.{node.id}")
                for option in node.options if node.tally else ():
                    if not option.short:
                        missing.append(f"{qn.id}.{node.id}.{option.code}")
            for short in (node.short, *(o.short for o in node.options)):
                assert short is None or len(short) <= SHORT_MAX
    assert missing == []


def test_a_short_label_longer_than_a_chart_bar_allows_is_refused_at_its_line() -> None:
    from bot.questionnaires.loading import parse_questionnaire

    text = (
        "id: x\nversion: 1\ntitle: t\nnodes:\n  - id: q1\n    kind: single\n    short: 一个太长了的问题短名称\n"
        "    text: 问\n    options:\n      - code: a\n        label: 甲\n        next: done\n"
        "  - id: done\n    kind: end\n    outcome: complete\n    text: 谢谢\n"
    )
    _, issues = parse_questionnaire(text, "x.yaml")
    assert [str(i) for i in issues] == [
        "x.yaml:7: node q1: 'short' must be at most 8 characters (it labels a chart bar)"
    ]
