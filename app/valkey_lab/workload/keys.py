"""Key generators for workloads."""
from __future__ import annotations

from valkey_lab.clients.cluster import keys_in_ranges


class ShardKeys:
    """``keys(i)``: the i-th key ``prefix:<n>`` whose slot lies in ``ranges`` (extended lazily,
    so a writer never runs out of distinct keys)."""

    def __init__(self, prefix: str, ranges, batch: int = 500):
        self.prefix, self.ranges, self.batch = prefix, list(ranges), batch
        self.keys: list[str] = []
        self._next = 0

    def __call__(self, i: int) -> str:
        while len(self.keys) <= i:
            more = keys_in_ranges(self.prefix, self.ranges, self.batch, start=self._next)
            self._next = int(more[-1].rsplit(":", 1)[1]) + 1
            self.keys += more
        return self.keys[i]
