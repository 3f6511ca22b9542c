"""Where the nodes run: local processes or Docker containers, behind one interface."""
from valkey_lab.backends.base import Backend
from valkey_lab.backends.docker import DockerBackend
from valkey_lab.backends.local import LocalBackend, LocalNode

__all__ = ["Backend", "DockerBackend", "LocalBackend", "LocalNode"]
