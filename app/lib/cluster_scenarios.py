"""The cluster suite: seven scenarios, each asserting properties a broken set-up violates.

Every scenario writes keys under ``lab:<run id>:`` and deletes them afterwards, so runs
against a long-lived Docker stack do not mix. Faults are real: ``backend.kill`` is a SIGKILL
of a local process or ``docker kill``. Every wait has a deadline (util.wait_for).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Optional

import redis
from redis.exceptions import ClusterCrossSlotError, MovedError, RedisClusterException

from . import checkers, cluster_events
from . import cluster_topology as ct
from .backends import Backend
from .cluster_client import (ClusterClient, distribution_rows, expected_counts, key_slot, keys_in_ranges,
                             shard_of, spread_problems)
from .cluster_topology import LAYOUT, NODES, PRIMARIES, REPLICA_OF, ClusterTopology, format_ranges
from .cluster_events import FlagSampler
from .history import History
from .results import Scenario, ScenarioResult
from .retry import BackoffPolicy
from .util import LabError, WaitTimeout, now, password, wait_for
from .workload import Writer

# Errors by which a shard refuses service (as opposed to a transport hiccup).
CLUSTER_REFUSALS = {"ClusterDownError", "TryAgainError", "SlotNotCoveredError", "ClusterUnavailable",
                    "MasterDownError", "ReadOnlyError", "ClusterError"}
SPREAD_TOLERANCE = 0.05  # absolute share; 3000 uniform keys put each shard within ~±0.9% (1 sigma)


@dataclass
class ClusterLab:
    """What the scenarios get: the backend, an independent reader of the servers' state, and
    a factory of cluster clients that reach the nodes from wherever this process runs."""
    backend: Backend
    topology: ClusterTopology
    password: str
    valkey_version: str
    node_timeout_ms: int
    run_id: str = field(default_factory=lambda: os.urandom(3).hex())
    report_extra: dict = field(default_factory=dict)
    clients: list = field(default_factory=list)

    @property
    def backend_name(self) -> str:
        return self.backend.name

    @property
    def node_timeout_s(self) -> float:
        return self.node_timeout_ms / 1000

    @property
    def failover_deadline_s(self) -> float:
        """How long a failover may take before the scenario fails: measured ~1.8x node-timeout
        (design notes, section 3); 8x plus 5 s leaves room for a slow CI machine."""
        return 8 * self.node_timeout_s + 5

    def client(self, policy: Optional[BackoffPolicy] = None) -> ClusterClient:
        c = ClusterClient([self.backend.address(n) for n in self.topology.running()], self.password,
                          remap=self.backend.address_map(),
                          policy=policy or BackoffPolicy(base=0.05, cap=0.5, jitter=0.05, budget=10.0))
        self.clients.append(c)
        return c

    def key(self, *parts: str) -> str:
        return ":".join(("lab", self.run_id, *parts))

    def close(self) -> None:
        for c in self.clients:
            try:
                c.close()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        self.clients.clear()


# -- helpers -------------------------------------------------------------------------------------
def _errorstat(topo: ClusterTopology, node: str, code: str) -> int:
    return int(topo.info(node, "errorstats").get(f"errorstat_{code}", {}).get("count", 0))


def _cmdstat(topo: ClusterTopology, node: str, command: str) -> int:
    return int(topo.info(node, "commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def _count_matching(topo: ClusterTopology, node: str, pattern: str) -> int:
    return sum(1 for _ in topo.client(node).scan_iter(match=pattern, count=1000))


def _other_primary(node: str) -> str:
    return PRIMARIES[(PRIMARIES.index(node) + 1) % len(PRIMARIES)]


def _sample(items, n: int = 3) -> list:
    return list(items)[:n]


# -- 1. topology ---------------------------------------------------------------------------------
def topology(lab: ClusterLab, r: ScenarioResult) -> None:
    topo = lab.topology
    views = {n: topo.view(n) for n in NODES}
    rows = topo.table("node-7000")
    for row in rows:  # a replica's replication link (master_link_status) after the cluster bus link
        repl = topo.info(row["node"], "replication").get("master_link_status") if row["role"] == "replica" else None
        row["link"] = f"{row['link']}/{repl}" if repl else row["link"]  # e.g. ok/up
    r.details["nodes"] = rows
    lines = views["node-7000"]
    problems = ct.layout_problems(lines, topo.name_of)
    summary = "; ".join(f"{p} {format_ranges([LAYOUT[p]])} + {rep}" for rep, p in REPLICA_OF.items())
    r.check("3 primaries with the deterministic slot ranges, each with exactly its replica "
            "(7003→7000, 7004→7001, 7005→7002)", not problems, problems or summary)
    owned = [rg for n in lines for rg in n.slots]
    r.check("16384 slots covered, each by exactly one primary",
            ct.slot_count(ct.merge_ranges(owned)) == ct.SLOTS == ct.slot_count(owned),
            f"{ct.slot_count(ct.merge_ranges(owned))} distinct, {ct.slot_count(owned)} counted")
    signatures = {n: ct.view_signature(v) for n, v in views.items()}
    differ = [n for n, s in signatures.items() if s != signatures["node-7000"]]
    r.check("every node holds the same map: slots, roles, config epochs (CLUSTER NODES agree)", not differ, differ or "6 of 6 agree")
    infos = {n: topo.cluster_info(n) for n in NODES}
    states = {n: i.get("cluster_state") for n, i in infos.items()}
    r.check("cluster_state:ok on every node", set(states.values()) == {"ok"}, states)
    known = {n: int(i.get("cluster_known_nodes", 0)) for n, i in infos.items()}
    r.check("every node knows all 6 nodes", set(known.values()) == {6}, known)
    links = {n: topo.info(n, "replication").get("master_link_status") for n in REPLICA_OF}
    r.check("every replica's link to its primary is up", set(links.values()) == {"up"}, links)
    r.metrics.update({"primaries": sum(1 for n in lines if n.role == "primary"),
                      "replicas": sum(1 for n in lines if n.role == "replica"),
                      "slots_covered": ct.slot_count(ct.merge_ranges(owned)),
                      "current_epoch": int(infos["node-7000"].get("cluster_current_epoch", 0)),
                      "node_timeout_ms": lab.node_timeout_ms})


# -- 2. slot placement ---------------------------------------------------------------------------
def slot_placement(lab: ClusterLab, r: ScenarioResult) -> None:
    topo, client = lab.topology, lab.client()
    keys = [lab.key("place", str(i)) for i in range(1200)]
    values = {k: f"v{i}" for i, k in enumerate(keys)}
    tag = f"user-{lab.run_id}"
    tagged = {lab.key(f"{{{tag}}}", f): f"{f}-value" for f in ("name", "email", "visits")}
    try:
        pipe = topo.client("node-7001").pipeline(transaction=False)
        for k in keys:
            pipe.execute_command("CLUSTER", "KEYSLOT", k)
        server = dict(zip(keys, map(int, pipe.execute())))
        mismatched = [k for k in keys if not (key_slot(k) == client.rc.keyslot(k) == server[k])]
        r.check("CLUSTER KEYSLOT equals the client's CRC16 slot for every key", not mismatched,
                f"{len(keys)} keys, {len(set(server.values()))} distinct slots, {len(mismatched)} mismatches "
                f"{_sample(mismatched)}")

        client.set_many(values)
        shards = topo.shards()
        owner_of = {k: shard_of(server[k], shards) for k in keys}
        by_owner: dict[str, list[str]] = {}
        for k in keys:
            by_owner.setdefault(owner_of[k], []).append(k)
        misplaced = []
        for owner, ks in by_owner.items():  # read each key on its owner directly: no redirect possible
            pipe = topo.client(owner).pipeline(transaction=False)
            for k in ks:
                pipe.get(k)
            misplaced += [k for k, got in zip(ks, pipe.execute(raise_on_error=False)) if got != values[k]]
        r.check("every key is stored on the primary that owns its slot (read on that node directly)",
                not misplaced, f"{len(keys) - len(misplaced)} of {len(keys)}; wrong: {_sample(misplaced)}")
        misrouted = [k for k in keys if topo.name_at(*client.node_of(k)) != owner_of[k]]
        r.check("the client routes every key to that primary (its slot map matches the servers')",
                not misrouted, f"{len(misrouted)} misrouted {_sample(misrouted)}")
        r.check("keys land on all 3 primaries", sorted(by_owner) == PRIMARIES,
                {o: len(ks) for o, ks in sorted(by_owner.items())})

        slots = {key_slot(k) for k in tagged} | {int(topo.client("node-7000").execute_command("CLUSTER", "KEYSLOT", k))
                                                 for k in tagged}
        r.check("hash-tagged keys share one slot (client and server agree)", len(slots) == 1,
                f"{list(tagged)} -> slot {sorted(slots)}")
        flat = [x for kv in tagged.items() for x in kv]
        client.call(lambda rc: rc.execute_command("MSET", *flat), idempotent=True)
        got = client.call(lambda rc: rc.execute_command("MGET", *tagged), idempotent=True)
        r.check("a multi-key command on them works (MSET then MGET)", got == list(tagged.values()), got)

        a = lab.key("cross", "a")
        b = next(k for k in (lab.key("cross", f"b{i}") for i in range(100)) if key_slot(k) != key_slot(a))
        try:
            topo.client(shard_of(key_slot(a), shards)).execute_command("MSET", a, "1", b, "2")
            server_error = None
        except ClusterCrossSlotError as exc:
            server_error = f"CROSSSLOT {exc}"
        except redis.ResponseError as exc:
            server_error = f"other error: {exc}"
        r.check("a cross-slot MSET sent to a node fails with CROSSSLOT",
                bool(server_error) and server_error.startswith("CROSSSLOT"),
                f"slots {key_slot(a)} and {key_slot(b)}: {server_error or 'accepted!'}")
        try:
            client.call(lambda rc: rc.execute_command("MSET", a, "1", b, "2"), idempotent=True)
            client_error = None
        except (RedisClusterException, redis.ResponseError) as exc:
            client_error = f"{type(exc).__name__}: {exc}"
        written = client.call(lambda rc: rc.exists(a), idempotent=True) + client.call(lambda rc: rc.exists(b), idempotent=True)
        r.check("the cluster client refuses it too, with a clear error, and nothing is written",
                bool(client_error) and written == 0, f"{client_error or 'accepted!'}; keys written: {written}")
        r.metrics.update({"keys": len(keys), "distinct_slots": len(set(server.values())),
                          "keys_per_primary": {o: len(ks) for o, ks in sorted(by_owner.items())},
                          "redirects_seen": dict(client.redirects)})
    finally:
        client.delete_many(keys + list(tagged))


# -- 3. MOVED ------------------------------------------------------------------------------------
def moved_redirect(lab: ClusterLab, r: ScenarioResult) -> None:
    topo = lab.topology
    key = lab.key("moved")
    slot = key_slot(key)
    owner = topo.owner_of(slot)
    wrong = _other_primary(owner)
    client = lab.client()
    client.set(key, "v1")
    before = _errorstat(topo, wrong, "MOVED")
    try:
        topo.client(wrong).get(key)
        moved = None
    except MovedError as exc:
        moved = exc
    named = topo.name_at(moved.host, moved.port) if moved else None
    r.check("a plain connection to the wrong node gets MOVED naming the key's slot and owner",
            moved is not None and moved.slot_id == slot and named == owner,
            f"{wrong} said MOVED {moved.slot_id} {moved.host}:{moved.port} (= {named}); slot {slot} is {owner}'s"
            if moved else f"{wrong} answered without MOVED")
    r.check("the wrong node counted it (errorstat_MOVED +1)", _errorstat(topo, wrong, "MOVED") - before >= 1,
            _errorstat(topo, wrong, "MOVED") - before)
    value = client.get(key)
    r.check("the cluster client gets the same key right, straight from its owner (0 redirects)",
            value == "v1" and client.redirects["MOVED"] == 0, f"{value!r}, MOVED seen {client.redirects['MOVED']}")

    # Reshard under a client that holds the old map.
    tag = f"mv-{lab.run_id}"
    keys = [lab.key(f"{{{tag}}}", str(i)) for i in range(20)]
    values = {k: f"m{i}" for i, k in enumerate(keys)}
    slot2 = key_slot(keys[0])
    src = topo.owner_of(slot2)
    dst = _other_primary(src)
    stale = lab.client()
    stale.set_many(values)
    held_before = topo.name_at(*stale.node_of(keys[0]))
    try:
        start = now()
        moved_keys = topo.move_slot(slot2, src, dst)
        move_s = now() - start
        server_before = _errorstat(topo, src, "MOVED")
        got = {k: stale.get(k) for k in keys}
        r.check(f"after slot {slot2} moved {src}→{dst}, a client holding the old map is redirected "
                "(MOVED > 0) and reads every key right",
                held_before == src and stale.redirects["MOVED"] > 0 and got == values,
                f"map said {held_before}; MOVED seen {stale.redirects['MOVED']}; "
                f"{sum(got[k] == values[k] for k in keys)}/{len(keys)} keys right")
        r.check("the servers saw it too (errorstat_MOVED on the old owner)",
                _errorstat(topo, src, "MOVED") - server_before >= 1, _errorstat(topo, src, "MOVED") - server_before)
        r.check("the client's slot map now names the new owner", topo.name_at(*stale.node_of(keys[0])) == dst,
                topo.name_at(*stale.node_of(keys[0])))
        seen_first = stale.redirects["MOVED"]
    finally:
        if topo.owner_of(slot2) != src:
            topo.move_slot(slot2, topo.owner_of(slot2), src)
    got = {k: stale.get(k) for k in keys}
    r.check("moved back: the client follows again, no key lost, the layout restored",
            got == values and stale.redirects["MOVED"] > seen_first and not topo.layout_problems()
            and not topo.health(),
            f"{sum(got[k] == values[k] for k in keys)}/{len(keys)} keys right; MOVED total {stale.redirects['MOVED']}; "
            f"layout: {topo.layout_problems() or 'restored'}")
    r.metrics.update({"slot": slot2, "keys_moved": len(moved_keys), "move_s": round(move_s, 3),
                      "moved_seen_by_client": stale.redirects["MOVED"]})
    r.details["redirects"] = [{k: v for k, v in e.items() if k != "at"} for e in stale.redirect_events]
    stale.delete_many(keys + [key])


# -- 4. ASK --------------------------------------------------------------------------------------
def ask_redirect(lab: ClusterLab, r: ScenarioResult) -> None:
    topo = lab.topology
    tag = f"ask-{lab.run_id}"
    keys = [lab.key(f"{{{tag}}}", str(i)) for i in range(40)]
    new_keys = [lab.key(f"{{{tag}}}", "new", str(i)) for i in range(10)]
    slot = key_slot(keys[0])
    src = topo.owner_of(slot)
    dst = _other_primary(src)
    client = lab.client()
    v1 = {k: f"a{i}" for i, k in enumerate(keys)}
    client.set_many(v1)
    ask_before, asking_before = _errorstat(topo, src, "ASK"), _cmdstat(topo, dst, "asking")
    expected = dict(v1)
    migrating = False
    start = now()
    try:
        topo.begin_migration(slot, src, dst)
        migrating = True
        half = topo.migrate_keys(slot, src, dst, limit=len(keys) // 2)
        on_src, on_dst = set(topo.keys_in_slot(src, slot)), set(topo.keys_in_slot(dst, slot))
        r.check(f"slot {slot} half moved {src}→{dst} (IMPORTING/MIGRATING + MIGRATE): every key on exactly one side",
                len(half) == len(keys) // 2 and not (on_src & on_dst) and on_src | on_dst == set(keys),
                f"{len(on_src)} on {src}, {len(on_dst)} on {dst}, {len(on_src & on_dst)} on both")

        reads = {k: client.get(k) for k in keys}
        r.check("reads through the cluster client while the slot is half moved return every value",
                reads == v1, f"{sum(reads[k] == v1[k] for k in keys)}/{len(keys)}")
        v2 = {k: f"b{i}" for i, k in enumerate(keys)}
        v2.update({k: f"n{i}" for i, k in enumerate(new_keys)})
        for k, v in v2.items():
            client.set(k, v)
        expected = dict(v2)
        reads = {k: client.get(k) for k in v2}
        on_dst = set(topo.keys_in_slot(dst, slot))
        r.check("writes through the cluster client (existing and new keys) succeed and read back",
                reads == v2, f"{sum(reads[k] == v2[k] for k in v2)}/{len(v2)}")
        r.check("new keys were created on the target (the source sent them on with ASK)",
                set(new_keys) <= on_dst, f"{len(set(new_keys) & on_dst)}/{len(new_keys)} on {dst}")
        asks = client.redirects["ASK"]
        d_ask, d_asking = _errorstat(topo, src, "ASK") - ask_before, _cmdstat(topo, dst, "asking") - asking_before
        r.check("the client really was redirected: ASK replies read by its connections > 0", asks > 0,
                f"ASK {asks}, MOVED {client.redirects['MOVED']}")
        r.check("the servers agree: the source replied ASK (errorstat_ASK), the target got ASKING (cmdstat_asking)",
                d_ask > 0 and d_asking > 0 and d_ask >= asks,  # >=: other clients of a shared stack count too
                f"errorstat_ASK +{d_ask} on {src}, cmdstat_asking +{d_asking} on {dst}")

        rest = topo.migrate_keys(slot, src, dst)
        topo.finish_migration(slot, src, dst)
        migrating = False
        topo.wait_owner(slot, dst, 20.0)
        r.metrics.update({"slot": slot, "ask_seen_by_client": asks, "server_errorstat_ask": d_ask,
                          "server_cmdstat_asking": d_asking, "keys_moved_while_half": len(half),
                          "keys_moved_after": len(rest)})
    finally:
        if migrating:  # a check crashed mid-way: finish the move so it can be undone below
            topo.migrate_keys(slot, src, dst)
            topo.finish_migration(slot, src, dst)
            topo.wait_owner(slot, dst, 20.0)
        if topo.owner_of(slot) != src:
            topo.move_slot(slot, topo.owner_of(slot), src)
    r.metrics["migrate_and_back_s"] = round(now() - start, 3)
    final = client.get_many(list(expected))
    in_slot = set(topo.keys_in_slot(src, slot))
    r.check("after moving the slot back: no key lost or duplicated, values intact",
            final == expected and in_slot == set(expected) and topo.count_in_slot(dst, slot) == 0,
            f"{len(in_slot)} keys in slot {slot} on {src} (expected {len(expected)}), "
            f"{topo.count_in_slot(dst, slot)} on {dst}, {sum(final[k] == v for k, v in expected.items())} values right")
    problems = topo.layout_problems() + topo.health()
    r.check("the layout is restored and healthy", not problems, problems or "deterministic layout")
    client.delete_many(list(expected))


# -- 5. key distribution per shard --------------------------------------------------------------
def shard_distribution(lab: ClusterLab, r: ScenarioResult) -> None:
    topo, client = lab.topology, lab.client()
    keys = [lab.key("dist", str(i)) for i in range(3000)]
    markers: list[str] = []
    try:
        start = now()
        client.set_many({k: "x" for k in keys})
        r.metrics["write_s"] = round(now() - start, 3)
        shards = topo.shards()
        # WAIT on a write made after the bulk: replication is ordered, so one acknowledged
        # marker per shard means its replica has every earlier key too.
        acks = {}
        for shard in shards:
            marker = keys_in_ranges(lab.key("mark"), shard["ranges"], 1)[0]
            markers.append(marker)
            acks[shard["primary"]] = client.set_acked(marker, "m", replicas=1, timeout_ms=5000)
        r.check("WAIT 1: each shard's replica acknowledged the writes", set(acks.values()) == {1}, acks)
        pattern = lab.key("dist") + ":*"
        counts = {s["primary"]: _count_matching(topo, s["primary"], pattern) for s in shards}
        replica_counts = {rep: _count_matching(topo, rep, pattern) for s in shards for rep in s["replicas"]}
        rows = distribution_rows(shards, counts, replica_counts)
        for row in rows:
            row["dbsize"] = topo.client(row["primary"]).dbsize()
            row["replica_dbsize"] = topo.client(row["replica"]).dbsize() if row["replica"] != "-" else None
        r.details["shards"] = rows
        expected = expected_counts(keys, shards)
        r.check("each shard holds exactly the keys CRC16 assigns to its slots",
                all(counts[p] == expected[p] for p in counts) and sum(counts.values()) == len(keys),
                {p: f"{counts[p]} (expected {expected[p]})" for p in counts})
        problems = spread_problems(rows, SPREAD_TOLERANCE)
        deviation = max(abs(row["share"] - row["expected_share"]) for row in rows)
        r.check(f"every shard holds keys, each share within ±{SPREAD_TOLERANCE:.0%} of its slot share",
                not problems, problems or f"max deviation {deviation:.2%}")
        unequal = [row for row in rows if row["replica_keys"] != row["keys"] or row["replica_dbsize"] != row["dbsize"]]
        r.check("each replica's key count equals its primary's (after WAIT)", not unequal,
                [f"{row['primary']} {row['keys']}/{row['dbsize']} vs {row['replica']} "
                 f"{row['replica_keys']}/{row['replica_dbsize']}" for row in (unequal or rows)])
        r.metrics.update({"keys": len(keys), "keys_per_shard": counts, "max_share_deviation": round(deviation, 4),
                          "tolerance": SPREAD_TOLERANCE})
    finally:
        client.delete_many(keys + markers)


# -- 6. primary failover ------------------------------------------------------------------------
class ShardKeys:
    """``keys(i)``: the i-th key ``prefix:<n>`` whose slot lies in ``ranges`` (extended lazily,
    so a writer never runs out of distinct keys)."""

    def __init__(self, prefix: str, ranges, batch: int = 500):
        self.prefix, self.ranges, self.batch = prefix, list(ranges), batch
        self.keys: list[str] = []
        self._next = 0

    def __call__(self, i: int) -> str:
        while len(self.keys) <= i:
            more = keys_in_ranges(self.prefix, self.ranges, self.batch, start=self._next)
            self._next = int(more[-1].rsplit(":", 1)[1]) + 1
            self.keys += more
        return self.keys[i]


def plain_write(client: ClusterClient):
    """SET through the cluster client; nothing is known about replication (replicated None)."""
    def write(key: str, value: str) -> None:
        client.set(key, value)
    return write


def waited_write(client: ClusterClient, replicas: int = 1, timeout_ms: int = 300):
    """SET + WAIT on the key's primary; the History records how many replicas acknowledged."""
    def write(key: str, value: str) -> int:
        return client.set_acked(key, value, replicas=replicas, timeout_ms=timeout_ms)
    return write


