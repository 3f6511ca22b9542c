"""The cluster suite: each scenario is a method (a named harness run that records a history)
and a check, a pure function of that history. The probe scenarios (topology, slot placement,
MOVED, ASK, keys per shard) record what the servers and the client said; the failover run
records client ops, the nodes' own view of flags and epochs, and the fault as nemesis ops."""
from __future__ import annotations

from typing import Optional

import redis
from redis.exceptions import ClusterCrossSlotError, MovedError, RedisClusterException

from valkey_lab.checkers import loss
from valkey_lab.clients.cluster import distribution_rows, expected_counts, key_slot, keys_in_ranges, shard_of, \
    spread_problems
from valkey_lab.cluster.lab import ClusterLab
from valkey_lab.runner.scenario import Scenario, ScenarioResult
from valkey_lab.runner.run import Act, Await, Heal, Start, StopWorkload, run
from valkey_lab.history.view import RunView
from valkey_lab.nemesis.fault import Fault
from valkey_lab.cluster import observe as cluster_events
from valkey_lab.checkers.scenario import lane_summary, unavailable_s
from valkey_lab.cluster import topology as ct
from valkey_lab.cluster.topology import LAYOUT, NODES, PRIMARIES, REPLICA_OF, format_ranges, parse_cluster_nodes
from valkey_lab.util import now

SPREAD_TOLERANCE = 0.05  # absolute share; 3000 uniform keys put each shard within ~±0.9% (1 sigma)
VICTIM, HEIR = "node-7000", "node-7003"


def _other_primary(node: str) -> str:
    return PRIMARIES[(PRIMARIES.index(node) + 1) % len(PRIMARIES)]


def _sample(items, n: int = 3) -> list:
    return list(items)[:n]


def _errorstat(lab: ClusterLab, node: str, code: str) -> int:
    return int(lab.topology.info(node, "errorstats").get(f"errorstat_{code}", {}).get("count", 0))


def _cmdstat(lab: ClusterLab, node: str, command: str) -> int:
    return int(lab.topology.info(node, "commandstats").get(f"cmdstat_{command}", {}).get("calls", 0))


def _seen(h: RunView, what: str) -> dict:
    """The one observation ``what`` a probe scenario recorded (server f="seen", node=what)."""
    found = h.server("seen", what)
    return found[-1]["value"] if found else {}


def _name_of(h: RunView):
    ports = h.settings["ports"]
    return lambda line: ports.get(str(line.port), f"{line.host}:{line.port}")


# ================================================================================== topology
def topology_method(lab: ClusterLab):
    def observe(lab: ClusterLab, facts: dict) -> None:
        rec, topo = lab.recorder, lab.topology
        for node in NODES:
            rec.server("cluster-nodes", node, topo.client(node).execute_command("CLUSTER", "NODES"))
            rec.server("cluster-info", node, topo.cluster_info(node))
            rec.server("replication", node, {"link": topo.info(node, "replication").get("master_link_status")})
    return run(lab, "topology", schedule=[Act(observe)])


