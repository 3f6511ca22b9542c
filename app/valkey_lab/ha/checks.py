"""The ha judgements: pure functions of a run's history (no server, no clock).
Each scenario of ha/scenarios.py and ha/faults.py is judged by the checks here."""
from __future__ import annotations

from typing import Optional
from valkey_lab.checkers import availability, loss
from valkey_lab.checkers.scenario import judge_linearizable, unavailable_s
from valkey_lab.checkers.topology import epochs, max_masters, sentinel_timeline
from valkey_lab.ha.topology import SENTINELS
from valkey_lab.history.view import RunView
from valkey_lab.checkers.verdict import Judgement as ScenarioResult


WAIT_LANE = "wait1"


def switch_of(h: RunView, since: float, until: Optional[float] = None, away_from: tuple = ()) -> Optional[dict]:
    """The first +switch-master at or after ``since`` (and to a node not in ``away_from``),
    with the old and new master by name. A Sentinel that lagged behind an earlier failover
    announces its own switch later, from its stale view: hence ``away_from``."""
    for event in h.server("sentinel-event"):
        if event["value"]["event"] != "+switch-master" or event["time"] < since or (
                until is not None and event["time"] > until):
            continue
        parts = event["value"]["data"].split()  # <name> <old-ip> <old-port> <new-ip> <new-port>
        new = h.node_of(f"{parts[3]}:{parts[4]}")
        if new in away_from:
            continue
        return {"time": event["time"], "old": h.node_of(f"{parts[1]}:{parts[2]}"), "new": new,
                "data": event["value"]["data"]}
    return None


def judge_switch(h: RunView, r: ScenarioResult, n: int = 0, label: str = "", expect_gap: bool = True,
                 lane: str = WAIT_LANE, prefix: str = "", within: Optional[tuple] = None) -> Optional[dict]:
    """The checks every failover run shares: Sentinel switched away from the faulted master,
    the new master says so itself, the client came back within its budget and followed, and
    (for a crash or a pause) no write succeeded before Sentinel could have acted."""
    t = h.t_fault(n)
    victims = h.victims(n)
    if t is None:
        r.check(f"{label}the fault was started", False, "no nemesis op in the history")
        return None
    nxt = h.t_fault(n + 1)
    switch = switch_of(h, t, nxt, away_from=tuple(victims))
    r.check(f"{label}Sentinel published +switch-master to a node other than the faulted one",
            switch is not None and switch["new"] is not None, switch and switch["data"],
            expected=f"a new master other than {victims}")
    new = switch["new"] if switch else None
    seen_master = next((s["time"] for s in h.roles(since=switch["time"] if switch else t) if new in s["value"]["masters"]),
                       None)
    r.check(f"{label}the promoted node itself answered role:master (sampled INFO)", seen_master is not None,
            None if seen_master is None else f"{new} at +{seen_master - t:.2f}s")
    # The bound: the client's retry budget, or (``within``) a bound the fault itself imposes.
    bound, why = within or (h.settings["client_backoff"]["budget_s"], "its retry budget")
    down_after = h.settings["down_after_s"]
    gap = unavailable_s(h, t, lane)
    r.check(f"{label}the client wrote again within {why} ({bound:.0f}s)",
            gap is not None and gap <= bound, gap, expected=f"<= {bound}")
    if expect_gap:
        r.check(f"{label}no write succeeded before Sentinel could act (unavailable_s >= down-after {down_after}s)",
                gap is not None and gap >= down_after, gap, expected=f">= {down_after}")
    follow = next((e for e in h.client_events("master-change") if e["time"] >= t
                   and h.node_of(e["value"]["to"]) == new), None)
    r.check(f"{label}the client followed the new master", follow is not None,
            follow and f"{follow['value']['from']} -> {follow['value']['to']}")
    ops = [op for op in h.lane(lane) if op.t_invoke >= t]
    failed = [op for op in ops if op.type == "fail" and op.f == "write"]  # a cas may fail by design
    r.check(f"{label}no write failed for good (refusals were retried to success or are 'info')", not failed,
            {"fail": len(failed), "examples": [op.error for op in failed[:2]]}, expected=0)
    switch_t = switch["time"] if switch else None
    # The client's lag behind the switch: its first ok op invoked after +switch-master.
    first_ok = availability.first_ok_after([op for op in ops if op.t_invoke >= switch_t], switch_t) \
        if switch_t is not None else None
    r.metrics.update({f"{prefix}old_master": victims[0] if victims else None, f"{prefix}new_master": new,
                      f"{prefix}switch_s": None if switch_t is None else round(switch_t - t, 3),
                      f"{prefix}unavailable_s": gap,
                      f"{prefix}client_lag_after_switch_s": availability.client_lag(
                          switch_t, first_ok.t_complete if first_ok else None),
                      f"{prefix}client_followed_after_switch_s": availability.client_lag(
                          switch_t, follow["time"] if follow else None)})
    return switch


