"""The composition root: builds everything from settings. Nothing here runs at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.domain.clock import Clock, SystemClock
from bot.services.importing import ImportOptions
from bot.settings import Settings
from storage.database import make_engine, make_session_factory
from storage.schema import ensure_current
from storage.unit_of_work import SqlUnitOfWork

if TYPE_CHECKING:
    from datetime import date

    from bot.domain.calling import CallingHours, PhoneSettings
    from bot.domain.contact_plan import Mode
    from bot.domain.lapse import LapseStages
    from bot.domain.statistics import ReportSettings
    from bot.services.links import LinkIssuer
    from bot.services.sms import SmsSetup
    from bot.services.surveys import SurveyKit
    from bot.services.voice import VoiceDesk, VoiceSettings
    from bot.sms.callbacks import SmsCallbacks
    from bot.telegram.context import ChatServices
    from bot.voice.twiml import Offload, TwimlConfig
    from bot.webserver import Mount
    from scheduler.jobs import JobContext


class MissingSetting(RuntimeError):
    """A setting this command needs is not set; the message names it (Chinese, for staff)."""


@dataclass
class Container:
    """What the entry points need, built once from settings."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    _kit: SurveyKit | None = field(default=None, init=False, repr=False)
    _hours: CallingHours | None = field(default=None, init=False, repr=False)

    def uow(self, read_only: bool = False) -> SqlUnitOfWork:
        """A fresh unit of work on this database (``read_only``: for work that writes nothing)."""
        return SqlUnitOfWork(self.session_factory, read_only)

    def read_uow(self) -> SqlUnitOfWork:
        """A fresh read-only unit of work: never waits for another writer (a factory for reports)."""
        return SqlUnitOfWork(self.session_factory, read_only=True)

    def require_schema(self) -> None:
        """Raise SchemaNotReady unless the database is migrated to head."""
        ensure_current(self.engine)

    def import_options(self, store: str | None, dry_run: bool, create_store: bool = False) -> ImportOptions:
        return ImportOptions(
            store_name=store or self.settings.store_name,
            timezone=self.settings.timezone,
            region_code=self.settings.default_region_code,
            batch_size=self.settings.import_batch_size,
            dry_run=dry_run,
            create_store=create_store,
            default_store=self.settings.store_name,
        )

    def survey_kit(self) -> SurveyKit:
        """Questionnaires, renderer, clock and zone: what every survey use case needs (loaded once)."""
        if self._kit is None:
            from pathlib import Path

            from bot.contact_plans import load_plans
            from bot.questionnaires import load_catalog
            from bot.rendering import TemplateRenderer
            from bot.services.surveys import SurveyKit

            # A callback the customer or a specialist names: inside calling hours, not on a holiday or a
            # non-calling weekend (the same hours the queue, the invitations and the offered slots follow).
            hours = self.calling_hours()
            self._kit = SurveyKit(
                load_catalog(),
                TemplateRenderer(),
                self.clock,
                self.settings.tz,
                hours,
                load_plans(Path(self.settings.contact_plans_file))
                if self.settings.contact_plans_file
                else load_plans(),
                self.contact_modes(),
            )
        return self._kit

    def contact_modes(self) -> frozenset[Mode]:
        """The contact modes set up in this installation (a specialist's call always is)."""
        from bot.domain.contact_plan import Mode

        return frozenset(Mode(m) for m in self.settings.contact_modes) | {Mode.PHONE}

    def link_secret(self) -> bytes:
        if self.settings.link_secret is None:
            raise MissingSetting("未设置 HUIFANG_LINK_SECRET（用于签发绑定链接的密钥，请设置为一串随机字符）")
        return self.settings.link_secret.get_secret_value().encode()

    def link_issuer(self, bot_username: str) -> LinkIssuer:
        from bot.services.links import LinkIssuer

        return LinkIssuer(self.link_secret(), bot_username, self.settings.link_valid_days)

    def chat_services(self) -> ChatServices:
        from bot.telegram.context import ChatServices
        from bot.texts import Texts

        return ChatServices(self, self.survey_kit(), Texts(), self.link_secret(), self.phone_settings())

    def calling_hours(self) -> CallingHours:
        """Calling hours from settings, with China's public holidays when so set (built once): the one definition
        the phone queue, the invitations, the callback slots offered and the callback times accepted follow."""
        if self._hours is None:
            from datetime import time

            from bot.domain.calling import CallingHours

            holidays: frozenset[date] = frozenset()
            if self.settings.skip_public_holidays:
                import chinese_calendar

                holidays = frozenset(chinese_calendar.holidays)
            start, end = (time.fromisoformat(v) for v in (self.settings.calling_start, self.settings.calling_end))
            self._hours = CallingHours(start, end, self.settings.call_on_weekends, holidays)
        return self._hours

    def lapse_stages(self) -> LapseStages:
        """The lapse stages from settings: who gets the lapsed survey and what the reports count."""
        return self.settings.lapse_stages()

    def phone_settings(self) -> PhoneSettings:
        from bot.domain.calling import PhoneSettings

        return PhoneSettings(hours=self.calling_hours(), purpose_order=tuple(self.settings.purpose_order))

    def job_context(self) -> JobContext:
        from pathlib import Path

        from bot.domain.due import DueRules
        from bot.texts import Texts
        from scheduler.jobs import JobContext

        rules = DueRules(
            lapse=self.lapse_stages(),
            survey_gap_days=self.settings.survey_gap_days,
            purpose_order=tuple(self.settings.purpose_order),
        )
        kit = self.survey_kit()
        return JobContext(
            uow=self.uow,
            kit=kit,
            texts=Texts(),
            rules=rules,
            hours=self.calling_hours(),
            plans=kit.plans or {},
            modes=kit.modes,
            chart_dir=Path(self.settings.chart_dir),
            sms=self.sms_setup() if self.sms_enabled() else None,
            sms_sender=self.sms_sender() if self.sms_enabled() else None,
            sms_per_second=self.settings.sms_per_second,
        )

    # SMS invitations (the contact plan's web mode): set up when HUIFANG_SMS_PROVIDER is set and "web" is in
    # HUIFANG_CONTACT_MODES.
    def sms_enabled(self) -> bool:
        return self.settings.sms_provider is not None and "web" in self.settings.contact_modes

    def sms_setup(self) -> SmsSetup:
        from datetime import timedelta

        from bot.services.sms import SmsSetup

        s = self.settings
        if not s.public_url:
            raise MissingSetting("未设置 HUIFANG_PUBLIC_URL（短信里问卷链接与服务商回调所用的公网地址）")
        if not s.sms_sign_name:
            raise MissingSetting("未设置 HUIFANG_SMS_SIGN_NAME（短信签名，须与服务商审核通过的签名一致）")
        return SmsSetup(
            public_url=s.public_url,
            sign_name=s.sms_sign_name,
            link_valid_days=s.web_link_valid_days,
            per_number_per_day=s.sms_per_number_per_day,
            resend_after=timedelta(hours=s.sms_resend_after_hours),
        )

    def sms_sender(self) -> Callable[[], Any]:
        """A factory of the provider's Sender (an async context manager: one HTTP session per job run)."""
        s = self.settings
        if not s.sms_account or s.sms_secret is None:
            raise MissingSetting("未设置 HUIFANG_SMS_ACCOUNT / HUIFANG_SMS_SECRET（短信服务商的账号与密钥）")
        account, secret = s.sms_account, s.sms_secret.get_secret_value()
        public_url = self.sms_setup().public_url
        if s.sms_provider == "twilio":
            if not s.sms_from:
                raise MissingSetting("未设置 HUIFANG_SMS_FROM（Twilio 的发送号码或 Messaging Service SID）")
            from bot.sms.callbacks import twilio_status_url
            from bot.sms.twilio_api import TwilioSms

            sender_id = s.sms_from
            return lambda: TwilioSms(account, secret, sender_id, twilio_status_url(public_url), s.sms_api_url)
        if not s.sms_template_code:
            raise MissingSetting("未设置 HUIFANG_SMS_TEMPLATE_CODE（阿里云审核通过的短信模板 CODE）")
        from bot.sms.aliyun import AliyunSms

        sign, template = self.sms_setup().sign_name, s.sms_template_code
        return lambda: AliyunSms(account, secret, sign, template, s.sms_api_url)

    def sms_callbacks(self) -> SmsCallbacks:
        """The provider's callback routes for `huifang run` (receipts, upstream replies)."""
        from bot.sms.callbacks import SmsCallbacks

        s = self.settings
        if s.sms_provider == "twilio":
            assert s.sms_secret is not None
            secret = s.sms_secret.get_secret_value()
        elif s.sms_callback_secret is None or len(s.sms_callback_secret.get_secret_value()) < 16:
            raise MissingSetting("未设置 HUIFANG_SMS_CALLBACK_SECRET（阿里云回调地址中的密钥，至少 16 个字符）")
        else:
            secret = s.sms_callback_secret.get_secret_value()
        return SmsCallbacks(
            self.uow, self.clock, s.sms_provider or "aliyun", secret, self.sms_setup().public_url,
            s.default_region_code,
        )  # fmt: skip

    def voice_settings(self) -> VoiceSettings:
        """The voice channel's knobs and phrases (scripts_zh/voice/phrases.yaml)."""
        from datetime import timedelta

        import yaml

        from bot.domain.voice_dialog import DialogRules, Phrases
        from bot.rendering import SCRIPTS_DIR
        from bot.services.voice import VoiceSettings

        s = self.settings
        phrases = yaml.safe_load((SCRIPTS_DIR / "voice" / "phrases.yaml").read_text(encoding="utf-8"))
        rules = DialogRules(
            s.voice_max_reprompts,
            s.voice_min_confidence,
            s.voice_gather_timeout,
            s.voice_transfer_number,
            s.voice_machine_message,
        )
        stale = timedelta(minutes=30)
        return VoiceSettings(Phrases(**phrases), rules, max_concurrent=s.voice_max_concurrent, stale_after=stale)

    def voice_desk(self) -> VoiceDesk:
        """The voice use cases over this database (what the voice adapter and the dialler call)."""
        from bot.services.voice import VoiceDesk

        return VoiceDesk(self.uow, self.survey_kit(), self.voice_settings(), self.engine.dialect.name == "sqlite")

    def voice_configured(self) -> bool:
        """Whether the automated voice call is one of this installation's contact modes."""
        return "voice" in self.settings.contact_modes

    def twiml_config(self) -> TwimlConfig:
        """The TwiML adapter's settings; MissingSetting names the first one missing."""
        from bot.voice.twiml import TwimlConfig

        s = self.settings
        needed = {
            "HUIFANG_PUBLIC_URL": s.public_url,
            "HUIFANG_VOICE_ACCOUNT_SID": s.voice_account_sid,
            "HUIFANG_VOICE_AUTH_TOKEN": s.voice_auth_token,
            "HUIFANG_VOICE_CALLER_ID": s.voice_caller_id,
        }
        for name, value in needed.items():
            if not value:
                raise MissingSetting(f"语音外呼（contact_modes 含 voice）须设置 {name}，见 docs/voice.md")
        assert s.public_url and s.voice_auth_token and s.voice_account_sid and s.voice_caller_id
        return TwimlConfig(
            public_url=s.public_url,
            auth_token=s.voice_auth_token.get_secret_value(),
            account_sid=s.voice_account_sid,
            api_url=s.voice_api_url,
            caller_id=s.voice_caller_id,
            language=s.voice_language,
            voice=s.voice_voice,
            calls_per_second=s.voice_calls_per_second,
        )

    def voice_mounts(self, offload: Offload | None = None) -> list[Mount]:
        """The voice webhooks' routes when voice is set up here (none otherwise); ``offload`` runs their
        database work off the event loop (default: threads of their own)."""
        if not self.voice_configured():
            return []
        from bot.voice.twiml import mount

        return [mount(self.voice_desk(), self.twiml_config(), offload)]

    def report_settings(self) -> ReportSettings:
        from bot.settings import report_settings

        return report_settings(self.settings)

    def close(self) -> None:
        self.engine.dispose()


def build(settings: Settings, clock: Clock | None = None) -> Container:
    """Wire the product for ``settings``."""
    engine = make_engine(settings.database_url, busy_timeout=settings.sqlite_busy_timeout)
    return Container(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=clock or SystemClock(),
    )
