"""Random durations (exponential, lognormal, constant) drawn as whole milliseconds."""

from __future__ import annotations

import math
from random import Random

from wallboard.sim.scenario import Duration

_EXPONENTIAL, _LOGNORMAL, _CONSTANT = 0, 1, 2


class DurationSampler:
    """Draws one :class:`~wallboard.sim.scenario.Duration` from a given generator, in ms.

    Lognormal parameters are derived from the requested mean ``m`` and standard deviation
    ``s`` of the duration itself: σ² = ln(1 + s²/m²), μ = ln m - σ²/2.
    """

    __slots__ = ("_a", "_b", "_kind", "mean_ms", "spec")

    def __init__(self, spec: Duration) -> None:
        self.spec = spec
        mean_ms = spec.mean * 1000.0
        self.mean_ms = mean_ms
        if spec.dist == "exponential":
            self._kind, self._a, self._b = _EXPONENTIAL, mean_ms, 0.0
        elif spec.dist == "lognormal":
            sd_ms = (spec.sd or 0.0) * 1000.0
            sigma2 = math.log1p((sd_ms / mean_ms) ** 2)
            self._kind, self._a, self._b = _LOGNORMAL, math.log(mean_ms) - sigma2 / 2, sigma2**0.5
        else:
            self._kind, self._a, self._b = _CONSTANT, mean_ms, 0.0

    def sample(self, rng: Random) -> int:
        kind = self._kind
        if kind == _EXPONENTIAL:
            # 1 - random() is in (0, 1], so the log is finite.
            return int(-self._a * math.log(1.0 - rng.random()) + 0.5)
        if kind == _LOGNORMAL:
            return int(math.exp(self._a + self._b * rng.gauss(0.0, 1.0)) + 0.5)
        return int(self._a + 0.5)
