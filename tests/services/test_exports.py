"""The one CSV writer: readable headers, ISO dates, and no formula reaches a spreadsheet."""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd

from dashboard.services.exports import csv_bytes


def rows(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_formula_cells_are_neutralised_but_numbers_stay_numbers():
    frame = pd.DataFrame(
        {
            "name": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\tcmd", "\rcmd", "Ann"],
            "profit": [-12.5, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    table = rows(csv_bytes(frame))
    assert [row[0] for row in table[1:]] == [
        '\'=HYPERLINK("x")',
        "'+1",
        "'-2",
        "'@SUM(A1)",
        "'\tcmd",
        "'\rcmd",
        "Ann",
    ]
    assert table[1][1] == "-12.5"  # a negative number is not text: unchanged


def test_headers_dates_and_float_format():
    frame = pd.DataFrame(
        {"customer_id": [7], "acquired_at": [pd.Timestamp(date(2024, 2, 1))], "revenue": [1 / 3]}
    )
    table = rows(csv_bytes(frame, {"customer_id": "Customer ID"}, float_format="%.2f"))
    assert table == [["Customer ID", "acquired_at", "revenue"], ["7", "2024-02-01", "0.33"]]


def test_the_app_offers_no_csv_download_that_bypasses_the_neutralising_writer():
    # Streamlit's own table download would write cells such as "=HYPERLINK(...)" as they are.
    import tomllib
    from pathlib import Path

    config = tomllib.loads(
        (Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text()
    )
    assert config["client"]["disableDataExport"] is True
