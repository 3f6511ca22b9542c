"""The cluster suite: each scenario is a method (a named harness run that records a history)
and a check, a pure function of that history. The probe scenarios (topology, slot placement,
MOVED, ASK, keys per shard) record what the servers and the client said; the failover run
records client ops, the nodes' own view of flags and epochs, and the fault as nemesis ops."""
from __future__ import annotations

from valkey_lab.cluster.checks import (HEIR, VICTIM, ask_redirect, moved_redirect, primary_failover, rejoin,
                                       shard_distribution, slot_placement, topology)

import redis
from redis.exceptions import ClusterCrossSlotError, MovedError, RedisClusterException

from valkey_lab.clients.cluster import key_slot, keys_in_ranges, shard_of
from valkey_lab.cluster.lab import ClusterLab, Probe, Promoted, Rejoined, RejoinState, ShardResumed
from valkey_lab.runner.scenario import Scenario
from valkey_lab.runner.run import Heal, RunState, Script, Start, StopWorkload, run
from valkey_lab.nemesis.fault import Fault
from valkey_lab.cluster.topology import NODES, PRIMARIES
from valkey_lab.util import now


def _other_primary(node: str) -> str:
    return PRIMARIES[(PRIMARIES.index(node) + 1) % len(PRIMARIES)]


def _errorstat(lab: ClusterLab, node: str, code: str) -> int:
    return int(lab.topology.info(node, "errorstats").get(f"errorstat_{code}", {}).get("count", 0))


