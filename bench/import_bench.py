"""Benchmark the customer import against the issue's goals.

    python bench/import_bench.py [--rows N] [--quick] [--pg-url URL] [--no-pg] [--json PATH]

Goals: a 100,000-row CSV in under 15 s on SQLite, an xlsx of the same size in under 40 s, memory flat
(streamed, not loaded whole); rows per second on SQLite and on PostgreSQL.

Each import runs in a child Python process on a fresh database, so its peak RSS is its own. The child
migrates the schema first (not timed), then times ``import_customers`` alone. A second child re-imports the
same file into the same database (the "nothing changed" case). PostgreSQL runs in a scratch database
``huifang_bench_<pid>`` created beside the one named in ``--pg-url`` and dropped at the end.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
GOALS = {("sqlite", "csv"): 15.0, ("sqlite", "xlsx"): 40.0}  # seconds for 100,000 rows


def load_sample_module() -> ModuleType:
    """examples/make_sample.py, imported from its path (examples/ is not a package)."""
    path = ROOT / "examples" / "make_sample.py"
    spec = importlib.util.spec_from_file_location("huifang_make_sample", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --- the child: one import, measured from inside -------------------------------------------------


def _peak_rss_mb() -> float:
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB here


def child(url: str, file: Path, migrate: bool) -> None:
    """Migrate (untimed), import ``file`` into ``url``, print one JSON line with the figures."""
    from bot.app import build
    from bot.services.importing import import_customers
    from bot.settings import Settings
    from storage.schema import upgrade

    app = build(Settings(database_url=url))
    try:
        if migrate:
            upgrade(app.engine)
        baseline = _peak_rss_mb()
        started, cpu_started = time.perf_counter(), time.process_time()
        summary = import_customers(app.uow, file, app.import_options(None, False), app.clock)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        app.close()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu,
                "baseline_mb": baseline,
                "peak_mb": _peak_rss_mb(),
                "created": summary.created,
                "updated": summary.updated,
                "unchanged": summary.unchanged,
                "rejected": summary.rejected,
                "vehicles_created": summary.vehicles_created,
            }
        )
    )


# --- the parent: files, databases, table --------------------------------------------------------


@dataclass
class Run:
    """One import as the child measured it."""

    backend: str
    fmt: str
    rows: int
    seconds: float
    cpu_seconds: float
    peak_mb: float
    baseline_mb: float
    created: int
    updated: int
    unchanged: int
    rejected: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def run_child(url: str, file: Path, backend: str, fmt: str, rows: int, migrate: bool) -> Run:
    """Run one import in a fresh interpreter; return its figures."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", url, str(file)]
    if not migrate:
        command.append("--no-migrate")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=file.parent)
    if done.returncode != 0:
        lines = "\n".join(line[:300] for line in done.stderr.splitlines()[-40:])
        raise RuntimeError(f"import child failed ({backend}, {fmt}):\n{lines}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(
        backend=backend,
        fmt=fmt,
        rows=rows,
        seconds=figures["seconds"],
        cpu_seconds=figures["cpu_seconds"],
        peak_mb=figures["peak_mb"],
        baseline_mb=figures["baseline_mb"],
        created=figures["created"],
        updated=figures["updated"],
        unchanged=figures["unchanged"],
        rejected=figures["rejected"],
    )


