"""Random durations (exponential, lognormal, constant) drawn as whole milliseconds."""

from __future__ import annotations

import math
from collections.abc import Callable
from random import Random

from wallboard.sim.scenario import Duration


class DurationSampler:
    """Draws one :class:`~wallboard.sim.scenario.Duration` from a given generator, in ms.

    Lognormal parameters are derived from the requested mean ``m`` and standard deviation
    ``s`` of the duration itself: σ² = ln(1 + s²/m²), μ = ln m - σ²/2.

    :attr:`sample` is a function made for the distribution at set-up, with its parameters
    bound as locals: it runs a few hundred thousand times per simulated hour of a large
    center, and a branch on the kind plus attribute look-ups would cost more than the draw.
    """

    __slots__ = ("mean_ms", "sample", "spec")

    sample: Callable[[Random], int]
    """A duration in whole milliseconds, drawn from the given generator."""

    def __init__(self, spec: Duration) -> None:
        self.spec = spec
        mean_ms = spec.mean * 1000.0
        self.mean_ms = mean_ms
        if spec.dist == "exponential":
            self.sample = _exponential(mean_ms)
        elif spec.dist == "lognormal":
            sd_ms = (spec.sd or 0.0) * 1000.0
            sigma2 = math.log1p((sd_ms / mean_ms) ** 2)
            self.sample = _lognormal(math.log(mean_ms) - sigma2 / 2, sigma2**0.5)
        else:
            self.sample = _constant(int(mean_ms + 0.5))


def _exponential(mean_ms: float) -> Callable[[Random], int]:
    log = math.log

    def sample(rng: Random) -> int:
        # 1 - random() is in (0, 1], so the log is finite.
        return int(-mean_ms * log(1.0 - rng.random()) + 0.5)

    return sample


def _lognormal(mu: float, sigma: float) -> Callable[[Random], int]:
    exp = math.exp

    def sample(rng: Random) -> int:
        return int(exp(mu + sigma * rng.gauss(0.0, 1.0)) + 0.5)

    return sample


def _constant(ms: int) -> Callable[[Random], int]:
    def sample(rng: Random) -> int:
        return ms

    return sample
