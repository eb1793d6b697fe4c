"""Settings and command-line mistakes, made the way staff make them: the real `huifang` command as a process.

Every one ends with exactly one Chinese line on stderr starting 错误：, exit code 2, no traceback, and nothing
left behind in the working directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.tables import write_csv

ROOT = Path(__file__).resolve().parents[2]
SECRET = "test-secret-0123456789abcdef"
UNREACHABLE_API = "http://127.0.0.1:1/bot"  # nothing listens on port 1: connection refused at once


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env["PYTHONPATH"] = str(ROOT)
    env.update({f"HUIFANG_{k.upper()}": v for k, v in settings.items()})
    return env


def huifang(cwd: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, cwd=cwd, env=_env(**settings), timeout=60
    )


def assert_one_line(done: subprocess.CompletedProcess[str], *fragments: str) -> str:
    """Exit code 2 and a single 错误： line on stderr holding every fragment; returns the line."""
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("错误：")
    for fragment in fragments:
        assert fragment in lines[0]
    return lines[0]


@pytest.mark.parametrize(
    ("settings", "fragments"),
    [
        ({"database_url": "postgresql://huifang@127.0.0.1:1/huifang"}, ["无法连接数据库", "Connection refused"]),
        ({"database_url": "postgresql://huifang:s3cret-pw@127.0.0.1:1/huifang"}, ["huifang:***@127.0.0.1:1"]),
        ({"database_url": "huifang.db"}, ["HUIFANG_DATABASE_URL 格式不对", "sqlite:///"]),
        ({"database_url": "oracle+nosuchdriver://x@y/z"}, ["HUIFANG_DATABASE_URL 不可用"]),
        ({"database_url": "sqlite:///no/such/dir/huifang.db"}, ["目录 no/such/dir 不存在"]),
        ({"timezone": "Asia/Beijing"}, ["HUIFANG_TIMEZONE", "未知时区“Asia/Beijing”", "Asia/Shanghai"]),
        ({"timezone": "UTC+8"}, ["HUIFANG_TIMEZONE", "未知时区“UTC+8”"]),
        ({"link_secret": "abcde"}, ["HUIFANG_LINK_SECRET", "至少 16 个字符"]),
        ({"telegram_api_url": "http://[::1/bot"}, ["HUIFANG_TELEGRAM_API_URL", "不是有效地址"]),
        ({"telegram_api_url": "api.telegram.org/bot"}, ["HUIFANG_TELEGRAM_API_URL", "http(s)://"]),
    ],
)
def test_a_wrong_setting_is_one_line_and_exit_code_2_and_leaves_nothing_behind(
    tmp_path: Path, settings: dict[str, str], fragments: list[str]
) -> None:
    line = assert_one_line(huifang(tmp_path, "db", "upgrade", **settings), *fragments)

    assert "s3cret-pw" not in line
    assert list(tmp_path.iterdir()) == []


def test_a_malformed_huifang_toml_is_named_with_the_place_it_goes_wrong(tmp_path: Path) -> None:
    (tmp_path / "huifang.toml").write_text('timezone = "Asia/Shanghai\nstore_name = "本店"\n', encoding="utf-8")

    assert_one_line(huifang(tmp_path, "db", "upgrade"), "huifang.toml 格式有误", "line 1")

    assert [p.name for p in tmp_path.iterdir()] == ["huifang.toml"]


@pytest.mark.parametrize(
    "command",
    [
        ["db", "status"],
        ["jobs", "run", "select_due"],
        ["import", "customers", "客户.csv"],
        ["link", "13800138000"],
        ["report", "--week", "2026-W47"],
        ["calls", "export", "拨打名单.xlsx"],
    ],
)
def test_a_command_before_db_upgrade_leaves_no_empty_database_behind(tmp_path: Path, command: list[str]) -> None:
    write_csv(tmp_path / "客户.csv", [["王建国", "13800138000"]], headers=["姓名", "手机"])

    assert_one_line(huifang(tmp_path, *command, link_secret=SECRET), "huifang db upgrade")

    assert [p.name for p in tmp_path.iterdir()] == ["客户.csv"]


def test_db_upgrade_still_creates_a_new_database(tmp_path: Path) -> None:
    done = huifang(tmp_path, "db", "upgrade")

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "huifang.db").exists()


@pytest.mark.parametrize(
    ("command", "fragments"),
    [
        (["jobs", "run", "send_outbox"], ["无法连接 Telegram Bot API", "HUIFANG_TELEGRAM_PROXY"]),
        (["link", "13800138000"], ["无法连接 Telegram", "HUIFANG_TELEGRAM_BOT_USERNAME"]),
    ],
)
def test_an_unreachable_bot_api_is_one_line_and_exit_code_2(
    database_url: str, tmp_path: Path, command: list[str], fragments: list[str]
) -> None:
    done = huifang(
        tmp_path, *command, database_url=database_url, telegram_token="123456:ABC-secret-token",
        telegram_api_url=UNREACHABLE_API, link_secret=SECRET,
    )  # fmt: skip

    line = assert_one_line(done, *fragments)
    assert "ABC-secret-token" not in line


def test_a_mistyped_store_is_refused_by_import_and_staff_invite_naming_the_known_stores(
    database_url: str, tmp_path: Path
) -> None:
    settings = {"database_url": database_url, "store_name": "惠州江铃4S店", "link_secret": SECRET,
                "telegram_bot_username": "huifang_bot"}  # fmt: skip
    customers = write_csv(tmp_path / "客户.csv", [["王建国", "13800138000"]], headers=["姓名", "手机"])
    staff = write_csv(tmp_path / "员工.csv", [["周芳", "客服专员"]], headers=["姓名", "岗位"])
    assert huifang(tmp_path, "import", "customers", str(customers), **settings).returncode == 0
    known = "已有门店：惠州江铃4S店"

    assert_one_line(huifang(tmp_path, "import", "customers", str(customers), "--store", "惠州江铃4S点", **settings),
                    "找不到门店“惠州江铃4S点”", known, "--create-store")  # fmt: skip
    assert_one_line(huifang(tmp_path, "import", "staff", str(staff), "--store", "惠州江铃", **settings), known)
    assert_one_line(huifang(tmp_path, "staff", "invite", "--name", "周芳", "--role", "客服专员", "--store", "惠州",
                            **settings), known)  # fmt: skip
    created = huifang(tmp_path, "import", "customers", str(customers), "--store", "惠阳店", "--create-store",
                      **settings)  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "新建 1" in created.stdout


def test_ctrl_c_while_run_is_still_trying_to_reach_telegram_stops_with_one_line_and_closed_sessions(
    database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "run.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=tmp_path, stdout=sink, stderr=sink, text=True,
            env=_env(database_url=database_url, telegram_token="123456:ABC-secret-token", link_secret=SECRET,
                     telegram_api_url=UNREACHABLE_API, telegram_startup_patience="60"),
        )  # fmt: skip
        for _ in range(1200):  # imports, then refused connections: press Ctrl-C once the bot is trying
            if "not sent (no connection)" in log.read_text() or process.poll() is not None:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.wait(30)
    stderr = log.read_text()

    assert process.returncode == 2, stderr
    assert stderr.splitlines()[-1] == "错误：启动被中断（Ctrl-C）：机器人没有启动"
    assert "Unclosed" not in stderr and "Traceback" not in stderr


def test_a_store_plan_file_with_a_mistake_stops_the_jobs_with_one_line_naming_it(
    tmp_path: Path, database_url: str
) -> None:
    plans = tmp_path / "contact_plans.yaml"
    plans.write_text(
        "defeat:\n  - {mode: chat, wait: 7d}\n  - {mode: fax, wait: 1d}\n"
        "delivery_3day: [{mode: phone}]\nlapsed: [{mode: phone}]\nowner_care: [{mode: phone}]\n",
        encoding="utf-8",
    )
    done = huifang(tmp_path, "jobs", "run", "select_due", database_url=database_url, contact_plans_file=str(plans))

    assert_one_line(done, "联系计划有误", "defeat[2]", "fax", "huifang scripts check")