@dataclass
class ShardLoad:
    """One workload.Writer per shard, each with a cluster client of its own (a writer stuck on
    a dead shard must not slow the others), all recording into one History grouped by shard."""
    history: History
    writers: dict
    clients: dict

    def start(self) -> "ShardLoad":
        for w in self.writers.values():
            w.start()
        return self

    def stop(self) -> None:
        for w in self.writers.values():
            w._stop.set()
        for w in self.writers.values():
            w.stop()

    def ops(self, shard: Optional[str] = None) -> list:
        return [op for op in self.history.ops() if shard is None or op.shard == shard]

    def ok_invoked_after(self, shard: str, t: float) -> list:
        """``ok`` writes to ``shard`` invoked at or after ``t``, in completion order."""
        return sorted((op for op in self.ops(shard) if op.status == "ok" and op.t_invoke >= t),
                      key=lambda op: op.t_complete)

    def keys(self) -> list[str]:
        return [op.key for op in self.history.ops()]


def shard_load(lab: "ClusterLab", shards: list[dict], tag: str, policy: BackoffPolicy,
               write=plain_write, pace: float = 0.01, write_for: Optional[dict] = None,
               policy_for: Optional[dict] = None) -> ShardLoad:
    """``write``: a factory client -> write function (per shard: ``write_for[primary]``)."""
    history = History()
    writers, clients = {}, {}
    for s in shards:
        primary = s["primary"]
        client = lab.client((policy_for or {}).get(primary, policy))
        clients[primary] = client
        factory = (write_for or {}).get(primary, write)
        writers[primary] = Writer(factory(client), lab.key(tag, primary), history, pace=pace,
                                  shard_of=lambda key, p=primary: p, keys=ShardKeys(lab.key(tag, primary), s["ranges"]))
    return ShardLoad(history, writers, clients)


