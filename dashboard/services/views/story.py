"""Story page: the named stories it can open (built-in and saved from the page)."""

from __future__ import annotations

from sqlalchemy import Engine

from dashboard.scope import Scope
from dashboard.services import saved_stories

#: What each function of this module computes, shown while it runs on a cache miss.
COMPUTING = {"stories": "Reading the saved stories"}


def stories(engine: Engine, scope: Scope) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(name, screen keys) of every story, built-in first; the same for every scope."""
    return tuple(saved_stories.all_stories(engine).items())
