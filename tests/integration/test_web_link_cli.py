"""`huifang link --web` and `huifang links export` with web links and QR codes, as staff run them."""

from __future__ import annotations

import csv
from pathlib import Path

from click.testing import CliRunner

from bot.app import Container
from bot.cli import main
from bot.services.web_links import WebLinkFound, find_web_link
from tests.e2e.web_harness import seed_customer

PUBLIC = "https://hf.example.com"


def _run(app: Container, *args: str, public_url: str | None = PUBLIC) -> tuple[int, str, str]:
    env = {"HUIFANG_PUBLIC_URL": public_url} if public_url else {"HUIFANG_PUBLIC_URL": ""}
    result = CliRunner().invoke(main, ["--database-url", app.settings.database_url, *args], env=env)
    return result.exit_code, result.stdout, result.stderr


def _opens(app: Container, url: str) -> int:
    assert url.startswith(f"{PUBLIC}/s/")
    with app.uow(read_only=True) as uow:
        found = find_web_link(uow, url.rsplit("/", 1)[1], app.clock.now())
    assert isinstance(found, WebLinkFound)
    return found.survey_id


def test_link_web_prints_a_link_to_the_customers_survey_page_and_writes_its_qr_code(
    app: Container, tmp_path: Path
) -> None:
    _, survey_id = seed_customer(app)
    code, out, err = _run(app, "link", "13800138000", "--web", "--qr", str(tmp_path / "wang.png"))
    assert code == 0, err
    assert _opens(app, out.strip()) == survey_id and "13800138000" not in out
    assert (tmp_path / "wang.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    code, out, _ = _run(app, "link", "13800138000", "--web", "--qr", str(tmp_path / "wang.svg"))
    assert code == 0 and "<svg" in (tmp_path / "wang.svg").read_text()


def test_link_web_mistakes_get_one_chinese_line_and_exit_code_2(app: Container, tmp_path: Path) -> None:
    seed_customer(app)
    for args, words, kwargs in [
        (("link", "13800138000", "--web"), "HUIFANG_PUBLIC_URL", {"public_url": None}),
        (("link", "13800138000", "--web", "--qr", str(tmp_path / "wang.jpg")), ".png 或 .svg", {}),
        (("link", "13900000000", "--web"), "找不到客户", {}),
        (("link", "13800138000", "--qr", str(tmp_path / "x.png")), "--web", {}),
    ]:
        code, _, err = _run(app, *args, **kwargs)
        assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_links_export_has_a_web_link_column_and_a_qr_code_per_link_without_a_telegram_bot(
    app: Container, tmp_path: Path
) -> None:
    customer_id, survey_id = seed_customer(app)
    seed_customer(app, phone="+8613900139000", name="李娜")
    code, out, err = _run(app, "links", "export", str(tmp_path / "links.csv"), "--web", "--qr-dir", str(tmp_path / "q"))
    assert code == 0 and "已导出 2 位客户" in out, err
    with (tmp_path / "links.csv").open(encoding="utf-8-sig") as f:
        rows = list(csv.DictReader(f))
    assert [r["姓名"] for r in rows] == ["王建国", "李娜"] and "绑定链接" not in rows[0]
    assert _opens(app, rows[0]["网页链接"]) == survey_id
    assert rows[0]["二维码"] == f"{customer_id}.png" and (tmp_path / "q" / f"{customer_id}.png").is_file()
