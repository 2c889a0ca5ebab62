"""One module per page: ``view(engine, scope, *settings)`` returns the page's frozen result.

A page calls its view through :func:`dashboard.app.context.load` (cached by store, data version,
scope and settings) and only lays the result out; an export renders the same result, so a page
and its export can never disagree. Each view runs the page's queries (aggregation in the
database, scoped by the :class:`~dashboard.scope.Scope`) and its domain functions, and keeps only
what the page shows.
"""
