"""Use cases: the call sheet (拨打名单) for teams that dial from another system.

``export_calls`` writes the day's call list in queue order, with empty columns for the caller to fill:
when they dialled, the outcome, who dialled, a note and the customer's answers. ``import_calls`` reads
the filled sheet back. Each row is checked like a customer-import row (a bad row goes to the rejects file
beside the input with its row number and a Chinese reason naming the column) and then recorded through the
same use cases as the call screen (claim, ``record_dial``, ``phone_answer``, ``end_call``, ``book_callback``)
in one transaction per row, at the sheet's dial time. A row imported before is recognised and left alone.
The format is described in ``docs/phone.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from bot.domain.calling import PhoneSettings
from bot.domain.clock import Clock, FixedClock
from bot.domain.customer_import import Problem
from bot.domain.dates import InvalidDate, parse_date
from bot.domain.dispositions import BY_CODE, for_channel
from bot.domain.dispositions import disposition as disposition_info
from bot.domain.engine import BookCallback, ChooseMany, Input, Rejection, RejectReason, State, Step
from bot.domain.lifecycle import ACTIVE_VALUES, SurveyStatus
from bot.domain.people import Honorific, title
from bot.domain.phone import national
from bot.domain.presentation import text_input
from bot.domain.questionnaire import NodeKind, Questionnaire
from bot.services.calls import PHONE, book_callback, end_call, phone_answer, record_dial
from bot.services.importing import _Rejects
from bot.services.survey_status import opt_out_everywhere
from bot.services.surveys import QUESTION_KINDS, Accepted, Position, SurveyKit, questionnaire_of
from bot.tabular import NotATable, append_row, create_table, open_table
from storage.models import ContactAttempt, Customer, Staff, Survey
from storage.repositories import ClaimConflict
from storage.unit_of_work import SqlUnitOfWork

UnitOfWorkFactory = Callable[[], SqlUnitOfWork]

# Columns of the sheet (Chinese, as staff see them).
SEQ = "序号"
SURVEY = "回访编号"
CUSTOMER = "客户"
TITLE = "称呼"
PHONE_NUMBER = "电话"
SERIES = "车系"
MODEL = "车型"
CONSULTANT = "销售顾问"
QUESTIONNAIRE = "问卷"
CALLBACK = "预约时间"
EARLIER = "此前联系"
DIALLED_AT = "拨打时间"
RESULT = "拨打结果"
CALLER = "拨打人"
NOTE = "备注"
ANSWERS = "问卷答案"
QUESTION_PREFIX = "Q:"
INFO_COLUMNS = [SEQ, SURVEY, CUSTOMER, TITLE, PHONE_NUMBER, SERIES, MODEL, CONSULTANT, QUESTIONNAIRE, CALLBACK, EARLIER]
FILL_COLUMNS = [DIALLED_AT, RESULT, CALLER, NOTE]
REQUIRED = (SURVEY, DIALLED_AT, RESULT, CALLER)
GUIDE_SHEET = "说明"
TIME_FORMAT = "%Y-%m-%d %H:%M"

# 勿再致电 is a button of the call screen, recorded as 拒访 plus an opt-out; it is not a disposition of its own.
DO_NOT_CALL = "do_not_call"
DO_NOT_CALL_LABEL = "勿再致电"
# Outcomes that mean the customer picked up: the questionnaire runs and the answers in the row are recorded.
CONNECTING = ("completed", "partial", "refused", DO_NOT_CALL, "appointment")
# What the database holds after a connecting row (the engine's end or the call's end decides which).
_CONNECTED_RECORDS = frozenset({"completed", "partial", "refused", "appointment"})

_RESULT_HINTS = {
    "completed": "接通并按问卷作答；答案没有答完的记为“中途挂断”",
    "partial": "接通后中途挂断；已填的答案照样保存",
    "refused": "接通后客户拒绝回访：不再拨打",
    DO_NOT_CALL: "客户要求不再联系：所有渠道都不再打扰",
    "appointment": "客户约定了回电时间：请在“预约时间”列填写（或在问卷列中答“时间不便”并填写时间）",
    "busy_now": "客户正忙：2小时后再拨",
    "rejected_call": "来电被拒接：不再拨打",
    "away": "客户人在外地：次日再拨",
    "no_answer": "无人接听：2小时后再拨，最多3次且分在不同的半天，之后记为未接触",
    "line_busy": "占线：30分钟后再拨",
    "powered_off": "关机：次日再拨",
    "unreachable": "无法接通：同无人接听",
    "forwarded": "呼转：再拨一次，之后同无人接听",
    "suspended": "停机：不再拨打，交销售顾问更正号码",
    "vacant": "空号：不再拨打，交销售顾问更正号码",
    "wrong_number": "号码有误：不再拨打，交销售顾问更正号码",
    "other": "其他：2小时后再拨",
}

_STATUS_ZH = {
    "completed": "已完成",
    "refused": "已拒访",
    "partial": "中途挂断",
    "non_contact": "未接触",
    "not_eligible": "号码无效",
    "cancelled": "已取消",
    "ended": "已结束",
    "expired": "已过期",
}


class CallImportFailed(Exception):
    """The whole file cannot be imported (not a table, required columns missing); message in Chinese."""


@dataclass
class CallImportSummary:
    """What an import of a call sheet did, counted per row."""

    recorded: int = 0
    unchanged: int = 0
    rejected: int = 0
    skipped: int = 0  # rows nobody filled in (not dialled)
    cut_short: int = 0  # 接通/完成 rows whose answers stopped before the end: recorded as 中途挂断
    rejects_path: str | None = None
    dry_run: bool = False

    @property
    def total(self) -> int:
        return self.recorded + self.unchanged + self.rejected + self.skipped


# --------------------------------------------------------------------------------------------------
# Small helpers


def _local(moment: datetime, kit: SurveyKit) -> datetime:
    return moment.astimezone(kit.tz).replace(tzinfo=None)


def _utc(local: datetime, kit: SurveyKit, like: datetime) -> datetime:
    return local.replace(tzinfo=kit.tz).astimezone(like.tzinfo)


def _text(cell: Any) -> str:
    """A cell as typed text: Excel's 1.0 back to 1, dates as 2026-11-25 10:30."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.strftime(TIME_FORMAT if cell.second == 0 else "%Y-%m-%d %H:%M:%S")
    return str(cell).strip()


