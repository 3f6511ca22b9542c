"""One run on one page: a self-contained HTML report drawn from the history and its report.

``page(records, report)`` is a pure function: the same history and report give the same
page, so ``--analyze H --html out.html`` draws, with no server, the page of the live run.
The page is one file (a jinja2 template shipped with the package, inline CSS and SVG, no
script, font or image from anywhere) that opens offline straight from disk.

Per scenario method (a named run of the harness) the page shows the verdicts with their
evidence, then each run on one time axis:

- fault bands from the nemesis ops (start to end), labelled with the fault and its target;
- who the master (HA: role samples) or each shard's primary (cluster: the nodes' views) was;
- markers for what the servers said: Sentinel events, cluster flags, promotions, epochs;
- the client's own events (retries, master changes) and the harness's waits;
- one lane per client process, each op a bar from invoke to completion (ok green, fail
  red, info amber) with its details in an SVG ``<title>`` tooltip. Processes that did one op
  each under one lane name (the final reads) share a row, which says how many they are.

Counterexamples are outlined on the axis and linked from the verdicts: acknowledged writes
whose key reads back something else (lost), the ops of a non-linearizable read
(``details.counterexample`` / ``in_plain_words``), writes acknowledged while two nodes
claimed to be master of the same data. Above ``MAX_OPS`` ops a run's lanes are aggregated
(ops per column, by outcome) and the page says so.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from importlib import resources
from typing import Any, Iterable, Optional

import jinja2
from markupsafe import Markup

from valkey_lab.history.model import HistoryError, Op, meta_of, pair

MAX_OPS = 20_000  # per run; above it the lanes are aggregated
WIDTH = 1360  # the SVG's user units; the page scales it to the window
LEFT, RIGHT = 232, 28  # the lane labels' column, the right margin
CHAR_W = 6.3  # average width of a character at the 11px label font
BIN_PX = 3  # an aggregated lane's column width
GROUP_MIN = 4  # processes with one op each under one lane name: one row from this many on
MAX_ROWS = 80  # more processes than this: grouped by lane name
MAX_LINKS = 8  # op links listed per counterexample in a verdict
MAX_EXAMPLES = 200  # examples listed in a counterexample box (the first SHOWN open, the rest folded)
SHOWN = 5

STATUS = {True: "pass", False: "fail", None: "unknown"}
# Node colours for the master band: none of them is green, red or amber (the ops' colours).
PALETTE = ("#4e79a7", "#59a5a0", "#8e6bb3", "#9c755f", "#d37295", "#5f7f99", "#a0a05a", "#6b8fd6", "#b07a4e")
# Sentinel events worth a label on the axis; the others are ticks with a tooltip.
KEY_SENTINEL = ("+sdown", "-sdown", "+odown", "-odown", "+try-failover", "+elected-leader", "+promoted-slave",
                "+switch-master", "+failover-end", "+convert-to-slave", "+failover-end-for-timeout",
                "-failover-abort-not-elected", "+tilt", "-tilt")
CLUSTER_FLAGS = ("fail?", "fail")


# ---------------------------------------------------------------------------------------------
# small helpers


def _fmt(value: Any, limit: int = 240) -> str:
    """A value as short text: strings as they are, a summary of samples (p50, p95, ...) in
    words, the rest as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, dict) and "p50" in value and "n" in value:
        return " · ".join(f"{k} {_fmt(value[k])}" for k in ("p50", "p95", "min", "max", "n") if k in value)
    if isinstance(value, float):
        text = f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _full(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str, ensure_ascii=False, indent=1)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "run"


def _secs(t: Optional[float]) -> str:
    return "never" if t is None else f"{t:.3f}s"


def _dur(a: float, b: Optional[float]) -> str:
    if b is None:
        return "no completion"
    ms = (b - a) * 1000
    return f"{ms:.1f} ms" if ms < 1000 else f"{ms / 1000:.3f} s"


def _ticks(t0: float, t1: float, x) -> list[dict]:
    span = max(t1 - t0, 1e-9)
    steps = [m * 10 ** e for e in range(-4, 4) for m in (1, 2, 5)]
    step = next((s for s in steps if span / s <= 14), 10_000)
    digits = max(0, -math.floor(math.log10(step) + 1e-9))
    out = []
    k = math.ceil(t0 / step - 1e-9)
    while k * step <= t1 + 1e-9:
        t = k * step
        out.append({"x": round(x(t), 1), "label": f"{t:.{digits}f}s"})
        k += 1
    return out


def _place_labels(items: list[dict], levels: int, x_min: float, x_max: float) -> None:
    """Greedy: each labelled item (in x order) takes the first level where its text fits
    after the previous label; with none free it keeps only its tooltip."""
    ends = [-1e9] * levels
    for it in sorted(items, key=lambda i: i["x"]):
        if not it.get("label"):
            continue
        w = len(it["label"]) * CHAR_W + 6
        tx = min(max(it["x"] + 3, x_min), x_max - w)
        for lv in range(levels):
            if tx > ends[lv] + 2:
                ends[lv] = tx + w
                it["level"], it["tx"] = lv, round(tx, 1)
                break
        else:
            it["label"] = ""


# ---------------------------------------------------------------------------------------------
# records -> what the axis shows


def _faults(records: list[dict]) -> list[dict]:
    """Nemesis ops paired: each start with the first later end of the same fault and target."""
    nem = [r for r in records if r.get("kind") == "nemesis"]
    used: set[int] = set()
    out = []
    for i, start in enumerate(nem):
        if start.get("phase") != "start":
            continue
        end = None
        for j in range(i + 1, len(nem)):
            r = nem[j]
            if j not in used and r.get("phase") == "end" and r.get("f") == start.get("f") \
                    and r.get("value") == start.get("value"):
                used.add(j)
                end = r
                break
        nodes = list((start.get("params") or {}).get("nodes") or [])
        target = start.get("value")
        label = f"{start.get('f')} {target}" if target is not None else str(start.get("f"))
        if nodes and nodes != [target]:
            label += f" ({', '.join(map(str, nodes))})"
        out.append({"f": start.get("f"), "target": target, "nodes": nodes, "start": start["time"],
                    "end": end["time"] if end else None, "label": label,
                    "params": {k: v for k, v in (start.get("params") or {}).items() if k != "nodes"}})
    return out


def _segments(samples: list[tuple[float, Any]], t_end: float) -> list[dict]:
    """(time, state) samples -> segments of equal state, each until the next change."""
    out: list[dict] = []
    for t, state in samples:
        if out and out[-1]["state"] == state:
            continue
        if out:
            out[-1]["end"] = t
        out.append({"start": t, "end": t_end, "state": state})
    return out


def _ha_masters(records: list[dict], t_end: float) -> list[dict]:
    roles = [r for r in records if r.get("kind") == "server" and r.get("f") == "roles"
             and isinstance(r.get("value"), dict)]
    snaps = [r for r in roles if r["value"].get("snapshot")] or roles
    samples = [(r["time"], tuple(sorted(map(str, r["value"].get("masters") or [])))) for r in snaps]
    if not samples:
        return []
    return [{"band": "master", **s} for s in _segments(samples, t_end)]


def _first_slot(slots: Any) -> Optional[int]:
    m = re.match(r"\s*(\d+)", str(slots or ""))
    return int(m.group(1)) if m else None


