"""Every chat message template renders with the fields its callers pass; a missing field is an error."""

from __future__ import annotations

import pytest

from bot.rendering import RenderError
from bot.texts import Texts

SAMPLES: dict[str, dict[str, object]] = {
    "consent": {"title": "王先生", "store_name": "某4S店", "purpose": "defeat", "purpose_text": "想了解", "minutes": 2},
    "consent_later": {},
    "opted_out": {},
    "link_refused": {"problem": "expired"},
    "unknown_user": {},
    "nothing_to_answer": {},
    "help": {"store_name": "某某4S店", "consultant_name": "小李"},
    "question": {"number": 2, "total": 5, "text": "问题"},
    "question_hint": {"text": "问题", "kind": "text", "max_length": 50, "example_time": "11-26 14:00"},
    "answered": {"text": "问题", "label": "配合回访"},
    "text_too_long": {"length": 60, "limit": 50},
    "not_understood": {"hint": "请按当前问题的提示作答。"},
    "survey_closed": {},
    "no_survey_running": {},
    "staff_bound": {"name": "李明", "store_name": "某某4S店", "manager": True},
    "staff_only": {},
    "managers_only": {},
    "tasks_empty": {},
    "task_card": {
        "kind_label": "预约回访", "due": "11-26 10:00", "overdue": True, "customer_title": "王先生",
        "customer_name": "王建国", "phone": "138****8000", "vehicle": "轻卡 顺达", "note": "", "history": "",
    },
    "task_done": {"kind_label": "预约回访", "customer_title": "王先生"},
    "task_postponed": {"kind_label": "预约回访", "customer_title": "王先生", "due": "11-27 10:00"},
    "today": {"date": "11-25", "tasks": 3, "overdue": 1},
    "manager_alert": {"customer_title": "王先生", "reason_label": "销售人员态度不好"},
    "call_card": {
        "questionnaire": "战败回访", "callback_at": "11-26 10:00", "title": "王先生", "name": "王建国",
        "phone": "13800138000", "vehicle": "轻卡", "consultant": "李明", "attempts": "无人接听 11-25 10:00",
        "answers": "配合回访",
    },
    "call_script": {"number": 1, "total": 9, "script": "您好", "instruction": "请选择"},
    "call_logged": {"title": "王先生", "outcome": "无人接听", "next_try": "11-25 12:00", "ended": False},
    "call_ended": {"title": "王先生", "outcome": "拒访"},
    "call_booked": {"title": "王先生", "at": "11-26 10:00"},
    "call_queue_empty": {},
    "call_outside_hours": {"opens_at": "11-26 09:00"},
    "call_not_yours": {},
    "call_pick_time": {"example_time": "11-26 14:00"},
    "call_time_unread": {"example_time": "11-26 14:00"},
    "survey_already_started": {},
    "reminder": {"title": "王先生"},
    "plan_report": {"started": [("聊天", 1)], "moved": [], "ended": 0, "skipped": [("短信网页", "未配置", 2)]},
    "digest": {"name": "李明", "count": 3, "overdue": 1, "kinds": [("预约回访", 2), ("跟进", 1)]},
    "callback_reminder": {"title": "王先生", "at": "10:00"},
    "escalation": {"staff_name": "李明", "kind_label": "跟进", "title": "王先生", "due": "11-24 10:00"},
    "weekly_summary": {
        "current": False, "period": "2026-W48", "dates": "11/23–11/29", "empty": False, "due": 230,
        "due_before": 200, "due_change": "few", "reached": 150, "reached_pct": "65%", "completed": 120,
        "completed_pct": "52%", "refused": 20, "opted_out": 9, "unreachable": 60, "pending": 0,
        "rates": [{"label": "完成率", "now": "52%", "points": "7", "verdict": "up"}],
        "modes": [{"label": "电话", "completed": 40, "due": 90}],
        "reasons": [{"label": "价格高", "count": 12}], "answered": 30,
        "destinations": [{"label": "他品牌", "count": 25}],
        "scores": [{"label": "交车过程", "mean": "4.3", "n": 20}],
        "recovered": {"surveyed": 10, "bought": 2},
        "overdue": [{"name": "李明", "overdue": 1}],
        "skipped": ["智能外呼"],
        "images": ["①联系漏斗"],
    },
}  # fmt: skip


def test_every_message_template_has_a_sample_here() -> None:
    assert sorted(SAMPLES) == Texts().message_names()


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_message_template_renders_chinese_text_without_blanks(name: str) -> None:
    text = Texts().message(name, **SAMPLES[name])

    assert text.strip()
    assert "{{" not in text and "None" not in text


@pytest.mark.parametrize("name", [n for n in sorted(SAMPLES) if SAMPLES[n]])
def test_a_template_missing_a_field_raises_instead_of_printing_a_blank(name: str) -> None:
    with pytest.raises(RenderError):
        Texts().message(name)


def test_labels_fit_on_a_telegram_button() -> None:
    texts = Texts()
    for key in ("start", "later", "stop", "done", "postpone", "next"):
        assert 0 < len(texts.label(key)) <= 20
