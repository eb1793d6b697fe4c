"""Use cases: import the dealership's customer list and staff list from a CSV or xlsx file.

A file is read as a stream and written in batches, one transaction per batch, so 100,000 rows take
seconds and memory stays flat. Bad rows never stop good ones: each goes to a rejects file beside the
input with its row number and the reason in Chinese.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bot.domain.clock import Clock
from bot.domain.customer_import import (
    CUSTOMER_COLUMNS,
    STAFF_COLUMNS,
    CustomerFacts,
    CustomerRow,
    FirstUse,
    HeaderMap,
    ImportSummary,
    LeadEventFacts,
    Problem,
    VehicleFacts,
    file_duplicate,
    lead_events_of,
    map_headers,
    match_vehicle_without_vin,
    merge_customer,
    merge_vehicle,
    parse_customer_row,
    parse_staff_row,
)
from bot.domain.people import Role
from bot.tabular import NotATable, TableReader, TableWriter, create_table, open_table, rejects_path_for
from storage.unit_of_work import SqlUnitOfWork

REJECT_ROW_HEADER = "行号"
REJECT_REASON_HEADER = "拒绝原因"

UnitOfWorkFactory = Callable[[], SqlUnitOfWork]
Progress = Callable[[int, int], None]  # (done, total) in bytes or rows


class ImportFailed(Exception):
    """The whole file cannot be imported (not a table, no required columns, unknown store); message in Chinese."""


@dataclass(frozen=True)
class ImportOptions:
    store_name: str
    timezone: str
    region_code: str = "CN"
    batch_size: int = 2000
    dry_run: bool = False
    # Whether a store of this name may be created if there is none. A typo in --store must not quietly
    # create a second store with a second copy of every customer.
    create_store: bool = False
    # The settings' store name (HUIFANG_STORE_NAME): created without asking while the database has no store
    # at all, so a fresh install's first import works as the README's quick start shows.
    default_store: str | None = None


class _Rejects:
    """The rejects file, created only when the first row is rejected."""

    def __init__(self, source: Path, headers: list[str], encoding: str | None) -> None:
        self.path = rejects_path_for(source)
        self._headers = [*headers, REJECT_ROW_HEADER, REJECT_REASON_HEADER]
        self._encoding = encoding
        self._writer: TableWriter | None = None
        self.count = 0

    def add(self, row_number: int, cells: list[Any], problems: list[Problem]) -> None:
        if self._writer is None:
            self._writer = create_table(self.path, self._headers, self._encoding)
        width = len(self._headers) - 2
        padded = (list(cells) + [None] * width)[:width]
        self._writer.write([*padded, row_number, "；".join(str(p) for p in problems)])
        self.count += 1

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _open(path: Path, columns: tuple[Any, ...]) -> tuple[TableReader, HeaderMap]:
    try:
        table = open_table(path)
    except NotATable as exc:
        raise ImportFailed(str(exc)) from None
    headers = map_headers(table.headers, columns)
    if headers.missing_required:
        raise ImportFailed(f"缺少必需的列：{'、'.join(headers.missing_required)}（第1行应为表头）")
    return table, headers


def _batches(rows: Iterator[tuple[int, list[Any]]], size: int) -> Iterator[list[tuple[int, list[Any]]]]:
    batch: list[tuple[int, list[Any]]] = []
    for item in rows:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class UnknownStore(ImportFailed):
    """No store has this name and creating one was not asked for; the message names the known stores."""


def resolve_store(
    uow: SqlUnitOfWork, name: str, timezone: str, create: bool, clock: Clock, default: str | None = None
) -> int:
    """The id of the store called ``name``. A missing store is created when ``create`` is true, or when it is
    the ``default`` store and the database has no store yet; otherwise UnknownStore names the known ones."""
    store_id = uow.stores.id_by_name(name)
    if store_id is not None:
        return store_id
    known = uow.stores.names()
    if not create and not (name == default and not known):
        listed = f"已有门店：{'、'.join(known)}" if known else "系统中还没有门店"
        raise UnknownStore(f"找不到门店“{name}”（{listed}）；如确要新建该门店，请加 --create-store")
    return uow.stores.add(name, timezone, clock.now())


def _store_id(uow: SqlUnitOfWork, options: ImportOptions, clock: Clock) -> int:
    return resolve_store(uow, options.store_name, options.timezone, options.create_store, clock, options.default_store)


def _check_store(uow_factory: UnitOfWorkFactory, options: ImportOptions, clock: Clock) -> None:
    """Refuse an unknown store before reading a row, so nothing (not even a rejects file) is written."""
    with uow_factory() as uow:
        _store_id(uow, options, clock)  # rolled back: the batch that writes creates it


class _FirstUses:
    """Which accepted row of the file first used each phone and each VIN.

    Kept in a scratch SQLite file (deleted on close), not in a dict, so a 100,000-row file is checked against
    all its earlier rows, across batches, in flat memory; the primary keys make "first" a database fact.
    """

    _CHUNK = 500

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="huifang-import-")
        self._db = sqlite3.connect(f"{self._dir.name}/first_uses.db", isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-4096", "temp_store=FILE"):
            self._db.execute(f"PRAGMA {pragma}")
        for table in ("phone", "vin"):
            self._db.execute(
                f"CREATE TABLE {table} (key TEXT PRIMARY KEY, row_number INTEGER NOT NULL, holder TEXT NOT NULL)"
                " WITHOUT ROWID"
            )

    def find(self, table: str, keys: Iterable[str]) -> dict[str, FirstUse]:
        wanted = sorted(set(keys))
        found: dict[str, FirstUse] = {}
        for start in range(0, len(wanted), self._CHUNK):
            part = wanted[start : start + self._CHUNK]
            marks = ",".join("?" * len(part))
            query = f"SELECT key, row_number, holder FROM {table} WHERE key IN ({marks})"
            for key, row_number, holder in self._db.execute(query, part):
                found[key] = FirstUse(row_number, holder)
        return found

    def record(self, table: str, uses: dict[str, FirstUse]) -> None:
        self._db.execute("BEGIN")
        self._db.executemany(
            f"INSERT OR IGNORE INTO {table} (key, row_number, holder) VALUES (?, ?, ?)",
            ((key, use.row_number, use.holder) for key, use in uses.items()),
        )
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()


def _drop_file_duplicates(
    rows: list[tuple[int, CustomerRow, list[Any]]], first: _FirstUses, rejects: _Rejects
) -> list[tuple[int, CustomerRow]]:
    """The batch's valid rows minus those that collide with an earlier row of the file (those go to rejects)."""
    phones = first.find("phone", (r.phone for _, r, _ in rows))
    vins = first.find("vin", (r.vin for _, r, _ in rows if r.vin))
    new_phones: dict[str, FirstUse] = {}
    new_vins: dict[str, FirstUse] = {}
    kept: list[tuple[int, CustomerRow]] = []
    for row_number, row, cells in rows:
        vin_first = vins.get(row.vin) if row.vin else None
        problem = file_duplicate(row, phones.get(row.phone), vin_first)
        if problem is not None:
            rejects.add(row_number, cells, [problem])
            continue
        kept.append((row_number, row))
        if row.phone not in phones:
            phones[row.phone] = new_phones[row.phone] = FirstUse(row_number, row.name)
        if row.vin and row.vin not in vins:
            vins[row.vin] = new_vins[row.vin] = FirstUse(row_number, row.phone)
    first.record("phone", new_phones)
    first.record("vin", new_vins)
    return kept


