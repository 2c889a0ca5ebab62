"""Customer-portfolio dashboard: the router. Pages live in pages/, logic in dashboard/."""

import streamlit as st

from dashboard.app.auth import gate

st.set_page_config(
    page_title="Customer portfolio", page_icon=":material/donut_large:", layout="wide"
)
# With [auth] configured: nothing of the data before sign-in, and nothing for an unlisted user.
gate()

navigation = st.navigation(
    {
        "Portfolio": [
            st.Page(
                "pages/overview.py", title="Overview", icon=":material/dashboard:", default=True
            ),
            st.Page("pages/segments.py", title="Segments", icon=":material/workspaces:"),
            st.Page("pages/customer_value.py", title="Customer value", icon=":material/payments:"),
            st.Page("pages/value_curves.py", title="Value curves", icon=":material/show_chart:"),
        ],
        "Loyalty and service": [
            st.Page(
                "pages/loyalty.py", title="Loyalty vs satisfaction", icon=":material/handshake:"
            ),
            st.Page("pages/service.py", title="Service", icon=":material/support_agent:"),
        ],
        "Audit": [
            st.Page("pages/audit.py", title="Customer-base audit", icon=":material/fact_check:"),
        ],
        "Meetings": [
            st.Page("pages/story.py", title="Story", icon=":material/slideshow:"),
        ],
    }
)
navigation.run()