def judge_loss(h: RunView, r: ScenarioResult, lane: str = WAIT_LANE, replicas: int = 1, label: str = "",
               safe_after_switch: bool = True) -> dict:
    """Loss of acknowledged writes, judged by the final reads of the history. What may be
    lost: writes only the old master acknowledged (asynchronous replication). What may not:
    writes ``replicas`` replicas acknowledged (WAIT), and, when the old master can no longer
    answer (a kill, a pause), every write sent after the switch."""
    records = h.client_records((lane,))
    waited = loss.write_loss(records, lane=lane, min_replicated=replicas)
    plain = loss.write_loss(records, lane=lane)
    r.check(f"{label}no write acknowledged by {replicas} replica(s) (WAIT) was lost", waited["lost"] == 0,
            {k: waited[k] for k in ("acknowledged", "lost", "lost_keys", "unread")}, expected="lost 0")
    switch = switch_of(h, h.t_fault() or 0.0, away_from=tuple(h.victims()))
    if safe_after_switch and switch is not None:
        late = [op for op in h.lane(lane) if op.f == "write" and op.ok and op.t_invoke >= switch["time"]]
        gone = [op.key for op in late if h.final.get(op.key) != op.value]
        r.check(f"{label}no write sent after +switch-master and acknowledged was lost (the new master took it)",
                not gone, {"acknowledged_after_switch": len(late), "lost": len(gone), "examples": gone[:3]},
                expected="lost 0")
    r.check(f"{label}no write reported failed was applied (fail means not applied)", plain["fail_applied"] == 0
            and plain["unexpected"] == 0, {"fail_applied": plain["fail_applied"], "unexpected": plain["unexpected"]},
            expected=0)
    t = h.t_fault()
    risk = loss.at_risk(records, t, h.settings.get("repl_lag_window_s", 1.0), lane=lane) if t is not None else {}
    r.metrics.update({f"{label}writes": len(h.lane(lane)), f"{label}acknowledged": plain["acknowledged"],
                      f"{label}lost_wait_{replicas}": waited["lost"], f"{label}lost_plain": plain["lost"],
                      f"{label}info_writes": plain["unknown"], f"{label}recovered_info_writes": plain["recovered"],
                      f"{label}at_risk": risk.get("total")})
    return {"waited": waited, "plain": plain, "at_risk": risk}


def judge_counter(h: RunView, r: ScenarioResult, label: str = "") -> None:
    if not h.lane("counter"):
        return
    got = loss.counter(h.client_records(("counter",)), lane="counter")
    r.check(f"{label}no INCR was applied twice (final counter <= ok + info increments)",
            got.get("double_applied", 0) == 0, {k: got.get(k) for k in ("ok", "info", "final", "double_applied")},
            expected="double_applied 0")
    r.metrics[f"{label}counter_lost_increments"] = got.get("lost")


def rejoin_s(h: RunView, node: str, master: Optional[str], since: float) -> Optional[float]:
    """Seconds from ``since`` until a role sample showed ``node`` replicating ``master``, link up."""
    for s in h.roles(since=since, snapshots=False):
        state = (s["value"]["nodes"] or {}).get(node)
        if state and state["role"] == "slave" and state.get("master") == master and state.get("link") == "up":
            return round(s["time"] - since, 3)
    return None


