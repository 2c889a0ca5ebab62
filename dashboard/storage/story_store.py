"""Named stories saved from the Story page: one row each in ``dataset_info`` (``story:NAME``).

The value is JSON (``{"screens": [...], "saved_at": ...}``); no table of its own, so a warehouse
needs nothing new beyond the app's ``dataset_info``. ``python -m dashboard report --story NAME``
reads them.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import Engine, select

from dashboard.storage.engine import ensure_app_tables, existing_tables
from dashboard.storage.markers import write_marker
from dashboard.storage.schema import dataset_info

#: Key prefix of a saved story in ``dataset_info`` (keys hold at most 50 characters).
PREFIX = "story:"
MAX_NAME = 50 - len(PREFIX)


def saved_stories(engine: Engine) -> dict[str, tuple[str, ...]]:
    """Every saved story: name -> screen keys, by name."""
    if "dataset_info" not in existing_tables(engine):
        return {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(dataset_info.c.key, dataset_info.c.value)
            .where(dataset_info.c.key.startswith(PREFIX))
            .order_by(dataset_info.c.key)
        ).all()
    stories = {}
    for key, value in rows:
        try:
            stories[key[len(PREFIX) :]] = tuple(json.loads(value)["screens"])
        except (ValueError, KeyError, TypeError):
            continue  # a row another program wrote badly: not a story
    return stories


def save_story(engine: Engine, name: str, screens: tuple[str, ...]) -> None:
    """Store ``screens`` under ``name`` (replacing a story of that name)."""
    ensure_app_tables(engine)
    value = json.dumps({"screens": list(screens), "saved_at": datetime.now().isoformat()})
    write_marker(engine, PREFIX + name, value)


def delete_story(engine: Engine, name: str) -> None:
    """Forget the story ``name`` (nothing happens when there is none)."""
    if "dataset_info" not in existing_tables(engine):
        return
    with engine.begin() as conn:
        conn.execute(dataset_info.delete().where(dataset_info.c.key == PREFIX + name))
