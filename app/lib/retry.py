"""Bounded exponential backoff with jitter, and a record of every retry made.

Shared by the HA and cluster clients: the suite reports these records as data.
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar

import redis
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_before_delay, wait_exponential_jitter

from .util import now

T = TypeVar("T")
log = logging.getLogger("valkey_lab.retry")


class UnknownOutcome(redis.RedisError):
    """The command may or may not have been applied: the connection broke or timed out after
    it was sent, and it was not declared idempotent, so it was not sent again. A history
    records it as ``info``."""

    def __init__(self, cause: BaseException):
        self.cause = cause
        super().__init__(f"outcome unknown after {type(cause).__name__}: {cause}")


# Errors raised before a command left this process, or replies that refuse it: safe to retry.
_NOT_SENT_MARKERS = ("connecting to", "Timeout connecting", "No master found", "No slave found",
                     "cannot be connected", "could not agree", "No targets were found", "not covered")


def may_have_applied(error: BaseException) -> bool:
    """True when ``error`` leaves it open whether the server applied the command: a lost
    connection or a timeout after sending. Error replies (READONLY, MASTERDOWN, LOADING,
    TRYAGAIN, CLUSTERDOWN, MOVED) and failures to connect prove it was not applied."""
    if isinstance(error, UnknownOutcome):
        return True
    if isinstance(error, (redis.AuthenticationError, redis.BusyLoadingError)):
        return False  # a reply: the server refused before running anything
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        return not any(marker in str(error) for marker in _NOT_SENT_MARKERS)
    return False


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
    unknown: int = 0  # operations that ended with an unknown outcome
    retries: list = field(default_factory=list)  # per sleep: at, op, retry, delay_s (planned), slept_s, error
    errors_by_type: Counter = field(default_factory=Counter)

    def as_dict(self) -> dict:
        return {"operations": self.operations, "attempts": self.attempts, "retries": len(self.retries),
                "gave_up": self.gave_up, "unknown": self.unknown, "errors_by_type": dict(self.errors_by_type),
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

    def call(self, fn: Callable[[], T], idempotent: bool = False) -> T:
        """Run ``fn`` with the policy. An error that may have come after the command was
        applied is retried only when ``idempotent``; otherwise it surfaces at once as
        UnknownOutcome. Giving up after such an error also raises UnknownOutcome: an op is
        unknown if any of its attempts was."""
        self.stats.operations += 1
        unknown: list[BaseException] = []

        def retryable(error: BaseException) -> bool:
            if not isinstance(error, self.retry_on):
                return False
            if may_have_applied(error):
                unknown.append(error)
                return idempotent
            return True

        retrying = Retrying(
            retry=retry_if_exception(retryable),
            wait=wait_exponential_jitter(initial=self.policy.base, max=self.policy.cap, jitter=self.policy.jitter),
            stop=stop_before_delay(self.policy.budget),
            before_sleep=self._before_sleep,
            sleep=self._timed_sleep,
            reraise=True,
        )
        try:
            return retrying(self._counted(fn))
        except Exception as exc:
            if isinstance(exc, self.retry_on) and (idempotent or not unknown):
                self.stats.gave_up += 1  # the budget ran out
            if unknown:  # an earlier attempt may have applied it, whatever the last one said
                self.stats.unknown += 1
                raise UnknownOutcome(exc) from exc
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
