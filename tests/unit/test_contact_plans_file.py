"""The shipped contact plans file, and what a dealership sees when it breaks its own copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.contact_plans import load_plans
from bot.domain.contact_plan import Mode, PlanError

PURPOSES = ("defeat", "delivery_3day", "lapsed", "owner_care")


def test_every_survey_purpose_has_a_plan_that_ends_with_a_specialists_call() -> None:
    plans = load_plans(purposes=PURPOSES)
    for purpose in PURPOSES:
        assert plans[purpose].stages[0].mode is Mode.CHAT
        assert plans[purpose].stages[-1].mode is Mode.PHONE


def test_a_file_that_is_not_yaml_names_its_line(tmp_path: Path) -> None:
    broken = tmp_path / "contact_plans.yaml"
    broken.write_text("defeat:\n  - {mode: chat, wait: 7d\n  - {mode: phone}\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"contact_plans.yaml line \d+: not valid YAML"):
        load_plans(broken)


def test_a_bad_entry_is_named_by_purpose_and_position(tmp_path: Path) -> None:
    broken = tmp_path / "contact_plans.yaml"
    broken.write_text("defeat:\n  - {mode: chat, wait: 7d}\n  - {mode: fax, wait: 1d}\n", encoding="utf-8")
    with pytest.raises(PlanError, match=r"contact_plans.yaml: defeat\[2\]: mode 'fax'"):
        load_plans(broken)


def test_a_purpose_without_a_plan_is_refused(tmp_path: Path) -> None:
    partial = tmp_path / "contact_plans.yaml"
    partial.write_text("defeat:\n  - {mode: phone, wait: 7d}\n", encoding="utf-8")
    with pytest.raises(PlanError, match="no plan for lapsed"):
        load_plans(partial, purposes=("defeat", "lapsed"))