def _covers(slots: Any, slot: int) -> bool:
    for part in str(slots or "").split(","):
        lo, _, hi = part.strip().partition("-")
        if lo.isdigit() and (hi or lo).isdigit() and int(lo) <= slot <= int(hi or lo):
            return True
    return False


def _cluster(records: list[dict], t_end: float) -> tuple[list[dict], list[dict], list[dict]]:
    """From the nodes' views (``cluster-view`` samples): each shard's primary over time as
    most viewers saw it (with its flags), the events (flags raised and cleared, promotions,
    epochs), and the windows when two running nodes each claimed a shard's slots."""
    views = [r for r in records if r.get("kind") == "server" and r.get("f") == "cluster-view"
             and isinstance(r.get("value"), dict) and isinstance(r["value"].get("nodes"), dict)]
    if not views:
        return [], [], []
    # Shards: the primaries' slot ranges in the first samples, named by their first slot.
    shards: dict[int, str] = {}
    for r in views[:12]:
        for name, v in r["value"]["nodes"].items():
            first = _first_slot(v.get("slots"))
            if v.get("role") == "primary" and first is not None and first not in shards:
                shards[first] = str(v.get("slots"))
    rounds: dict[Any, list[dict]] = {}
    for r in views:
        rounds.setdefault(r["value"].get("round", r["time"]), []).append(r)
    owner_samples: dict[int, list] = {s: [] for s in shards}
    claims_at: list[tuple[float, dict[int, set]]] = []
    latest_self: dict[str, tuple[float, dict]] = {}
    for _, group in sorted(rounds.items(), key=lambda kv: min(r["time"] for r in kv[1])):
        t = min(r["time"] for r in group)
        for slot in shards:
            votes: dict[tuple, int] = {}
            for r in group:
                for name, v in r["value"]["nodes"].items():
                    if v.get("role") == "primary" and _covers(v.get("slots"), slot):
                        flags = tuple(f for f in v.get("flags") or [] if f in CLUSTER_FLAGS)
                        votes[(name, flags)] = votes.get((name, flags), 0) + 1
            best = max(votes.items(), key=lambda kv: (kv[1], kv[0]))[0] if votes else ()
            owner_samples[slot].append((t, best))
        for r in group:
            latest_self[str(r["node"])] = (r["time"], r["value"])
        claims: dict[int, set] = {}
        for viewer, (tv, value) in latest_self.items():
            if t - tv > 1.5:  # a node that stopped answering claims nothing we saw
                continue
            me = next((v for v in value["nodes"].values() if v.get("myself")), None)
            if me and me.get("role") == "primary":
                for slot in shards:
                    if _covers(me.get("slots"), slot):
                        claims.setdefault(slot, set()).add(viewer)
        claims_at.append((t, claims))
    bands = []
    for slot, samples in sorted(owner_samples.items()):
        for seg in _segments(samples, t_end):
            bands.append({"band": f"slots {shards[slot]}", **seg})
    # Two running nodes claiming one shard's slots at once.
    doubles = []
    for slot in shards:
        seq = [(t, tuple(sorted(c.get(slot, ())))) for t, c in claims_at]
        segs = _segments(seq, t_end)
        for k, seg in enumerate(segs):
            if len(seg["state"]) > 1:
                before = set(segs[k - 1]["state"]) if k else set()
                doubles.append({"start": seg["start"], "end": seg["end"], "masters": list(seg["state"]),
                                "band": f"slots {shards[slot]}", "old": [n for n in seg["state"] if n in before]})
    # Events: diffs of each viewer's consecutive samples, each kept once (as first seen).
    events = []
    last: dict[str, tuple[float, dict]] = {}
    seen: dict[tuple, float] = {}

    def add(t: float, kind: str, node: str, text: str, key: tuple) -> None:
        if key in seen and t - seen[key] <= 5.0:
            return
        seen[key] = t
        events.append({"t": t, "kind": kind, "node": node, "text": text})

    for r in sorted(views, key=lambda r: r["time"]):
        viewer, value, t = str(r["node"]), r["value"], r["time"]
        t_before, before = last.get(viewer, (None, None))
        last[viewer] = (t, value)
        if before is None or t - t_before > 2.0:  # a viewer back from the dead catches up: not news
            continue
        for name, new in value["nodes"].items():
            old = before["nodes"].get(name)
            if old is None:
                continue
            nf = [f for f in new.get("flags") or [] if f in CLUSTER_FLAGS]
            of = [f for f in old.get("flags") or [] if f in CLUSTER_FLAGS]
            for flag in nf:
                if flag not in of:
                    add(t, "flag", name, f"{flag} {name}", ("flag", flag, name))
            for flag in of:
                if flag not in nf:
                    add(t, "flag", name, f"{flag} cleared {name}", ("cleared", flag, name))
            if old.get("role") == "replica" and new.get("role") == "primary":
                add(t, "promoted", name, f"promoted {name}", ("promoted", name))
            elif old.get("role") == "primary" and new.get("role") == "replica":
                add(t, "demoted", name, f"demoted {name}", ("demoted", name))
            if new.get("config_epoch") != old.get("config_epoch"):
                if ("config", name, new.get("config_epoch")) not in seen:
                    add(t, "epoch", name, f"configEpoch {name} {old.get('config_epoch')}→{new.get('config_epoch')}",
                        ("config", name, new.get("config_epoch")))
        if value.get("current_epoch") != before.get("current_epoch"):
            if ("current", value.get("current_epoch")) not in seen:  # an epoch rises once
                add(t, "epoch", "cluster", f"epoch {before.get('current_epoch')}→{value.get('current_epoch')}",
                    ("current", value.get("current_epoch")))
        if value.get("state") != before.get("state"):
            add(t, "flag", viewer, f"cluster_state {value.get('state')} ({viewer})",
                ("state", viewer, value.get("state")))
    return bands, events, doubles


def _sentinel_events(records: list[dict]) -> list[dict]:
    """Each Sentinel event once, as the first Sentinel published it (repeats within 5 s are
    the other Sentinels saying the same)."""
    out = []
    seen: dict[tuple, dict] = {}
    for r in records:
        if r.get("kind") != "server" or r.get("f") != "sentinel-event" or not isinstance(r.get("value"), dict):
            continue
        ev, data = str(r["value"].get("event")), str(r["value"].get("data", ""))
        key = (ev, data)
        if key in seen and r["time"] - seen[key]["t"] <= 5.0:
            seen[key]["by"].add(str(r.get("node")))
            continue
        item = {"t": r["time"], "event": ev, "data": data, "by": {str(r.get("node"))}, "first": r.get("node")}
        seen[key] = item
        out.append(item)
    return out


def _epochs(records: list[dict]) -> list[dict]:
    """Sentinel epochs: each new highest value, as first reported."""
    out = []
    top = None
    for r in records:
        if r.get("kind") == "server" and r.get("f") == "epoch" and isinstance(r.get("value"), (int, float)):
            if top is None or r["value"] > top:
                if top is not None:
                    out.append({"t": r["time"], "text": f"epoch {top}→{r['value']}", "node": r.get("node")})
                top = r["value"]
    return out


# ---------------------------------------------------------------------------------------------
# client ops: lanes, counterexamples


