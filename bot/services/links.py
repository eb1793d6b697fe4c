"""Use cases: hand out deep links that bind a Telegram account, and redeem them (once)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from bot.domain.clock import Clock
from bot.domain.links import InvalidLink, LinkClaim, LinkProblem, LinkSubject, deep_link, issue, verify
from storage.models import Customer, LinkToken
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
    with uow_factory() as uow:
        found = find_customer(uow, customer, region_code)
        url = issue_link(uow, issuer, LinkSubject.CUSTOMER, found.id, clock)
        uow.commit()
    return url


def find_customer(uow: SqlUnitOfWork, customer: str, region_code: str) -> Customer:
    """The customer ``customer`` names: a customer id, or a phone number that belongs to exactly one customer;
    UnknownCustomer if none or several match."""
    from bot.domain.phone import InvalidPhone, normalise

    found = uow.people.get(int(customer)) if customer.isdigit() and len(customer) < 9 else None
    if found is None:
        try:
            matches = uow.people.by_phone(normalise(customer, region_code))
        except InvalidPhone:
            matches = []
        found = matches[0] if len(matches) == 1 else None
    if found is None:
        raise UnknownCustomer(f"找不到客户：{customer}（请输入手机号或客户编号）")
    return found


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


def export_links(
    uow_factory: UnitOfWorkFactory,
    issuer: LinkIssuer | None,
    path: Path,
    clock: Clock,
    web: WebLinkOptions | None = None,
    qr_dir: Path | None = None,
) -> int:
    """Write name, phone, questionnaire and a fresh deep link of every customer with a waiting survey who
    is not bound to chat and has not opted out, for an SMS campaign; the links are recorded in one
    transaction, committed once the file is written. Returns how many rows.

    ``web``: a 网页链接 column too, a fresh link to the survey's web page (``issuer`` None: that column only,
    for a store without a Telegram bot); ``qr_dir``: a QR code of each web link, ``<customer id>.png`` there
    (no personal data in the file name), named in a 二维码 column."""
    from bot.domain.phone import national
    from bot.qr import write_qr
    from bot.services.web_links import issue_web_link, web_url
    from bot.tabular import create_table

    headers = ["姓名", "手机", "回访问卷"] + (["绑定链接"] if issuer else []) + (["网页链接"] if web else [])
    headers += ["二维码"] if web and qr_dir else []
    if qr_dir is not None:
        qr_dir.mkdir(parents=True, exist_ok=True)
    with uow_factory() as uow:
        writer = create_table(path, headers)
        count = 0
        try:
            for customer, questionnaire_id in uow.surveys.waiting_unbound():
                row = [customer.name, national(customer.phone), questionnaire_id]
                if issuer is not None:
                    row.append(issue_link(uow, issuer, LinkSubject.CUSTOMER, customer.id, clock))
                if web is not None:
                    survey = uow.surveys.active_for_customer(customer.id)
                    url = (
                        web_url(web.public_url, issue_web_link(uow, survey.id, clock.now(), web.valid_days))
                        if survey
                        else ""
                    )
                    row.append(url)
                    if qr_dir is not None:
                        qr = qr_dir / f"{customer.id}.png" if url else None
                        if qr is not None:
                            write_qr(url, qr)
                        row.append(qr.name if qr is not None else "")
                writer.write(row)
                count += 1
        finally:
            writer.close()
        uow.commit()
    return count


@dataclass(frozen=True)
class WebLinkOptions:
    """Where the web survey page is reached, and how long a link to it stays valid."""

    public_url: str
    valid_days: int = 14
