"""``python -m dashboard report``: the story written to a file, and ``--as`` keeps to the user's
regions (a North manager's deck holds no South figure), on DuckDB and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from pptx import Presentation
from pypdf import PdfReader

from dashboard.cli import EXIT_DATA, EXIT_OK, EXIT_USAGE, main
from dashboard.scope import Scope
from dashboard.services.views import overview
from dashboard.storage.engine import make_engine
from tests.fixtures import load_tiny

ACCESS = """
[access]
executives = ["ceo@example.com"]
[access.regions]
"north.manager@example.com" = ["North"]
"""
PERIOD = "2024-04-01:2024-06-30"


@pytest.fixture
def tiny_url(store_url):
    engine = make_engine(store_url)
    load_tiny(engine)
    engine.dispose()
    return store_url


@pytest.fixture
def secrets(tmp_path):
    path = tmp_path / "secrets.toml"
    path.write_text(ACCESS, encoding="utf-8")
    return str(path)


def deck_text(path) -> str:
    parts = []
    for slide in Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                parts.append(shape.text_frame.text)
            if shape.has_table:
                parts += [c.text for row in shape.table.rows for c in row.cells]
            if shape.has_chart:
                for plot in shape.chart.plots:
                    parts += [str(c) for c in plot.categories]
                    parts += [s.name for s in plot.series]
        parts.append(slide.notes_slide.notes_text_frame.text)
    return "\n".join(parts)


def headline_revenue(path) -> str:
    for slide in Presentation(str(path)).slides:
        for shape in slide.shapes:
            if shape.has_table and shape.table.cell(3, 0).text == "Revenue":
                return shape.table.cell(3, 1).text
    raise AssertionError("no headline table")


def test_report_as_a_north_manager_holds_no_south_figure(tiny_url, secrets, tmp_path, capsys):
    everyone = tmp_path / "all.pptx"
    north = tmp_path / "north.pptx"
    assert main(["report", "--db", tiny_url, "--out", str(everyone), "--period", PERIOD]) == 0
    code = main(
        [
            "report",
            "--db",
            tiny_url,
            "--out",
            str(north),
            "--period",
            PERIOD,
            "--as",
            "north.manager@example.com",
            "--secrets",
            secrets,
        ]
    )
    assert code == EXIT_OK
    out = capsys.readouterr().out
    assert "regional manager (North)" in out and "[100%] Wrote" in out
    assert "South" in deck_text(everyone)
    text = deck_text(north)
    assert "South" not in text
    assert "regions: North" in text
    # The figures are those of the North scope, not of every region.
    engine = make_engine(tiny_url)
    kpis = {
        k.key: k.value
        for k in overview.view(
            engine, Scope(date(2024, 4, 1), date(2024, 6, 30), allowed_regions=("North",))
        ).kpis
    }
    engine.dispose()
    assert headline_revenue(north) == f"{kpis['revenue']:,.0f}"
    assert headline_revenue(everyone) == "850"
    assert headline_revenue(north) != "850"


def test_report_refuses_what_it_cannot_do(tiny_url, secrets, tmp_path, capsys):
    out = tmp_path / "r.pptx"
    args = ["report", "--db", tiny_url, "--out", str(out), "--period", PERIOD]
    assert main([*args, "--as", "stranger@example.com", "--secrets", secrets]) == EXIT_USAGE
    assert "not listed in [access]" in capsys.readouterr().err
    empty = tmp_path / "empty.toml"
    empty.write_text("", encoding="utf-8")
    assert main([*args, "--as", "ceo@example.com", "--secrets", str(empty)]) == EXIT_USAGE
    assert "--as needs access control" in capsys.readouterr().err
    north = [*args, "--as", "north.manager@example.com", "--secrets", secrets]
    assert main([*north, "--region", "South"]) == EXIT_DATA
    assert "is not one of your regions" in capsys.readouterr().err
    assert main([*args, "--story", "nope"]) == EXIT_USAGE
    assert main(["report", "--db", tiny_url, "--out", str(tmp_path / "r.docx")]) == EXIT_USAGE
    assert main([*args[:-1], "last-fortnight"]) == EXIT_USAGE
    assert not out.exists()  # nothing was written by a refused command


@pytest.mark.parametrize("story", ["cx"])
def test_report_pdf_of_a_named_story(tiny_url, tmp_path, story, capsys):
    out = tmp_path / "cx.pdf"
    assert (
        main(["report", "--db", tiny_url, "--out", str(out), "--period", PERIOD, "--story", story])
        == EXIT_OK
    )
    pages = PdfReader(str(out)).pages
    assert len(pages) == 4 + 2  # title page, the cx story's four screens, definitions
    assert "Revenue rose" in pages[1].extract_text() or "Revenue fell" in pages[1].extract_text()


def test_report_of_a_saved_story(tiny_url, tmp_path):
    from dashboard.services import saved_stories

    engine = make_engine(tiny_url)
    saved_stories.save(engine, "  Monthly   CX review ", ["loyalty", "Whale curve"])
    with pytest.raises(ValueError, match="known screens"):
        saved_stories.save(engine, "Broken", ["whale", "nonsense"])
    assert saved_stories.all_stories(engine)["Monthly CX review"] == ("loyalty", "whale")
    engine.dispose()
    out = tmp_path / "cx.pptx"
    args = ["report", "--db", tiny_url, "--out", str(out), "--period", PERIOD]
    assert main([*args, "--story", "Monthly CX review"]) == EXIT_OK
    titles = [s.shapes.title.text for s in Presentation(str(out)).slides]
    assert titles[1].startswith("Satisfied but leaving") or titles[1].startswith("No customer")
    assert any(t.startswith("The most profitable 20%") for t in titles)
