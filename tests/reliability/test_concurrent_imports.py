"""Three staff members import the same customer list into one store at the same moment (three processes):
every import succeeds, and each customer and each consultant the list names exists once."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from bot.app import Container
from examples.make_sample import write_customers
from storage.models import Customer, Staff

STORE = "惠州江铃4S店"


async def _import(database_url: str, path: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUIFANG_")}
    env.update({"HUIFANG_DATABASE_URL": database_url, "HUIFANG_STORE_NAME": STORE})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "import", "customers", str(path), env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    return process.returncode or 0, stderr.decode()


async def test_three_imports_of_one_list_at_once_all_succeed_and_create_each_customer_and_consultant_once(
    app: Container, database_url: str, tmp_path: Path
) -> None:
    with app.uow() as uow:  # the store exists; its consultants come from the list itself
        uow.stores.add(STORE, "Asia/Shanghai", app.clock.now())
        uow.commit()
    listing = tmp_path / "customers.csv"
    write_customers(listing, 400, seed=7, bad_rows=False)

    results = await asyncio.gather(*(_import(database_url, listing) for _ in range(3)))

    assert [code for code, _ in results] == [0, 0, 0], [err.strip()[-300:] for _, err in results]
    assert all(err.strip() == "" for _, err in results)
    with app.uow() as uow:
        customers = uow.session.scalar(select(func.count()).select_from(Customer))
        phones = uow.session.scalar(select(func.count(func.distinct(Customer.phone))))
        staff = list(uow.session.scalars(select(Staff.name)))
    assert customers == phones and customers is not None and customers > 300
    assert len(staff) == len(set(staff)) and staff
