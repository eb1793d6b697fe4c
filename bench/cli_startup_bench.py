"""How long the `huifang` command takes to start: `huifang --help` and `huifang link CUSTOMER`.

    python bench/cli_startup_bench.py [--runs N] [--source DIR]

Each command runs N times as its own process (`python -m bot`, the same code as the `huifang` entry point)
and the best and median wall times are printed. `link` runs against a scratch SQLite database with one
imported customer. ``--source DIR`` runs the code in DIR instead (e.g. an older commit unpacked with
``git archive COMMIT | tar -x -C DIR``), with this checkout's virtual environment, to compare before and
after. Goal (issue #16): `huifang --help` and `huifang link` under 0.3 s. CPU seconds (user + system of the
child) are printed beside wall seconds: on a shared machine the wall time mostly measures the neighbours.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _time(command: list[str], cwd: Path, env: dict[str, str], runs: int) -> tuple[float, float, float, float]:
    """Best and median wall seconds, best and median CPU seconds (user + system) of the child."""
    times, cpus = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return min(times), statistics.median(times), min(cpus), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--source", type=Path, default=ROOT, help="the checkout whose code runs (default: this one)")
    args = parser.parse_args()
    source = args.source.resolve()
    with tempfile.TemporaryDirectory() as scratch:
        env = {
            **os.environ,
            "PYTHONPATH": str(source),  # ahead of the editable install's finder
            "HUIFANG_DATABASE_URL": f"sqlite:///{scratch}/bench.db",
            "HUIFANG_LINK_SECRET": "bench-secret-0123456789abcdef",
            "HUIFANG_TELEGRAM_BOT_USERNAME": "huifang_bench_bot",
            "HUIFANG_STORE_NAME": "本店",
            "HUIFANG_CONFIG": f"{scratch}/none.toml",
        }
        customers = Path(scratch) / "customers.csv"
        customers.write_text("姓名,手机,车架号\n王先生,13800138000,LSVAU2180N2183294\n", encoding="utf-8")
        huifang = [sys.executable, "-m", "bot"]
        for setup in (["db", "upgrade"], ["import", "customers", str(customers)]):
            subprocess.run([*huifang, *setup], cwd=source, env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"code: {source}; {args.runs} runs each")
        for name, command in (("huifang --help", ["--help"]), ("huifang link 13800138000", ["link", "13800138000"])):
            best, median, cpu_best, cpu_median = _time([*huifang, *command], source, env, args.runs)
            print(f"{name:<28} wall best {best:.3f} s  median {median:.3f} s   "
                  f"CPU best {cpu_best:.3f} s  median {cpu_median:.3f} s")  # fmt: skip


if __name__ == "__main__":
    main()
