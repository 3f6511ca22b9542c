"""The clients of the scorecard, each as an application would set it up from its own docs,
behind one shape: ``set(key, value)`` (raises what the client raises: an error the
application sees) and ``close()``; ``SETTINGS`` says what was set.

- redis-py defaults: ``Sentinel(...).master_for(...)`` / ``RedisCluster(host, port)`` as the
  docs show them (with the password and, for Sentinel, the docs' 0.1 s socket timeout);
- redis-py tuned: its documented ``retry=Retry(ExponentialWithJitterBackoff(base, cap), N)``
  at the lab's values (N retries fill the lab's budget); RedisCluster takes only the count
  from it (its retries do not sleep);
- valkey-py: the same, tuned, with valkey-py's names (ExponentialBackoff: it has no
  ExponentialWithJitterBackoff);
- valkey-glide-sync: ``GlideClusterClient`` (cluster only: GLIDE has no Sentinel support),
  request timeout 500 ms, its default reconnect strategy;
- the lab's clients (HAClient default / follow_promotion, ClusterClient with / without the
  promotion watcher).
"""
from __future__ import annotations

from typing import Callable

from valkey_lab.clients.retry import BackoffPolicy

Factory = Callable[..., object]


def retries_for(policy: BackoffPolicy) -> int:
    """How many retries of the policy's backoff (without jitter) fit in its budget."""
    total, n = 0.0, 0
    while True:
        delay = policy.floor(n + 1)
        if total + delay > policy.budget:
            return n
        total += delay
        n += 1


class _Closing:
    def __init__(self, set_fn, closers):
        self._set, self._closers = set_fn, closers

    def set(self, key: str, value: str):
        return self._set(key, value)

    def close(self) -> None:
        for c in self._closers:
            try:
                c()
            except Exception:  # noqa: BLE001
                pass


# -- HA (Sentinel) ---------------------------------------------------------------------------------
def redis_py_sentinel(sentinels, service, password, policy, tuned: bool, timeout: float = 0.5):
    import redis
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.retry import Retry
    from redis.sentinel import Sentinel
    if not tuned:  # the docs' example: Sentinel([...], socket_timeout=0.1); master_for(name, socket_timeout=0.1)
        s = Sentinel(sentinels, socket_timeout=0.1, sentinel_kwargs={"password": password}, password=password)
        master = s.master_for(service, socket_timeout=0.1)
    else:
        retry = Retry(ExponentialWithJitterBackoff(base=policy.base, cap=policy.cap), retries_for(policy))
        s = Sentinel(sentinels, socket_timeout=timeout, socket_connect_timeout=timeout,
                     sentinel_kwargs={"password": password, "socket_timeout": timeout}, password=password)
        master = s.master_for(service, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry,
                              retry_on_error=[redis.exceptions.ReadOnlyError])
    return _Closing(master.set, [master.close, *[x.close for x in s.sentinels]])


def valkey_py_sentinel(sentinels, service, password, policy, timeout: float = 0.5):
    import valkey
    from valkey.backoff import ExponentialBackoff
    from valkey.retry import Retry
    from valkey.sentinel import Sentinel
    retry = Retry(ExponentialBackoff(cap=policy.cap, base=policy.base), retries_for(policy))
    s = Sentinel(sentinels, socket_timeout=timeout, socket_connect_timeout=timeout,
                 sentinel_kwargs={"password": password, "socket_timeout": timeout}, password=password)
    master = s.master_for(service, socket_timeout=timeout, socket_connect_timeout=timeout, retry=retry,
                          retry_on_error=[valkey.exceptions.ReadOnlyError])
    return _Closing(master.set, [master.close, *[x.close for x in s.sentinels]])


# -- cluster ---------------------------------------------------------------------------------------
def redis_py_cluster(host, port, password, policy, tuned: bool, timeout: float = 0.5):
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.cluster import RedisCluster
    from redis.retry import Retry
    if not tuned:
        rc = RedisCluster(host=host, port=port, password=password)
    else:
        rc = RedisCluster(host=host, port=port, password=password, socket_timeout=timeout,
                          socket_connect_timeout=timeout,
                          retry=Retry(ExponentialWithJitterBackoff(base=policy.base, cap=policy.cap),
                                      retries_for(policy)))
    return _Closing(rc.set, [rc.close])


def valkey_py_cluster(host, port, password, policy, timeout: float = 0.5):
    from valkey.backoff import ExponentialBackoff
    from valkey.cluster import ValkeyCluster
    from valkey.retry import Retry
    rc = ValkeyCluster(host=host, port=port, password=password, socket_timeout=timeout,
                       socket_connect_timeout=timeout,
                       retry=Retry(ExponentialBackoff(cap=policy.cap, base=policy.base), retries_for(policy)))
    return _Closing(rc.set, [rc.close])


def glide_cluster(host, port, password, policy, timeout: float = 0.5):
    from glide_sync import (GlideClusterClient, GlideClusterClientConfiguration, Logger, LogLevel, NodeAddress,
                            ServerCredentials)
    Logger.set_logger_config(LogLevel.OFF)  # its warnings would flood the bench's output; errors reach the app
    config = GlideClusterClientConfiguration([NodeAddress(host, port)], credentials=ServerCredentials(password),
                                             request_timeout=int(timeout * 1000))
    client = GlideClusterClient.create(config)
    return _Closing(client.set, [client.close])


def settings_text(policy: BackoffPolicy, timeout: float = 0.5) -> dict:
    """What each scorecard client was given, by name."""
    n = retries_for(policy)
    tuned = (f"retry=Retry(ExponentialWithJitterBackoff(base={policy.base}, cap={policy.cap}), {n}), "
             f"socket timeouts {timeout} s")
    return {"redis-py defaults": "docs example: password only (Sentinel: socket_timeout=0.1 as in the docs); "
                                 "no retry object",
            "redis-py tuned": tuned + " (RedisCluster: the count only, its retries do not sleep)",
            "valkey-py tuned": tuned.replace("ExponentialWithJitterBackoff", "ExponentialBackoff"),
            "valkey-glide-sync": f"GlideClusterClient, request_timeout={int(timeout * 1000)} ms, default reconnect "
                                 "strategy; no Sentinel support, so cluster only",
            "lab HAClient": f"BackoffPolicy(base={policy.base}, cap={policy.cap}, jitter={policy.jitter}, "
                            f"budget={policy.budget}), socket timeout {timeout} s; wakes on +switch-master",
            "lab HAClient follow": "as lab HAClient, follow_promotion=True (ROLE every 20 ms on the selected replica)",
            "lab ClusterClient": f"BackoffPolicy(base={policy.base}, cap={policy.cap}, jitter={policy.jitter}, "
                                 f"budget={policy.budget}), socket timeout {timeout} s; CLUSTER SHARDS watcher "
                                 "every 20 ms while retrying",
            "lab ClusterClient no watcher": "as lab ClusterClient, watch_promotion=False (sleeps each backoff step)"}


__all__ = ["retries_for", "redis_py_sentinel", "valkey_py_sentinel", "redis_py_cluster", "valkey_py_cluster",
           "glide_cluster", "settings_text"]
