import pytest
import redis

from valkey_lab.clients.retry import BackoffPolicy, RetryingCaller


class Flaky:
    def __init__(self, failures, error=redis.ConnectionError):
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        return "ok"


def test_retries_until_success_and_records_growing_capped_delays():
    slept = []
    policy = BackoffPolicy(base=0.05, cap=0.3, jitter=0.01, budget=100)
    caller = RetryingCaller(policy, (redis.ConnectionError,), sleep=slept.append)
    assert caller.call(Flaky(6)) == "ok"
    stats = caller.stats
    assert stats.attempts == 7 and len(stats.retries) == 6 and stats.gave_up == 0
    assert stats.errors_by_type == {"ConnectionError": 6}
    assert slept == [r["delay_s"] for r in stats.retries]
    for n, delay in enumerate(slept, start=1):
        assert policy.floor(n) <= delay <= policy.cap
    assert slept[-1] == pytest.approx(0.3)


def test_does_not_retry_other_errors():
    caller = RetryingCaller(BackoffPolicy(), (redis.ConnectionError,), sleep=lambda s: None)
    with pytest.raises(redis.ResponseError):
        caller.call(Flaky(1, redis.ResponseError))
    assert caller.stats.attempts == 1 and not caller.stats.retries


def test_gives_up_within_the_budget():
    import time
    caller = RetryingCaller(BackoffPolicy(base=0.02, cap=0.1, jitter=0, budget=0.3), (redis.ConnectionError,))
    start = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        caller.call(Flaky(10_000))
    assert time.monotonic() - start <= 0.3 + 0.05
    assert caller.stats.gave_up == 1 and caller.stats.retries


# -- retries never apply a write twice ----------------------------------------------------------
from valkey_lab.clients.retry import UnknownOutcome, may_have_applied


class AppliesThenDrops:
    """A fake connection: the first ``drops`` calls apply the command, then lose the reply."""
    def __init__(self, drops=1, error=lambda: redis.ConnectionError("Connection closed by server.")):
        self.applied, self.drops, self.error = 0, drops, error

    def incr(self):
        self.applied += 1
        if self.applied <= self.drops:
            raise self.error()
        return self.applied


def caller():
    return RetryingCaller(BackoffPolicy(base=0.001, cap=0.002, jitter=0, budget=5), (redis.ConnectionError,
                          redis.TimeoutError, redis.ReadOnlyError), sleep=lambda s: None)


@pytest.mark.parametrize("error", [lambda: redis.ConnectionError("Connection closed by server."),
                                   lambda: redis.TimeoutError("Timeout reading from socket")])
def test_a_write_that_may_have_applied_is_not_sent_again_unless_declared_idempotent(error):
    conn, c = AppliesThenDrops(error=error), caller()
    with pytest.raises(UnknownOutcome):
        c.call(conn.incr)
    assert conn.applied == 1 and c.stats.unknown == 1 and not c.stats.retries


def test_an_idempotent_call_is_retried_after_an_unknown_outcome():
    conn, c = AppliesThenDrops(), caller()
    assert c.call(conn.incr, idempotent=True) == 2 and conn.applied == 2


def test_refusals_and_failed_connects_are_retried_they_prove_nothing_was_applied():
    for error in (redis.ReadOnlyError("READONLY You can't write against a read only replica."),
                  redis.ConnectionError("Error 111 connecting to 127.0.1.1:6390. Connection refused."),
                  redis.TimeoutError("Timeout connecting to server")):
        calls = []

        def fn(error=error):
            calls.append(1)
            if len(calls) == 1:
                raise error
            return "ok"
        assert caller().call(fn) == "ok" and len(calls) == 2
        assert not may_have_applied(error)


def test_an_op_is_unknown_if_any_attempt_was_even_when_the_last_was_a_refusal():
    errors = [redis.TimeoutError("Timeout reading from socket"), redis.ReadOnlyError("READONLY")]
    c = RetryingCaller(BackoffPolicy(base=0.001, cap=0.002, jitter=0, budget=0.05),
                       (redis.TimeoutError, redis.ReadOnlyError), sleep=lambda s: None)

    def fn():
        raise errors.pop(0) if errors else redis.ReadOnlyError("READONLY")
    with pytest.raises(UnknownOutcome):
        c.call(fn, idempotent=True)
    assert c.stats.unknown == 1
