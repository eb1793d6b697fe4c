"""Use cases of the SMS channel, the contact plan's ``web`` mode: an SMS with a link to the survey's web page.

* ``queue_invitations``: for every survey in the web mode that has a try left, a new web link and the
  invitation SMS (``scripts_zh/sms/invitation.j2``: 【签名】 first, the short link, 回T退订 last) go into the
  outbox under the key ``sms-invite:<survey>:<stage>:<try>`` in the same transaction as the survey's INVITE and
  the counted try; a number that had ``per_number_per_day`` SMS in the last 24 h waits. The job calls it
  inside calling hours only.
* ``deliver``: the outbox's SMS sent through the provider's Sender, exactly once per key; the opt-out is
  checked again at send time (``bot.services.outbox``).
* ``record_receipt``: a delivery receipt, kept once per message; a failed one is a contact attempt of mode
  web with the shared disposition (空号, 停机, 关机, 拒收 …), so 跟踪失败 and the rates count it.
* ``record_reply``: an upstream reply T / TD / 退订 / N … opts every customer with that number out in every
  channel at once (``survey_status.opt_out_everywhere``, which keeps the consent record).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

import yaml

from bot.domain.clock import Clock
from bot.domain.contact_plan import ContactPlan
from bot.domain.lifecycle import Event, EventKind
from bot.domain.people import Honorific, title
from bot.domain.phone import InvalidPhone, normalise
from bot.domain.sms import Receipt, classify_failure, is_opt_out_reply, sms_parts
from bot.rendering import SCRIPTS_DIR, render_file, render_string
from bot.services.outbox import Sender, SendReport, send_outbox
from bot.services.plan_progress import count_try, may_try_now
from bot.services.survey_status import move, opt_out_everywhere
from bot.services.web_links import issue_web_link, web_url
from bot.texts import Texts
from storage.models import ContactAttempt, Customer, Survey
from storage.unit_of_work import SqlUnitOfWork

SMS = "sms"  # the outbox channel
WEB = "web"  # the contact mode (and the channel attempts are recorded in)
INVITE_KEY = "sms-invite:"
TEMPLATE = "sms/invitation.j2"
LABELS = SCRIPTS_DIR / "sms" / "labels.yaml"
DELIVERED = "delivered"


@dataclass(frozen=True)
class SmsSetup:
    """What queueing an invitation needs, from settings."""

    public_url: str
    sign_name: str
    link_valid_days: int = 14
    per_number_per_day: int = 2
    resend_after: timedelta = timedelta(hours=24)


@cache
def _labels() -> dict[str, Any]:
    return dict(yaml.safe_load(LABELS.read_text(encoding="utf-8")))


def opt_out_words() -> tuple[str, ...]:
    return tuple(str(w) for w in _labels()["opt_out_words"])


def receipt_rules() -> Mapping[str, object]:
    rules: Mapping[str, object] = _labels()["receipts"]
    return rules


def parts_note(text: str) -> str:
    """How long a rendered invitation is, in characters and billed parts (shown by `huifang scripts check`)."""
    return render_string(str(_labels()["parts_note"]), {"length": len(text), "parts": sms_parts(text)})


def invitation_text(sign_name: str, title_text: str, store_name: str, purpose_text: str, link: str) -> str:
    """The invitation SMS as the customer reads it."""
    context = {
        "sign_name": sign_name,
        "title": title_text,
        "store_name": store_name,
        "purpose_text": purpose_text,
        "link": link,
    }
    return render_file(TEMPLATE, context)


def required_ends() -> tuple[str, str]:
    """What every invitation starts and ends with (【 of the signature, 回T退订)."""
    required = _labels()["required"]
    return str(required["start"]), str(required["end"])


def sample_invitation(sign_name: str | None = None, public_url: str | None = None) -> str:
    """The invitation with long sample values (the longest purpose, a real link's length): for the length
    check; the sign name and address default to the samples in ``scripts_zh/sms/labels.yaml``."""
    sign_name = sign_name or str(_labels()["sample"]["sign_name"])
    public_url = public_url or str(_labels()["sample"]["public_url"])
    purposes = list(_labels()["purposes"].values())
    link = web_url(public_url, "x" * 22)  # secrets.token_urlsafe(16) is 22 characters
    sample = _labels()["sample"]
    return invitation_text(sign_name, sample["title"], sample["store_name"], max(purposes, key=len), link)


def aliyun_template(public_url: str) -> str:
    """The template text to submit for Aliyun's approval: our invitation with ``${…}`` variables and the link's
    address fixed up to the token (Aliyun allows no URL as a variable); Aliyun puts 【签名】 in front itself."""
    text = invitation_text("", "${title}", "${store_name}", "${purpose_text}", web_url(public_url, "${token}"))
    return text.removeprefix("【】")


def purpose_name(questionnaire_id: str) -> str:
    """The survey's short name in an SMS (``lapsed:12`` is a lapsed survey)."""
    names: dict[str, str] = _labels()["purposes"]
    return names.get(questionnaire_id.split(":")[0], "")


def _title(customer: Customer) -> str:
    return title(customer.name, Honorific(customer.honorific) if customer.honorific else None)


def queue_invitations(
    uow: SqlUnitOfWork, texts: Texts, plans: Mapping[str, ContactPlan], setup: SmsSetup, now: datetime
) -> int:
    """Queue an invitation SMS for every web-mode survey with a try left (the caller checks calling hours);
    commit. How many were queued."""
    uow.serialise("send_sms")
    queued = 0
    for survey, customer in uow.surveys.to_invite_by_sms(now):
        if not customer.phone or not may_try_now(plans, survey):
            continue
        if uow.outbox.count_to_since(customer.phone, SMS, now - timedelta(days=1)) >= setup.per_number_per_day:
            continue
        key = f"{INVITE_KEY}{survey.id}:{survey.plan_stage}:{survey.stage_attempts or 0}"
        token = issue_web_link(uow, survey.id, now, setup.link_valid_days)
        store_name = uow.people.store_name(customer.store_id)
        purpose_text = purpose_name(survey.questionnaire_id)
        payload: dict[str, object] = {
            "text": invitation_text(
                setup.sign_name, _title(customer), store_name, purpose_text, web_url(setup.public_url, token)
            ),
            "params": {
                "title": _title(customer),
                "store_name": store_name,
                "purpose_text": purpose_text,
                "token": token,
            },
            "ref": key,
            "customer_id": customer.id,
            "survey_id": survey.id,
        }
        if not uow.outbox.add(key, SMS, customer.phone, payload, now):
            continue
        _invited(uow, survey, now, setup.resend_after)
        queued += 1
    uow.commit()
    return queued


def _invited(uow: SqlUnitOfWork, survey: Survey, now: datetime, resend_after: timedelta) -> None:
    move(uow, survey, Event(EventKind.INVITE), channel=WEB, now=now)
    count_try(survey)
    survey.next_try_at = now + resend_after


async def deliver(uow_factory: Callable[[], SqlUnitOfWork], sender: Sender, texts: Texts, clock: Clock) -> SendReport:
    """Send the SMS the outbox holds (each key once)."""
    return await send_outbox(uow_factory, sender, texts, clock, channel=SMS)


def receipt_for_failure(code: str, message: str) -> Receipt:
    """A failed delivery in the shared dispositions (the rules in ``scripts_zh/sms/labels.yaml``)."""
    return Receipt(False, classify_failure(code, message, receipt_rules()))


def record_receipt(uow: SqlUnitOfWork, ref: str, receipt: Receipt, now: datetime) -> bool:
    """Keep a delivery receipt of our SMS ``ref`` once; a failure becomes a contact attempt of mode web.
    Committed. False if it was not ours, interim, or known already."""
    if not receipt.final or not ref.startswith(INVITE_KEY):
        return False
    message = uow.outbox.by_key(ref)
    if message is None or message.channel != SMS:
        return False
    code = DELIVERED if receipt.delivered else (receipt.disposition or "other")
    if not uow.outbox.record_receipt(ref, code, now):
        return False
    survey_id = message.payload.get("survey_id")
    if not receipt.delivered and isinstance(survey_id, int) and uow.surveys.get(survey_id) is not None:
        uow.surveys.add_attempt(ContactAttempt(survey_id=survey_id, channel=WEB, attempted_at=now, disposition=code))
    uow.commit()
    return True


def record_reply(uow: SqlUnitOfWork, phone: str, text: str, now: datetime, region: str = "CN") -> int:
    """An upstream reply: T / TD / 退订 / N … opts out every customer with this number, in every channel, at
    once. Committed. How many customers were opted out (0 for any other reply)."""
    if not is_opt_out_reply(text, opt_out_words()):
        return 0
    try:
        number = normalise(phone, region)
    except InvalidPhone:
        return 0
    customers = uow.people.by_phone(number)
    for customer in customers:
        customer.opted_out_at = customer.opted_out_at or now
        customer.updated_at = now
        survey = uow.surveys.active_for_customer(customer.id)
        opt_out_everywhere(
            uow, customer.id, channel=WEB, now=now, record_for=survey.id if survey else None,
            source="sms_reply", wording=text.strip()[:50],
        )  # fmt: skip
        uow.session.flush()
        uow.outbox.cancel_unsent_to(number, "opted out")
        if customer.telegram_chat_id is not None:
            uow.outbox.cancel_unsent_to(str(customer.telegram_chat_id), "opted out")
    uow.commit()
    return len(customers)
