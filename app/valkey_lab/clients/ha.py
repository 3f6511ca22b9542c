"""A Sentinel-aware Valkey client for code that must survive a failover.

    client = HAClient([("127.0.0.1", 26379), ...], "myvalkey", password="...")
    client.call(lambda r: r.set("k", "v"), idempotent=True)   # retried with backoff across a failover
    client.call(lambda r: r.incr("n"))        # not idempotent: UnknownOutcome if the reply is lost

Retries never apply a write twice: an attempt that fails before the command is sent
(connection refused) or with a refusal reply (READONLY, MASTERDOWN, LOADING) is retried; one
that may have reached the server (connection lost or timed out after sending) is retried
only when the caller declares the call idempotent, else it raises UnknownOutcome.

What it adds to redis-py's ``Sentinel.master_for``:
- every operation is retried on connection errors, timeouts, READONLY (a demoted master)
  and MASTERDOWN, with exponential backoff and jitter bounded by a total time; each retry
  re-asks the Sentinels for the master (redis-py's pool does this on reconnect);
- redis-py's own per-connection retry is turned off, so there is one retry layer, ours;
- it listens to the Sentinels' +switch-master event: a backoff sleep is cut short, and the
  next operation drops its connections and asks the Sentinels again. Without that, a
  client keeps writing to a demoted-to-be old master after a manual failover until Sentinel
  reconfigures it (10 s or more), and those writes are lost;
- opt-in ``follow_promotion=True``: on +selected-slave / +failover-state-wait-promotion it
  polls ROLE on the replica Sentinel chose every ``follow_interval`` seconds and switches to
  it as soon as it says master, about a second before Sentinel announces +switch-master
  (Sentinel sees the promotion only at its next 1 s INFO). Faster, but the client then
  writes to a master no Sentinel names yet: if the failover is aborted, what it wrote there
  can be lost; the default waits for +switch-master;
- addresses announced by Sentinel can be mapped (container names -> published ports);
- it records what it did: attempts, delays, errors by type, master changes with times.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Mapping, Optional, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import MasterNotFoundError, Sentinel

from .promotion import selected_replica
from .retry import BackoffPolicy, RetryingCaller, UnknownOutcome, acked_write, now
from .sentinel_events import SentinelEvents

T = TypeVar("T")
Addr = tuple[str, int]
log = logging.getLogger("valkey_lab.ha_client")


class MasterDownError(redis.ResponseError):
    """-MASTERDOWN: a replica whose link to the master is down refuses to answer."""


# MasterNotFoundError is a ConnectionError: Sentinels with no master to give (mid-failover).
READ_ONLY_COMMANDS = frozenset({"GET", "MGET", "EXISTS", "TTL", "PTTL", "TYPE", "STRLEN", "HGET", "HGETALL",
                                "HMGET", "LRANGE", "LLEN", "SMEMBERS", "SCARD", "ZRANGE", "XRANGE", "PING",
                                "ROLE", "INFO", "DBSIZE", "SCAN", "KEYS"})
RETRYABLE = (redis.ConnectionError, redis.TimeoutError, redis.ReadOnlyError, redis.BusyLoadingError,
             MasterDownError, redis.exceptions.TryAgainError)


class RemappingSentinel(Sentinel):
    """A redis-py Sentinel that turns the addresses Sentinels announce into reachable ones."""

    def __init__(self, sentinels, remap: Optional[Callable[[Addr], Addr]] = None, **kwargs):
        super().__init__(sentinels, **kwargs)
        self._remap = remap or (lambda addr: addr)
        self.override: Optional[Addr] = None  # a promoted replica Sentinel does not name yet (follow mode)

    def discover_master(self, service_name):
        if self.override is not None:
            return self.override
        host, port = super().discover_master(service_name)
        return self._remap((host, int(port)))

    def discover_slaves(self, service_name):
        return [self._remap((h, int(p))) for h, p in super().discover_slaves(service_name)]


class HAClient:
    def __init__(self, sentinels: list[Addr], service: str, password: Optional[str] = None,
                 remap: Optional[Callable[[Addr], Addr] | Mapping[Addr, Addr]] = None,
                 policy: BackoffPolicy = BackoffPolicy(), socket_timeout: float = 0.5, watch_switch: bool = True,
                 on_event: Optional[Callable[[dict], None]] = None, follow_promotion: bool = False,
                 follow_interval: float = 0.02, follow_timeout: float = 15.0):
        if isinstance(remap, Mapping):
            table = dict(remap)
            remap = lambda addr: table.get(addr, addr)  # noqa: E731
        self.socket_timeout = socket_timeout
        timeouts = {"socket_timeout": socket_timeout, "socket_connect_timeout": socket_timeout}
        self.service = service
        self.sentinel = RemappingSentinel(sentinels, remap, sentinel_kwargs={"password": password, **timeouts},
                                          password=password, **timeouts)
        self.redis: redis.Redis = self.sentinel.master_for(service, retry=Retry(NoBackoff(), 0),
                                                           decode_responses=True)
        self._switched = threading.Event()  # wakes a sleeping retry
        self._stale = threading.Event()  # the next call starts from a fresh discovery
        self._announcer: Optional[str] = None
        self.on_event = on_event  # hears retries and master changes (see RetryingCaller)
        self.caller = RetryingCaller(policy, RETRYABLE, sleep=self._backoff_sleep, on_event=on_event)
        self.master_changes: list[dict] = []
        self._master: Optional[Addr] = None
        self.switch_events: Optional[SentinelEvents] = None
        self.follow_promotion, self.follow_interval, self.follow_timeout = follow_promotion, follow_interval, follow_timeout
        self._password, self._timeouts = password, timeouts
        self._following: Optional[Addr] = None  # the replica being polled
        self.follows: list[dict] = []  # promotions followed before Sentinel announced them
        self.role_polls = 0
        self._follow_lock = threading.Lock()
        if watch_switch or follow_promotion:
            patterns = ("+switch-master",) + (("+selected-slave", "+failover-state-wait-promotion",
                                                "-failover-abort-*") if follow_promotion else ())
            self.switch_events = SentinelEvents({f"{h}:{p}": (h, p) for h, p in sentinels}, password,
                                                pattern=patterns, on_event=self._on_sentinel_event)
            self.switch_events.__enter__()

    def _on_sentinel_event(self, event: dict) -> None:
        name = event["event"]
        if name == "+switch-master":
            self._on_switch(event)
        elif name.startswith("-failover-abort"):
            if str(event["data"]).split()[1:2] == [self.service] and self.sentinel.override is not None:
                self.sentinel.override = None  # back to what Sentinel names
                self._stale.set()
                self._switched.set()
        elif self.follow_promotion:
            target = selected_replica(name, str(event["data"]), self.service)
            if target is not None:
                self._follow(self.sentinel._remap(target))

    def _on_switch(self, event: dict) -> None:
        self._announcer = event["sentinel"]  # "host:port" of a Sentinel that already switched
        followed = self.sentinel.override
        self.sentinel.override = None  # Sentinel names the master again
        parts = str(event.get("data", "")).split()
        if followed is not None and len(parts) == 5 and self.sentinel._remap((parts[3], int(parts[4]))) == followed:
            return  # already there: nothing to drop
        self._stale.set()
        self._switched.set()

    # -- follow the promotion (opt-in) ---------------------------------------------------------------
    def _follow(self, replica: Addr) -> None:
        """Poll ROLE on ``replica`` (in a thread) until it says master, then switch to it."""
        with self._follow_lock:
            if self._following == replica:
                return  # several Sentinels, or both events, name the same replica
            self._following = replica
        threading.Thread(target=self._poll_role, args=(replica,), daemon=True, name="follow-promotion").start()

    def _poll_role(self, replica: Addr) -> None:
        conn = redis.Redis(replica[0], replica[1], password=self._password, retry=Retry(NoBackoff(), 0),
                           decode_responses=True, **{k: min(v, 0.2) for k, v in self._timeouts.items()})
        deadline = now() + self.follow_timeout
        try:
            while now() < deadline and self._following == replica:
                self.role_polls += 1
                try:
                    role = conn.execute_command("ROLE")
                except (redis.ConnectionError, redis.TimeoutError):
                    role = None
                if role and role[0] == "master":
                    self.sentinel.override = replica
                    follow = {"at": now(), "to": replica}
                    self.follows.append(follow)
                    if self.on_event is not None:
                        self.on_event({"kind": "promotion-followed", **follow})
                    self._stale.set()
                    self._switched.set()
                    return
                time.sleep(self.follow_interval)
        finally:
            conn.close()
            with self._follow_lock:
                if self._following == replica:
                    self._following = None

    def _forget_master(self) -> None:
        """Drop idle connections and ask first the Sentinel that announced the switch: the
        others may name the old master for a moment longer."""
        self._stale.clear()
        sentinels = self.sentinel.sentinels
        for i, s in enumerate(sentinels):
            kw = s.connection_pool.connection_kwargs
            if f"{kw['host']}:{kw['port']}" == self._announcer:
                sentinels[0], sentinels[i] = sentinels[i], sentinels[0]
                break
        self.redis.connection_pool.disconnect(inuse_connections=False)

    def _backoff_sleep(self, seconds: float) -> None:
        """Sleep the backoff delay, or less if a Sentinel announces a new master meanwhile."""
        if self._switched.wait(seconds):
            self._switched.clear()

    @property
    def stats(self):
        return self.caller.stats

    @property
    def master(self) -> Optional[Addr]:
        """The master this client last talked to."""
        return self._master

    def call(self, fn: Callable[[redis.Redis], T], idempotent: bool = False) -> T:
        """Run ``fn(redis_client)`` against the current master, retrying through a failover
        (after a possibly applied attempt only if ``idempotent``; see retry.UnknownOutcome)."""
        def attempt():
            if self._stale.is_set():  # a Sentinel announced a new master: forget the old one
                self._forget_master()
            try:
                return fn(self.redis)
            except redis.ResponseError as exc:
                if str(exc).startswith("MASTERDOWN"):
                    raise MasterDownError(str(exc)) from exc
                raise
        result = self.caller.call(attempt, idempotent=idempotent)
        self._note_master()
        return result

    def execute(self, *args):
        """One command; read-only ones (READ_ONLY_COMMANDS) are retried as idempotent."""
        return self.call(lambda r: r.execute_command(*args), idempotent=str(args[0]).upper() in READ_ONLY_COMMANDS)

    def set_acked(self, key: str, value: str, replicas: int, timeout_ms: int = 1000, idempotent: bool = True) -> int:
        """SET then WAIT on the same connection (a pipeline); returns how many replicas
        acknowledged within ``timeout_ms`` (see retry.acked_write). SET of one value is
        idempotent, so it is retried; pass ``idempotent=False`` when other clients write the
        same key (a retry could overwrite their later write)."""
        def write(r: redis.Redis) -> int:
            def once(ms: int) -> int:
                pipe = r.pipeline(transaction=False)
                pipe.set(key, value)
                pipe.execute_command("WAIT", replicas, ms)
                return int(pipe.execute()[1])
            return acked_write(once, replicas, timeout_ms, self.socket_timeout)
        return self.call(write, idempotent=idempotent)

    def _note_master(self) -> None:
        current = self.redis.connection_pool.master_address
        if current is None:
            return
        current = (current[0], int(current[1]))
        if current != self._master:
            if self._master is not None:
                change = {"at": now(), "from": self._master, "to": current}
                self.master_changes.append(change)
                if self.on_event is not None:
                    self.on_event({"kind": "master-change", **change})
                log.info("master changed: %s:%s -> %s:%s", *self._master, *current)
            self._master = current

    def discover_master(self) -> Addr:
        return self.sentinel.discover_master(self.service)

    def close(self) -> None:
        if self.switch_events is not None:
            self.switch_events.__exit__(None, None, None)
        self.redis.close()
        self.redis.connection_pool.disconnect()
        for sentinel in self.sentinel.sentinels:  # Sentinel.close() exists only from redis-py 8.1
            sentinel.close()


__all__ = ["HAClient", "RemappingSentinel", "BackoffPolicy", "RETRYABLE", "MasterNotFoundError", "UnknownOutcome",
           "READ_ONLY_COMMANDS"]
