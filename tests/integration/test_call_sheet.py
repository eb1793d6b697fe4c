"""The call sheet on a real database: export the day's call list, import the outcomes and answers typed into it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select

from bot.app import Container
from bot.cli.calls import calls as calls_group
from bot.domain.calling import PhoneSettings
from bot.domain.people import Role
from bot.services import calls
from bot.services.call_sheet import CallImportSummary, export_calls, import_calls
from bot.services.surveys import create_survey
from storage.models import Answer, ContactAttempt, Customer, Staff, Survey
from tests.tables import read_csv, write_csv

STORE = "惠州江铃4S店"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _seed(app: Container, names: list[str]) -> dict[str, int]:
    """The store, 周芳 (客服专员), 李明 (销售顾问, owner of every customer), 吴敏 (客服专员), and one customer
    with a phone defeat survey per name, the first waiting longest; returns name → survey id."""
    now = app.clock.now()
    ids: dict[str, int] = {}
    with app.uow() as uow:
        store = uow.stores.add(STORE, "Asia/Shanghai", now)
        uow.staff.add(store, "周芳", Role.CS_SPECIALIST, None, True, now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        uow.staff.add(store, "吴敏", Role.CS_SPECIALIST, None, True, now)
        uow.staff.add(store, "陈离", Role.CS_SPECIALIST, None, False, now)
        for index, name in enumerate(names):
            customer = Customer(
                store_id=store,
                name=name,
                honorific="先生",
                phone=f"+861380013{index:04d}",
                status="defeated",
                owner_staff_id=consultant,
                created_at=now,
                updated_at=now,
            )
            uow.session.add(customer)
            uow.flush()
            survey = create_survey(uow, app.survey_kit(), customer.id, "defeat", "defeat", "phone")
            survey.due_at = now - timedelta(hours=len(names) - index)
            ids[name] = survey.id
        uow.commit()
    return ids


def _phone(app: Container) -> PhoneSettings:
    return app.phone_settings()


def _export(app: Container, path: Path) -> int:
    with app.uow() as uow:
        store_id = uow.stores.id_by_name(STORE)
        assert store_id is not None
        return export_calls(uow, app.survey_kit(), _phone(app), store_id, path, app.clock)


def _import(app: Container, path: Path, dry_run: bool = False) -> CallImportSummary:
    return import_calls(app.uow, app.survey_kit(), path, _phone(app), app.clock, dry_run=dry_run)


def _sheet(path: Path) -> tuple[list[str], list[list[Any]]]:
    rows = [list(r) for r in load_workbook(path).worksheets[0].iter_rows(values_only=True)]
    return [str(h) for h in rows[0]], rows[1:]


def _fill(path: Path, filled: dict[int, dict[str, Any]]) -> Path:
    """Type values into the exported sheet: survey id → {column header or Q:<question id>: value}."""
    book = load_workbook(path)
    sheet = book.worksheets[0]
    headers = [str(c.value) for c in sheet[1]]
    keys = {h.split()[0] if h.startswith("Q:") else h: i + 1 for i, h in enumerate(headers)}
    for row in range(2, sheet.max_row + 1):
        survey_id = sheet.cell(row, keys["回访编号"]).value
        for column, value in filled.get(int(survey_id), {}).items():  # type: ignore[arg-type]
            sheet.cell(row, keys[column], value)
    book.save(path)
    return path


def _dial(at: str, result: str, caller: str = "周芳", **answers: Any) -> dict[str, Any]:
    return {"拨打时间": at, "拨打结果": result, "拨打人": caller, **{f"Q:{q}": a for q, a in answers.items()}}


def _survey(app: Container, survey_id: int) -> Survey:
    with app.uow() as uow:
        survey = uow.session.get(Survey, survey_id)
        assert survey is not None
        return survey


def _attempts(app: Container, survey_id: int) -> list[tuple[str, datetime, str | None, str | None]]:
    """(disposition, local time, staff name, note) of a survey's attempts, oldest first."""
    with app.uow() as uow:
        rows = uow.session.execute(
            select(ContactAttempt, Staff.name)
            .outerjoin(Staff, Staff.id == ContactAttempt.staff_id)
            .where(ContactAttempt.survey_id == survey_id)
            .order_by(ContactAttempt.attempted_at, ContactAttempt.id)
        ).all()
        return [
            (a.disposition, a.attempted_at.astimezone(SHANGHAI).replace(tzinfo=None), name, a.note) for a, name in rows
        ]