def _op_title(op: Op, index: int) -> str:
    lines = [f"op {index} · process {op.process} · {op.f}" + (f" · lane {op.lane}" if op.lane else ""),
             f"key: {_fmt(op.key, 120)}"]
    if op.f == "read":
        lines.append(f"read: {_fmt(op.result, 160) if op.t_complete is not None else '?'}")
    else:
        lines.append(f"value: {_fmt(op.value, 160)}")
        if op.result is not None and op.result != op.value:
            lines.append(f"result: {_fmt(op.result, 160)}")
    lines.append(f"type: {op.type} · invoked {_secs(op.t_invoke)}, completed {_secs(op.t_complete)} "
                 f"({_dur(op.t_invoke, op.t_complete)})")
    if op.replicated is not None:
        lines.append(f"replicas acknowledged (WAIT): {op.replicated}")
    if op.shard:
        lines.append(f"shard: {op.shard}")
    if op.error:
        lines.append(f"error: {_fmt(op.error, 300)}")
    return "\n".join(lines)


def _lanes(ops: list[Op]) -> list[dict]:
    """Rows of ops: one per process; processes that did one op each under the same lane name
    share a row (the final reads), and so does every lane name when there are too many rows."""
    by_proc: dict[Any, list[int]] = {}
    for i, op in enumerate(ops):
        by_proc.setdefault(op.process, []).append(i)
    singles: dict[str, list] = {}
    for p, idx in by_proc.items():
        if len(idx) == 1:
            singles.setdefault(ops[idx[0]].lane or ops[idx[0]].f, []).append(p)
    grouped = {p for ps in singles.values() if len(ps) >= GROUP_MIN for p in ps}
    rows: dict[Any, dict] = {}
    for p, idx in by_proc.items():
        name = ops[idx[0]].lane or ops[idx[0]].f
        if p in grouped or len(by_proc) - len(grouped) > MAX_ROWS:
            key = ("lane", name)
        else:
            key = ("process", p)
        row = rows.setdefault(key, {"key": key, "name": name, "processes": [], "ops": []})
        row["processes"].append(p)
        row["ops"] += idx
    out = []
    for row in rows.values():
        row["ops"].sort(key=lambda i: ops[i].t_invoke)
        fs = sorted({ops[i].f for i in row["ops"]})
        counts = {t: sum(ops[i].type == t for i in row["ops"]) for t in ("ok", "fail", "info")}
        n = len(row["processes"])
        if row["key"][0] == "process":
            lane = ops[row["ops"][0]].lane
            label = f"p{row['processes'][0]}" + (f" · {lane}" if lane else "")
            sub = "/".join(fs) if len(fs) <= 2 else f"{len(fs)} kinds of op"
        else:
            label = f"{row['name']} · {n} process{'es' if n != 1 else ''}"
            sub = "one op each" if all(len(by_proc[p]) == 1 for p in row["processes"]) else "/".join(fs)
        row.update(label=label, sub=sub, counts=counts,
                   summary=f"{label}: {len(row['ops'])} ops ({', '.join(f'{v} {k}' for k, v in counts.items() if v)})"
                           + (f"; processes {', '.join(map(str, row['processes'][:40]))}"
                              + ("…" if n > 40 else "") if n > 1 else ""))
        out.append(row)
    out.sort(key=lambda r: (r["key"][0] == "lane", ops[r["ops"][0]].t_invoke))
    return out


def _lost_writes(ops: list[Op]) -> list[tuple[int, int]]:
    """(write, final read) of each acknowledged write whose key's final read, invoked after
    the write completed, returned something else. Only keys written once: a register's
    many writes are the linearizability checker's business."""
    final: dict[Any, int] = {}
    for i in sorted((i for i, o in enumerate(ops) if o.f == "read" and o.ok and o.t_complete is not None),
                    key=lambda i: ops[i].t_complete):
        final[ops[i].key] = i
    writes: dict[Any, list[int]] = {}
    for i, o in enumerate(ops):
        if o.f == "write":
            writes.setdefault(o.key, []).append(i)
    out = []
    for key, idx in writes.items():
        if len(idx) != 1 or key not in final:
            continue
        w, r = ops[idx[0]], ops[final[key]]
        if w.ok and w.t_complete is not None and r.t_invoke >= w.t_complete and r.result != w.value:
            out.append((idx[0], final[key]))
    return out


_PLAIN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)s: process (\S+?),")


def _lin_ops(ops: list[Op], scenarios: list[dict]) -> tuple[list[tuple[int, str]], list[str], str]:
    """The ops a linearizability counterexample names: from ``details.counterexample`` (a
    dict with ``ops``: check.py) or the lines of ``details.in_plain_words`` (the suites)."""
    found: list[tuple[int, str]] = []
    words: list[str] = []
    summary = ""

    def match(process: Any, t: Optional[float]) -> Optional[int]:
        if t is None:
            return None
        best = None
        for i, o in enumerate(ops):
            if str(o.process) == str(process) and abs(o.t_invoke - t) <= 0.0011:
                if best is None or abs(o.t_invoke - t) < abs(ops[best].t_invoke - t):
                    best = i
        return best

    for sc in scenarios:
        details = sc.get("details") or {}
        cx = details.get("counterexample")
        if isinstance(cx, dict):
            summary = summary or str(cx.get("summary", ""))
            for row in cx.get("ops") or []:
                i = match(row.get("process"), row.get("invoke"))
                if i is not None and all(i != j for j, _ in found):
                    found.append((i, str(row.get("role") or "")))
        elif isinstance(cx, str):
            summary = summary or cx
        for line in details.get("in_plain_words") or []:
            words.append(str(line))
            m = _PLAIN.match(str(line))
            if m:
                i = match(m.group(2), float(m.group(1)))
                if i is not None and all(i != j for j, _ in found):
                    found.append((i, "failed" if "impossible" in str(line) else "before"))
    return found, words, summary


# ---------------------------------------------------------------------------------------------
# one run on one axis


def _namer(settings: dict):
    """host:port -> node name, per the run's settings (announced or reachable addresses)."""
    announced = dict(settings.get("announced") or {})
    for node, addr in (settings.get("addresses") or {}).items():
        announced.setdefault(addr, node)
    return lambda addr: str(announced.get(str(addr), addr))


def _served_by(ops: list[Op], records: list[dict], faults: list[dict], node_of) -> list[Optional[str]]:
    """The node that answered each op, where the history tells: a lane ``stale:NODE`` talks
    to NODE, a lane ``stale`` to the node the first fault isolates, any other lane to the
    master its client followed last (the ``master-change`` events of that lane)."""
    changes: dict[str, list[tuple[float, str]]] = {}
    for r in records:
        v = r.get("value")
        if r.get("kind") == "client-event" and r.get("f") in ("master", "master-change") and isinstance(v, dict):
            seq = changes.setdefault(str(v.get("lane")), [])
            if not seq and v.get("from"):
                seq.append((float("-inf"), node_of(v["from"])))
            seq.append((r["time"], node_of(v.get("to"))))
    victim = None
    if faults:
        victim = str((faults[0]["nodes"] or [faults[0]["target"]])[0])
    out: list[Optional[str]] = []
    for o in ops:
        lane = o.lane or ""
        if lane.startswith("stale:"):
            out.append(lane.split(":", 1)[1])
        elif lane == "stale":
            out.append(victim)
        else:
            t = o.t_complete if o.t_complete is not None else o.t_invoke
            out.append(next((n for ts, n in reversed(changes.get(lane, [])) if ts <= t), None))
    return out