class Postgres:
    """A scratch database beside the one in ``url``; dropped by ``close``."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import create_engine
        from sqlalchemy.engine import make_url

        self._url = make_url(url)
        self._admin = create_engine(self._url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 5})
        self._created: list[str] = []

    def reachable(self) -> str | None:
        """None if we can connect, else the reason."""
        from sqlalchemy import text

        try:
            with self._admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "skip PostgreSQL"
            return str(exc).splitlines()[0]
        return None

    def fresh(self, tag: str) -> str:
        """Create an empty database and return its URL."""
        from sqlalchemy import text

        name = f"huifang_bench_{os.getpid()}_{tag}"
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        self._created.append(name)
        return self._url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        from sqlalchemy import text

        with self._admin.connect() as connection:
            for name in self._created:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self._admin.dispose()


def generate(sample: ModuleType, directory: Path, rows: int, fmt: str) -> Path:
    """Write ``rows`` valid customers as ``fmt``; print how long it took."""
    path = directory / f"customers_{rows}.{fmt}"
    started = time.perf_counter()
    sample.write_customers(path, rows, bad_rows=False)
    size = path.stat().st_size / (1024 * 1024)
    print(f"generated {path.name}: {rows:,} rows, {size:.1f} MB in {time.perf_counter() - started:.1f} s")
    return path


def print_table(first: list[Run], second: list[Run]) -> None:
    """One line per backend and format: the first import, then the re-import of the same file."""
    again = {(r.backend, r.fmt, r.rows): r for r in second}
    header = (
        f"{'backend':<10} {'format':<6} {'rows':>8} {'seconds':>8} {'cpu s':>7} {'rows/s':>7}"
        f" {'peak RSS MB':>11} {'(before)':>8} {'re-import s':>11} {'cpu s':>7} {'rows/s':>7}"
    )
    print(header)
    print("-" * len(header))
    for run in first:
        line = (
            f"{run.backend:<10} {run.fmt:<6} {run.rows:>8,} {run.seconds:>8.1f} {run.cpu_seconds:>7.1f}"
            f" {run.rows_per_second:>7,.0f} {run.peak_mb:>11.0f} {run.baseline_mb:>8.0f}"
        )
        other = again.get((run.backend, run.fmt, run.rows))
        if other is not None:
            line += f" {other.seconds:>11.1f} {other.cpu_seconds:>7.1f} {other.rows_per_second:>7,.0f}"
        print(line)
    print(
        "seconds = wall time of import_customers; cpu s = its process CPU time (the database server's"
        " work is not in it); (before) = peak RSS before the import started."
    )


def check(run: Run, expect_created: bool) -> None:
    """Warn if the import did not do what the benchmark assumes (all new, or all unchanged)."""
    ok = run.rejected == 0 and (
        run.created == run.rows if expect_created else run.unchanged == run.rows and run.updated == 0
    )
    if not ok:
        print(
            f"WARNING {run.backend}/{run.fmt}: created {run.created}, updated {run.updated}, "
            f"unchanged {run.unchanged}, rejected {run.rejected} of {run.rows}",
            file=sys.stderr,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark the customer import (SQLite and PostgreSQL).")
    parser.add_argument("--rows", type=int, default=100_000, help="rows per file (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="5,000 rows, SQLite only: a smoke test")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL, help=f"PostgreSQL (default {DEFAULT_PG_URL})")
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated: csv,xlsx")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--child", nargs=2, metavar=("URL", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--no-migrate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child[0], Path(args.child[1]), not args.no_migrate)
        return 0

    rows = 5_000 if args.quick else args.rows
    small = max(rows // 5, 1)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    sample = load_sample_module()
    first: list[Run] = []
    second: list[Run] = []
    small_runs: list[Run] = []
    postgres: Postgres | None = None
    if not (args.quick or args.no_pg):
        postgres = Postgres(args.pg_url)
        reason = postgres.reachable()
        if reason is not None:
            print(f"PostgreSQL skipped: cannot connect to {args.pg_url}: {reason}")
            postgres = None

    with tempfile.TemporaryDirectory(prefix="huifang_bench_") as tmp:
        directory = Path(tmp)
        files = {fmt: generate(sample, directory, rows, fmt) for fmt in formats}
        small_files = {fmt: generate(sample, directory, small, fmt) for fmt in formats}
        backends = ["sqlite"] + (["postgresql"] if postgres else [])
        try:
            for backend in backends:
                for fmt, path in files.items():
                    tag = f"{fmt}_{rows}"
                    if backend == "sqlite":
                        url = f"sqlite:///{directory / f'bench_{tag}.db'}"
                    else:
                        assert postgres is not None
                        url = postgres.fresh(tag)
                    print(f"importing {backend}/{fmt} ...", flush=True)
                    run = run_child(url, path, backend, fmt, rows, migrate=True)
                    check(run, expect_created=True)
                    first.append(run)
                    print(f"  {run.seconds:.1f} s, {run.rows_per_second:,.0f} rows/s, peak {run.peak_mb:.0f} MB")
                    again = run_child(url, path, backend, fmt, rows, migrate=False)
                    check(again, expect_created=False)
                    second.append(again)
                    print(f"  re-import {again.seconds:.1f} s", flush=True)
            for fmt, path in small_files.items():
                print(f"importing sqlite/{fmt} with {small:,} rows (memory check) ...", flush=True)
                small_url = f"sqlite:///{directory / f'bench_{fmt}_{small}.db'}"
                small_run = run_child(small_url, path, "sqlite", fmt, small, migrate=True)
                check(small_run, expect_created=True)
                small_runs.append(small_run)
        finally:
            if postgres is not None:
                postgres.close()

    print()
    print_table(first, second)
    print()
    for small_run in small_runs:
        big = next((r for r in first if r.backend == "sqlite" and r.fmt == small_run.fmt), None)
        if big is not None:
            print(
                f"memory ({small_run.fmt}, SQLite): peak RSS {small_run.peak_mb:.0f} MB at {small:,} rows vs "
                f"{big.peak_mb:.0f} MB at {rows:,} rows, {big.peak_mb - small_run.peak_mb:+.0f} MB"
                f" for {rows - small:,} more rows"
            )
    scale = rows / 100_000
    for run in first:
        goal = GOALS.get((run.backend, run.fmt))
        if goal is None:
            continue
        target = goal * scale
        verdict = "meets" if run.seconds < target else "MISSES"
        scaled = " (scaled to the row count)" if rows != 100_000 else ""
        print(f"goal {run.backend}/{run.fmt}: {run.seconds:.1f} s {verdict} the {target:.1f} s goal{scaled}")
    if args.json:
        payload = {
            "rows": rows,
            "first": [asdict(r) for r in first],
            "reimport": [asdict(r) for r in second],
            "memory_check": [asdict(r) for r in small_runs],
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
