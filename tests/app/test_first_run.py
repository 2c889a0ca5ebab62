"""First run on the embedded default: the demo is built, fitted and segmented, then shown."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from dashboard.storage import clv_store, engine, queries, segment_store

ROOT = Path(__file__).resolve().parents[2]


def test_first_run_builds_fits_and_segments_the_demo(tmp_path, monkeypatch):
    url = f"duckdb:///{tmp_path / 'portfolio.duckdb'}"
    monkeypatch.delenv("DASHBOARD_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    monkeypatch.setattr(engine, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(engine, "DEFAULT_DB_URL", url)
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    monkeypatch.setenv("DASHBOARD_DEMO_CUSTOMERS", "2000")
    assert engine.resolve_url().is_default

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()

    assert not at.exception, at.exception
    assert not at.error
    assert len(at.metric) == 8
    assert not [i for i in at.info if "First run" in i.value]  # the notice goes once done
    store = engine.make_engine(url)
    assert queries.data_bounds(store).customers == 2000
    assert clv_store.latest_run(store) is not None
    assert segment_store.latest_run(store) is not None
    store.dispose()