def _answers(app: Container, survey_id: int) -> list[tuple[str, str, str | None]]:
    with app.uow() as uow:
        rows = uow.session.scalars(select(Answer).where(Answer.survey_id == survey_id).order_by(Answer.id))
        return [(a.question_id, a.option_code, a.free_text) for a in rows]


def _counts(app: Container) -> tuple[int, int]:
    with app.uow() as uow:
        attempts = len(uow.session.scalars(select(ContactAttempt.id)).all())
        answers = len(uow.session.scalars(select(Answer.id)).all())
        return attempts, answers


# --------------------------------------------------------------------------------------------------
# Export


def test_the_export_lists_the_days_queue_in_order_with_full_phone_numbers(app: Container, tmp_path: Path) -> None:
    ids = _seed(app, ["甲", "乙", "丙", "丁", "戊", "己"])
    with app.uow() as uow:
        later_today = uow.session.get(Survey, ids["丁"])
        tomorrow = uow.session.get(Survey, ids["戊"])
        callback = uow.session.get(Survey, ids["己"])
        assert later_today and tomorrow and callback
        later_today.next_try_at = _shanghai(25, 15)
        tomorrow.next_try_at = _shanghai(26, 9)
        callback.status, callback.callback_at, callback.next_try_at = (
            "appointment",
            _shanghai(25, 14),
            _shanghai(25, 14),
        )
        opted_out = uow.session.get(Customer, uow.session.get(Survey, ids["丙"]).customer_id)  # type: ignore[union-attr]
        assert opted_out is not None
        opted_out.opted_out_at = app.clock.now()
        uow.commit()

    count = _export(app, tmp_path / "拨打名单.xlsx")

    headers, rows = _sheet(tmp_path / "拨打名单.xlsx")
    column = {h: i for i, h in enumerate(headers)}
    assert count == 4
    assert [r[column["回访编号"]] for r in rows] == [ids["己"], ids["甲"], ids["乙"], ids["丁"]]
    assert [r[column["序号"]] for r in rows] == [1, 2, 3, 4]
    first = rows[0]
    assert (first[column["客户"]], first[column["称呼"]], first[column["电话"]]) == ("己", "己先生", "13800130005")
    assert (first[column["销售顾问"]], first[column["问卷"]], first[column["预约时间"]]) == (
        "李明",
        "战败回访",
        "2026-11-25 14:00",
    )
    assert headers[: headers.index("备注") + 1][-4:] == ["拨打时间", "拨打结果", "拨打人", "备注"]
    assert any(h.startswith("Q:opening ") for h in headers) and any(h.startswith("Q:q1 ") for h in headers)
    guide = [list(r) for r in load_workbook(tmp_path / "拨打名单.xlsx")["说明"].iter_rows(values_only=True)]
    results = [r[1] for r in guide if r[0] == "拨打结果"]
    assert results[:4] == ["接通/完成", "中途挂断", "拒访", "勿再致电"] and "无人接听" in results and "空号" in results
    assert any(r[0].startswith("Q:q1（战败回访）") and "3 还没有购买" in r[1] for r in guide)


