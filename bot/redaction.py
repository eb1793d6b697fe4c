"""A logging filter that keeps secrets and phone numbers out of every log line, whoever wrote it.

huifang's own log calls never pass a token, a phone number or an answer text; this is the second line of
defence for what libraries log (exception messages can carry request URLs, and the Bot API URL holds the
token). Installed on the handlers, so records from every logger pass through it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

# Chinese mobiles with or without +86 (digits may be grouped by spaces or dashes: 138 1234 5678), and any
# other international number written with "+". ASCII-only guards: in Python \w also matches 汉字, and a
# number straight after Chinese text (手机13812345678) must be masked too.
_PHONE = re.compile(
    r"(?<![0-9A-Za-z+])(?:\+?86[ -]?)?(1[3-9]\d)[ -]?\d{4}[ -]?(\d{4})(?![0-9])"
    r"|(?<![0-9A-Za-z+])\+(\d{2})[\d -]{5,14}?(\d{2})(?![0-9])"
)


def mask_phones(text: str) -> str:
    """138****5678 for mobiles, +44*****89 for other numbers."""

    def masked(match: re.Match[str]) -> str:
        if match.group(1):
            return f"{match.group(1)}****{match.group(2)}"
        return f"+{match.group(3)}*****{match.group(4)}"

    return _PHONE.sub(masked, text)


class Redactor(logging.Filter):
    """Replaces the given secrets with ``[secret]`` and masks phone numbers, in messages and tracebacks."""

    def __init__(self, secrets: Iterable[str | None]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if s and len(s) >= 8}, key=len, reverse=True)

    def clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "[secret]")
        return mask_phones(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed log call: leave it for logging to report, as it would anyway
            return True
        record.msg = self.clean(message)
        record.args = ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.clean(record.exc_text)
        if record.stack_info:
            record.stack_info = self.clean(record.stack_info)
        return True


def install(secrets: Iterable[str | None]) -> Redactor:
    """Put a Redactor on every handler of the root logger (configure logging first)."""
    redactor = Redactor(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(redactor)
    return redactor
