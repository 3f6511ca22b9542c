"""Small shared helpers: wait-for-state with a deadline, the lab's error type, settings."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Optional, TypeVar

T = TypeVar("T")

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PASSWORD = "valkey-lab-password"


class LabError(Exception):
    """A problem with the environment or the user's input, not a failed check.

    The CLIs print its message as one line and exit 2.
    """


class WaitTimeout(Exception):
    def __init__(self, what: str, timeout: float, last: object = None):
        self.what, self.timeout, self.last = what, timeout, last
        detail = f" (last: {last!r})" if last is not None else ""
        super().__init__(f"timed out after {timeout:.1f}s waiting for {what}{detail}")


def now() -> float:
    """Monotonic seconds; every duration the lab reports is a difference of these."""
    return time.monotonic()


def wait_for(
    probe: Callable[[], T],
    what: str,
    timeout: float,
    interval: float = 0.05,
    accept: Callable[[T], bool] = bool,
) -> T:
    """Poll ``probe`` until ``accept(result)``; return that result or raise WaitTimeout.

    The one readiness mechanism of the lab. A probe that raises counts as "not yet": while
    a node is dying or restarting, connection errors are expected answers.
    """
    deadline = now() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if accept(value):
                return value
            last = value
        except Exception as exc:  # noqa: BLE001 - any failure of the probe means "not yet"
            last = exc
        if now() >= deadline:
            raise WaitTimeout(what, timeout, last)
        time.sleep(interval)


def hold_for(probe: Callable[[], T], duration: float, bad: Callable[[T], bool], interval: float = 0.1) -> Optional[T]:
    """Watch ``probe`` for ``duration`` seconds; return the first value for which ``bad`` is
    true (the property was violated), or None when it held the whole time."""
    end = now() + duration
    while now() < end:
        try:
            value = probe()
        except Exception:  # noqa: BLE001 - an unreachable node is not a violation here
            value = None
        if value is not None and bad(value):
            return value
        time.sleep(interval)
    return None


def read_dotenv(path: Path = REPO_ROOT / ".env") -> dict[str, str]:
    values: dict[str, str] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def setting(name: str, default: str) -> str:
    """Environment first, then the repository's .env (the file compose reads), then default."""
    return os.environ.get(name) or read_dotenv().get(name) or default


def password() -> str:
    return setting("VALKEY_PASSWORD", DEFAULT_PASSWORD)
