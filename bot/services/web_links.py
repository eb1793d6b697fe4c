"""Use cases: hand out links to a survey's mobile web page, and look one up when it is opened.

A link is ``{public_url}/s/{token}``: the token is 128 random bits (opaque, unguessable, no personal data);
only its SHA-256 is stored. A link expires after ``valid_days``; revoking a survey's links (erasure, a
re-issue) makes them unknown at once. What the page shows for a closed survey is the page's business: this
module only says which survey a token opens, or why it opens none.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from storage.models import Customer, Survey, WebLink
from storage.unit_of_work import SqlUnitOfWork

TOKEN_BYTES = 16
WEB_PATH = "/s/"  # the page's route prefix; the token follows it


class WebLinkProblem(StrEnum):
    UNKNOWN = "unknown"  # never issued, mistyped, or revoked
    EXPIRED = "expired"


@dataclass(frozen=True)
class WebLinkFound:
    survey_id: int
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def web_url(public_url: str, token: str) -> str:
    """The address a customer opens (``public_url`` is the HTTP server's public base URL)."""
    return f"{public_url.rstrip('/')}{WEB_PATH}{token}"


def issue_web_link(uow: SqlUnitOfWork, survey_id: int, now: datetime, valid_days: int) -> str:
    """A new link token for a survey, valid for ``valid_days`` (the caller commits)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    uow.web_links.add(
        WebLink(
            token_hash=token_hash(token),
            survey_id=survey_id,
            created_at=now,
            expires_at=now + timedelta(days=valid_days),
        )
    )
    return token


def find_web_link(uow: SqlUnitOfWork, token: str, now: datetime) -> WebLinkFound | WebLinkProblem:
    """The survey a token opens, or why it opens none."""
    if not 16 <= len(token) <= 64:
        return WebLinkProblem.UNKNOWN
    row = uow.web_links.by_hash(token_hash(token))
    if row is None or row.revoked_at is not None:
        return WebLinkProblem.UNKNOWN
    if row.expires_at <= now:
        return WebLinkProblem.EXPIRED
    return WebLinkFound(row.survey_id, row.expires_at)


def open_web_link(
    uow: SqlUnitOfWork, token: str, now: datetime, *, lock: bool = False
) -> tuple[Survey, Customer, str] | WebLinkProblem:
    """The survey a token opens, its customer and the store's name (one query), or why it opens none;
    ``lock``: the survey's row is locked until the unit of work ends."""
    if not 16 <= len(token) <= 64:
        return WebLinkProblem.UNKNOWN
    found = uow.web_links.opened(token_hash(token), for_update=lock)
    if found is None or found[0].revoked_at is not None:
        return WebLinkProblem.UNKNOWN
    link, survey, customer, store_name = found
    if link.expires_at <= now:
        return WebLinkProblem.EXPIRED
    return survey, customer, store_name


def revoke_web_links(uow: SqlUnitOfWork, survey_id: int, now: datetime) -> int:
    """Make every live link of a survey unknown (the caller commits); how many were revoked."""
    return uow.web_links.revoke_for_survey(survey_id, now)


class NoSurveyWaiting(LookupError):
    """The customer has no survey a web page could show (Chinese message, for staff)."""


def web_link_for_customer(
    uow_factory: Callable[[], SqlUnitOfWork],
    customer: str,
    region_code: str,
    public_url: str,
    valid_days: int,
    now: datetime,
) -> tuple[str, str]:
    """A new link to the web page of the survey the customer named (id or phone) is being asked, recorded and
    committed: (the link, the customer's title). UnknownCustomer / NoSurveyWaiting when there is none."""
    from bot.domain.people import Honorific, title
    from bot.services.links import find_customer

    with uow_factory() as uow:
        found = find_customer(uow, customer, region_code)
        survey = uow.surveys.active_for_customer(found.id)
        if survey is None:
            raise NoSurveyWaiting(f"客户 {customer} 目前没有待回访的问卷，无法生成网页链接")
        token = issue_web_link(uow, survey.id, now, valid_days)
        uow.commit()
        honorific = Honorific(found.honorific) if found.honorific else None
        return web_url(public_url, token), title(found.name, honorific)
