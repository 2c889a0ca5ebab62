"""The Segments page under AppTest, with and without saved segments, and the segment filter."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from dashboard.services import segmentation
from dashboard.storage import segment_store
from dashboard.storage.engine import bulk_insert, make_engine
from dashboard.storage.schema import segment_assignments

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 90
QUARTER = {"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"}


@pytest.fixture
def segmented_url(tiny_url):
    """The tiny store with a saved run: Alice (1) and Cara (3) in segment 1, Bob (2) and
    Dan (4) in segment 2 (set by hand so the figures below are known)."""
    engine = make_engine(tiny_url)
    segmentation.run_and_save(engine, n_segments=2)
    with engine.begin() as conn:
        conn.execute(segment_assignments.delete())
        bulk_insert(
            conn,
            segment_assignments,
            pd.DataFrame({"run_id": 1, "customer_id": [1, 2, 3, 4], "segment": [1, 2, 1, 2]}),
        )
    segment_store.rename_segment(engine, 1, 1, "Stars")
    segment_store.rename_segment(engine, 1, 2, "Strugglers")
    engine.dispose()
    return tiny_url


def run_page(name: str, query: dict[str, str | list[str]] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def test_without_saved_segments_the_page_explains_and_offers_the_action(tiny_url):
    at = run_page("segments.py")
    assert not at.exception
    assert any("No segments have been computed" in i.value for i in at.info)
    assert [b.label for b in at.button] == ["Compute segments"]
    assert any("python -m dashboard segment" in c.value for c in at.caption)
    assert segment_store.latest_run(make_engine(tiny_url)) is None  # nothing ran on view
    assert not [w for w in at.sidebar.multiselect if w.label == "Segment"]


def test_the_button_computes_and_saves_segments(tiny_url):
    at = run_page("segments.py", QUARTER)
    at.selectbox(key="segment_k").set_value(2)
    at.button[0].click().run()
    assert not at.exception, at.exception
    run = segment_store.latest_run(make_engine(tiny_url))
    assert run is not None and run.n_segments == 2
    assert "What each segment is worth" in [h.value for h in at.subheader]
    assert [w for w in at.sidebar.multiselect if w.label == "Segment"]


def test_with_saved_segments_shows_worth_profiles_playbook_migration(segmented_url):
    at = run_page("segments.py", QUARTER)
    assert not at.exception, at.exception
    headings = [h.value for h in at.subheader]
    assert headings[:4] == [
        "What each segment is worth",
        "How each segment differs from the average customer",
        "Playbook: one treatment per segment",
        "Migration between segments",
    ]
    worth = at.dataframe[0].value.set_index("label")
    # Stars (Alice, Cara): revenue 100 + 300 + 400 = 800 of 850 in Apr-Jun.
    assert worth.loc["1 · Stars", "revenue"] == 800.0
    assert worth.loc["1 · Stars", "customers"] == 2  # Dan was acquired in July
    assert worth.loc["1 · Stars", "profit"] == 270.0  # 400 - 10 - 120 (Cara's CAC)
    assert worth.loc["2 · Strugglers", "profit"] == -30.0  # -10 - 20
    assert worth.loc["1 · Stars", "customers_share"] == pytest.approx(200 / 3)
    assert any("holds" in m.value and "1 · Stars" in m.value for m in at.markdown)
    plan = at.dataframe[1].value.set_index("label")
    assert set(plan["treatment"]) <= {
        "Invest to grow",
        "Retain",
        "Develop",
        "Serve at lower cost",
        "Reconsider",
    }
    assert any("The rule" in m.value for m in at.markdown)
    assert any(m.label == "Mean silhouette" for m in at.metric)


def test_drill_down_lists_the_customers_of_a_segment(segmented_url):
    at = run_page("segments.py", QUARTER)
    at.selectbox(key="segment_drill").set_value(1).run()
    assert not at.exception
    members = next(d.value for d in at.dataframe if "profit_to_date" in d.value.columns)
    assert sorted(members["customer_id"]) == ["1", "3"]
    # Alice: 280 - 10 - 100 = 170; Cara: 200 - 3 - 120 = 77. Most profitable first.
    assert members["profit_to_date"].tolist() == [170.0, 77.0]
    assert at.selectbox(key="segment_customer").value == "1"


def test_segment_filter_applies_on_other_pages(segmented_url):
    overview = run_page("overview.py", {**QUARTER, "segment": "2 · Strugglers"})
    assert not overview.exception
    figures = {m.label: m.value for m in overview.metric}
    assert figures["Revenue"] == "50"  # Bob's 30 Jun order only
    assert figures["Customers"] == "1"  # Bob (Dan was acquired in July)


def test_a_filter_without_customers_says_so(segmented_url):
    at = run_page(
        "segments.py",
        {"period": "Custom", "from": "2024-01-10", "to": "2024-01-31", "segment": "2 · Strugglers"},
    )
    assert not at.exception
    assert any("No customers of the saved segments" in i.value for i in at.info)


def test_renaming_a_segment(segmented_url):
    at = run_page("segments.py", QUARTER)
    at.text_input(key="segment_name_1_2").input("Fixer-uppers")
    at.button(key="FormSubmitter:rename_segments-Save names").click().run()
    assert not at.exception
    labels = segment_store.segment_labels(make_engine(segmented_url), 1)
    assert labels.set_index("segment").loc[2, "name"] == "Fixer-uppers"
