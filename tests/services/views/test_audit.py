"""The audit views on the focused portfolio: the sections agree with each other."""

from __future__ import annotations

import pytest

from dashboard.scope import Scope
from dashboard.services.views import audit as views
from dashboard.storage.engine import make_engine
from tests.audit_fixtures import Q3, load_audit

SCOPE = Scope(start=Q3[0], end=Q3[1])


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    engine = make_engine(f"duckdb:///{tmp_path_factory.mktemp('audit') / 'audit.duckdb'}")
    load_audit(engine)
    yield engine
    engine.dispose()


def test_the_bridge_ends_on_the_period_revenue(engine):
    one = views.one_period(engine, SCOPE)
    bridge = views.period_to_period(engine, SCOPE).bridge.set_index("step")
    assert bridge.at["This period", "value"] == pytest.approx(one.snapshot.revenue) == 390.0
    assert one.orders["customers"].sum() == one.snapshot.customers == 3
    assert one.spend["customers"].sum() == 3


@pytest.mark.parametrize("grain", ["quarter", "month"])
def test_cohort_grids_and_the_layer_cake_hold_every_order(engine, grain):
    view = views.cohorts(engine, SCOPE, grain)
    assert view.grid["revenue"].sum() == pytest.approx(1590.0)  # every order to 30 Sep 2024
    assert view.layers["revenue"].sum() == pytest.approx(1590.0)
    assert view.early["size"].sum() == 5
    with pytest.raises(ValueError, match="grain"):
        views.cohorts(engine, SCOPE, "week")


def test_subscriptions_value_every_active_subscriber(engine):
    view = views.subscriptions(engine, SCOPE)
    assert view.state == "rows"
    assert sorted(view.subscribers["subscription_id"]) == [2, 4, 5]
    assert set(view.fits) == {"basic", "plus"}
    # Lifetime value = monthly value x 80 % x DERL wherever the plan's fit succeeded.
    fitted = view.subscribers.dropna(subset=["derl"])
    assert (fitted["lifetime_value"] == fitted["monthly_value"] * 0.8 * fitted["derl"]).all()
    assert view.equity == pytest.approx(fitted["lifetime_value"].sum())