def test_the_export_shows_earlier_attempts_and_leaves_out_customers_someone_is_calling_now(
    app: Container, tmp_path: Path
) -> None:
    ids = _seed(app, ["甲", "乙"])
    app.clock.set(_shanghai(25, 9, 15))  # type: ignore[attr-defined]
    with app.uow() as uow:
        zhou = uow.session.scalars(select(Staff).where(Staff.name == "周芳")).one()
        card = calls.next_call(uow, app.survey_kit(), _phone(app), zhou)
        assert card is not None and getattr(card, "survey_id", None) == ids["甲"]
        calls.record_dial(uow, app.survey_kit(), _phone(app), zhou, ids["甲"], "line_busy")
        uow.commit()
    with app.uow() as uow:
        wu = uow.session.scalars(select(Staff).where(Staff.name == "吴敏")).one()
        calls.next_call(uow, app.survey_kit(), _phone(app), wu)  # 吴敏 holds 乙 now
        uow.commit()
    app.clock.set(_shanghai(25, 9, 20))  # type: ignore[attr-defined]

    _export(app, tmp_path / "名单.csv")

    rows = read_csv(tmp_path / "名单.csv")
    assert [(r["回访编号"], r["此前联系"]) for r in rows] == [(str(ids["甲"]), "占线 11-25 09:15")]
    assert (tmp_path / "名单.说明.csv").exists()


# --------------------------------------------------------------------------------------------------
# Import


def test_an_imported_sheet_records_dispositions_answers_and_retry_times(app: Container, tmp_path: Path) -> None:
    ids = _seed(app, ["甲", "乙", "丙", "丁", "戊"])
    app.clock.set(_shanghai(25, 9, 0))  # type: ignore[attr-defined]
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    _fill(
        sheet,
        {
            ids["甲"]: {**_dial("2026-11-25 09:30", "无人接听"), "备注": "响铃很久"},
            ids["乙"]: _dial("2026/11/25 9:40", "接通/完成", opening="配合回访", q1="3", q2="价格/价值"),
            ids["丙"]: _dial(datetime(2026, 11, 25, 9, 50), "接通/完成", opening=3, q1="其他品牌"),
            ids["丁"]: _dial("2026年11月25日 09:55", "占线", "吴敏"),
            ids["戊"]: {**_dial("2026-11-25 09:58", "预约回访"), "预约时间": "2026-11-26 15:00"},
        },
    )
    app.clock.set(_shanghai(25, 18))  # type: ignore[attr-defined]

    summary = _import(app, sheet)

    assert (summary.recorded, summary.unchanged, summary.rejected, summary.cut_short) == (5, 0, 0, 1)
    assert summary.rejects_path is None
    no_answer = _survey(app, ids["甲"])
    assert _attempts(app, ids["甲"]) == [("no_answer", datetime(2026, 11, 25, 9, 30), "周芳", "响铃很久")]
    assert (no_answer.status, no_answer.attempt_count, no_answer.next_try_at) == ("pending", 1, _shanghai(25, 12))
    assert no_answer.claimed_by_staff_id is None
    completed = _survey(app, ids["乙"])
    assert (completed.status, completed.outcome, completed.channel) == ("completed", "complete", "phone")
    assert _answers(app, ids["乙"]) == [
        ("opening", "agree", None),
        ("q1", "not_yet", None),
        ("q2", "price_value", None),
    ]
    assert _attempts(app, ids["乙"]) == [("completed", datetime(2026, 11, 25, 9, 40), "周芳", None)]
    cut_short = _survey(app, ids["丙"])
    assert (cut_short.status, cut_short.outcome) == ("partial", "partial")
    assert _answers(app, ids["丙"]) == [("opening", "agree", None), ("q1", "other_brand", None)]
    assert _attempts(app, ids["丙"]) == [("partial", datetime(2026, 11, 25, 9, 50), "周芳", None)]
    busy = _survey(app, ids["丁"])
    assert _attempts(app, ids["丁"]) == [("line_busy", datetime(2026, 11, 25, 9, 55), "吴敏", None)]
    assert busy.next_try_at == _shanghai(25, 10, 25)
    booked = _survey(app, ids["戊"])
    assert (booked.status, booked.callback_at, booked.assigned_staff_id) == (
        "appointment",
        _shanghai(26, 15),
        _staff_id(app, "周芳"),
    )
    assert _attempts(app, ids["戊"]) == [("appointment", datetime(2026, 11, 25, 9, 58), "周芳", None)]


def _staff_id(app: Container, name: str) -> int:
    with app.uow() as uow:
        return uow.session.scalars(select(Staff.id).where(Staff.name == name)).one()


