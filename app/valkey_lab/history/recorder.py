"""The live recorder of a lab run: model.Recorder plus the name of the scenario run each
record belongs to, fresh process numbers, the client's own events (retries, master
changes, redirects), all on the one clock, and the one journaling helper every client op
goes through:

    with recorder.op(process, "write", key, value, lane="probe") as op:
        op.ok(replicated=client.set_acked(key, value, 2))

records the invoke, then ``ok`` (what the body completed, or ``ok`` with the invoke's value
when it completed nothing), or, when the body raised, ``fail`` or ``info`` from the exception
(``outcome``) with the error as ``"<ExceptionClass>: <message>"`` (``describe``). With
``where=`` (a callable naming the node the client last talked to, e.g. ``"host:port"``), a
completion the server answered carries ``node``: the node that acknowledged it, which the
one-writable-master checker needs (an exception's completion does not: the client may not
know where the last attempt went). The
exception is recorded, not raised: a client op that fails is data. A ``Worker`` is one client
thread's identity: it takes a new process after an ``info`` (Jepsen's interpreter does the
same: the old op may still be in flight), so a history never has two ops of one process
outstanding."""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Optional

import redis

from valkey_lab.clients.retry import may_have_applied
from valkey_lab.history.model import Handle, Recorder

ERROR_CHARS = 200


def outcome(error: BaseException) -> str:
    """Jepsen's completion type for an operation that raised ``error``: ``fail`` only when the
    error proves the command was not applied (a refusal reply, a failed connect), ``info``
    when it may have been (clients.retry.may_have_applied), or when it is a bug of ours (we
    do not know what reached the server)."""
    if may_have_applied(error):
        return "info"
    if isinstance(error, (redis.RedisError, OSError)):
        return "fail"
    return "info"


def describe(error: BaseException) -> str:
    """The one error format of a history: ``"<ExceptionClass>: <message>"``, at most 200 characters."""
    return f"{type(error).__name__}: {error}"[:ERROR_CHARS]


class Pending:
    """An op invoked and not completed yet. Complete it once: ``ok`` or ``fail`` when the
    server answered, ``raised`` with the exception that ended it."""

    def __init__(self, recorder: "RunRecorder", handle: Handle, extra: dict,
                 where: Optional[Callable[[], Optional[str]]] = None):
        self._rec, self._handle, self._extra, self._where = recorder, handle, extra, where
        self.type: Optional[str] = None  # the completion, once recorded
        self.error: Optional[str] = None

    @property
    def answered(self) -> bool:
        """Completed from an answer (``ok``, or ``fail`` by the answer), not from an exception."""
        return self.type is not None and self.error is None

    def ok(self, value: Any = ..., **extra: Any) -> None:
        """``value``: what the op returned (a read's value, INCR's counter); by default the invoke's."""
        self._complete("ok", value, self._node(extra))

    def fail(self, value: Any = ..., **extra: Any) -> None:
        """An answer that shows the op did not happen (a cas that found another value)."""
        self._complete("fail", value, self._node(extra))

    def _node(self, extra: dict) -> dict:
        if self._where is None or "node" in extra:
            return extra
        try:
            node = self._where()
        except Exception:  # noqa: BLE001 - attribution is evidence, never a reason to lose the op
            node = None
        return {**extra, "node": node} if node else extra

    def raised(self, error: BaseException) -> None:
        self.error = describe(error)
        self._complete(outcome(error), ..., {"error": self.error})

    def _complete(self, type: str, value: Any, extra: dict) -> None:
        self._rec.complete(self._handle, type, value, **{**self._extra, **extra})
        self.type = type


class RunRecorder(Recorder):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.run: Optional[str] = None
        self._processes = itertools.count()

    def _append(self, rec: dict) -> None:  # the lock is held (model.Recorder)
        if self.run is not None and rec.get("kind") != "meta":
            rec.setdefault("run", self.run)
        super()._append(rec)

    @contextmanager
    def running(self, name: str) -> Iterator["RunRecorder"]:
        previous, self.run = self.run, name
        try:
            yield self
        finally:
            self.run = previous

    def process(self) -> int:
        """A process number never used before in this history (Jepsen's processes are ints)."""
        return next(self._processes)

    def worker(self) -> "Worker":
        return Worker(self)

    def begin(self, process: Any, f: str, key: Optional[str], value: Any = None,
              where: Optional[Callable[[], Optional[str]]] = None, **extra: Any) -> Pending:
        """Record the invoke of an op; its completion repeats ``extra`` (e.g. the lane)."""
        return Pending(self, self.invoke(process, f, key, value, **extra), extra, where)

    @contextmanager
    def op(self, process: Any, f: str, key: Optional[str], value: Any = None,
           where: Optional[Callable[[], Optional[str]]] = None, **extra: Any) -> Iterator[Pending]:
        """Journal one client op around the body of the ``with`` (see the module's docstring)."""
        pending = self.begin(process, f, key, value, where, **extra)
        try:
            yield pending
        except Exception as exc:  # noqa: BLE001 - every outcome of a client op is recorded, none raised
            if pending.type is not None:
                raise  # it broke after its completion was recorded: ours, not the op's
            pending.raised(exc)
        else:
            if pending.type is None:
                pending.ok()

    def client_event(self, f: str, value: Any) -> None:
        """What a client did on its own: a retry sleep, a master change, a redirect."""
        with self._lock:
            self._append({"kind": "client-event", "f": f, "value": value})

    def harness(self, f: str, value: Any) -> None:
        """What the harness did: steady state reached, a wait that ended (a metric), a timeout."""
        with self._lock:
            self._append({"kind": "harness", "f": f, "value": value})

    def count(self, pred, since: float = 0.0) -> int:
        """How many records from ``since`` on satisfy ``pred``, without copying the history
        (the harness polls this while a run records thousands of samples)."""
        with self._lock:
            return sum(1 for r in self._records if r.get("time", 0.0) >= since and pred(r))

    def at(self, monotonic: float) -> float:
        """A monotonic reading on this history's clock."""
        return round(monotonic - self.t0, 6)


class Worker:
    """One client thread's identity in the history: Jepsen's process, renewed after an ``info``
    completion (that op may still be in flight, so its process never invokes again)."""

    def __init__(self, recorder: RunRecorder):
        self.recorder = recorder
        self.process = recorder.process()

    @contextmanager
    def op(self, f: str, key: Optional[str], value: Any = None, where: Optional[Callable[[], Optional[str]]] = None,
           **extra: Any) -> Iterator[Pending]:
        pending: Optional[Pending] = None
        try:
            with self.recorder.op(self.process, f, key, value, where, **extra) as pending:
                yield pending
        finally:
            if pending is not None and pending.type == "info":
                self.process = self.recorder.process()


__all__ = ["RunRecorder", "Worker", "Pending", "outcome", "describe"]
