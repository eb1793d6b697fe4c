"""Log lines never show the bot token or a customer's phone number, whoever logged them."""

from __future__ import annotations

import io
import logging

import pytest

from bot.redaction import Redactor, mask_phones

TOKEN = "123456:AAH-secret-token-value"


@pytest.fixture
def captured() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(Redactor([TOKEN, None, ""]))
    logger = logging.getLogger("test.redaction")
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_a_token_passed_as_an_argument_is_replaced(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("POST %s failed", f"https://api.telegram.org/bot{TOKEN}/sendMessage")

    assert TOKEN not in stream.getvalue()
    assert "https://api.telegram.org/bot[secret]/sendMessage failed" in stream.getvalue()


def test_a_token_inside_a_logged_exception_and_its_cause_is_replaced(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    try:
        try:
            raise TimeoutError(f"Connection timeout to host https://api.telegram.org/bot{TOKEN}/getUpdates")
        except TimeoutError as cause:
            raise RuntimeError("polling failed") from cause
    except RuntimeError:
        logger.exception("error while polling")

    assert TOKEN not in stream.getvalue()
    assert "bot[secret]/getUpdates" in stream.getvalue() and "polling failed" in stream.getvalue()


def test_phone_numbers_in_any_log_line_are_masked(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.warning("could not reach %s or 13912345678 or +44 7700 or +447700900123", "+8613812345678")

    assert stream.getvalue().strip() == "could not reach 138****5678 or 139****5678 or +44 7700 or +44*****23"


def test_ids_and_short_numbers_are_left_alone() -> None:
    text = "update 518234567 chat 5001234567 survey 42 at 2026-11-25 09:00"
    assert mask_phones(text) == text


def test_numbers_written_against_chinese_text_or_grouped_are_masked_too() -> None:
    assert mask_phones("手机13812345678，备用 138 1234 5678，+86 139-1234-5678") == (
        "手机138****5678，备用 138****5678，139****5678"
    )
