"""Never a blank wait: while a view runs on a cache miss, the page says what it computes.

``load`` wraps the cached view call in ``st.spinner`` (shown only after Streamlit's 0.5 s
delay, so a cache hit shows nothing); the text comes from the view module's ``COMPUTING``.
"""

from __future__ import annotations

import ast
import functools
import importlib
import time
from datetime import date
from pathlib import Path

import pytest
from streamlit.elements import spinner as spinner_module
from streamlit.testing.v1 import AppTest

from dashboard.app.context import DEFAULT_COMPUTING, computing_text
from dashboard.scope import Scope
from dashboard.services.views import overview

ROOT = Path(__file__).resolve().parents[2]
VIEWS = "dashboard.services.views"


def views_loaded_by_pages() -> set[tuple[str, str]]:
    """(view module, function) of every ``load(<module>.<function>, ...)`` in ``pages/``."""
    found = set()
    for page in (ROOT / "pages").glob("*.py"):
        tree = ast.parse(page.read_text(encoding="utf-8"))
        aliases = {
            alias.asname or alias.name: f"{VIEWS}.{alias.name}"
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module == VIEWS
            for alias in node.names
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "load"
                and isinstance(node.args[0], ast.Attribute)
                and isinstance(node.args[0].value, ast.Name)
            ):
                found.add((aliases[node.args[0].value.id], node.args[0].attr))
    return found


def test_every_view_a_page_loads_says_what_it_computes():
    loaded = views_loaded_by_pages()
    assert len(loaded) >= 9  # six pages, the segment drill-downs, the value-curve groupings
    scope = Scope(start=date(2024, 1, 1), end=date(2024, 6, 30), regions=("North",))
    for module_name, function_name in sorted(loaded):
        module = importlib.import_module(module_name)
        what = module.COMPUTING.get(function_name)
        assert what and len(what) <= 100, f"{module_name}.{function_name} has no short text"
        text = computing_text(getattr(module, function_name), scope)
        assert text == f"{what} for {scope.describe()}…"
        assert "01 Jan 2024 – 30 Jun 2024" in text and "regions: North" in text


def test_a_view_without_a_text_gets_the_default():
    def unknown(engine, scope):  # a module-level name of a module without COMPUTING
        return None

    scope = Scope(start=date(2024, 1, 1), end=date(2024, 1, 31))
    assert computing_text(unknown, scope).startswith(DEFAULT_COMPUTING + " for 01 Jan 2024")


@pytest.fixture
def shown_spinners(monkeypatch) -> list[str]:
    """Texts of the spinners Streamlit actually sends to the browser (after its delay)."""
    shown: list[str] = []
    real = spinner_module.enqueue_message

    def spy(msg):
        shown.extend(
            e.spinner.text for e in msg.delta.new_transient.elements if e.HasField("spinner")
        )
        return real(msg)

    monkeypatch.setattr(spinner_module, "enqueue_message", spy)
    return shown


def test_a_slow_view_shows_its_text_and_a_cache_hit_shows_nothing(
    tiny_url, monkeypatch, shown_spinners
):
    original = overview.view

    @functools.wraps(original)  # same module and name: load and its cache see overview.view
    def slow(engine, scope):
        time.sleep(1.5)  # three times Streamlit's spinner delay
        return original(engine, scope)

    monkeypatch.setattr(overview, "view", slow)
    at = AppTest.from_file(str(ROOT / "pages" / "overview.py"), default_timeout=60).run()
    assert not at.exception, at.exception
    ours = [t for t in shown_spinners if t.startswith(overview.COMPUTING["view"])]
    assert len(ours) == 1, shown_spinners
    assert " for " in ours[0] and "regions: all" in ours[0]

    shown_spinners.clear()
    at.run()  # same page, same filters: a cache hit
    assert not at.exception, at.exception
    assert not [t for t in shown_spinners if t.startswith(overview.COMPUTING["view"])]