def judge_rejoin(h: RunView, r: ScenarioResult, node: str, master: Optional[str], label: str = "") -> None:
    """The node is back as a replica: both replicas acknowledge a new write (WAIT 2) and the
    node serves it. How long it took is a metric (the run waited for it)."""
    heal = h.heal()
    since = heal["time"] if heal else (h.t_fault() or 0.0)
    probes = [op for op in h.lane("probe") if op.t_invoke >= since]
    acks = probes[-1].replicated if probes and probes[-1].ok else None
    r.check(f"{label}both replicas acknowledged a write after the rejoin (WAIT 2)", acks == 2, acks, expected=2)
    served = h.server("replica-values", node)
    key = probes[-1].key if probes else None
    value = served[-1]["value"].get(key) if served and key else None
    r.check(f"{label}{node} serves that write as a replica", value == "1", value, expected="1")
    r.metrics[f"{label}{node}_rejoin_s"] = rejoin_s(h, node, master, since)


def crud(h: RunView, r: ScenarioResult) -> None:
    ops = h.lane("crud")
    by = {}
    for op in ops:
        by.setdefault(op.f, []).append(op)
    read = by.get("read", [None])[0]
    r.check("GET returns what SET wrote", read is not None and read.result == "hello", read and read.result,
            expected="hello")
    incr = [op.result for op in by.get("incr", [])]
    r.check("INCR three times counts 1, 2, 3", incr == [1, 2, 3], incr, expected=[1, 2, 3])
    h_all = by.get("hgetall", [None])[0]
    r.check("HSET / HGETALL round-trips", h_all is not None and h_all.result == {"f1": "a", "f2": "b"},
            h_all and h_all.result)
    ttl = by.get("ttl", [None])[0]
    r.check("EXPIRE sets a TTL in (0, 100]", ttl is not None and ttl.result is not None and 0 < ttl.result <= 100,
            ttl and ttl.result)
    deleted, exists = by.get("del", [None])[0], by.get("exists", [None])[0]
    r.check("DEL removes the key", deleted is not None and deleted.result == 1 and exists is not None
            and exists.result == 0, {"del": deleted and deleted.result, "exists": exists and exists.result})
    wait = by.get("wait", [None])[0]
    replicas = h.server("replica-values")
    r.check("WAIT: every replica acknowledged (2 in this topology)", wait is not None and wait.result == 2,
            wait and wait.result, expected=2)
    named = {rec["value"] for rec in h.server("sentinel-master")}
    connected = (h.client_events("master") or [{"value": {}}])[-1]["value"].get("to")
    r.check("the client talks to the master the Sentinels name", len(named) == 1 and
            h.address(next(iter(named))) == connected, {"client": connected, "sentinels": sorted(map(str, named))})
    expected = {"s": "hello", "n": "3", "h": {"f1": "a", "f2": "b"}, "tmp": 0}
    for rec in replicas:
        r.check(f"{rec['node']} reads back every value", rec["value"] == expected, rec["value"], expected=expected)
    r.metrics.update({"master": next(iter(named), None), "replicas_checked": len(replicas)})
    r.details["replica_reads"] = [{"replica": rec["node"], **rec["value"]} for rec in replicas]


def failover(h: RunView, r: ScenarioResult) -> None:
    judge_switch(h, r)
    r.metrics["down_after_s"] = h.settings["down_after_s"]
    t = h.t_fault()
    r.details["timeline"] = sentinel_timeline(h.records, t, since=t - 1) if t is not None else []


def discovery(h: RunView, r: ScenarioResult) -> None:
    switch = switch_of(h, h.t_fault() or 0.0, away_from=tuple(h.victims()))
    new = switch and switch["new"]
    views = (h.server("sentinels") or [{"value": {}}])[-1]["value"]
    named = {s: (v or {}).get("master") for s, v in views.items()}
    r.check("every Sentinel names the master +switch-master announced", bool(named) and set(named.values()) == {new},
            named, expected=new)
    last = (h.roles() or [{"value": {"masters": []}}])[-1]["value"]["masters"]
    r.check("that node, and only it, answers role:master (sampled INFO)", last == [new], last, expected=[new])
    changes = h.client_events("master-change")
    r.check("the client is connected to it", bool(changes) and h.node_of(changes[-1]["value"]["to"]) == new,
            changes[-1]["value"]["to"] if changes else None, expected=h.address(new) if new else None)
    r.metrics.update({"new_master": new, "address": h.address(new) if new else None})
    r.details["sentinels"] = [{"sentinel": s, "names": n} for s, n in named.items()]


