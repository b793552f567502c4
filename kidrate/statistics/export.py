"""The group report as text, CSV and XLSX (pure: takes a built, already suppressed Report).

Every cell goes through `suppression.format_value`, so "≤4" and the hidden marker read the same in
every output. Tables that were not suppressed are suppressed here before anything is written.
"""

from __future__ import annotations

import csv
import io
import re

from kidrate.statistics.report import Report
from kidrate.statistics.suppression import Hidden, Table, format_value, suppress

SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def table_cells(table: Table) -> list[list[str]]:
    """Header and rows of a table as text, suppressed."""
    table = suppress(table)
    lines = [[c.label for c in table.columns]]
    for row in table.rows:
        lines.append([format_value(v, c.kind) if c.kind != "text" else str(v)
                      for c, v in zip(table.columns, row.values, strict=True)])
    return lines


def report_csv(report: Report) -> str:
    """One CSV: per table a title row, a header row and its rows; a blank line between tables."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for i, table in enumerate(report.tables):
        if i:
            writer.writerow([])
        writer.writerow([table.title])
        writer.writerows(_csv_safe(line) for line in table_cells(table))
        if table.note:
            writer.writerow([table.note])
    return out.getvalue()


def _csv_safe(line: list[str]) -> list[str]:
    # A spreadsheet would run a cell starting with = + - @ as a formula; our "−3" style changes start
    # with a minus, so only text cells are guarded (labels never start so; this is belt and braces).
    return [("'" + cell) if cell[:1] in ("=", "@") else cell for cell in line]


def _number(cell: str, value: object) -> object:
    """Numbers stay numbers in the spreadsheet where the value is shown as it is."""
    if isinstance(value, Hidden) or value is None or isinstance(value, str):
        return cell
    if isinstance(value, bool):
        return cell
    if isinstance(value, int) and cell.lstrip("+-") == str(abs(value)):
        return value
    return cell


def report_xlsx(report: Report) -> bytes:
    """One sheet per table: title, header, rows, note."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    used: set[str] = set()
    for n, table in enumerate(report.tables, start=1):
        name = SHEET_NAME_BAD.sub(" ", table.title)[:28].strip() or f"Table {n}"
        if name in used:
            name = f"{name[:25]} {n}"
        used.add(name)
        sheet = book.create_sheet(name)
        suppressed = suppress(table)
        cells = table_cells(suppressed)
        sheet.append([table.title])
        sheet["A1"].font = Font(bold=True)
        sheet.append(cells[0])
        for row, text_row in zip(suppressed.rows, cells[1:], strict=True):
            sheet.append([_number(cell, value) if col.kind == "count" else cell
                          for col, cell, value in zip(suppressed.columns, text_row, row.values, strict=True)])
        if table.note:
            sheet.append([])
            sheet.append([table.note])
        sheet.column_dimensions["A"].width = 48
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_text(report: Report) -> str:
    """The tables as plain text for the command line, columns aligned."""
    blocks = []
    for table in report.tables:
        cells = table_cells(table)
        widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
        lines = [table.title, "=" * len(table.title)]
        for k, line in enumerate(cells):
            lines.append("  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
                                   for i, cell in enumerate(line)).rstrip())
            if k == 0:
                lines.append("  ".join("-" * w for w in widths))
        if table.note:
            lines.append(table.note)
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
