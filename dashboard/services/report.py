"""The scheduled report: the story for a scope written to a PowerPoint or PDF file.

``python -m dashboard report`` calls :func:`write_report`; the Story page's downloads render
the same slides, so a deck made by cron and one downloaded from the page agree.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from dashboard.domain.periods import PRESETS, preset_period
from dashboard.scope import Scope
from dashboard.services import exports_pdf, exports_pptx, saved_stories, story
from dashboard.storage import queries
from dashboard.storage.segment_store import latest_segment_options
from dashboard.storage.value_curve_queries import available_groupings

#: File suffix -> renderer.
RENDERERS = {".pptx": exports_pptx.story_pptx, ".pdf": exports_pdf.story_pdf}


class ReportError(ValueError):
    """The report cannot be made as asked (the message says what to change)."""


class ReportArgumentError(ReportError):
    """An argument is malformed (a period that is no period): the command cannot run."""


@dataclass(frozen=True)
class Report:
    """What was written: the file, its slides and the scope they cover."""

    path: Path
    story: story.Story
    size: int


def period_of(text: str | None, first, last) -> tuple:
    """``--period``: a preset name ("Last 3 months", case and dashes free) or START:END
    (ISO dates); default the app's default preset. Anchored on the latest order date."""
    from datetime import date

    from dashboard.domain.periods import DEFAULT_PRESET

    if not text:
        return preset_period(DEFAULT_PRESET, last, first)
    if ":" in text:
        start_text, _, end_text = text.partition(":")
        try:
            start, end = date.fromisoformat(start_text), date.fromisoformat(end_text)
        except ValueError:
            raise ReportError(f"--period {text!r}: dates must be YYYY-MM-DD:YYYY-MM-DD") from None
        if end < start:
            raise ReportError(f"--period {text!r}: the end is before the start")
        return start, end
    wanted = text.replace("-", " ").replace("_", " ").strip().lower()
    for preset in PRESETS:
        if preset.lower() == wanted and preset != "Custom":
            return preset_period(preset, last, first)
    names = ", ".join(f"'{p}'" for p in PRESETS if p != "Custom")
    raise ReportArgumentError(f"--period {text!r} is not a period; use one of {names} or START:END")


def scope_for(
    engine: Engine,
    *,
    period: str | None = None,
    regions: Sequence[str] = (),
    channels: Sequence[str] = (),
    segments: Sequence[str] = (),
    allowed_regions: tuple[str, ...] | None = None,
) -> tuple[Scope, story.StoryInputs]:
    """The scope and story inputs of the command's filters, within ``allowed_regions``.

    Regions and channels must be the store's; a region outside ``allowed_regions`` is refused
    (nothing wider than the user's scope). Segments are numbers or names of the latest run.
    """
    bounds = queries.data_bounds(engine, allowed_regions)
    if bounds.is_empty:
        if allowed_regions is not None:
            raise ReportError(
                f"none of the store's customers is in the regions {', '.join(allowed_regions)}"
            )
        raise ReportError("the store has no orders yet: import data or build the demo first")
    for region in regions:
        if region not in bounds.regions:
            where = "your regions" if allowed_regions is not None else "the store's regions"
            raise ReportError(
                f"--region {region!r} is not one of {where}: {', '.join(bounds.regions)}"
            )
    for channel in channels:
        if channel not in bounds.channels:
            raise ReportError(
                f"--channel {channel!r} is not one of the store's: {', '.join(bounds.channels)}"
            )
    run_id, options = latest_segment_options(engine)
    chosen: list[int] = []
    by_name = {label.lower(): number for number, label in options}
    for segment in segments:
        number = by_name.get(segment.lower())
        if number is None and segment.isdigit() and int(segment) in dict(options):
            number = int(segment)
        if number is None:
            known = "; ".join(label for _, label in options) or "none (no segmentation saved)"
            raise ReportError(f"--segment {segment!r} is not a segment; segments: {known}")
        chosen.append(number)
    start, end = period_of(period, bounds.first_order, bounds.last_order)
    scope = Scope(
        start=start,
        end=end,
        regions=tuple(regions),
        channels=tuple(channels),
        segments=tuple(chosen),
        segment_run_id=run_id if chosen else None,
        allowed_regions=allowed_regions,
    )
    inputs = story.StoryInputs(
        regions=bounds.regions,
        channels=bounds.channels,
        first_order=bounds.first_order,
        last_order=bounds.last_order,
        grouping=available_groupings(engine)[0],
        segment_names=options,
    )
    return scope, inputs


def story_keys(
    name: str | None, screens: str | None, engine: Engine | None = None
) -> tuple[str, ...]:
    """The screens of ``--screens a,b`` or of the named story: built-in, or saved from the
    Story page in ``engine``'s store (default: the default story)."""
    if screens:
        keys = story.parse_screens([screens])
        unknown = [k for k in screens.split(",") if k.strip() and story.screen_key(k) is None]
        if unknown or not keys:
            raise ReportError(
                f"--screens: unknown screen(s) {', '.join(unknown) or screens}; screens: "
                f"{', '.join(story.SCREENS)}"
            )
        return keys
    name = name or "default"
    stories = story.STORIES if engine is None else saved_stories.all_stories(engine)
    if name not in stories:
        raise ReportError(f"--story {name!r} is not a story; stories: {', '.join(stories)}")
    return stories[name]


def write_report(
    engine: Engine,
    scope: Scope,
    inputs: story.StoryInputs,
    keys: Sequence[str],
    out: Path,
    *,
    title: str = "Customer portfolio story",
    progress=None,
) -> Report:
    """Render the story of ``keys`` for ``scope`` into ``out`` (.pptx or .pdf).

    The file is written to a temporary name beside ``out`` and renamed, so a reader (or a
    mail job) never sees half a file, and a failure leaves any earlier report in place.
    """
    render = RENDERERS.get(out.suffix.lower())
    if render is None:
        raise ReportError(f"--out {out}: the file must end in .pptx or .pdf")
    slides = story.collect(engine, scope, keys, inputs, progress=progress)
    deck = story.make_story(slides, scope, inputs, title=title)
    if progress:
        progress(0.9, f"Writing {out.suffix[1:].upper()}…")
    data = render(deck)
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(temporary, out)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return Report(path=out, story=deck, size=len(data))