def test_answers_follow_the_questionnaires_branches_and_a_refusal_in_the_script_ends_the_survey(
    app: Container, tmp_path: Path
) -> None:
    ids = _seed(app, ["甲", "乙"])
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    _fill(
        sheet,
        {
            ids["甲"]: _dial("2026-11-25 09:10", "接通", opening="1"),
            ids["乙"]: _dial(
                "2026-11-25 09:20", "completed", opening="agree", q1="其他品牌", q1_brand="长城 炮", q2="2"
            ),
        },
    )

    summary = _import(app, sheet)

    assert (summary.recorded, summary.rejected) == (2, 0)
    assert (_survey(app, ids["甲"]).status, _attempts(app, ids["甲"])[0][0]) == ("refused", "refused")
    assert _answers(app, ids["乙"]) == [
        ("opening", "agree", None),
        ("q1", "other_brand", None),
        ("q1_brand", "", "长城 炮"),
        ("q2", "friend_recommendation", None),
    ]


def test_do_not_call_opts_the_customer_out_and_ends_the_survey_as_a_refusal(app: Container, tmp_path: Path) -> None:
    ids = _seed(app, ["甲"])
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    _fill(sheet, {ids["甲"]: {**_dial("2026-11-25 09:10", "勿再致电"), "备注": "客户很生气"}})

    summary = _import(app, sheet)

    assert (summary.recorded, summary.rejected) == (1, 0)
    assert (_survey(app, ids["甲"]).status, _survey(app, ids["甲"]).outcome) == ("refused", "refusal")
    assert _attempts(app, ids["甲"]) == [("refused", datetime(2026, 11, 25, 9, 10), "周芳", "客户很生气")]
    with app.uow() as uow:
        assert uow.session.scalars(select(Customer)).one().opted_out_at is not None


def test_questions_two_questionnaires_share_get_a_column_each_named_by_questionnaire(
    app: Container, tmp_path: Path
) -> None:
    ids = _seed(app, ["甲", "乙"])
    with app.uow() as uow:
        lapsed = create_survey(uow, app.survey_kit(), _survey(app, ids["乙"]).customer_id, "lapsed", "lapsed", "phone")
        uow.session.delete(uow.session.get(Survey, ids["乙"]))
        uow.commit()
        ids["乙"] = lapsed.id
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    headers, _ = _sheet(sheet)
    assert {"Q:defeat.opening", "Q:lapsed.opening", "Q:q1_brand"} <= {h.split()[0] for h in headers}
    _fill(
        sheet,
        {
            ids["甲"]: {**_dial("2026-11-25 09:10", "中途挂断"), "Q:lapsed.opening": "配合回访"},
            ids["乙"]: {**_dial("2026-11-25 09:20", "中途挂断"), "Q:lapsed.opening": "配合回访"},
        },
    )

    summary = _import(app, sheet)

    assert (summary.recorded, summary.rejected) == (1, 1)
    assert _answers(app, ids["乙"]) == [("opening", "agree", None)]
    rejects_headers, rows = _sheet(Path(summary.rejects_path or ""))
    assert rows[0][rejects_headers.index("拒绝原因")].startswith("Q:lapsed.opening")
    assert "这一列属于另一份问卷" in rows[0][rejects_headers.index("拒绝原因")]


