"""Orders in Valkey. A save is done when the master *and a replica* have it: SET, then
WAIT 1 on the same connection (a pipeline). A plain SET acknowledged by a master that dies
a moment later can be lost with it (replication is asynchronous); one a replica confirmed
cannot, because the replica promoted in its place is the one with the most data.

Saves retry through a failover (connection refused, timeouts, READONLY from a demoted
master, MOVED / CLUSTERDOWN while a cluster moves a shard) within a time budget. Setting
one order's value again is harmless, so a retry never hurts.
"""
from __future__ import annotations

import time
from typing import Callable, Optional

import redis
from redis.exceptions import ClusterDownError, MovedError, TryAgainError

RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, ClusterDownError, MovedError,
             TryAgainError)


class SaveFailed(Exception):
    """The budget ran out before a replica confirmed the save."""


class OrderStore:
    def __init__(self, pipeline_for: Callable[[str], "redis.client.Pipeline"], read: Callable[[str], Optional[str]],
                 refresh: Callable[[], None] = lambda: None, budget_s: float = 30.0, wait_ms: int = 500):
        self.pipeline_for, self.read, self.refresh = pipeline_for, read, refresh
        self.budget_s, self.wait_ms = budget_s, wait_ms
        self.retries = 0

    @classmethod
    def on_sentinel(cls, master: redis.Redis, **kwargs) -> "OrderStore":
        """``master``: a redis-py client of the Sentinels' master (``Sentinel.master_for``)."""
        return cls(lambda key: master.pipeline(transaction=False), master.get, **kwargs)

    @classmethod
    def on_cluster(cls, cluster: redis.RedisCluster, **kwargs) -> "OrderStore":
        """``cluster``: a redis-py RedisCluster. The SET and its WAIT go down one connection
        to the key's primary (WAIT counts what *this connection* wrote)."""
        def pipeline_for(key: str):
            return cluster.get_node_from_key(key).redis_connection.pipeline(transaction=False)
        return cls(pipeline_for, cluster.get, refresh=cluster.nodes_manager.initialize, **kwargs)

    @staticmethod
    def key(order_id: int) -> str:
        return f"order:{order_id}"

    def save(self, order_id: int, body: str) -> None:
        key = self.key(order_id)
        deadline = time.monotonic() + self.budget_s
        delay = 0.05
        while True:
            try:
                pipe = self.pipeline_for(key)
                pipe.set(key, body)
                pipe.execute_command("WAIT", 1, self.wait_ms)
                if int(pipe.execute()[1]) >= 1:
                    return
                why = "no replica confirmed it yet"  # e.g. a new master whose replicas are still re-pointing
            except RETRYABLE as exc:
                why = f"{type(exc).__name__}: {exc}"
                try:
                    self.refresh()  # a cluster client re-reads the slot map
                except redis.RedisError:
                    pass
            if time.monotonic() >= deadline:
                raise SaveFailed(f"{key} not confirmed within {self.budget_s:.0f}s ({why})")
            self.retries += 1
            time.sleep(delay)
            delay = min(2 * delay, 0.5)

    def load(self, order_id: int) -> Optional[str]:
        value = self.read(self.key(order_id))
        return value.decode() if isinstance(value, bytes) else value
