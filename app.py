"""Customer-portfolio dashboard: the router. Pages live in pages/, logic in dashboard/."""

import streamlit as st

st.set_page_config(page_title="Customer portfolio", page_icon="📊", layout="wide")

navigation = st.navigation(
    {
        "Portfolio": [
            st.Page("pages/overview.py", title="Overview", icon="📊", default=True),
            st.Page("pages/segments.py", title="Segments", icon="🧩"),
            st.Page("pages/customer_value.py", title="Customer value", icon="💰"),
            st.Page("pages/value_curves.py", title="Value curves", icon="📈"),
        ],
        "Loyalty and service": [
            st.Page("pages/loyalty.py", title="Loyalty vs satisfaction", icon="🤝"),
            st.Page("pages/service.py", title="Service", icon="🎧"),
        ],
    }
)
navigation.run()
