"""The story (or a page's slides) as a PDF: a title page, one page per chart, definitions.

Drawn with Matplotlib's PDF backend, pure Python wheels that ``pip install -e .`` brings on a
fresh machine (no browser engine; docs/decisions.md). Each page has the same texts as the
PowerPoint slide: the finding as its title, period, filters and "data as of" beneath it, the
chart drawn from the same chart data, and the definitions of its figures at the foot.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib

matplotlib.use("Agg")  # no display: the server and cron have none

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.backends.backend_pdf import PdfPages  # noqa: E402

from dashboard.charts.theme import SEQUENCE  # noqa: E402
from dashboard.domain.findings import ChartData  # noqa: E402
from dashboard.services.story import Slide, Story  # noqa: E402

#: A4 landscape, inches.
PAGE = (11.69, 8.27)

# Type 42 (TrueType) fonts keep the text extractable by PDF readers and searchable.
_STYLE = {"pdf.fonttype": 42, "font.family": "DejaVu Sans", "font.size": 10}


def _draw(ax, chart: ChartData) -> None:
    count = max(len(chart.series), 1)
    positions = range(len(chart.categories))
    width = 0.8 / count
    for number, series in enumerate(chart.series):
        colour = SEQUENCE[number % len(SEQUENCE)]
        values = [float("nan") if v is None else v for v in series.values]
        if chart.kind == "bar":
            offsets = [p - 0.4 + width * (number + 0.5) for p in positions]
            ax.bar(offsets, values, width, label=series.name, color=colour)
        elif chart.kind == "barh":
            offsets = [p - 0.4 + width * (number + 0.5) for p in positions]
            ax.barh(offsets, values, width, label=series.name, color=colour)
        elif chart.kind == "line":
            ax.plot(list(positions), values, marker="o", label=series.name, color=colour)
        else:
            ax.plot(list(series.x or ()), values, label=series.name, color=colour)
    if chart.kind in ("bar", "line"):
        ax.set_xticks(list(positions))
        labels = list(chart.categories)
        step = max(1, len(labels) // 24)
        ax.set_xticklabels(
            [label if i % step == 0 else "" for i, label in enumerate(labels)],
            rotation=30 if len(labels) > 6 else 0,
            ha="right" if len(labels) > 6 else "center",
        )
        ax.set_xlabel(chart.x_title)
        ax.set_ylabel(chart.y_title)
    elif chart.kind == "barh":
        ax.set_yticks(list(positions))
        ax.set_yticklabels(list(chart.categories))
        ax.invert_yaxis()
        ax.set_xlabel(chart.y_title)
        ax.axvline(0, color="#666", linewidth=0.8)
    else:
        ax.set_xlabel(chart.x_title)
        ax.set_ylabel(chart.y_title)
    ax.grid(True, color="#e5e5e5", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    if len(chart.series) > 1:
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(count, 4), frameon=False
        )


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width)) or text


def _chart_page(pdf: PdfPages, slide: Slide) -> None:
    fig = plt.figure(figsize=PAGE)
    fig.text(0.05, 0.94, _wrap(slide.finding, 80), fontsize=18, weight="bold", va="top")
    fig.text(
        0.05,
        0.855,
        _wrap(f"{slide.name} · {slide.subtitle}", 140),
        fontsize=10,
        color="#555",
        va="top",
    )
    if slide.chart is not None:
        ax = fig.add_axes((0.09, 0.3, 0.86, 0.5))
        _draw(ax, slide.chart)
    else:
        fig.text(0.05, 0.6, slide.empty or "Nothing to show.", fontsize=14)
    notes = "  ".join(f"{term}: {text}" for term, text in slide.definitions if text)
    fig.text(0.05, 0.13, _wrap(notes, 190), fontsize=7, color="#333", va="top")
    pdf.savefig(fig)
    plt.close(fig)


def _text_page(pdf: PdfPages, title: str, lines: list[str], size: int = 10) -> None:
    fig = plt.figure(figsize=PAGE)
    fig.text(0.05, 0.94, title, fontsize=22, weight="bold", va="top")
    body = "\n".join(_wrap(line, 150) for line in lines)
    fig.text(0.05, 0.85, body, fontsize=size, va="top", linespacing=1.5)
    pdf.savefig(fig)
    plt.close(fig)


def story_pdf(story: Story) -> bytes:
    """The PDF of ``story``: a title page, a page per slide, a closing page of definitions."""
    buffer = io.BytesIO()
    with plt.rc_context(_STYLE), PdfPages(buffer, metadata={"Title": story.title}) as pdf:
        _text_page(
            pdf,
            story.title,
            [
                story.scope_text,
                f"Made {story.made_at:%d %b %Y %H:%M} · {len(story.slides)} screens",
                "",
                *[f"{n}. {s.finding}" for n, s in enumerate(story.slides, 1)],
            ],
            size=12,
        )
        for slide in story.slides:
            _chart_page(pdf, slide)
        _text_page(
            pdf,
            "Definitions",
            [f"{term}: {text}" for term, text in story.definitions if text],
            size=8,
        )
    return buffer.getvalue()
