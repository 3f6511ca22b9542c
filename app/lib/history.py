"""An append-only operation history, Jepsen style.

Every operation is invoked once and completed once: ``ok`` (acknowledged), ``fail``
(certainly not applied) or ``info`` (unknown: e.g. the connection died mid-request, so
the write may or may not have happened). Checkers (checkers.py) read it; nothing prints.
"""
from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import Optional

import redis

from .util import now


@dataclass
class Op:
    id: int
    kind: str
    key: str
    value: Optional[str]
    t_invoke: float
    t_complete: Optional[float] = None
    status: Optional[str] = None  # ok | fail | info
    replicated: Optional[int] = None  # replicas that acknowledged (WAIT), when asked
    error: Optional[str] = None
    shard: Optional[str] = None

    def as_dict(self, t0: float = 0.0) -> dict:
        d = asdict(self)
        d["t_invoke"] = round(self.t_invoke - t0, 4)
        d["t_complete"] = None if self.t_complete is None else round(self.t_complete - t0, 4)
        return d


def classify(error: BaseException) -> str:
    """A server's error reply means the command was refused (fail); a lost connection or a
    timeout leaves the outcome unknown (info)."""
    if isinstance(error, (redis.ConnectionError, redis.TimeoutError)):
        return "info"
    if isinstance(error, redis.ResponseError):
        return "fail"
    return "info"


class History:
    def __init__(self):
        self._ops: list[Op] = []
        self._lock = threading.Lock()

    def invoke(self, kind: str, key: str, value: Optional[str] = None, shard: Optional[str] = None) -> Op:
        with self._lock:
            op = Op(len(self._ops), kind, key, value, now(), shard=shard)
            self._ops.append(op)
        return op

    @staticmethod
    def ok(op: Op, replicated: Optional[int] = None) -> None:
        op.replicated, op.status, op.t_complete = replicated, "ok", now()

    @staticmethod
    def failed(op: Op, error: BaseException) -> None:
        op.error, op.status, op.t_complete = f"{type(error).__name__}: {error}"[:200], classify(error), now()

    def ops(self) -> list[Op]:
        with self._lock:
            return list(self._ops)
