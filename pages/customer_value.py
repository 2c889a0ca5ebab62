"""Customer value: still to come; says what it will show."""

from dashboard.app.context import coming_soon, page_setup

ctx = page_setup("Customer value")
coming_soon(
    "Profit per customer (gross margin − service cost − acquisition cost) and the whale curve, predicted lifetime value (BG/NBD + Gamma-Gamma) with the model's holdout accuracy, customer equity, acquisition cost by channel and cohort, LTV/CAC and payback curves."
)