def retry_backoff(h: RunView, r: ScenarioResult) -> None:
    policy = h.settings["client_backoff"]
    t = h.t_fault() or 0.0
    retries = [e["value"] for e in h.client_events("retry")]
    floor = lambda n: min(policy["base_s"] * 2 ** (n - 1), policy["cap_s"])  # noqa: E731
    r.check("the client retried during the failover", len(retries) >= 1, len(retries), expected=">= 1")
    r.check(f"every delay is at most the cap ({policy['cap_s']}s)",
            all(x["delay_s"] <= policy["cap_s"] + 1e-9 for x in retries),
            max((x["delay_s"] for x in retries), default=None), expected=f"<= {policy['cap_s']}")
    r.check("delays grow: retry n waits at least min(base*2^(n-1), cap)",
            all(x["delay_s"] >= floor(x["retry"]) - 1e-9 for x in retries),
            [round(x["delay_s"], 3) for x in retries[:12]])
    r.metrics.update({"retries": len(retries), "max_delay_s": round(max((x["delay_s"] for x in retries), default=0), 3),
                      "base_s": policy["base_s"], "cap_s": policy["cap_s"], "budget_s": policy["budget_s"],
                      "sleeps_cut_short_by_switch_master": sum(
                          1 for x in retries if x.get("slept_s", x["delay_s"]) < x["delay_s"] - 0.02)})
    r.details["retries"] = [{"t_s": round(x["at"] - t, 3), "op": x["op"], "retry": x["retry"],
                             "delay_s": round(x["delay_s"], 3), "slept_s": round(x.get("slept_s", 0), 3),
                             "error": x["error"]} for x in retries[:30]]


def consistency(h: RunView, r: ScenarioResult) -> None:
    judge_loss(h, r)
    judge_counter(h, r)
    # An independent witness: after the rejoin, every replica serves what the master served.
    for rec in h.server("replica-values"):
        differ = [k for k, v in rec["value"].items() if k in h.final and h.final[k] != v]
        r.check(f"{rec['node']} serves every written key as the master does (after the rejoin)", not differ,
                {"compared": len(rec["value"]), "differ": differ[:3]}, expected="no difference")


def rejoin(h: RunView, r: ScenarioResult) -> None:
    victims = h.victims()
    switch = switch_of(h, h.t_fault() or 0.0, away_from=tuple(h.victims()))
    if not victims:
        r.check("the master was killed", False, None)
        return
    judge_rejoin(h, r, victims[0], switch and switch["new"])
    r.metrics.update({"rejoined": victims[0], "master": switch and switch["new"]})


def replica_sync(h: RunView, r: ScenarioResult) -> None:
    probe = (h.lane("probe") or [None])[-1]
    r.check("a write was acknowledged by both replicas (WAIT 2)", probe is not None and probe.replicated == 2,
            probe and probe.replicated, expected=2)
    master_rec = (h.server("master-offset") or [None])[-1]
    rows = [rec["value"] for rec in h.server("replica-state")]
    for s in rows:
        ok = (master_rec is not None and s["role"] == "slave" and s["master"] == master_rec["node"]
              and s["link"] == "up" and s["offset"] is not None and s["offset"] >= master_rec["value"])
        r.check(f"{s['node']} replicates {s['master']}, link up, at or past the master's offset after WAIT", ok,
                {k: s[k] for k in ("role", "master", "link", "offset")},
                expected=master_rec and {"master": master_rec["node"], "offset": f">= {master_rec['value']}"})
    r.metrics.update({"master": master_rec and master_rec["node"], "replicas_in_sync": len(rows),
                      "max_lag_bytes": max((s["lag_bytes"] or 0 for s in rows), default=None)})
    r.details["replicas"] = rows