def topology(h: RunView, r: ScenarioResult) -> None:
    name_of = _name_of(h)
    views = {rec["node"]: parse_cluster_nodes(rec["value"]) for rec in h.server("cluster-nodes")}
    lines = views.get("node-7000", [])
    problems = ct.layout_problems(lines, name_of)
    summary = "; ".join(f"{p} {format_ranges([LAYOUT[p]])} + {rep}" for rep, p in REPLICA_OF.items())
    r.check("3 primaries with the deterministic slot ranges, each with exactly its replica "
            "(7003→7000, 7004→7001, 7005→7002)", bool(lines) and not problems, problems or summary)
    owned = [rg for n in lines for rg in n.slots]
    r.check("16384 slots covered, each by exactly one primary",
            ct.slot_count(ct.merge_ranges(owned)) == ct.SLOTS == ct.slot_count(owned),
            f"{ct.slot_count(ct.merge_ranges(owned))} distinct, {ct.slot_count(owned)} counted")
    signatures = {n: ct.view_signature(v) for n, v in views.items()}
    differ = [n for n, s in signatures.items() if s != signatures.get("node-7000")]
    r.check("every node holds the same map: slots, roles, config epochs (CLUSTER NODES agree)",
            len(views) == 6 and not differ, differ or "6 of 6 agree")
    infos = {rec["node"]: rec["value"] for rec in h.server("cluster-info")}
    states = {n: i.get("cluster_state") for n, i in infos.items()}
    r.check("cluster_state:ok on every node", len(states) == 6 and set(states.values()) == {"ok"}, states)
    known = {n: int(i.get("cluster_known_nodes", 0)) for n, i in infos.items()}
    r.check("every node knows all 6 nodes", set(known.values()) == {6}, known)
    links = {rec["node"]: rec["value"]["link"] for rec in h.server("replication") if rec["node"] in REPLICA_OF}
    r.check("every replica's link to its primary is up", len(links) == 3 and set(links.values()) == {"up"}, links)
    by_id = {n.id: n for n in lines}
    r.details["nodes"] = [{"node": name_of(line), "id": line.id[:8], "address": f"{line.host}:{line.port}",
                           "role": line.role, "slots": format_ranges(line.slots),
                           "replica_of": name_of(by_id[line.master_id]) if line.master_id in by_id else "-",
                           "link": ",".join(f for f in line.flags if f in cluster_events.FLAGS)
                           or ("ok" if line.link == "connected" else line.link)
                           + (f"/{links[name_of(line)]}" if name_of(line) in links else "")}
                          for line in sorted(lines, key=name_of)]
    r.metrics.update({"primaries": sum(1 for n in lines if n.role == "primary"),
                      "replicas": sum(1 for n in lines if n.role == "replica"),
                      "slots_covered": ct.slot_count(ct.merge_ranges(owned)),
                      "current_epoch": int(infos.get("node-7000", {}).get("cluster_current_epoch", 0)),
                      "node_timeout_ms": int(h.settings["node_timeout_s"] * 1000)})


# ============================================================================ slot placement
def slot_placement_method(lab: ClusterLab):
    def script(lab: ClusterLab, facts: dict) -> None:
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
    return run(lab, "slot_placement", schedule=[Act(script)])


def slot_placement(h: RunView, r: ScenarioResult) -> None:
    seen = _seen(h, "placement")
    values, server = seen["values"], seen["server_slots"]
    keys = list(values)
    shards = [{**s, "ranges": [tuple(x) for x in s["ranges"]]} for s in seen["shards"]]
    mismatched = [k for k in keys if key_slot(k) != server[k]]
    r.check("CLUSTER KEYSLOT equals the client's CRC16 slot for every key", not mismatched,
            f"{len(keys)} keys, {len(set(server[k] for k in keys))} distinct slots, {len(mismatched)} mismatches "
            f"{_sample(mismatched)}")
    owner_of = {k: shard_of(server[k], shards) for k in keys}
    misplaced = [k for k in keys if seen["direct_reads"].get(k) != [owner_of[k], values[k]]]
    r.check("every key is stored on the primary that owns its slot (read on that node directly)", not misplaced,
            f"{len(keys) - len(misplaced)} of {len(keys)}; wrong: {_sample(misplaced)}")
    misrouted = [k for k in keys if seen["client_routes"][k] != owner_of[k]]
    r.check("the client routes every key to that primary (its slot map matches the servers')", not misrouted,
            f"{len(misrouted)} misrouted {_sample(misrouted)}")
    by_owner: dict[str, int] = {}
    for k in keys:
        by_owner[owner_of[k]] = by_owner.get(owner_of[k], 0) + 1
    r.check("keys land on all 3 primaries", sorted(by_owner) == PRIMARIES, dict(sorted(by_owner.items())))
    tagged = seen["tagged"]
    slots = {key_slot(k) for k in tagged} | {server[k] for k in tagged}
    r.check("hash-tagged keys share one slot (client and server agree)", len(slots) == 1,
            f"{list(tagged)} -> slot {sorted(slots)}")
    r.check("a multi-key command on them works (MSET then MGET)", seen["mget"] == list(tagged.values()), seen["mget"])
    cross = seen["cross"]
    r.check("a cross-slot MSET sent to a node fails with CROSSSLOT",
            bool(cross["server_error"]) and cross["server_error"].startswith("CROSSSLOT"),
            f"slots {key_slot(cross['a'])} and {key_slot(cross['b'])}: {cross['server_error'] or 'accepted!'}")
    r.check("the cluster client refuses it too, with a clear error, and nothing is written",
            bool(cross["client_error"]) and cross["written"] == 0,
            f"{cross['client_error'] or 'accepted!'}; keys written: {cross['written']}")
    r.metrics.update({"keys": len(keys), "distinct_slots": len(set(server[k] for k in keys)),
                      "keys_per_primary": dict(sorted(by_owner.items())), "redirects_seen": seen["redirects"]})


