"""Streamlit helpers shared by the pages: cached resources and catalog-driven widgets.
No domain logic lives here — verdicts, explanations and statistics come from ``preauth``."""
