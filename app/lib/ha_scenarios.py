"""The HA suite's scenarios. Each one reads and breaks the real topology through the
backend's fault interface, and records checks that a broken set-up would fail."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional


from . import checkers
from .backends import Backend
from .ha_client import BackoffPolicy, HAClient
from .ha_topology import DOWN_AFTER_S, FAILOVER_TIMEOUT_S, SENTINELS, SERVERS, SERVICE, HATopology
from .results import Scenario, ScenarioResult
from .sentinel_events import KEY_EVENTS, SentinelEvents
from .util import hold_for, now, wait_for
from .workload import Writer

ACKED_KEYS = 200  # written with WAIT before the kill
SWITCH_DEADLINE_S = DOWN_AFTER_S + FAILOVER_TIMEOUT_S + 5  # generous upper bound for one failover
REJOIN_DEADLINE_S = 45.0  # Sentinel re-checks a down instance every 10 s, then a full sync


@dataclass
class HAContext:
    backend: Backend
    topo: HATopology
    password: str
    policy: BackoffPolicy = field(default_factory=BackoffPolicy)
    backend_name: str = ""
    valkey_version: str = ""
    ready_s: Optional[float] = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    failover: dict = field(default_factory=dict)  # what `failover` learned, for the scenarios after it

    @property
    def report_extra(self) -> dict:
        return {"ready_s": None if self.ready_s is None else round(self.ready_s, 3),
                "settings": {"down_after_ms": int(DOWN_AFTER_S * 1000), "failover_timeout_ms": int(FAILOVER_TIMEOUT_S * 1000),
                             "quorum": 2, "client_backoff": self.policy.__dict__}}

    def client(self) -> HAClient:
        sentinels = [self.backend.address(s) for s in SENTINELS]
        return HAClient(sentinels, SERVICE, password=self.password, remap=self.backend.remap, policy=self.policy)

    def events(self) -> SentinelEvents:
        return SentinelEvents({s: self.backend.address(s) for s in SENTINELS}, self.password)

    def key(self, name: str) -> str:
        return f"lab:{self.run_id}:{name}"


@contextmanager
def _client(ctx: HAContext) -> Iterator[HAClient]:
    client = ctx.client()
    try:
        yield client
    finally:
        client.close()


def _addr(addr) -> str:
    return f"{addr[0]}:{addr[1]}" if addr else "-"


def restore(ctx: HAContext) -> None:
    """Undo whatever a scenario left broken (also when it failed half-way), so that one
    failure does not cascade into the next scenario: heal, resume, start every node."""
    backend = ctx.backend
    backend.heal()
    for node in SERVERS + SENTINELS:
        try:
            backend.resume(node)
            backend.start(node)
        except Exception:  # noqa: BLE001 - best effort; the next readiness wait will tell
            pass


def restoring(scenario: Callable[[HAContext, ScenarioResult], None]):
    """Run ``scenario`` and restore() the topology afterwards, whatever happened."""
    def run(ctx: HAContext, r: ScenarioResult) -> None:
        try:
            scenario(ctx, r)
        finally:
            restore(ctx)
    run.__doc__ = scenario.__doc__
    return run


# ---------------------------------------------------------------------------------- crud
def crud(ctx: HAContext, r: ScenarioResult) -> None:
    topo = ctx.topo
    master = topo.agreed_master()
    replicas = [n for n in SERVERS if n != master and topo.role(n) == "slave"]
    k = ctx.key
    with _client(ctx) as c:
        r.check("SET then GET returns the value", c.call(lambda x: x.set(k("s"), "hello"), idempotent=True) and
                c.call(lambda x: x.get(k("s")), idempotent=True) == "hello", c.call(lambda x: x.get(k("s")), idempotent=True))
        incr = [c.call(lambda x: x.incr(k("n"))) for _ in range(3)]
        r.check("INCR three times counts 1, 2, 3", incr == [1, 2, 3], incr)
        c.call(lambda x: x.hset(k("h"), mapping={"f1": "a", "f2": "b"}), idempotent=True)
        h = c.call(lambda x: x.hgetall(k("h")), idempotent=True)
        r.check("HSET / HGETALL round-trips", h == {"f1": "a", "f2": "b"}, h)
        c.call(lambda x: x.set(k("tmp"), "x"), idempotent=True)
        c.call(lambda x: x.expire(k("tmp"), 100), idempotent=True)
        ttl = c.call(lambda x: x.ttl(k("tmp")), idempotent=True)
        r.check("EXPIRE sets a TTL in (0, 100]", 0 < ttl <= 100, ttl)
        deleted = c.call(lambda x: x.delete(k("tmp")))
        r.check("DEL removes the key", deleted == 1 and c.call(lambda x: x.exists(k("tmp")), idempotent=True) == 0, deleted)
        # WAIT covers its own connection's writes up to the replication offset of the last
        # one, so a marker write and WAIT share a pipeline (set_acked): once the replicas
        # acknowledge the marker, they have every write before it.
        acked = c.set_acked(k("sync"), "1", len(replicas), timeout_ms=3000)
        r.check(f"WAIT: all {len(replicas)} replicas acknowledged", acked == len(replicas) == 2, acked)
        r.check("the client talks to the master the Sentinels name",
                c.master == ctx.backend.address(master), {"client": _addr(c.master), "sentinels": master})
    rows = []
    for node in replicas:
        rc = topo.client(node)
        seen = {"s": rc.get(k("s")), "n": rc.get(k("n")), "h": rc.hgetall(k("h")), "tmp": rc.exists(k("tmp"))}
        ok = seen == {"s": "hello", "n": "3", "h": {"f1": "a", "f2": "b"}, "tmp": 0}
        r.check(f"{node} reads back every value", ok, seen)
        rows.append({"replica": node, **seen})
    r.metrics.update({"master": master, "replicas_checked": len(rows)})
    r.details["replica_reads"] = rows
    ctx.topo.client(master).delete(k("s"), k("n"), k("h"), k("sync"))


# ------------------------------------------------------------------------------ failover
def failover(ctx: HAContext, r: ScenarioResult) -> None:
    topo, backend = ctx.topo, ctx.backend
    topo.wait_ready(timeout=60)
    old = topo.agreed_master()
    acked: dict[str, str] = {}
    with _client(ctx) as c:
        for i in range(ACKED_KEYS):
            key, value = ctx.key(f"acked:{i}"), f"value-{i}"
            if c.set_acked(key, value, replicas=2, timeout_ms=2000) == 2:
                acked[key] = value
    r.check(f"{ACKED_KEYS} keys acknowledged by both replicas (WAIT 2) before the kill",
            len(acked) == ACKED_KEYS, len(acked))

    writer_client = ctx.client()
    writer = Writer(lambda key, value: writer_client.set_acked(key, value, replicas=1, timeout_ms=500),
                    prefix=ctx.key("during"))
    with ctx.events() as events:
        writer.start()
        wait_for(lambda: writer.count_ok_after(0) >= 20, "the writer to be writing", 10)
        t_kill = now()
        backend.kill(old)
        t_dead = now()  # a reply read after this came from a live master, so not from `old`
        new = wait_for(lambda: topo.agreed_master(), f"the Sentinels to agree on a master other than {old}",
                       SWITCH_DEADLINE_S, accept=lambda m: m is not None and m != old)
        t_agreed = now()
        wait_for(lambda: writer.count_ok_after(t_dead) >= 20, "the client to write again after the kill",
                 ctx.policy.budget + 5)
        writer.stop()
        switch_event = events.first("+switch-master", since=t_kill)
        timeline = events.timeline(t_kill, since=t_kill - 1)
    t_switch = switch_event["t"] if switch_event else t_agreed
    first_ok = writer.first_ok_after(t_dead)
    unavailable_s = None if first_ok is None else round(first_ok - t_kill, 3)
    ops = writer.history.ops()

    r.check("a different node became master", new != old and new in SERVERS, {"old": old, "new": new})
    r.check("the new master says role:master", topo.role(new) == "master", topo.role(new))
    r.check("Sentinel published +switch-master", switch_event is not None,
            switch_event and switch_event["data"])
    r.check("the client wrote again within its retry budget", unavailable_s is not None
            and unavailable_s <= ctx.policy.budget, unavailable_s)
    r.check(f"no write succeeded while there was no master (unavailable_s >= down-after {DOWN_AFTER_S}s)",
            unavailable_s is not None and unavailable_s >= DOWN_AFTER_S, unavailable_s)
    r.check("the client noticed the master change", bool(writer_client.master_changes),
            [{"from": _addr(m["from"]), "to": _addr(m["to"])} for m in writer_client.master_changes])
    r.check("no write failed for good (each was retried to success or is 'info')",
            not any(op.status == "fail" for op in ops), sum(op.status == "fail" for op in ops))
    r.metrics.update({
        "old_master": old, "new_master": new,
        "switch_s": round(t_switch - t_kill, 3),
        "unavailable_s": unavailable_s,
        "client_lag_after_switch_s": checkers.client_lag(t_switch, first_ok),
        "down_after_s": DOWN_AFTER_S,
        "writes": len(ops), "writes_ok": sum(op.status == "ok" for op in ops),
        "writes_info": sum(op.status == "info" for op in ops),
    })
    r.details["timeline"] = timeline
    ctx.failover = {"old": old, "new": new, "t_kill": t_kill, "acked": acked, "writer": writer,
                    "client": writer_client, "unavailable_s": unavailable_s}
    writer_client.close()


# ----------------------------------------------------------------------------- discovery
def discovery(ctx: HAContext, r: ScenarioResult) -> None:
    topo, backend = ctx.topo, ctx.backend
    new = ctx.failover["new"]
    views = wait_for(topo.sentinel_views, f"every Sentinel to name {new}", 15,
                     accept=lambda v: set(v.values()) == {new})
    rows = []
    for sentinel in SENTINELS:
        host, port = topo.client(sentinel).execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", SERVICE)
        rows.append({"sentinel": sentinel, "announces": f"{host}:{port}",
                     "reachable_at": _addr(backend.remap((host, int(port)))), "node": views[sentinel]})
    r.check("every Sentinel names the same new master", set(views.values()) == {new}, views)
    with _client(ctx) as c:
        discovered = c.discover_master()
        pong = c.call(lambda x: x.ping(), idempotent=True)
        role = c.call(lambda x: x.execute_command("ROLE"), idempotent=True)[0]
        r.check("the announced address is reachable from here and answers as master",
                pong is True and role == "master", {"address": _addr(discovered), "role": role})
        r.check("the client is connected to the new master", c.master == backend.address(new),
                {"client": _addr(c.master), "expected": _addr(backend.address(new))})
    r.metrics.update({"new_master": new, "address": _addr(discovered)})
    r.details["sentinels"] = rows


# ------------------------------------------------------------------------- retry_backoff
def retry_backoff(ctx: HAContext, r: ScenarioResult) -> None:
    client: HAClient = ctx.failover["client"]
    stats, policy, t_kill = client.stats, ctx.policy, ctx.failover["t_kill"]
    retries = stats.retries
    r.check("the client retried during the failover", len(retries) >= 1, len(retries))
    r.check(f"every delay is at most the cap ({policy.cap}s)",
            all(x["delay_s"] <= policy.cap + 1e-9 for x in retries), max((x["delay_s"] for x in retries), default=None))
    r.check("delays grow: retry n waits at least min(base*2^(n-1), cap)",
            all(x["delay_s"] >= policy.floor(x["retry"]) - 1e-9 for x in retries),
            [round(x["delay_s"], 3) for x in retries[:12]])
    r.check("recovered within the retry budget, no operation given up", stats.gave_up == 0
            and ctx.failover["unavailable_s"] is not None, {"gave_up": stats.gave_up})
    r.metrics.update({"retries": len(retries), "max_delay_s": round(max((x["delay_s"] for x in retries), default=0), 3),
                      "errors_by_type": dict(stats.errors_by_type), "budget_s": policy.budget,
                      "base_s": policy.base, "cap_s": policy.cap})
    r.details["retries"] = [{"t_s": round(x["at"] - t_kill, 3), "op": x["op"], "retry": x["retry"],
                             "delay_s": round(x["delay_s"], 3), "slept_s": round(x.get("slept_s", 0), 3),
                             "error": x["error"]} for x in retries[:30]]
    r.metrics["sleeps_cut_short_by_switch_master"] = sum(
        1 for x in retries if x.get("slept_s", x["delay_s"]) < x["delay_s"] - 0.02)


# --------------------------------------------------------------------------- consistency
def consistency(ctx: HAContext, r: ScenarioResult) -> None:
    new, acked, writer = ctx.failover["new"], ctx.failover["acked"], ctx.failover["writer"]
    m = ctx.topo.client(new)
    keys = list(acked)
    values = m.mget(keys)
    lost = [k for k, v in zip(keys, values) if v != acked[k]]
    r.check("every key acknowledged with WAIT before the kill reads back (lost = 0)", not lost,
            {"checked": len(keys), "lost": len(lost), "examples": lost[:5]})
    ops = writer.history.ops()
    final = dict(zip([op.key for op in ops], m.mget([op.key for op in ops]))) if ops else {}
    during = checkers.write_loss(ops, final, min_replicated=1)
    r.check("writes acknowledged by a replica during the failover survived", during["lost"] == 0, during)
    unwaited = checkers.write_loss(ops, final)
    replicas = [n for n in SERVERS if n != new and ctx.backend.is_running(n) and ctx.topo.role(n) == "slave"]
    after = {ctx.key(f"after:{i}"): f"after-{i}" for i in range(100)}
    with _client(ctx) as c:
        for k, v in after.items():
            c.set_acked(k, v, replicas=len(replicas), timeout_ms=2000)
    for node in replicas:
        seen = ctx.topo.client(node).mget(list(after))
        r.check(f"keys written after the failover reached {node}", seen == list(after.values()),
                sum(1 for a, b in zip(seen, after.values()) if a == b))
    r.check("a replica remains to receive them", bool(replicas), replicas)
    r.metrics.update({"acked_before_kill": len(keys), "lost": len(lost),
                      "lost_during_failover_waited": during["lost"], "lost_during_failover_unwaited": unwaited["lost"],
                      "recovered_info_writes": during["recovered"], "written_after": len(after)})


# -------------------------------------------------------------------------- replica_sync
def replica_sync(ctx: HAContext, r: ScenarioResult) -> None:
    topo = ctx.topo
    master = wait_for(topo.agreed_master, "the Sentinels to agree on a master", 15)
    topo.client(master).execute_command("WAIT", 0, 0)
    running = [n for n in SERVERS if n != master and ctx.backend.is_running(n)]

    def states():
        return [topo.replica_state(n, master) for n in running]

    rows = wait_for(states, "every running replica to be linked and caught up", 15,
                    accept=lambda rows: all(s["role"] == "slave" and s["master"] == master and s["link"] == "up"
                                            and s["lag_bytes"] == 0 for s in rows))
    for s in rows:
        r.check(f"{s['node']} replicates {master}, link up, lag 0", s["link"] == "up" and s["lag_bytes"] == 0, s)
    r.check("at least one replica is in sync", len(rows) >= 1, len(rows))
    r.metrics.update({"master": master, "replicas_in_sync": len(rows),
                      "max_lag_bytes": max((s["lag_bytes"] for s in rows), default=None)})
    r.details["replicas"] = rows


# -------------------------------------------------------------------------------- rejoin
def rejoin(ctx: HAContext, r: ScenarioResult) -> None:
    old, new = ctx.failover["old"], ctx.failover["new"]
    t_start = now()
    ctx.backend.start(old)
    wait_for(lambda: ctx.topo.in_sync(old, new), f"{old} to rejoin as a replica of {new}", REJOIN_DEADLINE_S, interval=0.1)
    rejoin_s = now() - t_start
    state = ctx.topo.replica_state(old, new)
    r.check(f"{old} is a replica of {new} with link up", state["role"] == "slave" and state["master"] == new
            and state["link"] == "up", state)
    probe = ctx.key("rejoin-probe")
    with _client(ctx) as c:
        acks = c.set_acked(probe, "1", replicas=2, timeout_ms=3000)
    r.check("both replicas acknowledge a new write (WAIT 2)", acks == 2, acks)
    r.check(f"{old} serves the new write", ctx.topo.client(old).get(probe) == "1", ctx.topo.client(old).get(probe))
    ready_s = ctx.topo.wait_ready(timeout=20, master=new)
    r.check("Sentinels see the full topology again (3 servers, 3 Sentinels)", ready_s <= 20, {"ready_after_s": round(ready_s, 3)})
    r.metrics.update({"rejoined": old, "master": new, "rejoin_s": round(rejoin_s, 3)})


# ------------------------------------------------------------------------- quorum_safety
def quorum_safety(ctx: HAContext, r: ScenarioResult) -> None:
    topo, backend = ctx.topo, ctx.backend
    topo.wait_ready(timeout=60)
    master = topo.agreed_master()
    survivor, down = SENTINELS[0], SENTINELS[1:]
    hold_s = 3 * DOWN_AFTER_S
    with ctx.events() as events:
        for s in down:
            backend.kill(s)
        t_kill = now()
        backend.kill(master)

        def promoted():
            return [n for n in SERVERS if n != master and topo.role(n) == "master"] or \
                   ([topo.sentinel_master(survivor)] if topo.sentinel_master(survivor) not in (None, master) else [])

        violation = hold_for(promoted, hold_s, bad=bool)
        held_s = now() - t_kill
        r.check(f"no promotion for {hold_s:.0f}s (3x down-after) with 1 of 3 Sentinels", violation is None,
                violation or "nobody promoted")
        sdown = events.first("+sdown", since=t_kill)
        r.check("the lone Sentinel saw the master down (+sdown) but could not fail over alone",
                sdown is not None and events.first("+switch-master", since=t_kill) is None,
                sdown and sdown["data"])
        t_restore = now()
        for s in down:
            backend.start(s)
        new = wait_for(topo.agreed_master, "the restored Sentinels to fail over", SWITCH_DEADLINE_S + 10,
                       accept=lambda m: m is not None and m != master)
        failover_s = now() - t_restore
        timeline = events.timeline(t_kill, since=t_kill - 1)
    r.check("with the quorum back, a replica was promoted", new != master and topo.role(new) == "master", new)
    backend.start(master)  # leave the topology whole: the old master rejoins as a replica
    rejoin = wait_for(lambda: topo.in_sync(master, new), f"{master} to rejoin", REJOIN_DEADLINE_S, interval=0.1)
    r.check(f"{master} rejoined as a replica of {new}", rejoin, True)
    r.metrics.update({"held_without_promotion_s": round(held_s, 3), "failover_after_restore_s": round(failover_s, 3),
                      "old_master": master, "new_master": new})
    r.details["timeline"] = timeline


SCENARIOS = [
    Scenario("crud", crud, "SET/GET/INCR/HSET/EXPIRE/DEL through the master; replicas read them back"),
    Scenario("failover", failover, "kill the master under writes; a replica is promoted; switch_s, unavailable_s"),
    Scenario("discovery", discovery, "every Sentinel names the new master; reachable; client on it", ("failover",)),
    Scenario("retry_backoff", retry_backoff, "the client's retries during the failover: growing, capped", ("failover",)),
    Scenario("consistency", consistency, "no WAIT-acknowledged key lost; new writes reach the replica", ("failover",)),
    Scenario("replica_sync", replica_sync, "each replica's role, master, link and offset lag"),
    Scenario("rejoin", rejoin, "the old master comes back as a replica of the new one", ("failover",)),
    Scenario("quorum_safety", restoring(quorum_safety), "2 of 3 Sentinels down: no promotion; restored: failover"),
]


# ----------------------------------------------------------------------------- --watch
class HAWatchSource:
    def __init__(self, ctx: HAContext, events):
        self.ctx, self._events = ctx, events

    def roles(self) -> list[dict]:
        named = self.ctx.topo.agreed_master()
        rows = []
        for node in SERVERS:
            try:
                info = self.ctx.topo.replication(node)
                role = info["role"] + (f" (link {info['master_link_status']})" if info["role"] == "slave" else "")
            except Exception:  # noqa: BLE001 - a killed or paused node
                role = "[red]down[/]"
            rows.append({"node": node, "role": role, "sentinels' master": "◀" if node == named else ""})
        return rows

    def events(self) -> list[dict]:
        """Key events, each (event, data) once: every Sentinel reports the same switch."""
        seen, out = set(), []
        for e in self._events.snapshot():
            if e["event"] in KEY_EVENTS and (e["event"], e["data"]) not in seen:
                seen.add((e["event"], e["data"]))
                out.append(e)
        return out


def _node(ctx: HAContext, addr) -> str:
    try:
        return f"{ctx.backend.node_at(addr)} ({_addr(addr)})"
    except KeyError:
        return _addr(addr)


def watch(ctx: HAContext, console) -> dict:
    """--watch: write continuously through the lab's client and show the topology live."""
    from .watch import watch as run_watch
    client = ctx.client()
    writer = Writer(lambda k, v: client.set_acked(k, v, replicas=1, timeout_ms=200), prefix=ctx.key("watch"))
    try:
        with ctx.events() as events:
            return run_watch(HAWatchSource(ctx, events), writer, f"Valkey HA on {ctx.backend_name}", console,
                             master_changes=lambda: [{**c, "from": _node(ctx, c["from"]), "to": _node(ctx, c["to"])}
                                                     for c in client.master_changes],
                             commands=lambda: [ctx.backend.fault_commands(n) for n in SERVERS + SENTINELS])
    finally:
        client.close()
