"""Bounded exponential backoff with jitter, and a record of every retry made.

Shared by the HA and cluster clients: the suite reports these records as data.
"""
from __future__ import annotations

import inspect
import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar

import redis
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_before_delay, wait_exponential_jitter

now = time.monotonic  # the lab's clock; clients/ imports nothing outside itself

T = TypeVar("T")
log = logging.getLogger("valkey_lab.retry")


class UnknownOutcome(redis.RedisError):
    """The command may or may not have been applied: the connection broke or timed out after
    it was sent, and it was not declared idempotent, so it was not sent again. A history
    records it as ``info``."""

    def __init__(self, cause: BaseException):
        self.cause = cause
        super().__init__(f"outcome unknown after {type(cause).__name__}: {cause}")


# tenacity 9.2 renamed `initial` to `multiplier` (and warns on the old name); 9.0 knows only `initial`.
_BASE_ARG = "multiplier" if "multiplier" in inspect.signature(wait_exponential_jitter).parameters else "initial"

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
                 on_retry: Optional[Callable[[BaseException], None]] = None,
                 on_event: Optional[Callable[[dict], None]] = None):
        """``on_event(dict)`` hears every retry as it ends ({"kind": "retry", ...}): a
        history can record what the client did on the same clock as its operations."""
        self.policy = policy
        self.retry_on = retry_on
        self.stats = RetryStats()
        self._sleep = sleep
        self._on_retry = on_retry
        self.on_event = on_event

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
            last = self.stats.retries[-1]
            last["slept_s"] = now() - start
            if self.on_event is not None:
                self.on_event({"kind": "retry", **last})

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
            wait=wait_exponential_jitter(**{_BASE_ARG: self.policy.base}, max=self.policy.cap, jitter=self.policy.jitter),
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


def acked_write(write_and_wait: Callable[[int], int], replicas: int, timeout_ms: int, socket_timeout_s: float) -> int:
    """SET + WAIT until ``replicas`` acknowledge or ``timeout_ms`` pass, in WAIT slices shorter
    than the socket timeout. WAIT blocks its connection: a longer one would time the read out,
    and the retry would apply the write twice. A replica can take up to a second to
    acknowledge anything after its first sync, so one short WAIT is not enough either.
    ``write_and_wait(ms)`` writes the same value again each time (idempotent) and returns
    how many replicas acknowledged within ``ms``."""
    slice_ms = max(1, int(socket_timeout_s * 1000) - 100)
    deadline = now() + timeout_ms / 1000
    while True:
        remaining_ms = int((deadline - now()) * 1000)
        acks = write_and_wait(max(1, min(slice_ms, remaining_ms)))
        if acks >= replicas or remaining_ms <= slice_ms:
            return acks
