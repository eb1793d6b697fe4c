"""Loading the contact plans of ``scripts_zh/contact_plans.yaml`` (the rules themselves: ``bot.domain.contact_plan``).

``load_plans()`` returns one ``ContactPlan`` per purpose; a malformed file raises ``PlanError`` naming the file
and the entry, so ``huifang scripts check`` and start-up can say exactly what to fix.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.domain.contact_plan import ContactPlan, PlanError, plan_from_mapping
from bot.rendering import SCRIPTS_DIR

PLANS_FILE = SCRIPTS_DIR / "contact_plans.yaml"


def load_plans(path: Path = PLANS_FILE, purposes: tuple[str, ...] = ()) -> dict[str, ContactPlan]:
    """Every purpose's plan; ``purposes`` that must be present (each survey purpose needs a plan)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlanError(f"{path.name}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise PlanError(f"{path.name}{where}: not valid YAML") from None
    if not isinstance(data, dict):
        raise PlanError(f"{path.name}: expected one list of modes per purpose")
    plans: dict[str, ContactPlan] = {}
    for purpose, entries in data.items():
        try:
            plans[str(purpose)] = plan_from_mapping(str(purpose), entries)
        except PlanError as exc:
            raise PlanError(f"{path.name}: {exc}") from None
    missing = [p for p in purposes if p not in plans]
    if missing:
        raise PlanError(f"{path.name}: no plan for {', '.join(missing)}")
    return plans
