"""The story's exports, opened back: the deck (python-pptx), the PDF (pypdf), the CSV files.

On the tiny store (tests/fixtures.py), DuckDB and PostgreSQL: the deck's native chart series
equal the view's figures, its titles are the findings, the PDF's pages say the same texts.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pandas as pd
import pytest
from pptx import Presentation
from pptx.enum.chart import XL_CHART_TYPE
from pypdf import PdfReader

from dashboard.domain import findings, value
from dashboard.scope import Scope
from dashboard.services import exports, exports_pdf, exports_pptx, story
from dashboard.services.views import customer_value, overview
from dashboard.storage import queries

SCOPE = Scope(start=date(2024, 4, 1), end=date(2024, 6, 30))


def inputs_of(engine) -> story.StoryInputs:
    bounds = queries.data_bounds(engine)
    return story.StoryInputs(
        bounds.regions, bounds.channels, bounds.first_order, bounds.last_order, "region"
    )


def test_whale_finding_is_worked_out_from_the_curve():
    # Profits 300, 100, -50, -150: total 200; 20% of 4 customers = 0.8 of the first (300),
    # so the top 20% earn 240 = 120% of profit.
    whale = value.whale_curve(pd.Series([100.0, -150.0, 300.0, -50.0]))
    assert whale.top_20_share == pytest.approx(1.2)
    assert findings.whale_finding(whale.top_20_share, whale.total_profit) == (
        "The most profitable 20% of customers earn 120% of profit"
    )
    assert findings.whale_finding(None, -20.0).startswith("Total profit is -20")


def test_payback_finding_names_fastest_and_unpaid():
    table = pd.DataFrame(
        {"acquisition_channel": ["direct", "partner", "social"], "payback_month": [3.0, 0.0, None]}
    )
    assert findings.payback_finding(table, "acquisition_channel") == (
        "Partner customers pay back their acquisition cost in month 0; social has not yet"
    )


def test_deck_and_pdf_read_back_with_the_views_figures(tiny_engine):
    inputs = inputs_of(tiny_engine)
    slides = story.collect(tiny_engine, SCOPE, story.DEFAULT_STORY, inputs)
    deck = story.make_story(slides, SCOPE, inputs)
    presentation = Presentation(io.BytesIO(exports_pptx.story_pptx(deck)))

    shown = list(presentation.slides)
    closing = [s for s in shown if s.shapes.title.text.startswith("Definitions")]
    assert closing and closing[0].shapes.title.text == "Definitions"
    assert len(shown) == 1 + sum(1 + len(s.tables) for s in slides) + len(closing)
    assert shown[0].shapes.title.text == "Customer portfolio"
    assert shown[-1] is closing[-1]
    closing_text = " ".join(
        shape.text_frame.text for page in closing for shape in page.shapes if shape.has_text_frame
    )
    assert "Whale curve: Cumulative profit of customers ranked" in closing_text

    chart_slides = {}
    position = 1
    for slide in slides:
        chart_slides[slide.key] = shown[position]
        position += 1 + len(slide.tables)
    for slide in slides:
        pptx_slide = chart_slides[slide.key]
        assert pptx_slide.shapes.title.text == slide.finding
        texts = [s.text_frame.text for s in pptx_slide.shapes if s.has_text_frame]
        assert any("data as of 15 Jul 2024" in t for t in texts)  # the last order
        notes = pptx_slide.notes_slide.notes_text_frame.text
        for term, _ in slide.definitions:
            assert term in notes

    # Headline: native clustered columns, series = the view's monthly revenue and margin.
    monthly = overview.view(tiny_engine, SCOPE).monthly
    headline = next(s for s in chart_slides["headline"].shapes if s.has_chart).chart
    assert headline.chart_type == XL_CHART_TYPE.COLUMN_CLUSTERED
    assert list(headline.plots[0].categories) == ["Apr 2024", "May 2024", "Jun 2024"]
    by_name = {s.name: list(s.values) for s in headline.plots[0].series}
    assert by_name["Revenue"] == pytest.approx(list(monthly["revenue"]))
    assert by_name["Gross margin"] == pytest.approx(list(monthly["gross_margin"]))
    assert sum(by_name["Revenue"]) == pytest.approx(850.0)  # hand-computed, tests/app

    # Whale curve: an x-y line whose points are the view's curve, % of total profit.
    view = customer_value.view(tiny_engine, SCOPE, inputs.regions, inputs.channels)
    whale = view.profit["to_date"].whale
    chart = next(s for s in chart_slides["whale"].shapes if s.has_chart).chart
    assert chart.chart_type == XL_CHART_TYPE.XY_SCATTER_LINES_NO_MARKERS
    assert list(chart.series[0].values) == pytest.approx(list(100 * whale.points["profit_share"]))
    assert chart_slides["whale"].shapes.title.text == (
        f"The most profitable 20% of customers earn {100 * whale.top_20_share:.0f}% of profit"
    )

    # A table slide is a PowerPoint table with the view's rows.
    table_slide = shown[2]
    grid = next(s for s in table_slide.shapes if s.has_table).table
    assert grid.cell(0, 0).text == "Figure"
    assert grid.cell(3, 0).text == "Revenue" and grid.cell(3, 1).text == "850"

    reader = PdfReader(io.BytesIO(exports_pdf.story_pdf(deck)))
    assert len(reader.pages) == len(slides) + 2
    for number, slide in enumerate(slides, 1):
        text = " ".join(reader.pages[number].extract_text().split())
        assert " ".join(slide.finding.split()[:6]) in text
        assert "data as of 15 Jul 2024" in text
    assert "Definitions" in reader.pages[-1].extract_text()


def test_csv_of_a_slide_table_neutralises_formulas_and_names_the_file():
    table = story.TableData(
        "segment_worth",
        "What each segment is worth",
        pd.DataFrame(
            {"label": ['=HYPERLINK("http://x")', "@SUM(A1)", "Loyal"], "profit": [-5.0, 1.0, 2.0]}
        ),
        {"label": "Segment", "profit": "Profit"},
    )
    rows = list(csv.reader(io.StringIO(exports.csv_bytes(table.shown()).decode(), newline="")))
    assert rows[0] == ["Segment", "Profit"]
    assert [r[0] for r in rows[1:]] == ['\'=HYPERLINK("http://x")', "'@SUM(A1)", "Loyal"]
    assert rows[1][1] == "-5.0"
    scope = Scope(start=date(2024, 4, 1), end=date(2024, 6, 30), regions=("North",))
    assert story.file_name("segments_segment_worth", scope, "csv", date(2026, 12, 2)) == (
        "segments_segment_worth_2024-04-01_2024-06-30_north_2026-12-02.csv"
    )


def test_screens_of_a_link_are_parsed_in_order():
    assert story.parse_screens(["payback", "whale,nonsense", "payback"]) == ("payback", "whale")
    assert story.parse_screens(["Value curves", "acquisition payback"]) == (
        "value_curves",
        "payback",
    )


def test_png_and_svg_of_a_chart_or_a_clear_message(monkeypatch):
    from dashboard.charts.findings import build_finding_chart
    from dashboard.services import exports_images

    chart = findings.ChartData(
        "bar",
        ("North", "South"),
        (findings.Series("Revenue", (450.0, 400.0)),),
        "Region",
        "Revenue",
    )
    fig = build_finding_chart(chart, title="North earns most", subtitle="data as of 15 Jul 2024")
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    with pytest.raises(exports_images.ExportUnavailable, match="apt-get install chromium"):
        exports_images.chart_image(fig, "png")
    monkeypatch.delenv("BROWSER_PATH")
    if exports_images.browser_path() is None:
        pytest.skip("no Chromium on this machine: the message above is what users get")
    assert exports_images.chart_image(fig, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    svg = exports_images.chart_image(fig, "svg").decode()
    assert "North earns most" in svg and "data as of 15 Jul 2024" in svg


def test_findings_of_the_pages_other_charts():
    reasons = pd.DataFrame(
        {"loss_reason": ["price", "timing"], "opportunities": [3, 7], "share": [0.3, 0.7]}
    )
    assert findings.loss_reason_finding(reasons) == "Top loss reason: timing, 70% of lost deals"
    split = pd.DataFrame(
        {"region": ["North", "South"], "customers": [30, 70], "equity_share": [0.6, 0.4]}
    )
    assert findings.equity_finding(split, "region", "Region") == (
        "Region North holds 60% of customer equity with 30% of the customers"
    )
    assert findings.migration_finding(71.4, "30 Jun", "30 Sep") == (
        "71% of customers stayed in their segment from 30 Jun to 30 Sep"
    )
