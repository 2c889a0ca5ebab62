"""Segments: still to come; says what it will show."""

from dashboard.app.context import coming_soon, page_setup

ctx = page_setup("Segments")
coming_soon(
    "Which homogeneous groups the portfolio holds (scikit-learn clustering on recency, frequency, value, cost to serve, satisfaction and referrals), what each segment is worth (size, revenue, margin, profit and lifetime-value share), how each differs from the average, a playbook of one treatment per segment, and how customers migrate between segments."
)
