"""The call sheet (拨打名单) for teams that dial from another system: one module per concept.

``columns`` (what export and import share: columns, 拨打结果 values, cell text), ``export`` (write the day's
sheet), ``reading`` (read a filled sheet: columns, dial times, the checks of a row that need no database),
``import_`` (record each row through the call screen's use cases). Chinese texts:
``scripts_zh/calls/labels.yaml``. The format is described in ``docs/phone.md``.
"""

from bot.services.call_sheet.columns import CallImportFailed, CallImportSummary
from bot.services.call_sheet.export import call_day, export_calls
from bot.services.call_sheet.import_ import import_calls
from bot.services.call_sheet.reading import SheetRow, parse_dial_time

__all__ = [
    "CallImportFailed",
    "CallImportSummary",
    "SheetRow",
    "call_day",
    "export_calls",
    "import_calls",
    "parse_dial_time",
]
