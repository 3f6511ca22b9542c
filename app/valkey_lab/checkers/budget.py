"""Time and memory budgets for long searches, checked between slices of work.

Memory is measured, not estimated: the process's resident set (``/proc/self/statm``) against
the level it had when the budget started, so the bound holds whatever the search keeps.
Worker processes also get an address-space limit (``RLIMIT_AS``) a little above their share,
so that a runaway allocation between two checks ends in ``MemoryError`` (turned into a
verdict) instead of the kernel's OOM killer.
"""
from __future__ import annotations

import os
import resource
import time
from typing import Optional

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def rss() -> int:
    """Resident set size of this process in bytes (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024


def _vm_size() -> Optional[int]:
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[0]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


def limit_address_space(extra: int) -> None:
    """Cap this process's address space at its current size plus ``extra`` (for workers)."""
    size = _vm_size()
    if size is None:
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    want = size + extra
    if hard != resource.RLIM_INFINITY:
        want = min(want, hard)
    if soft == resource.RLIM_INFINITY or want < soft:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
        except (ValueError, OSError):
            pass


class Budget:
    """``exceeded()`` says "timeout", "memory", "stopped" (another process found a verdict
    that makes this work moot) or None. ``deadline`` is a ``time.monotonic()`` instant;
    ``max_memory`` the bytes the process may grow by from now."""

    def __init__(self, deadline: Optional[float], max_memory: Optional[int], stop=None):
        self.deadline = deadline
        self.ceiling = None if max_memory is None else rss() + max_memory
        self.stop = stop

    def exceeded(self) -> Optional[str]:
        if self.stop is not None and self.stop.is_set():
            return "stopped"
        if self.deadline is not None and time.monotonic() > self.deadline:
            return "timeout"
        if self.ceiling is not None and rss() > self.ceiling:
            return "memory"
        return None
