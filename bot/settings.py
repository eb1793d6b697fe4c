"""One settings object for the whole product, read only at the entry point.

Values come from (highest first): keyword arguments, environment variables prefixed ``HUIFANG_``,
a ``huifang.toml`` file in the working directory (or the file named by ``HUIFANG_CONFIG``), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

LINK_SECRET_MIN = 16


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

    # Contact policy and calling hours (store-local times).
    calling_start: str = Field(default="09:00", pattern=r"^\d{2}:\d{2}$")
    calling_end: str = Field(default="20:00", pattern=r"^\d{2}:\d{2}$")
    call_on_weekends: bool = True
    skip_public_holidays: bool = Field(default=True, description="No calls or invitations on China's public holidays")
    survey_gap_days: int = Field(default=30, ge=1, description="At most one survey per customer in this many days")
    purpose_order: list[str] = Field(default_factory=lambda: ["defeat", "delivery_3day", "lapsed", "owner_care"])
    contact_modes: list[Literal["chat", "web", "voice", "phone"]] = Field(
        default_factory=lambda: ["chat", "phone"],
        description="Contact modes whose channel is set up here; the plan skips the others (未配置)",
    )
    chart_dir: str = Field(default="huifang-charts", description="Where the weekly summary's chart images go")

    # Reports (see docs/reports.md); bot/report_cli.py reads every ``report_*`` field.
    report_e: float | None = Field(default=None, ge=0, le=1, description="AAPOR e; unset: estimated from the data")
    report_tier_premium_loyalty: int = 7
    report_tier_premium_economic: int = 6
    report_tier_potential_loyalty: int = 6
    report_tier_potential_economic: int = 6
    report_lapse_pre_months: int = 6
    report_lapse_months: int = 12
    report_lapse_full_months: int = 24
    report_vehicle_age_bands: list[int] = Field(default_factory=lambda: [1, 2, 3, 5])
    report_percent_decimals: int = 1
    report_free_text_limit: int = 50

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

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"“{value}”不是有效地址：应为 http(s):// 开头，例如 https://api.telegram.org/bot")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The store's time zone."""
        return ZoneInfo(self.timezone)

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


def report_settings(settings: Settings) -> Any:
    """ReportSettings from the product settings; fields not (yet) in Settings keep their defaults."""
    from dataclasses import fields

    from bot.domain.statistics import ReportSettings

    values: dict[str, Any] = {"timezone": settings.timezone}
    for f in fields(ReportSettings):
        name = f"report_{f.name}"
        if f.name != "timezone" and hasattr(settings, name):
            values[f.name] = getattr(settings, name)
    if isinstance(values.get("vehicle_age_bands"), list):
        values["vehicle_age_bands"] = tuple(values["vehicle_age_bands"])
    return ReportSettings(**values)