# ===================================================================================== MOVED
def moved_method(lab: ClusterLab):
    def script(lab: ClusterLab, facts: dict) -> None:
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
    return run(lab, "moved_redirect", schedule=[Act(script)])


def moved_redirect(h: RunView, r: ScenarioResult) -> None:
    d = _seen(h, "moved-direct")
    m = d.get("moved")
    r.check("a plain connection to the wrong node gets MOVED naming the key's slot and owner",
            m is not None and m["slot"] == d["slot"] and m["node"] == d["owner"],
            f"{d['wrong']} said MOVED {m['slot']} {m['host']}:{m['port']} (= {m['node']}); slot {d['slot']} is "
            f"{d['owner']}'s" if m else f"{d['wrong']} answered without MOVED")
    r.check("the wrong node counted it (errorstat_MOVED +1)", d["errorstat_delta"] >= 1, d["errorstat_delta"])
    r.check("the cluster client gets the same key right, straight from its owner (0 redirects)",
            d["client_value"] == "v1" and d["client_moved"] == 0,
            f"{d['client_value']!r}, MOVED seen {d['client_moved']}")
    s = _seen(h, "moved-reshard")
    values = s["values"]
    right = sum(s["got"][k] == v for k, v in values.items())
    r.check(f"after slot {s['slot']} moved {s['src']}→{s['dst']}, a client holding the old map is redirected "
            "(MOVED > 0) and reads every key right",
            s["held_before"] == s["src"] and s["moved_seen"] > 0 and right == len(values),
            f"map said {s['held_before']}; MOVED seen {s['moved_seen']}; {right}/{len(values)} keys right")
    r.check("the servers saw it too (errorstat_MOVED on the old owner)", s["errorstat_delta"] >= 1,
            s["errorstat_delta"])
    r.check("the client's slot map now names the new owner", s["map_now"] == s["dst"], s["map_now"])
    back = sum(s["got_back"][k] == v for k, v in values.items())
    r.check("moved back: the client follows again, no key lost, the layout restored",
            back == len(values) and s["moved_total"] > s["moved_seen"] and not s["layout_problems"],
            f"{back}/{len(values)} keys right; MOVED total {s['moved_total']}; "
            f"layout: {s['layout_problems'] or 'restored'}")
    # The client's own record of the redirects it read agrees with its count.
    events = [e for e in h.client_events("redirect") if e["value"].get("lane") == "stale-map"]
    r.check("every MOVED the client counted is in the history as a redirect event",
            sum(e["value"]["redirect"] == "MOVED" for e in events) == s["moved_total"],
            {"events": len(events), "counted": s["moved_total"]})
    r.metrics.update({"slot": s["slot"], "keys_moved": s["keys_moved"], "move_s": s["move_s"],
                      "moved_seen_by_client": s["moved_total"]})
    r.details["redirects"] = s["redirects"]


