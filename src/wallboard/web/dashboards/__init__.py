"""Dashboards and wallboards: named pages of widgets, shared or private, wallboards rotating."""