def _counterexamples(name: str, sid: str, ops: list[Op], scenarios: list[dict], doubles: list[dict],
                     served: list[Optional[str]]) -> tuple[list[dict], dict[int, list], dict[int, str]]:
    """The counterexamples of one run, and for each op involved its boxes (and its role)."""
    cxs: list[dict] = []
    outlined: dict[int, list] = {}  # op index -> the ids of the counterexamples it is part of
    role_of: dict[int, str] = {}
    lost = _lost_writes(ops)
    if lost:
        cid = f"{sid}-cx-lost"
        lines = []
        for w, r in lost:
            outlined.setdefault(w, []).append(cid)
            outlined.setdefault(r, []).append(cid)
            role_of[w], role_of[r] = "lost write", "final read"
            ow, orr = ops[w], ops[r]
            got = "nothing (no such key)" if orr.result is None else _fmt(orr.result, 40)
            lines.append({"text": f"{_fmt(ow.key, 80)}: write {_fmt(ow.value, 40)} acknowledged at "
                                  f"{_secs(ow.t_complete)} by process {ow.process}"
                                  + (f" ({ow.replicated} replica ack{'s' if ow.replicated != 1 else ''} by WAIT)"
                                     if ow.replicated else "")
                                  + f"; its final read at {_secs(orr.t_complete)} returned {got}",
                          "links": [{"href": f"#{sid}-op{w}", "label": "write"},
                                    {"href": f"#{sid}-op{r}", "label": "final read"}]})
        n = len(lost)
        cxs.append({"id": cid, "kind": "lost", "title": f"{n} acknowledged write{'s' if n != 1 else ''} lost: "
                    f"{'its' if n == 1 else 'their'} key{'s' if n != 1 else ''} read back something else after the run",
                    "lines": lines[:MAX_EXAMPLES], "more": max(0, n - MAX_EXAMPLES),
                    "ops": [w for w, _ in lost], "wait_ops": [w for w, _ in lost if ops[w].acks > 0]})
    lin, words, summary = _lin_ops(ops, scenarios)
    if lin or summary:
        cid = f"{sid}-cx-lin"
        for i, role in lin:
            outlined.setdefault(i, []).append(cid)
            role_of.setdefault(i, "impossible op" if role == "failed" else f"counterexample ({role or 'op'})")
        links = [{"href": f"#{sid}-op{i}", "label": f"{'impossible: ' if role == 'failed' else ''}p{ops[i].process} "
                                                     f"{ops[i].f} {_fmt(ops[i].value, 20)}"} for i, role in lin]
        cxs.append({"id": cid, "kind": "lin", "title": "not linearizable: " + (summary or "see the ops below"),
                    "lines": [{"text": w, "links": []} for w in words], "more": 0, "links": links,
                    "ops": [i for i, _ in lin]})
    # Two masters accepting writes: the writes the old master acknowledged while the new one was master.
    acked = [i for i, o in enumerate(ops) if o.ok and o.f != "read" and o.t_complete is not None
             and any(d["start"] <= o.t_complete <= d["end"] and served[i] in d.get("old", ()) for d in doubles)]
    if acked:
        cid = f"{sid}-cx-masters"
        for i in acked:
            outlined.setdefault(i, []).append(cid)
            role_of.setdefault(i, f"acknowledged by {served[i]}, the old master, while another node was master")
        def during(d: dict) -> int:
            return sum(1 for i in acked if served[i] in d["old"] and d["start"] <= ops[i].t_complete <= d["end"])
        lines = [{"text": f"{d['band']}: {' and '.join(d['masters'])} both claimed master from {_secs(d['start'])} "
                          f"to {_secs(d['end'])}; the old one, {', '.join(d['old'])}, acknowledged {during(d)} "
                          "writes meanwhile", "links": []} for d in doubles[:MAX_EXAMPLES] if d.get("old")]
        old = sorted({served[i] for i in acked})
        cxs.append({"id": cid, "kind": "masters",
                    "title": f"two masters at once: {', '.join(old)}, the old master, acknowledged {len(acked)} "
                             f"write{'s' if len(acked) != 1 else ''} while another node was master",
                    "lines": lines, "more": max(0, len(doubles) - MAX_EXAMPLES),
                    "links": [{"href": f"#{sid}-op{i}", "label": f"p{ops[i].process} {ops[i].f} {_fmt(ops[i].value, 16)}"}
                              for i in acked[:MAX_LINKS]],
                    "ops": acked})
    for c in cxs:
        c.setdefault("links", [])
        c["run"] = name

        def op_links(idx: list[int]) -> list[dict]:
            return [{"href": f"#{sid}-op{i}", "label": f"p{ops[i].process} {ops[i].f} {_fmt(ops[i].value, 14)}"}
                    for i in idx[:MAX_LINKS]]
        c["op_links"] = op_links(c["ops"])
        c["wait_links"] = op_links(c.get("wait_ops", []))
    return cxs, outlined, role_of


def _markers(records: list[dict], settings: dict, cluster_events: list[dict]) -> list[dict]:
    """The rows of markers: what the servers, the clients and the harness said, in time order."""
    node_of = _namer(settings)
    sentinel = _sentinel_events(records)
    out = [{"label": "Sentinel events", "levels": 3, "sub": f"{len(sentinel)} distinct",
            "title": "Sentinel's own events (pub/sub), each once as first published", "items": [
                {"t": e["t"], "cls": "sev " + ("key" if e["event"] in KEY_SENTINEL else "minor"),
                 "label": e["event"] if e["event"] in KEY_SENTINEL else "",
                 "title": f"{e['event']} {e['data']}\nat {_secs(e['t'])}, first from {e['first']}; "
                          f"published by {len(e['by'])} Sentinel{'s' if len(e['by']) != 1 else ''}"}
                for e in sentinel]}]
    out.append({"label": "cluster flags", "levels": 3, "sub": "PFAIL, FAIL, roles",
                "title": "what the nodes' CLUSTER NODES said: flags, promotions (first view to show each)", "items": [
                    {"t": e["t"], "cls": "cev " + e["kind"],
                     "label": e["text"] if e["kind"] in ("flag", "promoted", "demoted") and "cleared" not in e["text"]
                     else "", "title": f"{e['text']}\nat {_secs(e['t'])} (first view to show it)"}
                    for e in cluster_events if e["kind"] != "epoch"]})
    epochs = _epochs(records) + [e for e in cluster_events if e["kind"] == "epoch"]
    out.append({"label": "epochs", "levels": 1, "sub": "config epochs",
                "title": "Sentinel and cluster epochs: each rise as first reported", "items": [
                    {"t": e["t"], "cls": "epoch", "label": e["text"] if not e["text"].startswith("configEpoch") else "",
                     "title": f"{e['text']}\nat {_secs(e['t'])}"
                              + (f" (first from {e['node']})" if e.get("node") else "")}
                    for e in sorted(epochs, key=lambda e: e["t"])]})
    client = []
    for r in records:
        if r.get("kind") != "client-event":
            continue
        v = r.get("value") if isinstance(r.get("value"), dict) else {"value": r.get("value")}
        f = str(r.get("f"))
        if f in ("master-change", "master"):
            to = node_of(v.get("to"))
            label = f"client → {to}"
            text = f"{f}: {node_of(v.get('from')) + ' → ' if v.get('from') else ''}{to}"
        elif f == "retry":
            label, text = "", f"retry {v.get('retry')} after {v.get('error')} (slept {_fmt(v.get('slept_s'))} s)"
        else:
            label, text = (f if f not in ("redirect",) else ""), f"{f}: {_fmt(v, 200)}"
        client.append({"t": r["time"], "cls": "clev " + _slug(f), "label": label,
                       "title": text + (f"\nlane {v.get('lane')}" if v.get("lane") else "")
                                + f"\nat {_secs(r['time'])}"})
    out.append({"label": "client events", "levels": 1, "sub": "", "items": client,
                "title": "what the clients did on their own: retries, following a new master, redirects"})
    harness = []
    for r in records:
        if r.get("kind") != "harness":
            continue
        v = r.get("value") if isinstance(r.get("value"), dict) else {"value": r.get("value")}
        f = str(r.get("f"))
        label = {"await": f"{v.get('condition')}", "timeout": "TIMEOUT", "error": "ERROR"}.get(f, "")
        harness.append({"t": r["time"], "cls": "hev" + (" bad" if f in ("timeout", "error") else ""), "label": label,
                        "title": f"harness {f}: {_fmt(v, 300)}\nat {_secs(r['time'])}"})
    out.append({"label": "harness", "levels": 1, "sub": "", "items": harness,
                "title": "the harness: steady state, waits that ended (and how long they took), timeouts"})
    return [m for m in out if m["items"]]


