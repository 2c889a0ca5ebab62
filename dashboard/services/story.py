"""The story: an ordered sequence of screens, one chart and its finding each, for a meeting.

Each screen reads one view result of a page (:mod:`dashboard.services.views`), the same call
with the same arguments as that page, so a screen, its page and every export show the same
numbers. :func:`build_slide` turns the view result into a :class:`Slide` (finding, subtitle,
chart data, definitions, tables) that the Story page lays out and the renderers
(``exports_pptx``, ``exports_pdf``, ``exports_images``) draw.

The page loads each view through the app's cache (``load``); the command line and the
benchmark call :func:`collect`, which runs each distinct view once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine

from dashboard.domain import findings
from dashboard.domain import loyalty as loyalty_rules
from dashboard.domain import value as value_rules
from dashboard.domain import value_curves as vc
from dashboard.domain.findings import ChartData
from dashboard.domain.metrics import HEADLINE_DEFINITIONS
from dashboard.scope import Scope
from dashboard.services.views import (
    customer_value,
    loyalty,
    overview,
    segments,
    service,
    value_curves,
)
from dashboard.storage.engine import store_session


@dataclass(frozen=True)
class StoryInputs:
    """What the views need besides the scope: the store's regions, channels and order dates
    (``queries.DataBounds``), the value-curve grouping, and segment names for the filters line."""

    regions: tuple[str, ...]
    channels: tuple[str, ...]
    first_order: date
    last_order: date
    grouping: str = "region"
    segment_names: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True)
class TableData:
    """A table of a slide: ``frame`` with readable ``headers`` (column -> header)."""

    name: str
    title: str
    frame: pd.DataFrame
    headers: Mapping[str, str] = field(default_factory=dict)

    def shown(self) -> pd.DataFrame:
        """The table with its readable headers, in their order."""
        columns = [c for c in self.headers if c in self.frame.columns] or list(self.frame.columns)
        return self.frame[columns].rename(columns=dict(self.headers))


@dataclass(frozen=True)
class Slide:
    """One screen of the story.

    Attributes
    ----------
    key, name, page:
        The screen's key (:data:`SCREENS`), its name and the page it comes from.
    finding:
        The chart's title: what it shows, in one sentence (``dashboard.domain.findings``).
    subtitle:
        Period, filters and "data as of", so a screenshot or a slide stands alone.
    chart:
        The chart's data; None when there is nothing to draw (``empty`` says why).
    definitions:
        (figure, definition) of every figure the slide shows (docs/metrics.md).
    tables:
        Tables of the slide (PowerPoint tables, CSV downloads).
    """

    key: str
    name: str
    page: str
    finding: str
    subtitle: str
    chart: ChartData | None
    definitions: tuple[tuple[str, str], ...] = ()
    tables: tuple[TableData, ...] = ()
    empty: str | None = None


@dataclass(frozen=True)
class Story:
    """Slides in order, with the deck's title, the filters line and when it was made."""

    title: str
    scope_text: str
    as_of: date
    made_at: datetime
    slides: tuple[Slide, ...]

    @property
    def definitions(self) -> tuple[tuple[str, str], ...]:
        """Every definition of the slides, once each, in order of first use."""
        seen: dict[str, str] = {}
        for slide in self.slides:
            for term, text in slide.definitions:
                seen.setdefault(term, text)
        return tuple(seen.items())


@dataclass(frozen=True)
class Screen:
    """A screen: which view it reads (``view(engine, scope, *args(inputs))``) and how its slide
    is built (``build(result, inputs)`` -> (finding, chart, definitions, tables, empty))."""

    key: str
    name: str
    page: str
    view: Callable[..., Any]
    args: Callable[[StoryInputs], tuple]
    build: Callable[[Any, StoryInputs], tuple]


# --------------------------------------------------------------------------------------------
# Screen builders: (finding, chart, definitions, tables, empty reason)


def _headline(view: overview.OverviewView, inputs: StoryInputs) -> tuple:
    if not view.has_data:
        return "No activity in the period", None, (), (), "No order, contact or survey in scope."
    kpis = view.kpis
    table = pd.DataFrame(
        {
            "figure": [k.label for k in kpis],
            "value": [k.value for k in kpis],
            "previous": [k.previous for k in kpis],
        }
    )
    definitions = tuple((label, d) for label, _, d, _ in HEADLINE_DEFINITIONS.values())
    return (
        findings.headline_finding(kpis),
        findings.monthly_chart(view.monthly),
        definitions
        + (("Service cost", "Cost of service contacts opened in the month (currency units)."),),
        (
            TableData(
                "headline_figures",
                "Headline figures against the previous period",
                table,
                {"figure": "Figure", "value": "This period", "previous": "Previous period"},
            ),
        ),
        None,
    )


