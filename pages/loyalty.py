"""Loyalty vs satisfaction: still to come; says what it will show."""

from dashboard.app.context import coming_soon, page_setup

ctx = page_setup("Loyalty vs satisfaction")
coming_soon(
    "A behavioural loyalty index (repeat purchase, spend trend, referrals, tenure) against satisfaction (CSAT, NPS), the four quadrants — loyal advocates, satisfied but leaving, loyal but unhappy, lost — and the revenue held by satisfied customers who are leaving."
)