# ======================================================================================= ASK
def ask_method(lab: ClusterLab):
    def script(lab: ClusterLab, facts: dict) -> None:
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
    return run(lab, "ask_redirect", schedule=[Act(script)])


def ask_redirect(h: RunView, r: ScenarioResult) -> None:
    s = _seen(h, "ask")
    keys, v1 = s["keys"], s["v1"]
    on_src, on_dst = set(s["on_src"]), set(s["on_dst"])
    r.check(f"slot {s['slot']} half moved {s['src']}→{s['dst']} (IMPORTING/MIGRATING + MIGRATE): every key on "
            "exactly one side", len(s["half"]) == len(keys) // 2 and not (on_src & on_dst)
            and on_src | on_dst == set(keys), f"{len(on_src)} on {s['src']}, {len(on_dst)} on {s['dst']}, "
                                              f"{len(on_src & on_dst)} on both")
    right = sum(s["reads_half"][k] == v for k, v in v1.items())
    r.check("reads through the cluster client while the slot is half moved return every value",
            right == len(v1), f"{right}/{len(v1)}")
    v2 = s["v2"]
    right2 = sum(s["reads_v2"][k] == v for k, v in v2.items())
    r.check("writes through the cluster client (existing and new keys) succeed and read back",
            right2 == len(v2), f"{right2}/{len(v2)}")
    created = set(s["new_keys"]) & set(s["on_dst_after"])
    r.check("new keys were created on the target (the source sent them on with ASK)",
            created == set(s["new_keys"]), f"{len(created)}/{len(s['new_keys'])} on {s['dst']}")
    asks = s["ask_client"]
    r.check("the client really was redirected: ASK replies read by its connections > 0", asks > 0,
            f"ASK {asks}, MOVED {s['moved_client']}")
    r.check("the servers agree: the source replied ASK (errorstat_ASK), the target got ASKING (cmdstat_asking)",
            s["errorstat_ask"] > 0 and s["cmdstat_asking"] > 0 and s["errorstat_ask"] >= asks,
            f"errorstat_ASK +{s['errorstat_ask']} on {s['src']}, cmdstat_asking +{s['cmdstat_asking']} on {s['dst']}")
    expected, final = s["expected"], s["final"]
    good = sum(final.get(k) == v for k, v in expected.items())
    r.check("after moving the slot back: no key lost or duplicated, values intact",
            good == len(expected) and set(s["in_slot_src"]) == set(expected) and s["count_dst"] == 0,
            f"{len(s['in_slot_src'])} keys in slot {s['slot']} on {s['src']} (expected {len(expected)}), "
            f"{s['count_dst']} on {s['dst']}, {good} values right")
    r.check("the layout is restored and healthy", not s["layout_problems"], s["layout_problems"] or
            "deterministic layout")
    r.metrics.update({"slot": s["slot"], "ask_seen_by_client": asks, "server_errorstat_ask": s["errorstat_ask"],
                      "server_cmdstat_asking": s["cmdstat_asking"], "keys_moved_while_half": len(s["half"]),
                      "keys_moved_after": s["rest"], "migrate_and_back_s": s["migrate_and_back_s"]})


# ======================================================================== keys per shard
def distribution_method(lab: ClusterLab):
    def script(lab: ClusterLab, facts: dict) -> None:
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
    return run(lab, "shard_distribution", schedule=[Act(script)])


