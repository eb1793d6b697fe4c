"""The `huifang` command as staff use it: clear lines, exit codes, nothing half-done."""

from __future__ import annotations

import zipfile
from pathlib import Path

from click.testing import CliRunner

from bot.cli import main
from tests.integration.test_customer_import import BAD_PHONE, WANG, ZHAO
from tests.tables import write_csv


def _run(database_url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--database-url", database_url, *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_prints_a_summary_and_a_second_run_says_nothing_changed(database_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "客户.csv", [WANG, ZHAO, BAD_PHONE])

    code, out, _ = _run(database_url, "import", "customers", str(path))

    assert code == 0
    assert "共 3 行：新建 2，更新 0，未变 0，拒绝 1" in out
    assert "表中出现、系统中没有的销售顾问，已新建：张伟、李明" in out
    assert f"1 行被拒绝，原因见：{tmp_path / '客户.rejects.csv'}" in out

    code, out, _ = _run(database_url, "import", "customers", str(path))

    assert code == 0
    assert "共 3 行：新建 0，更新 0，未变 2，拒绝 1" in out
    assert "文件内容与数据库一致，本次未做任何更改。" in out


def test_dry_run_says_nothing_was_written(database_url: str, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "客户.csv", [WANG])

    code, out, _ = _run(database_url, "import", "customers", str(path), "--dry-run")
    assert code == 0 and "新建 1" in out and "数据库未做任何更改" in out

    _, out, _ = _run(database_url, "import", "customers", str(path))
    assert "新建 1" in out


def test_commands_refuse_an_unmigrated_database_and_say_what_to_run(tmp_path: Path) -> None:
    (tmp_path / "new.db").touch()  # a database that exists but was never migrated (a missing one: test_cli_mistakes)
    empty = f"sqlite:///{tmp_path / 'new.db'}"
    path = write_csv(tmp_path / "客户.csv", [WANG])

    code, out, err = _run(empty, "import", "customers", str(path))

    assert code == 2
    assert err.strip() == "错误：数据库尚未初始化，请先运行：huifang db upgrade"
    assert out == ""


def test_db_upgrade_creates_the_schema_and_a_second_run_says_it_is_current(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"

    code, out, _ = _run(url, "db", "upgrade")
    assert code == 0 and "数据库已迁移：空库 →" in out

    code, out, _ = _run(url, "db", "upgrade")
    assert code == 0 and "数据库已是最新版本" in out
    assert _run(url, "db", "status")[0] == 0


def test_a_file_that_is_not_a_table_gets_one_error_line_and_exit_code_2(database_url: str, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    word = tmp_path / "名单.docx"
    word.write_bytes(b"PK\x03\x04 not a spreadsheet")
    encrypted = tmp_path / "加密.xlsx"
    encrypted.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512
    )  # what Excel writes when a password is set
    broken = tmp_path / "坏.xlsx"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("hello.txt", "not a workbook")
    binary = tmp_path / "图片.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")

    expected = {
        empty: "错误：文件是空的",
        word: "错误：不支持的文件类型“.docx”：请使用 .csv 或 .xlsx（Excel 另存为）",
        encrypted: "错误：该 Excel 文件已加密或为旧版 .xls 格式：请取消密码保护并另存为 .xlsx",
        tmp_path / "不存在.csv": f"错误：文件不存在：{tmp_path / '不存在.csv'}",
        binary: "错误：文件不是文本表格（含有二进制内容）：请另存为 CSV 或 xlsx",
    }
    for path, message in expected.items():
        code, out, err = _run(database_url, "import", "customers", str(path))
        assert (code, err.strip(), out) == (2, message, ""), path

    code, _, err = _run(database_url, "import", "customers", str(broken))
    assert code == 2 and err.startswith("错误：无法打开 xlsx 文件") and len(err.strip().splitlines()) == 1


def test_staff_import_prints_its_summary(database_url: str, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "员工.csv",
        [["李明", "销售顾问", "13700137000", "在职"], ["周芳", "客服专员", "", ""], ["吴刚", "保安", "", ""]],
        headers=["姓名", "岗位", "手机", "在职"],
    )

    code, out, _ = _run(database_url, "import", "staff", str(path))

    assert code == 0
    assert "共 3 行：新建 2，更新 0，未变 0，拒绝 1" in out
    code, out, _ = _run(database_url, "import", "staff", str(path))
    assert "文件内容与数据库一致，本次未做任何更改。" in out
