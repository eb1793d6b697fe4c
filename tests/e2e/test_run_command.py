"""`huifang run` as an operator starts it: a separate process talking HTTP to the local Bot API server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from bot.app import Container
from bot.sandbox.fake_telegram import FakeTelegramThread, FakeUser, SentMessage
from tests.e2e.harness import Harness

SECRET = "test-secret-0123456789abcdef"


def _env(database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update({"HUIFANG_DATABASE_URL": database_url, "HUIFANG_LINK_SECRET": SECRET, **extra})
    return env


def _huifang(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_run_without_a_token_says_so_in_one_line_and_exits_2(database_url: str) -> None:
    result = _huifang("run", env=_env(database_url))

    assert result.returncode == 2
    assert result.stderr.strip() == "错误：未设置 HUIFANG_TELEGRAM_TOKEN（Telegram 机器人令牌）"


def test_run_with_a_rejected_token_exits_2_without_printing_the_token(database_url: str) -> None:
    wrong = "999999:WRONG-token-that-the-server-refuses"
    with FakeTelegramThread() as telegram:
        assert telegram.server is not None
        env = _env(database_url, HUIFANG_TELEGRAM_TOKEN=wrong, HUIFANG_TELEGRAM_API_URL=telegram.server.api_url)
        result = _huifang("run", env=env)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "错误：Telegram 拒绝了机器人令牌（HUIFANG_TELEGRAM_TOKEN），请检查"
    assert "WRONG-token" not in result.stderr + result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_run_gives_up_on_an_unreachable_bot_api_with_one_clear_line(database_url: str) -> None:
    token = "123456:TOKEN-nobody-answers-for"
    env = _env(
        database_url,
        HUIFANG_TELEGRAM_TOKEN=token,
        HUIFANG_TELEGRAM_API_URL=f"http://127.0.0.1:{_free_port()}/bot",
        HUIFANG_TELEGRAM_STARTUP_PATIENCE="1",
    )
    result = _huifang("run", env=env)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("错误：无法连接 Telegram Bot API（")
    assert "HUIFANG_TELEGRAM_PROXY" in result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr
    assert "TOKEN-nobody" not in result.stderr + result.stdout


def test_run_keeps_trying_while_the_bot_api_is_unreachable_and_starts_once_it_answers(
    database_url: str, tmp_path: Path
) -> None:
    port = _free_port()
    token = "123456:TEST-token-for-the-local-fake-server"
    env = _env(database_url, HUIFANG_TELEGRAM_TOKEN=token, HUIFANG_TELEGRAM_API_URL=f"http://127.0.0.1:{port}/bot")
    log = tmp_path / "run.log"
    with log.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
        try:
            for _ in range(600):  # the network is down when the bot starts: wait until it has noticed
                if "not sent (no connection)" in log.read_text() or process.poll() is not None:
                    break
                time.sleep(0.05)
            assert process.poll() is None
            with FakeTelegramThread(token=token, port=port) as telegram:
                assert telegram.server is not None
                for _ in range(200):
                    if telegram.server.calls["getUpdates"]:
                        break
                    time.sleep(0.05)
                polled = telegram.server.calls["getUpdates"] > 0
                process.send_signal(signal.SIGINT)
                code = process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()

    output = log.read_text()
    assert polled and code == 0
    assert "bot @huifang_test_bot is running" in output
    assert "getMe: not sent (no connection)" in output  # the outage was noticed and waited out
    assert "TEST-token" not in output


def test_the_running_bot_answers_a_customer_and_its_logs_hold_no_token_or_phone(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    store = harness.store_with_staff()
    _, _, token = harness.customer_with_survey(store, "王建国", "+8613800138000")
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        env = _env(database_url, HUIFANG_TELEGRAM_TOKEN=server.token, HUIFANG_TELEGRAM_API_URL=server.api_url)
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
            try:
                consent, opening = _consent_and_first_question(telegram, token)
            finally:
                process.send_signal(signal.SIGINT)
                code = process.wait(30)
        time.sleep(0.1)

    assert consent.text.startswith("王先生您好！")
    assert "配合回访" in opening.button_labels
    assert code == 0
    output = log.read_text()
    assert "bot @huifang_test_bot is running" in output
    assert server.commands["default"] == [("help", "使用说明"), ("stop", "退订，不再接收消息")]
    assert server.token not in output and server.token.split(":")[1] not in output
    assert "13800138000" not in output and "王建国" not in output


def test_webhook_mode_without_a_secret_is_refused_in_one_line(database_url: str) -> None:
    env = _env(
        database_url,
        HUIFANG_TELEGRAM_TOKEN="123456:TEST-token-for-the-local-fake-server",
        HUIFANG_WEBHOOK_URL="https://bot.example.com/telegram/hook",
    )
    result = _huifang("run", env=env)

    assert result.returncode == 2
    assert result.stderr.strip() == "错误：使用 webhook 时须设置 HUIFANG_WEBHOOK_SECRET（16–256 位字母、数字、_ 或 -）"


def test_in_webhook_mode_telegram_posts_updates_with_the_secret_and_the_bot_answers(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    harness = Harness(app, telegram=None)  # type: ignore[arg-type]
    store = harness.store_with_staff()
    _, _, token = harness.customer_with_survey(store, "王建国", "+8613800138000")
    port = _free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    secret = "webhook-secret-0123456789"
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        env = _env(
            database_url,
            HUIFANG_TELEGRAM_TOKEN=server.token,
            HUIFANG_TELEGRAM_API_URL=server.api_url,
            HUIFANG_WEBHOOK_URL=hook,
            HUIFANG_WEBHOOK_PORT=str(port),
            HUIFANG_WEBHOOK_SECRET=secret,
        )
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
            try:
                for _ in range(300):
                    if server.webhook is not None:
                        break
                    time.sleep(0.05)
                registered = dict(server.webhook or {})
                forged = _post(hook, b'{"update_id": 1, "message": {"text": "/stop"}}', {})
                wrong = _post(hook, b'{"update_id": 2}', {"X-Telegram-Bot-Api-Secret-Token": "guess"})
                consent, opening = _consent_and_first_question(telegram, token)
            finally:
                process.send_signal(signal.SIGINT)
                code = process.wait(30)

    assert registered["url"] == hook and registered["secret_token"] == secret
    assert forged == 403 and wrong == 403  # only Telegram, which knows the secret, gets in
    assert consent.text.startswith("王先生您好！") and "配合回访" in opening.button_labels
    assert server.webhook_answers and set(server.webhook_answers) == {200}
    assert server.calls["getUpdates"] == 0
    assert code == 0
    assert secret not in log.read_text() and server.token not in log.read_text()


def _consent_and_first_question(telegram: FakeTelegramThread, token: str) -> tuple[SentMessage, SentMessage]:
    """A customer opens their link in the bot run as a process, and presses 开始."""
    server = telegram.server
    assert server is not None
    telegram.call(server.open_link, FakeUser(901, "王"), token)
    consent = telegram.call(server.wait_for, 901, None, 30.0)
    telegram.call(server.press, FakeUser(901, "王"), consent, "开始")
    opening = telegram.call(server.wait_for, 901, lambda m: m.text.startswith("【第1/"), 30.0)
    return consent, opening


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
