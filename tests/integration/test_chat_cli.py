"""Operators' chat commands: customer links, the SMS link export, staff invitations."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.app import Container
from bot.cli import main
from bot.domain.links import LinkSubject, verify
from bot.services.surveys import create_survey
from tests.integration.test_customer_import import WANG, ZHAO
from tests.tables import read_csv, write_csv

SECRET = "test-secret-0123456789abcdef"


@pytest.fixture(autouse=True)
def _chat_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUIFANG_LINK_SECRET", SECRET)
    monkeypatch.setenv("HUIFANG_TELEGRAM_BOT_USERNAME", "huifang_demo_bot")


def _run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--database-url", database_url, *args])
    return result.exit_code, result.stdout, result.stderr


def _token(url: str) -> str:
    prefix = "https://t.me/huifang_demo_bot?start="
    assert url.startswith(prefix)
    token = url.removeprefix(prefix)
    assert len(token) <= 64 and all(c.isalnum() or c in "_-" for c in token)
    return token


def test_link_prints_a_signed_deep_link_for_a_customer_found_by_phone(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    _run(database_url, "import", "customers", str(write_csv(tmp_path / "c.csv", [WANG])))

    code, out, _ = _run(database_url, "link", "138 0013 8000")

    assert code == 0
    claim = verify(SECRET.encode(), _token(out.strip()), app.clock.now())
    assert (claim.subject, claim.subject_id) == (LinkSubject.CUSTOMER, 1)


def test_link_for_an_unknown_customer_is_a_clear_error(database_url: str) -> None:
    code, _, err = _run(database_url, "link", "13999999999")

    assert code == 2 and err.strip() == "错误：找不到客户：13999999999（请输入手机号或客户编号）"


def test_links_without_a_secret_refuse_to_be_issued(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUIFANG_LINK_SECRET")

    code, _, err = _run(database_url, "link", "13800138000")

    assert code == 2 and "HUIFANG_LINK_SECRET" in err


def test_links_export_lists_customers_with_a_waiting_survey_who_are_not_bound_to_chat(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    _run(database_url, "import", "customers", str(write_csv(tmp_path / "c.csv", [WANG, ZHAO])))
    with app.uow() as uow:
        create_survey(uow, app.survey_kit(), 2, "defeat", "defeat", "chat")
        uow.commit()

    code, out, _ = _run(database_url, "links", "export", str(tmp_path / "links.csv"))

    assert code == 0 and "已导出 1 位客户的链接" in out
    (row,) = read_csv(tmp_path / "links.csv")
    assert (row["姓名"], row["手机"], row["回访问卷"]) == ("赵丽", "13900139000", "defeat")
    _token(row["绑定链接"])


def test_staff_invite_creates_the_staff_member_and_prints_a_one_time_link(app: Container, database_url: str) -> None:
    code, out, _ = _run(database_url, "staff", "invite", "--name", "周芳", "--role", "客服专员")

    assert code == 0
    first, url = out.strip().splitlines()
    assert first == "已新建员工：周芳（客服专员）"
    claim = verify(SECRET.encode(), _token(url), app.clock.now())
    assert claim.subject is LinkSubject.STAFF

    code, _, err = _run(database_url, "staff", "invite", "--name", "吴刚", "--role", "保安")
    assert code == 2 and err.strip() == "错误：未知岗位“保安”：应为 销售顾问/服务顾问/客服专员/经理"
