"""`huifang scripts ...`: check and try the questionnaires in scripts_zh/.

``huifang scripts check [PATH...]`` validates every questionnaire (schema, graph, templates, Telegram
limits) and prints all errors as ``file:line: message``; exit code 1 if there is any. ``huifang scripts
try NAME`` walks a questionnaire in the terminal as a customer would, with the sample context, printing
the answer records and actions each answer would produce.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from bot.domain.engine import Result, Step
    from bot.domain.questionnaire import Action


@click.group()
def scripts() -> None:
    """Check and try the questionnaires in scripts_zh/."""


@scripts.command("check")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
def check_command(paths: tuple[Path, ...]) -> None:
    """Validate questionnaires (default: every file in scripts_zh/questionnaires)."""
    from bot.contact_plans import load_plans
    from bot.domain.contact_plan import PlanError
    from bot.questionnaires import QUESTIONNAIRES_DIR, check_paths

    good, issues = check_paths(list(paths) or [QUESTIONNAIRES_DIR])
    problems: list[str] = [str(issue) for issue in issues]
    if not paths:  # the shipped set: every questionnaire's purpose needs a contact plan
        try:
            plans = load_plans(purposes=tuple(q.id for q in good))
        except PlanError as exc:
            problems.append(str(exc))
        else:
            for purpose, plan in sorted(plans.items()):
                modes = " → ".join(f"{s.mode.value} {_days(s.wait)}×{s.attempts}" for s in plan.stages)
                click.echo(f"ok  contact plan {purpose}: {modes}")
        problems.extend(_check_sms())
    for problem in problems:
        click.echo(problem, err=True)
    for q in good:
        click.echo(f"ok  {q.ref}  {q.title}  ({len(q.nodes)} nodes)")
    if problems:
        click.echo(f"{len(problems)} error(s) found.", err=True)
        raise SystemExit(1)
    click.echo(f"{len(good)} questionnaire(s) checked, no errors.")


def _check_sms() -> list[str]:
    """The SMS invitation renders, starts with 【签名】 and ends with 回T退订; its length in billed parts."""
    from bot.rendering import RenderError
    from bot.services.sms import TEMPLATE, parts_note, required_ends, sample_invitation

    try:
        text = sample_invitation()
    except RenderError as exc:
        return [f"scripts_zh/{TEMPLATE}: {exc}"]
    start, end = required_ends()
    if not text.startswith(start) or not text.endswith(end):
        return [f"scripts_zh/{TEMPLATE}: must start with {start} (the signature) and end with {end}"]
    click.echo(f"ok  sms invitation ({parts_note(text)}): {text}")
    return []


def _days(wait: timedelta) -> str:
    hours = int(wait.total_seconds() // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


@scripts.command("try")
@click.argument("name")
@click.option(
    "--dir",
    "directory",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory holding NAME.yaml.  [default: scripts_zh/questionnaires]",
)
def try_command(name: str, directory: Path | None) -> None:
    """Answer questionnaire NAME in the terminal (numbered options, free text), showing its actions."""
    from bot.domain.engine import Rejection, answer, start
    from bot.domain.presentation import text_input
    from bot.domain.questionnaire import QuestionnaireError
    from bot.questionnaires import QUESTIONNAIRES_DIR, SAMPLE_CONTEXT, load_file
    from bot.rendering import TemplateRenderer

    path = (directory or QUESTIONNAIRES_DIR) / f"{name}.yaml"
    if not path.exists():
        raise click.ClickException(f"no questionnaire {path}")
    try:
        q = load_file(path)
    except QuestionnaireError as exc:
        raise click.ClickException(f"{path} has errors; run `huifang scripts check`:\n{exc}") from exc
    renderer = TemplateRenderer()
    click.echo(
        f"== {q.title} ({q.ref}) — 示例客户：{SAMPLE_CONTEXT['customer']['title']}，"
        f"销售顾问：{SAMPLE_CONTEXT['consultant']['name']}，门店：{SAMPLE_CONTEXT['store']['name']}"
    )
    result = start(q, SAMPLE_CONTEXT, renderer)
    state = result.state
    step = result.step
    while not step.finished:
        _show(step)
        reply = click.prompt(_prompt(step), default="", show_default=False)
        given = text_input(step, reply)
        if given is None:
            click.echo("  ! 无法识别，请按提示重新输入。")
            continue
        outcome = answer(q, state, given, renderer)
        if isinstance(outcome, Rejection):
            click.echo(f"  ! 不接受：{outcome.reason} ({outcome.detail})")
            continue
        _report(outcome)
        state, step = outcome.state, outcome.step
    _show(step)
    scores = "，".join(f"{k}={v}" for k, v in state.scores) or "无"
    click.echo(f"== 结束：outcome={state.outcome}，得分：{scores}，共回答 {state.steps} 题")


def _show(step: Step) -> None:
    from bot.domain.presentation import for_phone
    from bot.domain.questionnaire import NodeKind

    view = for_phone(step)
    click.echo("")
    click.echo(f"[{step.node_id}] {view.script}")
    for number, label, _code in view.options if step.kind is not NodeKind.RATING else ():
        mark = "✅ " if _code in step.selected else ""
        click.echo(f"  {number}. {mark}{label}")


def _prompt(step: Step) -> str:
    from bot.domain.questionnaire import NodeKind

    match step.kind:
        case NodeKind.SINGLE:
            return "选择编号"
        case NodeKind.MULTI:
            return f"选择编号，可多选（用逗号分隔，{step.min_choices}–{step.max_choices}项）"
        case NodeKind.RATING:
            lo, hi = step.scale or (0, 0)
            return f"打分 {lo}–{hi}"
        case NodeKind.CALLBACK:
            return "回电时间（YYYY-MM-DD HH:MM）"
        case _:
            return f"回答（不超过{step.max_length}字）"


def _report(result: Result) -> None:
    for r in result.records:
        parts = [f"question={r.question_id}"]
        for key in ("option_code", "reason_code", "reason", "reason_group", "text", "rating", "at"):
            value = getattr(r, key)
            if value is not None:
                parts.append(f"{key}={value}")
        if r.tags:
            parts.append(f"tags={','.join(r.tags)}")
        click.echo("  记录: " + " ".join(parts))
    for a in result.actions:
        click.echo("  动作: " + _describe(a))


def _describe(action: Action) -> str:
    fields = {k: v for k, v in action.to_dict().items() if k not in ("kind", "question_id")}
    return f"{action.kind} " + " ".join(f"{k}={v}" for k, v in fields.items())
