"""Small shared helpers: wait-for-state with a deadline, the lab's error type, settings."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Callable, Optional, TypeVar

T = TypeVar("T")

_HERE = Path(__file__).resolve()
# The checkout's root when the package runs from one (app/valkey_lab/ beside pyproject.toml),
# else None: an installed package has no repository around it.
REPO_ROOT: Optional[Path] = (_HERE.parents[2] if _HERE.parents[1].name == "app"
                             and (_HERE.parents[2] / "pyproject.toml").is_file() else None)
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


def prog(script: str, command: str) -> str:
    """A CLI's name in its usage and errors: its console script's when run as one (pip install),
    else the spec's script (app/ha_test.py)."""
    return command if Path(sys.argv[0] if sys.argv else "").name == command else script


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


def dotenv_path() -> Optional[Path]:
    """The .env settings come from: the working directory's, else the checkout's (when the
    package runs from one), else None. Only the first found is read, as compose reads one."""
    try:
        places = [Path.cwd(), REPO_ROOT]
    except OSError:  # the working directory was removed
        places = [REPO_ROOT]
    for place in places:
        if place is not None and (place / ".env").is_file():
            return place / ".env"
    return None


def read_dotenv(path: Optional[Path] = None) -> dict[str, str]:
    """KEY=VALUE lines of ``path`` (default: dotenv_path()); blank lines and # comments skipped."""
    path = dotenv_path() if path is None else path
    values: dict[str, str] = {}
    if path is not None and path.is_file():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip().strip("'\"")
    return values


def setting(name: str, default: str) -> str:
    """Environment first, then .env (see dotenv_path), then default. Read on every call."""
    return os.environ.get(name) or read_dotenv().get(name) or default


def password() -> str:
    return setting("VALKEY_PASSWORD", DEFAULT_PASSWORD)
