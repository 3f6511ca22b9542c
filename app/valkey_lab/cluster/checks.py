"""The cluster judgements: pure functions of a run's history (no server, no clock).
Each scenario of cluster/scenarios.py and cluster/faults.py is judged by the checks here."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from valkey_lab.checkers import loss
from valkey_lab.checkers import invariants
from valkey_lab.checkers.scenario import lane_summary, linearizable_report, unavailable_s
from valkey_lab.clients.cluster import distribution_rows, expected_counts, key_slot, shard_of, spread_problems
from valkey_lab.cluster import observe as cluster_events
from valkey_lab.cluster import topology as ct
from valkey_lab.cluster.topology import LAYOUT, NODES, PRIMARIES, REPLICA_OF, format_ranges, parse_cluster_nodes
from valkey_lab.history.view import RunView
from valkey_lab.checkers.verdict import Judgement as ScenarioResult, Verdict, unknown, verdict


SPREAD_TOLERANCE = 0.05  # absolute share; 3000 uniform keys put each shard within ~±0.9% (1 sigma)


VICTIM, HEIR = "node-7000", "node-7003"


def _sample(items, n: int = 3) -> list:
    return list(items)[:n]


def _seen(h: RunView, what: str) -> dict:
    """The one observation ``what`` a probe scenario recorded (server f="seen", node=what)."""
    found = h.server("seen", what)
    return found[-1]["value"] if found else {}


def _name_of(h: RunView):
    ports = h.settings["ports"]
    return lambda line: ports.get(str(line.port), f"{line.host}:{line.port}")


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
    r.check("the servers sent at least every MOVED the client read (errorstat_MOVED on the old owner rose "
            "by >= the client's count)", s["errorstat_delta"] >= s["moved_seen"] > 0,
            {"errorstat_MOVED": s["errorstat_delta"], "client_read": s["moved_seen"]}, expected=">= client_read > 0")
    r.check("the client's slot map now names the new owner", s["map_now"] == s["dst"], s["map_now"])
    back = sum(s["got_back"][k] == v for k, v in values.items())
    r.check("moved back: the client follows again, no key lost, the layout restored",
            back == len(values) and s["moved_total"] > s["moved_seen"] and not s["layout_problems"],
            f"{back}/{len(values)} keys right; MOVED total {s['moved_total']}; "
            f"layout: {s['layout_problems'] or 'restored'}")
    events = [e for e in h.client_events("redirect") if e["value"].get("lane") == "stale-map"]
    r.metrics["redirect_events"] = len(events)
    r.metrics.update({"slot": s["slot"], "keys_moved": s["keys_moved"], "move_s": s["move_s"],
                      "moved_seen_by_client": s["moved_total"]})
    r.details["redirects"] = s["redirects"]


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


def _fault_window(h: RunView, n: int) -> tuple[Optional[float], Optional[float]]:
    return h.t_fault(n), h.t_fault(n + 1)


def _events_in(h: RunView, n: int) -> list[dict]:
    t, nxt = _fault_window(h, n)
    if t is None:
        return []
    timeline = cluster_events.relative(cluster_events.events(h.derived(cluster_events.samples_of)), t)
    return [e for e in timeline if e["t_s"] >= -0.5 and (nxt is None or e["t_s"] <= nxt - t)]


def _event(h: RunView, n: int, event: str, node: str) -> Optional[dict]:
    return next((e for e in _events_in(h, n) if e["event"] == event and e["node"] == node), None)


def _epochs(h: RunView, n: int, heir: str) -> tuple[int, Optional[int]]:
    t, nxt = _fault_window(h, n)
    samples = h.derived(cluster_events.samples_of)
    before = max((v["config_epoch"] for s in samples if s["t"] < t for v in s["nodes"].values()), default=0)
    after = next((s["nodes"][heir]["config_epoch"] for s in reversed(samples) if heir in s["nodes"]
                  and (nxt is None or s["t"] < nxt)), None)
    return before, after


def promoted(h: RunView, n: int = 0, victim: str = VICTIM) -> Verdict:
    """The survivors flagged the victim fail, then its replica was promoted with a configEpoch
    above every earlier one (sampled CLUSTER NODES)."""
    heir = h.settings["pair"][victim]
    name = (f"the survivors flagged {victim} fail, then {heir} was promoted with a configEpoch above every "
            "earlier one (sampled CLUSTER NODES)")
    if h.t_fault(n) is None:
        return unknown(name, f"fault {n} (a nemesis start op)")
    fail, promo = _event(h, n, "fail", victim), _event(h, n, "promoted", heir)
    before, after = _epochs(h, n, heir)
    evidence = {"fail_s": fail and fail["t_s"], "promoted_s": promo and promo["t_s"],
                "config_epoch": f"max {before} before, {heir} {after} after"}
    if fail is None or promo is None:
        return unknown(name, "the fail flag and the promotion in the sampled views", evidence)
    return verdict(name, fail["t_s"] <= promo["t_s"] and after is not None and after > before, evidence)


def took_over(h: RunView, n: int = 0, victim: str = VICTIM) -> Verdict:
    """A coordinated failover (CLUSTER FAILOVER): the replica took over at once, with a higher
    configEpoch, no failure detection needed."""
    heir = h.settings["pair"][victim]
    name = f"{heir} was promoted with a configEpoch above every earlier one (sampled CLUSTER NODES)"
    if h.t_fault(n) is None:
        return unknown(name, f"fault {n} (a nemesis start op)")
    promo = _event(h, n, "promoted", heir)
    before, after = _epochs(h, n, heir)
    evidence = {"promoted_s": promo and promo["t_s"], "config_epoch": f"max {before} before, {heir} {after} after"}
    if promo is None:
        return unknown(name, "the promotion in the sampled views", evidence)
    return verdict(name, after is not None and after > before, evidence)


def others_unaffected(h: RunView, n: int = 0, victim: str = VICTIM) -> Verdict:
    """Writes to the other shards never failed, were never refused (no CLUSTERDOWN: a
    retrying client hides refusals behind eventual success, so they count) nor stalled."""
    name = "writes to the other shards never failed, were never refused (no CLUSTERDOWN) nor stalled"
    t, nxt = _fault_window(h, n)
    nt = h.settings["node_timeout_s"]
    others = [p for p in PRIMARIES if p != victim]
    silent = [p for p in others if not h.lane(p)]
    if silent:  # the workload writes to every shard: a silent lane is missing evidence
        return unknown(name, f"writes to the shards of {', '.join(silent)}")
    refusals = set(h.settings["refusals"])
    rows, bad = {}, False
    for p in others:
        ops = [op for op in h.lane(p) if nxt is None or op.t_invoke < nxt]
        summary = lane_summary(h, p)
        refused = sorted({e["value"]["error"] for e in h.client_events("retry") if e["value"].get("lane") == p
                          and e["value"]["error"] in refusals})
        bad |= bool(summary["fail"] or summary["info"] or refused or summary["slowest_s"] >= nt or not ops)
        rows[p] = {**summary, "refused": refused}
    return verdict(name, not bad, rows, f"no fail, info or refusal; slowest < {nt:g}s")


def failover_checks(h: RunView, n: int = 0, victim: str = VICTIM) -> list[Verdict]:
    """A failure-detected failover of ``victim``'s shard: promoted after the fail flag; writes
    back within 4 x node-timeout and not before node-timeout; the other shards untouched;
    epochs only up."""
    nt = h.settings["node_timeout_s"]
    t = h.t_fault(n)
    return [promoted(h, n, victim),
            invariants.available_within(h, victim, t, 4 * nt, "4 x node-timeout"),
            invariants.unavailable_at_least(h, victim, t, nt, "the failure could be detected (node-timeout)"),
            others_unaffected(h, n, victim), epochs_up(h)]


def epochs_up(h: RunView) -> Verdict:
    samples = h.derived(cluster_events.samples_of)
    name = "epochs only went up (currentEpoch and every configEpoch, per node's view)"
    if not samples:
        return unknown(name, "sampled cluster views")
    regressions = cluster_events.epoch_regressions(samples)
    return verdict(name, not regressions, regressions[:3] or f"{len(samples)} samples")


def loss_checks(h: RunView, n: int = 0, victim: str = VICTIM, wait_replicas: int = 1) -> list[Verdict]:
    """No WAIT-acknowledged write lost; once the old primary is gone every write after the
    promotion went to the new one; failed writes never applied; the other shards all readable."""
    out = [invariants.acknowledged_writes(h, victim, min_replicated=wait_replicas,
                                          name=f"no write acknowledged by the replica (WAIT {wait_replicas}) was lost")]
    name = "no write sent after the promotion and acknowledged was lost (the new primary took it)"
    promo = _event(h, n, "promoted", h.settings["pair"][victim])
    t, nxt = _fault_window(h, n)
    if promo is None or t is None:
        out.append(unknown(name, "the promotion in the sampled views"))
    else:
        out.append(invariants.acknowledged_writes(h, victim, since=t + promo["t_s"], until=nxt, name=name))
    out.append(invariants.fail_applied(h))
    others = [p for p in PRIMARIES if p != victim]
    out += [invariants.acknowledged_writes(h, p, name=f"every acknowledged write to {p}'s shard is readable")
            for p in others]
    return out


def failover_metrics(h: RunView, n: int = 0, victim: str = VICTIM, wait_replicas: int = 1, prefix: str = "") -> dict:
    t = h.t_fault(n)
    nt = h.settings["node_timeout_s"]
    pfail, fail = _event(h, n, "fail?", victim), _event(h, n, "fail", victim)
    promo = _event(h, n, "promoted", h.settings["pair"][victim])
    plain, waited = invariants.lane_loss(h, victim), invariants.lane_loss(h, victim, wait_replicas)
    redirects = [e for e in h.client_events("redirect") if e["value"].get("lane") == victim]
    return {f"{prefix}unavailable_s": None if t is None else unavailable_s(h, t, victim),
            f"{prefix}promotion_s": promo and promo["t_s"], f"{prefix}node_timeout_ms": int(nt * 1000),
            f"{prefix}pfail_s": pfail and pfail["t_s"], f"{prefix}fail_s": fail and fail["t_s"],
            f"{prefix}wait_acked_unavailable_s": None if t is None else unavailable_s(h, t, victim, min_replicated=1),
            f"{prefix}writes": {p: lane_summary(h, p) for p in PRIMARIES if h.lane(p)},
            f"{prefix}acked_writes_lost": plain["lost"], f"{prefix}wait_{wait_replicas}_writes_lost": waited["lost"],
            f"{prefix}info_writes": plain["unknown"],
            f"{prefix}retries_on_dead_shard": sum(1 for e in h.client_events("retry")
                                                 if e["value"].get("lane") == victim),
            f"{prefix}moved_on_dead_shard": sum(e["value"]["redirect"] == "MOVED" for e in redirects)}


def failover_details(h: RunView, r: ScenarioResult, n: int = 0, victim: str = VICTIM, prefix: str = "") -> None:
    r.details[f"{prefix}timeline"] = _events_in(h, n)
    fault = h.fault(n) or {"f": "?", "params": {}}
    how = {"kill": "SIGKILL", "pause": "SIGSTOP"}.get(fault["f"], fault["f"])
    if fault["params"].get("backend") == "docker":
        how = {"kill": "docker kill", "pause": "docker pause"}.get(fault["f"], fault["f"])
    r.details[f"{prefix}fault"] = f"{victim} ({how})"


def primary_failover(h: RunView, r: ScenarioResult) -> None:
    r.add(failover_checks(h), loss_checks(h), double_claims(h))
    counter_checks(h, r)
    r.metrics.update(failover_metrics(h))
    failover_details(h, r)


def counter_checks(h: RunView, r: ScenarioResult) -> None:
    """The INCR lane, when the workload has one: never applied twice; lost increments measured."""
    if not h.declared("counter"):
        return
    r.add(invariants.counter(h))
    r.metrics["counter_lost_increments"] = loss.counter(h.client_records(("counter",)), lane="counter").get("lost")


def double_claims(h: RunView, since: Optional[float] = None) -> Verdict:
    """At most one primary per shard: at every sampling round, each slot range had at most one
    running primary in state ok claiming it (two would both accept writes)."""
    name = "at every sample, each slot range had at most one primary among running nodes in state ok"
    rounds = [r for r in h.derived(cluster_events.rounds_of) if r and (since is None or r[0]["t"] >= since)]
    if not rounds:
        return unknown(name, "sampled cluster views")
    claims = cluster_events.double_claims(rounds)
    return verdict(name, not claims, claims[:3] or f"{len(rounds)} sampling rounds")


def labelled(label: str, verdicts: list[Verdict]) -> list[Verdict]:
    return [replace(v, name=label + v.name) for v in verdicts]


def rejoin_s(h: RunView, node: str, primary: str, since: float) -> Optional[float]:
    """Seconds from ``since`` until ``node`` itself (its own sampled view) said it is a replica
    of ``primary`` (the others may list a failed old primary under its heir long before)."""
    for s in h.derived(cluster_events.samples_of):
        v = s["nodes"].get(node)
        if s["t"] >= since and s["viewer"] == node and v and v["role"] == "replica" and v["master"] == primary:
            return round(s["t"] - since, 3)
    return None


def rejoin(h: RunView, r: ScenarioResult) -> None:
    heal = h.heal()
    since = heal["time"] if heal else 0.0
    probe = (h.lane("probe") or [None])[-1]
    r.check(f"{VICTIM} acknowledges writes as {HEIR}'s replica again (WAIT 1 after the rejoin)",
            probe.replicated == 1 if probe else None, probe and probe.replicated, expected=1,
            missing=None if probe else "the probe write after the rejoin")
    state = {rec["node"]: rec["value"] for rec in h.server("replication")}
    old, new = state.get(VICTIM, {}), state.get(HEIR, {})
    r.check(f"{VICTIM} is in sync: same key count and offset as {HEIR}",
            old.get("role") == "slave" and old.get("dbsize") == new.get("dbsize")
            and old.get("offset") == new.get("offset") if old and new else None, {VICTIM: old, HEIR: new},
            missing=None if old and new else "both nodes' replication state")
    last = {}
    for s in h.derived(cluster_events.samples_of):
        last[s["viewer"]] = s
    states = {v: s["state"] for v, s in last.items()}
    r.check("every node's last sampled view says cluster_state:ok",
            len(states) == 6 and set(states.values()) == {"ok"} if states else None,
            states, missing=None if states else "sampled cluster views")
    layout = (h.server("layout") or [{"value": {"problems": None}}])[-1]["value"]
    r.check("layout restored with CLUSTER FAILOVER on node-7000", not layout["problems"],
            layout["problems"] or layout.get("done"),
            missing=None if layout["problems"] is not None else "the layout restore's record")
    r.metrics.update({"rejoin_s": rejoin_s(h, VICTIM, HEIR, since), "restore_s": layout.get("seconds")})


VICTIM_RANGE = LAYOUT[VICTIM]


def _layout_back(h: RunView, r: ScenarioResult) -> None:
    layout = (h.server("layout") or [{"value": {"problems": None}}])[-1]["value"]
    r.check("the deterministic layout is back (node-7000..7002 primaries, each with its replica)",
            not layout["problems"], layout["problems"] or (layout.get("done") or ["nothing to swap"]),
            missing=None if layout["problems"] is not None else "the layout restore's record")
    r.metrics["restore_s"] = layout.get("seconds")


def fast_failures(h: RunView, since: float, until: float) -> Verdict:
    """A lost shard fails writes to its slots with a clear error within the client's budget."""
    ops = [op for op in h.lane("short") if since < op.t_invoke < until]
    budget = h.settings["probe_budget_s"]
    name = "writes to those slots failed, each within the client's budget (a clear error, not a hang)"
    if not ops:
        return unknown(name, "writes to the lost slots while they were lost")
    return verdict(name, all(not op.ok and op.t_complete is not None and op.t_complete - op.t_invoke <= budget + 1.0
                             for op in ops),
                   {"failed": len(ops), "slowest_s": round(max((op.t_complete - op.t_invoke for op in ops
                                                                 if op.t_complete is not None), default=0), 3),
                    "errors": sorted({(op.error or "").split(":")[0] for op in ops})}, f"each <= {budget + 1:g}s")