_TIME_AT_END = re.compile(r"^(?P<day>.*?)[\sT]*(?P<h>\d{1,2})\s*[:：]\s*(?P<m>\d{2})(?:\s*[:：]\s*(?P<s>\d{2}))?$")


def parse_dial_time(value: Any) -> datetime:
    """A date and time typed into the sheet (local wall-clock time): 2026-11-25 10:30, 2026/11/25 10:30,
    2026年11月25日 10:30, or a date-time cell. InvalidDate with a Chinese message otherwise."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        raise InvalidDate(f"“{value.isoformat()}”缺少时间（时:分）")
    text = _text(value)
    match = _TIME_AT_END.match(text)
    if match is None:
        raise InvalidDate(f"无法识别的时间“{text}”（应为日期加时:分，如 2026-11-25 10:30）")
    if not match["day"].strip():
        raise InvalidDate(f"“{text}”缺少日期（应为日期加时:分，如 2026-11-25 10:30）")
    day = parse_date(match["day"].strip())
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidDate(f"不存在的时间“{text}”")
    return datetime.combine(day, time(hour, minute, second))


def _short(template: str, width: int = 14) -> str:
    """A question's text without its placeholders, cut short for a column header."""
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", template)
    text = re.sub(r"\s+", "", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _plain(template: str) -> str:
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "…", template).strip()


def _questions(questionnaire: Questionnaire) -> list[Any]:
    return [n for n in questionnaire.nodes if n.kind in QUESTION_KINDS]