def _cmdstat(lab: ClusterLab, node: str, command: str) -> int:
    return int(lab.topology.info(node, "commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


# ================================================================================== topology
def topology_method(lab: ClusterLab):
    def observe(lab: ClusterLab, state: RunState) -> None:
        rec, topo = lab.recorder, lab.topology
        for node in NODES:
            rec.server("cluster-nodes", node, topo.client(node).execute_command("CLUSTER", "NODES"))
            rec.server("cluster-info", node, topo.cluster_info(node))
            rec.server("replication", node, {"link": topo.info(node, "replication").get("master_link_status")})
    return run(lab, "topology", schedule=[Script(observe)])


# ============================================================================ slot placement
def slot_placement_method(lab: ClusterLab):
    def script(lab: ClusterLab, state: RunState) -> None:
        rec, topo, client = lab.recorder, lab.topology, lab.client()
        keys = [lab.key("place", str(i)) for i in range(1200)]
        values = {k: f"v{i}" for i, k in enumerate(keys)}
        tagged = {lab.key(f"{{user-{lab.run_id}}}", f): f"{f}-value" for f in ("name", "email", "visits")}
        try:
            pipe = topo.client("node-7001").pipeline(transaction=False)
            for k in list(keys) + list(tagged):
                pipe.execute_command("CLUSTER", "KEYSLOT", k)
            server = dict(zip(list(keys) + list(tagged), map(int, pipe.execute())))
            client.set_many(values)
            shards = topo.shards()
            direct = {}
            for s in shards:  # read each key on the node that owns its slot: no redirect possible
                ks = [k for k in keys if shard_of(server[k], shards) == s["primary"]]
                pipe = topo.client(s["primary"]).pipeline(transaction=False)
                for k in ks:
                    pipe.get(k)
                direct.update({k: (s["primary"], v if not isinstance(v, Exception) else f"error: {v}")
                               for k, v in zip(ks, pipe.execute(raise_on_error=False))})
            flat = [x for kv in tagged.items() for x in kv]
            client.call(lambda rc: rc.execute_command("MSET", *flat), idempotent=True)
            got = client.call(lambda rc: rc.execute_command("MGET", *tagged), idempotent=True)
            a = lab.key("cross", "a")
            b = next(k for k in (lab.key("cross", f"b{i}") for i in range(100)) if key_slot(k) != key_slot(a))
            try:
                topo.client(shard_of(key_slot(a), shards)).execute_command("MSET", a, "1", b, "2")
                server_error = None
            except ClusterCrossSlotError as exc:
                server_error = f"CROSSSLOT {exc}"
            except redis.ResponseError as exc:
                server_error = f"other error: {exc}"
            try:
                client.call(lambda rc: rc.execute_command("MSET", a, "1", b, "2"), idempotent=True)
                client_error = None
            except (RedisClusterException, redis.ResponseError) as exc:
                client_error = f"{type(exc).__name__}: {exc}"
            written = client.call(lambda rc: rc.exists(a), idempotent=True) + client.call(lambda rc: rc.exists(b),
                                                                                        idempotent=True)
            rec.server("seen", "placement", {
                "values": values, "server_slots": server, "shards": [{**s, "ranges": [list(x) for x in s["ranges"]]}
                                                                     for s in shards],
                "direct_reads": direct, "client_routes": {k: topo.name_at(*client.node_of(k)) for k in keys},
                "tagged": tagged, "mget": got, "cross": {"a": a, "b": b, "server_error": server_error,
                                                         "client_error": client_error, "written": written},
                "redirects": dict(client.redirects)})
        finally:
            client.delete_many(keys + list(tagged))
    return run(lab, "slot_placement", schedule=[Script(script)])


# ===================================================================================== MOVED
def moved_method(lab: ClusterLab):
    def script(lab: ClusterLab, state: RunState) -> None:
        rec, topo = lab.recorder, lab.topology
        key = lab.key("moved")
        slot = key_slot(key)
        owner = topo.owner_of(slot)
        wrong = _other_primary(owner)
        client = lab.client(record=False)
        client.set(key, "v1")
        before = _errorstat(lab, wrong, "MOVED")
        try:
            topo.client(wrong).get(key)
            moved = None
        except MovedError as exc:
            moved = {"slot": exc.slot_id, "host": exc.host, "port": exc.port, "node": topo.name_at(exc.host, exc.port)}
        direct = {"key": key, "slot": slot, "owner": owner, "wrong": wrong, "moved": moved,
                  "errorstat_delta": _errorstat(lab, wrong, "MOVED") - before,
                  "client_value": client.get(key), "client_moved": client.redirects["MOVED"]}
        rec.server("seen", "moved-direct", direct)
        # Reshard under a client that holds the old map.
        keys = [lab.key(f"{{mv-{lab.run_id}}}", str(i)) for i in range(20)]
        values = {k: f"m{i}" for i, k in enumerate(keys)}
        slot2 = key_slot(keys[0])
        src = topo.owner_of(slot2)
        dst = _other_primary(src)
        stale = lab.client(lane="stale-map")
        stale.set_many(values)
        held_before = topo.name_at(*stale.node_of(keys[0]))
        seen = {"slot": slot2, "src": src, "dst": dst, "values": values, "held_before": held_before}
        try:
            start = now()
            seen["keys_moved"] = len(topo.move_slot(slot2, src, dst))
            seen["move_s"] = round(now() - start, 3)
            server_before = _errorstat(lab, src, "MOVED")
            seen["got"] = {k: stale.get(k) for k in keys}
            seen["moved_seen"] = stale.redirects["MOVED"]
            seen["errorstat_delta"] = _errorstat(lab, src, "MOVED") - server_before
            seen["map_now"] = topo.name_at(*stale.node_of(keys[0]))
        finally:
            if topo.owner_of(slot2) != src:
                topo.move_slot(slot2, topo.owner_of(slot2), src)
        seen["got_back"] = {k: stale.get(k) for k in keys}
        seen["moved_total"] = stale.redirects["MOVED"]
        seen["layout_problems"] = topo.layout_problems() + topo.health()
        seen["redirects"] = [{k: v for k, v in e.items() if k != "at"} for e in stale.redirect_events]
        rec.server("seen", "moved-reshard", seen)
        stale.delete_many(keys + [key])
    return run(lab, "moved_redirect", schedule=[Script(script)])


# ======================================================================================= ASK
def ask_method(lab: ClusterLab):
    def script(lab: ClusterLab, state: RunState) -> None:
        rec, topo = lab.recorder, lab.topology
        tag = f"ask-{lab.run_id}"
        keys = [lab.key(f"{{{tag}}}", str(i)) for i in range(40)]
        new_keys = [lab.key(f"{{{tag}}}", "new", str(i)) for i in range(10)]
        slot = key_slot(keys[0])
        src = topo.owner_of(slot)
        dst = _other_primary(src)
        client = lab.client(lane="ask")
        v1 = {k: f"a{i}" for i, k in enumerate(keys)}
        client.set_many(v1)
        ask_before, asking_before = _errorstat(lab, src, "ASK"), _cmdstat(lab, dst, "asking")
        seen: dict = {"slot": slot, "src": src, "dst": dst, "keys": keys, "new_keys": new_keys, "v1": v1}
        expected = dict(v1)
        migrating = False
        start = now()
        try:
            topo.begin_migration(slot, src, dst)
            migrating = True
            seen["half"] = topo.migrate_keys(slot, src, dst, limit=len(keys) // 2)
            seen["on_src"], seen["on_dst"] = topo.keys_in_slot(src, slot), topo.keys_in_slot(dst, slot)
            seen["reads_half"] = {k: client.get(k) for k in keys}
            v2 = {k: f"b{i}" for i, k in enumerate(keys)}
            v2.update({k: f"n{i}" for i, k in enumerate(new_keys)})
            for k, v in v2.items():
                client.set(k, v)
            expected = dict(v2)
            seen["v2"] = v2
            seen["reads_v2"] = {k: client.get(k) for k in v2}
            seen["on_dst_after"] = topo.keys_in_slot(dst, slot)
            seen["ask_client"] = client.redirects["ASK"]
            seen["moved_client"] = client.redirects["MOVED"]
            seen["errorstat_ask"] = _errorstat(lab, src, "ASK") - ask_before
            seen["cmdstat_asking"] = _cmdstat(lab, dst, "asking") - asking_before
            seen["rest"] = len(topo.migrate_keys(slot, src, dst))
            topo.finish_migration(slot, src, dst)
            migrating = False
            topo.wait_owner(slot, dst, 20.0)
        finally:
            if migrating:  # something broke mid-way: finish the move so it can be undone below
                topo.migrate_keys(slot, src, dst)
                topo.finish_migration(slot, src, dst)
                topo.wait_owner(slot, dst, 20.0)
            if topo.owner_of(slot) != src:
                topo.move_slot(slot, topo.owner_of(slot), src)
        seen["migrate_and_back_s"] = round(now() - start, 3)
        seen["expected"] = expected
        seen["final"] = client.get_many(list(expected))
        seen["in_slot_src"] = topo.keys_in_slot(src, slot)
        seen["count_dst"] = topo.count_in_slot(dst, slot)
        seen["layout_problems"] = topo.layout_problems() + topo.health()
        rec.server("seen", "ask", seen)
        client.delete_many(list(expected))
    return run(lab, "ask_redirect", schedule=[Script(script)])


# ======================================================================== keys per shard
def distribution_method(lab: ClusterLab):
    def script(lab: ClusterLab, state: RunState) -> None:
        rec, topo, client = lab.recorder, lab.topology, lab.client()
        keys = [lab.key("dist", str(i)) for i in range(3000)]
        markers: list[str] = []
        try:
            client.set_many({k: "x" for k in keys})
            shards = topo.shards()
            # WAIT on a write made after the bulk: replication is ordered, so one acknowledged
            # marker per shard means its replica has every earlier key too.
            acks = {}
            for shard in shards:
                marker = keys_in_ranges(lab.key("mark"), shard["ranges"], 1)[0]
                markers.append(marker)
                acks[shard["primary"]] = client.set_acked(marker, "m", replicas=1, timeout_ms=5000)
            pattern = lab.key("dist") + ":*"
            count = lambda node: sum(1 for _ in topo.client(node).scan_iter(match=pattern, count=1000))  # noqa: E731
            rec.server("seen", "distribution", {
                "keys": keys, "shards": [{**s, "ranges": [list(x) for x in s["ranges"]]} for s in shards],
                "acks": acks, "counts": {s["primary"]: count(s["primary"]) for s in shards},
                "replica_counts": {rep: count(rep) for s in shards for rep in s["replicas"]},
                "dbsize": {n: topo.client(n).dbsize() for s in shards for n in [s["primary"], *s["replicas"]]}})
        finally:
            client.delete_many(keys + markers)
    return run(lab, "shard_distribution", schedule=[Script(script)])


# ====================================================================== the failover run


def failover_method(lab: ClusterLab):
    """Kill node-7000 under writes on every shard (its shard with WAIT 1); wait for node-7003
    to take its slots and for writes there to resume; restart node-7000 and wait for it to
    rejoin as node-7003's replica; probe the shard with WAIT 1; the layout is restored last.
    A counter lane on node-7001's shard (untouched by the kill) lets the history be judged for
    INCRs applied twice."""
    return run(lab, "primary_failover", workload=lab.shard_workload({VICTIM: 1}, extra=(lab.counter(),)),
               observers=lab.observers(), schedule=[
        Start(Fault("kill", VICTIM)), Promoted(), ShardResumed(count=20), StopWorkload(), Heal(), Rejoined(),
        Probe(shard=VICTIM), RejoinState(node=VICTIM)])


METHODS = {"topology": topology_method, "slot_placement": slot_placement_method, "moved_redirect": moved_method,
           "ask_redirect": ask_method, "shard_distribution": distribution_method, "primary_failover": failover_method}

SCENARIOS = [
    Scenario("topology", "table of nodes; 3 primaries with the deterministic replicas, 16384 slots", "topology",
             topology),
    Scenario("slot_placement", "1200 keys: KEYSLOT = CRC16, stored on the slot's owner; hash tags; CROSSSLOT",
             "slot_placement", slot_placement),
    Scenario("moved_redirect", "MOVED from the wrong node; a client with an old map follows it", "moved_redirect",
             moved_redirect),
    Scenario("ask_redirect", "live slot migration: reads/writes through ASK; nothing lost; moved back",
             "ask_redirect", ask_redirect),
    Scenario("shard_distribution", "keys per shard table; replicas equal after WAIT", "shard_distribution",
             shard_distribution),
    Scenario("primary_failover", "kill node-7000 under writes; node-7003 promoted; unavailable_s",
             "primary_failover", primary_failover),
    Scenario("rejoin", "node-7000 back as replica of node-7003, in sync; layout restored", "primary_failover",
             rejoin, needs=("primary_failover",)),
]

__all__ = ["SCENARIOS", "METHODS", "VICTIM", "HEIR"]