def others_fine(h: RunView, since: float) -> Verdict:
    nt = h.settings["node_timeout_s"]
    rows, bad, seen = {}, False, 0
    for p in PRIMARIES[1:]:
        ops = [op for op in h.lane(p) if op.t_invoke >= since]
        seen += len(ops)
        slowest = max((op.t_complete - op.t_invoke for op in ops if op.t_complete is not None), default=0.0)
        not_ok = sum(not op.ok for op in ops)
        bad |= bool(not_ok or slowest >= nt or not ops)
        rows[p] = {"ok": len(ops) - not_ok, "not_ok": not_ok, "slowest_s": round(slowest, 3)}
    return verdict("writes to the other shards never failed nor stalled", not bad if seen else None, rows,
                   missing=None if seen else "writes to the other shards after the fault")


def survivors_ok(h: RunView, since: float, until: float, dead: list) -> Verdict:
    states = {s["viewer"]: s["state"] for s in h.derived(cluster_events.samples_of)
              if since <= s["t"] <= until and s["viewer"] not in dead}
    return verdict("the survivors stayed cluster_state:ok (cluster-require-full-coverage no)",
                   set(states.values()) == {"ok"} if states else None, states,
                   missing=None if states else "sampled views of the survivors in that window")


def pause(h: RunView, r: ScenarioResult) -> None:
    r.add(labelled("paused primary: ", failover_checks(h) + loss_checks(h)))
    counter_checks(h, r)
    r.metrics.update(failover_metrics(h))
    failover_details(h, r)
    heal = h.heal()
    t_resume = heal["time"] if heal else h.records[-1]["time"]
    after = [round_ for round_ in h.derived(cluster_events.rounds_of) if round_ and round_[0]["t"] >= t_resume]
    claims = cluster_events.double_claims(after)
    r.check(f"after the resume, {VICTIM} never served its old slots beside {HEIR} (no two nodes in state ok "
            "claimed the same slots)", not claims, claims[:3] or f"{len(after)} sampling rounds",
            missing=None if after else "sampled views after the resume")
    events = cluster_events.events(h.derived(cluster_events.samples_of))
    demoted = next((e for e in events if e["event"] == "demoted" and e["node"] == VICTIM and e["t"] >= t_resume), None)
    r.metrics["demoted_after_resume_s"] = demoted and round(demoted["t"] - t_resume, 3)
    r.metrics["rejoin_s"] = rejoin_s(h, VICTIM, HEIR, t_resume)
    _layout_back(h, r)