def quorum_safety(h: RunView, r: ScenarioResult) -> None:
    t_kill = h.t_fault(1)
    sentinels_back = h.heal(target="sentinels:2")
    victims = h.victims(1)
    down_after = h.settings["down_after_s"]
    if t_kill is None or sentinels_back is None:
        r.check("the faults ran (2 Sentinels, then the master killed; the Sentinels restarted)", False,
                {"kill": t_kill, "restore": sentinels_back})
        return
    t_back = sentinels_back["time"]
    promoted = [s for s in h.roles(since=t_kill, until=t_back) if set(s["value"]["masters"]) - set(victims)]
    r.check(f"no replica promoted while 1 of 3 Sentinels ran ({t_back - t_kill:.1f}s, >= 3x down-after)",
            not promoted and t_back - t_kill >= 3 * down_after,
            promoted[0]["value"]["masters"] if promoted else f"{len(h.roles(since=t_kill, until=t_back))} snapshots, none")
    survivor = SENTINELS[0]
    sdown = next((e for e in h.server("sentinel-event", survivor) if e["value"]["event"] == "+sdown"
                  and e["time"] >= t_kill and e["time"] <= t_back), None)
    early = h.first_event("+switch-master", t_kill, t_back)
    r.check("the lone Sentinel saw the master down (+sdown) but published no +switch-master",
            sdown is not None and early is None, {"sdown": sdown and sdown["value"]["data"],
                                                   "switch": early and early["value"]["data"]})
    switch = switch_of(h, t_back, away_from=tuple(victims))
    r.check("with the quorum back, Sentinel failed over to a replica", switch is not None and
            switch["new"] not in victims, switch and switch["data"])
    r.metrics.update({"held_without_promotion_s": round(t_back - t_kill, 3),
                      "failover_after_restore_s": None if switch is None else round(switch["time"] - t_back, 3),
                      "old_master": victims[0] if victims else None, "new_master": switch and switch["new"]})
    heal = h.heal(1)
    if heal and victims and switch:
        r.metrics[f"{victims[0]}_rejoin_s"] = rejoin_s(h, victims[0], switch["new"], heal["time"])
    r.details["timeline"] = sentinel_timeline(h.records, t_kill, since=t_kill - 1)


def pause(h: RunView, r: ScenarioResult) -> None:
    switch = judge_switch(h, r, label="paused master: ")
    judge_loss(h, r)
    judge_counter(h, r)
    if h.victims():
        judge_rejoin(h, r, h.victims()[0], switch and switch["new"])


def manual(h: RunView, r: ScenarioResult) -> None:
    judge_switch(h, r, label="SENTINEL FAILOVER: ", expect_gap=False, lane="wait2")
    judge_loss(h, r, lane="wait2", replicas=2, safe_after_switch=False)
    judge_counter(h, r)
    r.metrics["failover_requests"] = len(h.harness("failover-request"))
    r.metrics["note"] = ("Sentinel's manual failover does not stop writes on the old master: only writes both "
                         "replicas acknowledged are promised; lost_plain shows the rest")


def chained(h: RunView, r: ScenarioResult) -> None:
    judge_switch(h, r, 0, label="first kill: ", prefix="first_")
    # A Sentinel that took part in a failover waits 2x failover-timeout before another one
    # for the same master: the second switch may take that long.
    second = judge_switch(h, r, 1, label="second kill: ", prefix="second_", within=(
        2 * h.settings["failover_timeout_s"] + h.settings["down_after_s"] + 5,
        "Sentinel's bound for a second failover, 2 x failover-timeout + down-after + 5 s"))
    judge_loss(h, r)
    heal = h.heal()
    t_heal = heal["time"] if heal else None
    # Until the killed nodes were restarted, at most one server may call itself master.
    masters = max_masters([rec for rec in h.records if t_heal is None or rec["time"] <= t_heal])
    r.check("at most one master at every snapshot until the restarts", masters["valid"] is True
            and masters["snapshots"] >= 20, {k: masters[k] for k in ("snapshots", "max_masters", "violations")},
            expected="no snapshot with two masters (>= 20 snapshots)")
    ep = epochs(h.records)
    tops = [e["value"] for e in h.server("epoch")]
    r.check("the config epoch never went down, and rose with each of the two failovers",
            ep["valid"] and bool(tops) and max(tops) >= min(tops) + 2, {"min": min(tops, default=None),
                                                                        "max": max(tops, default=None)})
    # A restarted old master runs as an (empty) master until Sentinel converts it: measured,
    # from role samples kept through the restarts.
    if t_heal is not None and second:
        claimed = [s for s in h.roles(since=t_heal) if len(s["value"]["masters"]) > 1]
        r.metrics["restarted_old_masters_claimed_master_s"] = round(claimed[-1]["time"] - t_heal, 3) if claimed else 0.0
        for node in h.victims(0) + h.victims(1):
            r.metrics[f"{node}_rejoin_s"] = rejoin_s(h, node, second["new"], t_heal)
    r.metrics["final_master"] = second and second["new"]
    r.details["timeline"] = sentinel_timeline(h.records, h.t_fault() or 0.0)


