"""Phone numbers: normalised to E.164 for storage, masked for staff who do not need them."""

from __future__ import annotations

import re

import phonenumbers


# Mainland mobile numbers (the bulk of a dealership's list) checked against the library's own CN mobile
# pattern without a full parse: the same answer, a fraction of the time.
def _cn_mobile_pattern() -> re.Pattern[str]:
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    pattern = metadata.mobile.national_number_pattern if metadata is not None and metadata.mobile else None
    if not pattern:
        raise RuntimeError("phonenumbers ships no CN mobile pattern")
    return re.compile(str(pattern))


_CN_MOBILE = _cn_mobile_pattern()


class InvalidPhone(ValueError):
    """The text is not a usable phone number; the message is Chinese, for staff."""


def normalise(raw: str, region: str = "CN") -> str:
    """Return ``raw`` as E.164 (+8613800138000) or raise InvalidPhone."""
    text = raw.strip().replace(" ", "").replace("-", "")
    if not text:
        raise InvalidPhone("号码为空")
    if text.endswith(".0") and text[:-2].isdigit():
        # Excel saves long numbers as floats: 13800138000.0
        text = text[:-2]
    if region == "CN":
        digits = text.removeprefix("+86") if text.startswith("+86") else text
        if len(digits) == 11 and digits.isdigit() and _CN_MOBILE.fullmatch(digits):
            return "+86" + digits
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone("无法识别的号码") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone("号码无效（位数或号段不对）")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national(e164: str) -> str:
    """The number as dialled at home: 13800138000 for +8613800138000."""
    if e164.startswith("+86"):
        return e164[3:]
    return e164


def mask(e164: str) -> str:
    """Masked for staff who do not call the customer: 138****8000."""
    digits = national(e164)
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:3]}****{digits[-4:]}"