def manual(h: RunView, r: ScenarioResult) -> None:
    nt = h.settings["node_timeout_s"]
    r.add(labelled("CLUSTER FAILOVER: ", [
        took_over(h), invariants.available_within(h, VICTIM, h.t_fault(), nt,
                                                  "node-timeout: no failure detection needed"),
        others_unaffected(h), epochs_up(h)] + loss_checks(h)))
    failed = [op for op in h.ops if op.f == "write" and not op.ok]
    writes = [op for op in h.ops if op.f == "write"]
    r.check("no write failed: MOVED / READONLY were followed, nothing exhausted its retries", not failed,
            [f"{op.key}: {op.error}" for op in failed[:3]] or f"{len(writes)} writes ok",
            missing=None if writes else "writes")
    metrics = failover_metrics(h)
    r.metrics.update(metrics)
    moved = metrics["moved_on_dead_shard"]
    r.check(f"the held connections really were redirected (MOVED read on {VICTIM}'s shard)", moved > 0, moved)
    r.add(invariants.acknowledged_writes(h, VICTIM, name="a coordinated failover loses no acknowledged write, "
                                                         "WAITed or not"))
    failover_details(h, r)
    heal = h.t_fault()
    r.metrics["rejoin_s"] = rejoin_s(h, VICTIM, HEIR, heal) if heal is not None else None
    _layout_back(h, r)