def final_values(lab: "ClusterLab", keys: list[str]) -> dict:
    """The value of every key as the cluster serves it now (reads through a fresh client)."""
    reader = lab.client()
    try:
        return reader.get_many(keys)
    finally:
        reader.close()


def dead_shard_unavailability(load: ShardLoad, shard: str, t_fault: float) -> Optional[float]:
    """checkers.unavailability of ``shard`` over the operations invoked after the fault: a
    write invoked before it may still be answered by the dying node, which says nothing about
    when service came back."""
    ops = [op for op in load.ops(shard) if op.t_invoke >= t_fault]
    return checkers.unavailability(ops, t_fault, group=lambda op: op.shard).get(shard, {}).get("unavailable_s")


def primary_failover(lab: ClusterLab, r: ScenarioResult) -> None:
    topo, backend = lab.topology, lab.backend
    victim, heir = "node-7000", "node-7003"
    topo.wait_healthy(30.0, "a healthy cluster with the deterministic layout before the kill", layout=True)
    deadline = lab.failover_deadline_s
    shards = topo.shards()
    checker = lab.client()

    # Keys acknowledged by the replica (WAIT 1) before the kill must survive it.
    acked_history = History()
    acked_keys = keys_in_ranges(lab.key("fo", "acked"), [LAYOUT[victim]], 100)
    for k in acked_keys:
        op = acked_history.invoke("write", k, f"acked-{k}", shard=victim)
        History.ok(op, checker.set_acked(k, f"acked-{k}", replicas=1, timeout_ms=2000))
    acks = [op.replicated for op in acked_history.ops()]
    r.check("before the kill, the replica acknowledged every write (WAIT 1 returned 1)",
            acks.count(1) == len(acks), f"{acks.count(1)}/{len(acks)}")

    policy = BackoffPolicy(base=0.05, cap=0.25, jitter=0.05, budget=deadline)
    load = shard_load(lab, shards, "fo", policy)
    sampler = FlagSampler(topo, lambda: [n for n in NODES if n != victim])
    try:
        load.start()
        wait_for(lambda: all(len(load.ok_invoked_after(p, 0)) >= 10 for p in load.writers),
                 "every shard writer to get going", 10)
        sampler.start()
        wait_for(lambda: len(sampler.rounds) >= 2, "the flag sampler to run", 5, interval=0.02)
        backend.kill(victim)
        # Time zero is when the node is known dead, not when the kill was asked for: the
        # Docker API takes tens of ms, and writes the node still answered meanwhile are real.
        wait_for(lambda: not backend.is_running(victim), f"{victim} to be dead", 10, interval=0.01)
        t_kill = now()
        r.details["killed"] = f"{victim} ({'docker kill' if backend.name == 'docker' else 'SIGKILL'})"

        def promoted():
            me = topo.me(heir)
            return me.role == "primary" and me.slots == [LAYOUT[victim]]
        wait_for(promoted, f"{heir} to become primary of {format_ranges([LAYOUT[victim]])}", deadline, interval=0.05)
        promotion_s = now() - t_kill
        survivors = [n for n in NODES if n != victim]
        wait_for(lambda: topo.agreed_view(survivors, dead=[victim]) is not None and
                 all(topo.owner_of(LAYOUT[victim][0], n) == heir for n in survivors),
                 "the surviving nodes to agree on the new primary", deadline, interval=0.05)
        first_ok = wait_for(lambda: load.ok_invoked_after(victim, t_kill)[:1],
                            f"writes to {victim}'s slots to resume", deadline, interval=0.02)[0]
        wait_for(lambda: len(load.ok_invoked_after(victim, first_ok.t_invoke)) >= 20,
                 "20 more writes on the promoted shard", deadline)
    finally:
        load.stop()
        sampler.stop()

    ops = load.ops()
    unavailable_s = dead_shard_unavailability(load, victim, t_kill)
    per_shard = checkers.unavailability(ops, t_kill, group=lambda op: op.shard)
    r.check(f"{heir} became primary of {format_ranges([LAYOUT[victim]])} within {deadline:.0f}s",
            promotion_s <= deadline, f"{promotion_s:.2f}s after the kill (node-timeout {lab.node_timeout_ms} ms)")
    r.check("writes to those slots resumed", unavailable_s is not None and unavailable_s <= deadline,
            f"unavailable for {unavailable_s:.2f}s" if unavailable_s is not None else "never")
    others = [p for p in load.writers if p != victim]
    not_ok = {p: sum(op.status != "ok" for op in load.ops(p)) for p in load.writers}
    other_errors = {p: dict(load.clients[p].stats.errors_by_type) for p in others}
    slowest = {p: max((op.t_complete - op.t_invoke for op in load.ops(p) if op.t_complete), default=0.0)
               for p in others}
    refused = {p: sorted(set(e) & CLUSTER_REFUSALS) for p, e in other_errors.items()}
    # A retrying client hides refusals behind eventual success, so they count as failures:
    # with cluster-require-full-coverage yes every shard answers CLUSTERDOWN until the
    # promotion. A retried transport hiccup of a busy machine is tolerated, within node-timeout.
    r.check("writes to the other shards never failed, were never refused (no CLUSTERDOWN) nor stalled",
            all(not_ok[p] == 0 for p in others) and not any(refused.values())
            and max(slowest.values()) < lab.node_timeout_s,
            {p: f"{sum(op.status == 'ok' for op in load.ops(p))} ok, {not_ok[p]} not ok, slowest {slowest[p]:.3f}s, "
                f"errors {other_errors[p]}" for p in others})

    acked_loss = checkers.write_loss(acked_history.ops(), checker.get_many(acked_keys), min_replicated=1)
    r.check("no key acknowledged with WAIT before the kill was lost", acked_loss["lost"] == 0,
            f"{acked_loss['acknowledged'] - acked_loss['lost']}/{len(acked_keys)} present; "
            f"lost {acked_loss['lost_keys'][:3]}")
    # Every acknowledged write after the promotion must be there; writes acknowledged by the
    # old primary without WAIT just before the kill may be lost (asynchronous replication):
    # reported, not asserted.
    final = final_values(lab, [op.key for op in ops])
    before_kill = [op for op in ops if op.shard == victim and op.t_invoke < t_kill]
    rest = [op for op in ops if not (op.shard == victim and op.t_invoke < t_kill)]
    unwaited = checkers.write_loss(before_kill, {op.key: final[op.key] for op in before_kill})
    after = checkers.write_loss(rest, {op.key: final[op.key] for op in rest})
    r.check("every write acknowledged after the failover (and every write to the other shards) is readable",
            after["lost"] == 0 and after["unexpected"] == 0,
            f"{after['acknowledged']} acknowledged writes checked; lost {after['lost']} {after['lost_keys'][:3]}")

    samples = sampler.samples()
    timeline = cluster_events.relative(cluster_events.events(samples), t_kill)
    fail = next((e for e in timeline if e["event"] == "fail" and e["node"] == victim), None)
    promo = next((e for e in timeline if e["event"] == "promoted" and e["node"] == heir), None)
    epoch_before = max((n["config_epoch"] for s in samples if s["t"] < t_kill for n in s["nodes"].values()), default=0)
    epoch_after = next((s["nodes"][heir]["config_epoch"] for s in reversed(samples) if heir in s["nodes"]), None)
    r.check(f"the survivors flagged {victim} fail, then {heir} was promoted with a configEpoch above every "
            "earlier one (sampled CLUSTER NODES)",
            fail is not None and promo is not None and fail["t_s"] <= promo["t_s"]
            and epoch_after is not None and epoch_after > epoch_before,
            {"fail_s": fail and fail["t_s"], "promoted_s": promo and promo["t_s"],
             "config_epoch": f"max {epoch_before} before, {heir} {epoch_after} after"})
    regressions = cluster_events.epoch_regressions(samples)
    r.check("epochs only went up (currentEpoch and every configEpoch, per node's view)", not regressions,
            regressions[:3] or f"{len(samples)} samples")
    dead_client = load.clients[victim]
    pfail = next((e for e in timeline if e["event"] == "fail?" and e["node"] == victim), None)
    r.metrics.update({"unavailable_s": round(unavailable_s, 3) if unavailable_s is not None else None,
                      "promotion_s": round(promotion_s, 3),
                      "node_timeout_ms": lab.node_timeout_ms,
                      "pfail_s": pfail and pfail["t_s"], "fail_s": fail and fail["t_s"],
                      "promoted_seen_s": promo and promo["t_s"],
                      "writes_ok": {p: sum(op.status == "ok" for op in load.ops(p)) for p in load.writers},
                      "writes_failed": not_ok,
                      "writes_info": {p: sum(op.status == "info" for op in load.ops(p)) for p in load.writers},
                      "slowest_write_other_shards_s": round(max(slowest.values()), 3),
                      "retries_other_shards": sum(len(load.clients[p].stats.retries) for p in others),
                      "retries_on_dead_shard": len(dead_client.stats.retries),
                      "errors_on_dead_shard": dict(dead_client.stats.errors_by_type),
                      "moved_on_dead_shard": dead_client.redirects["MOVED"],
                      "acked_keys_lost": acked_loss["lost"], "unwaited_writes_lost": unwaited["lost"],
                      "unwaited_writes_recovered": unwaited["recovered"]})
    r.details["unavailability_by_shard"] = per_shard
    r.details["timeline"] = timeline
    r.details["dead_shard_client"] = dead_client.report()
    r.details["slot_map_held"] = dead_client.slot_map()
    for c in load.clients.values():
        c.close()
    checker.delete_many(load.keys() + acked_keys)


