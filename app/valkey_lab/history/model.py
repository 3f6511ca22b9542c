"""The history model: records (plain dicts, see ``valkey_lab.history``) and the client
operations paired from them.

Pure functions over lists of records, plus the only I/O of the history layer
(``load_jsonl``, ``dump_jsonl``, ``Recorder.save``) and the thread-safe ``Recorder`` that
writes records live. Checkers take records (or already paired ``Op`` lists) and nothing else.
"""
from __future__ import annotations

import itertools
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

COMPLETIONS = ("ok", "fail", "info")
PHASES = ("start", "end")
# Fields an Op has a slot for; anything else on a client record lands in Op.extra.
_KNOWN = frozenset({"kind", "process", "type", "f", "key", "value", "time", "lane", "replicated", "error",
                    "shard"})


class HistoryError(ValueError):
    """A history that breaks the format's rules (e.g. a completion nobody invoked)."""


@dataclass(frozen=True)
class Op:
    """One client operation: its invoke and its completion, paired.

    ``type`` is ``ok`` (happened), ``fail`` (certainly did not happen) or ``info`` (unknown:
    it may or may not have happened; also an op that never completed, whose ``t_complete``
    is None). ``value`` is what the invoke carried, ``result`` what the completion carried.
    """

    process: Any
    f: str
    key: Optional[str]
    value: Any = None
    result: Any = None
    type: str = "info"
    t_invoke: float = 0.0
    t_complete: Optional[float] = None
    lane: Optional[str] = None
    replicated: Optional[int] = None
    error: Optional[str] = None
    shard: Optional[str] = None
    extra: dict = field(default_factory=dict, hash=False)

    @property
    def ok(self) -> bool:
        return self.type == "ok"

    @property
    def acks(self) -> int:
        """Replicas that acknowledged (WAIT); none reported counts as 0."""
        return self.replicated or 0

    @property
    def error_kind(self) -> Optional[str]:
        """The class part of ``error`` (``"ResponseError"`` of ``"ResponseError: NOREPLICAS ..."``)."""
        return error_kind(self.error)


def error_kind(error: Optional[str]) -> Optional[str]:
    """The exception class an error recorded as ``"<ExceptionClass>: <message>"`` names; None
    for no error, or one recorded in another format."""
    kind, sep, _ = (error or "").partition(": ")
    return kind if sep and kind.isidentifier() else None


def _merge(invoke: dict, done: Optional[dict]) -> Op:
    done = done or {}
    extra = {k: v for k, v in invoke.items() if k not in _KNOWN}
    extra.update({k: v for k, v in done.items() if k not in _KNOWN})

    def last(name: str) -> Any:
        # The completion knows more (e.g. the shard that finally answered), so it wins.
        return done[name] if done.get(name) is not None else invoke.get(name)

    return Op(process=invoke["process"], f=invoke["f"], key=invoke.get("key"), value=invoke.get("value"),
              result=done.get("value"), type=done.get("type", "info"), t_invoke=invoke["time"],
              t_complete=done.get("time"), lane=last("lane"), replicated=done.get("replicated"),
              error=done.get("error"), shard=last("shard"), extra=extra)


