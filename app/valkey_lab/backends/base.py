"""The one fault interface the scenarios use, whatever runs the nodes.

Nodes are named as in the compose files (``valkey-master``, ``node-7000``, ...) on every
backend, so a scenario says "kill valkey-master" and the backend decides what that means:
SIGKILL of a local process or ``docker kill`` of a container.
"""
from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import Optional

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from valkey_lab.util import LabError, now

Addr = tuple[str, int]
READY_TIMEOUT_S = 30.0


class NodeNotReady(LabError):
    """A node did not answer PING by its start's deadline."""


class Backend(ABC):
    """Readiness belongs to the start (testcontainers' wait strategy, mirakuru's
    after_start_check): ``start`` and ``up`` return only once each node they started answers
    PING with AUTH, or raise NodeNotReady at ``ready_timeout``."""
    name: str = "abstract"
    password: Optional[str] = None
    ready_timeout: float = READY_TIMEOUT_S

    @abstractmethod
    def nodes(self) -> list[str]:
        """Every node's name."""

    @abstractmethod
    def address(self, node: str) -> Addr:
        """Where the app reaches ``node`` (a published loopback port in Docker)."""

    @abstractmethod
    def announced(self, node: str) -> Addr:
        """How the nodes name ``node`` to each other and to clients (Sentinel replies, MOVED)."""

    @abstractmethod
    def kill(self, node: str) -> None:
        """SIGKILL: no shutdown, no goodbye to peers."""

    @abstractmethod
    def start(self, node: str) -> None:
        """Start a killed node again with the configuration it had (and rewrote)."""

    @abstractmethod
    def pause(self, node: str) -> None:
        """SIGSTOP: alive but silent."""

    @abstractmethod
    def resume(self, node: str) -> None:
        ...

    @abstractmethod
    def is_running(self, node: str) -> bool:
        ...

    @abstractmethod
    def log(self, node: str) -> str:
        """What the node printed (its log file, or the container's log)."""

    def process_state(self, node: str) -> str:
        """'running', or how it ended ('exited with code 1'), for error messages."""
        return "running" if self.is_running(node) else "not running"

    def fault_commands(self, node: str) -> dict:
        """Shell commands a user runs to break ``node`` by hand (the --watch table)."""
        return {}

    def advice(self, node: str) -> str:
        """What a user of this backend does next when ``node`` misbehaves."""
        return f"see the log of {node}"

    # -- readiness ---------------------------------------------------------------------------
    def _answers(self, node: str) -> bool:
        host, port = self.address(node)
        client = redis.Redis(host, port, password=self.password, socket_timeout=0.5, socket_connect_timeout=0.5,
                             retry=Retry(NoBackoff(), 0))
        try:
            return client.ping() is True
        except redis.AuthenticationError as exc:
            raise LabError(f"authentication failed at {node} ({exc}): VALKEY_PASSWORD does not match the "
                           "nodes' password (see .env)") from exc
        except redis.ResponseError as exc:  # LOADING, or NOAUTH when no password was given
            if "NOAUTH" in str(exc) or "WRONGPASS" in str(exc):
                raise LabError(f"authentication failed at {node}: set VALKEY_PASSWORD to the nodes' password "
                               "(see .env)") from exc
            return False
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return False
        finally:
            client.close()

    def wait_answering(self, nodes: list[str], timeout: Optional[float] = None) -> None:
        """Return when every node in ``nodes`` answers PING; else NodeNotReady naming the
        first that did not, its address, its process state and the end of its log."""
        deadline = now() + (self.ready_timeout if timeout is None else timeout)
        for node in nodes:
            while not self._answers(node):
                if now() >= deadline or self.process_state(node).startswith("exited"):
                    self._not_ready(node, timeout)
                time.sleep(0.02)

    def _not_ready(self, node: str, timeout: Optional[float]) -> None:
        host, port = self.address(node)
        tail = " | ".join(line.strip() for line in self.log(node).strip().splitlines()[-3:] if line.strip())
        raise NodeNotReady(f"{node} at {host}:{port} did not answer PING within "
                           f"{self.ready_timeout if timeout is None else timeout:.0f}s "
                           f"(process {self.process_state(node)}; last log lines: {tail or 'none'}): "
                           f"{self.advice(node)}")

    def partition(self, node: str, peers: list[str]) -> None:
        """Drop every packet between ``node`` and ``peers``; the app can still reach ``node``."""
        raise NotImplementedError(f"the {self.name} backend cannot partition")

    def heal(self) -> None:
        """Undo every partition."""

    def close(self) -> None:
        """Release what the backend owns (local: every process and the temp dir)."""

    # Announced addresses -> reachable ones, for clients that learn addresses from the servers.
    def address_map(self) -> dict[Addr, Addr]:
        return {self.announced(n): self.address(n) for n in self.nodes()}

    def remap(self, addr: Addr) -> Addr:
        return self.address_map().get((addr[0], int(addr[1])), (addr[0], int(addr[1])))

    def node_at(self, addr: Addr) -> str:
        """The name of the node an announced or reachable address points at."""
        addr = (addr[0], int(addr[1]))
        for node in self.nodes():
            if addr in (self.announced(node), self.address(node)):
                return node
        raise KeyError(f"no node at {addr[0]}:{addr[1]}")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
