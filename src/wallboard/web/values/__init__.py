"""A widget's data: its current values with their freshness, its interval history for trend
charts, and the CSV export of its values."""
