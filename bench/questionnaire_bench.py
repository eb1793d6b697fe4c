"""How long loading and checking the shipped questionnaires takes (`scripts check` runs in CI and at start-up).

    .venv/bin/python bench/questionnaire_bench.py

Prints, best of N runs in one process: `load_text` of the four shipped files (what start-up and a pinned
version cost), `check_paths` over the directory (`huifang scripts check` without the process start), and the
CPU time of a whole `huifang scripts check` process (median of 5; interpreter and imports included).
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.questionnaires import QUESTIONNAIRES_DIR, check_paths, load_text


def best_ms(run: Callable[[], object], times: int = 30) -> float:
    samples = []
    for _ in range(times):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return min(samples) * 1000


def command_cpu_s() -> float:
    huifang = Path(sys.executable).with_name("huifang")
    samples = []
    for _ in range(5):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run([str(huifang), "scripts", "check"], check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        samples.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(samples)


def main() -> None:
    texts = [(p.read_text(encoding="utf-8"), str(p)) for p in sorted(QUESTIONNAIRES_DIR.glob("*.yaml"))]
    print(f"load_text, {len(texts)} files: {best_ms(lambda: [load_text(t, s) for t, s in texts]):.1f} ms")
    print(f"check_paths (scripts check in process): {best_ms(lambda: check_paths([QUESTIONNAIRES_DIR])):.1f} ms")
    print(f"huifang scripts check, whole process: {command_cpu_s():.2f} s CPU")


if __name__ == "__main__":
    main()