def shard_distribution(h: RunView, r: ScenarioResult) -> None:
    s = _seen(h, "distribution")
    shards = [{**x, "ranges": [tuple(y) for y in x["ranges"]]} for x in s["shards"]]
    r.check("WAIT 1: each shard's replica acknowledged the writes", set(s["acks"].values()) == {1}, s["acks"])
    counts = s["counts"]
    rows = distribution_rows(shards, counts, s["replica_counts"])
    for row in rows:
        row["dbsize"] = s["dbsize"].get(row["primary"])
        row["replica_dbsize"] = s["dbsize"].get(row["replica"]) if row["replica"] != "-" else None
    r.details["shards"] = rows
    expected = expected_counts(s["keys"], shards)
    r.check("each shard holds exactly the keys CRC16 assigns to its slots",
            all(counts[p] == expected[p] for p in counts) and sum(counts.values()) == len(s["keys"]),
            {p: f"{counts[p]} (expected {expected[p]})" for p in counts})
    problems = spread_problems(rows, SPREAD_TOLERANCE)
    deviation = max(abs(row["share"] - row["expected_share"]) for row in rows)
    r.check(f"every shard holds keys, each share within ±{SPREAD_TOLERANCE:.0%} of its slot share", not problems,
            problems or f"max deviation {deviation:.2%}")
    unequal = [row for row in rows if row["replica_keys"] != row["keys"] or row["replica_dbsize"] != row["dbsize"]]
    r.check("each replica's key count equals its primary's (after WAIT)", not unequal,
            [f"{row['primary']} {row['keys']}/{row['dbsize']} vs {row['replica']} "
             f"{row['replica_keys']}/{row['replica_dbsize']}" for row in (unequal or rows)])
    r.metrics.update({"keys": len(s["keys"]), "keys_per_shard": counts, "max_share_deviation": round(deviation, 4),
                      "tolerance": SPREAD_TOLERANCE})


