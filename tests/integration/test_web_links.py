"""Links to the mobile web survey on a real database: what a token opens, for how long, and what is kept."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, text

from bot.app import Container
from bot.domain.people import Role
from bot.services.surveys import create_survey
from bot.services.web_links import (
    WebLinkFound,
    WebLinkProblem,
    find_web_link,
    issue_web_link,
    revoke_web_links,
    web_url,
)
from storage.models import Customer, WebLink


def _survey(app: Container) -> int:
    now = app.clock.now()
    with app.uow() as uow:
        store = uow.stores.add("惠州江铃4S店", "Asia/Shanghai", now)
        consultant = uow.staff.add(store, "李明", Role.SALES_CONSULTANT, None, True, now)
        customer = Customer(store_id=store, name="王建国", honorific="先生", phone="+8613800138000",
                            status="defeated", owner_staff_id=consultant, created_at=now, updated_at=now)  # fmt: skip
        uow.session.add(customer)
        uow.flush()
        survey = create_survey(uow, app.survey_kit(), customer.id, "defeat", "defeat", "web", due_at=now)
        uow.commit()
        return survey.id


def _issue(app: Container, survey_id: int, days: int = 14) -> str:
    with app.uow() as uow:
        token = issue_web_link(uow, survey_id, app.clock.now(), days)
        uow.commit()
    return token


def _find(app: Container, token: str) -> WebLinkFound | WebLinkProblem:
    with app.uow(read_only=True) as uow:
        return find_web_link(uow, token, app.clock.now())


def test_a_web_link_opens_its_survey_until_it_expires(app: Container) -> None:
    survey_id = _survey(app)
    token = _issue(app, survey_id, days=14)
    found = _find(app, token)
    assert isinstance(found, WebLinkFound) and found.survey_id == survey_id
    app.clock.set(app.clock.now() + timedelta(days=14))  # type: ignore[attr-defined]
    assert _find(app, token) is WebLinkProblem.EXPIRED


def test_a_mistyped_or_revoked_link_opens_nothing(app: Container) -> None:
    survey_id = _survey(app)
    token = _issue(app, survey_id)
    other = _issue(app, survey_id)
    assert _find(app, token[:-1] + ("A" if token[-1] != "A" else "B")) is WebLinkProblem.UNKNOWN
    assert _find(app, "short") is WebLinkProblem.UNKNOWN
    with app.uow() as uow:
        assert revoke_web_links(uow, survey_id, app.clock.now()) == 2
        uow.commit()
    assert _find(app, token) is WebLinkProblem.UNKNOWN and _find(app, other) is WebLinkProblem.UNKNOWN


def test_links_are_opaque_and_the_database_keeps_only_their_hash(app: Container) -> None:
    survey_id = _survey(app)
    tokens = {_issue(app, survey_id) for _ in range(20)}
    assert len(tokens) == 20 and all(len(t) >= 22 and t.isascii() for t in tokens)
    url = web_url("https://hf.example.com/", next(iter(tokens)))
    assert url.startswith("https://hf.example.com/s/")
    with app.uow(read_only=True) as uow:
        stored = set(uow.session.scalars(select(WebLink.token_hash)))
        dump = " ".join(str(v) for row in uow.session.execute(text("SELECT * FROM web_link")) for v in row)
    assert len(stored) == 20 and not any(t in dump for t in tokens)