# -- 7. rejoin -----------------------------------------------------------------------------------
def rejoin(lab: ClusterLab, r: ScenarioResult) -> None:
    topo, backend = lab.topology, lab.backend
    old, new = "node-7000", "node-7003"
    deadline = lab.failover_deadline_s
    if backend.is_running(old):
        raise LabError(f"{old} is running: rejoin needs the state primary_failover leaves")
    start = now()
    backend.start(old)

    def replica_of_new():
        return topo.role(old) == "replica" and topo.primary_of(old) == new
    wait_for(replica_of_new, f"{old} to rejoin as a replica of {new}", deadline, interval=0.05)
    rejoin_s = now() - start
    wait_for(lambda: topo.link_up(old), f"{old}'s replication link to come up", deadline, interval=0.05)
    link_s = now() - start
    r.check(f"{old} rejoined as a replica of {new}, link up", True,
            f"replica after {rejoin_s:.2f}s, link up after {link_s:.2f}s")

    client = lab.client()
    marker = keys_in_ranges(lab.key("rejoin"), [LAYOUT[old]], 1)[0]
    acked = client.set_acked(marker, "m", replicas=1, timeout_ms=5000)
    sizes = {n: topo.client(n).dbsize() for n in (new, old)}
    offsets = {new: topo.info(new, "replication")["master_repl_offset"],
               old: topo.info(old, "replication").get("slave_repl_offset")}
    r.check(f"{old} is in sync (WAIT 1 acknowledged; same key count and offset as {new})",
            acked == 1 and sizes[new] == sizes[old] and offsets[new] == offsets[old],
            f"WAIT -> {acked}; dbsize {sizes}; offsets {offsets}")
    topo.wait_healthy(deadline, "cluster_state:ok and one map on every node")
    states = {n: topo.cluster_info(n).get("cluster_state") for n in NODES}
    r.check("every node reports cluster_state:ok and all agree on the map",
            set(states.values()) == {"ok"} and topo.agreed_view() is not None, states)
    client.delete_many([marker])

    # Give the shard back to node-7000 (coordinated CLUSTER FAILOVER: no write lost), so the
    # lab ends in the layout it started from and can run again.
    restore_s = topo.manual_failover(old, deadline)
    topo.wait_healthy(deadline, "the deterministic layout after CLUSTER FAILOVER", layout=True)
    r.check("layout restored with CLUSTER FAILOVER on node-7000", not topo.layout_problems(),
            f"{restore_s:.2f}s")
    r.details["nodes"] = topo.table()
    r.metrics.update({"rejoin_s": round(rejoin_s, 3), "link_up_s": round(link_s, 3),
                      "restore_s": round(restore_s, 3)})


