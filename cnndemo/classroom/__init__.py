"""Classroom mode: the shared class store, state links and the lesson path (no streamlit)."""