def _allowed_values(node: Any) -> str:
    """What the caller may type for a question, as the 说明 sheet lists it."""
    if node.kind in (NodeKind.SINGLE, NodeKind.MULTI):
        values = "；".join(f"{i} {o.label}" for i, o in enumerate(node.options, start=1))
        if node.kind is NodeKind.MULTI:
            return f"可多选，用顿号或逗号分隔（序号或选项文字）：{values}"
        return f"序号或选项文字：{values}"
    if node.kind is NodeKind.RATING and node.scale is not None:
        return f"{node.scale[0]}–{node.scale[1]} 分（填数字）"
    if node.kind is NodeKind.TEXT:
        return f"客户原话（不超过{node.max_length}字）" if node.max_length else "客户原话"
    if node.kind is NodeKind.CALLBACK:
        return "约定的回电时间，如 2026-11-26 15:00"
    return ""


# --------------------------------------------------------------------------------------------------
# Export


def call_day(kit: SurveyKit, phone: PhoneSettings, clock: Clock) -> date:
    """The day the sheet is for: today, or the next calling day once today's calling hours are over."""
    return phone.hours.next_open(_local(clock.now(), kit)).date()


def _question_columns(questionnaires: Iterable[Questionnaire]) -> list[tuple[str, str, Any, Questionnaire]]:
    """(column key, header, node, questionnaire) per question. The key is the question id, or
    ``questionnaire.question`` when two questionnaires of the sheet share that id."""
    listed = list(questionnaires)
    owners: dict[str, set[str]] = {}
    for q in listed:
        for node in _questions(q):
            owners.setdefault(node.id, set()).add(q.id)
    columns: list[tuple[str, str, Any, Questionnaire]] = []
    seen: set[str] = set()
    for q in listed:
        for node in _questions(q):
            key = node.id if len(owners[node.id]) == 1 else f"{q.id}.{node.id}"
            if key not in seen:
                seen.add(key)
                columns.append((key, f"{QUESTION_PREFIX}{key} {_short(node.text)}".strip(), node, q))
    return columns


def _allowed_results() -> list[tuple[str, str]]:
    """(label, code) of every value 拨打结果 accepts, in the order staff see them."""
    values = [(d.label, d.code) for d in for_channel(PHONE)]
    at = [code for _, code in values].index("refused") + 1
    values.insert(at, (DO_NOT_CALL_LABEL, DO_NOT_CALL))
    return values


def export_calls(
    uow: SqlUnitOfWork, kit: SurveyKit, phone: PhoneSettings, store_id: int, path: Path, clock: Clock
) -> int:
    """Write the day's call list (xlsx, or csv by suffix) in queue order; returns how many customers.

    The list is what the queue would offer today: due callbacks and phone surveys whose next try falls
    before the end of the day's calling hours, not opted out, under the attempt limit, not held by a
    specialist right now. A csv gets its 说明 as a second file beside it (``<name>.说明.csv``).
    """
    now = clock.now()
    day = call_day(kit, phone, clock)
    end_of_day = _utc(datetime.combine(day, phone.hours.end), kit, now)
    ids = uow.surveys.call_candidates(
        store_id, 0, end_of_day, now - phone.claim_timeout, phone.rules.max_attempts, phone.purpose_order, 100_000
    )
    surveys = [s for s in (uow.surveys.get(i) for i in ids) if s is not None]
    questionnaires: dict[str, list[Questionnaire]] = {}
    for survey in surveys:
        q = questionnaire_of(uow, kit, survey)
        versions = questionnaires.setdefault(q.id, [])
        if all(v.ref != q.ref for v in versions):
            versions.append(q)
    columns = _question_columns(v for versions in questionnaires.values() for v in versions)
    headers = [*INFO_COLUMNS, *FILL_COLUMNS, *(header for _, header, _, _ in columns)]
    rows = [_sheet_row(uow, kit, number, survey, len(headers)) for number, survey in enumerate(surveys, start=1)]
    guide = _guide_rows(columns)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        _write_xlsx(path, headers, rows, guide)
    else:
        _write_csv(path, headers, rows, guide)
    return len(rows)