SCENARIOS = [
    Scenario("topology", topology, "table of nodes; 3 primaries with the deterministic replicas, 16384 slots"),
    Scenario("slot_placement", slot_placement, "1200 keys: KEYSLOT = CRC16, stored on the slot's owner; hash tags; CROSSSLOT"),
    Scenario("moved_redirect", moved_redirect, "MOVED from the wrong node; a client with an old map follows it"),
    Scenario("ask_redirect", ask_redirect, "live slot migration: reads/writes through ASK; nothing lost; moved back"),
    Scenario("shard_distribution", shard_distribution, "keys per shard table; replicas equal after WAIT"),
    Scenario("primary_failover", primary_failover, "kill node-7000 under writes; node-7003 promoted; unavailable_s"),
    Scenario("rejoin", rejoin, "node-7000 back as replica of node-7003, in sync; layout restored",
             needs=("primary_failover",)),
]


# -- the lab for the CLI ---------------------------------------------------------------------------
@contextmanager
def open_lab(args):
    """Build (local) or attach to (docker) the cluster, make sure it is formed and healthy with
    the deterministic layout, and yield the ClusterLab. Everything started here is stopped."""
    secret = password()
    kind = args.backend
    if kind == "auto":
        kind = "docker" if ct.docker_stack_running() else "local"
    extra: dict = {}
    if kind == "local":
        base = ct.DEFAULT_LOCAL_BASE_PORT if args.base_port is None else args.base_port
        backend = ct.local_backend(secret, base)
    else:
        backend = ct.docker_backend(secret)
    topo = ClusterTopology(backend, secret)
    lab = None
    try:
        if kind == "local":
            extra["init"] = ct.run_init([backend.address(n) for n in NODES], secret)
        else:
            restarted = [n for n in NODES if not backend.is_running(n)]
            for node in restarted:  # a node killed by hand earlier: the suite starts from a whole cluster
                backend.start(node)
            if restarted:
                extra["restarted"] = restarted
            topo.check_reachable()
            failed = ct.init_service_failure(backend)
            if failed:
                raise LabError(f"the cluster-init service failed ({failed}): see 'docker-compose -f "
                               f"{ct.COMPOSE_FILE} logs cluster-init'")
            try:  # the init service may still be forming it right after `up -d`
                topo.wait_healthy(60.0, "the cluster to be formed and healthy")
            except WaitTimeout as exc:
                raise LabError(f"the cluster is not formed or not healthy ({exc.last}): its init service forms "
                               f"it ('docker-compose -f {ct.COMPOSE_FILE} up -d'; see "
                               f"'docker-compose -f {ct.COMPOSE_FILE} logs cluster-init')") from exc
            restored = topo.restore_layout(30.0)
            if restored:
                extra["restored_layout"] = restored
        try:
            topo.wait_healthy(30.0, "the deterministic layout, healthy", layout=True)
        except WaitTimeout as exc:
            raise LabError(f"the cluster is healthy but not in the lab's layout ({exc.last}), e.g. after an "
                           f"interrupted slot migration: recreate it with 'docker-compose -f {ct.COMPOSE_FILE} "
                           f"down -v' then 'up -d'") from exc
        lab = ClusterLab(backend, topo, secret, topo.valkey_version(), topo.config_node_timeout_ms(),
                         report_extra=extra)
        extra.update({"node_timeout_ms": lab.node_timeout_ms, "run_id": lab.run_id,
                      "nodes": {n: ":".join(map(str, backend.address(n))) for n in NODES}})
        yield lab
    finally:
        if lab is not None:
            lab.close()
        topo.close()
        backend.close()


