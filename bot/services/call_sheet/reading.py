"""Reading a filled call sheet: its columns, the dial time typed into a cell, and the checks of one row that
need no database (a row that fails them goes to the rejects file with a Chinese reason naming the column).

The dial time is a spreadsheet cell, not a customer's words: a full date and a time (seconds allowed), or a
date-time cell; what a customer or a specialist types as a callback is read by ``bot.domain.callback_time``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from bot.domain.customer_import import Problem
from bot.domain.dates import InvalidDate, parse_date
from bot.services.call_sheet.columns import (
    CALLBACK,
    CALLER,
    CONNECTING,
    DIALLED_AT,
    NOTE,
    REQUIRED,
    RESULT,
    SURVEY,
    TIME_FORMAT,
    CallImportFailed,
    allowed_results,
    cell_text,
    utc,
)
from bot.services.surveys import SurveyKit
from bot.texts import call_sheet_text

_TIME_AT_END = re.compile(r"^(?P<day>.*?)[\sT]*(?P<h>\d{1,2})\s*[:：]\s*(?P<m>\d{2})(?:\s*[:：]\s*(?P<s>\d{2}))?$")


def parse_dial_time(value: Any) -> datetime:
    """A date and time typed into the sheet (local wall-clock time): 2026-11-25 10:30, 2026/11/25 10:30,
    2026年11月25日 10:30, or a date-time cell. InvalidDate with a Chinese message otherwise."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, date):
        raise InvalidDate(call_sheet_text("errors.date_without_time", day=value.isoformat()))
    text = cell_text(value)
    match = _TIME_AT_END.match(text)
    if match is None:
        raise InvalidDate(call_sheet_text("errors.unreadable_time", text=text))
    if not match["day"].strip():
        raise InvalidDate(call_sheet_text("errors.time_without_date", text=text))
    day = parse_date(match["day"].strip())
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise InvalidDate(call_sheet_text("errors.impossible_time", text=text))
    return datetime.combine(day, time(hour, minute, second))


@dataclass(frozen=True)
class Answer:
    """One answer cell of a row: the column's header (to name it in a reason) and what was typed."""

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
    answers: dict[str, Answer] = field(default_factory=dict)  # column key -> header and value


@dataclass(frozen=True)
class Columns:
    """Where each column of a filled sheet is."""

    index: dict[str, int]
    questions: dict[str, tuple[int, str]]  # column key -> (index, header)


def read_columns(headers: list[str]) -> Columns:
    """The sheet's columns by name; CallImportFailed if a column the import needs is missing."""
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
        separator = call_sheet_text("errors.column_separator")
        raise CallImportFailed(call_sheet_text("errors.missing_columns", columns=separator.join(missing)))
    return Columns(index, questions)


def result_code(text: str) -> str | None:
    """The code for a 拨打结果 cell: a label of the 说明 sheet, its code, or 接通 (the call screen's word)."""
    if text == call_sheet_text("results.connected"):
        return "completed"
    for label, code in allowed_results():
        if text in (label, code):
            return code
    return None


def parse_row(
    row_number: int, cells: list[Any], columns: Columns, kit: SurveyKit, now: datetime
) -> SheetRow | list[Problem] | None:
    """Check one row without the database; None for a row nobody filled in."""

    def cell(name: str) -> Any:
        position = columns.index.get(name)
        return cells[position] if position is not None and position < len(cells) else None

    answers = {
        key: Answer(header, cells[position])
        for key, (position, header) in columns.questions.items()
        if position < len(cells) and cell_text(cells[position])
    }
    at_cell, result_text, caller = cell(DIALLED_AT), cell_text(cell(RESULT)), cell_text(cell(CALLER))
    if not cell_text(at_cell) and not result_text and not caller and not answers:
        return None
    not_filled = call_sheet_text("errors.not_filled")
    problems: list[Problem] = []
    survey_text = cell_text(cell(SURVEY))
    survey_id = int(survey_text) if survey_text.isdigit() else None
    if survey_id is None:
        problems.append(
            Problem(SURVEY, call_sheet_text("errors.not_a_survey_id", text=survey_text) if survey_text else not_filled)
        )
    at = _dial_time(at_cell, kit, now, problems)
    code = result_code(result_text) if result_text else None
    if not result_text:
        problems.append(Problem(RESULT, not_filled))
    elif code is None:
        problems.append(Problem(RESULT, call_sheet_text("errors.unknown_result", text=result_text)))
    if not caller:
        problems.append(Problem(CALLER, not_filled))
    if code is not None and code not in CONNECTING and answers:
        first = next(iter(answers.values()))
        problems.append(Problem(first.header, call_sheet_text("errors.answers_without_contact", result=result_text)))
    callback = _callback_time(cell(CALLBACK), at, problems) if code == "appointment" else None
    if problems:
        return problems
    assert survey_id is not None and at is not None and code is not None
    note = cell_text(cell(NOTE)) or None
    return SheetRow(row_number, cells, survey_id, at, code, caller, note, callback, answers)


def _dial_time(at_cell: Any, kit: SurveyKit, now: datetime, problems: list[Problem]) -> datetime | None:
    """The row's dial time (拨打时间): filled, readable and not in the future, else a problem."""
    if not cell_text(at_cell):
        problems.append(Problem(DIALLED_AT, call_sheet_text("errors.not_filled")))
        return None
    try:
        at = parse_dial_time(at_cell)
    except InvalidDate as exc:
        problems.append(Problem(DIALLED_AT, str(exc)))
        return None
    if utc(at, kit, now) > now:
        problems.append(Problem(DIALLED_AT, call_sheet_text("errors.dialled_in_future", at=f"{at:{TIME_FORMAT}}")))
    return at


def _callback_time(callback_cell: Any, at: datetime | None, problems: list[Problem]) -> datetime | None:
    """A booked callback time, if the cell is filled: readable and after the dial, else a problem."""
    if not cell_text(callback_cell):
        return None
    try:
        callback = parse_dial_time(callback_cell)
    except InvalidDate as exc:
        problems.append(Problem(CALLBACK, str(exc)))
        return None
    if at is not None and callback <= at:
        problems.append(
            Problem(CALLBACK, call_sheet_text("errors.callback_not_after_dial", at=f"{callback:{TIME_FORMAT}}"))
        )
    return callback
