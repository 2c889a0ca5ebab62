"""First run on the embedded default: the demo is built, fitted and segmented, then shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.storage import clv_store, engine, queries, segment_store

ROOT = Path(__file__).resolve().parents[2]


def _default_store(tmp_path, monkeypatch) -> str:
    """A temporary file as the app's embedded default store (no URL configured)."""
    url = f"duckdb:///{tmp_path / 'portfolio.duckdb'}"
    monkeypatch.delenv("DASHBOARD_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .streamlit/secrets.toml here
    monkeypatch.setattr(engine, "PROJECT_ROOT", tmp_path)
    monkeypatch.setattr(engine, "DEFAULT_DB_URL", url)
    monkeypatch.setattr(Path, "home", lambda: tmp_path)
    monkeypatch.setenv("DASHBOARD_DEMO_CUSTOMERS", "2000")
    return url


def test_first_run_builds_fits_and_segments_the_demo(tmp_path, monkeypatch):
    url = _default_store(tmp_path, monkeypatch)
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


def test_an_interrupted_first_run_is_completed_by_the_next_start(tmp_path, monkeypatch):
    from dashboard.services.demo import COMPLETE_MARKER, build_demo
    from dashboard.storage.markers import read_marker

    url = _default_store(tmp_path, monkeypatch)
    store = engine.make_engine(url)
    counts = build_demo(store, 2_000, seed=42)  # the tables, then the visitor closed the tab
    assert clv_store.latest_run(store) is None and segment_store.latest_run(store) is None
    store.dispose()  # release the file, as a stopped server does

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()

    assert not at.exception, at.exception
    assert not at.error
    assert len(at.metric) == 8
    assert not [i for i in at.info if "First run" in i.value]
    store = engine.make_engine(url)
    assert engine.contract_row_counts(store) == counts  # completed, not rebuilt
    assert clv_store.latest_run(store) is not None
    assert segment_store.latest_run(store) is not None
    assert read_marker(store, COMPLETE_MARKER) is not None
    store.dispose()


def test_a_failed_build_is_a_plain_message_with_a_retry(tmp_path, monkeypatch):
    from dashboard.services import demo

    _default_store(tmp_path, monkeypatch)
    real = demo.complete_first_run

    def broken(engine_, n_customers, *, progress=None):
        progress(0.3, "Fitting the lifetime-value model…")
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "complete_first_run", broken)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run()

    assert not at.exception, at.exception
    assert len(at.error) == 1
    message = at.error[0].value
    assert "first-run build of the demo store failed" in message
    assert "RuntimeError: disk full" in message and "Fitting the lifetime-value model" in message
    assert "Traceback" not in message
    assert not at.metric

    monkeypatch.setattr(demo, "complete_first_run", real)
    at.button[0].click().run()  # "Try the build again"

    assert not at.exception, at.exception
    assert not at.error
    assert len(at.metric) == 8


def test_the_build_thread_finishes_without_any_page(tmp_path):
    """The thread path alone: started, nobody watches (the tab was closed), it completes."""
    from dashboard.app.first_run import FirstRuns
    from dashboard.services.demo import COMPLETE_MARKER
    from dashboard.storage.markers import read_marker

    url = f"duckdb:///{tmp_path / 'portfolio.duckdb'}"
    store = engine.make_engine(url)
    runs = FirstRuns()
    finished: list[bool] = []
    job = runs.start_or_get(url, store, 1_000, on_done=lambda: finished.append(True))
    assert job is not None and job.step == "build"
    assert runs.start_or_get(url, store, 1_000) is job  # a second visitor: the same job
    job.join(timeout=300)

    fraction, _, error, done = job.snapshot()
    assert done and error is None and fraction == pytest.approx(1.0)
    assert finished == [True]
    assert queries.data_bounds(store).customers == 1_000
    assert clv_store.latest_run(store) is not None
    assert segment_store.latest_run(store) is not None
    assert read_marker(store, COMPLETE_MARKER) is not None
    assert runs.start_or_get(url, store, 1_000) is None  # complete: no second build
    store.dispose()