def chained(h: RunView, r: ScenarioResult) -> None:
    # No loss check here: the shard is lost later in the run, its final reads find it empty.
    r.add(labelled("kill node-7000: ", failover_checks(h)))
    r.metrics.update(failover_metrics(h, prefix="first_"))
    failover_details(h, r, prefix="first_")
    t2 = h.t_fault(1)
    heal = h.heal()
    if t2 is None or heal is None:
        r.check("both kills and the restart ran", None, {"second_kill": t2, "restart": heal},
                missing="the nemesis ops of the second kill and the restart")
        return
    t_heal = heal["time"]
    survivors = [n for n in NODES if n not in (VICTIM, HEIR)]
    # Once the survivors flag node-7003 fail, nobody may take its slots over until the restart.
    samples = [s for s in h.derived(cluster_events.samples_of) if t2 <= s["t"] <= t_heal and s["viewer"] in survivors]
    owners = {s["viewer"]: cluster_events.owners(s).get(format_ranges([VICTIM_RANGE])) for s in samples}
    taken = sorted({o for o in owners.values() if o not in (None, HEIR)})
    r.check(f"with no replica left, nobody took over {format_ranges([VICTIM_RANGE])}: every survivor still "
            f"names {HEIR} its owner", not taken, taken or f"{len(samples)} samples until the restart",
            missing=None if samples else "sampled views of the survivors until the restart")
    fails = [e for e in cluster_events.events(samples) if e["event"] == "fail" and e["node"] == HEIR]
    t_failed = fails[0]["t"] if fails else t2
    r.add(labelled("second kill: ", [fast_failures(h, t_failed, t_heal), others_fine(h, t2),
                                     survivors_ok(h, t2, t_heal, [VICTIM, HEIR])]))
    served = [op for op in h.lane("served") if op.ok and op.t_invoke >= t_heal]
    r.check(f"restarted, {HEIR} serves its slots again", bool(served) if h.lane("served") else None,
            round(served[0].t_complete - t_heal, 3) if served else "never",
            missing=None if h.lane("served") else "writes after the restart")
    r.add(replace(epochs_up(h), name="across both failovers and the restarts, epochs only went up"), double_claims(h))
    r.metrics.update({"second_fail_detected_s": round(t_failed - t2, 3),
                      "served_again_after_restart_s": round(served[0].t_complete - t_heal, 3) if served else None,
                      "rejoin_s": rejoin_s(h, VICTIM, HEIR, t_heal),
                      "keys_of_lost_shard_note": "no persistence in the lab: the restarted shard starts empty"})
    _layout_back(h, r)


