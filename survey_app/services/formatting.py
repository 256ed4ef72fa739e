"""The one number format of everything staff read — pages, charts, PDF, text in XLSX,
flag details: a module of its own below the services that show figures, so that each
can use it without importing another."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.tables import NUMBER_MARKS, number  # noqa: F401  (the one format)


def cell(value, lang: str = "vi", missing: str = "—") -> str:
    """A table cell of a staff page or file: `missing` for no value (None, NaN, NaT —
    never "nan"), numbers by `number` (as many decimals as the value has, up to three),
    anything else as text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return missing
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | np.integer):
        return number(value, 0, lang)
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return missing
        digits = next((d for d in range(3) if round(value, d) == value), 3)
        return number(value, digits, lang)
    text = str(value)
    return text if text.strip() else missing


def interval(low, high, lang: str = "vi") -> str:
    if any(v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
           for v in (low, high)):
        return "–"
    return f"{number(low, lang=lang)}–{number(high, lang=lang)}"
