"""Records the events Sentinels publish (+sdown, +odown, +switch-master, ...) with the
time each arrived, from every Sentinel, in background threads."""
from __future__ import annotations

import threading
import time
from typing import Callable, Optional

import redis

now = time.monotonic  # the lab's clock (clients/ imports nothing outside itself)

KEY_EVENTS = ("+sdown", "-sdown", "+odown", "-odown", "+new-epoch", "+try-failover", "+vote-for-leader",
              "+elected-leader", "+failover-state-select-slave", "+selected-slave", "+promoted-slave",
              "+failover-state-reconf-slaves", "+switch-master", "+convert-to-slave", "+slave-reconf-done",
              "+failover-end", "-failover-abort-not-elected", "-failover-abort-no-good-slave")


class SentinelEvents:
    def __init__(self, addresses: dict[str, tuple[str, int]], password: Optional[str],
                 pattern: str | tuple[str, ...] = "*", on_event: Optional[Callable[[dict], None]] = None):
        self.addresses = addresses
        self.password = password
        self.pattern = pattern
        self.on_event = on_event
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._listen, args=(name,), daemon=True, name=f"events-{name}")
                         for name in addresses]

    def __enter__(self) -> "SentinelEvents":
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=2)

    def _listen(self, name: str) -> None:
        host, port = self.addresses[name]
        while not self._stop.is_set():  # reconnect: the Sentinel itself may be killed and restarted
            try:
                conn = redis.Redis(host, port, password=self.password, socket_timeout=0.5,
                                   socket_connect_timeout=0.5, decode_responses=True)
                pubsub = conn.pubsub()
                pubsub.psubscribe(*((self.pattern,) if isinstance(self.pattern, str) else self.pattern))
                while not self._stop.is_set():
                    msg = pubsub.get_message(timeout=0.2)
                    if msg and msg["type"] == "pmessage":
                        event = {"t": now(), "sentinel": name, "event": msg["channel"], "data": msg["data"]}
                        with self._lock:
                            self.events.append(event)
                        if self.on_event is not None:
                            self.on_event(event)
                pubsub.close()
                conn.close()
            except (redis.ConnectionError, redis.TimeoutError):
                self._stop.wait(0.2)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return list(self.events)

    def first(self, event: str, since: float = 0.0) -> Optional[dict]:
        return next((e for e in self.snapshot() if e["event"] == event and e["t"] >= since), None)

    def timeline(self, t0: float, since: Optional[float] = None) -> list[dict]:
        """Key events after ``since`` relative to ``t0``; an event several Sentinels saw
        is listed once, at its first sighting, with how many saw it."""
        rows: dict[tuple, dict] = {}
        for e in self.snapshot():
            if e["event"] not in KEY_EVENTS or (since is not None and e["t"] < since):
                continue
            key = (e["event"], e["data"])
            if key in rows:
                rows[key]["seen_by"] += 1
            else:
                rows[key] = {"t_s": round(e["t"] - t0, 3), "event": e["event"], "first_seen_by": e["sentinel"],
                             "seen_by": 1, "data": e["data"]}
        return sorted(rows.values(), key=lambda r: r["t_s"])