# ====================================================================== the failover run
def judge_failover(h: RunView, r: ScenarioResult, n: int = 0, label: str = "", victim: str = VICTIM,
                   coordinated: bool = False, wait_replicas: int = 1, check_loss: bool = True,
                   prefix: str = "") -> dict:
    """What every failover of node-7000's shard must show, from the history: the survivors
    flagged it fail and promoted its replica with a higher configEpoch (or, coordinated, the
    replica took over at once), the shard's writes came back within a physical bound, the
    other shards never noticed, no WAIT-acknowledged write was lost, epochs only went up."""
    heir = h.settings["pair"][victim]
    t = h.t_fault(n)
    nxt = h.t_fault(n + 1)
    samples = cluster_events.samples_of(h.records)
    timeline = cluster_events.relative(cluster_events.events(samples), t)
    window = [e for e in timeline if e["t_s"] >= -0.5 and (nxt is None or e["t_s"] <= nxt - t)]
    pfail = next((e for e in window if e["event"] == "fail?" and e["node"] == victim), None)
    fail = next((e for e in window if e["event"] == "fail" and e["node"] == victim), None)
    promo = next((e for e in window if e["event"] == "promoted" and e["node"] == heir), None)
    before = max((v["config_epoch"] for s in samples if s["t"] < t for v in s["nodes"].values()), default=0)
    after = next((s["nodes"][heir]["config_epoch"] for s in reversed(samples) if heir in s["nodes"]
                  and (nxt is None or s["t"] < nxt)), None)
    nt = h.settings["node_timeout_s"]
    if coordinated:
        r.check(f"{label}{heir} was promoted with a configEpoch above every earlier one (sampled CLUSTER NODES)",
                promo is not None and after is not None and after > before,
                {"promoted_s": promo and promo["t_s"], "config_epoch": f"max {before} before, {heir} {after} after"})
    else:
        r.check(f"{label}the survivors flagged {victim} fail, then {heir} was promoted with a configEpoch above "
                "every earlier one (sampled CLUSTER NODES)",
                fail is not None and promo is not None and fail["t_s"] <= promo["t_s"]
                and after is not None and after > before,
                {"fail_s": fail and fail["t_s"], "promoted_s": promo and promo["t_s"],
                 "config_epoch": f"max {before} before, {heir} {after} after"})
    gap = unavailable_s(h, t, victim)
    if coordinated:
        r.check(f"{label}the switch cost less than node-timeout ({nt:.0f}s): no failure detection needed",
                gap is not None and gap < nt, gap, expected=f"< {nt}")
    else:
        r.check(f"{label}writes to {victim}'s slots resumed within 4 x node-timeout ({4 * nt:.0f}s)",
                gap is not None and gap <= 4 * nt, gap, expected=f"<= {4 * nt}")
        r.check(f"{label}no write to those slots succeeded before the failure could be detected "
                f"(unavailable_s >= node-timeout {nt:.0f}s)", gap is not None and gap >= nt, gap, expected=f">= {nt}")
    others = [p for p in PRIMARIES if p != victim and h.lane(p)]
    refusals = set(h.settings["refusals"])
    rows, bad = {}, False
    for p in others:
        ops = [op for op in h.lane(p) if nxt is None or op.t_invoke < nxt]
        summary = lane_summary(h, p)
        refused = sorted({e["value"]["error"] for e in h.client_events("retry") if e["value"].get("lane") == p
                          and e["value"]["error"] in refusals})
        # A retrying client hides refusals behind eventual success, so they count as failures.
        bad |= bool(summary["fail"] or summary["info"] or refused or summary["slowest_s"] >= nt or not ops)
        rows[p] = {**summary, "refused": refused}
    r.check(f"{label}writes to the other shards never failed, were never refused (no CLUSTERDOWN) nor stalled",
            bool(others) and not bad, rows)
    records = h.client_records((victim,))
    waited = loss.write_loss(records, lane=victim, min_replicated=wait_replicas)
    plain = loss.write_loss(records, lane=victim)
    if check_loss:  # (not when the shard is lost later in the run: its final reads find it empty)
        r.check(f"{label}no write acknowledged by the replica (WAIT {wait_replicas}) was lost", waited["lost"] == 0,
                {k: waited[k] for k in ("acknowledged", "lost", "lost_keys", "unread")}, expected="lost 0")
    if check_loss and promo is not None:  # the old primary is gone: the new one took every later write
        t_promo = t + promo["t_s"]
        late = [op for op in h.lane(victim) if op.f == "write" and op.ok and op.t_invoke >= t_promo
                and (nxt is None or op.t_invoke < nxt)]
        gone = [op.key for op in late if h.final.get(op.key) != op.value]
        r.check(f"{label}no write sent after the promotion and acknowledged was lost (the new primary took it)",
                not gone, {"acknowledged_after_promotion": len(late), "lost": len(gone), "examples": gone[:3]},
                expected="lost 0")
    rest = loss.write_loss(h.client_records(tuple(others)))
    r.check(f"{label}no write reported failed was applied, and every write to the other shards is readable",
            plain["fail_applied"] == 0 and rest["lost"] == 0 and rest["fail_applied"] == 0,
            {"fail_applied": plain["fail_applied"] + rest["fail_applied"], "other_shards_lost": rest["lost"]})
    regressions = cluster_events.epoch_regressions(samples)
    r.check(f"{label}epochs only went up (currentEpoch and every configEpoch, per node's view)", not regressions,
            regressions[:3] or f"{len(samples)} samples")
    redirects = [e for e in h.client_events("redirect") if e["value"].get("lane") == victim]
    r.metrics.update({f"{prefix}unavailable_s": gap, f"{prefix}promotion_s": promo and promo["t_s"],
                      f"{prefix}node_timeout_ms": int(nt * 1000),
                      f"{prefix}pfail_s": pfail and pfail["t_s"], f"{prefix}fail_s": fail and fail["t_s"],
                      f"{prefix}wait_acked_unavailable_s": unavailable_s(h, t, victim, min_replicated=1),
                      f"{prefix}writes": {p: lane_summary(h, p) for p in PRIMARIES if h.lane(p)},
                      f"{prefix}acked_writes_lost": plain["lost"], f"{prefix}wait_{wait_replicas}_writes_lost":
                          waited["lost"], f"{prefix}info_writes": plain["unknown"],
                      f"{prefix}retries_on_dead_shard": sum(1 for e in h.client_events("retry")
                                                           if e["value"].get("lane") == victim),
                      f"{prefix}moved_on_dead_shard": sum(e["value"]["redirect"] == "MOVED" for e in redirects)})
    r.details[f"{prefix}timeline"] = window
    fault = h.fault(n) or {"f": "?", "params": {}}
    how = {"kill": "SIGKILL", "pause": "SIGSTOP"}.get(fault["f"], fault["f"])
    if fault["params"].get("backend") == "docker":
        how = {"kill": "docker kill", "pause": "docker pause"}.get(fault["f"], fault["f"])
    r.details[f"{prefix}fault"] = f"{victim} ({how})"
    return {"unavailable_s": gap, "promotion": promo, "plain": plain}