def shard_loss(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    heal = h.heal()
    if t is None or heal is None:
        r.check("the shard was killed and restarted", None, {"kill": t, "restart": heal},
                missing="the nemesis ops of the kill and the restart")
        return
    t_heal = heal["time"]
    samples = h.derived(cluster_events.samples_of)
    flagged = {e["node"]: e["t"] for e in cluster_events.events(samples) if e["event"] == "fail" and e["t"] >= t}
    r.check(f"the survivors flagged {VICTIM} and {HEIR} fail",
            VICTIM in flagged and HEIR in flagged if samples else None,
            {n: round(flagged[n] - t, 3) for n in flagged}, missing=None if samples else "sampled cluster views")
    plain = (h.lane("probe-plain") or [None])[-1]
    r.check("a node asked for a lost slot says so: MOVED to the dead owner, or CLUSTERDOWN (never accepts it)",
            not plain.ok and (plain.error or "").startswith(("MovedError", "ClusterDownError", "ResponseError"))
            if plain else None, plain and plain.error,
            missing=None if plain else "the plain probe of a lost slot")
    probe = (h.lane("probe-client") or [None])[-1]
    budget = h.settings["probe_budget_s"]
    r.check("the cluster client fails on a lost slot with an error, within its budget (not a hang)",
            not probe.ok and probe.t_complete is not None and probe.t_complete - probe.t_invoke <= budget + 1.0
            if probe else None,
            probe and f"{probe.error} after {(probe.t_complete or probe.t_invoke) - probe.t_invoke:.2f}s",
            missing=None if probe else "the client's probe of a lost slot")
    t_flag = max((flagged.get(n, t) for n in (VICTIM, HEIR)), default=t)
    r.add(fast_failures(h, t_flag, t_heal), others_fine(h, t), survivors_ok(h, t, t_heal, [VICTIM, HEIR]))
    served = [op for op in h.lane("served") if op.ok and op.t_invoke >= t_heal]
    r.check(f"restarted, the shard serves again ({VICTIM} primary, {HEIR} its replica)",
            bool(served) if h.lane("served") else None,
            round(served[0].t_complete - t_heal, 3) if served else "never",
            missing=None if h.lane("served") else "writes after the restart")
    before = [op for op in h.lane(VICTIM) if op.ok and op.t_invoke < t]
    gone = sum(1 for op in before if h.final.get(op.key) != op.value)
    r.metrics.update({"fail_detected_s": round(t_flag - t, 3),
                      "served_again_after_restart_s": round(served[0].t_complete - t_heal, 3) if served else None,
                      "writes_ok_other_shards": {p: lane_summary(h, p)["ok"] for p in PRIMARIES[1:]},
                      "acked_before_loss": len(before), "acked_before_loss_gone_after_restart": gone,
                      "note": "no persistence in the lab (save \"\", appendonly no): a shard that loses both "
                              "nodes restarts empty"})
    _layout_back(h, r)


WINDOW_AFTER_PROMOTION_S = 2.0  # both rounds write this long after the promotion: the same window


def _kind(error: str) -> str:
    for code, needles in (("NOREPLICAS", ("NOREPLICAS",)), ("CLUSTERDOWN", ("CLUSTERDOWN", "ClusterDownError"))):
        if any(n in error for n in needles):
            return code
    return error.split(":")[0]


def _judge_round(h: RunView, r: ScenarioResult, guarded: bool) -> dict:
    label = "with min-replicas-to-write 1: " if guarded else "without min-replicas-to-write: "
    t_cut = h.t_fault()
    if t_cut is None:
        r.check(f"{label}the partition ran", None, None, missing="the partition (a nemesis op)")
        return {}
    samples = h.derived(cluster_events.samples_of)
    events = cluster_events.events(samples)
    promo = next((e for e in events if e["event"] == "promoted" and e["node"] == HEIR and e["t"] >= t_cut), None)
    r.check(f"{label}the majority side promoted {HEIR}", promo is not None if samples else None,
            promo and f"{promo['t'] - t_cut:.2f}s after the cut", missing=None if samples else "sampled cluster views")
    acked = invariants.lane_loss(h, "direct")
    waited = invariants.lane_loss(h, "direct", 1)
    r.add(labelled(label, [invariants.acknowledged_writes(h, "direct", min_replicated=1,
                                                          name="no WAIT-acknowledged write was lost")]))
    ops = h.lane("direct")
    after_cut = [op for op in ops if op.ok and op.t_invoke > t_cut]
    last_ok = max((op.t_complete for op in ops if op.ok), default=t_cut)
    stopped_s = round(last_ok - t_cut, 3)
    errors = sorted({_kind(op.error or "") for op in ops if not op.ok and op.t_invoke > t_cut})
    minority = next((e for e in events if e["event"] == "cluster_state fail" and e["node"] == VICTIM
                     and e["t"] >= t_cut), None)
    lag, nt = h.settings["min_replicas_max_lag_s"], h.settings["node_timeout_s"]
    if guarded:
        r.check(f"{label}the isolated primary stopped acknowledging writes within max-lag + 2 s of the cut "
                "(NOREPLICAS, or CLUSTERDOWN when the minority check fired first)",
                bool({"NOREPLICAS", "CLUSTERDOWN"} & set(errors)) and stopped_s <= lag + 2,
                {"last_ok_after_cut_s": stopped_s, "errors": errors}, expected=f"<= {lag + 2}")
    else:
        # The isolated primary's replication stream is cut: whatever it acknowledged after the
        # cut exists nowhere else, and is gone once it rejoins as the new primary's replica.
        r.check(f"{label}the isolated primary kept acknowledging writes after the cut (the split brain shows)",
                bool(after_cut), len(after_cut), "> 0")
        r.add(labelled(label, [invariants.all_lost(h, after_cut, "every write it acknowledged after the cut was "
                                                                 "lost after the heal")]))
        r.check(f"{label}it saw itself in the minority and refused writes (cluster_state fail, CLUSTERDOWN) within "
                "node-timeout + 2 s", minority is not None and stopped_s <= nt + 2 if samples else None,
                {"last_ok_after_cut_s": stopped_s, "cluster_state_fail_s": minority and round(minority["t"] - t_cut, 3)},
                expected=f"<= {nt + 2}", missing=None if samples else "sampled cluster views")
    heal = h.heal()
    return {"acknowledged": acked["acknowledged"], "lost_acknowledged": acked["lost"],
            "lost_wait_acknowledged": waited["lost"], "acked_after_cut": len(after_cut),
            "last_ok_after_cut_s": stopped_s, "refused": acked["failed"], "unknown": acked["unknown"],
            "errors_after_cut": errors, "promotion_s": promo and round(promo["t"] - t_cut, 3),
            "minority_state_fail_s": minority and round(minority["t"] - t_cut, 3),
            "rejoin_after_heal_s": rejoin_s(h, VICTIM, HEIR, heal["time"]) if heal else None}


def partition(h: RunView, r: ScenarioResult) -> None:
    without = _judge_round(h.round("partition:without"), r, guarded=False)
    guarded = _judge_round(h.round("partition:with"), r, guarded=True)
    r.metrics.update({"lost_acked_without_min_replicas": without.get("lost_acknowledged"),
                      "lost_acked_with_min_replicas": guarded.get("lost_acknowledged"),
                      "lost_wait_acked_without": without.get("lost_wait_acknowledged"),
                      "lost_wait_acked_with": guarded.get("lost_wait_acknowledged"),
                      "isolated_last_ok_without_s": without.get("last_ok_after_cut_s"),
                      "isolated_last_ok_with_s": guarded.get("last_ok_after_cut_s"),
                      "min_replicas_max_lag_s": h.settings["min_replicas_max_lag_s"],
                      "write_window_after_promotion_s": WINDOW_AFTER_PROMOTION_S,
                      "node_timeout_ms": int(h.settings["node_timeout_s"] * 1000)})
    r.details["rounds"] = [{"round": "without", **without}, {"round": "with min-replicas-to-write 1", **guarded}]
    _layout_back(h.round("partition:with"), r)


def linearizable_kill(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    nt = h.settings["node_timeout_s"]
    r.add(invariants.available_within(h, "register", t, 4 * nt, "4 x node-timeout"))
    r.metrics["unavailable_s"] = unavailable_s(h, t, "register") if t is not None else None
    v, got = invariants.linearizable(h)
    r.add(invariants.explained_by_lost_window(h, got))
    if v.valid is None:
        r.add(v)
    linearizable_report(h, r, got)


def linearizable_partition(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    samples = h.derived(cluster_events.samples_of)
    events = cluster_events.events(samples)
    promo = next((e for e in events if e["event"] == "promoted" and e["node"] == HEIR and t is not None
                  and e["t"] >= t), None)
    r.check(f"the majority side promoted {HEIR}", promo is not None if samples else None,
            promo and f"{promo['t'] - t:.2f}s after the cut",
            missing=None if samples else "sampled cluster views")
    v, got = invariants.linearizable(h)
    r.add(invariants.expect_invalid(v, "Jepsen's finding: a client on the isolated primary writes what the "
                                       "majority never sees"))
    linearizable_report(h, r, got)


# =========================================================== generated tests: the faults real networks make
# Pure, three-valued: what the history lacks makes a verdict unknown (never a pass).
LOSS_PERCENTS = (10, 30, 60)
WINDOW_AFTER_BUS_PROMOTION_S = 2.0


def _window(h: RunView, lane: str, t0: float, t1: float) -> dict:
    """The ops of ``lane`` invoked in [t0, t1): counts by outcome, ok per second, the p99
    latency of the ok ones (ms) and the longest wait between two ok completions."""
    ops = [op for op in h.lane(lane) if t0 <= op.t_invoke < t1]
    ok = sorted((op for op in ops if op.ok and op.t_complete is not None), key=lambda op: op.t_complete)
    edges = [t0, *[op.t_complete for op in ok if op.t_complete <= t1], t1]
    lat = sorted(1000 * (op.t_complete - op.t_invoke) for op in ok)
    return {"ok": len(ok), "fail": sum(op.type == "fail" for op in ops), "info": sum(op.type == "info" for op in ops),
            "ok_per_s": round(len(ok) / (t1 - t0), 1) if t1 > t0 else None,
            "latency_p99_ms": round(lat[min(len(lat) - 1, int(0.99 * len(lat)))], 1) if lat else None,
            "longest_gap_s": round(max((b - a for a, b in zip(edges, edges[1:])), default=0.0), 3)}


def cluster_converged(h: RunView, since: Optional[float], deadline_s: float) -> Verdict:
    """After ``since`` (the heal), within ``deadline_s``, one sampling round in which all six
    nodes answered cluster_state:ok, none flags another, and all name the same owner of every
    slot range (each range with one primary)."""
    name = f"the cluster converged within {deadline_s:g}s of the heal (6 nodes ok, no flags, one owner per range)"
    if since is None:
        return unknown(name, "the heal (a nemesis end op)", None, f"<= {deadline_s}")
    rounds = [rd for rd in h.derived(cluster_events.rounds_of) if rd and rd[0]["t"] >= since]
    for rd in rounds:
        if len(rd) == len(NODES) and all(s["state"] == "ok" for s in rd) and \
                not any(v["flags"] for s in rd for v in s["nodes"].values()) and \
                len({tuple(sorted(cluster_events.owners(s).items())) for s in rd}) == 1 and \
                len(cluster_events.owners(rd[0])) == len(PRIMARIES):
            t = round(rd[0]["t"] - since, 3)
            return verdict(name, t <= deadline_s, {"converged_s": t}, f"<= {deadline_s}")
    if any(rd[0]["t"] - since > deadline_s for rd in rounds):
        return verdict(name, False, {"rounds": len(rounds), "last_states": {s["viewer"]: s["state"] for s in rounds[-1]}},
                       f"<= {deadline_s}")
    return unknown(name, f"sampling rounds up to {deadline_s:g}s after the heal", {"rounds": len(rounds)},
                   f"<= {deadline_s}")


def _own_event(h: RunView, event: str, node: str, since: float) -> Optional[dict]:
    """The first ``event`` about ``node`` in its own samples (what it believed) since ``since``."""
    own = [s for s in h.derived(cluster_events.samples_of) if s["viewer"] == node]
    return next((e for e in cluster_events.events(own, first_only=False) if e["event"] == event
                 and e["node"] == node and e["t"] >= since), None)


def bus_partition(h: RunView, r: ScenarioResult) -> None:
    """Only node-7000's cluster bus is cut: the others fail it and promote node-7003, while
    clients still reach node-7000's data port and its replica still replicates it (the data
    port carries replication). node-7000 takes writes until it sees itself in the minority
    (cluster_state fail, CLUSTERDOWN); the writes it took after its replica's promotion are
    counted as lost. Nothing WAIT-acknowledged is lost; healed, node-7000 rejoins as a replica."""
    t = h.t_fault()
    heal = h.heal()
    if t is None or heal is None:
        r.check("the bus partition ran and was healed", None, missing="the nemesis ops")
        return
    nt = h.settings["node_timeout_s"]
    r.add(promoted(h), others_unaffected(h), epochs_up(h), double_claims(h))
    direct = [op for op in h.lane("direct") if op.t_invoke >= t]
    answered = [op for op in direct if op.ok or (op.error or "").split(":")[0] in
                ("ClusterDownError", "ResponseError", "TryAgainError", "MovedError")]
    r.check(f"clients still reached {VICTIM}'s data port: every write sent straight to it was answered "
            "(acknowledged or refused, never a timeout)", len(answered) == len(direct) if direct else None,
            {"sent": len(direct), "answered": len(answered),
             "unanswered": sorted({op.error for op in direct if op not in answered})[:3]},
            "all answered", missing=None if direct else "writes sent straight to it after the cut")
    ok = [op for op in direct if op.ok]
    r.check(f"{VICTIM} kept acknowledging writes after its bus was cut (it does not know yet)",
            bool(ok) if direct else None, len(ok), "> 0", missing=None if direct else
            "writes sent straight to it after the cut")
    last_ok = max((op.t_complete for op in ok), default=None)
    minority = _own_event(h, "cluster_state fail", VICTIM, t)
    r.check(f"{VICTIM} stopped acknowledging them once it saw itself in the minority (cluster_state fail), "
            "within node-timeout + 2 s of the cut", None if minority is None else
            last_ok is not None and last_ok - t <= nt + 2, {"last_ok_s": last_ok and round(last_ok - t, 3),
                                        "own_cluster_state_fail_s": minority and round(minority["t"] - t, 3)},
            f"<= {nt + 2}", missing=None if minority else f"{VICTIM}'s own sampled view going fail")
    r.add(invariants.acknowledged_writes(h, "direct", min_replicated=1, name="no write acknowledged by the replica "
                                                                             "(WAIT 1) was lost"),
          invariants.acknowledged_writes(h, VICTIM, min_replicated=1,
                                         name=f"no WAIT-1 write of {VICTIM}'s shard (the cluster client) was lost"),
          invariants.fail_applied(h))
    r.add(cluster_converged(h, heal["time"], 2 * h.settings["failover_deadline_s"]))
    promo = _event(h, 0, "promoted", HEIR)
    t_promo = t + promo["t_s"] if promo else None
    plain = invariants.lane_loss(h, "direct")
    after_promo = [op for op in ok if t_promo is not None and op.t_complete > t_promo]
    lost_after = [op for op in after_promo if h.final.get(op.key) != op.value]
    r.metrics.update({"promotion_s": promo and promo["t_s"],
                      "fail_s": (_event(h, 0, "fail", VICTIM) or {}).get("t_s"),
                      "old_primary_last_ok_s": last_ok and round(last_ok - t, 3),
                      "old_primary_state_fail_s": minority and round(minority["t"] - t, 3),
                      "acked_after_cut": len(ok), "acked_after_promotion": len(after_promo),
                      "lost_after_promotion": len(lost_after), "lost_acknowledged": plain["lost"],
                      "lost_wait_1": invariants.lane_loss(h, "direct", 1)["lost"],
                      "rejoin_s": rejoin_s(h, VICTIM, HEIR, heal["time"]), "node_timeout_ms": int(nt * 1000)})
    failover_details(h, r)
    r.details["fault"] = f"{VICTIM}: cluster bus (port + 10000) cut from the other five; data port open"
    _layout_back(h, r)


def packet_loss(h: RunView, r: ScenarioResult) -> None:
    """Per loss rate on node-7000's links: nothing WAIT-acknowledged lost, no failed write
    applied, at most one primary per range, epochs only up; healed, the cluster converges and
    node-7000's slots are served again. What the cluster and the clients did is measured."""
    rounds = []
    for percent in LOSS_PERCENTS:
        v, label = h.round(f"loss:{percent}"), f"{percent} % loss: "
        t, heal = v.t_fault(), v.heal()
        if not v or t is None or heal is None:
            r.check(f"{label}the round ran (a loss fault and its heal)", None, missing="the round's nemesis ops")
            continue
        others = [p for p in PRIMARIES if p != VICTIM and v.lane(p)]
        r.add(labelled(label, [
            invariants.acknowledged_writes(v, VICTIM, min_replicated=1,
                                           name="no write acknowledged by the replica (WAIT 1) was lost"),
            invariants.fail_applied(v), double_claims(v), epochs_up(v),
            invariants.available_within(v, VICTIM, heal["time"], h.settings["failover_deadline_s"],
                                        "the failover deadline after the heal"),
            cluster_converged(v, heal["time"], 2 * h.settings["failover_deadline_s"])]
            + [invariants.acknowledged_writes(v, p, name=f"every acknowledged write to {p}'s shard is readable")
               for p in others]))
        samples = v.derived(cluster_events.samples_of)
        evts = [e for e in cluster_events.events(samples) if t <= e["t"] <= heal["time"] + 10]
        promo = next((e for e in evts if e["event"] == "promoted"), None)
        victims = v.victims()
        row = {"percent": percent, "node": victims[0] if victims else None,
               **_window(v, VICTIM, t, heal["time"]),
               "pfail_flags": sum(e["event"] == "fail?" for e in evts), "fail_flags": sum(e["event"] == "fail" for e in evts),
               "promoted": promo and f"{promo['node']} at {promo['t'] - t:.2f}s",
               "lost_plain": invariants.lane_loss(v, VICTIM)["lost"],
               "others_ok": {p: _window(v, p, t, heal["time"])["ok"] for p in others}}
        rounds.append(row)
        r.metrics[f"loss_{percent}_ok_per_s"] = row["ok_per_s"]
        r.metrics[f"loss_{percent}_promoted"] = row["promoted"]
    r.details["rounds"] = rounds
    _layout_back(h.round(f"loss:{LOSS_PERCENTS[-1]}"), r)


# ================================================================================ seeded random schedules
def register_only(h: RunView, lanes: tuple = ("register",)) -> RunView:
    """The run with only the client ops on the register's keys (its lanes' ops and the final
    reads of those keys): what the linearizability checker judges when other lanes ran too."""
    keys = {op.key for op in h.ops if op.lane in lanes or (op.lane or "").startswith("stale:")}
    return RunView([rec for rec in h.records if rec.get("kind") != "client" or rec.get("key") in keys], h.name,
                   h.settings)


def random_schedule(h: RunView, r: ScenarioResult) -> None:
    """A generated schedule, judged by every generic checker: per shard no WAIT-acknowledged
    write lost (plain acknowledged writes: reported when a promotion happened, judged when none
    did), no failed write applied, no INCR twice, at most one primary per slot range at every
    sample, epochs only up, every shard written again within the failover deadline after each
    fault and after the last heal, the cluster converged, the register linearizable (or its
    violation explained by a fault's lost window)."""
    starts, ends = h.nemesis(phase="start"), h.nemesis(phase="end")
    lanes = list(PRIMARIES)  # the workload writes to every shard: a silent one is unknown, not skipped
    samples = h.derived(cluster_events.samples_of)
    promotions = [e for e in cluster_events.events(samples) if e["event"] == "promoted"]
    # fail_applied per writer lane: a register key's final value may come from a cas, which
    # write_loss does not count as a write (the register is judged by linearizability).
    r.add([invariants.acknowledged_writes(h, p, min_replicated=1, name=f"no WAIT-1 write to {p}'s range was lost")
           for p in lanes], [replace(v, name=f"{p}'s range: {v.name}") for p, v in
                             ((p, invariants.fail_applied(h, p)) for p in lanes)], double_claims(h), epochs_up(h))
    if not promotions and starts:
        r.add([invariants.acknowledged_writes(h, p, name=f"no acknowledged write to {p}'s range was lost (no "
                                                         "promotion happened)") for p in lanes])
    r.add(invariants.counter(h))
    deadline = h.settings["failover_deadline_s"]
    for n, f in enumerate(starts):
        for p in lanes:
            r.add(replace(invariants.available_within(h, p, f["time"], deadline, "the failover deadline"),
                          name=f"fault {n} ({f['f']} {f['value']}): writes to {p}'s range resumed within the "
                               f"failover deadline ({deadline:g}s)"))
    last_heal = max((e["time"] for e in ends), default=None)
    r.add([invariants.available_within(h, p, last_heal, deadline, "the failover deadline after the last heal")
           for p in lanes], cluster_converged(h, last_heal, 2 * deadline))
    reg = register_only(h)
    v, got = invariants.linearizable(reg)
    r.add(invariants.explained_by_lost_window(reg, got))
    if v.valid is None:
        r.add(v)
    plain = {p: invariants.lane_loss(h, p) for p in lanes}
    plan = (h.harness("schedule") or [{"value": {}}])[0]["value"]
    r.metrics.update({"seed": plan.get("seed"), "faults": len(starts), "promotions": len(promotions),
                      "acknowledged": sum(x["acknowledged"] for x in plain.values()),
                      "lost_plain": sum(x["lost"] for x in plain.values()),
                      "linearizable": got["valid"], "register_ops": got["ops"]})
    t0 = h.records[0]["time"] if h.records else 0.0
    ends_by_i = {e["params"].get("i"): e for e in ends if "i" in e["params"]}
    r.details["nemesis"] = [{"i": f["params"].get("i"), "f": f["f"], "target": f["value"],
                             "nodes": ", ".join(f["params"].get("nodes", [])), "start_s": round(f["time"] - t0, 3),
                             "end_s": round(ends_by_i[f["params"]["i"]]["time"] - t0, 3)
                             if f["params"].get("i") in ends_by_i else None} for f in starts]
    if got.get("counterexample"):
        linearizable_report(reg, r, got)
    _layout_back(h, r)
