"""The story (or a page's slides) as a PowerPoint deck with native, editable charts.

Each chart is a PowerPoint chart built from the slide's chart data (python-pptx), not a
picture, so a presenter can restyle it and its numbers are in the embedded workbook. The
finding is the slide's title; the period, filters and "data as of" its subtitle; the
definitions of its figures are in the notes. A title slide opens the deck, each table follows
its chart as a PowerPoint table, and a closing slide lists every definition.
"""

from __future__ import annotations

import io
import math

import pandas as pd
from pptx import Presentation
from pptx.chart.data import CategoryChartData, XyChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LEGEND_POSITION
from pptx.util import Emu, Inches, Pt

from dashboard.domain.findings import ChartData
from dashboard.services.story import Slide, Story, TableData

#: Native chart type of each chart kind.
CHART_TYPES = {
    "bar": XL_CHART_TYPE.COLUMN_CLUSTERED,
    "barh": XL_CHART_TYPE.BAR_CLUSTERED,
    "line": XL_CHART_TYPE.LINE_MARKERS,
    "xy": XL_CHART_TYPE.XY_SCATTER_LINES_NO_MARKERS,
}

#: Rows of a table shown on a slide (the CSV download has them all).
TABLE_ROWS = 12

_WIDTH, _HEIGHT = Inches(13.333), Inches(7.5)
_TITLE_ONLY = 5  # layout "Title Only" of python-pptx's default template
_TITLE = 0
_GREY = RGBColor(0x59, 0x59, 0x59)


def _text_box(slide, text: str, top, height, size: int, *, grey: bool = False) -> None:
    box = slide.shapes.add_textbox(Inches(0.6), top, _WIDTH - Inches(1.2), height)
    frame = box.text_frame
    frame.word_wrap = True
    frame.text = text
    for paragraph in frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(size)
            if grey:
                run.font.color.rgb = _GREY


def _title(slide, text: str) -> None:
    title = slide.shapes.title
    title.left, title.top, title.width, title.height = (
        Inches(0.6),
        Inches(0.3),
        _WIDTH - Inches(1.2),
        Inches(1.0),
    )
    title.text = text
    for paragraph in title.text_frame.paragraphs:
        for run in paragraph.runs:
            run.font.size = Pt(28)
            run.font.bold = True


