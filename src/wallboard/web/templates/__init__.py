"""Widget templates: reusable sets of statistics with aliases, formats and thresholds."""
