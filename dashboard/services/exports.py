"""Exports of what a page shows: one CSV writer for every downloadable table.

Cells that a spreadsheet would read as a formula (text starting with ``=``, ``+``, ``-``, ``@``,
a tab or a carriage return) are prefixed with ``'``, as OWASP advises against CSV injection:
customer names and other text come from the store and may hold anything. Numbers stay numbers.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

#: First characters that make a spreadsheet cell a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _neutralise(value: object) -> object:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_bytes(
    frame: pd.DataFrame,
    headers: Mapping[str, str] | None = None,
    *,
    float_format: str | None = None,
) -> bytes:
    """``frame`` as UTF-8 CSV for a download: dates as ``YYYY-MM-DD``, no index, CRLF rows.

    Parameters
    ----------
    headers:
        Column name -> readable header (columns not named keep their name).
    float_format:
        printf-style format of floating-point cells (e.g. ``"%.2f"`` for money); default full
        precision.
    """
    shown = frame.rename(columns=dict(headers or {}))
    text_columns = [
        c for c in shown.columns if shown[c].dtype == object or shown[c].dtype == "string"
    ]
    if text_columns:
        shown = shown.copy()
        for column in text_columns:
            shown[column] = shown[column].map(_neutralise)
    # RFC 4180 line ends, so a carriage return inside a cell is quoted rather than ending a row.
    text = shown.to_csv(
        index=False, date_format="%Y-%m-%d", float_format=float_format, lineterminator="\r\n"
    )
    return text.encode("utf-8")
