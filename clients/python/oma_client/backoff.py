"""Exponential backoff with full jitter, shared by watch reconnects and emit retries."""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Before retry n (0-based) wait a uniform time in [0, min(max_s, initial_s * multiplier**n)]."""

    initial_s: float = 0.1
    max_s: float = 5.0
    multiplier: float = 2.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.max_s, self.initial_s * self.multiplier ** attempt))
