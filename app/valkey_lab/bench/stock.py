"""The stock redis-py clients the bench compares the lab's with, given the same retry
settings (base, cap, jitter, budget, socket timeouts): what an application writes with
redis-py and tenacity. What then differs is only what the lab's clients add (following
+switch-master at once, remapped redirects, the unknown-outcome rule, the records)."""
from __future__ import annotations

import inspect
from typing import Optional

import redis
from redis.cluster import RedisCluster
from redis.sentinel import Sentinel
from tenacity import Retrying, retry_if_exception_type, stop_before_delay, wait_exponential_jitter

from valkey_lab.clients.retry import BackoffPolicy

_BASE_ARG = "multiplier" if "multiplier" in inspect.signature(wait_exponential_jitter).parameters else "initial"
STOCK_RETRY_ON = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError)


def settings(policy: BackoffPolicy, socket_timeout: float) -> dict:
    """The knobs both sides share, as the bench JSON lists them (clients.NAME.settings)."""
    return {"base_s": policy.base, "cap_s": policy.cap, "budget_s": policy.budget, "jitter": policy.jitter,
            "socket_timeout_s": socket_timeout}


def _retrying(policy: BackoffPolicy) -> Retrying:
    return Retrying(retry=retry_if_exception_type(STOCK_RETRY_ON), reraise=True,
                    wait=wait_exponential_jitter(**{_BASE_ARG: policy.base}, max=policy.cap, jitter=policy.jitter),
                    stop=stop_before_delay(policy.budget))


class StockHAClient:
    """``Sentinel(...).master_for(...)`` with the socket timeouts set, and tenacity around each SET."""

    def __init__(self, sentinels, service: str, password: str, policy: BackoffPolicy, socket_timeout: float = 0.5,
                 remap=None):
        """``remap``: only where the servers announce addresses this process cannot reach (an
        external target's container or pod names): the one thing added to the stock client."""
        timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_timeout}
        if remap is not None:
            from valkey_lab.clients.ha import RemappingSentinel
            self.sentinel = RemappingSentinel(sentinels, remap=remap, sentinel_kwargs={"password": password,
                                                                                       **timeouts},
                                              password=password, **timeouts)
        else:
            self.sentinel = Sentinel(sentinels, sentinel_kwargs={"password": password, **timeouts}, password=password,
                                     **timeouts)
        self.master = self.sentinel.master_for(service, **timeouts)
        self.policy = policy

    def set(self, key: str, value: str) -> None:
        _retrying(self.policy)(self.master.set, key, value)

    def close(self) -> None:
        self.master.close()
        for s in self.sentinel.sentinels:
            s.close()


class StockClusterClient:
    """``RedisCluster(host, port, password=...)`` with the socket timeouts set (and its own
    sleepless internal retries, as shipped), tenacity around each SET."""

    def __init__(self, host: str, port: int, password: str, policy: BackoffPolicy, socket_timeout: float = 0.5,
                 remap: Optional[dict] = None):
        """``remap``: announced -> reachable addresses (redis-py's own address_remap), only for an
        external target whose nodes announce names this process cannot reach."""
        extra = {"address_remap": lambda a: remap.get((a[0], int(a[1])), a)} if remap else {}
        self.rc = RedisCluster(host=host, port=port, password=password, decode_responses=True,
                               socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout, **extra)
        self.policy = policy

    def set(self, key: str, value: str) -> None:
        _retrying(self.policy)(self.rc.set, key, value)

    def close(self) -> None:
        self.rc.close()