__all__ = ["SCENARIOS", "open_lab", "watch", "ClusterLab", "ShardLoad", "shard_load", "ShardKeys", "SPREAD_TOLERANCE"]


# -- --watch ---------------------------------------------------------------------------------------
class ClusterWatchSource:
    """What the dashboard shows of the cluster, from the flag sampler's latest round: each node
    as it describes itself, the flags the others put on it, and the flag/epoch events."""

    def __init__(self, sampler: FlagSampler):
        self.sampler = sampler

    def roles(self) -> list[dict]:
        latest = self.sampler.rounds[-1] if self.sampler.rounds else []
        by_viewer = {s["viewer"]: s for s in latest}
        rows = []
        for node in NODES:
            own = by_viewer.get(node, {}).get("nodes", {}).get(node)
            flags = sorted({f for s in latest if s["viewer"] != node for f in s["nodes"].get(node, {}).get("flags", [])})
            if own is None:
                role, slots, epoch = "[red]down / silent[/]", "", ""
            else:
                role = "[bold]primary[/]" if own["role"] == "primary" else f"replica of {own['master']}"
                slots, epoch = own["slots"] if own["role"] == "primary" else "", str(own["config_epoch"])
            state = by_viewer.get(node, {}).get("state", "")
            rows.append({"node": node, "role": role, "slots": slots, "configEpoch": epoch,
                         "cluster_state": state or "", "others flag it": ",".join(flags) or "-"})
        return rows

    def events(self) -> list[dict]:
        return [e for e in self.sampler.events() if not e["event"].endswith("cleared") or e["event"] == "fail cleared"]


