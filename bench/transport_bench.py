"""Bot API transport cost: PTB's default HTTPXRequest against huifang's AiohttpRequest, per call.

The fake Bot API server (``bot/sandbox/fake_telegram.py``) runs in a child process, so only the client's CPU
is measured. This process sends N ``send_message`` calls (Chinese text, a 3-button inline keyboard) through a
python-telegram-bot ``Bot`` with ``--concurrency`` calls in flight, once on ``HTTPXRequest()`` (PTB's default)
and once on ``AiohttpRequest(16)`` (``bot/telegram/transport.py``), each after an untimed warm-up round.
Printed: calls/s (wall clock) and CPU microseconds per call in this process (``time.process_time``, which
includes PTB's own work per call: the same for both transports).

    python bench/transport_bench.py                  # 3,000 calls at 25 and at 75 in flight
    python bench/transport_bench.py --quick          # 600 calls (a few seconds)
    python bench/transport_bench.py --calls 10000 --concurrency 25
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.request import BaseRequest, HTTPXRequest

from bot.sandbox.fake_telegram import FakeTelegram
from bot.telegram.transport import AiohttpRequest

TEXT = "您好，李先生！感谢您选择惠州江铃4S店。请问您对本次保养服务满意吗？"
KEYBOARD = InlineKeyboardMarkup(
    [[InlineKeyboardButton(label, callback_data=f"a:{i}")] for i, label in enumerate(("满意", "一般", "不满意"))]
)
CHATS = 1000  # the fake server keeps every message; spread them over this many chats


@dataclass
class Result:
    transport: str
    concurrency: int
    calls: int
    seconds: float
    cpu_seconds: float
    errors: int

    @property
    def per_second(self) -> float:
        return self.calls / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_call(self) -> float:
        return 1e6 * self.cpu_seconds / self.calls if self.calls else 0.0


# ------------------------------------------------------------------------------------------- server side


async def serve() -> None:
    """Child process: run the fake server, print its URL and token, stop when stdin closes."""
    async with FakeTelegram() as tg:
        print(tg.api_url, tg.token, flush=True)
        await asyncio.to_thread(sys.stdin.read)


def start_server() -> tuple[subprocess.Popen[str], str, str]:
    process = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().split()
    if len(line) != 2:
        process.kill()
        raise RuntimeError("the fake Bot API server did not start")
    return process, line[0], line[1]


def stop_server(process: subprocess.Popen[str]) -> None:
    assert process.stdin is not None
    process.stdin.close()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


# ------------------------------------------------------------------------------------------- client side


async def send_all(bot: Bot, calls: int, concurrency: int) -> int:
    """``calls`` send_message calls, ``concurrency`` at a time; returns the number that failed."""
    counter = iter(range(calls))
    errors = 0

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            try:
                await bot.send_message(1 + i % CHATS, TEXT, reply_markup=KEYBOARD)
            except Exception:  # counted and shown: a failing call must not look like a fast one
                errors += 1

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return errors


async def measure(
    name: str, requests: tuple[BaseRequest, BaseRequest], api_url: str, token: str, calls: int, concurrency: int
) -> Result:
    bot = Bot(token, base_url=api_url, request=requests[0], get_updates_request=requests[1])
    async with bot:
        await send_all(bot, max(100, calls // 5), concurrency)  # warm-up: connections open, code paths hot
        cpu = time.process_time()
        started = time.perf_counter()
        errors = await send_all(bot, calls, concurrency)
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    return Result(name, concurrency, calls, seconds, cpu_seconds, errors)


async def bench(api_url: str, token: str, calls: int, concurrencies: list[int]) -> list[Result]:
    results = []
    for concurrency in concurrencies:
        transports: dict[str, tuple[BaseRequest, BaseRequest]] = {
            "httpx": (HTTPXRequest(), HTTPXRequest(1)),  # what Bot(token) builds by itself
            "aiohttp": (AiohttpRequest(16), AiohttpRequest(1)),  # what bot/telegram/application.py builds
        }
        for name, requests in transports.items():
            result = await measure(name, requests, api_url, token, calls, concurrency)
            results.append(result)
            print(f"  {name:<8} {concurrency:>3} in flight: {result.per_second:,.0f} calls/s", flush=True)
    return results


def print_table(results: list[Result]) -> None:
    print()
    print(f"{'transport':<10} {'in flight':>9} {'calls':>6} {'seconds':>8} {'calls/s':>8} ", end="")
    print(f"{'CPU µs/call':>12} {'errors':>6}")
    for r in results:
        print(
            f"{r.transport:<10} {r.concurrency:>9} {r.calls:>6} {r.seconds:>8.2f} {r.per_second:>8,.0f} "
            f"{r.cpu_us_per_call:>12,.0f} {r.errors:>6}"
        )
    by_key = {(r.transport, r.concurrency): r for r in results}
    for concurrency in sorted({r.concurrency for r in results}):
        httpx, aio = by_key.get(("httpx", concurrency)), by_key.get(("aiohttp", concurrency))
        if httpx and aio and aio.cpu_us_per_call:
            ratio = httpx.cpu_us_per_call / aio.cpu_us_per_call
            print(f"at {concurrency} in flight aiohttp uses 1/{ratio:.1f} of httpx's CPU per call")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000, help="timed calls per transport and concurrency")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[25, 75], help="calls in flight")
    parser.add_argument("--quick", action="store_true", help="600 calls")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve())
        return
    calls = 600 if args.quick else args.calls
    process, api_url, token = start_server()
    try:
        print(f"{calls} send_message calls per run; fake Bot API server in process {process.pid}", flush=True)
        results = asyncio.run(bench(api_url, token, calls, args.concurrency))
    finally:
        stop_server(process)
    print_table(results)
    if any(r.errors for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
