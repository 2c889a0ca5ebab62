"""The use-case layer: what a user or an operator does, and what each page shows.

- One module per action: :mod:`~dashboard.services.demo` (build the demo portfolio),
  :mod:`~dashboard.services.importing` (import a file), :mod:`~dashboard.services.lifetime_value`
  (fit and store the value models), :mod:`~dashboard.services.segmentation` (segment and store).
- :mod:`dashboard.services.views`: one module per page with a ``view(engine, scope, ...)``
  function returning a frozen result (figures, tables, findings, chart data) that the page lays
  out and an export renders.

No Streamlit here: the CLI, the app and the tests call the same functions. Storage reads and
writes, the domain computes; this layer composes them. See ``docs/architecture.md``.
"""
