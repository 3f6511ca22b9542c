"""The cluster judgements: pure functions of a run's history (no server, no clock).
Each scenario of cluster/scenarios.py and cluster/faults.py is judged by the checks here."""
from __future__ import annotations

from typing import Optional
from valkey_lab.checkers import loss
from valkey_lab.checkers.scenario import judge_linearizable, lane_summary, unavailable_s
from valkey_lab.clients.cluster import distribution_rows, expected_counts, key_slot, shard_of, spread_problems
from valkey_lab.cluster import observe as cluster_events
from valkey_lab.cluster import topology as ct
from valkey_lab.cluster.topology import LAYOUT, NODES, PRIMARIES, REPLICA_OF, format_ranges, parse_cluster_nodes
from valkey_lab.history.view import RunView
from valkey_lab.checkers.verdict import Judgement as ScenarioResult


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


VICTIM_RANGE = LAYOUT[VICTIM]


def _layout_back(h: RunView, r: ScenarioResult, label: str = "") -> None:
    layout = (h.server("layout") or [{"value": {"problems": ["no restore recorded"]}}])[-1]["value"]
    r.check(f"{label}the deterministic layout is back (node-7000..7002 primaries, each with its replica)",
            not layout["problems"], layout["problems"] or (layout.get("done") or ["nothing to swap"]))
    r.metrics[f"{label}restore_s"] = layout.get("seconds")


def _fast_failures(h: RunView, r: ScenarioResult, since: float, until: float, label: str) -> list:
    ops = [op for op in h.lane("short") if since < op.t_invoke < until]
    budget = h.settings["probe_budget_s"]
    r.check(f"{label}writes to those slots failed, each within the client's budget (a clear error, not a hang)",
            bool(ops) and all(not op.ok and op.t_complete is not None and op.t_complete - op.t_invoke <= budget + 1.0
                              for op in ops),
            {"failed": len(ops), "slowest_s": round(max((op.t_complete - op.t_invoke for op in ops
                                                          if op.t_complete is not None), default=0), 3),
             "errors": sorted({(op.error or "").split(":")[0] for op in ops})})
    return ops


def _others_fine(h: RunView, r: ScenarioResult, since: float, label: str) -> None:
    nt = h.settings["node_timeout_s"]
    rows, bad = {}, False
    for p in PRIMARIES[1:]:
        ops = [op for op in h.lane(p) if op.t_invoke >= since]
        slowest = max((op.t_complete - op.t_invoke for op in ops if op.t_complete is not None), default=0.0)
        not_ok = sum(not op.ok for op in ops)
        bad |= bool(not_ok or slowest >= nt or not ops)
        rows[p] = {"ok": len(ops) - not_ok, "not_ok": not_ok, "slowest_s": round(slowest, 3)}
    r.check(f"{label}writes to the other shards never failed nor stalled", not bad, rows)


def _survivors_ok(h: RunView, r: ScenarioResult, since: float, until: float, dead: list, label: str) -> None:
    states = {s["viewer"]: s["state"] for s in cluster_events.samples_of(h.records)
              if since <= s["t"] <= until and s["viewer"] not in dead}
    r.check(f"{label}the survivors stayed cluster_state:ok (cluster-require-full-coverage no)",
            bool(states) and set(states.values()) == {"ok"}, states)


def pause(h: RunView, r: ScenarioResult) -> None:
    judge_failover(h, r, label="paused primary: ")
    heal = h.heal()
    t_resume = heal["time"] if heal else h.records[-1]["time"]
    after = [round_ for round_ in cluster_events.rounds_of(h.records) if round_ and round_[0]["t"] >= t_resume]
    claims = cluster_events.double_claims(after)
    r.check(f"after the resume, {VICTIM} never served its old slots beside {HEIR} (no two nodes in state ok "
            "claimed the same slots)", bool(after) and not claims, claims[:3] or f"{len(after)} sampling rounds")
    events = cluster_events.events(cluster_events.samples_of(h.records))
    demoted = next((e for e in events if e["event"] == "demoted" and e["node"] == VICTIM and e["t"] >= t_resume), None)
    r.metrics["demoted_after_resume_s"] = demoted and round(demoted["t"] - t_resume, 3)
    r.metrics["rejoin_s"] = rejoin_s(h, VICTIM, HEIR, t_resume)
    _layout_back(h, r)


