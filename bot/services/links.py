"""Use cases: hand out deep links that bind a Telegram account, and redeem them (once)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.domain.clock import Clock
from bot.domain.links import InvalidLink, LinkClaim, LinkProblem, LinkSubject, deep_link, issue, verify
from storage.models import LinkToken
from storage.unit_of_work import SqlUnitOfWork

UnitOfWorkFactory = Callable[[], SqlUnitOfWork]


class UnknownCustomer(LookupError):
    """No customer, or more than one, matches what the operator typed (Chinese message, for staff)."""


@dataclass(frozen=True)
class LinkIssuer:
    """Signs links with the store's secret for a bot username."""

    secret: bytes
    bot_username: str
    valid_days: int = 30


def issue_link(uow: SqlUnitOfWork, issuer: LinkIssuer, subject: LinkSubject, subject_id: int, clock: Clock) -> str:
    """A new single-use deep link for a customer or staff member (the caller commits)."""
    now = clock.now()
    token, claim = issue(issuer.secret, subject, subject_id, now + timedelta(days=issuer.valid_days))
    uow.links.add(
        LinkToken(
            nonce=claim.nonce,
            subject=subject.value,
            subject_id=subject_id,
            expires_at=claim.expires_at,
            created_at=now,
        )
    )
    return deep_link(issuer.bot_username, token)


def link_for_customer(
    uow_factory: UnitOfWorkFactory, issuer: LinkIssuer, customer: str, region_code: str, clock: Clock
) -> str:
    """A new deep link for the customer ``customer`` names (a customer id, or a phone number that belongs to
    exactly one customer), recorded and committed; UnknownCustomer if none or several match."""
    from bot.domain.phone import InvalidPhone, normalise

    with uow_factory() as uow:
        found = uow.people.get(int(customer)) if customer.isdigit() and len(customer) < 9 else None
        if found is None:
            try:
                matches = uow.people.by_phone(normalise(customer, region_code))
            except InvalidPhone:
                matches = []
            found = matches[0] if len(matches) == 1 else None
        if found is None:
            raise UnknownCustomer(f"找不到客户：{customer}（请输入手机号或客户编号）")
        url = issue_link(uow, issuer, LinkSubject.CUSTOMER, found.id, clock)
        uow.commit()
    return url


def redeem(uow: SqlUnitOfWork, secret: bytes, token: str, telegram_user_id: int, clock: Clock) -> LinkClaim:
    """Check a token and mark it used by this Telegram account; InvalidLink if forged, expired or used.

    Opening one's own link again is fine (Telegram users tap links twice); another account is refused.
    """
    claim, row = check_link(uow, secret, token, telegram_user_id, clock)
    mark_used(row, telegram_user_id, clock)
    return claim


def check_link(
    uow: SqlUnitOfWork, secret: bytes, token: str, telegram_user_id: int, clock: Clock
) -> tuple[LinkClaim, LinkToken]:
    """Check a token for this account without writing anything; InvalidLink if forged, expired or used.

    The link's row is locked until the transaction ends: a second account opening the same link at the
    same moment waits, then finds it used.
    """
    claim = verify(secret, token, clock.now())
    row = uow.links.by_nonce(claim.nonce, for_update=True)
    if row is None:
        raise InvalidLink(LinkProblem.FORGED)  # signed by us but never issued: a leaked secret
    if row.used_at is not None and row.used_by != telegram_user_id:
        raise InvalidLink(LinkProblem.USED)
    return claim, row


def mark_used(row: LinkToken, telegram_user_id: int, clock: Clock) -> None:
    """Record the link as used by this account (the first time only)."""
    if row.used_at is None:
        row.used_at = clock.now()
        row.used_by = telegram_user_id


def export_links(uow_factory: UnitOfWorkFactory, issuer: LinkIssuer, path: Path, clock: Clock) -> int:
    """Write name, phone, questionnaire and a fresh deep link of every customer with a waiting survey who
    is not bound to chat and has not opted out, for an SMS campaign; the links are recorded in one
    transaction, committed once the file is written. Returns how many rows."""
    from bot.domain.phone import national
    from bot.tabular import create_table

    with uow_factory() as uow:
        writer = create_table(path, ["姓名", "手机", "回访问卷", "绑定链接"])
        count = 0
        try:
            for customer, questionnaire_id in uow.surveys.waiting_unbound():
                url = issue_link(uow, issuer, LinkSubject.CUSTOMER, customer.id, clock)
                writer.write([customer.name, national(customer.phone), questionnaire_id, url])
                count += 1
        finally:
            writer.close()
        uow.commit()
    return count