_ANALYSE_AFTER = 5000  # rows created before an import refreshes the planner's statistics


def import_customers(
    uow_factory: UnitOfWorkFactory,
    path: Path,
    options: ImportOptions,
    clock: Clock,
    progress: Progress | None = None,
) -> ImportSummary:
    """Upsert customers (by phone within the store), vehicles (by VIN) and lead events from a file."""
    from zoneinfo import ZoneInfo

    _check_store(uow_factory, options, clock)
    table, headers = _open(path, CUSTOMER_COLUMNS)
    today = clock.now().astimezone(ZoneInfo(options.timezone)).date()
    summary = ImportSummary(unknown_columns=headers.unknown, dry_run=options.dry_run)
    rejects = _Rejects(path, table.headers, table.encoding)
    first = _FirstUses()
    staff_ids: dict[str, int] = {}
    analysed = 0
    try:
        for batch in _batches(table.rows, options.batch_size):
            parsed_rows: list[tuple[int, CustomerRow, list[Any]]] = []
            for row_number, cells in batch:
                parsed = parse_customer_row(cells, headers, today, options.region_code)
                if isinstance(parsed, list):
                    rejects.add(row_number, cells, parsed)
                else:
                    parsed_rows.append((row_number, parsed, cells))
            valid = _drop_file_duplicates(parsed_rows, first, rejects)
            with uow_factory() as uow:
                store_id = _store_id(uow, options, clock)
                # Each batch reads what exists, then writes what is missing: two imports into one store at
                # once take turns batch by batch, so neither inserts a customer the other just inserted.
                uow.serialise(f"import:{store_id}")
                _resolve_consultants(uow, store_id, valid, staff_ids, summary, clock)
                _apply_batch(uow, store_id, valid, staff_ids, summary, clock)
                if not options.dry_run:
                    uow.commit()
                    written = summary.created + summary.vehicles_created
                    if written >= 2 * analysed and written >= _ANALYSE_AFTER:
                        # PostgreSQL plans lookups from table statistics; a table that grew from nothing
                        # would otherwise be scanned per batch as if it still held a handful of rows.
                        uow.refresh_statistics()
                        analysed = written
            if progress is not None:
                progress(table.position(), table.total_hint)
        if not options.dry_run and summary.created + summary.vehicles_created >= max(analysed + 1, _ANALYSE_AFTER):
            # A large import changes the tables' shape: the scheduler's next due pass is planned on fresh
            # statistics (SQLite has none otherwise).
            with uow_factory() as uow:
                uow.refresh_statistics()
    except NotATable as exc:
        raise ImportFailed(str(exc)) from None
    finally:
        rejects.close()
        first.close()
    summary.rejected = rejects.count
    summary.rejects_path = str(rejects.path) if rejects.count else None
    return summary