PROFIT_DEFINITION = (
    "Profit",
    "Gross margin (revenue − order cost) − service cost − acquisition cost, per customer, "
    "to the period's end (currency units).",
)


def _whale(view: customer_value.CustomerValueView, inputs: StoryInputs) -> tuple:
    profit = None if view.profit is None else view.profit["to_date"]
    if profit is None or profit.customers == 0:
        return "No customers in scope", None, (), (), "No customer matches these filters."
    whale = profit.whale
    definitions = (
        PROFIT_DEFINITION,
        (
            "Whale curve",
            "Cumulative profit of customers ranked most profitable first, as a % of total "
            "profit; its peak is the profit of the profitable customers alone.",
        ),
        (
            "Most profitable 20% earn",
            "Cumulative profit of the top 20% of customers / total profit, read off the curve.",
        ),
    )
    table = pd.DataFrame(
        {
            "figure": [
                "Customers",
                "Total profit",
                "Top 20% of customers earn (% of profit)",
                "Whale-curve peak (% of profit)",
                "Customers losing money (%)",
                "Profit destroyed by the loss makers",
            ],
            "value": [
                whale.customers,
                whale.total_profit,
                None if whale.top_20_share is None else 100 * whale.top_20_share,
                None if whale.peak_share is None else 100 * whale.peak_share,
                100 * whale.losing_share,
                whale.profit_destroyed,
            ],
        }
    )
    return (
        findings.whale_finding(whale.top_20_share, whale.total_profit),
        findings.whale_chart(whale.points, whale.total_profit),
        definitions,
        (
            TableData(
                "whale_curve", "Whale curve figures", table, {"figure": "Figure", "value": "Value"}
            ),
        ),
        None,
    )


def _segments(view: segments.SegmentsView, inputs: StoryInputs) -> tuple:
    if view.run is None:
        return "No segments saved yet", None, (), (), "Segment the customers first."
    worth = view.worth
    if worth.empty:
        return "No segment customer in scope", None, (), (), "No segment customer matches."
    headers = {
        "label": "Segment",
        "customers": "Customers",
        "customers_share": "% of customers",
        "revenue": "Revenue",
        "gross_margin": "Gross margin",
        "profit": "Profit",
        "profit_share": "% of profit",
        "lifetime_value": "Lifetime value",
    }
    definitions = (
        ("% of customers", "The segment's customers (acquired by the period's end) / all."),
        ("% of gross margin", "The segment's revenue − order cost in the period / the total."),
        (
            "% of profit",
            "The segment's gross margin − service cost − acquisition cost (of customers won in "
            "the period), in the period / the total; can be negative or above 100%.",
        ),
        ("% of lifetime value", "The segment's predicted lifetime value / the total."),
    )
    return (
        findings.segment_finding(worth),
        findings.segment_chart(worth),
        definitions,
        (TableData("segment_worth", "What each segment is worth", worth, headers),),
        None,
    )


def _loyalty(view: loyalty.LoyaltyView, inputs: StoryInputs) -> tuple:
    if view.customers_in_view == 0:
        return "No customers in scope", None, (), (), "No customer matches these filters."
    risk = view.risk
    headers = {
        "quadrant": "Quadrant",
        "customers": "Customers",
        "share": "% of customers",
        "revenue_last_12m": "Revenue, last 12 months",
        "mean_loyalty": "Mean loyalty index",
        "nps": "NPS",
        "csat": "CSAT %",
    }
    definitions = (
        ("Quadrants", findings.QUADRANT_DEFINITION),
        (
            "Revenue at risk",
            "Revenue over the 365 days to the period's end of the satisfied customers whose "
            "loyalty index is below the loyal cut; share of the same revenue of all customers.",
        ),
        ("Satisfaction explains", view.verdict or ""),
    )
    return (
        findings.loyalty_finding(risk.customers, risk.revenue_last_12m, risk.share_of_revenue),
        findings.loyalty_chart(view.summary),
        definitions,
        (TableData("loyalty_quadrants", "Customers per quadrant", view.summary, headers),),
        None,
    )


def _service(view: service.ServiceView, inputs: StoryInputs) -> tuple:
    if not view.has_contacts:
        return "No service contacts in the period", None, (), (), "No contact in scope."
    kpis = (*view.cost_center_kpis, *view.value_driver_kpis)
    table = pd.DataFrame(
        {
            "measure": [k.label for k in kpis],
            "value": [k.value for k in kpis],
            "previous": [k.previous for k in kpis],
        }
    )
    definitions = tuple((k.label, k.definition) for k in kpis) + (("Verdict", view.verdict.rule),)
    return (
        findings.service_finding(view.verdict.scorecard),
        findings.service_chart(kpis),
        definitions,
        (
            TableData(
                "service_scorecards",
                "Both scorecards against the previous period",
                table,
                {"measure": "Measure", "value": "This period", "previous": "Previous period"},
            ),
        ),
        None,
    )


