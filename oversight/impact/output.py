"""A table as CSV and as an SVG bar chart. The chart's axis is the one the admin pages' chart
uses (cityid/chart.py)."""

from __future__ import annotations

import csv
import io
from xml.sax.saxutils import escape, quoteattr

from cityid.chart import axis_for
from oversight.impact.tables import ImpactCell, ImpactRow, ImpactTable


def _spreadsheet_safe(text: str) -> str:
    """District names come from a file: never let a spreadsheet read one as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


def table_csv(table: ImpactTable) -> str:
    """One row per month; a withheld cell reads "suppressed", never a number."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_spreadsheet_safe(h) for h in ("month", *table.columns,
                                                    *filter(None, [table.total_label]))])
    for row in table.rows:
        cells = [*row.cells, *filter(None, [row.total])]
        writer.writerow([row.month, *("suppressed" if c.suppressed else str(c.value)
                                      for c in cells)])
    return out.getvalue()


PALETTE = ("#1f6fb2", "#e07b39", "#3a9d5d", "#c23b52", "#7b5ea7", "#8c6d31", "#2a9d8f",
           "#d4a017", "#5d6d7e", "#b5651d")
WITHHELD_FILL = "#cfcfcf"
SLOT, LEFT, TOP, PLOT, KEY_WIDTH = 64, 64, 48, 240, 180


def table_svg(table: ImpactTable) -> str:
    """Bars over months, on a whole-number axis with a gridline at each tick. A stacked chart
    draws one bar per month, its height the month's total, made of the cells shown plus one grey
    part for the withheld ones together (the total less the cells shown, which a reader can work
    out anyway). A grouped chart draws one bar per column. Nothing withheld is drawn at its own
    size."""
    stacked = table.chart == "stacked"
    visible = [c.value for row in table.rows for c in ([row.total] if stacked else row.cells)
               if c is not None and c.value is not None]
    axis = axis_for(max(visible, default=0))
    scale = axis.length(1, PLOT)
    base = TOP + PLOT
    width = max(LEFT + SLOT * len(table.rows) + 24, LEFT + 3 * KEY_WIDTH)
    legend_rows = (len(table.columns) + 1 + 2) // 3
    height = base + 44 + 18 * legend_rows
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" font-family="sans-serif" font-size="11">',
           f"<title>{escape(table.title)}</title>",
           f'<text x="{LEFT}" y="20" font-size="14">{escape(table.title)}</text>',
           f'<line x1="{LEFT - 4}" y1="{base}" x2="{width - 16}" y2="{base}" stroke="#333"/>']
    for value in axis.ticks:
        y = base - axis.length(value, PLOT)
        if value:
            out.append(f'<line class="tick" x1="{LEFT - 4}" y1="{y:.1f}" x2="{width - 16}" '
                       f'y2="{y:.1f}" stroke="#8a8a8a" stroke-width="0.5"/>')
        out.append(f'<text x="{LEFT - 8}" y="{min(y + 4, base):.1f}" '
                   f'text-anchor="end">{value}</text>')
    for i, row in enumerate(table.rows):
        x = LEFT + i * SLOT + 8
        out.append(f'<g class="month" data-month="{row.month}">')
        if stacked and row.total is not None:
            out += _stacked_bar(row, x, base, scale)
        else:
            step = (SLOT - 16) / max(len(row.cells), 1)
            for j, cell in enumerate(row.cells):
                out.append(_rect("bar", x + j * step, base, step - 1, cell.value, scale,
                                 PALETTE[j % len(PALETTE)],
                                 f"{row.month} {table.columns[j]}: {_says(cell)}"))
        out.append(f'<text x="{x + (SLOT - 16) / 2:.1f}" y="{base + 16}" '
                   f'text-anchor="middle">{row.month}</text></g>')
    keys = [(PALETTE[j % len(PALETTE)], name) for j, name in enumerate(table.columns)]
    for j, (fill, name) in enumerate([*keys, (WITHHELD_FILL, "suppressed")]):
        x, y = LEFT + (j % 3) * KEY_WIDTH, base + 34 + (j // 3) * 18
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{fill}"/>'
                   f'<text x="{x + 14}" y="{y}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _says(cell: ImpactCell) -> str:
    return "suppressed" if cell.value is None else str(cell.value)


def _rect(kind: str, x: float, base: float, width: float, value: int | None, scale: float,
          fill: str, label: str, bottom: float = 0.0, attrs: str = "") -> str:
    h = (value or 0) * scale
    return (f'<rect class="{kind}" x="{x:.1f}" y="{base - bottom - h:.1f}" width="{width:.1f}" '
            f'height="{h:.1f}" fill="{fill}"{attrs}><title>{escape(label)}</title></rect>')


def _stacked_bar(row: ImpactRow, x: float, base: float, scale: float) -> list[str]:
    assert row.total is not None
    width = SLOT - 16
    parts, bottom = [], 0.0
    for j, cell in enumerate(row.cells):
        if cell.value:
            parts.append(_rect("segment", x, base, width, cell.value, scale,
                               PALETTE[j % len(PALETTE)], str(cell.value), bottom))
            bottom += cell.value * scale
    if row.total.value is not None:
        rest = row.total.value - sum(c.value or 0 for c in row.cells)
        if rest:
            parts.append(_rect("segment withheld", x, base, width, rest, scale, WITHHELD_FILL,
                               "suppressed", bottom))
    return [*parts, _rect("bar", x, base, width, row.total.value, scale, "none",
                          f"{row.month} total: {_says(row.total)}",
                          attrs=f' stroke="#333" data-total={quoteattr(_says(row.total))}')]
