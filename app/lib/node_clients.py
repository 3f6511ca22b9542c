"""Plain, short-timeout connections to each node of a backend, by node name: how the
topologies read state, independently of the clients under test."""
from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from .backends import Backend


class NodeClients:
    def __init__(self, backend: Backend, password: str, timeout: float = 0.5):
        self.backend = backend
        self.password = password
        self.timeout = timeout
        self._clients: dict[str, redis.Redis] = {}

    def client(self, node: str) -> redis.Redis:
        if node not in self._clients:
            host, port = self.backend.address(node)
            # No retries inside a probe: redis-py's default (3, with backoff up to seconds)
            # would make each look at a dead node last seconds; callers poll with wait_for.
            self._clients[node] = redis.Redis(host, port, password=self.password, socket_timeout=self.timeout,
                                              socket_connect_timeout=self.timeout, decode_responses=True,
                                              retry=Retry(NoBackoff(), 0))
        return self._clients[node]

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