def _clean(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def chart_data(chart: ChartData) -> CategoryChartData | XyChartData:
    """python-pptx chart data of ``chart`` (categories and series, or x-y pairs)."""
    if chart.kind == "xy":
        data = XyChartData(number_format=chart.number_format)
        for series in chart.series:
            points = data.add_series(series.name)
            for x, y in zip(series.x or (), series.values, strict=True):
                if _clean(y) is not None:
                    points.add_data_point(x, y)
        return data
    data = CategoryChartData(number_format=chart.number_format)
    data.categories = list(chart.categories)
    for series in chart.series:
        data.add_series(series.name, [_clean(v) for v in series.values])
    return data


def _add_chart(slide, chart: ChartData) -> None:
    frame = slide.shapes.add_chart(
        CHART_TYPES[chart.kind],
        Inches(0.6),
        Inches(1.9),
        _WIDTH - Inches(1.2),
        _HEIGHT - Inches(2.3),
        chart_data(chart),
    )
    native = frame.chart
    native.has_legend = len(chart.series) > 1
    if native.has_legend:
        native.legend.position = XL_LEGEND_POSITION.BOTTOM
        native.legend.include_in_layout = False
    native.font.size = Pt(12)
    value_axis = native.value_axis
    value_axis.has_title = True
    value_axis.axis_title.text_frame.text = chart.y_title
    value_axis.tick_labels.number_format = chart.number_format
    value_axis.tick_labels.number_format_is_linked = False
    category_axis = native.category_axis
    if chart.x_title and chart.kind != "barh":
        category_axis.has_title = True
        category_axis.axis_title.text_frame.text = chart.x_title


def _notes(slide, lines: list[str]) -> None:
    slide.notes_slide.notes_text_frame.text = "\n".join(lines)


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _add_table_slide(deck, table: TableData, subtitle: str, notes: list[str]) -> None:
    slide = deck.slides.add_slide(deck.slide_layouts[_TITLE_ONLY])
    _title(slide, table.title)
    shown = table.shown()
    rows = shown.head(TABLE_ROWS)
    more = len(shown) - len(rows)
    _text_box(
        slide,
        subtitle
        + (f" · first {TABLE_ROWS} of {len(shown):,} rows (all in the CSV)" if more else ""),
        Inches(1.3),
        Inches(0.5),
        14,
        grey=True,
    )
    height = Emu(Inches(0.4) * (len(rows) + 1))
    grid = slide.shapes.add_table(
        len(rows) + 1, len(shown.columns), Inches(0.6), Inches(1.9), _WIDTH - Inches(1.2), height
    ).table
    for column, name in enumerate(shown.columns):
        grid.cell(0, column).text = str(name)
    for row, values in enumerate(rows.itertuples(index=False), start=1):
        for column, value in enumerate(values):
            grid.cell(row, column).text = _cell_text(value)
    for row in grid.rows:
        for cell in row.cells:
            for paragraph in cell.text_frame.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(11)
    _notes(slide, notes)


def _definition_lines(slide: Slide) -> list[str]:
    return [f"{term}: {text}" for term, text in slide.definitions if text]


#: Characters of definitions per column of a closing slide (two columns at 9 pt).
_COLUMN_CHARACTERS = 2000


def _closing_slides(deck, story: Story) -> None:
    """The definitions of every figure, in two columns, on as many slides as they need."""
    lines = [f"{term}: {text}" for term, text in story.definitions if text] or ["No figure."]
    columns: list[list[str]] = [[]]
    for line in lines:
        if columns[-1] and sum(len(x) for x in columns[-1]) + len(line) > _COLUMN_CHARACTERS:
            columns.append([])
        columns[-1].append(line)
    half = (_WIDTH - Inches(1.5)) / 2
    for first in range(0, len(columns), 2):
        slide = deck.slides.add_slide(deck.slide_layouts[_TITLE_ONLY])
        _title(slide, "Definitions" if first == 0 else "Definitions (continued)")
        for number, column in enumerate(columns[first : first + 2]):
            box = slide.shapes.add_textbox(
                Inches(0.6) + number * (half + Inches(0.3)), Inches(1.4), half, Inches(5.8)
            )
            frame = box.text_frame
            frame.word_wrap = True
            frame.text = "\n".join(column)
            for paragraph in frame.paragraphs:
                paragraph.space_after = Pt(4)
                for run in paragraph.runs:
                    run.font.size = Pt(9)
        _notes(slide, [story.scope_text, "Definitions: docs/metrics.md of the dashboard."])


def story_pptx(story: Story) -> bytes:
    """The deck of ``story``: title slide, one slide per chart (and per table), closing slide."""
    deck = Presentation()
    deck.slide_width, deck.slide_height = _WIDTH, _HEIGHT
    opening = deck.slides.add_slide(deck.slide_layouts[_TITLE])
    opening.shapes.title.text = story.title
    opening.placeholders[1].text = (
        f"{story.scope_text}\nMade {story.made_at:%d %b %Y %H:%M} · "
        f"{len(story.slides)} screen{'s' if len(story.slides) != 1 else ''}"
    )
    for item in story.slides:
        slide = deck.slides.add_slide(deck.slide_layouts[_TITLE_ONLY])
        _title(slide, item.finding)
        _text_box(slide, f"{item.name} · {item.subtitle}", Inches(1.3), Inches(0.5), 14, grey=True)
        notes = [f"{item.name} ({item.page} page)", *_definition_lines(item)]
        if item.chart is not None:
            _add_chart(slide, item.chart)
        else:
            _text_box(slide, item.empty or "Nothing to show.", Inches(3), Inches(1), 20)
        _notes(slide, notes)
        for table in item.tables:
            _add_table_slide(deck, table, item.subtitle, notes)
    _closing_slides(deck, story)
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()