def pair(records: Iterable[dict]) -> list[Op]:
    """Client records -> ops, in invoke order. An invoke never completed is an ``info`` op
    with ``t_complete`` None (the client crashed: the outcome is unknown)."""
    pending: dict[Any, int] = {}  # process -> index in slots of its outstanding invoke
    slots: list[list] = []  # [invoke, completion or None]
    for rec in client_ops(records):
        p, kind = rec.get("process"), rec.get("type")
        if kind == "invoke":
            missing = [k for k in ("process", "f", "time") if rec.get(k) is None]
            if missing:
                raise HistoryError(f"invoke without {', '.join(missing)}: {rec}")
            if p in pending:
                raise HistoryError(f"process {p!r} invoked {rec.get('f')!r} at {rec.get('time')} while its "
                                   f"{slots[pending[p]][0].get('f')!r} was still outstanding")
            pending[p] = len(slots)
            slots.append([rec, None])
        elif kind in COMPLETIONS:
            if p not in pending:
                raise HistoryError(f"process {p!r}: {kind} {rec.get('f')!r} of key {rec.get('key')!r} at "
                                   f"{rec.get('time')} completes no invoke")
            slot = slots[pending.pop(p)]
            if rec.get("f", slot[0]["f"]) != slot[0]["f"]:
                raise HistoryError(f"process {p!r}: {kind} {rec.get('f')!r} at {rec.get('time')} completes "
                                   f"an invoke of {slot[0]['f']!r}")
            slot[1] = rec
        else:
            raise HistoryError(f"process {p!r}: unknown op type {kind!r} at {rec.get('time')}")
    return [_merge(invoke, done) for invoke, done in slots]


OpsOrRecords = Union[Iterable[dict], Iterable[Op]]


def as_ops(history: OpsOrRecords) -> list[Op]:
    """Checkers take raw records, or ops a caller paired once to hand to several checkers."""
    items = list(history)
    if all(isinstance(x, Op) for x in items):
        return items
    return pair(items)


def client_ops(records: Iterable[dict]) -> list[dict]:
    return [r for r in records if r.get("kind") == "client"]


def nemesis_ops(records: Iterable[dict], f: Optional[str] = None) -> list[dict]:
    return [r for r in records if r.get("kind") == "nemesis" and (f is None or r.get("f") == f)]


def server_ops(records: Iterable[dict], f: Optional[str] = None) -> list[dict]:
    return [r for r in records if r.get("kind") == "server" and (f is None or r.get("f") == f)]


def meta_of(records: Iterable[dict]) -> dict:
    """The run's settings: the meta record without its ``kind`` ({} when there is none)."""
    for r in records:
        if r.get("kind") == "meta":
            return {k: v for k, v in r.items() if k != "kind"}
    return {}


def fault_window(records: Iterable[dict], f: Optional[str] = None) -> tuple[Optional[float], Optional[float]]:
    """(start, end) of the first fault (of kind ``f``): end is the first later ``end`` of the
    same kind and target, None while the fault was never healed; (None, None) if no fault."""
    ops = nemesis_ops(records, f)
    for i, start in enumerate(ops):
        if start.get("phase") != "start":
            continue
        for end in ops[i + 1:]:
            if end.get("phase") == "end" and end.get("f") == start.get("f") and end.get("value") == start.get("value"):
                return start["time"], end["time"]
        return start["time"], None
    return None, None


# ---- on disk: JSON Lines ----

def _jsonable(x: Any) -> Any:
    # Clients hand back bytes and sets; JSON has neither.
    if isinstance(x, bytes):
        return x.decode("utf-8", "backslashreplace")  # pragma: no mutate (codec names ignore case)
    if isinstance(x, (set, frozenset)):
        return sorted(x, key=str)
    return str(x)


def load_jsonl(path: Union[str, Path]) -> list[dict]:
    """Records of a ``history.jsonl``; blank lines are skipped, anything else that is not a
    JSON object raises ``HistoryError("FILE:LINE: ...")``."""
    records = []
    # Not mutated: without the encoding it is the same wherever the locale is UTF-8, as here.
    with open(path, encoding="utf-8") as fh:  # pragma: no mutate
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise HistoryError(f"{path}:{n}: not JSON: {e.msg}") from None
            if not isinstance(rec, dict):
                raise HistoryError(f"{path}:{n}: not a JSON object: {line.strip()[:80]}")
            records.append(rec)
    return records


