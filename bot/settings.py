"""One settings object for the whole product, read only at the entry point.

Values come from (highest first): keyword arguments, environment variables prefixed ``HUIFANG_``,
a ``huifang.toml`` file in the working directory (or the file named by ``HUIFANG_CONFIG``), defaults.
"""

from __future__ import annotations

import os
from datetime import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.domain.calling import CallingHours
from bot.domain.due import PURPOSE_ORDER, SURVEY_GAP_DAYS
from bot.domain.lapse import LapseStages

LINK_SECRET_MIN = 16
_LAPSE_ALIASES = {
    "lapse_pre_months": "report_lapse_pre_months",
    "lapse_months": "report_lapse_months",
    "lapse_full_months": "report_lapse_full_months",
}


if TYPE_CHECKING:
    from bot.domain.statistics import ReportSettings


ContactModeName = Literal["chat", "web", "voice", "phone"]


def _default_contact_modes() -> list[ContactModeName]:
    """Telegram chat and the specialists' phone: the channels every installation has today."""
    return ["chat", "phone"]


class Settings(BaseSettings):
    """Everything huifang can be configured with."""

    model_config = SettingsConfigDict(env_prefix="HUIFANG_", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./huifang.db",
        description="SQLAlchemy URL; sqlite:///path or postgresql+psycopg://user@host/db",
    )
    sqlite_busy_timeout: float = Field(
        default=30.0, gt=0, le=3600, description="Seconds a SQLite write waits for another writer before giving up"
    )
    timezone: str = Field(default="Asia/Shanghai", description="The store's time zone (IANA name)")
    store_name: str = Field(default="本店", description="Store that imports go to unless --store is given")
    default_region_code: str = Field(default="CN", description="Country used to read phone numbers without +")
    import_batch_size: int = Field(default=2000, ge=1, le=50_000)

    telegram_token: SecretStr | None = None
    telegram_api_url: str = Field(
        default="https://api.telegram.org/bot", description="Bot API base; the token is appended to it"
    )
    telegram_bot_username: str | None = Field(default=None, description="Used in deep links; asked of getMe if unset")
    telegram_rate_limit: bool = Field(
        default=True, description="Keep within 30 messages/s and 1/s per chat (off only for benchmarks)"
    )
    telegram_connections: int = Field(
        default=16,
        ge=1,
        le=256,
        description="HTTP connections kept open to the Bot API; more cost CPU on every request",
    )
    telegram_startup_patience: float = Field(
        default=120.0, ge=0, description="Seconds `huifang run` keeps trying to reach the Bot API at start"
    )
    telegram_proxy: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="HTTP proxy to the Bot API (http://host:port); unset: HTTPS_PROXY / ALL_PROXY if set",
    )
    webhook_url: str | None = Field(default=None, description="Public HTTPS URL; set to use a webhook, not polling")
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    link_secret: SecretStr | None = Field(
        default=None, description="HMAC key for deep links (at least 16 characters; 32+ random bytes advised)"
    )
    link_valid_days: int = Field(default=30, ge=1, le=365)

    # The HTTP server `huifang run` starts for the channels that need one (the web survey page, the voice and
    # SMS providers' callbacks): where it listens, and the public base URL customers and providers reach it at.
    http_listen: str = Field(default="127.0.0.1", description="Address the HTTP server listens on")
    http_port: int = Field(default=8080, ge=1, le=65535, description="Port the HTTP server listens on")
    public_url: str | None = Field(
        default=None, description="Public base URL of the HTTP server (https://…), used in links and callbacks"
    )
    web_link_valid_days: int = Field(default=14, ge=1, le=90, description="Days a web survey link stays valid")

    # Contact policy and calling hours (store-local times): calls, invitations, callback times offered and accepted.
    calling_start: str = Field(default=f"{CallingHours.start:%H:%M}", pattern=r"^\d{2}:\d{2}$")
    calling_end: str = Field(default=f"{CallingHours.end:%H:%M}", pattern=r"^\d{2}:\d{2}$")
    call_on_weekends: bool = CallingHours.weekends
    skip_public_holidays: bool = Field(
        default=True, description="No calls, invitations or callbacks on China's public holidays"
    )
    survey_gap_days: int = Field(
        default=SURVEY_GAP_DAYS, ge=1, description="At most one survey per customer in this many days"
    )
    purpose_order: list[str] = Field(default_factory=lambda: list(PURPOSE_ORDER))
    contact_plans_file: str | None = Field(
        default=None, description="This store's own contact plans (default: scripts_zh/contact_plans.yaml)"
    )
    contact_modes: list[ContactModeName] = Field(
        default_factory=_default_contact_modes,
        description="Contact modes whose channel is set up here; the plan skips the others (未配置)",
    )

    # Lapse stages (准流失 / 流失 / 彻底流失), whole months since the last workshop visit: who gets the lapsed
    # survey (once per stage) and the reports' lapse section. ``report_lapse_*`` are older names, read when
    # these are not set.
    lapse_pre_months: int = Field(default=6, ge=1, le=600)
    lapse_months: int = Field(default=12, ge=1, le=600)
    lapse_full_months: int = Field(default=24, ge=1, le=600)
    chart_dir: str = Field(default="huifang-charts", description="Where the weekly summary's chart images go")

    # Reports (see docs/reports.md); bot/cli/report.py reads every ``report_*`` field.
    report_e: float | None = Field(default=None, ge=0, le=1, description="AAPOR e; unset: estimated from the data")
    report_tier_premium_loyalty: int = 7
    report_tier_premium_economic: int = 6
    report_tier_potential_loyalty: int = 6
    report_tier_potential_economic: int = 6
    report_lapse_pre_months: int | None = Field(
        default=None, ge=1, le=600, description="Older name of lapse_pre_months"
    )
    report_lapse_months: int | None = Field(default=None, ge=1, le=600, description="Older name of lapse_months")
    report_lapse_full_months: int | None = Field(
        default=None, ge=1, le=600, description="Older name of lapse_full_months"
    )
    report_vehicle_age_bands: list[int] = Field(default_factory=lambda: [1, 2, 3, 5])
    report_percent_decimals: int = 1
    report_free_text_limit: int = 50

    # The web survey page (bot/web/): requests a link / a client address may make per minute, and whether the
    # client's address is read from X-Forwarded-For (only behind a reverse proxy that sets it).
    web_rate_per_link: int = Field(default=60, ge=1, le=100_000, description="Requests per minute per web link")
    web_rate_per_address: int = Field(
        default=300, ge=1, le=1_000_000, description="Requests per minute per client address on the web page"
    )
    web_forwarded_for: bool = Field(default=False, description="Read the client address from X-Forwarded-For")
    # SMS invitations (the contact plan's `web` mode): the provider, its account, and its limits (see docs/sms.md).
    sms_provider: Literal["aliyun", "twilio"] | None = Field(
        default=None, description="aliyun (签名 + 模板) or twilio (a Twilio-compatible Messages API); unset: no SMS"
    )
    sms_api_url: str | None = Field(
        default=None, description="The provider's API base URL (default: the provider's own; a fake in tests/demo)"
    )
    sms_account: str | None = Field(default=None, description="Aliyun AccessKeyId, or Twilio Account SID")
    sms_secret: SecretStr | None = Field(default=None, description="Aliyun AccessKeySecret, or Twilio Auth Token")
    sms_sign_name: str | None = Field(default=None, max_length=20, description="短信签名 (【签名】 first in every SMS)")
    sms_template_code: str | None = Field(default=None, description="Aliyun's approved template code (SMS_…)")
    sms_from: str | None = Field(default=None, description="Twilio: the sending number or Messaging Service SID")
    sms_callback_secret: SecretStr | None = Field(
        default=None, description="Aliyun: a secret in the receipt/reply callback paths (16+ characters)"
    )
    sms_per_second: float = Field(default=10.0, gt=0, le=5000, description="Most SMS sent per second (account)")
    sms_per_number_per_day: int = Field(default=2, ge=1, le=50, description="Most SMS to one number per day")
    sms_resend_after_hours: int = Field(default=24, ge=1, le=240, description="Hours before a second SMS try")
    # Automated voice calls (智能外呼, docs/voice.md): the TwiML provider's REST API and credentials, the dialler's
    # pacing, and the dialog's knobs. Webhooks are served under HUIFANG_PUBLIC_URL + /voice/twiml/.
    voice_api_url: str = Field(default="https://api.twilio.com", description="The TwiML provider's REST API base URL")
    voice_account_sid: str | None = Field(default=None, description="The provider account id (AccountSid)")
    voice_auth_token: SecretStr | None = Field(default=None, description="The provider's auth token (signs webhooks)")
    voice_caller_id: str | None = Field(default=None, description="The number calls come from (E.164)")
    voice_language: str = Field(default="cmn-Hans-CN", description="Speech language for <Say> and <Gather>")
    voice_voice: str | None = Field(default=None, description="The provider's TTS voice name (optional)")
    voice_max_concurrent: int = Field(default=5, ge=1, le=500, description="Robot calls under way at once, at most")
    voice_calls_per_second: float = Field(default=1.0, gt=0, le=50, description="New robot calls a second, at most")
    voice_max_reprompts: int = Field(default=2, ge=0, le=5, description="Re-prompts on silence or not understood")
    voice_min_confidence: float = Field(default=0.5, ge=0, le=1, description="Speech below this is not understood")
    voice_gather_timeout: int = Field(default=5, ge=1, le=30, description="Seconds of silence before a re-prompt")
    voice_transfer_number: str | None = Field(default=None, description="转人工: the store's number (E.164)")
    voice_machine_message: bool = Field(default=False, description="Leave a short message on answering machines")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # An unknown zone fails at start-up, not at 09:00. ZoneInfo raises KeyError (not ValueError) for a
        # missing zone, which pydantic would let through as a traceback.
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError):
            raise ValueError(f"未知时区“{value}”：请使用 IANA 时区名，例如 Asia/Shanghai（北京时间）") from None
        return value

    @field_validator("link_secret")
    @classmethod
    def _long_link_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < LINK_SECRET_MIN:
            raise ValueError(f"太短：至少 {LINK_SECRET_MIN} 个字符（建议 32 个以上的随机字符）")
        return value

    @field_validator("telegram_api_url", "public_url", "sms_api_url", "voice_api_url")
    @classmethod
    def _api_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"“{value}”不是有效地址：应为 http(s):// 开头的网址")
        return value

    @field_validator("calling_start", "calling_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        try:
            time.fromisoformat(value)
        except ValueError:
            raise ValueError(f"“{value}”不是有效的时间：应为 00:00–23:59，例如 09:00") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        for new, old in _LAPSE_ALIASES.items():
            if new not in self.model_fields_set and getattr(self, old) is not None:
                setattr(self, new, getattr(self, old))
        if not self.lapse_pre_months < self.lapse_months < self.lapse_full_months:
            raise ValueError(
                "流失阶段月数须依次递增：HUIFANG_LAPSE_PRE_MONTHS < HUIFANG_LAPSE_MONTHS < HUIFANG_LAPSE_FULL_MONTHS"
                f"（现为 {self.lapse_pre_months}、{self.lapse_months}、{self.lapse_full_months}）"
            )
        if time.fromisoformat(self.calling_start) >= time.fromisoformat(self.calling_end):
            raise ValueError(
                f"拨打时段有误：HUIFANG_CALLING_START（{self.calling_start}）须早于 HUIFANG_CALLING_END"
                f"（{self.calling_end}）"
            )
        return self

    @property
    def tz(self) -> ZoneInfo:
        """The store's time zone."""
        return ZoneInfo(self.timezone)

    def lapse_stages(self) -> LapseStages:
        """The lapse stages (one definition for due selection and reports)."""
        return LapseStages(self.lapse_pre_months, self.lapse_months, self.lapse_full_months)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("HUIFANG_CONFIG", "huifang.toml"))
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_path),
        )


def report_settings(settings: Settings) -> ReportSettings:
    """ReportSettings from the product settings; fields not (yet) in Settings keep their defaults."""
    from dataclasses import fields

    from bot.domain.statistics import ReportSettings

    values: dict[str, Any] = {"timezone": settings.timezone, "lapse": settings.lapse_stages()}
    for f in fields(ReportSettings):
        name = f"report_{f.name}"
        if f.name not in values and hasattr(settings, name):
            values[f.name] = getattr(settings, name)
    if isinstance(values.get("vehicle_age_bands"), list):
        values["vehicle_age_bands"] = tuple(values["vehicle_age_bands"])
    return ReportSettings(**values)
