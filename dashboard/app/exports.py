"""Download buttons for a page's slides and the story: PowerPoint, PDF, CSV, PNG and SVG.

Pages only call :func:`export_buttons`; what is rendered comes from the slides
(``dashboard.services.story``), built from the view results the page itself shows. The files
are made when a button is clicked (a callable ``data``), so a page view renders nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import streamlit as st

from dashboard.app.context import PageContext, load
from dashboard.charts.findings import build_finding_chart, finding_title
from dashboard.services import exports, exports_images, exports_pdf, exports_pptx, story
from dashboard.services.views import value_curves

PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def story_inputs(ctx: PageContext, grouping: str | None = None) -> story.StoryInputs:
    """The story's inputs from the page context (the value-curve grouping: the page's default,
    the first the store offers, unless given)."""
    if grouping is None:
        grouping = load(value_curves.groupings, ctx)[0]
    names = _segment_names(ctx)
    return story.StoryInputs(
        regions=ctx.bounds.regions,
        channels=ctx.bounds.channels,
        first_order=ctx.bounds.first_order,
        last_order=ctx.bounds.last_order,
        grouping=grouping,
        segment_names=tuple(names),
    )


def load_slide(ctx: PageContext, key: str, inputs: story.StoryInputs) -> story.Slide:
    """The slide of screen ``key``: its view through the page cache, then its finding."""
    screen = story.SCREENS[key]
    result = load(screen.view, ctx, *screen.args(inputs))
    return story.build_slide(key, result, ctx.scope, inputs)


def finding_figure(slide: story.Slide):
    """The slide's chart as a Plotly figure titled with its finding and subtitle."""
    return build_finding_chart(slide.chart, title=slide.finding, subtitle=slide.subtitle)


def _image(slide: story.Slide, fmt: str) -> bytes:
    try:
        return exports_images.chart_image(finding_figure(slide), fmt)
    except exports_images.ExportUnavailable as exc:
        # A download cannot show a message: the file says what is missing.
        return str(exc).encode("utf-8")


def export_buttons(
    ctx: PageContext,
    slides: Sequence[story.Slide],
    what: str,
    inputs: story.StoryInputs,
    *,
    title: str = "Customer portfolio",
    images: bool = True,
) -> None:
    """PowerPoint and PDF of ``slides``, CSV of each table, PNG and SVG of each chart."""
    scope = ctx.scope
    deck = story.make_story(slides, scope, inputs, title=title)
    columns = st.columns(3)
    columns[0].download_button(
        "PowerPoint (.pptx)",
        data=partial(exports_pptx.story_pptx, deck),
        file_name=story.file_name(what, scope, "pptx"),
        mime=PPTX_MIME,
        icon=":material/slideshow:",
        on_click="ignore",
        key=f"pptx_{what}",
        width="stretch",
        help="One slide per chart with native, editable PowerPoint charts; the finding as "
        "title, period, filters and data date beneath it, definitions in the notes.",
    )
    columns[1].download_button(
        "PDF",
        data=partial(exports_pdf.story_pdf, deck),
        file_name=story.file_name(what, scope, "pdf"),
        mime="application/pdf",
        icon=":material/picture_as_pdf:",
        on_click="ignore",
        key=f"pdf_{what}",
        width="stretch",
        help="One page per chart with the same texts as the slides.",
    )
    has_browser = exports_images.browser_path() is not None
    files = []  # (label, data, file name, mime, icon, disabled, help), laid out three a row
    for slide in slides:
        for table in slide.tables:
            files.append(
                (
                    f"{table.title} (CSV)",
                    partial(exports.csv_bytes, table.shown()),
                    story.file_name(f"{what}_{table.name}", scope, "csv"),
                    "text/csv",
                    ":material/table_view:",
                    False,
                    None,
                )
            )
        if images and slide.chart is not None:
            for fmt in ("png", "svg"):
                files.append(
                    (
                        f"{slide.name} ({fmt.upper()})",
                        partial(_image, slide, fmt),
                        story.file_name(f"{what}_{slide.key}", scope, fmt),
                        "image/png" if fmt == "png" else "image/svg+xml",
                        ":material/image:",
                        not has_browser,
                        None if has_browser else exports_images.INSTALL_HINT,
                    )
                )
    for row_start in range(0, len(files), 3):
        for column, (label, data, name, mime, icon, disabled, tip) in zip(
            st.columns(3), files[row_start : row_start + 3], strict=False
        ):
            column.download_button(
                label,
                data=data,
                file_name=name,
                mime=mime,
                icon=icon,
                on_click="ignore",
                disabled=disabled,
                help=tip,
                key=f"file_{what}_{name.rsplit('_', 1)[0]}_{name.rsplit('.', 1)[1]}",
                width="stretch",
            )


def page_exports(ctx: PageContext, page: str, what: str, grouping: str | None = None) -> None:
    """The export section at the foot of a page: its screens of the story, as files (the
    views are those the page loaded, so this reads the cache)."""
    inputs = story_inputs(ctx, grouping)
    slides = [load_slide(ctx, key, inputs) for key in story.PAGE_SCREENS[page]]
    with st.expander(
        "Export for a meeting: PowerPoint, PDF, CSV, images", icon=":material/download:"
    ):
        st.caption(
            "The findings of this page as slides with editable charts, with the period, the "
            "filters and the data's date on each. The Story page puts every page's findings "
            "in one deck."
        )
        export_buttons(ctx, slides, what, inputs, title=page)


def with_finding(fig, ctx: PageContext, finding: str, note: str = ""):
    """``fig`` titled with its finding, and the period, filters and data date beneath it, so a
    screenshot of the chart stands alone (the same subtitle as the slides')."""
    names = dict(_segment_names(ctx))
    subtitle = f"{ctx.scope.describe(names)} · data as of {ctx.bounds.last_order:%d %b %Y}"
    fig.update_layout(
        title={
            "text": finding_title(
                finding.replace("**", ""), f"{subtitle} · {note}" if note else subtitle
            )
        },
        margin={"t": 90},
    )
    return fig


def _segment_names(ctx: PageContext) -> tuple[tuple[int, str], ...]:
    from dashboard.app.context import _segment_options

    return _segment_options(ctx.url, ctx.version)[1]
