"""Value curves: still to come; says what it will show."""

from dashboard.app.context import coming_soon, page_setup

ctx = page_setup("Value curves")
coming_soon(
    "For each group of customers, what they expect (importance) against what they get (performance) on every attribute, where they are under- or over-served ranked by the value at stake, and win/loss from opportunities."
)
