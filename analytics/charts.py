"""Geometry of the analytics charts; the template draws them as inline SVG (no script, no CDN)."""

from django.utils.dates import WEEKDAYS  # {0: "Monday", …}, translated by Django's own catalogue

BAR_WIDTH = 300  # the longest bar, in px
ROW = 22  # one bar's or one heat-map cell's height
CELL = 22  # one heat-map cell's width
LABEL = 92  # room for the weekday names left of the heat map


def bars(rows: list[tuple[str, int]]) -> dict:
    """Horizontal bars for (label, count) rows, the longest ``BAR_WIDTH`` px."""
    peak = max([count for _, count in rows] + [1])
    return {
        "height": ROW * len(rows),
        "bars": [{"label": label, "count": count, "y": i * ROW, "width": round(BAR_WIDTH * count / peak, 1)}
                 for i, (label, count) in enumerate(rows)],
    }


def heat_map(hours: dict) -> dict:
    """The 7×24 busy-hours grid as cells; the darker, the more conversations (relative to the busiest hour)."""
    peak = hours["peak"] or 1
    cells = []
    for row, (_day, counts) in enumerate(hours["grid"]):
        for hour, count in enumerate(counts):
            cells.append({
                "x": LABEL + hour * CELL, "y": 16 + row * CELL, "day": WEEKDAYS[row], "hour": hour, "count": count,
                # A cell with none stays pale; otherwise from 0.2 to 1, so one conversation is visible.
                "opacity": 0.06 if count == 0 else round(0.2 + 0.8 * count / peak, 2),
            })
    return {
        "width": LABEL + 24 * CELL, "height": 16 + 7 * CELL, "cell": CELL - 2, "cells": cells,
        # The reader's language (Django's own weekday names); the CSV keeps the selector's English.
        "days": [{"name": WEEKDAYS[row], "y": 16 + row * CELL + CELL // 2 + 4} for row in range(len(hours["grid"]))],
        "hours": [{"hour": hour, "x": LABEL + hour * CELL + (CELL - 2) // 2} for hour in range(0, 24, 3)],
    }