def _resolve_consultants(
    uow: SqlUnitOfWork,
    store_id: int,
    rows: list[tuple[int, CustomerRow]],
    staff_ids: dict[str, int],
    summary: ImportSummary,
    clock: Clock,
) -> None:
    wanted = {r.consultant for _, r in rows if r.consultant and r.consultant not in staff_ids}
    if not wanted:
        return
    for name, member in uow.staff.by_names(store_id, wanted).items():
        staff_ids[name] = member.id
    for name in sorted(wanted - staff_ids.keys()):
        staff_ids[name], created = uow.staff.ensure(store_id, name, Role.SALES_CONSULTANT, clock.now())
        if created:
            summary.new_staff.append(name)


def _apply_batch(
    uow: SqlUnitOfWork,
    store_id: int,
    rows: list[tuple[int, CustomerRow]],
    staff_ids: dict[str, int],
    summary: ImportSummary,
    clock: Clock,
) -> None:
    now = clock.now()
    existing = uow.customers.facts_by_phones(store_id, (r.phone for _, r in rows))
    # Customers, merged row by row so a phone that appears twice in the file is one customer.
    current: dict[str, CustomerFacts] = dict(existing)
    created_phones: set[str] = set()
    changed_phones: set[str] = set()
    row_outcome: list[str] = []
    for _, row in rows:
        owner = staff_ids.get(row.consultant) if row.consultant else None
        before = current.get(row.phone)
        merged, changed = merge_customer(before, row, owner)
        current[row.phone] = merged
        if before is None:
            created_phones.add(row.phone)
            row_outcome.append("created")
        elif changed:
            if row.phone not in created_phones:
                changed_phones.add(row.phone)
            row_outcome.append("updated")
        else:
            row_outcome.append("unchanged")
    new = [current[p] for p in sorted(created_phones)]
    for facts, new_id in zip(new, uow.customers.insert_many(store_id, new, now), strict=True):
        facts.id = new_id
    uow.customers.update_many([current[p] for p in sorted(changed_phones)], now)

    vehicle_changes = _apply_vehicles(uow, rows, current, summary, now)
    event_changes = _apply_lead_events(uow, rows, current, staff_ids, now)
    for index, outcome in enumerate(row_outcome):
        if outcome == "unchanged" and (index in vehicle_changes or index in event_changes):
            outcome = "updated"
        if outcome == "created":
            summary.created += 1
        elif outcome == "updated":
            summary.updated += 1
        else:
            summary.unchanged += 1


def _apply_vehicles(
    uow: SqlUnitOfWork,
    rows: list[tuple[int, CustomerRow]],
    customers: dict[str, CustomerFacts],
    summary: ImportSummary,
    now: Any,
) -> set[int]:
    """Upsert the rows' vehicles; return the indexes of rows whose vehicle changed."""
    by_vin = uow.vehicles.facts_by_vins(r.vin for _, r in rows if r.vin)
    without_vin = [customers[r.phone].id for _, r in rows if r.has_vehicle and not r.vin]
    by_customer = uow.vehicles.facts_by_customers(i for i in without_vin if i is not None)
    to_insert: list[VehicleFacts] = []
    to_update: dict[int, VehicleFacts] = {}
    changed_rows: set[int] = set()
    for index, (_, row) in enumerate(rows):
        if not row.has_vehicle:
            continue
        customer_id = customers[row.phone].id
        if row.vin:
            before = by_vin.get(row.vin)
        else:
            before = match_vehicle_without_vin(by_customer.get(customer_id or 0, []), row)
        merged, changed = merge_vehicle(before, row, customer_id)
        if not changed:
            continue
        changed_rows.add(index)
        if before is None:
            to_insert.append(merged)
            if row.vin:
                by_vin[row.vin] = merged
            else:
                by_customer.setdefault(customer_id or 0, []).append(merged)
        elif before.id is None:
            # Inserted earlier in this batch: the pending insert gets the newer values.
            for field_name, value in merged.values().items():
                setattr(before, field_name, value)
        else:
            to_update[before.id] = merged
            _replace_in_caches(by_vin, by_customer, before, merged)
    uow.vehicles.insert_many(to_insert, now)
    uow.vehicles.update_many(list(to_update.values()), now)
    summary.vehicles_created += len(to_insert)
    summary.vehicles_updated += len(to_update)
    return changed_rows


