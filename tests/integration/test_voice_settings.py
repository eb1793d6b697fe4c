"""Voice set up without its provider settings, or with a malformed one: one line, exit 2, nothing started."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_cli_mistakes import assert_one_line, huifang

SECRET = "test-secret-0123456789abcdef"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"public_url": ""}, "HUIFANG_PUBLIC_URL"),
        ({"voice_auth_token": ""}, "HUIFANG_VOICE_AUTH_TOKEN"),
        ({"voice_caller_id": ""}, "HUIFANG_VOICE_CALLER_ID"),
    ],
)
def test_run_with_voice_but_without_the_provider_settings_stops_with_one_line_naming_the_setting(
    database_url: str, tmp_path: Path, missing: dict[str, str], named: str
) -> None:
    settings = {
        "database_url": database_url,
        "telegram_token": "123456:ABC-secret-token",
        "link_secret": SECRET,
        "contact_modes": '["chat", "voice"]',
        "public_url": "https://huifang.example.com",
        "voice_account_sid": "AC0123",
        "voice_auth_token": "voice-token-secret",
        "voice_caller_id": "+867520000000",
        **missing,
    }
    settings = {k: v for k, v in settings.items() if v}
    line = assert_one_line(huifang(tmp_path, "run", **settings), named, "docs/voice.md")
    assert "voice-token-secret" not in line


def test_a_malformed_voice_api_url_is_one_line(tmp_path: Path) -> None:
    assert_one_line(huifang(tmp_path, "db", "upgrade", voice_api_url="api.twilio.com"), "HUIFANG_VOICE_API_URL")


def test_the_dialler_job_run_by_hand_without_voice_set_up_says_so_in_one_line(
    database_url: str, tmp_path: Path
) -> None:
    assert_one_line(
        huifang(tmp_path, "jobs", "run", "place_voice_calls", database_url=database_url), "HUIFANG_CONTACT_MODES"
    )
