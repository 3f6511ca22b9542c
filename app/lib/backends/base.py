"""The one fault interface the scenarios use, whatever runs the nodes.

Nodes are named as in the compose files (``valkey-master``, ``node-7000``, ...) on every
backend, so a scenario says "kill valkey-master" and the backend decides what that means:
SIGKILL of a local process or ``docker kill`` of a container.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

Addr = tuple[str, int]


class Backend(ABC):
    name: str = "abstract"

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