def _segments_of(bands: list[dict], restarted_at: dict[str, list[float]], color) -> list[dict]:
    """Master / primary band segments with their text, class and colour."""
    out = []
    for seg in bands:
        state = seg["state"]
        if seg["band"] == "master":
            nodes = list(state)
            text = " + ".join(nodes) if nodes else "none"
            cls = "two" if len(nodes) > 1 else ("none" if not nodes else "one")
            fill = color(nodes[0]) if len(nodes) == 1 else None
            restarted = [n for n in nodes if any(seg["start"] >= t for t in restarted_at.get(n, []))]
            if cls == "two" and restarted and len(nodes) - len(restarted) == 1:
                # A killed master restarted says master until Sentinel converts it: no split brain.
                real = next(n for n in nodes if n not in restarted)
                cls, fill = "restart", color(real)
                text = f"{real} (restarted {', '.join(restarted)} still says master)"
        else:
            node, flags = (state[0], state[1]) if state else ("", ())
            text = (node + (f" ({', '.join(flags)})" if flags else "")) if node else "none"
            cls = "none" if not node else ("flagged" if flags else "one")
            fill = color(node) if node else None
        out.append({**seg, "text": text, "cls": cls, "fill": fill})
    return out


def _zoom_window(faults: list[dict], t0: float, t1: float) -> Optional[tuple[float, float]]:
    """Around the first fault, when it fills less than half the axis: from a second before it
    to a second after it ended (or its last second)."""
    if not faults:
        return None
    f = faults[0]
    a = max(t0, f["start"] - 1.0)
    b = min(t1, (f["end"] if f["end"] is not None else t1) + 1.0)
    return (a, b) if b - a < 0.5 * (t1 - t0) and b > a else None


def _run_view(name: str, sid: str, records: list[dict], scenarios: list[dict], settings: dict,
              max_ops: int) -> dict:
    times = [r["time"] for r in records if isinstance(r.get("time"), (int, float))]
    notes: list[str] = []
    try:
        ops = pair(records)
    except HistoryError as exc:
        ops = []
        notes.append(f"the client records could not be paired, so no op is drawn: {exc}")
    ends = [o.t_complete for o in ops if o.t_complete is not None]
    t0 = min(times) if times else 0.0
    t1 = max(times + ends) if times else 1.0
    if t1 - t0 < 1e-6:
        t1 = t0 + 1.0
    pad = (t1 - t0) * 0.01
    t0, t1 = t0 - pad, t1 + pad
    faults = _faults(records)
    restarted_at: dict[str, list[float]] = {}
    for f in faults:
        if f["f"] == "kill" and f["end"] is not None:
            for n in f["nodes"] or [f["target"]]:
                restarted_at.setdefault(str(n), []).append(f["end"])
    bands = _ha_masters(records, t1)
    cluster_bands, cluster_events, doubles = _cluster(records, t1)
    if bands:  # HA: two masters at once, but for a killed master restarted
        for k, seg in enumerate(bands):
            others = [n for n in seg["state"] if not any(seg["start"] >= t for t in restarted_at.get(n, []))]
            if len(seg["state"]) > 1 and len(others) > 1:
                before = set(bands[k - 1]["state"]) if k else set()
                doubles.append({"start": seg["start"], "end": seg["end"], "masters": list(seg["state"]),
                                "band": "master", "old": [n for n in seg["state"] if n in before]})
    bands += cluster_bands
    served = _served_by(ops, records, faults, _namer(settings))
    cxs, outlined, role_of = _counterexamples(name, sid, ops, scenarios, doubles, served)
    colors: dict[str, str] = {}

    def color(node: str) -> str:
        if node not in colors:
            colors[node] = PALETTE[len(colors) % len(PALETTE)]
        return colors[node]

    lanes = _lanes(ops)
    grouped = [ln for ln in lanes if ln["key"][0] == "lane"]
    if grouped:
        notes.append("Processes that did one op each under one lane name share a row: "
                     + "; ".join(f"{ln['name']}: {len(ln['processes'])} processes" for ln in grouped) + ".")
    run = {"sid": sid, "ops": ops, "lanes": lanes, "faults": faults,
           "segments": _segments_of(bands, restarted_at, color),
           "doubles": doubles, "markers": _markers(records, settings, cluster_events), "outlined": outlined,
           "role_of": role_of, "masters_cx": any(c["kind"] == "masters" for c in cxs)}
    axes = [_axis(run, sid, t0, t1, max_ops)]
    window = _zoom_window(faults, t0, t1)
    if window:
        axes.append(_axis(run, f"{sid}-zoom", window[0], window[1], max_ops,
                          title=f"Closer: around the fault, {window[0]:.1f}s to {window[1]:.1f}s"))
    return {"name": name, "id": sid, "axes": axes, "cxs": cxs, "notes": notes, "ops": len(ops),
            "processes": len({o.process for o in ops}), "aggregate": axes[0]["aggregate"],
            "nodes": [{"node": n, "color": c} for n, c in colors.items()], "faults": faults,
            "counts": {t: sum(o.type == t for o in ops) for t in ("ok", "fail", "info")}}


