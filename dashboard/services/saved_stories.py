"""Save, list and delete named stories (the Story page's "Save this story", admins only)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from dashboard.services import story
from dashboard.storage import story_store


def save(engine: Engine, name: str, screens: Sequence[str]) -> str:
    """Save ``screens`` as the story ``name``; returns the name as stored.

    Raises ValueError with what to change: an empty or too long name, a built-in story's name,
    no screen or an unknown one.
    """
    name = " ".join(str(name).split())
    if not name:
        raise ValueError("Give the story a name")
    if len(name) > story_store.MAX_NAME:
        raise ValueError(f"A story's name has at most {story_store.MAX_NAME} characters")
    if name.lower() in story.STORIES:
        raise ValueError(f"'{name}' is a built-in story; choose another name")
    keys = story.parse_screens(list(screens))
    if not keys or len(keys) != len(list(screens)):
        raise ValueError(f"A story needs known screens; screens: {', '.join(story.SCREENS)}")
    story_store.save_story(engine, name, keys)
    return name


def delete(engine: Engine, name: str) -> None:
    """Delete the saved story ``name``."""
    story_store.delete_story(engine, name)


def all_stories(engine: Engine) -> dict[str, tuple[str, ...]]:
    """The built-in stories, then the saved ones (a saved name never hides a built-in one)."""
    saved = {
        n: s for n, s in story_store.saved_stories(engine).items() if n.lower() not in story.STORIES
    }
    return {**story.STORIES, **saved}
