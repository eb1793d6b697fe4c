"""The services behind the operators' commands run their own unit of work and commit it: what they hand out
(a link, an invitation, a released message) is there for the next transaction, and what they refuse leaves
nothing behind."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.app import Container
from bot.domain.clock import FixedClock
from bot.domain.people import Role
from bot.services.chat import NEXT_MESSAGE
from bot.services.importing import UnknownStore, import_customers
from bot.services.links import LinkIssuer, UnknownCustomer, export_links, link_for_customer, redeem
from bot.services.outbox import release_stranded
from bot.services.staff_desk import StoreChoice, invite_staff
from bot.services.surveys import create_survey
from storage.models import LinkToken
from tests.integration.test_customer_import import WANG, ZHAO
from tests.tables import write_csv

SECRET = "test-secret-0123456789abcdef"


def _issuer(app: Container) -> LinkIssuer:
    return LinkIssuer(SECRET.encode(), "huifang_test_bot")


def _links(app: Container) -> int:
    with app.uow(read_only=True) as uow:
        return int(uow.session.scalar(select(func.count()).select_from(LinkToken)) or 0)


def _customers(app: Container, tmp_path: Path) -> None:
    options = app.import_options(None, dry_run=False, create_store=True)
    import_customers(app.uow, write_csv(tmp_path / "c.csv", [WANG, ZHAO]), options, app.clock)


def _token(url: str) -> str:
    return url.rsplit("=", 1)[1]


def test_a_customer_link_is_committed_so_the_customer_can_open_it_later(
    app: Container, clock: FixedClock, tmp_path: Path
) -> None:
    _customers(app, tmp_path)

    url = link_for_customer(app.uow, _issuer(app), "139 0013 9000", "CN", clock)

    with app.uow() as uow:
        claim = redeem(uow, SECRET.encode(), _token(url), 4242, clock)
        uow.commit()
    with app.uow(read_only=True) as uow:
        assert uow.people.get(claim.subject_id).name == "赵丽"  # type: ignore[union-attr]


def test_a_link_for_no_such_customer_is_refused_with_the_reason_and_records_nothing(
    app: Container, clock: FixedClock, tmp_path: Path
) -> None:
    _customers(app, tmp_path)

    with pytest.raises(UnknownCustomer, match="找不到客户：13999999999"):
        link_for_customer(app.uow, _issuer(app), "13999999999", "CN", clock)

    assert _links(app) == 0


def test_the_sms_export_commits_every_link_it_writes(app: Container, clock: FixedClock, tmp_path: Path) -> None:
    _customers(app, tmp_path)
    with app.uow() as uow:
        create_survey(uow, app.survey_kit(), 2, "defeat", "defeat", "chat")
        uow.commit()

    assert export_links(app.uow, _issuer(app), tmp_path / "links.csv", clock) == 1

    assert _links(app) == 1


def test_a_staff_invitation_is_committed_with_the_new_staff_member(app: Container, clock: FixedClock) -> None:
    store = StoreChoice("惠州江铃4S店", "Asia/Shanghai", create=True)

    url, created = invite_staff(app.uow, _issuer(app), store, "周敏", Role.CS_SPECIALIST, clock)

    assert created
    with app.uow() as uow:
        claim = redeem(uow, SECRET.encode(), _token(url), 77, clock)
        uow.commit()
    with app.uow(read_only=True) as uow:
        assert uow.colleagues.get(claim.subject_id).name == "周敏"  # type: ignore[union-attr]


def test_a_staff_invitation_for_an_unknown_store_writes_nothing(app: Container, clock: FixedClock) -> None:
    invite_staff(app.uow, _issuer(app), StoreChoice("惠州江铃4S店", "Asia/Shanghai", create=True), "周敏",
                 Role.CS_SPECIALIST, clock)  # fmt: skip

    with pytest.raises(UnknownStore, match="找不到门店“惠阳店”"):
        invite_staff(app.uow, _issuer(app), StoreChoice("惠阳店", "Asia/Shanghai"), "吴刚", Role.CS_SPECIALIST, clock)

    with app.uow(read_only=True) as uow:
        assert uow.stores.names() == ["惠州江铃4S店"]
    assert _links(app) == 1


def test_next_questions_a_dead_process_claimed_go_back_to_the_sender_for_good(
    app: Container, clock: FixedClock
) -> None:
    with app.uow() as uow:
        uow.outbox.add_claimed(f"{NEXT_MESSAGE}1:1:q1", "telegram", "4242", {"text": "下一题"}, clock.now())
        uow.commit()
    clock.set(clock.now() + timedelta(minutes=1))

    assert release_stranded(app.uow, NEXT_MESSAGE, clock) == 1

    with app.uow(read_only=True) as uow:
        assert uow.outbox.status_of(f"{NEXT_MESSAGE}1:1:q1") == (1, "pending")
