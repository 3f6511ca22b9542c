"""Where the nodes run: local processes or Docker containers, behind one interface."""
from .base import Backend
from .docker_backend import DockerBackend
from .local import LocalBackend, LocalNode

__all__ = ["Backend", "DockerBackend", "LocalBackend", "LocalNode"]
