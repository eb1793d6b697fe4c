"""SMS rules: billed parts, opt-out replies, receipts in the shared dispositions, Aliyun's signature."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.domain import dispositions
from bot.domain.sms import is_opt_out_reply, sms_parts
from bot.services import sms
from bot.sms.aliyun import local_number, percent_encode, signature, signed_params


@pytest.mark.parametrize(
    ("length", "parts"), [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)]
)
def test_a_text_is_billed_in_70_character_parts_and_67_when_longer(length: int, parts: int) -> None:
    assert sms_parts("字" * length) == parts


def test_the_shipped_invitation_starts_with_the_signature_ends_with_the_opt_out_and_fits_two_parts() -> None:
    text = sms.sample_invitation("江铃汽车", "https://hf.example.cn")
    assert text.startswith("【江铃汽车】")
    assert text.endswith("回T退订")
    assert "https://hf.example.cn/s/" in text
    assert sms_parts(text) <= 2
    assert sms.parts_note(text) == f"短信邀请 {len(text)} 字，按 {sms_parts(text)} 条计费"


def test_a_short_store_name_keeps_the_invitation_to_one_part() -> None:
    text = sms.invitation_text("江铃", "王先生", "江铃4S店", sms.purpose_name("defeat"), "https://a.cn/s/" + "x" * 22)
    assert sms_parts(text) == 1, (len(text), text)


@pytest.mark.parametrize("reply", ["T", "t", "TD", " td ", "退订", "N", "Ｔ", "T。", "stop"])
def test_the_usual_opt_out_replies_are_recognised(reply: str) -> None:
    assert is_opt_out_reply(reply, sms.opt_out_words())


@pytest.mark.parametrize("reply", ["好的", "Thanks", "什么时候", "NO problem", ""])
def test_other_replies_do_not_opt_out(reply: str) -> None:
    assert not is_opt_out_reply(reply, sms.opt_out_words())


@pytest.mark.parametrize(
    ("code", "message", "disposition", "label"),
    [
        ("30005", "", "vacant", "空号"),
        ("30003", "", "powered_off", "关机"),
        ("30004", "", "sms_refused", "拒收"),
        ("MK:0012", "用户停机", "suspended", "停机"),
        ("UNDELIV", "号码为空号", "vacant", "空号"),
        ("MN:0001", "手机关机", "powered_off", "关机"),
        ("HD:0001", "运营商黑名单", "sms_refused", "拒收"),
        ("XX:9999", "未知错误", "other", "其他"),
    ],
)
def test_failed_receipts_map_to_the_shared_dispositions(code: str, message: str, disposition: str, label: str) -> None:
    receipt = sms.receipt_for_failure(code, message)
    assert not receipt.delivered
    assert receipt.disposition == disposition
    assert dispositions.disposition(disposition).label == label
    assert dispositions.disposition(disposition).tracking_failure  # counted in 跟踪失败


def test_every_disposition_a_receipt_can_give_applies_to_the_web_mode() -> None:
    rules = sms.receipt_rules()
    codes = {*rules["codes"].values(), *rules["keywords"].values(), "other"}  # type: ignore[union-attr]
    assert codes <= {d.code for d in dispositions.for_channel("web")}


def test_aliyun_signature_matches_the_documented_example() -> None:
    # Aliyun's RPC signature document: DescribeRegions signed with GET and the secret "testsecret".
    params = {
        "AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
        "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26",
    }  # fmt: skip
    assert signature(params, "testsecret", method="GET") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


def test_aliyun_encoding_and_numbers() -> None:
    assert percent_encode("a b*c~d") == "a%20b%2Ac~d"
    assert percent_encode("【签名】") == "%E3%80%90%E7%AD%BE%E5%90%8D%E3%80%91"
    assert local_number("+8613800138000") == "13800138000"
    assert local_number("+85291234567") == "85291234567"


def test_signed_sendsms_parameters_carry_every_business_field_and_verify() -> None:
    business = {"PhoneNumbers": "13800138000", "SignName": "江铃", "TemplateCode": "SMS_1", "TemplateParam": "{}"}
    params = signed_params("id", "secret", business, datetime(2026, 12, 2, 1, 0, tzinfo=UTC), nonce="n1")
    given = params.pop("Signature")
    assert params["Timestamp"] == "2026-12-02T01:00:00Z"
    assert params["Action"] == "SendSms" and params["Version"] == "2017-05-25"
    assert given == signature(params, "secret")
    assert given != signature(params, "other-secret")
