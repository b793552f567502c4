"""Small counts hidden in group output (pure: no database, no Flask).

Every table of the group report passes through `suppress` before anything is shown, written or
printed. The rules:

1. Primary: a count from 1 to 4 shows as "≤4" (`SMALL`). Zero is shown: it reveals no child.
2. Derived values: a percentage, ratio, mean, median, minimum or maximum computed from a hidden
   count is hidden too (`HIDDEN`), since it would give the count (or the child's value) back.
3. Secondary: where counts add up to a total that is shown (a column over the table's total row,
   or columns within a row that add up to another column), a group with exactly one hidden member
   would give that member back as total minus the rest; the smallest count still shown in that
   group is hidden as well. This is repeated until no group has exactly one hidden member.

A table says which of its columns are counts, which values derive from which counts, and which
counts add up, in `Column` and `Table` (see kidrate.report); this module only reads that.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any


class Hidden(Enum):
    SMALL = "≤4"  # a count from 1 to 4
    HIDDEN = "×"  # hidden so that a small count cannot be worked out from it

    def __str__(self) -> str:
        return self.value


SMALL_MAX = 4


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    # "text": a row's label; "count": a number of cases or problems; anything else is derived
    # ("percent", "ratio", "mean", "median", "min", "max", "days", "change").
    kind: str = "count"
    # The counts (column keys in the same row) a derived value is computed from.
    basis: tuple[str, ...] = ()
    # A percentage of the table's total row (its first basis column): hidden when that is hidden.
    of_total: bool = False


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    values: tuple[Any, ...]  # aligned with the table's columns; the first is usually the label
    total: bool = False


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    note: str = ""
    # Count columns whose non-total rows add up to the total row.
    column_sums: tuple[str, ...] = ()
    # (parts, whole): in every row, the parts add up to the whole.
    row_sums: tuple[tuple[tuple[str, ...], str], ...] = ()
    suppressed: bool = False

    def column_index(self, key: str) -> int:
        return next(i for i, c in enumerate(self.columns) if c.key == key)

    def total_row(self) -> Row | None:
        return next((r for r in self.rows if r.total), None)


def is_small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= SMALL_MAX


def _groups(table: Table) -> Iterable[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """(member cells, total cell) for every additive relation, as (row index, column index)."""
    total_index = next((i for i, r in enumerate(table.rows) if r.total), None)
    if total_index is not None:
        for key in table.column_sums:
            c = table.column_index(key)
            members = [(i, c) for i, r in enumerate(table.rows) if not r.total]
            yield members, (total_index, c)
    for parts, whole in table.row_sums:
        part_indices = [table.column_index(k) for k in parts]
        whole_index = table.column_index(whole)
        for i in range(len(table.rows)):
            yield [(i, c) for c in part_indices], (i, whole_index)


def hidden_cells(table: Table) -> dict[tuple[int, int], Hidden]:
    """Which count cells are hidden, and why: primary first, then secondary until stable."""
    hidden: dict[tuple[int, int], Hidden] = {}
    for i, row in enumerate(table.rows):
        for c, column in enumerate(table.columns):
            if column.kind == "count" and is_small(row.values[c]):
                hidden[(i, c)] = Hidden.SMALL
    groups = list(_groups(table))
    changed = True
    while changed:
        changed = False
        for members, total in groups:
            inside = [cell for cell in members if cell in hidden]
            if len(inside) != 1 or total in hidden:
                continue
            shown = [cell for cell in members if cell not in hidden]
            if not shown:
                continue
            # The smallest count still shown (the first in the table when equal) is hidden as well.
            smallest = min(shown, key=lambda cell: (table.rows[cell[0]].values[cell[1]] or 0, cell))
            hidden[smallest] = Hidden.HIDDEN
            changed = True
    return hidden


def suppress(table: Table) -> Table:
    """The table as it may be shown: hidden counts replaced by a `Hidden` marker, and every value
    derived from a hidden count replaced by `Hidden.HIDDEN`."""
    if table.suppressed:
        return table
    hidden = hidden_cells(table)
    total_index = next((i for i, r in enumerate(table.rows) if r.total), None)
    rows = []
    for i, row in enumerate(table.rows):
        values = list(row.values)
        for c, column in enumerate(table.columns):
            if (i, c) in hidden:
                values[c] = hidden[(i, c)]
            elif column.kind not in ("text", "count"):
                basis = [table.column_index(k) for k in column.basis]
                gone = any((i, b) in hidden for b in basis)
                if column.of_total and basis and total_index is not None:
                    gone = gone or (total_index, basis[0]) in hidden
                if gone:
                    values[c] = Hidden.HIDDEN
        rows.append(replace(row, values=tuple(values)))
    return replace(table, rows=tuple(rows), suppressed=True)


def format_value(value: Any, kind: str = "count") -> str:
    """A cell as text, the same in every output (HTML, CSV, XLSX, the command line)."""
    if isinstance(value, Hidden):
        return value.value
    if value is None:
        return "–"
    if kind in ("percent", "ratio"):
        return f"{round(value * 100)} %"
    if isinstance(value, float):
        text = f"{value:.1f}"
        return text[:-2] if text.endswith(".0") else text
    if kind == "change" and isinstance(value, int) and value > 0:
        return f"+{value}"
    return str(value)
