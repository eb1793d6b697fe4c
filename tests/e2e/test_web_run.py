"""`huifang run` with the web mode set up serves the survey page from its one HTTP server (a real process)."""

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
from bot.sandbox.fake_telegram import FakeTelegramThread
from tests.e2e.web_harness import issue, seed_customer

SECRET = "test-secret-0123456789abcdef"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_huifang_run_serves_the_web_survey_page_when_web_is_a_contact_mode(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    _, survey_id = seed_customer(app, "defeat")
    token = issue(app, survey_id)
    port = _free_port()
    with FakeTelegramThread() as telegram:
        server = telegram.server
        assert server is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
        env.update({
            "HUIFANG_DATABASE_URL": database_url, "HUIFANG_LINK_SECRET": SECRET,
            "HUIFANG_TELEGRAM_TOKEN": server.token, "HUIFANG_TELEGRAM_API_URL": server.api_url,
            "HUIFANG_CONTACT_MODES": '["chat", "web", "phone"]', "HUIFANG_HTTP_PORT": str(port),
            "HUIFANG_PUBLIC_URL": f"http://127.0.0.1:{port}",
        })  # fmt: skip
        log = tmp_path / "run.log"
        with log.open("w") as sink:
            process = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=sink, stderr=sink)
            try:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if _get(f"http://127.0.0.1:{port}/healthz")[0] == 200:
                            break
                    except OSError:
                        time.sleep(0.2)
                status, page = _get(f"http://127.0.0.1:{port}/s/{token}")
                unknown, _ = _get(f"http://127.0.0.1:{port}/s/{'z' * 22}")
            finally:
                process.send_signal(signal.SIGINT)
                code = process.wait(30)
    assert status == 200 and "王先生您好！" in page and "惠州江铃4S店" in page and 'value="start"' in page
    assert unknown == 404 and code == 0
    output = log.read_text()
    assert token not in output and "13800138000" not in output