def dump_jsonl(records: Iterable[dict], path: Union[str, Path]) -> None:
    """One object per line, written to a temporary file first so a reader never sees half a history."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")  # pragma: no mutate (any sibling name will do)
    with open(tmp, "w", encoding="utf-8") as fh:  # pragma: no mutate (as in load_jsonl)
        for rec in records:
            fh.write(json.dumps(rec, default=_jsonable,
                                ensure_ascii=False) + "\n")  # pragma: no mutate (None is as false)
    os.replace(tmp, path)


# ---- live recording ----

@dataclass(frozen=True)
class Handle:
    """What ``Recorder.invoke`` returns and ``Recorder.complete`` takes."""

    process: Any
    f: str
    key: Optional[str]
    value: Any
    seq: int  # tells apart two invokes of one process with equal f, key and value


class Recorder:
    """Thread-safe, append-only history on one clock. Times are ``clock() - t0`` in seconds
    (rounded to the microsecond) and are read under the lock, so the record order is the
    time order. Enforces Jepsen's rule: one outstanding op per process."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._records: list[dict] = []
        self._outstanding: dict[Any, Handle] = {}
        self._seq = itertools.count()
        self.t0 = clock()

    def _append(self, rec: dict) -> None:
        # Caller holds the lock.
        rec["time"] = self.now()
        self._records.append(rec)

    def invoke(self, process: Any, f: str, key: Optional[str], value: Any = None, **extra: Any) -> Handle:
        with self._lock:
            if process in self._outstanding:
                raise HistoryError(f"process {process!r} invoked {f!r} while "
                                   f"{self._outstanding[process].f!r} is outstanding")
            self._append({"kind": "client", "process": process, "type": "invoke", "f": f, "key": key,
                          "value": value, **extra})
            handle = Handle(process, f, key, value, next(self._seq))
            self._outstanding[process] = handle
            return handle

    def complete(self, handle: Handle, type: str, value: Any = ..., **extra: Any) -> None:
        """``value`` defaults to the invoke's (a write completes with the value written)."""
        if type not in COMPLETIONS:
            raise HistoryError(f"completion type must be one of {COMPLETIONS}, not {type!r}")
        with self._lock:
            if self._outstanding.get(handle.process) != handle:
                raise HistoryError(f"process {handle.process!r}: {handle.f!r} completed twice or never invoked")
            del self._outstanding[handle.process]
            self._append({"kind": "client", "process": handle.process, "type": type, "f": handle.f,
                          "key": handle.key, "value": handle.value if value is ... else value, **extra})

    def now(self) -> float:
        """The current instant on this history's clock (what ``time`` of a record appended now would be)."""
        return round(self._clock() - self.t0, 6)

    def nemesis(self, f: str, phase: str, value: Any = None, params: Optional[dict] = None) -> None:
        if phase not in PHASES:
            raise HistoryError(f"nemesis phase must be one of {PHASES}, not {phase!r}")
        with self._lock:
            self._append({"kind": "nemesis", "process": "nemesis", "type": "info", "f": f, "phase": phase,
                          "value": value, "params": dict(params or {})})

    def server(self, f: str, node: Optional[str], value: Any) -> None:
        with self._lock:
            self._append({"kind": "server", "f": f, "node": node, "value": value})

    def meta(self, **settings: Any) -> None:
        """Run settings; kept in one record, first, whenever they are given."""
        with self._lock:
            if self._records and self._records[0]["kind"] == "meta":
                self._records[0].update(settings)
            else:
                self._records.insert(0, {"kind": "meta", **settings})

    def records(self) -> list[dict]:
        """A copy: records handed out can't change the history."""
        with self._lock:
            return [dict(r) for r in self._records]

    def save(self, path: Union[str, Path]) -> None:
        dump_jsonl(self.records(), path)


__all__ = ["COMPLETIONS", "PHASES", "HistoryError", "Op", "error_kind", "Handle", "Recorder", "pair", "as_ops", "client_ops",
           "nemesis_ops", "server_ops", "meta_of", "fault_window", "load_jsonl", "dump_jsonl"]