def _replace_in_caches(
    by_vin: dict[str, VehicleFacts],
    by_customer: dict[int, list[VehicleFacts]],
    before: VehicleFacts,
    after: VehicleFacts,
) -> None:
    if after.vin:
        by_vin[after.vin] = after
    for vehicles in by_customer.values():
        for position, vehicle in enumerate(vehicles):
            if vehicle is before:
                vehicles[position] = after


def _apply_lead_events(
    uow: SqlUnitOfWork,
    rows: list[tuple[int, CustomerRow]],
    customers: dict[str, CustomerFacts],
    staff_ids: dict[str, int],
    now: Any,
) -> set[int]:
    """Record the rows' test drives and defeats; return the indexes of rows that added or changed one."""
    wanted: list[tuple[int, LeadEventFacts]] = []
    for index, (_, row) in enumerate(rows):
        customer_id = customers[row.phone].id
        assert customer_id is not None
        staff_id = staff_ids.get(row.consultant) if row.consultant else None
        wanted.extend((index, event) for event in lead_events_of(row, customer_id, staff_id))
    if not wanted:
        return set()
    stored = uow.lead_events.existing(event.customer_id for _, event in wanted)
    to_insert: dict[tuple[int, str, date], LeadEventFacts] = {}
    to_update: dict[tuple[int, str, date], LeadEventFacts] = {}
    changed_rows: set[int] = set()
    for index, event in wanted:
        key = (event.customer_id, event.kind, event.occurred_on)
        before = stored.get(key)
        if before is None:
            to_insert[key] = event
        else:
            merged = LeadEventFacts(
                event.customer_id,
                event.kind,
                event.occurred_on,
                event.staff_id if event.staff_id is not None else before.staff_id,
                event.stated_reason if event.stated_reason is not None else before.stated_reason,
            )
            if merged == before:
                continue
            if key in to_insert:
                to_insert[key] = merged
            else:
                to_update[key] = merged
            event = merged
        stored[key] = event
        changed_rows.add(index)
    uow.lead_events.insert_many(list(to_insert.values()), now)
    uow.lead_events.update_many(list(to_update.values()))
    return changed_rows


@dataclass
class StaffImportSummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    unknown_columns: tuple[str, ...] = ()
    rejects_path: str | None = None
    dry_run: bool = False

    @property
    def changed_nothing(self) -> bool:
        return self.created == 0 and self.updated == 0


def import_staff(
    uow_factory: UnitOfWorkFactory, path: Path, options: ImportOptions, clock: Clock
) -> StaffImportSummary:
    """Upsert staff members by name within the store."""
    _check_store(uow_factory, options, clock)
    table, headers = _open(path, STAFF_COLUMNS)
    summary = StaffImportSummary(unknown_columns=headers.unknown, dry_run=options.dry_run)
    rejects = _Rejects(path, table.headers, table.encoding)
    try:
        with uow_factory() as uow:
            store_id = _store_id(uow, options, clock)
            uow.serialise(f"import:{store_id}")
            for row_number, cells in table.rows:
                parsed = parse_staff_row(cells, headers, options.region_code)
                if isinstance(parsed, list):
                    rejects.add(row_number, cells, parsed)
                    continue
                existing = uow.staff.by_names(store_id, [parsed.name]).get(parsed.name)
                if existing is None:
                    uow.staff.add(store_id, parsed.name, parsed.role, parsed.phone, parsed.active, clock.now())
                    summary.created += 1
                elif (existing.role, existing.phone, existing.active) == (
                    parsed.role,
                    parsed.phone if parsed.phone is not None else existing.phone,
                    parsed.active,
                ):
                    summary.unchanged += 1
                else:
                    phone = parsed.phone if parsed.phone is not None else existing.phone
                    uow.staff.update(existing.id, parsed.role, phone, parsed.active, clock.now())
                    summary.updated += 1
            if not options.dry_run:
                uow.commit()
    except NotATable as exc:
        raise ImportFailed(str(exc)) from None
    finally:
        rejects.close()
    summary.rejected = rejects.count
    summary.rejects_path = str(rejects.path) if rejects.count else None
    return summary
