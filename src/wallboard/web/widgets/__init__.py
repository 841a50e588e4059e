"""Widgets: one tile of a dashboard — a template's statistics on chosen objects, shown one way."""
