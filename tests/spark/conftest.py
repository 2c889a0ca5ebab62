"""One local Spark Thrift server per test run, with the 2,000-customer demo loaded into it.

Skipped, with the reason, where Java or the Spark distribution is missing."""

from __future__ import annotations

import time

import pytest

from tests.spark_server import SparkThriftServer, unavailable_reason

DEMO_CUSTOMERS = 2000


@pytest.fixture(scope="package")
def spark_demo(tmp_path_factory):
    """(hive URL, app store URL, environment) of a Spark store holding the demo, fitted."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"Spark tests skipped: {reason}")
    folder = tmp_path_factory.mktemp("spark")
    env = {
        "DASHBOARD_APP_DB_URL": f"duckdb:///{folder / 'app.duckdb'}",
        "DASHBOARD_SPARK_TABLES_DIR": str(folder / "tables"),
        "DASHBOARD_SPARK_EXCHANGE_DIR": str(folder / "exchange"),
    }
    patch = pytest.MonkeyPatch()
    for key, value in env.items():
        patch.setenv(key, value)
    server = SparkThriftServer(folder / "server").start()
    try:
        from dashboard.cli import main

        started = time.perf_counter()
        code = main(["demo", "--db", server.url, "--customers", str(DEMO_CUSTOMERS)])
        assert code == 0
        print(f"\nSpark: server up in {server.started_in:.1f} s, demo loaded and fitted in "
              f"{time.perf_counter() - started:.1f} s")  # fmt: skip
        # The variables must not outlive the set-up: tests after these would route their app
        # tables to this store. Each Spark test gets them again (_spark_environment).
        patch.undo()
        yield server.url, env
    finally:
        server.stop()
        patch.undo()


@pytest.fixture(autouse=True)
def _spark_environment(request, monkeypatch):
    """The Spark store's environment for the tests that use it, and for no other test."""
    if "spark_demo" in request.fixturenames:
        _, env = request.getfixturevalue("spark_demo")
        for key, value in env.items():
            monkeypatch.setenv(key, value)
