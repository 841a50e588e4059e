"""What every Wallboard process shares to be operable: logging, metrics, health endpoints."""