def _value_curves(view: value_curves.ValueCurvesView, inputs: StoryInputs) -> tuple:
    label = vc.GROUPINGS.get(view.grouping, view.grouping)
    if not view.has_ratings:
        return "No value ratings in scope", None, (), (), "No rating up to the period's end."
    gaps = view.gaps
    group = (
        gaps.iloc[0]["group"]
        if gaps is not None and not gaps.empty
        else view.curves["group"].iloc[0]
    )
    headers = {
        "group": label,
        "attribute": "Attribute",
        "status": "Reading",
        "gap": "Gap (points)",
        "customers": "Raters",
        "value_at_stake": "Value at stake",
    }
    definitions = (
        ("Importance, performance", "Mean of each customer's latest rating, 1-10 scale."),
        (
            "Gap",
            f"Importance − performance; ≥ +{vc.GAP_THRESHOLD:g}: under-served, "
            f"≤ −{vc.GAP_THRESHOLD:g}: over-served.",
        ),
        (
            "Value at stake",
            "Gross margin in the 365 days to the period's end of the group's raters × the share "
            "who rated the attribute (currency units).",
        ),
    )
    return (
        findings.value_curve_finding(gaps, label, vc.GAP_THRESHOLD),
        findings.value_curve_chart(view.curves, group),
        definitions,
        (TableData("value_gaps", "Gaps ranked by value at stake", gaps, headers),),
        None,
    )


def _payback(view: customer_value.CustomerValueView, inputs: StoryInputs) -> tuple:
    if view.customers_in_view == 0 or view.payback_curves is None:
        return "No customers in scope", None, (), (), "No customer matches these filters."
    curves = view.payback_curves["channel"]
    table = view.acquisition_tables["channel"]
    headers = {
        "acquisition_channel": "Acquisition channel",
        "customers": "Customers",
        "mean_cac": "Mean CAC",
        "mean_ltv": "Mean LTV",
        "ltv_to_cac": "LTV / CAC",
        "payback": "Payback",
        "won_in_period": "Won in period",
    }
    definitions = (
        ("CAC", "Acquisition cost per customer (customers.acquisition_cost), currency units."),
        (
            "Payback",
            "First month since acquisition (0 = month of acquisition) at which cumulative gross "
            "margin − service cost per customer reaches the mean CAC.",
        ),
        ("LTV", "Gross margin earned since acquisition + predicted lifetime value."),
    )
    chart = None if curves.empty else findings.payback_chart(curves)
    return (
        findings.payback_finding(table, "acquisition_channel"),
        chart,
        definitions,
        (
            TableData(
                "acquisition_payback", "What acquisition is worth, by channel", table, headers
            ),
        ),
        None
        if chart is not None
        else f"Too few customers per channel (at least {value_rules.MIN_CURVE_CUSTOMERS}).",
    )


def _bounds_args(inputs: StoryInputs) -> tuple:
    return (inputs.regions, inputs.channels)


#: Every screen, in the default order of the story.
SCREENS: dict[str, Screen] = {
    s.key: s
    for s in (
        Screen("headline", "Headline figures", "Overview", overview.view, lambda i: (), _headline),
        Screen("whale", "Whale curve", "Customer value", customer_value.view, _bounds_args, _whale),
        Screen(
            "segments",
            "What segments are worth",
            "Segments",
            segments.view,
            lambda i: (),
            _segments,
        ),
        Screen(
            "loyalty",
            "Loyalty quadrants",
            "Loyalty vs satisfaction",
            loyalty.view,
            lambda i: (loyalty_rules.DEFAULT_SETTINGS,),
            _loyalty,
        ),
        Screen(
            "service",
            "Service verdict",
            "Service",
            service.view,
            lambda i: (i.first_order, i.last_order),
            _service,
        ),
        Screen(
            "value_curves",
            "Value curves",
            "Value curves",
            value_curves.view,
            lambda i: (i.grouping,),
            _value_curves,
        ),
        Screen(
            "payback",
            "Acquisition payback",
            "Customer value",
            customer_value.view,
            _bounds_args,
            _payback,
        ),
    )
}

#: The default story: every screen in order.
DEFAULT_STORY: tuple[str, ...] = tuple(SCREENS)