WINDOW_AFTER_SWITCH_S = 3.0  # both rounds write this long after the switch: the same window


def _judge_round(h: RunView, r: ScenarioResult, guarded: bool) -> dict:
    label = "with min-replicas-to-write 1: " if guarded else "without min-replicas-to-write: "
    t_cut = h.t_fault()
    switch = switch_of(h, t_cut, away_from=tuple(h.victims())) if t_cut is not None else None
    r.check(f"{label}the majority side promoted another master", switch is not None and
            switch["new"] not in h.victims(), switch and switch["data"])
    records = h.client_records(("stale",))
    acked = loss.write_loss(records, lane="stale")
    waited = loss.write_loss(records, lane="stale", min_replicated=1)
    r.check(f"{label}no WAIT-acknowledged write was lost", waited["lost"] == 0, waited["lost"], expected=0)
    ok = [op for op in h.lane("stale") if op.ok]
    after_switch = [op for op in ok if switch and op.t_complete > switch["time"]]
    last_ok = max((op.t_complete for op in ok), default=t_cut)
    lag = h.settings["min_replicas_max_lag_s"]
    if guarded:
        r.check(f"{label}the isolated master stopped acknowledging writes within max-lag + 2 s of the cut",
                t_cut is not None and last_ok - t_cut <= lag + 2, round(last_ok - t_cut, 3) if t_cut else None,
                expected=f"<= {lag + 2}")
    else:
        r.check(f"{label}the isolated master kept acknowledging writes after the switch (split brain)",
                len(after_switch) > 0, len(after_switch), expected="> 0")
        r.check(f"{label}those acknowledged writes were lost after the heal", acked["lost"] >= len(after_switch),
                acked["lost"], expected=f">= {len(after_switch)}")
    heal = h.heal()
    return {"old": (h.victims() or [None])[0], "new": switch and switch["new"],
            "acknowledged": acked["acknowledged"], "lost_acknowledged": acked["lost"],
            "lost_wait_acknowledged": waited["lost"], "acked_after_switch": len(after_switch),
            "refused": acked["failed"], "unavailable_s": availability.client_lag(t_cut, last_ok),
            "rejoin_after_heal_s": rejoin_s(h, (h.victims() or [None])[0], switch and switch["new"], heal["time"])
            if heal and switch else None}


def partition(h: RunView, r: ScenarioResult) -> None:
    without = _judge_round(RunView(h.all_records, "partition:without", h.settings), r, guarded=False)
    guarded = _judge_round(RunView(h.all_records, "partition:with", h.settings), r, guarded=True)
    r.check("min-replicas-to-write lost fewer acknowledged writes", guarded["lost_acknowledged"]
            < without["lost_acknowledged"], {"without": without["lost_acknowledged"],
                                              "with": guarded["lost_acknowledged"]})
    r.metrics.update({"lost_acked_without_min_replicas": without["lost_acknowledged"],
                      "lost_acked_with_min_replicas": guarded["lost_acknowledged"],
                      "lost_wait_acked_without": without["lost_wait_acknowledged"],
                      "lost_wait_acked_with": guarded["lost_wait_acknowledged"],
                      "min_replicas_max_lag_s": h.settings["min_replicas_max_lag_s"],
                      "write_window_after_switch_s": WINDOW_AFTER_SWITCH_S})
    r.details["rounds"] = [{"round": "without", **without}, {"round": "with min-replicas-to-write 1", **guarded}]


def linearizable_kill(h: RunView, r: ScenarioResult) -> None:
    judge_switch(h, r, lane="register")
    judge_linearizable(h, r, expect=None)


def linearizable_partition(h: RunView, r: ScenarioResult) -> None:
    switch = switch_of(h, h.t_fault() or 0.0, away_from=tuple(h.victims()))
    r.check("the majority side promoted another master", switch is not None and switch["new"] not in h.victims(),
            switch and switch["data"])
    judge_linearizable(h, r, expect=False)


