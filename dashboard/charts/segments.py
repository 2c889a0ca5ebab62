"""Charts of the Segments page: functions ``build_…(frame, *, title) -> Figure``, no data access."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts.theme import PALETTE, SEQUENCE, apply_theme
from dashboard.domain.segment_features import ALL_FEATURES
from dashboard.domain.segment_playbook import NEW_CUSTOMERS

#: Shares shown side by side per segment: column -> (legend, colour).
SHARE_SERIES = {
    "customers_share": ("Customers", PALETTE["neutral"]),
    "revenue_share": ("Revenue", PALETTE["secondary"]),
    "gross_margin_share": ("Gross margin", PALETTE["primary"]),
    "profit_share": ("Profit", PALETTE["positive"]),
    "lifetime_value_share": ("Lifetime value", PALETTE["highlight"]),
}

#: Heatmap colour range, in standard deviations from the average (beyond is clipped).
HEATMAP_LIMIT = 2.0
#: Orange below the average, white at it, blue above: no red/green, because above the average
#: is good for some features (orders) and bad for others (days since the last order).
DIVERGING = [
    [0.0, "#b35806"],
    [0.25, "#f1a340"],
    [0.5, "#f7f7f7"],
    [0.75, "#6a9fd0"],
    [1.0, "#1f4e79"],
]

#: Short row names of the profile heatmap (the units are in the hover and the caption).
SHORT_NAMES = {
    "recency_days": "Days since last order",
    "orders_per_year": "Orders per year",
    "average_order_value": "Average order value",
    "gross_margin": "Gross margin to date",
    "tenure_days": "Tenure, days",
    "acquisition_cost": "Acquisition cost",
    "latest_csat": "Latest CSAT (1-5)",
    "latest_nps": "Latest NPS answer (0-10)",
    "contacts_per_year": "Contacts per year",
    "fcr_share": "First-contact resolution",
    "referrals_made": "Referrals made",
    "lifetime_value": "Lifetime value",
    "contribution_12m": "12-month contribution",
    "service_cost_per_year": "Service cost per year",
    "active_share": "Active (order in 365 days)",
}


def wrap_label(label: str, width: int = 16) -> str:
    """Break a label into lines of about ``width`` characters (``<br>``) for narrow axes."""
    lines: list[str] = []
    for word in label.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def build_value_shares(shares: pd.DataFrame, *, title: str) -> go.Figure:
    """Each segment's share of customers next to its share of revenue, margin, profit, value.

    ``shares`` has ``label`` and the ``*_share`` columns of
    :func:`dashboard.domain.segment_playbook.value_shares` (percent). Series that are all
    missing (lifetime value without the value engine) are left out. A segment whose value bars
    are far longer than its grey customer bar holds more than its weight.
    """
    fig = go.Figure()
    labels = shares["label"].tolist()
    for column, (name, colour) in SHARE_SERIES.items():
        if column not in shares or shares[column].isna().all():
            continue
        values = shares[column].astype(float)
        fig.add_bar(
            y=labels,
            x=values,
            name=name,
            orientation="h",
            marker_color=colour,
            text=[("" if np.isnan(v) else f"{v:.0f}%") for v in values],
            textposition="outside",
            cliponaxis=False,
            hovertemplate=f"%{{y}}<br>{name}: %{{x:.1f}}% of the portfolio<extra></extra>",
        )
    fig.update_layout(
        barmode="group", bargap=0.25, bargroupgap=0.05, height=max(320, 90 * len(labels) + 120)
    )
    fig.update_xaxes(
        title="Share of the portfolio (%)",
        ticksuffix="%",
        zeroline=True,
        zerolinecolor=PALETTE["neutral"],
    )
    fig.update_yaxes(autorange="reversed", title=None)
    return apply_theme(fig, title=title)


def _format_mean(feature: str, value: float) -> str:
    if value is None or np.isnan(value):
        return "—"
    unit = ALL_FEATURES[feature][1]
    if feature in ("fcr_share", "active_share"):
        return f"{100 * value:.0f}%"
    if unit.startswith("currency"):
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.1f}"


def build_profile_heatmap(profiles: pd.DataFrame, labels: pd.DataFrame, *, title: str) -> go.Figure:
    """How each segment differs from the average customer, feature by feature.

    ``profiles`` is the stored long frame (segment 0 = all customers) with ``feature``,
    ``mean`` and ``difference`` (standard deviations from the average); ``labels`` maps
    ``segment`` to ``label``. Colour: blue above the average, orange below, white at it
    (clipped at ±2). Each cell shows the segment's mean in the feature's unit; the hover
    gives the unit and the average customer's mean.
    """
    features = [f for f in ALL_FEATURES if f in set(profiles["feature"])]
    segments = labels["segment"].tolist()
    means = profiles.pivot_table(
        index="feature", columns="segment", values="mean", aggfunc="first"
    ).reindex(index=features)
    differences = profiles.pivot_table(
        index="feature", columns="segment", values="difference", aggfunc="first"
    ).reindex(index=features, columns=segments)
    row_names = [SHORT_NAMES.get(f, ALL_FEATURES[f][0]) for f in features]
    text = [[_format_mean(f, means.at[f, s]) for s in segments] for f in features]
    average = [_format_mean(f, means.at[f, 0]) if 0 in means.columns else "—" for f in features]
    custom = [
        [
            [average[i], differences.iat[i, j], ALL_FEATURES[f][1], label]
            for j, label in enumerate(labels["label"])
        ]
        for i, f in enumerate(features)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=differences.clip(-HEATMAP_LIMIT, HEATMAP_LIMIT).to_numpy(),
            x=[wrap_label(label) for label in labels["label"]],
            y=row_names,
            text=text,
            texttemplate="%{text}",
            textfont={"size": 12},
            customdata=custom,
            zmin=-HEATMAP_LIMIT,
            zmax=HEATMAP_LIMIT,
            zmid=0,
            colorscale=DIVERGING,
            xgap=2,
            ygap=2,
            colorbar={
                "tickvals": [-2, -1, 0, 1, 2],
                "ticktext": ["far below", "below", "average", "above", "far above"],
                "thickness": 12,
            },
            hovertemplate="%{customdata[3]}<br>%{y} (%{customdata[2]})<br>Segment: %{text} · "
            "all customers: %{customdata[0]}<br>%{customdata[1]:+.1f} standard "
            "deviations from the average<extra></extra>",
        )
    )
    fig.update_layout(height=max(420, 36 * len(features) + 190))
    fig.update_xaxes(side="top", title=None, tickangle=0, tickfont={"size": 11})
    fig.update_yaxes(autorange="reversed", title=None)
    apply_theme(fig, title=title)
    fig.update_layout(margin={"t": 130})  # room for the wrapped segment names above
    return fig


def build_silhouette_curve(
    silhouette_by_k: dict[int, float], chosen: int, *, title: str
) -> go.Figure:
    """Mean silhouette per number of segments tried, the chosen number highlighted.

    Silhouette: from -1 to 1; near 0 the segments overlap, above 0.5 they are well apart.
    """
    ks = sorted(silhouette_by_k)
    fig = go.Figure()
    fig.add_scatter(
        x=ks,
        y=[silhouette_by_k[k] for k in ks],
        mode="lines+markers",
        name="Silhouette",
        line={"color": PALETTE["primary"]},
        hovertemplate="%{x} segments: silhouette %{y:.3f}<extra></extra>",
    )
    if chosen in silhouette_by_k:
        fig.add_scatter(
            x=[chosen],
            y=[silhouette_by_k[chosen]],
            mode="markers",
            name=f"Chosen: {chosen}",
            marker={"color": PALETTE["highlight"], "size": 14, "symbol": "star"},
            hovertemplate="Chosen: %{x} segments, %{y:.3f}<extra></extra>",
        )
    fig.update_xaxes(title="Number of segments", dtick=1)
    fig.update_yaxes(title="Mean silhouette (−1 to 1)")
    fig.update_layout(height=300, showlegend=False)
    return apply_theme(fig, title=title)


def build_migration_sankey(
    transitions: pd.DataFrame,
    labels: pd.DataFrame,
    *,
    title: str,
    previous_label: str,
    current_label: str,
) -> go.Figure:
    """How customers moved between segments from the previous period end to the current one.

    ``transitions`` has ``from_segment`` (0 = not yet a customer), ``to_segment`` and
    ``customers``; ``labels`` maps ``segment`` to ``label``. Left: segments at
    ``previous_label``; right: segments at ``current_label``. Link width = customers.
    """
    names = dict(zip(labels["segment"], labels["label"], strict=True))
    colours = {s: SEQUENCE[i % len(SEQUENCE)] for i, s in enumerate(labels["segment"])}
    left = sorted(transitions["from_segment"].unique(), key=lambda s: (s == NEW_CUSTOMERS, s))
    right = sorted(transitions["to_segment"].unique())
    node_labels = [
        ("New customers" if s == NEW_CUSTOMERS else names.get(s, f"Segment {s}")) for s in left
    ]
    node_labels += [names.get(s, f"Segment {s}") for s in right]
    node_dates = [previous_label] * len(left) + [current_label] * len(right)
    node_colours = [
        PALETTE["neutral"] if s == NEW_CUSTOMERS else colours.get(s, "#999") for s in left
    ] + [colours.get(s, "#999") for s in right]
    index_left = {s: i for i, s in enumerate(left)}
    index_right = {s: len(left) + i for i, s in enumerate(right)}
    link_colour = [
        _with_alpha(PALETTE["neutral"] if f == NEW_CUSTOMERS else colours.get(f, "#999"))
        for f in transitions["from_segment"]
    ]
    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            node={
                "label": node_labels,
                "color": node_colours,
                "pad": 14,
                "thickness": 16,
                "customdata": node_dates,
                "hovertemplate": "%{label} on %{customdata}<br>%{value:,.0f} customers"
                "<extra></extra>",
            },
            link={
                "source": [index_left[s] for s in transitions["from_segment"]],
                "target": [index_right[s] for s in transitions["to_segment"]],
                "value": transitions["customers"].tolist(),
                "color": link_colour,
                "hovertemplate": f"%{{source.label}} ({previous_label}) → %{{target.label}} "
                f"({current_label})<br>%{{value:,.0f}} customers<extra></extra>",
            },
        )
    )
    fig.add_annotation(
        x=0,
        y=1.06,
        xref="paper",
        yref="paper",
        text=f"<b>{previous_label}</b>",
        showarrow=False,
        xanchor="left",
    )
    fig.add_annotation(
        x=1,
        y=1.06,
        xref="paper",
        yref="paper",
        text=f"<b>{current_label}</b>",
        showarrow=False,
        xanchor="right",
    )
    fig.update_layout(height=max(380, 46 * max(len(left), len(right)) + 120))
    return apply_theme(fig, title=title)


def _with_alpha(hex_colour: str, alpha: float = 0.35) -> str:
    hex_colour = hex_colour.lstrip("#")
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({red},{green},{blue},{alpha})"


def build_customer_history(history: pd.DataFrame, *, title: str) -> go.Figure:
    """One customer's order revenue per month (bars) and service contacts (cost, markers).

    ``history`` is the frame of ``segment_store.customer_history`` (currency units). Orders
    are summed by calendar month so that years of history stay readable.
    """
    fig = go.Figure()
    bought = history[history["event"] == "order"]
    months = pd.to_datetime(bought["date"]).dt.to_period("M").dt.to_timestamp()
    monthly = (
        bought.assign(month=months)
        .groupby("month", as_index=False)
        .agg(
            revenue=("amount", "sum"),
            gross_margin=("gross_margin", "sum"),
            orders=("amount", "size"),
        )
    )
    fig.add_bar(
        x=monthly["month"],
        y=monthly["revenue"],
        name="Order revenue per month",
        marker_color=PALETTE["primary"],
        customdata=monthly[["gross_margin", "orders"]].to_numpy(),
        hovertemplate="%{x|%b %Y}: %{customdata[1]} orders<br>Revenue %{y:,.2f}"
        "<br>Gross margin %{customdata[0]:,.2f}<extra></extra>",
    )
    contacted = history[history["event"] == "service contact"]
    fig.add_scatter(
        x=pd.to_datetime(contacted["date"]),
        y=contacted["amount"],
        name="Service contact cost",
        mode="markers",
        marker={"color": PALETTE["negative"], "size": 10, "symbol": "diamond"},
        customdata=contacted["detail"],
        hovertemplate="%{x|%d %b %Y}<br>Contact cost %{y:,.2f}<br>%{customdata}<extra></extra>",
    )
    fig.update_xaxes(title=None, tickformat="%b %Y")
    fig.update_yaxes(title="Currency units")
    fig.update_layout(height=320, bargap=0.15)
    return apply_theme(fig, title=title)
