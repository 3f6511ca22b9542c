"""Bounded exponential backoff with jitter, and a record of every retry made.

Shared by the HA and cluster clients: the suite reports these records as data.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_before_delay, wait_exponential_jitter

from .util import now

T = TypeVar("T")
log = logging.getLogger("valkey_lab.retry")


@dataclass(frozen=True)
class BackoffPolicy:
    """Delay before retry n (1-based): min(base * 2**(n-1) + U(0, jitter), cap); one
    operation gives up when the next sleep would pass ``budget`` seconds in total."""
    base: float = 0.05
    cap: float = 1.0
    jitter: float = 0.05
    budget: float = 20.0

    def floor(self, retry_number: int) -> float:
        """The smallest delay retry ``retry_number`` may have (what 'growing' means)."""
        return min(self.base * 2 ** (retry_number - 1), self.cap)


@dataclass
class RetryStats:
    operations: int = 0
    attempts: int = 0
    gave_up: int = 0
    retries: list = field(default_factory=list)  # per sleep: at, op, retry, delay_s (planned), slept_s, error
    errors_by_type: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"operations": self.operations, "attempts": self.attempts, "retries": len(self.retries),
                "gave_up": self.gave_up, "errors_by_type": dict(self.errors_by_type),
                "delays_s": [round(r["delay_s"], 4) for r in self.retries]}


class RetryingCaller:
    """Runs one operation with the policy, retrying only ``retry_on`` errors."""

    def __init__(self, policy: BackoffPolicy, retry_on: tuple, sleep: Callable[[float], None] = time.sleep,
                 on_retry: Optional[Callable[[BaseException], None]] = None):
        self.policy = policy
        self.retry_on = retry_on
        self.stats = RetryStats()
        self._sleep = sleep
        self._on_retry = on_retry

    def _before_sleep(self, state: RetryCallState) -> None:
        error = state.outcome.exception()
        delay = state.next_action.sleep if state.next_action else 0.0
        self.stats.retries.append({"at": now(), "op": self.stats.operations, "retry": state.attempt_number,
                                   "delay_s": delay, "error": type(error).__name__})
        log.info("retry %d in %.3fs after %s: %s", state.attempt_number, delay, type(error).__name__, error)
        if self._on_retry is not None:
            self._on_retry(error)

    def _timed_sleep(self, seconds: float) -> None:
        start = now()
        self._sleep(seconds)
        if self.stats.retries:  # the sleep may end early (e.g. a new master was announced)
            self.stats.retries[-1]["slept_s"] = now() - start

    def call(self, fn: Callable[[], T]) -> T:
        self.stats.operations += 1
        retrying = Retrying(
            retry=retry_if_exception_type(self.retry_on),
            wait=wait_exponential_jitter(multiplier=self.policy.base, max=self.policy.cap, jitter=self.policy.jitter),
            stop=stop_before_delay(self.policy.budget),
            before_sleep=self._before_sleep,
            sleep=self._timed_sleep,
            reraise=True,
        )
        try:
            return retrying(self._counted(fn))
        except self.retry_on:
            self.stats.gave_up += 1
            raise

    def _counted(self, fn: Callable[[], T]) -> Callable[[], T]:
        def attempt():
            self.stats.attempts += 1
            try:
                return fn()
            except Exception as exc:
                self.stats.errors_by_type[type(exc).__name__] += 1
                raise
        return attempt