def watch(lab: ClusterLab, console) -> dict:
    """--watch: one writer per shard through the lab's cluster client, the nodes' roles, flags
    and epochs live; inject faults by hand (docker kill node-7000, kill -STOP ...); Ctrl-C reports."""
    from .watch import watch as run_watch
    policy = BackoffPolicy(base=0.05, cap=0.25, jitter=0.05, budget=lab.failover_deadline_s)
    load = shard_load(lab, lab.topology.shards(), "watch", policy)
    sampler = FlagSampler(lab.topology, lambda: NODES, interval=0.2)
    try:
        with sampler:
            report = run_watch(ClusterWatchSource(sampler), load, f"Valkey Cluster on {lab.backend_name}", console,
                               master_changes=lambda: [{"at": e["t"], "from": ct.PAIR[e["node"]], "to": e["node"]}
                                                       for e in sampler.events() if e["event"] == "promoted"],
                               commands=lambda: [lab.backend.fault_commands(n) for n in NODES])
        t0 = now() - report["watched_s"]
        report["writes_by_shard"] = {p: {s: sum(op.status == s for op in load.ops(p)) for s in ("ok", "fail", "info")}
                                     for p in load.writers}
        # Outages per shard: the other shards keep writing, so a gap only shows shard by shard.
        report["outages"] = sorted(({"shard": p, "from_s": round(g["from"] - t0, 3), "to_s": round(g["to"] - t0, 3),
                                     "seconds": g["seconds"]}
                                    for p in load.writers for g in checkers.gaps(load.ops(p), threshold=0.5)),
                                   key=lambda o: o["from_s"])
        return report
    finally:
        load.stop()
        try:  # leave no keys behind on a long-lived stack (best effort: the cluster may be broken)
            lab.client(BackoffPolicy(budget=2.0)).delete_many(load.keys())
        except Exception:  # noqa: BLE001
            pass
