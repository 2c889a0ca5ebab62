"""Data: what the store holds, table by table, and (for an admin) a CSV upload."""

import pandas as pd
import streamlit as st

from dashboard.app.context import load, page_setup, run_action
from dashboard.services import importing
from dashboard.services.views import data as data_view

#: Session key of the last upload's success message (shown after the rerun that follows it).
_DONE = "data_upload_done"

ctx = page_setup(
    "Data",
    "What the store holds: each table of the data contract, its rows and dates, when it was "
    "last loaded, and what the contract check finds. Figures are of the whole store, not the "
    "filters.",
)
view = load(data_view.view, ctx)

st.subheader("Tables")
frame = pd.DataFrame([vars(row) for row in view.tables])
st.dataframe(
    frame,
    hide_index=True,
    width="stretch",
    column_config={
        "table": st.column_config.TextColumn(
            "Table", help="Contract table (docs/data-contract.md)."
        ),
        "rows": st.column_config.NumberColumn("Rows", format="%d", help="Rows in the whole store."),
        "first": st.column_config.DateColumn(
            "First date", help="Earliest date of the table's date column."
        ),
        "last": st.column_config.DateColumn(
            "Last date", help="Latest date of the table's date column."
        ),
        "loaded_at": st.column_config.DatetimeColumn(
            "Last load",
            format="YYYY-MM-DD HH:mm",
            help="When rows were last written by import or upload (the data version's time "
            "for a demo build or an outside load).",
        ),
        "feeds": st.column_config.TextColumn("Feeds", help="Pages that read the table."),
        "status": st.column_config.TextColumn("Status"),
    },
)

st.subheader("Contract check")
st.caption(view.verdict)
if view.findings:
    for severity, where, message in view.findings:
        (st.error if severity == "error" else st.warning)(f"**{where}**: {message}")
else:
    st.success("No errors or warnings.")

st.subheader("Load a CSV file")
if not ctx.access.may_write:
    st.caption("Only an administrator may load data.")
    st.stop()
st.caption(
    "Validated with the same rules and messages as `python -m dashboard import`: every row "
    "is checked first, and the file is loaded all or nothing. Rows already stored with "
    "identical values are skipped. Columns: docs/data-contract.md."
)
table = st.selectbox("Table", data_view.TABLE_NAMES, key="data_upload_table")
date_format = st.text_input(
    "Date format (optional)",
    key="data_upload_date_format",
    placeholder="%d/%m/%Y",
    help="strptime format of the date columns, e.g. %Y%m%d or %d/%m/%Y. Empty: ISO dates "
    "(2024-01-31) and timestamps, reduced to the date as written.",
)
if done := st.session_state.pop(_DONE, None):
    st.success(done)
upload = st.file_uploader("CSV file (UTF-8, comma-separated, header row)", type=["csv"])
if upload is not None and st.button("Validate and load", type="primary", key="data_upload_go"):
    try:
        result = run_action(
            ctx,
            importing.import_upload,
            table,
            upload.getvalue(),
            upload.name,
            date_format=date_format.strip() or None,
        )
    except importing.ImportRejected as exc:
        st.error(
            f"Nothing was loaded into {table}: {upload.name} has {len(exc.issues)} problem(s). "
            "Rows are numbered as in a spreadsheet: the header is row 1."
        )
        st.code("\n".join(str(issue) for issue in exc.issues[:50]), language=None, wrap_lines=True)
        if len(exc.issues) > 50:
            st.caption(f"... and {len(exc.issues) - 50:,} more problem(s).")
    except (importing.StoreError, importing.UnknownTableError) as exc:
        st.error(str(exc))
    else:
        # Rerun so the table above counts the new rows; the message survives the rerun.
        st.session_state[_DONE] = (
            f"Loaded {result.file} into {result.table}: {result.rows_in_file:,} row(s), "
            f"{result.inserted:,} added, {result.skipped_identical:,} already stored (skipped)."
        )
        st.rerun()
