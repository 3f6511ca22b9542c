"""Plain, short-timeout connections to each node of a backend, by node name: how the
topologies read state, independently of the clients under test."""
from __future__ import annotations

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from valkey_lab.backends import Backend
from valkey_lab.util import LabError


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

    def first_answering(self, nodes: list[str], what: str, compose_file: str) -> None:
        """Return once one of ``nodes`` answers PING; else LabError with one clear line
        (wrong password, or nothing answers)."""
        errors = []
        for node in nodes:
            try:
                self.client(node).ping()
                return
            except redis.AuthenticationError as exc:
                raise LabError(f"authentication failed at {what} {node} ({exc}): VALKEY_PASSWORD does not "
                               "match the stack's password (see .env)") from exc
            except redis.ResponseError as exc:
                if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                    raise LabError(f"authentication failed at {what} {node}: set VALKEY_PASSWORD to the "
                                   "stack's password (see .env)") from exc
                errors.append(f"{node}: {exc}")
            except (redis.ConnectionError, redis.TimeoutError):
                errors.append(":".join(map(str, self.backend.address(node))))
        raise LabError(f"no {what} answers ({', '.join(errors)}): {self.backend.advice(nodes[0])}")
