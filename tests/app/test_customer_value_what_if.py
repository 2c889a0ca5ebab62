"""Customer value page with a real fit (issue 13) under AppTest: intervals beside the
figures, both purchase models side by side, the model selector, and the what-if with its
levers kept in the URL.

One fit of the synthetic portfolio of tests/services/test_lifetime_value.py is shared by the
module (the page only reads it); the refit test works on a copy.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.services import lifetime_value
from dashboard.storage import clv_store
from dashboard.storage.engine import bulk_insert, create_schema, make_engine
from dashboard.storage.schema import customers, orders
from tests.services.test_lifetime_value import PORTFOLIO

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "customer_value.py")
ALL_HISTORY = {"period": "Custom", "from": "2022-01-01", "to": "2023-12-31"}


@pytest.fixture(scope="module")
def fitted_store(tmp_path_factory) -> tuple[Path, clv_store.ClvRun]:
    path = tmp_path_factory.mktemp("what_if") / "store.duckdb"
    engine = make_engine(f"duckdb:///{path}")
    create_schema(engine)
    bulk_insert(engine, customers, PORTFOLIO["customers"])
    bulk_insert(engine, orders, PORTFOLIO["orders"])
    run = lifetime_value.fit_and_save(engine)
    engine.dispose()
    return path, run


@pytest.fixture
def store(fitted_store, monkeypatch):
    path, run = fitted_store
    monkeypatch.setenv("DASHBOARD_DB_URL", f"duckdb:///{path}")
    return run


def run_page(query: dict[str, str]) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=90)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def waterfall(at: AppTest) -> dict:
    for chart in at.get("plotly_chart"):
        figure = json.loads(chart.proto.spec)
        if figure["data"] and figure["data"][0]["type"] == "waterfall":
            return figure["data"][0]
    raise AssertionError("no waterfall on the page")


def metrics(at: AppTest) -> dict[str, object]:
    return {metric.label: metric for metric in at.metric}


def test_intervals_models_side_by_side_and_the_choice(store):
    at = run_page(ALL_HISTORY)
    assert not at.exception
    shown = metrics(at)
    assert shown["Customer equity"].delta.startswith("90%: ")
    assert shown["Expected customers alive"].delta.startswith("90%: ")
    assert "asymptotic normal" in shown["Customer equity"].help
    table = next(frame.value for frame in at.dataframe if "parameters" in frame.value.columns)
    assert list(table["label"]) == ["BG/NBD", "Pareto/NBD"]
    label = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}[store.purchase_model]
    assert table.loc[table["label"] == label, "chosen"].item() == "✓ chosen"
    text = " ".join(md.value for md in at.markdown)
    assert f"Predictions from {label}." in text
    error = store.holdout["total_error_pct"]
    if abs(error) >= 1:
        miss = abs(
            store.holdout["predicted_repeat_purchases"] - store.holdout["actual_repeat_purchases"]
        )
        assert any(f"misses the holdout total by {miss:,.0f}" in w.value for w in at.warning)
    assert at.segmented_control(key="cv_model").value == "auto"


def test_what_if_spend_scales_equity_and_levers_come_from_the_url(store):
    at = run_page({**ALL_HISTORY, "cv_wi_spend": "10"})
    assert not at.exception
    assert at.slider(key="cv_wi_spend").value == 10
    bars = waterfall(at)
    today, *changes, total = bars["y"]
    assert today == pytest.approx(store.diagnostics["customer_equity"])
    # Spend per order +10 % adds exactly 10 % of today's equity; nothing else moves.
    assert changes == pytest.approx([0.0, 0.0, 0.1 * today, 0.0, 0.0], abs=1e-6 * today)
    assert total == pytest.approx(1.1 * today)
    assert metrics(at)["Customer equity in the scenario"].delta.startswith("90%: ")

    # The levers round-trip through the link: dropout -25 % from the URL, as formatted.
    at = run_page({**ALL_HISTORY, "cv_wi_dropout": "-25%", "cv_wi_n_search": "100"})
    assert at.select_slider(key="cv_wi_dropout").value == -25
    assert at.number_input(key="cv_wi_n_search").value == 100
    bars = waterfall(at)
    assert bars["y"][1] > 0  # customers leaving more slowly are worth more
    assert bars["y"][5] != 0  # 100 new search customers, net of their cost
    assert bars["x"][5] == "100 new customers, net"

    # Moving a lever reruns the scenario.
    at.slider(key="cv_wi_rate").set_value(20).run()
    assert waterfall(at)["y"][2] == pytest.approx(0.2 * (bars["y"][0] + bars["y"][1]), rel=1e-9)


def test_refit_with_the_model_chosen_on_the_page(fitted_store, tmp_path, monkeypatch):
    path, run = fitted_store
    copy = tmp_path / "copy.duckdb"
    shutil.copy(path, copy)
    monkeypatch.setenv("DASHBOARD_DB_URL", f"duckdb:///{copy}")
    other = "bgnbd" if run.purchase_model == "pareto_nbd" else "pareto_nbd"
    at = run_page(ALL_HISTORY)
    at.segmented_control(key="cv_model").set_value(other).run()
    at.button(key="cv_fit").click().run()
    assert not at.exception
    engine = make_engine(f"duckdb:///{copy}")
    try:
        refit = clv_store.latest_run(engine)
    finally:
        engine.dispose()
    assert refit.run_id == run.run_id + 1 and refit.purchase_model == other
    assert "chosen by hand" in refit.diagnostics["model_choice"]["reason"]


def test_overview_shows_expected_alive_with_its_interval(store):
    at = AppTest.from_file(str(Path(PAGE).with_name("overview.py")), default_timeout=90)
    for key, value in ALL_HISTORY.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    text = " ".join(caption.value for caption in at.caption)
    assert "Expected customers still alive" in text and "(90% interval " in text
