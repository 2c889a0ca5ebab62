"""Service: still to come; says what it will show."""

from dashboard.app.context import coming_soon, page_setup

ctx = page_setup("Service")
coming_soon(
    "The same service contacts through two lenses: cost center (handle time, contacts per agent, cost per contact) and value driver (satisfaction after contact, first-contact resolution, retention and revenue after contact), with a driver analysis and agents ranked both ways."
)
