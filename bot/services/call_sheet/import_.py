"""Use case: import a filled call sheet.

``import_calls`` reads the sheet (``reading``): each row is checked like a customer-import row (a bad row
goes to the rejects file beside the input with its row number and a Chinese reason naming the column) and
then recorded through the same use cases as the call screen (claim, ``record_dial``, ``phone_answer``,
``end_call``, ``book_callback``) in one transaction per row, at the sheet's dial time. A row imported before
is recognised and left alone. The format is described in ``docs/phone.md``.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.domain.calling import PhoneSettings
from bot.domain.clock import Clock, FixedClock
from bot.domain.customer_import import Problem
from bot.domain.dates import InvalidDate
from bot.domain.dispositions import BY_CODE
from bot.domain.engine import BookCallback, ChooseMany, Input, Rejection, State, Step
from bot.domain.lifecycle import ACTIVE_VALUES
from bot.domain.presentation import text_input
from bot.domain.questionnaire import NodeKind, Questionnaire
from bot.services.call_sheet.columns import (
    ANSWERS,
    CALLBACK,
    CALLER,
    CONNECTING,
    DIALLED_AT,
    DO_NOT_CALL,
    DO_NOT_CALL_LABEL,
    RESULT,
    SURVEY,
    TIME_FORMAT,
    CallImportFailed,
    CallImportSummary,
    UnitOfWorkFactory,
    allowed_values,
    cell_text,
    local,
    questions,
    utc,
)
from bot.services.call_sheet.reading import Answer, SheetRow, parse_dial_time, parse_row, read_columns
from bot.services.calls import PHONE, book_callback, end_call, phone_answer, record_dial
from bot.services.importing import _Rejects
from bot.services.survey_status import opt_out_everywhere
from bot.services.surveys import Accepted, Position, SurveyKit
from bot.tabular import NotATable, open_table
from bot.texts import call_sheet_text, call_sheet_value
from storage.models import ContactAttempt, Customer, Staff, Survey
from storage.repositories import ClaimConflict
from storage.unit_of_work import SqlUnitOfWork

# What the database holds after a connecting row (the engine's end or the call's end decides which).
_CONNECTED_RECORDS = frozenset({"completed", "partial", "refused", "appointment"})


class _Rejected(Exception):
    def __init__(self, column: str, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(column, message)


def _rejected(column: str, key: str, /, **context: Any) -> _Rejected:
    return _Rejected(column, call_sheet_text(f"errors.{key}", **context))


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
    columns = read_columns(table.headers)
    now = clock.now()
    summary = CallImportSummary(dry_run=dry_run)
    rejected: list[tuple[int, list[Any], list[Problem]]] = []
    valid: list[SheetRow] = []
    try:
        for row_number, cells in table.rows:
            parsed = parse_row(row_number, cells, columns, kit, now)
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
    return Problem(SURVEY, call_sheet_text("errors.database_busy"))


def _record(uow: SqlUnitOfWork, kit: SurveyKit, phone: PhoneSettings, row: SheetRow, now: datetime) -> str:
    survey = uow.surveys.get(row.survey_id, for_update=True)
    if survey is None:
        raise _rejected(SURVEY, "unknown_survey", survey=row.survey_id)
    customer = uow.people.get(survey.customer_id)
    assert customer is not None
    staff = uow.colleagues.by_name(customer.store_id, row.caller)
    if staff is None or not staff.active:
        raise _rejected(CALLER, "not_a_colleague", caller=row.caller)
    at = utc(row.at, kit, now)
    attempts = uow.surveys.attempts(survey.id)
    expected = _CONNECTED_RECORDS if row.code in CONNECTING else {row.code}
    if any(a.staff_id == staff.id and a.attempted_at == at and a.disposition in expected for a in attempts):
        return "unchanged"
    _check_open(survey, customer, phone, attempts, at, kit)
    if not uow.surveys.claim(survey.id, staff.id, now, now - phone.claim_timeout):
        holder = uow.people.staff(survey.claimed_by_staff_id)
        who = (
            call_sheet_text("errors.held_by_name", name=holder.name)
            if holder
            else call_sheet_text("errors.held_by_someone")
        )
        raise _rejected(SURVEY, "held_by", who=who)
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
        statuses: dict[str, str] = call_sheet_value("statuses")
        raise _rejected(SURVEY, "survey_over", status=str(statuses.get(survey.status, survey.status)))
    if customer.opted_out_at is not None:
        raise _rejected(SURVEY, "opted_out")
    if survey.attempt_count >= phone.rules.max_attempts:
        raise _rejected(SURVEY, "attempt_limit", count=survey.attempt_count)
    latest = max((a.attempted_at for a in attempts if a.channel == PHONE), default=None)
    if latest is not None and at < latest:
        raise _rejected(DIALLED_AT, "before_latest_dial", latest=f"{local(latest, kit):{TIME_FORMAT}}")


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
            raise _rejected(given.header, "question_not_reached")
    label = BY_CODE[row.code].label if row.code in BY_CODE else DO_NOT_CALL_LABEL
    if position.finished:
        outcome = survey.outcome or ""
        fits = {
            "completed": True,
            "partial": False,
            "refused": outcome == "refusal",
            DO_NOT_CALL: outcome == "refusal",
            "appointment": outcome == "appointment",
        }[row.code]
        if not fits:
            ends: dict[str, str] = call_sheet_value("script_ends")
            end = str(ends.get(outcome, ends["other"]))
            raise _rejected(RESULT, "result_contradicts_script", result=label, end=end)
        if row.code == DO_NOT_CALL:  # the script ended in a refusal; 勿再致电 adds the opt-out
            customer = uow.people.get(survey.customer_id)
            assert customer is not None
            customer.opted_out_at = kit.clock.now()
            opt_out_everywhere(
                uow, customer.id, channel=PHONE, now=kit.clock.now(), source="call_sheet", wording=DO_NOT_CALL
            )
        return "recorded"
    if row.code == "completed":
        if not walked:
            raise _rejected(ANSWERS, "completed_without_answers")
        end_call(uow, kit, staff, survey.id, "partial")
        return "cut_short"
    if row.code == "appointment":
        if row.callback is None:
            raise _rejected(CALLBACK, "appointment_without_time")
        book_callback(uow, kit, staff, survey.id, row.callback)
        return "recorded"
    end_call(uow, kit, staff, survey.id, {"partial": "partial", "refused": "refused"}.get(row.code, DO_NOT_CALL))
    return "recorded"


def _relevant_answers(row: SheetRow, questionnaire: Questionnaire) -> dict[str, Answer]:
    """The row's answers for this survey's questionnaire, by question id (a wrong column is a problem)."""
    ids = {n.id for n in questions(questionnaire)}
    relevant: dict[str, Answer] = {}
    for key, given in row.answers.items():
        owner, _, node_id = key.rpartition(".")
        if owner and owner != questionnaire.id:
            raise _rejected(given.header, "other_questionnaire", questionnaire=questionnaire.title)
        if node_id not in ids:
            raise _rejected(given.header, "no_such_question", questionnaire=questionnaire.title)
        relevant[node_id] = given
    return relevant


def _answer(
    uow: SqlUnitOfWork, kit: SurveyKit, staff: Staff, survey_id: int, position: Position, given: Answer, at: datetime
) -> Position:
    step = position.step
    text = cell_text(given.value)
    read = _read(step, given.value, text)
    if read is None:
        raise _rejected(given.header, "not_an_answer", text=text, allowed=allowed_values(_node(position, step)))
    if isinstance(read, BookCallback) and isinstance(read.at, datetime) and read.at <= at:
        raise _rejected(given.header, "callback_not_after_dial", at=f"{read.at:{TIME_FORMAT}}")
    result = phone_answer(uow, kit, staff, survey_id, read)
    if isinstance(result, Rejection):
        why = _rejection(result.reason)
        raise _rejected(
            given.header, "answer_rejected", text=text, why=why, allowed=allowed_values(_node(position, step))
        )
    assert isinstance(result, Accepted)
    return result.position


def _rejection(reason: str) -> str:
    """Why the engine refused a typed answer, in Chinese (无法记录 for a reason without its own words)."""
    words: dict[str, str] = call_sheet_value("rejections")
    return str(words.get(reason, words["other"]))


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
