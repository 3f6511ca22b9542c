"""A Valkey Cluster client for code that must survive redirects, resharding and a failover.

    client = ClusterClient([("127.0.0.1", 7000), ...], password="...", remap=backend.address_map())
    client.set("k", "v")                          # retried with backoff while a primary is dead
    client.call(lambda rc: rc.incr("n"))          # not idempotent: UnknownOutcome if the reply is lost
    client.redirects                              # Counter({'MOVED': 3, 'ASK': 12})

What it adds to redis-py's ``RedisCluster``:
- ``address_remap`` for host access (announced ``node-7001:7001`` -> published
  ``127.0.0.1:7001``), applied also to the address in MOVED / ASK replies: redis-py remaps
  only CLUSTER SLOTS and follows a redirect to the raw announced address
  (redis/redis-py#3382), which the host cannot reach;
- one retry layer, ours: exponential backoff with jitter bounded by a total time. redis-py's
  cluster retries do not sleep (``retry`` only sets their count), so a dead primary would
  exhaust them in milliseconds; its own count is set to 0;
- retries never apply a write twice: after an attempt that may have reached the server
  (connection lost or timed out after sending) only calls declared idempotent are retried
  (``call(fn, idempotent=True)``; ``get``/``get_many`` and the SET helpers declare it), the
  rest raise UnknownOutcome. Refusals (MOVED, CLUSTERDOWN, TRYAGAIN, READONLY) and failed
  connects are always retried;
- it waits for the promotion at the server's pace: while a primary is unreachable, a
  ``ShardWatcher`` (clients/promotion.py) polls ``CLUSTER SHARDS`` on that primary's replica
  every ``watch_interval`` seconds (20 ms: the delay to notice is spread evenly over the
  interval, so 50 ms would put the p95 lag above 50 ms) and wakes the backoff sleep as soon as one of them owns
  the slots; the next attempt re-reads the slot map first (``watch_promotion=False``: sleep
  the whole backoff step, as before);
- a record of what happened. Redirects are counted where they arrive: every MOVED / ASK
  reply a connection of this client reads, including the ones redis-py then follows by
  itself (so a followed redirect is counted, not hidden). Retries, delays and errors by type
  come from the RetryingCaller. The scenarios cross-check the counts against the servers'
  own INFO errorstats (errorstat_MOVED / errorstat_ASK) and commandstats (cmdstat_asking).
"""
from __future__ import annotations

import threading
import time
from collections import Counter, deque
from typing import Callable, Iterable, Mapping, Optional, TypeVar

import redis
from redis.backoff import NoBackoff
from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot as _redis_key_slot
from redis.connection import Connection
from redis.exceptions import (AskError, ClusterDownError, ClusterError, MasterDownError, MovedError,
                              RedisClusterException, SlotNotCoveredError, TryAgainError)
from redis.retry import Retry

from .promotion import ShardWatcher
from .retry import BackoffPolicy, RetryingCaller, UnknownOutcome, acked_write, now

T = TypeVar("T")
Addr = tuple[str, int]
SLOTS = 16384


class ClusterUnavailable(redis.ConnectionError):
    """redis-py could not (re)build its slot map: no startup node answered, or the answers
    disagreed (mid-failover). A RedisClusterException, which is otherwise a usage error."""


class StaleSlotMap(redis.RedisError):
    """A node-level write (``set_acked``) hit MOVED: the map was refreshed; try again."""


# Errors worth waiting out. ClusterError is redis-py's "TTL exhausted" after many redirects.
RETRYABLE = (redis.ConnectionError, redis.TimeoutError, ClusterDownError, SlotNotCoveredError, TryAgainError,
             ClusterError, MasterDownError, redis.ReadOnlyError, StaleSlotMap)
_UNAVAILABLE = ("cannot be connected", "could not agree", "No targets were found", "not covered")


# -- key -> slot: redis-py's CRC16 (XMODEM) with hash tags, the one the client routes with --------
def key_slot(key: str | bytes) -> int:
    return _redis_key_slot(key.encode() if isinstance(key, str) else key)


def keys_in_ranges(prefix: str, ranges: Iterable[tuple[int, int]], count: int, start: int = 0) -> list[str]:
    """``count`` keys ``prefix:<n>`` whose slots fall in ``ranges`` (deterministic)."""
    ranges = list(ranges)
    out, n = [], start
    while len(out) < count:
        key = f"{prefix}:{n}"
        slot = key_slot(key)
        if any(lo <= slot <= hi for lo, hi in ranges):
            out.append(key)
        n += 1
    return out


# -- per-shard statistics (pure; the scenarios feed them live counts) ----------------------------
def shard_of(slot: int, shards: list[dict]) -> Optional[str]:
    """The primary of the shard whose ``ranges`` hold ``slot``."""
    for shard in shards:
        if any(lo <= slot <= hi for lo, hi in shard["ranges"]):
            return shard["primary"]
    return None


