"""Who the product deals with: customers and staff, their statuses and roles, with Chinese labels.

Codes are stable ASCII (stored in the database, used in settings and reports); labels are what staff read.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A staff member's job."""

    SALES_CONSULTANT = "sales_consultant"
    SERVICE_ADVISOR = "service_advisor"
    CS_SPECIALIST = "cs_specialist"
    MANAGER = "manager"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]


_ROLE_LABELS = {
    Role.SALES_CONSULTANT: "销售顾问",
    Role.SERVICE_ADVISOR: "服务顾问",
    Role.CS_SPECIALIST: "客服专员",
    Role.MANAGER: "经理",
}
ROLE_BY_LABEL: dict[str, Role] = {
    "销售顾问": Role.SALES_CONSULTANT,
    "销售": Role.SALES_CONSULTANT,
    "服务顾问": Role.SERVICE_ADVISOR,
    "客服专员": Role.CS_SPECIALIST,
    "回访专员": Role.CS_SPECIALIST,
    "客服": Role.CS_SPECIALIST,
    "经理": Role.MANAGER,
    "销售经理": Role.MANAGER,
    "服务经理": Role.MANAGER,
    "总经理": Role.MANAGER,
    **{r.value: r for r in Role},
}


class CustomerStatus(StrEnum):
    """Where a customer stands in the dealership's lifecycle."""

    PROSPECT = "prospect"
    QUASI_DEFEATED = "quasi_defeated"
    DEFEATED = "defeated"
    OWNER = "owner"
    LAPSED = "lapsed"

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    CustomerStatus.PROSPECT: "意向",
    CustomerStatus.QUASI_DEFEATED: "准战败",
    CustomerStatus.DEFEATED: "战败",
    CustomerStatus.OWNER: "保有",
    CustomerStatus.LAPSED: "流失",
}
STATUS_BY_LABEL: dict[str, CustomerStatus] = {
    "意向": CustomerStatus.PROSPECT,
    "意向客户": CustomerStatus.PROSPECT,
    "准战败": CustomerStatus.QUASI_DEFEATED,
    "准战败客户": CustomerStatus.QUASI_DEFEATED,
    "战败": CustomerStatus.DEFEATED,
    "战败客户": CustomerStatus.DEFEATED,
    "保有": CustomerStatus.OWNER,
    "保有客户": CustomerStatus.OWNER,
    "基盘": CustomerStatus.OWNER,
    "基盘客户": CustomerStatus.OWNER,
    "流失": CustomerStatus.LAPSED,
    "流失客户": CustomerStatus.LAPSED,
    **{s.value: s for s in CustomerStatus},
}


class Honorific(StrEnum):
    """How to address the customer: 王先生 / 王女士."""

    MR = "先生"
    MS = "女士"


HONORIFIC_BY_LABEL: dict[str, Honorific] = {
    "先生": Honorific.MR,
    "男": Honorific.MR,
    "m": Honorific.MR,
    "male": Honorific.MR,
    "mr": Honorific.MR,
    "女士": Honorific.MS,
    "女": Honorific.MS,
    "小姐": Honorific.MS,
    "f": Honorific.MS,
    "female": Honorific.MS,
    "ms": Honorific.MS,
}


class IntentLevel(StrEnum):
    """Purchase intent of a prospect (O = ordered, H = hot, then A/B/C)."""

    O = "O"  # noqa: E741 - the dealership's own letter
    H = "H"
    A = "A"
    B = "B"
    C = "C"


class Tier(StrEnum):
    """Owner tier (基盘客户分级)."""

    PREMIUM = "premium"
    POTENTIAL = "potential"
    ORDINARY = "ordinary"

    @property
    def label(self) -> str:
        return _TIER_LABELS[self]


_TIER_LABELS = {Tier.PREMIUM: "优质", Tier.POTENTIAL: "潜力", Tier.ORDINARY: "一般"}
TIER_BY_LABEL: dict[str, Tier] = {
    "优质": Tier.PREMIUM,
    "潜力": Tier.POTENTIAL,
    "一般": Tier.ORDINARY,
    **{t.value: t for t in Tier},
}


def title(name: str, honorific: Honorific | None) -> str:
    """The polite form of address: surname + 先生/女士 (王先生), or the full name if unknown."""
    if honorific is None or not name:
        return name
    return f"{name[0]}{honorific.value}"