def test_bad_rows_go_to_the_rejects_file_with_their_row_number_and_a_reason_naming_the_column(
    app: Container, tmp_path: Path
) -> None:
    ids = _seed(app, ["甲", "乙", "丙", "丁", "戊", "己"])
    sheet = tmp_path / "名单.csv"
    _export(app, sheet)
    rows = read_csv(sheet)
    headers = list(rows[0].keys())
    filled = {
        ids["甲"]: {"回访编号": "99999", "拨打时间": "2026-11-25 09:10", "拨打结果": "无人接听", "拨打人": "周芳"},
        ids["乙"]: {"拨打时间": "2026-11-25 09:10", "拨打结果": "没人接", "拨打人": "周芳"},
        ids["丙"]: {"拨打时间": "2026-11-25 11:00", "拨打结果": "无人接听", "拨打人": "周芳"},
        ids["丁"]: {"拨打时间": "2026-11-25 09:10", "拨打结果": "无人接听", "拨打人": "王五"},
        ids["戊"]: {"拨打时间": "2026-11-25 09:10", "拨打结果": "接通/完成", "拨打人": "周芳", "opening": "也许"},
        ids["己"]: {"拨打时间": "2026-11-25 09:10", "拨打结果": "无人接听", "拨打人": "陈离"},
    }
    question = {h.split()[0].removeprefix("Q:"): h for h in headers if h.startswith("Q:")}
    out = []
    for row in rows:
        for column, value in filled[int(row["回访编号"])].items():
            row[question.get(column, column)] = value
        out.append([row[h] for h in headers])
    write_csv(sheet, out, headers)

    summary = _import(app, sheet)

    assert (summary.recorded, summary.rejected) == (0, 6)
    assert summary.rejects_path == str(tmp_path / "名单.rejects.csv")
    rejects = read_csv(tmp_path / "名单.rejects.csv")
    reasons = {r["客户"]: (r["行号"], r["拒绝原因"]) for r in rejects}
    assert reasons["甲"] == ("2", "回访编号：找不到回访编号 99999")
    assert reasons["乙"][0] == "3" and reasons["乙"][1].startswith("拨打结果：“没人接”不是可用的拨打结果")
    assert reasons["丙"][1].startswith("拨打时间：“2026-11-25 11:00”晚于现在")
    assert reasons["丁"][1] == "拨打人：“王五”不是本店在职员工"
    assert reasons["戊"][1].startswith(f"{question['opening']}：“也许”不是这一题的答案")
    assert "3 配合回访" in reasons["戊"][1]
    assert reasons["己"][1] == "拨打人：“陈离”不是本店在职员工"
    assert headers == list(rejects[0].keys())[:-2]
    assert _counts(app) == (0, 0)
    assert all(
        _survey(app, i).status == "pending" and _survey(app, i).claimed_by_staff_id is None for i in ids.values()
    )


def test_a_row_for_a_customer_someone_is_calling_in_the_system_now_is_rejected(app: Container, tmp_path: Path) -> None:
    ids = _seed(app, ["甲"])
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    _fill(sheet, {ids["甲"]: _dial("2026-11-25 09:10", "无人接听")})
    with app.uow() as uow:
        wu = uow.session.scalars(select(Staff).where(Staff.name == "吴敏")).one()
        calls.next_call(uow, app.survey_kit(), _phone(app), wu)
        uow.commit()

    summary = _import(app, sheet)

    assert (summary.recorded, summary.rejected) == (0, 1)
    rejects = _sheet(Path(summary.rejects_path or ""))
    reason = rejects[1][0][rejects[0].index("拒绝原因")]
    assert reason.startswith("回访编号：该客户正由“吴敏”在系统中拨打")
    assert _survey(app, ids["甲"]).claimed_by_staff_id == _staff_id(app, "吴敏")
    assert _counts(app) == (0, 0)


def test_a_connected_row_whose_answers_contradict_its_result_records_nothing(app: Container, tmp_path: Path) -> None:
    ids = _seed(app, ["甲", "乙", "丙"])
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    _fill(
        sheet,
        {
            ids["甲"]: _dial("2026-11-25 09:10", "无人接听", opening="配合回访"),
            ids["乙"]: _dial("2026-11-25 09:10", "接通/完成", opening="配合回访", q1="还没有购买", q1_brand="长城"),
            ids["丙"]: _dial("2026-11-25 09:10", "中途挂断", opening="拒绝回访"),
        },
    )

    summary = _import(app, sheet)

    assert (summary.recorded, summary.rejected) == (0, 3)
    headers, rows = _sheet(Path(summary.rejects_path or ""))
    reasons = {r[headers.index("客户")]: r[headers.index("拒绝原因")] for r in rows}
    assert "不应填写问卷答案" in reasons["甲"]
    assert reasons["乙"].startswith("Q:q1_brand") and "不会问到这一题" in reasons["乙"]
    assert reasons["丙"].startswith("拨打结果：“中途挂断”与问卷答案不符")
    assert _counts(app) == (0, 0)
    assert all(_survey(app, i).state is None for i in ids.values())


