"""Server-side observations of the HA topology, recorded into the run's history:

- ``SentinelObserver``: every event each Sentinel publishes (+sdown, +odown, +switch-master,
  ...) as ``sentinel-event`` records, node = the Sentinel that published it;
- ``RoleSampler``: every ``interval`` seconds, each server's role, master, link and offset as
  it answers INFO itself (``roles``), and which master each Sentinel names with its config
  epoch (``sentinels``). Stopped nodes are sampled too (as down), so a restarted old master
  that still calls itself master is seen.
"""
from __future__ import annotations

from typing import Optional

import redis

from valkey_lab.clients.sentinel_events import SentinelEvents
from valkey_lab.loop import BackgroundLoop
from valkey_lab.ha.topology import SENTINELS, SERVERS, SERVICE, HATopology
from valkey_lab.util import now


class SentinelObserver:
    name = "sentinel-events"

    def __init__(self, backend, password: str, recorder):
        self.rec = recorder
        self.events = SentinelEvents({s: backend.address(s) for s in SENTINELS}, password, on_event=self._record)

    def _record(self, event: dict) -> None:
        self.rec.server("sentinel-event", event["sentinel"], {"event": event["event"], "data": event["data"]})

    def start(self) -> "SentinelObserver":
        self.events.__enter__()
        return self

    def stop(self) -> None:
        self.events.__exit__(None, None, None)


class RoleSampler(BackgroundLoop):
    name = "role-sampler"
    step_on_stop = True
    SNAPSHOT_S = 0.3  # a round slower than this spans too much time to count as one instant

    def __init__(self, backend, password: str, recorder, interval: float = 0.1):
        super().__init__(interval)
        self.rec = recorder
        self.topo = HATopology(backend, password, timeout=0.2)
        self.rounds = 0

    def warm(self) -> bool:
        return self.rounds >= 2

    def _server(self, node: str) -> Optional[dict]:
        try:
            info = self.topo.replication(node)
        except (redis.RedisError, OSError):
            return None
        out = {"role": info["role"], "offset": info.get("master_repl_offset")}
        if info["role"] == "slave":
            try:
                master = self.topo.backend.node_at((info["master_host"], int(info["master_port"])))
            except KeyError:
                master = f"{info['master_host']}:{info['master_port']}"
            out.update(master=master, link=info.get("master_link_status"), offset=info.get("slave_repl_offset"))
        return out

    def _sentinel(self, sentinel: str) -> Optional[dict]:
        try:
            state = self.topo.client(sentinel).execute_command("SENTINEL MASTER", SERVICE)
            return {"master": self.topo.backend.node_at((state["ip"], int(state["port"]))),
                    "epoch": int(state["config-epoch"]), "flags": state.get("flags")}
        except (redis.RedisError, OSError, KeyError):
            return None

    def step(self) -> None:
        start = now()
        nodes = {n: self._server(n) for n in SERVERS}
        took = now() - start
        self.rec.server("roles", None, {"nodes": nodes, "masters": [n for n, s in nodes.items() if s and
                                                                    s["role"] == "master"],
                                        "down": [n for n, s in nodes.items() if s is None],
                                        "snapshot": took < self.SNAPSHOT_S})
        sentinels = {s: self._sentinel(s) for s in SENTINELS}
        self.rec.server("sentinels", None, sentinels)
        for s, state in sentinels.items():
            if state is not None:
                self.rec.server("epoch", s, state["epoch"])
        self.rounds += 1

    def closing(self) -> None:
        self.topo.close()


__all__ = ["SentinelObserver", "RoleSampler"]
