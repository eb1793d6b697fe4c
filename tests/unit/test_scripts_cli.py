"""`huifang scripts check` and `huifang scripts try`, driven through click's CliRunner."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from bot.cli import main

FIXTURES = Path(__file__).parent / "fixtures"


def run(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["scripts", *args], input=stdin)
    return result.exit_code, result.output


def test_check_passes_on_the_shipped_questionnaires() -> None:
    code, output = run("check")
    assert code == 0, output
    for qid in ("defeat", "lapsed", "delivery_3day", "owner_care"):
        assert f"ok  {qid}@" in output
    assert "4 questionnaire(s) checked, no errors." in output


def test_check_fails_and_lists_every_error_with_file_and_line() -> None:
    code, output = run("check", str(FIXTURES / "questionnaires"))
    assert code == 1
    assert "unknown_next.yaml:10: node q1, option no: next target 'nowhere' does not exist" in output
    assert "cycle.yaml:5: cycle: q1 -> q2 -> q1" in output
    assert "error(s) found." in output


def test_check_accepts_single_files() -> None:
    code, output = run("check", str(FIXTURES / "valid" / "tiny.yaml"))
    assert code == 0, output
    assert "ok  tiny@1+" in output


def test_try_walks_the_defeat_questionnaire_and_shows_the_actions_it_would_take() -> None:
    code, output = run("try", "defeat", stdin="3\n3\n4\n")
    assert code == 0, output
    assert "王先生您好，我是某某4S店客户专员小王" in output
    assert "1. 拒绝回访" in output
    assert "动作: set_status status=quasi_defeated" in output
    assert "动作: create_task role=sales_consultant task=recover_prospect due_hours=24" in output
    assert "reason=价格高 reason_group=价格较高" in output
    assert "结束：outcome=complete" in output


def test_try_explains_unreadable_or_rejected_input_and_asks_again() -> None:
    code, output = run("try", "defeat", stdin="9\n2\n明天\n2024-11-26 14:00\n")
    assert code == 0, output
    assert output.count("无法识别") == 2
    assert "book_callback role=cs_specialist at=2024-11-26T14:00" in output
    assert "结束：outcome=appointment" in output


def test_try_shows_loyalty_points_for_owner_care() -> None:
    answers = ["3", "5", "1", "1", "1", "1", "1", "1", "2", "1", "张先生 13800000000"]
    code, output = run("try", "owner_care", stdin="\n".join(answers) + "\n")
    assert code == 0, output
    assert "add_score score=loyalty points=3" in output
    assert "得分：loyalty=10" in output


def test_try_an_unknown_questionnaire_is_an_error() -> None:
    code, output = run("try", "nonexistent")
    assert code != 0
    assert "no questionnaire" in output


def test_try_refuses_a_broken_questionnaire_and_points_to_check() -> None:
    code, output = run("try", "cycle", "--dir", str(FIXTURES / "questionnaires"))
    assert code != 0
    assert "scripts check" in output


def test_check_shows_the_sms_invitation_with_its_length_in_billed_parts() -> None:
    code, output = run("check")
    assert code == 0, output
    line = next(line for line in output.splitlines() if line.startswith("ok  sms invitation"))
    assert "按 2 条计费" in line and "【江铃汽车】" in line and line.endswith("回T退订")