def test_importing_the_same_sheet_twice_records_nothing_the_second_time(app: Container, tmp_path: Path) -> None:
    ids = _seed(app, ["甲", "乙", "丙"])
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    _fill(
        sheet,
        {
            ids["甲"]: _dial("2026-11-25 09:30", "无人接听"),
            ids["乙"]: _dial("2026-11-25 09:40", "接通/完成", opening="配合回访", q1="3", q2="缺车"),
            ids["丙"]: _dial("2026-11-25 09:50", "接通/完成", opening="配合回访"),
        },
    )
    first = _import(app, sheet)
    before = _counts(app), [_survey(app, i).attempt_count for i in ids.values()]

    second = _import(app, sheet)

    assert (first.recorded, first.unchanged) == (3, 0)
    assert (second.recorded, second.unchanged, second.rejected) == (0, 3, 0)
    assert (_counts(app), [_survey(app, i).attempt_count for i in ids.values()]) == before


def test_a_dry_run_checks_every_row_and_writes_nothing(app: Container, tmp_path: Path) -> None:
    ids = _seed(app, ["甲", "乙"])
    sheet = tmp_path / "名单.xlsx"
    _export(app, sheet)
    _fill(
        sheet,
        {ids["甲"]: _dial("2026-11-25 09:30", "无人接听"), ids["乙"]: _dial("2026-11-25 09:40", "空号", "王五")},
    )

    summary = _import(app, sheet, dry_run=True)

    assert (summary.recorded, summary.rejected, summary.dry_run) == (1, 1, True)
    assert _counts(app) == (0, 0)
    assert _survey(app, ids["甲"]).attempt_count == 0


# --------------------------------------------------------------------------------------------------
# Command line


def _cli(database_url: str, *args: str) -> Any:
    return CliRunner().invoke(calls_group, list(args), obj={"overrides": {"database_url": database_url}})


def test_the_commands_export_a_sheet_and_import_it_back_with_a_summary_line(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    ids = _seed(app, ["甲", "乙"])
    sheet = tmp_path / "名单.xlsx"

    exported = _cli(database_url, "export", str(sheet), "--store", STORE)

    assert exported.exit_code == 0, exported.output
    assert "2 位客户" in exported.stdout
    an_hour_ago = (datetime.now(SHANGHAI) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M")
    _fill(sheet, {ids["甲"]: _dial(an_hour_ago, "关机"), ids["乙"]: _dial(an_hour_ago, "没人接")})
    imported = _cli(database_url, "import", str(sheet))
    assert imported.exit_code == 0, imported.output
    assert "共 2 行：记录 1，已导入过（未变）0，拒绝 1，未拨打 0" in imported.stdout
    assert f"1 行被拒绝，原因见：{tmp_path / '名单.rejects.xlsx'}" in imported.stdout
    assert _attempts(app, ids["甲"])[0][0] == "powered_off"


def test_a_file_that_is_not_a_table_is_refused_with_one_line_and_exit_code_2(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    _seed(app, ["甲"])
    (tmp_path / "名单.xlsx").write_bytes(b"not a spreadsheet")
    (tmp_path / "名单.txt").write_text("hello")

    for name in ("名单.xlsx", "名单.txt", "没有这个文件.csv"):
        result = _cli(database_url, "import", str(tmp_path / name))
        assert result.exit_code == 2
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
        assert result.stderr.startswith("错误：")


def test_a_sheet_without_the_columns_to_fill_is_refused_with_exit_code_2(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    _seed(app, ["甲"])
    write_csv(tmp_path / "客户.csv", [["王建国", "13800138000"]], ["姓名", "手机"])

    result = _cli(database_url, "import", str(tmp_path / "客户.csv"))

    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "错误：缺少必需的列：回访编号、拨打时间、拨打结果、拨打人（请使用 huifang calls export 导出的表格）"
    )