def manual(h: RunView, r: ScenarioResult) -> None:
    got = judge_failover(h, r, label="CLUSTER FAILOVER: ", coordinated=True)
    failed = [op for op in h.ops if op.f == "write" and not op.ok]
    r.check("no write failed: MOVED / READONLY were followed, nothing exhausted its retries", not failed,
            [f"{op.key}: {op.error}" for op in failed[:3]] or f"{len(h.ops)} ops ok")
    moved = r.metrics.get("moved_on_dead_shard", 0)
    r.check(f"the held connections really were redirected (MOVED read on {VICTIM}'s shard)", moved > 0, moved)
    r.check("a coordinated failover loses no acknowledged write, WAITed or not", got["plain"]["lost"] == 0,
            {k: v for k, v in got["plain"].items() if k not in ("lost_keys", "fail_applied_keys", "unexpected_keys")})
    heal = h.t_fault()
    r.metrics["rejoin_s"] = rejoin_s(h, VICTIM, HEIR, heal) if heal is not None else None
    _layout_back(h, r)


def chained(h: RunView, r: ScenarioResult) -> None:
    judge_failover(h, r, label="kill node-7000: ", check_loss=False, prefix="first_")
    t2 = h.t_fault(1)
    heal = h.heal()
    if t2 is None or heal is None:
        r.check("both kills and the restart ran", False, {"second_kill": t2, "restart": heal})
        return
    t_heal = heal["time"]
    survivors = [n for n in NODES if n not in (VICTIM, HEIR)]
    # Once the survivors flag node-7003 fail, nobody may take its slots over until the restart.
    samples = [s for s in cluster_events.samples_of(h.records) if t2 <= s["t"] <= t_heal and s["viewer"] in survivors]
    owners = {s["viewer"]: cluster_events.owners(s).get(format_ranges([VICTIM_RANGE])) for s in samples}
    taken = sorted({o for o in owners.values() if o not in (None, HEIR)})
    r.check(f"with no replica left, nobody took over {format_ranges([VICTIM_RANGE])}: every survivor still "
            f"names {HEIR} its owner", bool(samples) and not taken, taken or f"{len(samples)} samples until the restart")
    fails = [e for e in cluster_events.events(samples) if e["event"] == "fail" and e["node"] == HEIR]
    t_failed = fails[0]["t"] if fails else t2
    _fast_failures(h, r, t_failed, t_heal, "second kill: ")
    _others_fine(h, r, t2, "second kill: ")
    _survivors_ok(h, r, t2, t_heal, [VICTIM, HEIR], "second kill: ")
    served = [op for op in h.lane("served") if op.ok and op.t_invoke >= t_heal]
    r.check(f"restarted, {HEIR} serves its slots again", bool(served),
            round(served[0].t_complete - t_heal, 3) if served else "never")
    all_samples = cluster_events.samples_of(h.records)
    regressions = cluster_events.epoch_regressions(all_samples)
    r.check("across both failovers and the restarts, epochs only went up", not regressions,
            regressions[:3] or f"{len(all_samples)} samples")
    claims = cluster_events.double_claims(cluster_events.rounds_of(h.records))
    r.check("at every sample, each slot range had at most one primary among running nodes in state ok",
            not claims, claims[:3] or f"{len(cluster_events.rounds_of(h.records))} sampling rounds")
    r.metrics.update({"second_fail_detected_s": round(t_failed - t2, 3),
                      "served_again_after_restart_s": round(served[0].t_complete - t_heal, 3) if served else None,
                      "rejoin_s": rejoin_s(h, VICTIM, HEIR, t_heal),
                      "keys_of_lost_shard_note": "no persistence in the lab: the restarted shard starts empty"})
    _layout_back(h, r)


