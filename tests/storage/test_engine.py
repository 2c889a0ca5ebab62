"""URL resolution: environment first, then secrets.toml, then the embedded default."""

from __future__ import annotations

import pytest

from dashboard.storage import engine


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    monkeypatch.delenv(engine.ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "PROJECT_ROOT", tmp_path / "project")
    monkeypatch.setattr(engine.Path, "home", lambda: tmp_path / "home")
    return tmp_path


def write_secrets(folder, text):
    (folder / ".streamlit").mkdir(parents=True, exist_ok=True)
    (folder / ".streamlit" / "secrets.toml").write_text(text, encoding="utf-8")


def test_default_is_the_embedded_duckdb_file(isolated):
    location = engine.resolve_url()
    assert location.is_default and location.url.startswith("duckdb:///")
    assert location.url.endswith("data/portfolio.duckdb")


def test_secrets_then_environment_wins(isolated, monkeypatch):
    write_secrets(isolated, '[connections.portfolio]\nurl = "postgresql://u:pw@db/x"\n')
    assert engine.resolve_url() == engine.StoreLocation("postgresql://u:pw@db/x", "secrets")
    monkeypatch.setenv(engine.ENV_VAR, "duckdb:///other.duckdb")
    assert engine.resolve_url().source == "environment"
    assert engine.resolve_url("sqlite:///x.db").source == "argument"


def test_broken_secrets_file_is_a_clear_error(isolated):
    write_secrets(isolated, "[connections.portfolio\n")
    with pytest.raises(engine.StoreError, match="not valid TOML"):
        engine.resolve_url()


def test_password_is_hidden_and_names_are_short():
    location = engine.StoreLocation("postgresql+psycopg://u:secret@db:5432/analytics", "secrets")
    assert "secret" not in location.display_url
    assert location.short_name == "PostgreSQL analytics"
    assert (
        engine.StoreLocation("duckdb:////x/data/portfolio.duckdb", "default").short_name
        == "DuckDB portfolio.duckdb"
    )


def test_bad_url_and_missing_driver_are_store_errors():
    with pytest.raises(engine.StoreError, match="is not a database URL"):
        engine.make_engine("not a url")
    with pytest.raises(engine.StoreError, match="No database driver"):
        engine.make_engine("mssql+nosuchdriver://x/y")


def test_has_tables(tmp_path):
    from dashboard.storage.schema import clv_runs, customers

    store = engine.make_engine(f"duckdb:///{tmp_path / 's.duckdb'}")
    assert not engine.has_tables(store, customers)
    engine.create_schema(store)
    assert engine.has_tables(store, customers, clv_runs)


@pytest.mark.postgres
def test_postgres_sessions_start_with_jit_off_unless_the_url_says_otherwise():
    from sqlalchemy import text

    from tests.conftest import throwaway_pg_schema

    with throwaway_pg_schema("settings") as url:
        shown = {}
        for name, extra in (("default", ""), ("url", " -c jit=on -c work_mem=8MB")):
            # The throw-away URL ends in its options (search_path): extend them.
            store = engine.make_engine(url + extra.replace(" ", "%20").replace("=", "%3D"))
            with store.connect() as conn:
                shown[name] = (
                    conn.execute(text("SHOW jit")).scalar_one(),
                    conn.execute(text("SHOW work_mem")).scalar_one(),
                )
            store.dispose()
    assert shown["default"] == ("off", "32MB")
    assert shown["url"] == ("on", "8MB")
