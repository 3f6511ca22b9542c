"""A fine-grained witness of promotions for the bench: ``RoleProbe`` asks ``ROLE`` of some
nodes every ``interval`` (10 ms) and records a ``role-change`` server record whenever a node's
answer changes (``master`` / ``slave`` / ``down``). The moment a replica first answers
``master`` after a fault is the moment it became writable, which the 50-100 ms samplers of
the suites (RoleSampler, FlagSampler) only bracket. One ROLE per node per round: about
100 commands/s per node it watches."""
from __future__ import annotations

from typing import Callable, Iterable, Optional

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from valkey_lab.loop import BackgroundLoop


class RoleProbe(BackgroundLoop):
    name = "role-probe"

    def __init__(self, backend, password: str, recorder, nodes: Callable[[], Iterable[str]], interval: float = 0.01):
        super().__init__(interval)
        self.backend, self.password, self.rec, self.nodes = backend, password, recorder, nodes
        self.last: dict[str, Optional[str]] = {}
        self.conns: dict[str, redis.Redis] = {}
        self.rounds = 0
        self.polls = 0

    def warm(self) -> bool:
        return self.rounds >= 2

    def _role(self, node: str) -> str:
        conn = self.conns.get(node)
        if conn is None:
            host, port = self.backend.address(node)
            conn = self.conns[node] = redis.Redis(host, port, password=self.password, socket_timeout=0.1,
                                                  socket_connect_timeout=0.1, retry=Retry(NoBackoff(), 0),
                                                  decode_responses=True)
        self.polls += 1
        try:
            return str(conn.execute_command("ROLE")[0])
        except (redis.RedisError, OSError):
            return "down"

    def step(self) -> None:
        for node in list(self.nodes()):
            role = self._role(node)
            if self.last.get(node) != role:
                self.rec.server("role-change", node, {"role": role, "was": self.last.get(node)})
                self.last[node] = role
        self.rounds += 1

    def closing(self) -> None:
        for conn in self.conns.values():
            conn.close()


def first_master(records: Iterable[dict], since: float, exclude: Iterable[str] = ()) -> Optional[tuple[str, float]]:
    """(node, time) of the first ``role-change`` to master at or after ``since`` by a node not
    in ``exclude`` (the faulted ones), or None."""
    exclude = set(exclude)
    for r in sorted((r for r in records if r.get("kind") == "server" and r.get("f") == "role-change"),
                    key=lambda r: r["time"]):
        if r["time"] >= since and r.get("node") not in exclude and r["value"]["role"] == "master":
            return r["node"], r["time"]
    return None


__all__ = ["RoleProbe", "first_master"]
