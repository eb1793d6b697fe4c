"""Use case: write the day's call sheet (拨打名单) for teams that dial from another system.

The sheet lists the day's queue in order, with empty columns for the caller to fill (when they dialled, the
outcome, who dialled, a note and the customer's answers) and a 说明 sheet of the values each column takes.
The format is described in ``docs/phone.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from bot.domain.calling import PhoneSettings
from bot.domain.clock import Clock
from bot.domain.dispositions import disposition as disposition_info
from bot.domain.lifecycle import SurveyStatus
from bot.domain.people import Honorific, title
from bot.domain.phone import national
from bot.domain.questionnaire import Questionnaire
from bot.services.call_sheet.columns import (
    CALLBACK,
    COLUMNS_BY_KEY,
    DIALLED_AT,
    EARLIER,
    FILL_COLUMNS,
    GUIDE_SHEET,
    INFO_COLUMNS,
    NOTE,
    PHONE_NUMBER,
    QUESTION_PREFIX,
    RESULT,
    TIME_FORMAT,
    allowed_results,
    allowed_values,
    local,
    questions,
    utc,
)
from bot.services.surveys import SurveyKit, questionnaire_of
from bot.tabular import append_row, create_table
from bot.texts import call_sheet_text, call_sheet_value
from storage.models import Survey
from storage.unit_of_work import SqlUnitOfWork


def call_day(kit: SurveyKit, phone: PhoneSettings, clock: Clock) -> date:
    """The day the sheet is for: today, or the next calling day once today's calling hours are over."""
    return phone.hours.next_open(local(clock.now(), kit)).date()


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
    end_of_day = utc(datetime.combine(day, phone.hours.end), kit, now)
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


def _short(template: str, width: int = 14) -> str:
    """A question's text without its placeholders, cut short for a column header."""
    text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "", template)
    text = re.sub(r"\s+", "", text)
    return text if len(text) <= width else text[: width - 1] + "…"


def _plain(template: str) -> str:
    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}", "…", template).strip()


def _question_columns(questionnaires: Iterable[Questionnaire]) -> list[tuple[str, str, Any, Questionnaire]]:
    """(column key, header, node, questionnaire) per question. The key is the question id, or
    ``questionnaire.question`` when two questionnaires of the sheet share that id."""
    listed = list(questionnaires)
    owners: dict[str, set[str]] = {}
    for q in listed:
        for node in questions(q):
            owners.setdefault(node.id, set()).add(q.id)
    columns: list[tuple[str, str, Any, Questionnaire]] = []
    seen: set[str] = set()
    for q in listed:
        for node in questions(q):
            key = node.id if len(owners[node.id]) == 1 else f"{q.id}.{node.id}"
            if key not in seen:
                seen.add(key)
                columns.append((key, f"{QUESTION_PREFIX}{key} {_short(node.text)}".strip(), node, q))
    return columns


def _sheet_row(uow: SqlUnitOfWork, kit: SurveyKit, number: int, survey: Survey, width: int) -> list[Any]:
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    vehicle = uow.people.vehicle(customer.id)
    consultant = uow.people.staff(customer.owner_staff_id)
    honorific = Honorific(customer.honorific) if customer.honorific else None
    earlier = call_sheet_text("earlier_separator").join(
        f"{disposition_info(a.disposition).label} {local(a.attempted_at, kit):%m-%d %H:%M}"
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
        f"{local(callback, kit):{TIME_FORMAT}}" if callback else "",
        earlier,
    ]
    return cells + [None] * (width - len(cells))


def _guide_rows(columns: list[tuple[str, str, Any, Questionnaire]]) -> list[list[str]]:
    hints: dict[str, str] = call_sheet_value("result_hints")
    rows = [[RESULT, label, str(hints.get(code, ""))] for label, code in allowed_results()]
    rows += [[COLUMNS_BY_KEY[key], str(example), str(hint)] for key, example, hint in call_sheet_value("guide.rows")]
    for key, _, node, q in columns:
        header = call_sheet_text("guide.question", prefix=QUESTION_PREFIX, key=key, questionnaire=q.title)
        rows.append([header, allowed_values(node), _plain(node.text)])
    return rows


def _write_xlsx(path: Path, headers: list[str], rows: list[list[Any]], guide: list[list[str]]) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = call_sheet_text("sheets.calls")
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
    results = DataValidation(type="list", formula1='"' + ",".join(label for label, _ in allowed_results()) + '"')
    results.error = call_sheet_text("validation_error")
    results.showErrorMessage = True
    result_letter = get_column_letter(headers.index(RESULT) + 1)
    results.add(f"{result_letter}2:{result_letter}{last}")
    sheet.add_data_validation(results)
    notes = book.create_sheet(GUIDE_SHEET)
    append_row(notes, _guide_header())
    for row in guide:
        append_row(notes, row)
    for letter, width in (("A", 28), ("B", 60), ("C", 70)):
        notes.column_dimensions[letter].width = width
    book.save(path)


def _guide_header() -> list[str]:
    return [str(name) for name in call_sheet_value("sheets.guide_header")]


def _write_csv(path: Path, headers: list[str], rows: list[list[Any]], guide: list[list[str]]) -> None:
    writer = create_table(path, headers)
    try:
        for row in rows:
            writer.write(row)
    finally:
        writer.close()
    notes = create_table(path.with_name(f"{path.stem}.{GUIDE_SHEET}{path.suffix.lower()}"), _guide_header())
    try:
        for row in guide:
            notes.write(list(row))
    finally:
        notes.close()