def _sheet_row(uow: SqlUnitOfWork, kit: SurveyKit, number: int, survey: Survey, width: int) -> list[Any]:
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    vehicle = uow.people.vehicle(customer.id)
    consultant = uow.people.staff(customer.owner_staff_id)
    honorific = Honorific(customer.honorific) if customer.honorific else None
    earlier = "；".join(
        f"{disposition_info(a.disposition).label} {_local(a.attempted_at, kit):%m-%d %H:%M}"
        for a in uow.surveys.attempts(survey.id)
    )
    callback = survey.callback_at if survey.status == SurveyStatus.APPOINTMENT and survey.callback_at else None
    cells: list[Any] = [
        number,
        survey.id,
        customer.name,
        title(customer.name, honorific),
        national(customer.phone),
        (vehicle.series or "") if vehicle else "",
        (vehicle.model or "") if vehicle else "",
        consultant.name if consultant else "",
        kit.catalog.get(survey.questionnaire_id).title
        if survey.questionnaire_id in kit.catalog.by_id
        else survey.questionnaire_id,
        f"{_local(callback, kit):{TIME_FORMAT}}" if callback else "",
        earlier,
    ]
    return cells + [None] * (width - len(cells))


def _guide_rows(columns: list[tuple[str, str, Any, Questionnaire]]) -> list[list[str]]:
    rows = [[RESULT, label, _RESULT_HINTS.get(code, "")] for label, code in _allowed_results()]
    rows += [
        [DIALLED_AT, "2026-11-25 10:30", "日期加时:分（也可 2026/11/25 10:30、2026年11月25日 10:30），不能晚于导入时"],
        [CALLER, "员工姓名", "本店在职员工，与系统中的姓名一致"],
        [CALLBACK, "2026-11-26 15:00", "拨打结果为“预约回访”时填写约定的回电时间，须晚于拨打时间"],
        [NOTE, "", "随拨打记录保存"],
        [ANSWERS, "", "仅在接通时填写：从第一题起按问卷顺序，答到哪题填到哪题；不会问到的题留空"],
    ]
    for key, _, node, q in columns:
        rows.append([f"{QUESTION_PREFIX}{key}（{q.title}）", _allowed_values(node), _plain(node.text)])
    return rows