def expected_counts(keys: Iterable[str], shards: list[dict]) -> Counter:
    """How many of ``keys`` each shard must hold, by CRC16 alone."""
    return Counter(shard_of(key_slot(k), shards) for k in keys)


def distribution_rows(shards: list[dict], counts: Mapping[str, int], replica_counts: Mapping[str, int]) -> list[dict]:
    """The per-shard table: primary, slot ranges, slot count, key count, share of keys, the
    share its slot count predicts, and its replica's key count."""
    total = sum(counts.get(s["primary"], 0) for s in shards) or 1
    rows = []
    for shard in shards:
        slots = sum(hi - lo + 1 for lo, hi in shard["ranges"])
        keys = counts.get(shard["primary"], 0)
        replica = (shard.get("replicas") or ["-"])[0]
        rows.append({"primary": shard["primary"],
                     "slot_ranges": ",".join(f"{lo}-{hi}" for lo, hi in shard["ranges"]),
                     "slots": slots, "keys": keys, "share": round(keys / total, 4),
                     "expected_share": round(slots / SLOTS, 4), "replica": replica,
                     "replica_keys": replica_counts.get(replica)})
    return rows


def spread_problems(rows: list[dict], tolerance: float) -> list[str]:
    """Shards holding no key, or whose share of keys is off its slot share by more than ``tolerance``."""
    problems = []
    for row in rows:
        if row["keys"] == 0:
            problems.append(f"{row['primary']} holds no key")
        elif abs(row["share"] - row["expected_share"]) > tolerance:
            problems.append(f"{row['primary']} holds {row['share']:.1%} of the keys, "
                            f"expected {row['expected_share']:.1%} ± {tolerance:.0%}")
    return problems


# -- the client ------------------------------------------------------------------------------------
def _remapper(remap: Optional[Callable[[Addr], Addr] | Mapping[Addr, Addr]]) -> Callable[[Addr], Addr]:
    if remap is None:
        return lambda addr: addr
    if isinstance(remap, Mapping):
        table = {(h, int(p)): (th, int(tp)) for (h, p), (th, tp) in remap.items()}
        return lambda addr: table.get((addr[0], int(addr[1])), (addr[0], int(addr[1])))
    return remap


def redirect_counting_connection(counter: Counter, events: deque, remap: Callable[[Addr], Addr],
                                 base: type = Connection, on_event: Optional[Callable[[dict], None]] = None,
                                 reachable: Optional[Callable[[Addr, bool], None]] = None) -> type:
    """A Connection class that counts every MOVED / ASK reply it reads and points the
    redirect at a reachable address before redis-py follows it; ``reachable(addr, ok)``
    hears whether each connect (and each read) reached its node."""

    class RedirectCountingConnection(base):  # type: ignore[valid-type,misc]
        def connect(self, *args, **kwargs):
            try:
                super().connect(*args, **kwargs)
            except (redis.ConnectionError, redis.TimeoutError):
                if reachable is not None:
                    reachable((self.host, int(self.port)), False)
                raise
            if reachable is not None:
                reachable((self.host, int(self.port)), True)

        def read_response(self, *args, **kwargs):
            try:
                return super().read_response(*args, **kwargs)
            except redis.ConnectionError:
                if reachable is not None:
                    reachable((self.host, int(self.port)), False)
                raise
            except AskError as exc:  # MovedError is a subclass of AskError
                kind = "MOVED" if isinstance(exc, MovedError) else "ASK"
                counter[kind] += 1
                host, port = remap((exc.host, exc.port))
                event = {"at": now(), "kind": kind, "slot": exc.slot_id, "from": f"{self.host}:{self.port}",
                         "to": f"{exc.host}:{exc.port}", "mapped_to": f"{host}:{port}"}
                events.append(event)
                if on_event is not None:
                    on_event({**event, "kind": "redirect", "redirect": kind})
                exc.host, exc.port = host, port
                exc.node_addr = (host, port)
                raise

    return RedirectCountingConnection


