import pytest
import redis

from lib.retry import BackoffPolicy, RetryingCaller


class Flaky:
    def __init__(self, failures, error=redis.ConnectionError):
        self.failures, self.error, self.calls = failures, error, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error("down")
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