def _axis(run: dict, aid: str, t0: float, t1: float, max_ops: int, title: str = "") -> dict:
    """One time axis from t0 to t1: the rows, and what is drawn in them, as SVG primitives."""
    ops, sid, outlined, role_of = run["ops"], run["sid"], run["outlined"], run["role_of"]
    plot_w = WIDTH - LEFT - RIGHT
    scale = plot_w / (t1 - t0)

    def x(t: float) -> float:
        return LEFT + (min(max(t, t0), t1) - t0) * scale

    def inside(a: float, b: Optional[float]) -> bool:
        return a <= t1 and (b if b is not None else t1) >= t0

    rows: list[dict] = []
    y = 34  # below the top tick labels
    svg: dict[str, list] = {"bands": [], "segments": [], "markers": [], "ops": [], "bins": [], "doubles": [],
                            "pins": [], "guides": []}

    def row(label: str, h: int, kind: str, sub: str = "", title: str = "", **extra) -> dict:
        nonlocal y
        room = int((LEFT - 14) / CHAR_W)  # characters that fit the label column
        label = label if len(label) <= room else label[: room - 1] + "…"
        sub = sub if len(label) + 1 + len(sub) <= room else ""
        r = {"label": label, "sub": sub, "y": y, "h": h, "kind": kind, "title": title or label, **extra}
        rows.append(r)
        y += h
        return r

    if run["faults"]:
        fr = row("faults", 22, "faults", title="fault bands: from the nemesis start to its end")
        for i, f in enumerate(run["faults"]):
            if not inside(f["start"], f["end"]):
                continue
            xa, xb = x(f["start"]), x(f["end"] if f["end"] is not None else t1)
            label = f["label"] + ("" if f["end"] is not None else " (never healed)")
            svg["bands"].append({"x": round(xa, 1), "w": round(max(xb - xa, 2), 1), "label": label,
                                 "lx": round(xa + 4, 1), "ly": fr["y"] + 15,
                                 "title": f"{label}\nfrom {_secs(f['start'])} to "
                                          f"{_secs(f['end']) if f['end'] is not None else 'the end (never healed)'}"
                                          + (f"\n{_fmt(f['params'], 200)}" if f["params"] else ""),
                                 "id": f"{aid}-fault{i}"})
    for band in dict.fromkeys(s["band"] for s in run["segments"]):
        is_ha = band == "master"
        br = row("master" if is_ha else band, 22, "band", sub="role samples" if is_ha else "primary",
                 title="who called itself master (role samples)" if is_ha else
                 f"the primary of {band}, as most nodes saw it (cluster views)")
        for seg in (s for s in run["segments"] if s["band"] == band and inside(s["start"], s["end"])):
            xa, xb = x(seg["start"]), x(seg["end"])
            w = max(xb - xa, 0.8)
            svg["segments"].append({"x": round(xa, 1), "y": br["y"] + 3, "w": round(w, 1), "h": br["h"] - 6,
                                    "cls": seg["cls"], "fill": seg["fill"],
                                    "label": seg["text"] if w > len(seg["text"]) * CHAR_W + 8 else "",
                                    "title": f"{br['label']}: {seg['text']}\n"
                                             f"from {_secs(seg['start'])} to {_secs(seg['end'])}"})
        for d in (d for d in run["doubles"] if d["band"] == band and inside(d["start"], d["end"])):
            xa, xb = x(d["start"]), x(d["end"])
            svg["doubles"].append({"x": round(xa, 1), "y": br["y"] + 1, "w": round(max(xb - xa, 2), 1),
                                   "h": br["h"] - 2, "href": f"#{sid}-cx-masters" if run["masters_cx"] else "",
                                   "title": f"two masters: {' and '.join(d['masters'])}\n"
                                            f"from {_secs(d['start'])} to {_secs(d['end'])}"})
    for m in run["markers"]:
        items = [dict(it, x=round(x(it["t"]), 1)) for it in m["items"] if t0 <= it["t"] <= t1]
        if not items:
            continue
        r = row(m["label"], 12 + 13 * m["levels"], "events", sub=m["sub"], title=m["title"])
        _place_labels(items, m["levels"], LEFT, WIDTH - RIGHT)
        for it in items:
            svg["markers"].append({"x": it["x"], "y1": r["y"] + 2, "y2": r["y"] + r["h"] - 2, "cls": it["cls"],
                                   "label": it.get("label", ""), "tx": it.get("tx", it["x"] + 3),
                                   "ty": r["y"] + 13 + 13 * it.get("level", 0), "title": it["title"]})
    # -- client lanes ----------------------------------------------------------------------
    shown = {ln["key"]: [i for i in ln["ops"] if inside(ops[i].t_invoke, ops[i].t_complete)] for ln in run["lanes"]}
    count = sum(len(v) for v in shown.values())
    aggregate = count > max_ops
    notes = []
    if aggregate:
        notes.append(f"Lanes aggregated: {count:,} ops is more than {max_ops:,}, so each lane shows its ops "
                     f"per {BIN_PX}-pixel column (the share of ok, fail and info), not each op; counterexample ops are "
                     "still drawn one by one, outlined.")
    if run["lanes"]:
        y += 6
        row("client ops", 16, "header", sub=f"{count:,}",
            title="one lane per client process: each op a bar from invoke to completion")
    lane_h = 18
    for ln in run["lanes"]:
        r = row(ln["label"], lane_h, "lane", sub=ln["sub"], title=ln["summary"],
                processes=" ".join(map(str, ln["processes"])), lane=str(ln["name"]))
        top, h = r["y"] + 3, lane_h - 6
        if aggregate:
            bins: dict[int, dict] = {}
            for i in shown[ln["key"]]:
                o = ops[i]
                b = int((x(o.t_invoke) - LEFT) // BIN_PX)
                bins.setdefault(b, {"ok": 0, "fail": 0, "info": 0})[o.type if o.type in ("ok", "fail") else "info"] += 1
            for b, c in sorted(bins.items()):
                n = sum(c.values())
                yy, bx = top, LEFT + b * BIN_PX
                for t in ("ok", "info", "fail"):
                    if c[t]:
                        hh = h * c[t] / n
                        svg["bins"].append({"x": bx, "y": round(yy, 2), "w": BIN_PX, "h": round(hh, 2), "cls": t,
                                            "title": f"{ln['label']}: {n} ops invoked from "
                                                     f"{_secs(t0 + b * BIN_PX / scale)} to "
                                                     f"{_secs(t0 + (b + 1) * BIN_PX / scale)}: "
                                                     f"{c['ok']} ok, {c['fail']} fail, {c['info']} info"})
                        yy += hh
            drawn = [i for i in shown[ln["key"]] if i in outlined]
        else:
            drawn = shown[ln["key"]]
        for i in drawn:
            o = ops[i]
            xa = x(o.t_invoke)
            xb = x(o.t_complete) if o.t_complete is not None else x(t1)
            cx_ids = outlined.get(i, [])
            cx_id = next((c for c in cx_ids if not c.endswith("-masters")), None)
            tip = _op_title(o, i)
            if cx_ids:
                tip = f"COUNTEREXAMPLE ({role_of.get(i, 'involved')})\n" + tip
            min_w = 1.6 if o.ok else 3.0  # a failed or unknown op stays visible among the ok ones
            svg["ops"].append({"id": f"{aid}-op{i}", "x": round(xa, 2), "y": top, "w": round(max(xb - xa, min_w), 2),
                               "h": h, "cls": ("ok" if o.ok else o.type if o.type == "fail" else "info")
                               + (" open" if o.t_complete is None else "")
                               + "".join(f" k-{c.rsplit('-', 1)[1]}" for c in cx_ids) + (" cx" if cx_ids else "")
                               + (" sep" if xb - xa >= 3 else ""),  # a hairline between wide neighbours
                               "title": tip})
            if cx_id:  # the two-masters writes are many: outlined, no pin
                mid = round(xa + max(xb - xa, 1.6) / 2, 2)
                svg["pins"].append({"x": mid, "y": r["y"] + 1, "href": f"#{cx_id}", "title": tip,
                                    "bad": role_of.get(i) in ("impossible op", "lost write"),
                                    "big": cx_id.endswith("-lin")})
                if role_of.get(i) == "impossible op":  # where the history stops making sense, across the axis
                    svg["guides"].append({"x": mid, "href": f"#{cx_id}", "title": tip})
    height = y + 30
    for b in svg["bands"]:  # fault bands run down the whole axis, under everything else
        b["y"], b["h"] = 26, height - 26 - 22
    return {"id": aid, "title": title, "width": WIDTH, "height": height, "left": LEFT, "right": WIDTH - RIGHT,
            "rows": rows, "ticks": _ticks(t0, t1, x), "axis_bottom": height - 22, "svg": svg, "notes": notes,
            "aggregate": aggregate, "ops": count}


# ---------------------------------------------------------------------------------------------
# verdicts


def _status(valid: Any) -> str:
    return STATUS.get(valid if valid in (True, False, None) else bool(valid), "unknown")


def _check_view(check: dict, cxs: list[dict]) -> dict:
    ok = check.get("ok")
    name = str(check.get("check", ""))
    low = name.lower()
    # A check about one of a method's runs ("without min-replicas-to-write: ...") links that run's.
    subruns = {c["run"] for c in cxs if ":" in c["run"]}
    named = {r for r in subruns if re.search(rf"\b{re.escape(r.split(':', 1)[1].lower())}\b", low)}
    if len(named) == 1:
        cxs = [c for c in cxs if c["run"] in named]
    wanted = []
    if "lost" in low:
        wanted.append("lost")
    if "lineariz" in low:
        wanted.append("lin")
    if "master" in low and any(w in low for w in ("two", "split", "at most one", "one master", "masters")):
        wanted.append("masters")
    links = []
    for c in cxs:
        if c["kind"] not in wanted:
            continue
        if c["kind"] == "lost" and "wait" in low:  # a check of WAIT-acknowledged writes: only those
            if c["wait_ops"]:
                links.append({"href": f"#{c['id']}", "label": f"{len(c['wait_ops'])} WAIT-acknowledged writes lost",
                              "ops": c["wait_links"], "more": max(0, len(c["wait_ops"]) - len(c["wait_links"]))})
            continue
        links.append({"href": f"#{c['id']}", "label": c["title"], "ops": c["op_links"],
                      "more": max(0, len(c["ops"]) - len(c["op_links"]))})
    observed = check.get("observed")
    return {"name": name, "status": _status(ok), "observed": _fmt(observed), "observed_full":
            _full(observed) if len(_fmt(observed, 100000)) > 240 else "",
            "expected": _fmt(check.get("expected")) if check.get("expected") is not None else "",
            "missing": _fmt(check.get("missing")) if ok is None else "", "links": links}


def _scenario_view(sc: dict, cxs: list[dict]) -> dict:
    valid = sc.get("valid", sc.get("passed"))
    status = sc.get("status") or _status(valid)
    return {"name": sc.get("name", "?"), "status": status if status in ("pass", "fail", "unknown") else "unknown",
            "summary": sc.get("summary", ""), "duration_s": sc.get("duration_s"),
            "checks": [_check_view(c, cxs) for c in sc.get("checks") or []],
            "metrics": [{"k": k, "v": _fmt(v, 120)} for k, v in (sc.get("metrics") or {}).items()],
            "error": sc.get("error"), "anchor": f"verdict-{_slug(sc.get('name', '?'))}"}


# ---------------------------------------------------------------------------------------------
# the page


def _source(name: str) -> str:
    """A template shipped with the package (package data, read the same from a wheel)."""
    return resources.files("valkey_lab.report").joinpath("templates", name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FunctionLoader(_source), autoescape=True, trim_blocks=True,
                              lstrip_blocks=True, undefined=jinja2.StrictUndefined)


def _template(name: str) -> jinja2.Template:
    return _env().get_template(name)


def _run_of(r: dict) -> Optional[str]:
    run = r.get("run")
    return None if run is None else str(run)


def page(records: Iterable[dict], report: Optional[dict] = None, methods: Optional[dict] = None,
         title: Optional[str] = None, max_ops: int = MAX_OPS, links: Optional[list[dict]] = None,
         facts_extra: Optional[dict] = None, intro: str = "") -> str:
    """The page of a history (its records) and the report judged from it.

    ``methods`` maps a scenario name to the run it judges (``Scenario.method``); without it a
    scenario judges the run of its own name. ``links``: extra links for the header
    (``{"href", "label"}``, e.g. back to a bench summary); ``facts_extra``: more header facts;
    ``intro``: a note under the header."""
    records = [r for r in records if isinstance(r, dict)]
    report = dict(report or {})
    meta = meta_of(records)
    settings = dict(meta.get("settings") or meta.get("ha_settings") or meta.get("cluster_settings") or {})
    scenarios = [s for s in report.get("scenarios") or [] if isinstance(s, dict)]
    methods = dict(methods or {})
    body = [r for r in records if r.get("kind") != "meta"]
    # Runs in order of first appearance, grouped by scenario method ("partition:with" -> "partition").
    order: dict[str, list[str]] = {}
    for r in body:
        run = _run_of(r)
        if run is None:
            continue
        order.setdefault(run.split(":", 1)[0], [])
        if run not in order[run.split(":", 1)[0]]:
            order[run.split(":", 1)[0]].append(run)
    if not order and body:  # a history without named runs (check.py's, Jepsen's): one run
        order = {"history": ["history"]}
    by_method: dict[str, list[dict]] = {m: [] for m in order}
    loose = []
    for sc in scenarios:
        m = methods.get(sc.get("name")) or sc.get("method") or sc.get("name")
        if m in by_method:
            by_method[m].append(sc)
        elif len(by_method) == 1:
            by_method[next(iter(by_method))].append(sc)
        else:
            loose.append(sc)
    sections = []
    for method, runs in order.items():
        section_runs = []
        for run in runs:
            recs = body if order == {"history": ["history"]} else [r for r in body if _run_of(r) == run]
            section_runs.append(_run_view(run, "run-" + _slug(run), recs, by_method[method], settings, max_ops))
        cxs = [c for rv in section_runs for c in rv["cxs"]]
        views = [_scenario_view(sc, cxs) for sc in by_method[method]]
        for c in cxs:  # each counterexample names the verdicts that judged it (an anomaly may be expected)
            c["judged"] = [{"name": ch["name"], "status": ch["status"], "href": f"#{v['anchor']}"}
                           for v in views for ch in v["checks"] if any(l["href"] == f"#{c['id']}" for l in ch["links"])]
        sections.append({"name": method, "id": "sec-" + _slug(method), "runs": section_runs, "scenarios": views})
    valid = report.get("valid", report.get("passed"))
    status = report.get("status") or (_status(valid) if scenarios else "unknown")
    suite = report.get("suite") or meta.get("suite")
    backend = report.get("backend") or meta.get("backend")
    head = title or ("a history" if not suite else f"{suite} suite") + (f" on {backend}" if backend else "")
    summary_rows = []
    for s in sections:
        for sc in s["scenarios"]:
            summary_rows.append({**sc, "section": s["id"]})
    summary_rows += [{**_scenario_view(sc, []), "section": ""} for sc in loose]
    facts = []
    for k in ("valkey_version", "backend", "duration_s", "analyzed"):
        v = report.get(k, meta.get(k))
        if v not in (None, "", "?"):
            facts.append({"k": k.replace("_", " "), "v": _fmt(v, 200)})
    facts += [{"k": k, "v": _fmt(v, 400)} for k, v in (facts_extra or {}).items()]
    total_ops = sum(rv["ops"] for s in sections for rv in s["runs"])
    return _template("run.html.j2").render(
        title=head, status=(status if status in ("pass", "fail", "unknown") else "unknown") if scenarios else "",
        suite=suite,
        facts=facts, summary=summary_rows, loose=[_scenario_view(sc, []) for sc in loose], sections=sections,
        total_ops=total_ops, max_ops=max_ops, links=links or [], has_verdicts=bool(scenarios), intro=intro)


def check_page(checked: list[dict]) -> str:
    """The page of ``check.py``'s histories: ``checked`` holds, per history, its ``records``
    and its ``result`` (file, model, valid, ops, processes, info, seconds, counterexample)."""
    records: list[dict] = []
    scenarios = []
    for item in checked:
        res = item["result"]
        name = str(res.get("file", "history"))
        records += [{**r, "run": name} for r in item["records"] if r.get("kind", "client") == "client"]
        valid = res.get("valid")
        check = {"check": f"linearizable ({res.get('model')} model)", "ok": valid,
                 "observed": {"ops": res.get("ops"), "processes": res.get("processes"), "info": res.get("info"),
                              "seconds": res.get("seconds")}, "expected": "linearizable"}
        if valid is None:
            why = res.get("reason") or "timeout"
            check["missing"] = f"a verdict: the search stopped ({why})" + (f"; {res['hint']}" if res.get("hint") else "")
        details = {"counterexample": res["counterexample"]} if res.get("counterexample") else {}
        scenarios.append({"name": name, "method": name, "status": _status(valid), "valid": valid,
                          "checks": [check], "metrics": {k: res.get(k) for k in ("ops", "processes", "info", "keys",
                                                                                  "seconds") if k in res},
                          "details": details})
    vs = [s["valid"] for s in scenarios]
    valid = False if False in vs else (None if None in vs else True)
    report = {"suite": "check.py", "valid": valid, "status": _status(valid), "scenarios": scenarios}
    return page(records, report, title="check.py: linearizability")


def bench_page(report: dict, svgs: Optional[dict] = None, run_pages: Optional[dict] = None) -> str:
    """The bench's summary: its goals, tables and pictures (``svgs``: name -> SVG text,
    inlined), and links to one page per bench run (``run_pages``: run -> file name)."""
    goals = [{"goal": g.get("goal"), "target": _fmt(g.get("target")), "measured": _fmt(g.get("measured")),
              "status": _status(g.get("met"))} for g in report.get("goals") or []]
    topologies = []
    for topo in ("ha", "cluster"):
        part = report.get(topo)
        if not isinstance(part, dict):
            continue
        summary = part.get("summary") or {}
        clients = summary.get("clients") or {}
        cols = list(dict.fromkeys(k for c in clients.values() if isinstance(c, dict) for k in c))
        facts = [{"k": k, "v": _fmt(v, 200)} for k, v in summary.items() if k != "clients"]
        facts += [{"k": k, "v": _fmt(v, 200)} for k, v in part.items() if k in ("ready_s", "node_timeout_ms")]
        runs = []
        for i, r in enumerate(part.get("runs") or []):
            name = r.get("run") or f"{topo}-bench-{i + 1}"
            flat = {k: v for k, v in r.items() if k not in ("clients", "run")}
            for c, vals in (r.get("clients") or {}).items():
                if isinstance(vals, dict):
                    flat[f"{c} unavailable_s"] = vals.get("unavailable_s")
                    loss = vals.get("loss") or {}
                    if isinstance(loss, dict) and "lost" in loss:
                        flat[f"{c} lost"] = loss.get("lost")
            runs.append({"name": name, "href": (run_pages or {}).get(name),
                         "cells": [{"k": k, "v": _fmt(v, 60)} for k, v in flat.items()]})
        topologies.append({"name": {"ha": "Sentinel (HA)", "cluster": "Cluster"}[topo], "facts": facts,
                           "cols": cols, "clients": [{"name": n, "cells": [_fmt(c.get(k), 60) for k in cols]}
                                                     for n, c in clients.items() if isinstance(c, dict)],
                           "client_notes": [{"name": n, "text": _fmt(c, 300)} for n, c in
                                            (part.get("clients") or {}).items()],
                           "runs": runs})
    lin = report.get("linearizability") or []
    lin_cols = list(dict.fromkeys(k for r in lin if isinstance(r, dict) for k in r))
    pictures = []
    for name, text in (svgs or {}).items():
        # Inline: no XML prologue, no namespace URL (an inline SVG needs none), no script.
        text = re.sub(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>", "", str(text)).strip()
        text = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", text)
        text = re.sub(r"<script\b.*?</script>", "", text, flags=re.S | re.I)
        if text.startswith("<svg"):
            pictures.append({"name": name, "svg": Markup(text)})
    facts = [{"k": k, "v": _fmt(v, 200)} for k, v in (report.get("machine") or {}).items()]
    for k in ("runs_per_topology", "duration_s"):
        if k in report:
            facts.append({"k": k.replace("_", " "), "v": _fmt(report[k])})
    met = [g["status"] for g in goals]
    status = "fail" if "fail" in met else ("unknown" if not met or "unknown" in met else "pass")
    return _template("bench.html.j2").render(
        title="bench: repeated failovers", status=status, facts=facts, goals=goals, topologies=topologies,
        lin_cols=lin_cols, lin=[[_fmt(r.get(k), 60) for k in lin_cols] for r in lin], pictures=pictures,
        run_pages=[{"name": k, "href": v} for k, v in (run_pages or {}).items()])


def bench_pages(records: list[dict], report: dict, svgs: Optional[dict] = None,
                summary_name: str = "bench.html") -> dict[str, str]:
    """The bench's pages: file name -> HTML. The summary under ``summary_name`` and, beside
    it, one page per bench run (``<stem>-<run>.html``), each linking back."""
    stem = summary_name[:-5] if summary_name.endswith(".html") else summary_name
    meta = [r for r in records if r.get("kind") == "meta"]
    runs = list(dict.fromkeys(str(r["run"]) for r in records if r.get("run") is not None))
    measured: dict[str, dict] = {}
    for topo in ("ha", "cluster"):
        for i, r in enumerate((report.get(topo) or {}).get("runs") or []):
            measured[str(r.get("run") or f"{topo}-bench-{i + 1}")] = r
    pages = {}
    names = {run: f"{stem}-{_slug(run)}.html" for run in runs}
    for run in runs:
        got = measured.get(run, {})
        facts = {k: v for k, v in got.items() if k not in ("clients", "run", "timeline")}
        for client, vals in (got.get("clients") or {}).items():
            if isinstance(vals, dict):
                facts[client] = {k: v for k, v in vals.items() if k != "loss"} | (
                    {"lost": vals["loss"].get("lost")} if isinstance(vals.get("loss"), dict) else {})
        pages[names[run]] = page(meta + [r for r in records if r.get("run") == run], {"suite": "bench"},
                                 title=f"bench run {run}", links=[{"href": summary_name, "label": "the bench summary"}],
                                 facts_extra=facts, intro="A bench run is measured, not judged: its numbers are above "
                                                          "and, over all runs, on the summary page.")
    pages[summary_name] = bench_page(report, svgs, names)
    return pages


__all__ = ["page", "check_page", "bench_page", "bench_pages", "MAX_OPS"]
