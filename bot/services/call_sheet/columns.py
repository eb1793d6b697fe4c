"""What the call sheet's export and import share: its columns, the 拨打结果 values, cell text and times.

Every Chinese text lives in ``scripts_zh/calls/labels.yaml`` (read through ``bot.texts``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.domain.dispositions import for_channel
from bot.domain.questionnaire import NodeKind, Questionnaire
from bot.services.calls import PHONE
from bot.services.surveys import QUESTION_KINDS, SurveyKit
from bot.texts import call_sheet_text, call_sheet_value
from storage.unit_of_work import SqlUnitOfWork

UnitOfWorkFactory = Callable[[], SqlUnitOfWork]


def _column(key: str) -> str:
    return call_sheet_text(f"columns.{key}")


# Columns of the sheet (Chinese, as staff see them).
SEQ = _column("seq")
SURVEY = _column("survey")
CUSTOMER = _column("customer")
TITLE = _column("title")
PHONE_NUMBER = _column("phone")
SERIES = _column("series")
MODEL = _column("model")
CONSULTANT = _column("consultant")
QUESTIONNAIRE = _column("questionnaire")
CALLBACK = _column("callback")
EARLIER = _column("earlier")
DIALLED_AT = _column("dialled_at")
RESULT = _column("result")
CALLER = _column("caller")
NOTE = _column("note")
ANSWERS = _column("answers")
COLUMNS_BY_KEY = {key: _column(key) for key in call_sheet_value("columns")}
QUESTION_PREFIX = "Q:"
INFO_COLUMNS = [SEQ, SURVEY, CUSTOMER, TITLE, PHONE_NUMBER, SERIES, MODEL, CONSULTANT, QUESTIONNAIRE, CALLBACK, EARLIER]
FILL_COLUMNS = [DIALLED_AT, RESULT, CALLER, NOTE]
REQUIRED = (SURVEY, DIALLED_AT, RESULT, CALLER)
GUIDE_SHEET = call_sheet_text("sheets.guide")
TIME_FORMAT = "%Y-%m-%d %H:%M"

# 勿再致电 is a button of the call screen, recorded as 拒访 plus an opt-out; it is not a disposition of its own.
DO_NOT_CALL = "do_not_call"
DO_NOT_CALL_LABEL = call_sheet_text("results.do_not_call")
# Outcomes that mean the customer picked up: the questionnaire runs and the answers in the row are recorded.
CONNECTING = ("completed", "partial", "refused", DO_NOT_CALL, "appointment")


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


def local(moment: datetime, kit: SurveyKit) -> datetime:
    """A stored (UTC) moment as the store's wall-clock time, naive."""
    return moment.astimezone(kit.tz).replace(tzinfo=None)


def utc(wall_clock: datetime, kit: SurveyKit, like: datetime) -> datetime:
    """The store's wall-clock time as an aware moment in the zone of ``like``."""
    return wall_clock.replace(tzinfo=kit.tz).astimezone(like.tzinfo)


def cell_text(cell: Any) -> str:
    """A cell as typed text: Excel's 1.0 back to 1, dates as 2026-11-25 10:30."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.strftime(TIME_FORMAT if cell.second == 0 else "%Y-%m-%d %H:%M:%S")
    return str(cell).strip()


def questions(questionnaire: Questionnaire) -> list[Any]:
    """The nodes of a questionnaire that get a column (the ones a caller asks)."""
    return [n for n in questionnaire.nodes if n.kind in QUESTION_KINDS]


def allowed_results() -> list[tuple[str, str]]:
    """(label, code) of every value 拨打结果 accepts, in the order staff see them."""
    values = [(d.label, d.code) for d in for_channel(PHONE)]
    at = [code for _, code in values].index("refused") + 1
    values.insert(at, (DO_NOT_CALL_LABEL, DO_NOT_CALL))
    return values


def allowed_values(node: Any) -> str:
    """What the caller may type for a question, as the 说明 sheet lists it."""
    if node.kind in (NodeKind.SINGLE, NodeKind.MULTI):
        values = call_sheet_text("allowed.option_separator").join(
            call_sheet_text("allowed.option", number=i, label=o.label) for i, o in enumerate(node.options, start=1)
        )
        if node.kind is NodeKind.MULTI:
            return call_sheet_text("allowed.multi", values=values)
        return call_sheet_text("allowed.single", values=values)
    if node.kind is NodeKind.RATING and node.scale is not None:
        return call_sheet_text("allowed.rating", low=node.scale[0], high=node.scale[1])
    if node.kind is NodeKind.TEXT:
        if node.max_length:
            return call_sheet_text("allowed.text_limited", limit=node.max_length)
        return call_sheet_text("allowed.text")
    if node.kind is NodeKind.CALLBACK:
        return call_sheet_text("allowed.callback")
    return ""