#: Built-in named stories (``python -m dashboard report --story NAME``); stories saved from the
#: page are in the store (``services.saved_stories``).
STORIES: dict[str, tuple[str, ...]] = {
    "default": DEFAULT_STORY,
    "value": ("headline", "whale", "segments", "payback"),
    "cx": ("headline", "loyalty", "service", "value_curves"),
}

#: The screens of each page (its PowerPoint and PDF export).
PAGE_SCREENS: dict[str, tuple[str, ...]] = {}
for _screen in SCREENS.values():
    PAGE_SCREENS.setdefault(_screen.page, ())
    PAGE_SCREENS[_screen.page] += (_screen.key,)


def screen_key(text: str) -> str | None:
    """The key of a screen named by its key ("whale") or its name ("Whale curve")."""
    wanted = text.strip().lower().replace("-", "_")
    for key, screen in SCREENS.items():
        if wanted in (key, screen.name.lower()):
            return key
    return None


def parse_screens(values: Sequence[str]) -> tuple[str, ...]:
    """Known screens of ``values`` (keys or names, comma-separated or not) in order, each once;
    unknown ones are dropped. The Story page's link names them (``?screens=Whale+curve``)."""
    seen: list[str] = []
    for value in values:
        for part in str(value).split(","):
            key = screen_key(part)
            if key is not None and key not in seen:
                seen.append(key)
    return tuple(seen)


def subtitle(scope: Scope, inputs: StoryInputs, extra: str = "") -> str:
    """Period, filters and "data as of" (the latest order date in the store)."""
    text = f"{scope.describe(dict(inputs.segment_names))} · data as of {inputs.last_order:%d %b %Y}"
    return f"{text} · {extra}" if extra else text


#: A note a screen adds to its subtitle (what basis its figures are on).
_SUBTITLE_NOTES = {
    "whale": "profit to the period's end",
    "loyalty": "as of the period's end",
    "value_curves": "latest ratings up to the period's end",
    "payback": "customers acquired up to the period's end",
}


def build_slide(key: str, result: Any, scope: Scope, inputs: StoryInputs) -> Slide:
    """The slide of screen ``key`` from its view result."""
    screen = SCREENS[key]
    finding, chart, definitions, tables, empty = screen.build(result, inputs)
    if chart is not None and chart.is_empty:
        chart, empty = None, empty or "Nothing to draw for these filters."
    return Slide(
        key=key,
        name=screen.name,
        page=screen.page,
        finding=finding,
        subtitle=subtitle(scope, inputs, _SUBTITLE_NOTES.get(key, "")),
        chart=chart,
        definitions=tuple(definitions),
        tables=tuple(t for t in tables if t.frame is not None and not t.frame.empty),
        empty=empty,
    )


def make_story(
    slides: Sequence[Slide], scope: Scope, inputs: StoryInputs, title: str = "Customer portfolio"
) -> Story:
    """A story of ``slides`` (its title slide says the filters and the data's date)."""
    return Story(
        title=title,
        scope_text=subtitle(scope, inputs),
        as_of=inputs.last_order,
        made_at=datetime.now().replace(microsecond=0),
        slides=tuple(slides),
    )


def collect(
    engine: Engine,
    scope: Scope,
    keys: Sequence[str],
    inputs: StoryInputs,
    progress: Callable[[float, str], None] | None = None,
) -> tuple[Slide, ...]:
    """Run the views of ``keys`` (each distinct view call once) and build their slides."""
    results: dict[tuple, Any] = {}
    slides = []
    with store_session(engine):
        for number, key in enumerate(keys, 1):
            screen = SCREENS[key]
            call = (screen.view.__module__, screen.view.__name__, screen.args(inputs))
            if progress:
                progress((number - 1) / max(len(keys), 1), f"Reading {screen.name.lower()}…")
            if call not in results:
                results[call] = screen.view(engine, scope, *screen.args(inputs))
            slides.append(build_slide(key, results[call], scope, inputs))
    return tuple(slides)


def file_name(what: str, scope: Scope, extension: str, made: date | None = None) -> str:
    """A download's file name that says what it is, the period, the filters and the day:
    ``customer-value_whale_2026-07-01_2026-09-30_north_2026-12-02.pptx``."""
    parts = [what, f"{scope.start:%Y-%m-%d}_{scope.end:%Y-%m-%d}"]
    regions = scope.effective_regions()
    if regions:
        parts.append("-".join(regions))
    if scope.channels:
        parts.append("-".join(scope.channels))
    if scope.segments:
        parts.append("segments-" + "-".join(str(s) for s in scope.segments))
    parts.append(f"{made or date.today():%Y-%m-%d}")
    name = "_".join(parts)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", name.lower()).strip("-")
    return f"{name}.{extension}"