def failover_method(lab: ClusterLab):
    """Kill node-7000 under writes on every shard (its shard with WAIT 1); wait for node-7003
    to take its slots and for writes there to resume; restart node-7000 and wait for it to
    rejoin as node-7003's replica; probe the shard with WAIT 1; the layout is restored last."""
    return run(lab, "primary_failover", workload=lab.shard_workload({VICTIM: 1}),
               observers=lab.observers(), schedule=[
        Start(Fault("kill", VICTIM)), Await("promoted"), Await("shard-resumed", params={"count": 20}),
        StopWorkload(), Heal(), Await("rejoined"), Act("probe", {"shard": VICTIM}),
        Act("rejoin-state", {"node": VICTIM})])


def primary_failover(h: RunView, r: ScenarioResult) -> None:
    judge_failover(h, r)


def rejoin_s(h: RunView, node: str, primary: str, since: float) -> Optional[float]:
    """Seconds from ``since`` until ``node`` itself (its own sampled view) said it is a replica
    of ``primary`` (the others may list a failed old primary under its heir long before)."""
    for s in cluster_events.samples_of(h.records):
        v = s["nodes"].get(node)
        if s["t"] >= since and s["viewer"] == node and v and v["role"] == "replica" and v["master"] == primary:
            return round(s["t"] - since, 3)
    return None


def rejoin(h: RunView, r: ScenarioResult) -> None:
    heal = h.heal()
    since = heal["time"] if heal else 0.0
    probe = (h.lane("probe") or [None])[-1]
    r.check(f"{VICTIM} acknowledges writes as {HEIR}'s replica again (WAIT 1 after the rejoin)",
            probe is not None and probe.replicated == 1, probe and probe.replicated, expected=1)
    state = {rec["node"]: rec["value"] for rec in h.server("replication")}
    old, new = state.get(VICTIM, {}), state.get(HEIR, {})
    r.check(f"{VICTIM} is in sync: same key count and offset as {HEIR}",
            bool(old) and old.get("role") == "slave" and old.get("dbsize") == new.get("dbsize")
            and old.get("offset") == new.get("offset"), {VICTIM: old, HEIR: new})
    last = {}
    for s in cluster_events.samples_of(h.records):
        last[s["viewer"]] = s
    states = {v: s["state"] for v, s in last.items()}
    r.check("every node's last sampled view says cluster_state:ok", len(states) == 6 and set(states.values()) == {"ok"},
            states)
    layout = (h.server("layout") or [{"value": {"problems": ["no restore recorded"]}}])[-1]["value"]
    r.check("layout restored with CLUSTER FAILOVER on node-7000", not layout["problems"],
            layout["problems"] or layout.get("done"))
    r.metrics.update({"rejoin_s": rejoin_s(h, VICTIM, HEIR, since), "restore_s": layout.get("seconds")})


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

__all__ = ["SCENARIOS", "METHODS", "judge_failover", "rejoin_s", "VICTIM", "HEIR"]
