"""The Story page and the export buttons of every page, under AppTest on the tiny store."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 60
PERIOD = {"period": "Custom", "from": "2024-04-01", "to": "2024-06-30"}


def run(page: str, query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=TIMEOUT)
    for key, value in {**PERIOD, **(query or {})}.items():
        at.query_params[key] = value
    return at.run()


def position(at: AppTest) -> str:
    return next(c.value for c in at.caption if c.value.startswith("Screen "))


def test_story_steps_through_its_screens_and_keeps_the_position_in_the_link(tiny_url):
    at = run("story.py", {"screen": "2"})
    assert not at.exception, at.exception
    assert position(at).startswith("Screen 2 of 7: **Whale curve**")
    next_button = next(b for b in at.button if b.label == "Next")
    at = next_button.click().run()
    assert position(at).startswith("Screen 3 of 7: **What segments are worth**")
    assert at.query_params["screen"] == "3"
    at = next(b for b in at.button if b.label == "Previous").click().run()
    at = next(b for b in at.button if b.label == "Previous").click().run()
    assert position(at).startswith("Screen 1 of 7: **Headline figures**")
    assert next(b for b in at.button if b.label == "Previous").disabled
    # The finding is the chart's title: the tiny store's April-June revenue is 850.
    assert "Revenue" in at.get("plotly_chart")[0].proto.spec


def test_story_follows_the_sequence_of_its_link_and_reorders(tiny_url):
    at = AppTest.from_file(str(ROOT / "pages" / "story.py"), default_timeout=TIMEOUT)
    for key, value in PERIOD.items():
        at.query_params[key] = value
    # The link names the screens as the list shows them.
    at.query_params["screens"] = ["Acquisition payback", "Whale curve"]
    at.query_params["screen"] = "2"
    at.run()
    assert not at.exception, at.exception
    assert position(at).startswith("Screen 2 of 2: **Whale curve**")
    at = next(b for b in at.button if b.label == "Move this screen earlier").click().run()
    assert at.multiselect[0].value == ["whale", "payback"]
    assert position(at).startswith("Screen 1 of 2: **Whale curve**")
    at = at.multiselect[0].set_value([]).run()
    assert any("The story has no screen" in i.value for i in at.info)


@pytest.mark.parametrize(
    ("page", "expected"),
    [("overview.py", 3), ("story.py", 7), ("loyalty.py", 3)],
)
def test_pages_offer_pptx_pdf_and_csv_downloads(tiny_url, page, expected):
    at = run(page)
    assert not at.exception, at.exception
    labels = [b.proto.label for b in at.get("download_button")]
    assert "PowerPoint (.pptx)" in labels and "PDF" in labels
    assert sum(label.endswith("(CSV)") for label in labels) >= 1
    assert len(labels) >= expected


def test_presentation_mode_shows_the_story_without_the_downloads(tiny_url):
    at = run("story.py", {"present": "true", "screen": "1"})
    assert not at.exception, at.exception
    assert position(at).startswith("Screen 1 of 7")
    assert len(at.get("download_button")) == 0
    assert at.get("plotly_chart")  # the screen's chart is still there


def test_a_story_saved_on_the_page_opens_again_and_is_the_reports(tiny_url, tmp_path):
    from dashboard.services import report
    from dashboard.storage.engine import make_engine

    at = AppTest.from_file(str(ROOT / "pages" / "story.py"), default_timeout=TIMEOUT)
    for key, value in PERIOD.items():
        at.query_params[key] = value
    at.query_params["screens"] = ["Acquisition payback", "Whale curve"]
    at.run()
    at.text_input(key="story_save_name").input("Monthly CX review").run()
    at = next(b for b in at.button if b.label == "Save story").click().run()
    assert not at.exception, at.exception
    assert any("Saved 'Monthly CX review'" in s.value for s in at.success)
    engine = make_engine(tiny_url)
    assert report.story_keys("Monthly CX review", None, engine) == ("payback", "whale")
    engine.dispose()
    at = next(b for b in at.button if b.label == "Default story").click().run()
    assert len(at.multiselect[0].value) == 7
    at = at.selectbox(key="story_name").select("Monthly CX review").run()
    assert at.multiselect[0].value == ["payback", "whale"]
    # A built-in name is refused, with the reason.
    at.text_input(key="story_save_name").input("default").run()
    at = next(b for b in at.button if b.label == "Save story").click().run()
    assert any("is a built-in story" in e.value for e in at.error)
