"""Plotly figure builders, one module per lesson: arrays in, figures out."""