def _write_xlsx(path: Path, headers: list[str], rows: list[list[Any]], guide: list[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "拨打名单"
    append_row(sheet, headers)
    for row in rows:
        append_row(sheet, row)
    sheet.freeze_panes = "C2"
    for index, header in enumerate(headers, start=1):
        letter = get_column_letter(index)
        width = {PHONE_NUMBER: 14, EARLIER: 28, DIALLED_AT: 17, RESULT: 11, NOTE: 20}.get(header, 10)
        sheet.column_dimensions[letter].width = max(width, min(len(header) * 2, 30))
        if header in (PHONE_NUMBER, DIALLED_AT, CALLBACK):
            for cell in sheet[letter][1:]:
                cell.number_format = "@"  # keep numbers and times as typed text
    last = max(len(rows) + 1, 200)
    results = DataValidation(type="list", formula1='"' + ",".join(label for label, _ in _allowed_results()) + '"')
    results.error = "请从列表中选择拨打结果（见“说明”表）"
    results.showErrorMessage = True
    result_letter = get_column_letter(headers.index(RESULT) + 1)
    results.add(f"{result_letter}2:{result_letter}{last}")
    sheet.add_data_validation(results)
    notes = book.create_sheet(GUIDE_SHEET)
    append_row(notes, ["列", "可填的值", "说明"])
    for row in guide:
        append_row(notes, row)
    for letter, width in (("A", 28), ("B", 60), ("C", 70)):
        notes.column_dimensions[letter].width = width
    book.save(path)


def _write_csv(path: Path, headers: list[str], rows: list[list[Any]], guide: list[list[str]]) -> None:
    writer = create_table(path, headers)
    try:
        for row in rows:
            writer.write(row)
    finally:
        writer.close()
    notes = create_table(path.with_name(f"{path.stem}.{GUIDE_SHEET}{path.suffix.lower()}"), ["列", "可填的值", "说明"])
    try:
        for row in guide:
            notes.write(list(row))
    finally:
        notes.close()


# --------------------------------------------------------------------------------------------------
# Import: reading a row


@dataclass(frozen=True)
class _Answer:
    header: str
    value: Any


@dataclass(frozen=True)
class SheetRow:
    """A filled row that passed the checks that need no database."""

    row_number: int
    cells: list[Any]
    survey_id: int
    at: datetime  # local wall-clock time of the dial
    code: str  # disposition code, or do_not_call
    caller: str
    note: str | None
    callback: datetime | None  # local time agreed for 预约回访
    answers: dict[str, _Answer] = field(default_factory=dict)  # column key -> header and value


@dataclass(frozen=True)
class _Columns:
    index: dict[str, int]
    questions: dict[str, tuple[int, str]]  # column key -> (index, header)


def _columns(headers: list[str]) -> _Columns:
    index: dict[str, int] = {}
    questions: dict[str, tuple[int, str]] = {}
    for position, header in enumerate(headers):
        name = header.strip()
        if name.upper().startswith(("Q:", "Q：")):
            key = name[2:].strip().split()[0] if name[2:].strip() else ""
            if key and key not in questions:
                questions[key] = (position, name)
        elif name and name not in index:
            index[name] = position
    missing = [c for c in REQUIRED if c not in index]
    if missing:
        raise CallImportFailed(f"缺少必需的列：{'、'.join(missing)}（请使用 huifang calls export 导出的表格）")
    return _Columns(index, questions)


def _result_code(text: str) -> str | None:
    """The code for a 拨打结果 cell: a label of the 说明 sheet, its code, or 接通 (the call screen's word)."""
    if text == "接通":
        return "completed"
    for label, code in _allowed_results():
        if text in (label, code):
            return code
    return None


def _parse_row(
    row_number: int, cells: list[Any], columns: _Columns, kit: SurveyKit, now: datetime
) -> SheetRow | list[Problem] | None:
    """Check one row without the database; None for a row nobody filled in."""

    def cell(name: str) -> Any:
        position = columns.index.get(name)
        return cells[position] if position is not None and position < len(cells) else None

    answers = {
        key: _Answer(header, cells[position])
        for key, (position, header) in columns.questions.items()
        if position < len(cells) and _text(cells[position])
    }
    at_cell, result_text, caller = cell(DIALLED_AT), _text(cell(RESULT)), _text(cell(CALLER))
    if not _text(at_cell) and not result_text and not caller and not answers:
        return None
    problems: list[Problem] = []
    survey_text = _text(cell(SURVEY))
    survey_id = int(survey_text) if survey_text.isdigit() else None
    if survey_id is None:
        problems.append(Problem(SURVEY, f"“{survey_text}”不是回访编号" if survey_text else "未填写"))
    at: datetime | None = None
    if not _text(at_cell):
        problems.append(Problem(DIALLED_AT, "未填写"))
    else:
        try:
            at = parse_dial_time(at_cell)
        except InvalidDate as exc:
            problems.append(Problem(DIALLED_AT, str(exc)))
        else:
            if _utc(at, kit, now) > now:
                problems.append(Problem(DIALLED_AT, f"“{at:{TIME_FORMAT}}”晚于现在，不能记录尚未发生的拨打"))
    code = _result_code(result_text) if result_text else None
    if not result_text:
        problems.append(Problem(RESULT, "未填写"))
    elif code is None:
        problems.append(Problem(RESULT, f"“{result_text}”不是可用的拨打结果（可填的值见“说明”表）"))
    if not caller:
        problems.append(Problem(CALLER, "未填写"))
    if code is not None and code not in CONNECTING and answers:
        first = next(iter(answers.values()))
        problems.append(Problem(first.header, f"拨打结果为“{result_text}”（未接通），不应填写问卷答案"))
    callback: datetime | None = None
    if code == "appointment" and _text(cell(CALLBACK)):
        try:
            callback = parse_dial_time(cell(CALLBACK))
        except InvalidDate as exc:
            problems.append(Problem(CALLBACK, str(exc)))
        else:
            if at is not None and callback <= at:
                problems.append(Problem(CALLBACK, f"约定的回电时间“{callback:{TIME_FORMAT}}”应晚于拨打时间"))
    if problems:
        return problems
    assert survey_id is not None and at is not None and code is not None
    note = _text(cell(NOTE)) or None
    return SheetRow(row_number, cells, survey_id, at, code, caller, note, callback, answers)


# --------------------------------------------------------------------------------------------------
# Import: recording a row


class _Rejected(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(column, message)


def import_calls(
    uow_factory: UnitOfWorkFactory,
    kit: SurveyKit,
    path: Path,
    phone: PhoneSettings,
    clock: Clock,
    *,
    dry_run: bool = False,
) -> CallImportSummary:
    """Record the outcomes and answers typed into a call sheet; one transaction per row.

    Rows are recorded in order of their dial time. Rows nobody filled in are skipped; a row imported
    before counts as unchanged. ``dry_run`` checks and records every row, then rolls each one back.
    """
    try:
        table = open_table(path)
    except NotATable as exc:
        raise CallImportFailed(str(exc)) from None
    columns = _columns(table.headers)
    now = clock.now()
    summary = CallImportSummary(dry_run=dry_run)
    rejected: list[tuple[int, list[Any], list[Problem]]] = []
    valid: list[SheetRow] = []
    try:
        for row_number, cells in table.rows:
            parsed = _parse_row(row_number, cells, columns, kit, now)
            if parsed is None:
                summary.skipped += 1
            elif isinstance(parsed, list):
                rejected.append((row_number, cells, parsed))
            else:
                valid.append(parsed)
    except NotATable as exc:
        raise CallImportFailed(str(exc)) from None
    for row in sorted(valid, key=lambda r: (r.at, r.row_number)):
        outcome = _import_row(uow_factory, kit, phone, row, now, dry_run)
        if isinstance(outcome, Problem):
            rejected.append((row.row_number, row.cells, [outcome]))
        elif outcome == "unchanged":
            summary.unchanged += 1
        else:
            summary.recorded += 1
            if outcome == "cut_short":
                summary.cut_short += 1
    rejects = _Rejects(path, table.headers, table.encoding)
    try:
        for row_number, cells, problems in sorted(rejected, key=lambda r: r[0]):
            rejects.add(row_number, cells, problems)
    finally:
        rejects.close()
    summary.rejected = rejects.count
    summary.rejects_path = str(rejects.path) if rejects.count else None
    return summary


def _import_row(
    uow_factory: UnitOfWorkFactory, kit: SurveyKit, phone: PhoneSettings, row: SheetRow, now: datetime, dry_run: bool
) -> str | Problem:
    """Record one row in its own transaction: "recorded", "cut_short", "unchanged" or the problem."""
    for _ in range(3):
        with uow_factory() as uow:
            try:
                outcome = _record(uow, kit, phone, row, now)
            except ClaimConflict:
                continue  # another process wrote meanwhile (SQLite): start the row over
            except _Rejected as exc:
                return exc.problem  # leaving the unit of work rolls the row back
            if outcome != "unchanged" and not dry_run:
                uow.commit()
            return outcome
    return Problem(SURVEY, "数据库繁忙，这一行未能记录，请稍后重新导入")


def _record(uow: SqlUnitOfWork, kit: SurveyKit, phone: PhoneSettings, row: SheetRow, now: datetime) -> str:
    survey = uow.surveys.get(row.survey_id, for_update=True)
    if survey is None:
        raise _Rejected(SURVEY, f"找不到回访编号 {row.survey_id}")
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    staff = uow.colleagues.by_name(customer.store_id, row.caller)
    if staff is None or not staff.active:
        raise _Rejected(CALLER, f"“{row.caller}”不是本店在职员工")
    at = _utc(row.at, kit, now)
    attempts = uow.surveys.attempts(survey.id)
    expected = _CONNECTED_RECORDS if row.code in CONNECTING else {row.code}
    if any(a.staff_id == staff.id and a.attempted_at == at and a.disposition in expected for a in attempts):
        return "unchanged"
    _check_open(survey, customer, phone, attempts, at, kit)
    if not uow.surveys.claim(survey.id, staff.id, now, now - phone.claim_timeout):
        holder = uow.people.staff(survey.claimed_by_staff_id)
        who = f"“{holder.name}”" if holder else "其他专员"
        raise _Rejected(SURVEY, f"该客户正由{who}在系统中拨打（领取尚未过期），请稍后重新导入这一行")
    uow.session.refresh(survey)
    at_kit = replace(kit, clock=FixedClock(at))
    if row.code not in CONNECTING:
        record_dial(uow, at_kit, phone, staff, survey.id, row.code, row.note)
        return "recorded"
    outcome = _connected(uow, at_kit, phone, staff, survey, row)
    if row.note:
        uow.flush()
        for attempt in uow.surveys.attempts(survey.id):
            if attempt.staff_id == staff.id and attempt.attempted_at == at and attempt.note is None:
                attempt.note = row.note
    return outcome


def _check_open(
    survey: Survey,
    customer: Customer,
    phone: PhoneSettings,
    attempts: list[ContactAttempt],
    at: datetime,
    kit: SurveyKit,
) -> None:
    if survey.status not in ACTIVE_VALUES:
        raise _Rejected(SURVEY, f"该回访已结束（{_STATUS_ZH.get(survey.status, survey.status)}），不能再记录拨打")
    if customer.opted_out_at is not None:
        raise _Rejected(SURVEY, "客户已要求不再联系，不能再记录拨打")
    if survey.attempt_count >= phone.rules.max_attempts:
        raise _Rejected(SURVEY, f"已拨打 {survey.attempt_count} 次，达到上限，不再拨打")
    latest = max((a.attempted_at for a in attempts if a.channel == PHONE), default=None)
    if latest is not None and at < latest:
        raise _Rejected(
            DIALLED_AT, f"早于该客户最近一次拨打记录（{_local(latest, kit):{TIME_FORMAT}}），请核对拨打时间"
        )


def _connected(
    uow: SqlUnitOfWork, kit: SurveyKit, phone: PhoneSettings, staff: Staff, survey: Survey, row: SheetRow
) -> str:
    """接通: run the questionnaire on the row's answers, then end the call as the sheet says."""
    dialled = record_dial(uow, kit, phone, staff, survey.id, "connected")
    assert dialled.position is not None
    position = dialled.position
    questionnaire = position.questionnaire
    relevant = _relevant_answers(row, questionnaire)
    answered_before = {a.question_id for a in State.from_dict(survey.state or {}).answers}
    walked: set[str] = set()
    while not position.finished and position.step.node_id in relevant:
        node_id = position.step.node_id
        walked.add(node_id)
        position = _answer(uow, kit, staff, survey.id, position, relevant[node_id], row.at)
    for node_id, given in relevant.items():
        if node_id not in walked and node_id not in answered_before:
            raise _Rejected(given.header, "按前面的回答不会问到这一题：请清空，或检查前面几题的答案")
    label = BY_CODE[row.code].label if row.code in BY_CODE else DO_NOT_CALL_LABEL
    if position.finished:
        done = {"complete": "已答完问卷", "refusal": "问卷以拒访结束", "appointment": "问卷以预约回访结束"}
        outcome = survey.outcome or ""
        fits = {
            "completed": True,
            "partial": False,
            "refused": outcome == "refusal",
            DO_NOT_CALL: outcome == "refusal",
            "appointment": outcome == "appointment",
        }[row.code]
        if not fits:
            raise _Rejected(RESULT, f"“{label}”与问卷答案不符：{done.get(outcome, '问卷已结束')}")
        if row.code == DO_NOT_CALL:  # the script ended in a refusal; 勿再致电 adds the opt-out
            customer = uow.people.get(survey.customer_id)
            assert customer is not None
            customer.opted_out_at = kit.clock.now()
            opt_out_everywhere(uow, customer.id, channel=PHONE, now=kit.clock.now())
        return "recorded"
    if row.code == "completed":
        if not walked:
            raise _Rejected(ANSWERS, "拨打结果为“接通/完成”，但没有填写问卷答案（接通后挂断请填“中途挂断”）")
        end_call(uow, kit, staff, survey.id, "partial")
        return "cut_short"
    if row.code == "appointment":
        if row.callback is None:
            raise _Rejected(CALLBACK, "拨打结果为“预约回访”，请填写约定的回电时间，如 2026-11-26 15:00")
        book_callback(uow, kit, staff, survey.id, row.callback)
        return "recorded"
    end_call(uow, kit, staff, survey.id, {"partial": "partial", "refused": "refused"}.get(row.code, DO_NOT_CALL))
    return "recorded"


def _relevant_answers(row: SheetRow, questionnaire: Questionnaire) -> dict[str, _Answer]:
    """The row's answers for this survey's questionnaire, by question id (a wrong column is a problem)."""
    ids = {n.id for n in _questions(questionnaire)}
    relevant: dict[str, _Answer] = {}
    for key, given in row.answers.items():
        owner, _, node_id = key.rpartition(".")
        if owner and owner != questionnaire.id:
            raise _Rejected(given.header, f"这一列属于另一份问卷，本行的问卷是“{questionnaire.title}”")
        if node_id not in ids:
            raise _Rejected(given.header, f"问卷“{questionnaire.title}”没有这一题")
        relevant[node_id] = given
    return relevant


_REJECTION_ZH = {
    RejectReason.UNKNOWN_OPTION: "不是这一题的选项",
    RejectReason.DUPLICATE_OPTION: "同一选项填了两次",
    RejectReason.TOO_FEW_CHOICES: "选择的项数太少",
    RejectReason.TOO_MANY_CHOICES: "选择的项数超过上限",
    RejectReason.TEXT_TOO_SHORT: "内容为空",
    RejectReason.TEXT_TOO_LONG: "内容太长",
    RejectReason.RATING_OUT_OF_RANGE: "分数不在范围内",
    RejectReason.BAD_TIME: "不是有效的时间",
    RejectReason.PAST_TIME: "时间已经过去",
    RejectReason.TOO_FAR_AHEAD: "时间太远（须在60天以内）",
    RejectReason.OUTSIDE_HOURS: "不在拨打时间内",
}


def _answer(
    uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int, position: Position, given: _Answer, at: datetime
) -> Position:
    step = position.step
    text = _text(given.value)
    read = _read(step, given.value, text)
    if read is None:
        raise _Rejected(given.header, f"“{text}”不是这一题的答案（{_allowed_values(_node(position, step))}）")
    if isinstance(read, BookCallback) and isinstance(read.at, datetime) and read.at <= at:
        raise _Rejected(given.header, f"约定的回电时间“{read.at:{TIME_FORMAT}}”应晚于拨打时间")
    result = phone_answer(uow, kit, staff, survey_id, read)
    if isinstance(result, Rejection):
        why = _REJECTION_ZH.get(result.reason, "无法记录")
        raise _Rejected(given.header, f"“{text}”{why}（{_allowed_values(_node(position, step))}）")
    assert isinstance(result, Accepted)
    return result.position


def _node(position: Position, step: Step) -> Any:
    return position.questionnaire.node(step.node_id)


def _read(step: Step, value: Any, text: str) -> Input | None:
    """Typed text as an engine input: what the call screen accepts, plus option labels for a multiple
    choice and any date-time the sheet accepts for a callback."""
    if step.kind is NodeKind.CALLBACK:
        try:
            return BookCallback(parse_dial_time(value), step.node_id)
        except InvalidDate:
            return None
    read = text_input(step, text)
    if read is not None or step.kind is not NodeKind.MULTI:
        return read
    codes: list[str] = []
    for part in (p for p in re.split(r"[,，、;；/]+", text) if p.strip()):
        part = part.strip()
        option = next(
            (o for o in step.options if part in (str(o.index + 1), o.label, o.code)),
            None,
        )
        if option is None:
            return None
        codes.append(option.code)
    return ChooseMany(tuple(codes), step.node_id) if codes else None
