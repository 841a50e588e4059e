"""Adapters for real contact-center platforms: raw platform records → ``wallboard.core`` events."""
