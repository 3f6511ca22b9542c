"""Watching for the promotion a client is waiting for, so that its backoff sleep ends as soon
as the servers have a new primary (rather than at the end of the sleep).

- ``ShardWatcher`` (cluster): while a ``ClusterClient`` retries, it polls ``CLUSTER SHARDS``
  on surviving nodes (first the replicas of the primary it cannot reach) every ``interval``
  seconds; when no unreachable node owns slots any more (or, when it does not know which
  node is unreachable, when the slot owners change), it signals. Valkey pushes no topology
  change to clients (valkey-io/valkey#57), so polling is the way in; the watcher polls only
  while its client is retrying, and stops ``idle_s`` after the last retry.
- ``selected_replica`` (HA): the replica a Sentinel event names (+selected-slave,
  +failover-state-wait-promotion), for the HA client's follow-the-promotion mode.

Pure parts (``shard_owners``, ``promotion_shows``, ``selected_replica``, ``ShardWatcher.check_once``)
take their inputs as arguments, so they are unit-tested without servers.
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable, Mapping, Optional

from .retry import now

Addr = tuple[str, int]
Range = tuple[int, int]


def _pairs(item) -> dict:
    """A RESP2 flat list [k1, v1, k2, v2, ...] or a RESP3 map -> dict."""
    if isinstance(item, Mapping):
        return {(k.decode() if isinstance(k, bytes) else k): v for k, v in item.items()}
    it = list(item)
    return {(k.decode() if isinstance(k, bytes) else k): v for k, v in zip(it[::2], it[1::2])}


def _text(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def shard_owners(reply, remap: Callable[[Addr], Addr] = lambda a: a) -> dict[Addr, tuple[Range, ...]]:
    """A ``CLUSTER SHARDS`` reply -> {primary address: its slot ranges}, for shards with slots.
    The address is the node's preferred endpoint (hostname here) and port, through ``remap``.
    A shard lists its dead old primary beside the promoted replica, both ``master``: the one
    whose health is ``online`` owns the slots."""
    out: dict[Addr, tuple[Range, ...]] = {}
    for shard in reply or []:
        shard = _pairs(shard)
        flat = [int(s) for s in shard.get("slots") or []]
        ranges = tuple(zip(flat[::2], flat[1::2]))
        if not ranges:
            continue
        masters = [n for n in (_pairs(n) for n in shard.get("nodes") or []) if _text(n.get("role")) == "master"]
        if len(masters) > 1:  # after a failover the dead primary stays in its shard, a master with health fail
            masters = [n for n in masters if _text(n.get("health")) == "online"] or masters
        for node in masters:
            host = _text(node.get("endpoint") or node.get("hostname") or node.get("ip"))
            if host in ("", "?"):
                host = _text(node.get("ip"))
            port = int(node.get("port") or node.get("tls-port") or 0)
            out[remap((host, port))] = ranges
    return out


def promotion_shows(owners: Mapping[Addr, tuple], dead: Iterable[Addr], baseline: Optional[Mapping] = None) -> bool:
    """True when the servers have moved on: with ``dead`` known, none of them owns slots any
    more (a replica took them over); without, the owners differ from ``baseline``."""
    if not owners:
        return False  # nothing learnt from this reply
    dead = set(dead)
    if dead:
        return not (dead & set(owners))
    return baseline is not None and dict(owners) != dict(baseline)


class ShardWatcher:
    """Signals ``changed`` when the promotion a retrying cluster client waits for shows.

    ``poll(addr)`` returns a node's ``CLUSTER SHARDS`` reply (raises when it cannot);
    ``candidates(dead)`` the nodes to ask, best first (the dead primaries' replicas). Each
    round asks up to ``fanout`` of them; a node that did not answer is skipped for
    ``skip_s``. ``arm(dead)`` is called on every retry: it (re)starts the polling thread."""

    def __init__(self, poll: Callable[[Addr], object], candidates: Callable[[set], list[Addr]],
                 remap: Callable[[Addr], Addr] = lambda a: a, interval: float = 0.05, idle_s: float = 2.0,
                 fanout: int = 2, skip_s: float = 1.0, clock: Callable[[], float] = now):
        self.poll, self.candidates, self.remap = poll, candidates, remap
        self.interval, self.idle_s, self.fanout, self.skip_s, self.clock = interval, idle_s, fanout, skip_s, clock
        self.changed = threading.Event()
        self.polls = 0  # CLUSTER SHARDS sent (the load this watcher puts on the servers)
        self.poll_errors = 0
        self.signals: list[dict] = []  # when and why it woke its client
        self.dead: set[Addr] = set()
        self.baseline: Optional[dict] = None
        self._unanswering: dict[Addr, float] = {}
        self._last_arm = 0.0
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None
        self._closed = threading.Event()

    # -- called by the client -----------------------------------------------------------------
    def arm(self, dead: Iterable[Addr] = ()) -> None:
        """The client is about to sleep before a retry: watch (again) until ``idle_s`` after this."""
        with self._lock:
            self.dead = set(dead)
            self._last_arm = self.clock()
            running = self._thread is not None and self._thread.is_alive()
            if not running and not self._closed.is_set():
                self.baseline = None
                self._thread = threading.Thread(target=self._run, daemon=True, name="shard-watcher")
                self._thread.start()

    def wait(self, seconds: float) -> bool:
        """Sleep ``seconds`` or until the promotion shows; True when woken by it."""
        woke = self.changed.wait(seconds)
        if woke:
            self.changed.clear()
        return woke

    def close(self) -> None:
        self._closed.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    # -- the polling ---------------------------------------------------------------------------
    def check_once(self) -> bool:
        """One round: ask up to ``fanout`` candidates; True (and ``changed`` set) when one shows
        the promotion."""
        t = self.clock()
        with self._lock:
            dead = set(self.dead)
        asked = 0
        for addr in self.candidates(dead):
            if asked >= self.fanout:
                break
            if addr in dead or self._unanswering.get(addr, -1e9) > t - self.skip_s:
                continue
            asked += 1
            self.polls += 1
            try:
                owners = shard_owners(self.poll(addr), self.remap)
            except Exception:  # noqa: BLE001 - a dead or partitioned node: ask the next one
                self.poll_errors += 1
                self._unanswering[addr] = t
                continue
            if self.baseline is None and not dead:
                self.baseline = owners
                continue
            if promotion_shows(owners, dead, self.baseline):
                self.baseline = owners
                self.signals.append({"at": t, "via": f"{addr[0]}:{addr[1]}",
                                     "dead": sorted(f"{h}:{p}" for h, p in dead)})
                self.changed.set()
                return True
        return False

    def _run(self) -> None:
        while not self._closed.is_set():
            with self._lock:
                if self.clock() - self._last_arm > self.idle_s:
                    self._thread = None
                    return
            if self.check_once():
                with self._lock:  # done until the client retries again
                    self._thread = None
                    return
            self._closed.wait(self.interval)


def selected_replica(event: str, data: str, service: str) -> Optional[Addr]:
    """The replica a Sentinel event names for ``service``: ``+selected-slave`` and
    ``+failover-state-wait-promotion`` carry ``slave <ip:port> <ip> <port> @ <service> <mip> <mport>``."""
    if event not in ("+selected-slave", "+failover-state-wait-promotion", "+promoted-slave"):
        return None
    parts = data.split()
    if len(parts) < 6 or parts[0] not in ("slave", "replica") or parts[4] != "@" or parts[5] != service:
        return None
    return parts[2], int(parts[3])


__all__ = ["ShardWatcher", "shard_owners", "promotion_shows", "selected_replica"]
