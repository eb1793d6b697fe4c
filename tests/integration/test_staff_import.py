"""Importing the staff list: roles, phones and who still works here."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.app import Container
from bot.services.importing import import_staff
from storage.models import Staff
from tests.tables import read_csv, write_csv

HEADERS = ["姓名", "岗位", "手机", "在职"]


def _staff(app: Container) -> dict[str, tuple[str, str | None, bool]]:
    with app.uow() as uow:
        return {s.name: (s.role, s.phone, s.active) for s in uow.session.scalars(select(Staff))}


def test_staff_are_created_with_their_roles_and_updated_by_name(app: Container, tmp_path: Path) -> None:
    rows = [
        ["李明", "销售顾问", "13700137000", "在职"],
        ["周芳", "回访专员", "", ""],
        ["陈经理", "销售经理", "", "是"],
    ]
    options = app.import_options(None, False)
    summary = import_staff(app.uow, write_csv(tmp_path / "s.csv", rows, HEADERS), options, app.clock)

    assert (summary.created, summary.rejected) == (3, 0)
    assert _staff(app) == {
        "李明": ("sales_consultant", "+8613700137000", True),
        "周芳": ("cs_specialist", None, True),
        "陈经理": ("manager", None, True),
    }

    left = [["李明", "销售顾问", "", "离职"]]
    summary = import_staff(app.uow, write_csv(tmp_path / "t.csv", left, HEADERS), options, app.clock)

    assert summary.updated == 1
    assert _staff(app)["李明"] == ("sales_consultant", "+8613700137000", False)


def test_an_unknown_role_is_rejected_with_the_roles_we_know(app: Container, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "s.csv", [["吴刚", "保安", "", ""]], HEADERS)

    summary = import_staff(app.uow, path, app.import_options(None, False), app.clock)

    assert summary.rejected == 1 and _staff(app) == {}
    reject = read_csv(Path(summary.rejects_path or ""))[0]
    assert reject["行号"] == "2"
    assert reject["拒绝原因"] == "岗位：应为 销售顾问/服务顾问/客服专员/经理 之一，而不是“保安”"
