"""Error messages for people: the one place that turns an exception into a line of text."""

from __future__ import annotations


class StoreError(RuntimeError):
    """The store cannot be used; the message says what is wrong and how to fix it.

    Defined here so every layer can raise and catch it; ``dashboard.storage.engine`` exports it.
    """


#: Longest detail quoted from a database driver's message.
MAX_DETAIL = 300


def first_line(exc: BaseException, limit: int = MAX_DETAIL) -> str:
    """The first line of an exception's message (the driver's own, for SQLAlchemy errors).

    Database drivers put the useful sentence first and a long SQL echo after it; SQLAlchemy
    wraps the driver's exception in ``orig``. Falls back to the exception's type name when the
    message is empty, and cuts the line at ``limit`` characters.
    """
    text = str(getattr(exc, "orig", None) or exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:limit]