class ClusterClient:
    def __init__(self, startup: list[Addr], password: Optional[str] = None,
                 remap: Optional[Callable[[Addr], Addr] | Mapping[Addr, Addr]] = None,
                 policy: BackoffPolicy = BackoffPolicy(), socket_timeout: float = 0.5,
                 on_event: Optional[Callable[[dict], None]] = None, watch_promotion: bool = True,
                 watch_interval: float = 0.02):
        self.remap = _remapper(remap)
        self.socket_timeout = socket_timeout
        self.password = password
        self.on_event = on_event
        self.redirects: Counter = Counter()
        self.redirect_events: deque = deque(maxlen=200)
        self.unreachable: set[Addr] = set()  # nodes whose last connect or read failed
        self._stale = threading.Event()  # the watcher saw the promotion: re-read the slot map first
        self._pollers: dict[Addr, redis.Redis] = {}
        self._replicas_of: tuple = (None, None, [])  # (slots_cache id, dead, replicas): computed once per map
        self.watcher: Optional[ShardWatcher] = None
        if watch_promotion:
            self.watcher = ShardWatcher(self._poll, self._candidates, self.remap, interval=watch_interval,
                                        idle_s=max(2.0, 2 * (policy.cap + policy.jitter)), fanout=1)
        self.caller = RetryingCaller(policy, RETRYABLE, sleep=self._backoff_sleep,
                                     on_event=on_event)  # on_event: retries, as they end
        # The url form is redis-py's one path that hands ``connection_class`` to every node's
        # connection pool (Redis() itself does not take it); the other startup nodes follow.
        first, rest = startup[0], startup[1:]
        self.rc = RedisCluster(
            url=f"redis://{first[0]}:{first[1]}/0", startup_nodes=[ClusterNode(h, p) for h, p in rest],
            password=password, decode_responses=True,
            address_remap=self.remap, require_full_coverage=False,  # as the servers: serve what is served
            retry=Retry(NoBackoff(), 0),  # no second, sleepless retry layer under ours
            connection_class=redirect_counting_connection(self.redirects, self.redirect_events, self.remap,
                                                          on_event=on_event, reachable=self._reachable),
            socket_timeout=socket_timeout, socket_connect_timeout=socket_timeout)

    # -- waiting for the promotion ---------------------------------------------------------------
    def _reachable(self, addr: Addr, ok: bool) -> None:
        if ok:
            self.unreachable.discard(addr)
        else:
            self.unreachable.add(addr)

    def _backoff_sleep(self, seconds: float) -> None:
        """Sleep the backoff delay, or less when the watcher sees the slots taken over."""
        if self.watcher is None:
            time.sleep(seconds)
            return
        self.watcher.arm(self.unreachable)
        if self.watcher.wait(seconds):
            self._stale.set()
            if self.on_event is not None and self.watcher.signals:
                self.on_event({"kind": "promotion-seen", **self.watcher.signals[-1]})

    def _reread_map(self) -> None:
        """Re-read the slot map from the node that showed the promotion (the others may learn
        it a moment later: asking a random one could bring back the old map)."""
        nm = self.rc.nodes_manager
        via = self.watcher.signals[-1]["via"] if self.watcher is not None and self.watcher.signals else None
        if via is None:
            nm.initialize()
            return
        host, _, port = via.rpartition(":")
        # The client's own node object when it has one: its pool holds the connection the
        # watcher kept open (see _poll), which CLUSTER SLOTS and then the retried command reuse
        # (redis-py would otherwise close it after CLUSTER SLOTS: one more connect and AUTH).
        node, saved = nm.nodes_cache.get(f"{host}:{port}") or ClusterNode(host, int(port)), nm.startup_nodes
        nm.startup_nodes = {node.name: node}  # redis-py sets them to every node it found, once it succeeds
        try:
            nm.initialize(disconnect_startup_nodes_pools=False)
        except Exception:
            nm.startup_nodes = saved
            raise

    def _poll(self, addr: Addr):
        """CLUSTER SHARDS on ``addr``, through the client's own pool for that node when it has
        one: the node about to be promoted then has an open, authenticated connection ready."""
        node = self.rc.nodes_manager.nodes_cache.get(f"{addr[0]}:{addr[1]}")
        if node is not None and node.redis_connection is not None:
            return node.redis_connection.execute_command("CLUSTER", "SHARDS")
        conn = self._pollers.get(addr)
        if conn is None:
            conn = self._pollers[addr] = redis.Redis(addr[0], addr[1], password=self.password, socket_timeout=0.2,
                                                     socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
        return conn.execute_command("CLUSTER", "SHARDS")

    def _candidates(self, dead: set) -> list[Addr]:
        """The nodes to ask, best first: the replicas of the unreachable primaries (one of them
        is promoted), then every other node the client knows that is not unreachable."""
        nm = self.rc.nodes_manager
        cache, nodes = nm.slots_cache, list(nm.nodes_cache.values())
        key = (id(cache), frozenset(dead))
        if self._replicas_of[:2] != key:
            replicas: list[Addr] = []
            if dead:
                for owners in list(cache.values()):
                    if owners and (owners[0].host, int(owners[0].port)) in dead:
                        replicas = [(n.host, int(n.port)) for n in owners[1:]]
                        break
            self._replicas_of = (*key, replicas)
        first = self._replicas_of[2]
        rest = [(n.host, int(n.port)) for n in sorted(nodes, key=lambda n: n.server_type != "replica")]
        return list(dict.fromkeys(first + [a for a in rest if a not in dead]))

    @property
    def stats(self):
        return self.caller.stats

    def call(self, fn: Callable[[RedisCluster], T], idempotent: bool = False) -> T:
        """Run ``fn(redis_cluster)``, retrying through a dead primary / resharding (after a
        possibly applied attempt only if ``idempotent``; see retry.UnknownOutcome)."""
        def attempt():
            try:
                if self._stale.is_set():  # the watcher saw the slots taken over: the new map first
                    self._stale.clear()
                    started = now()
                    self._reread_map()
                    if self.on_event is not None:  # where the lag after a promotion goes
                        self.on_event({"kind": "map-reread", "at": started, "took_s": round(now() - started, 4)})
                return fn(self.rc)
            except RedisClusterException as exc:
                if any(s in str(exc) for s in _UNAVAILABLE):
                    raise ClusterUnavailable(str(exc)) from exc
                raise
        return self.caller.call(attempt, idempotent=idempotent)

    def set(self, key: str, value: str, idempotent: bool = True) -> bool:
        """SET of one value is idempotent; pass False when other clients write ``key``."""
        return self.call(lambda rc: rc.set(key, value), idempotent=idempotent)

    def get(self, key: str) -> Optional[str]:
        return self.call(lambda rc: rc.get(key), idempotent=True)

    def set_many(self, items: Mapping[str, str], chunk: int = 500, idempotent: bool = True) -> None:
        """Pipelined SETs (redis-py splits them per node)."""
        items = list(items.items())
        for i in range(0, len(items), chunk):
            part = items[i:i + chunk]

            def write(rc, part=part):
                pipe = rc.pipeline()
                for k, v in part:
                    pipe.set(k, v)
                return pipe.execute()
            self.call(write, idempotent=idempotent)

    def get_many(self, keys: list[str], chunk: int = 500) -> dict[str, Optional[str]]:
        out: dict[str, Optional[str]] = {}
        for i in range(0, len(keys), chunk):
            part = keys[i:i + chunk]

            def read(rc, part=part):
                pipe = rc.pipeline()
                for k in part:
                    pipe.get(k)
                return pipe.execute()
            out.update(zip(part, self.call(read, idempotent=True)))
        return out

    def delete_many(self, keys: list[str]) -> int:
        return sum(self.call(lambda rc, k=keys[i:i + 500]: rc.delete(*k), idempotent=True) for i in range(0, len(keys), 500)) if keys else 0

    def set_acked(self, key: str, value: str, replicas: int = 1, timeout_ms: int = 2000,
                  idempotent: bool = True) -> int:
        """SET then WAIT on the same connection to the key's primary; returns how many
        replicas acknowledged. (Through RedisCluster the two commands could take different
        connections, and WAIT only waits for its own connection's writes.) Within
        ``timeout_ms``, in WAIT slices shorter than the socket timeout (retry.acked_write)."""
        def write(rc: RedisCluster) -> int:
            node = rc.get_node_from_key(key)
            conn = rc.get_redis_connection(node)

            def once(ms: int) -> int:
                pipe = conn.pipeline(transaction=False)
                pipe.set(key, value)
                pipe.execute_command("WAIT", replicas, ms)
                return int(pipe.execute()[1])
            try:
                return acked_write(once, replicas, timeout_ms, self.socket_timeout)
            except MovedError as exc:
                rc.nodes_manager.initialize()
                raise StaleSlotMap(str(exc)) from exc
            except (redis.ConnectionError, redis.TimeoutError):
                try:  # what RedisCluster does on a connection error: rebuild the map
                    rc.nodes_manager.initialize()
                except Exception:  # noqa: BLE001 - the retry will try again
                    pass
                raise
        return self.call(write, idempotent=idempotent)

    def node_of(self, key: str) -> Addr:
        """The (reachable) address of the primary this client would send ``key`` to."""
        node = self.rc.get_node_from_key(key)
        return node.host, int(node.port)

    def report(self) -> dict:
        """What this client saw, for the suite report."""
        watch = {} if self.watcher is None else {"watcher": {"polls": self.watcher.polls,
                                                             "signals": len(self.watcher.signals)}}
        return {"redirects": {"MOVED": self.redirects["MOVED"], "ASK": self.redirects["ASK"]},
                **self.stats.as_dict(), **watch}

    def close(self) -> None:
        if self.watcher is not None:
            self.watcher.close()
        for conn in self._pollers.values():
            conn.close()
        self.rc.close()


__all__ = ["ClusterClient", "RETRYABLE", "UnknownOutcome", "ClusterUnavailable", "StaleSlotMap", "key_slot",
           "keys_in_ranges", "shard_of", "expected_counts", "distribution_rows", "spread_problems"]