def shard_loss(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    heal = h.heal()
    if t is None or heal is None:
        r.check("the shard was killed and restarted", False, {"kill": t, "restart": heal})
        return
    t_heal = heal["time"]
    samples = cluster_events.samples_of(h.records)
    flagged = {e["node"]: e["t"] for e in cluster_events.events(samples) if e["event"] == "fail" and e["t"] >= t}
    r.check(f"the survivors flagged {VICTIM} and {HEIR} fail", VICTIM in flagged and HEIR in flagged,
            {n: round(flagged[n] - t, 3) for n in flagged})
    plain = (h.lane("probe-plain") or [None])[-1]
    r.check("a node asked for a lost slot says so: MOVED to the dead owner, or CLUSTERDOWN (never accepts it)",
            plain is not None and not plain.ok and (plain.error or "").startswith(
                ("MovedError", "ClusterDownError", "ResponseError")), plain and plain.error)
    probe = (h.lane("probe-client") or [None])[-1]
    budget = h.settings["probe_budget_s"]
    r.check("the cluster client fails on a lost slot with an error, within its budget (not a hang)",
            probe is not None and not probe.ok and probe.t_complete - probe.t_invoke <= budget + 1.0,
            probe and f"{probe.error} after {probe.t_complete - probe.t_invoke:.2f}s")
    t_flag = max((flagged.get(n, t) for n in (VICTIM, HEIR)), default=t)
    _fast_failures(h, r, t_flag, t_heal, "")
    _others_fine(h, r, t, "")
    _survivors_ok(h, r, t, t_heal, [VICTIM, HEIR], "")
    served = [op for op in h.lane("served") if op.ok and op.t_invoke >= t_heal]
    r.check(f"restarted, the shard serves again ({VICTIM} primary, {HEIR} its replica)", bool(served),
            round(served[0].t_complete - t_heal, 3) if served else "never")
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
        r.check(f"{label}the partition ran", False, None)
        return {}
    samples = cluster_events.samples_of(h.records)
    events = cluster_events.events(samples)
    promo = next((e for e in events if e["event"] == "promoted" and e["node"] == HEIR and e["t"] >= t_cut), None)
    r.check(f"{label}the majority side promoted {HEIR}", promo is not None,
            promo and f"{promo['t'] - t_cut:.2f}s after the cut")
    records = h.client_records(("direct",))
    acked = loss.write_loss(records, lane="direct")
    waited = loss.write_loss(records, lane="direct", min_replicated=1)
    r.check(f"{label}no WAIT-acknowledged write was lost", waited["lost"] == 0, waited["lost"], expected=0)
    ops = h.lane("direct")
    acked_after_cut = sum(1 for op in ops if op.ok and op.t_invoke > t_cut)
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
        r.check(f"{label}the isolated primary kept acknowledging writes after the cut, lost after the heal "
                "(the split brain shows)", acked_after_cut > 0 and acked["lost"] > 0,
                {"acked_after_cut": acked_after_cut, "lost": acked["lost"]})
        r.check(f"{label}it saw itself in the minority and refused writes (cluster_state fail, CLUSTERDOWN) within "
                "node-timeout + 2 s", minority is not None and stopped_s <= nt + 2,
                {"last_ok_after_cut_s": stopped_s, "cluster_state_fail_s": minority and round(minority["t"] - t_cut, 3)},
                expected=f"<= {nt + 2}")
    heal = h.heal()
    return {"acknowledged": acked["acknowledged"], "lost_acknowledged": acked["lost"],
            "lost_wait_acknowledged": waited["lost"], "acked_after_cut": acked_after_cut,
            "last_ok_after_cut_s": stopped_s, "refused": acked["failed"], "unknown": acked["unknown"],
            "errors_after_cut": errors, "promotion_s": promo and round(promo["t"] - t_cut, 3),
            "minority_state_fail_s": minority and round(minority["t"] - t_cut, 3),
            "rejoin_after_heal_s": rejoin_s(h, VICTIM, HEIR, heal["time"]) if heal else None}


def partition(h: RunView, r: ScenarioResult) -> None:
    without = _judge_round(RunView(h.all_records, "partition:without", h.settings), r, guarded=False)
    guarded = _judge_round(RunView(h.all_records, "partition:with", h.settings), r, guarded=True)
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
    _layout_back(RunView(h.all_records, "partition:with", h.settings), r)


def linearizable_kill(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    gap = unavailable_s(h, t, "register") if t is not None else None
    nt = h.settings["node_timeout_s"]
    r.check(f"register ops on {VICTIM}'s slots resumed within 4 x node-timeout", gap is not None and gap <= 4 * nt,
            gap, expected=f"<= {4 * nt}")
    r.metrics["unavailable_s"] = gap
    judge_linearizable(h, r, expect=None)


def linearizable_partition(h: RunView, r: ScenarioResult) -> None:
    t = h.t_fault()
    events = cluster_events.events(cluster_events.samples_of(h.records))
    promo = next((e for e in events if e["event"] == "promoted" and e["node"] == HEIR and t is not None
                  and e["t"] >= t), None)
    r.check(f"the majority side promoted {HEIR}", promo is not None, promo and f"{promo['t'] - t:.2f}s after the cut")
    judge_linearizable(h, r, expect=False)


