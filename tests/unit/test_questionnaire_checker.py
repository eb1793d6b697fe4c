"""The checker catches each defect it claims to catch: one broken fixture per defect, with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.domain.questionnaire import QuestionnaireError
from bot.questionnaires import check_file, check_paths, load_file

FIXTURES = Path(__file__).parent / "fixtures"
BROKEN = FIXTURES / "questionnaires"

# fixture file, a fragment of the expected message, the line it must point at
DEFECTS = [
    ("yaml_syntax.yaml", "YAML syntax error", 8),
    ("schema_error.yaml", "missing required key 'text'", 5),
    ("schema_error.yaml", "unknown key 'colour'", 7),
    ("unknown_kind.yaml", "unknown kind 'slider'", 6),
    ("unknown_next.yaml", "next target 'nowhere' does not exist", 10),
    ("unreachable.yaml", "node orphan: unreachable", 10),
    ("dead_end.yaml", "option no: dead end", 10),
    ("cycle.yaml", "cycle: q1 -> q2 -> q1", 5),
    ("duplicate_code.yaml", "duplicate option code 'yes'", 10),
    ("duplicate_node.yaml", "duplicate node id 'done'", 14),
    ("tally_without_reason.yaml", "option no_stock: tallied question needs 'reason' and 'reason_group'", 11),
    ("template_missing_field.yaml", "does not render with the sample context", 5),
    ("template_syntax.yaml", "template syntax error", 5),
    ("piped_answer_not_guaranteed.yaml", "pipes answers.why, which is not answered on every path", 15),
    ("label_too_long.yaml", "label longer than 40 characters", 9),
    ("text_too_long.yaml", "more than Telegram's 4096", 5),
    ("too_many_options.yaml", "more than 9 options cannot be offered on a keypad", 5),
    ("score_over_max.yaml", "a path can collect 5 points, more than its max 3", 1),
    ("route_without_default.yaml", "the last route must have no 'if'", 15),
    ("overlapping_bands.yaml", "band high: overlaps band low at 3", 12),
    ("bad_action.yaml", "unknown role 'janitor'", 13),
    ("bad_action.yaml", "unknown status 'happy'", 14),
    ("bad_action.yaml", "unknown action 'send_flowers'", 15),
    ("id_mismatch.yaml", "must match the file name 'id_mismatch'", 1),
    ("shared_synonym.yaml", "option service: synonym '太贵' is also said for option price (line 9)", 13),
    ("shared_synonym.yaml", "option other: synonym '价格高' is also said for option price (line 9)", 17),
    ("shared_synonym.yaml", "option other: synonym '啊那个' is only filler words", 17),
    ("shared_synonym.yaml", "option other: synonym '2' is a number", 17),
]


@pytest.mark.parametrize(("name", "fragment", "line"), DEFECTS, ids=[f"{d[0]}:{d[1][:30]}" for d in DEFECTS])
def test_checker_reports_the_defect_with_file_and_line(name: str, fragment: str, line: int) -> None:
    _, issues = check_file(BROKEN / name)
    matching = [i for i in issues if fragment in i.message]
    assert matching, f"expected {fragment!r} among {[str(i) for i in issues]}"
    assert matching[0].line == line
    assert str(matching[0]).startswith(f"{BROKEN / name}:{line}: ")


def test_every_broken_fixture_is_covered_by_a_defect_case() -> None:
    covered = {name for name, _, _ in DEFECTS}
    assert covered == {p.name for p in BROKEN.glob("*.yaml")}


def test_each_broken_fixture_fails_the_check_and_the_valid_one_passes() -> None:
    for path in sorted(BROKEN.glob("*.yaml")):
        _, issues = check_file(path)
        assert issues, path.name
    good, issues = check_paths([FIXTURES / "valid"])
    assert issues == []
    assert [q.id for q in good] == ["tiny"]


def test_the_checker_lists_all_errors_of_all_files_at_once() -> None:
    _, issues = check_paths([BROKEN])
    files_with_errors = {Path(i.source).name for i in issues}
    assert files_with_errors == {p.name for p in BROKEN.glob("*.yaml")}


def test_loading_a_broken_file_raises_with_every_issue() -> None:
    with pytest.raises(QuestionnaireError) as caught:
        load_file(BROKEN / "bad_action.yaml")
    assert len(caught.value.issues) == 3
    assert "janitor" in str(caught.value)
