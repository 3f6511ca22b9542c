"""The ha judgements: pure functions of a run's history (no server, no clock).
Each scenario of ha/scenarios.py and ha/faults.py is judged by the checks here."""
from __future__ import annotations

from dataclasses import replace
from typing import Optional

from valkey_lab.checkers import availability, loss
from valkey_lab.checkers import invariants
from valkey_lab.checkers.scenario import linearizable_report, unavailable_s
from valkey_lab.checkers.topology import epochs, max_masters, sentinel_timeline
from valkey_lab.ha.topology import SENTINELS
from valkey_lab.history.view import RunView
from valkey_lab.checkers.verdict import Judgement as ScenarioResult, Verdict, unknown, verdict


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


def the_switch(h: RunView, n: int = 0) -> Optional[dict]:
    """The switch that answered fault ``n``: the first +switch-master after it, before the next
    fault, to a node other than the one faulted."""
    t = h.t_fault(n)
    return None if t is None else switch_of(h, t, h.t_fault(n + 1), away_from=tuple(h.victims(n)))


# -- small checkers: each returns one Verdict -----------------------------------------------------
def switched_away(h: RunView, n: int = 0) -> Verdict:
    name = "Sentinel published +switch-master to a node other than the faulted one"
    if h.t_fault(n) is None:
        return unknown(name, f"fault {n} (a nemesis start op)")
    switch = the_switch(h, n)
    if switch is None:
        return unknown(name, "a +switch-master after the fault", None, f"a new master other than {h.victims(n)}")
    return verdict(name, switch["new"] is not None, switch["data"], f"a new master other than {h.victims(n)}")


def promoted_answers_master(h: RunView, n: int = 0) -> Verdict:
    name = "the promoted node itself answered role:master (sampled INFO)"
    switch = the_switch(h, n)
    if switch is None or switch["new"] is None:
        return unknown(name, "the switch (+switch-master) naming the promoted node")
    after = h.roles(since=switch["time"])
    seen = next((s["time"] for s in after if switch["new"] in s["value"]["masters"]), None)
    if seen is None and not after:
        return unknown(name, "role snapshots after the switch")
    return verdict(name, seen is not None, None if seen is None else
                   f"{switch['new']} at +{seen - h.t_fault(n):.2f}s", f"{switch['new']} in role:master")


def client_followed(h: RunView, n: int = 0) -> Verdict:
    name = "the client followed the new master"
    switch = the_switch(h, n)
    if switch is None or switch["new"] is None:
        return unknown(name, "the switch (+switch-master) naming the new master")
    t = h.t_fault(n)
    follow = next((e for e in h.client_events("master-change") if e["time"] >= t
                   and h.node_of(e["value"]["to"]) == switch["new"]), None)
    return verdict(name, follow is not None, follow and f"{follow['value']['from']} -> {follow['value']['to']}",
                   f"-> {h.address(switch['new'])}")


def switch_checks(h: RunView, n: int, lane: str, bound: float, why: str) -> list[Verdict]:
    """What every failover shares: Sentinel switched away from the faulted master, the new
    master says so itself, the client came back within ``bound`` and followed, and no write
    sent into this fault (before the next one) failed for good."""
    t = h.t_fault(n)
    return [switched_away(h, n), promoted_answers_master(h, n),
            invariants.available_within(h, lane, t, bound, why), client_followed(h, n),
            invariants.no_failed_writes(h, lane, since=t, until=h.t_fault(n + 1))]


def before_sentinel_could_act(h: RunView, n: int, lane: str) -> Verdict:
    """A crash or a pause: no write may succeed before Sentinel could have acted."""
    down_after = h.settings["down_after_s"]
    return invariants.unavailable_at_least(h, lane, h.t_fault(n), down_after,
                                           f"Sentinel could act (down-after {down_after:g}s)")


def budget(h: RunView) -> tuple[float, str]:
    return h.settings["client_backoff"]["budget_s"], "the client's retry budget"


def switch_metrics(h: RunView, n: int = 0, lane: str = WAIT_LANE, prefix: str = "") -> dict:
    t = h.t_fault(n)
    switch = the_switch(h, n)
    victims = h.victims(n)
    switch_t = switch["time"] if switch else None
    ops = [op for op in h.lane(lane) if t is not None and op.t_invoke >= t]
    # The client's lag behind the switch: its first ok op invoked after +switch-master.
    first_ok = availability.first_ok_after([op for op in ops if op.t_invoke >= switch_t], switch_t) \
        if switch_t is not None else None
    follow = next((e for e in h.client_events("master-change") if t is not None and e["time"] >= t
                   and switch and h.node_of(e["value"]["to"]) == switch["new"]), None)
    return {f"{prefix}old_master": victims[0] if victims else None, f"{prefix}new_master": switch and switch["new"],
            f"{prefix}switch_s": None if switch_t is None else round(switch_t - t, 3),
            f"{prefix}unavailable_s": None if t is None else unavailable_s(h, t, lane),
            f"{prefix}client_lag_after_switch_s": availability.client_lag(
                switch_t, first_ok.t_complete if first_ok else None),
            f"{prefix}client_followed_after_switch_s": availability.client_lag(
                switch_t, follow["time"] if follow else None)}


def loss_checks(h: RunView, lane: str, replicas: int) -> list[Verdict]:
    """What asynchronous replication may lose: writes only the old master acknowledged. What it
    may not: writes ``replicas`` replicas acknowledged (WAIT); and a failed write is never applied."""
    return [invariants.acknowledged_writes(h, lane, min_replicated=replicas,
                                           name=f"no write acknowledged by {replicas} replica(s) (WAIT) was lost"),
            invariants.fail_applied(h, lane)]


def after_switch_kept(h: RunView, lane: str) -> Verdict:
    """When the old master can no longer answer (a kill, a pause), every write sent after the
    switch went to the new master: none may be lost."""
    name = "no write sent after +switch-master and acknowledged was lost (the new master took it)"
    switch = the_switch(h)
    if switch is None:
        return unknown(name, "the switch (+switch-master)")
    return invariants.acknowledged_writes(h, lane, since=switch["time"], name=name)


def loss_metrics(h: RunView, lane: str = WAIT_LANE, replicas: int = 1, label: str = "") -> dict:
    waited = invariants.lane_loss(h, lane, replicas)
    plain = invariants.lane_loss(h, lane)
    t = h.t_fault()
    risk = loss.at_risk(h.ops, t, h.settings.get("repl_lag_window_s", 1.0), lane=lane) if t is not None else {}
    return {f"{label}writes": len(h.lane(lane)), f"{label}acknowledged": plain["acknowledged"],
            f"{label}lost_wait_{replicas}": waited["lost"], f"{label}lost_plain": plain["lost"],
            f"{label}info_writes": plain["unknown"], f"{label}recovered_info_writes": plain["recovered"],
            f"{label}at_risk": risk.get("total")}


def counter_checks(h: RunView, r: ScenarioResult) -> None:
    """The INCR lane, when the workload has one: never applied twice; lost increments measured."""
    if not h.declared("counter"):
        return
    r.add(invariants.counter(h))
    got = loss.counter(h.client_records(("counter",)), lane="counter")
    r.metrics["counter_lost_increments"] = got.get("lost")


def rejoin_s(h: RunView, node: str, master: Optional[str], since: float) -> Optional[float]:
    """Seconds from ``since`` until a role sample showed ``node`` replicating ``master``, link up."""
    for s in h.roles(since=since, snapshots=False):
        state = (s["value"]["nodes"] or {}).get(node)
        if state and state["role"] == "slave" and state.get("master") == master and state.get("link") == "up":
            return round(s["time"] - since, 3)
    return None


def rejoined(h: RunView, node: Optional[str]) -> list[Verdict]:
    """The node is back as a replica: both replicas acknowledge a new write (WAIT 2) and the
    node serves it (what it serves is read on the node itself: a witness)."""
    heal = h.heal()
    since = heal["time"] if heal else (h.t_fault() or 0.0)
    probes = [op for op in h.lane("probe") if op.t_invoke >= since]
    name = "both replicas acknowledged a write after the rejoin (WAIT 2)"
    if not probes:
        return [unknown(name, "a probe write after the heal", None, 2),
                unknown(f"{node} serves that write as a replica", "a probe write after the heal", None, "1")]
    probe = probes[-1]
    acks = probe.replicated if probe.ok else None
    out = [verdict(name, acks == 2, acks if probe.ok else f"{probe.type}: {probe.error}", 2)]
    served = h.server("replica-values", node)
    name = f"{node} serves that write as a replica"
    if not served or probe.key not in served[-1]["value"]:
        out.append(unknown(name, f"a read of the probe key on {node}", None, "1"))
    else:
        value = served[-1]["value"][probe.key]
        out.append(verdict(name, value == "1", value, "1"))
    return out


def rejoin_metrics(h: RunView, node: str, master: Optional[str], label: str = "") -> dict:
    heal = h.heal()
    since = heal["time"] if heal else (h.t_fault() or 0.0)
    return {f"{label}{node}_rejoin_s": rejoin_s(h, node, master, since)}


def labelled(label: str, verdicts: list[Verdict]) -> list[Verdict]:
    return [replace(v, name=label + v.name) for v in verdicts]


# -- the scenarios' checks -----------------------------------------------------------------------
def crud(h: RunView, r: ScenarioResult) -> None:
    ops = h.lane("crud")
    by: dict[str, list] = {}
    for op in ops:
        by.setdefault(op.f, []).append(op)

    def first(f: str):
        return (by.get(f) or [None])[0]

    def result_check(name: str, f: str, want, ok=None):
        op = first(f)
        if op is None:
            return unknown(name, f"a {f} op in the history", None, want)
        if not op.ok:
            return verdict(name, False, f"{op.type}: {op.error}", want)
        return verdict(name, op.result == want if ok is None else ok(op.result), op.result, want)
    r.add(result_check("GET returns what SET wrote", "read", "hello"))
    incr = [op.result for op in by.get("incr", [])]
    r.check("INCR three times counts 1, 2, 3", incr == [1, 2, 3] if incr else None, incr, expected=[1, 2, 3],
            missing=None if incr else "the INCR ops")
    r.add(result_check("HSET / HGETALL round-trips", "hgetall", {"f1": "a", "f2": "b"}))
    r.add(result_check("EXPIRE sets a TTL in (0, 100]", "ttl", "(0, 100]",
                       ok=lambda v: v is not None and 0 < v <= 100))
    r.add(result_check("DEL removes the key", "del", 1))
    r.add(result_check("EXISTS finds no deleted key", "exists", 0))
    r.add(result_check("WAIT: every replica acknowledged (2 in this topology)", "wait", 2))
    named = {rec["value"] for rec in h.server("sentinel-master")}
    connected = (h.client_events("master") or [{"value": {}}])[-1]["value"].get("to")
    r.check("the client talks to the master the Sentinels name", len(named) == 1 and
            h.address(next(iter(named))) == connected if named and connected else None,
            {"client": connected, "sentinels": sorted(map(str, named))},
            missing=None if named and connected else "the Sentinels' answers and the client's master")
    expected = {"s": "hello", "n": "3", "h": {"f1": "a", "f2": "b"}, "tmp": 0}
    replicas = h.server("replica-values")
    r.check("both replicas were read back", len(replicas) == 2 if replicas else None, len(replicas), 2,
            missing=None if replicas else "reads on the replicas")
    for rec in replicas:
        r.check(f"{rec['node']} reads back every value", rec["value"] == expected, rec["value"], expected=expected)
    r.metrics.update({"master": next(iter(named), None), "replicas_checked": len(replicas)})
    r.details["replica_reads"] = [{"replica": rec["node"], **rec["value"]} for rec in replicas]


def failover(h: RunView, r: ScenarioResult) -> None:
    r.add(switch_checks(h, 0, WAIT_LANE, *budget(h)), before_sentinel_could_act(h, 0, WAIT_LANE),
          invariants.one_writable_master(h))
    r.metrics.update(switch_metrics(h))
    r.metrics["down_after_s"] = h.settings["down_after_s"]
    t = h.t_fault()
    r.details["timeline"] = sentinel_timeline(h.records, t, since=t - 1) if t is not None else []


def discovery(h: RunView, r: ScenarioResult) -> None:
    switch = the_switch(h)
    new = switch and switch["new"]
    missing = None if new else "the switch (+switch-master) naming the new master"
    views = h.server("sentinels")
    named = {s: (v or {}).get("master") for s, v in (views[-1]["value"] if views else {}).items()}
    r.check("every Sentinel names the master +switch-master announced",
            len(named) == 3 and set(named.values()) == {new} if new and views else None,
            named, expected=new, missing=missing or (None if views else "samples of the Sentinels' view"))
    roles = h.roles()
    last = roles[-1]["value"]["masters"] if roles else None
    r.check("that node, and only it, answers role:master (sampled INFO)", last == [new] if new and roles else None,
            last, expected=[new],
            missing=missing or (None if roles else "role snapshots"))
    changes = h.client_events("master-change")
    r.check("the client is connected to it",
            bool(changes) and h.node_of(changes[-1]["value"]["to"]) == new if new else None,
            changes[-1]["value"]["to"] if changes else None, expected=h.address(new) if new else None,
            missing=missing)
    r.metrics.update({"new_master": new, "address": h.address(new) if new else None})
    r.details["sentinels"] = [{"sentinel": s, "names": n} for s, n in named.items()]


SLEEP_SLACK_S = 0.1  # a sleeping thread wakes a little late on a busy machine


def retry_backoff(h: RunView, r: ScenarioResult) -> None:
    """The client's backoff, measured: each retry event is recorded when its sleep ended, and
    carries when it began (``at``): the sleep is the difference, on the history's clock."""
    policy = h.settings["client_backoff"]
    t = h.t_fault() or 0.0
    events = h.client_events("retry")
    retries = [e["value"] for e in events]
    slept = [round(e["time"] - e["value"]["at"], 4) for e in events]
    switches = [e["time"] for e in h.server("sentinel-event") if e["value"]["event"] == "+switch-master"]
    floor = lambda n: min(policy["base_s"] * 2 ** (n - 1), policy["cap_s"])  # noqa: E731
    r.check("the client retried during the failover", len(retries) >= 1, len(retries), expected=">= 1")
    cap = policy["cap_s"] + policy.get("jitter_s", 0) + SLEEP_SLACK_S
    r.check(f"every measured sleep is at most the cap ({policy['cap_s']}s + jitter)",
            all(s <= cap for s in slept), max(slept, default=None), expected=f"<= {cap:g}",
            missing=None if slept else "retry events")
    # A sleep may end early only because +switch-master woke it.
    short = [(x["retry"], s) for e, x, s in zip(events, retries, slept) if s < floor(x["retry"]) - 0.005
             and not any(x["at"] <= w <= e["time"] + 0.05 for w in switches)]
    r.check("sleeps grow: retry n sleeps at least min(base*2^(n-1), cap), unless +switch-master woke it",
            not short, short[:5] or slept[:12], expected="none shorter", missing=None if slept else "retry events")
    r.metrics.update({"retries": len(retries), "max_delay_s": round(max((x["delay_s"] for x in retries), default=0), 3),
                      "max_slept_s": max(slept, default=None),
                      "base_s": policy["base_s"], "cap_s": policy["cap_s"], "budget_s": policy["budget_s"],
                      "sleeps_cut_short_by_switch_master": sum(
                          1 for x, s in zip(retries, slept) if s < x["delay_s"] - 0.02)})
    r.details["retries"] = [{"t_s": round(x["at"] - t, 3), "op": x["op"], "retry": x["retry"],
                             "delay_s": round(x["delay_s"], 3), "slept_s": s,
                             "error": x["error"]} for x, s in list(zip(retries, slept))[:30]]


def consistency(h: RunView, r: ScenarioResult) -> None:
    r.add(loss_checks(h, WAIT_LANE, 1), after_switch_kept(h, WAIT_LANE))
    counter_checks(h, r)
    r.metrics.update(loss_metrics(h))
    # An independent witness: after the rejoin, every replica serves what the master served.
    served = h.server("replica-values")
    r.check("both replicas were read after the rejoin", len(served) >= 2 if served else None, len(served), ">= 2",
            missing=None if served else "reads on the replicas")
    for rec in served:
        compared = [k for k in rec["value"] if k in h.final]
        differ = [k for k in compared if h.final[k] != rec["value"][k]]
        r.check(f"{rec['node']} serves every written key as the master does (after the rejoin)", not differ,
                {"compared": len(compared), "differ": differ[:3]}, expected="no difference",
                missing=None if compared else "keys read both on the master and on the replica")


def rejoin(h: RunView, r: ScenarioResult) -> None:
    victims = h.victims()
    switch = the_switch(h)
    if not victims:
        r.check("the master was killed", None, None, missing="the fault (a nemesis start op)")
        return
    r.add(rejoined(h, victims[0]))
    r.metrics.update(rejoin_metrics(h, victims[0], switch and switch["new"]))
    r.metrics.update({"rejoined": victims[0], "master": switch and switch["new"]})


def replica_sync(h: RunView, r: ScenarioResult) -> None:
    probe = (h.lane("probe") or [None])[-1]
    r.check("a write was acknowledged by both replicas (WAIT 2)", probe.replicated == 2 if probe else None,
            probe and probe.replicated, expected=2, missing=None if probe else "the probe write")
    master_rec = (h.server("master-offset") or [None])[-1]
    rows = [rec["value"] for rec in h.server("replica-state")]
    r.check("both replicas' states were read", len(rows) == 2 if rows and master_rec else None, len(rows), 2,
            missing=None if rows and master_rec else "the master's offset and the replicas' states")
    for s in rows:
        ok = (master_rec is not None and s["role"] == "slave" and s["master"] == master_rec["node"]
              and s["link"] == "up" and s["offset"] is not None and s["offset"] >= master_rec["value"])
        r.check(f"{s['node']} replicates {s['master']}, link up, at or past the master's offset after WAIT", ok,
                {k: s[k] for k in ("role", "master", "link", "offset")},
                expected=master_rec and {"master": master_rec["node"], "offset": f">= {master_rec['value']}"})
    r.metrics.update({"master": master_rec and master_rec["node"], "replicas_in_sync": len(rows),
                      "max_lag_bytes": max((s["lag_bytes"] or 0 for s in rows), default=None)})
    r.details["replicas"] = rows


MIN_SNAPSHOTS_PER_S = 2  # the roles observer samples every ~0.1 s; fewer than this is a gap in the evidence


def quorum_safety(h: RunView, r: ScenarioResult) -> None:
    t_kill = h.t_fault(1)
    sentinels_back = h.heal(target="sentinels:2")
    victims = h.victims(1)
    down_after = h.settings["down_after_s"]
    if t_kill is None or sentinels_back is None:
        r.check("the faults ran (2 Sentinels, then the master killed; the Sentinels restarted)", None,
                {"kill": t_kill, "restore": sentinels_back}, missing="the nemesis ops of both faults")
        return
    t_back = sentinels_back["time"]
    held = t_back - t_kill
    r.check("the master stayed down without quorum for >= 3x down-after", held >= 3 * down_after, round(held, 3),
            f">= {3 * down_after:g}")
    snaps = h.roles(since=t_kill, until=t_back)
    promoted = [s for s in snaps if set(s["value"]["masters"]) - set(victims)]
    need = int(MIN_SNAPSHOTS_PER_S * held)
    r.check(f"no replica promoted while 1 of 3 Sentinels ran ({held:.1f}s)", not promoted,
            promoted[0]["value"]["masters"] if promoted else f"{len(snaps)} snapshots, none",
            expected="no master but the killed one",
            missing=None if len(snaps) >= need else f"role snapshots in that window ({len(snaps)} of at least {need})")
    survivor = SENTINELS[0]
    lone = [e for e in h.server("sentinel-event", survivor) if t_kill <= e["time"] <= t_back]
    # The master's +sdown: the lone Sentinel also calls the two stopped Sentinels down.
    sdown = next((e for e in lone if e["value"]["event"] == "+sdown" and e["value"]["data"].startswith("master ")),
                 None)
    r.check("the lone Sentinel saw the master down (+sdown)", sdown is not None if lone else None,
            sdown and sdown["value"]["data"],
            "+sdown", missing=None if lone else "events of the lone Sentinel in that window")
    early = h.first_event("+switch-master", t_kill, t_back)
    r.check("no Sentinel published +switch-master without the quorum", early is None,
            early and early["value"]["data"], "none", missing=None if lone else "Sentinel events in that window")
    switch = switch_of(h, t_back, away_from=tuple(victims))
    r.check("with the quorum back, Sentinel failed over to a replica", switch["new"] not in victims if switch else None,
            switch and switch["data"],
            missing=None if switch else "a +switch-master after the Sentinels came back")
    r.metrics.update({"held_without_promotion_s": round(held, 3),
                      "failover_after_restore_s": None if switch is None else round(switch["time"] - t_back, 3),
                      "old_master": victims[0] if victims else None, "new_master": switch and switch["new"]})
    heal = h.heal(1)
    if heal and victims and switch:
        r.metrics[f"{victims[0]}_rejoin_s"] = rejoin_s(h, victims[0], switch["new"], heal["time"])
    r.details["timeline"] = sentinel_timeline(h.records, t_kill, since=t_kill - 1)


def pause(h: RunView, r: ScenarioResult) -> None:
    r.add(labelled("paused master: ", switch_checks(h, 0, WAIT_LANE, *budget(h))),
          labelled("paused master: ", [before_sentinel_could_act(h, 0, WAIT_LANE)]),
          loss_checks(h, WAIT_LANE, 1), after_switch_kept(h, WAIT_LANE), invariants.one_writable_master(h))
    counter_checks(h, r)
    r.metrics.update({**switch_metrics(h), **loss_metrics(h)})
    if h.victims():
        switch = the_switch(h)
        r.add(rejoined(h, h.victims()[0]))
        r.metrics.update(rejoin_metrics(h, h.victims()[0], switch and switch["new"]))


def manual(h: RunView, r: ScenarioResult) -> None:
    # Sentinel's manual failover does not stop writes on the old master first: no gap is
    # promised, and only writes both replicas acknowledged are.
    r.add(labelled("SENTINEL FAILOVER: ", switch_checks(h, 0, "wait2", *budget(h))), loss_checks(h, "wait2", 2))
    # Nor are plain INCRs promised: the old master keeps counting after the promotion, those
    # increments are lost and the new master hands the same values out again. Measured only.
    if h.lane("counter"):
        got = loss.counter(h.client_records(("counter",)), lane="counter")
        r.metrics.update({"counter_lost_increments": got.get("lost"),
                          "counter_duplicate_results": len(got.get("duplicate_results") or [])})
    r.metrics.update({**switch_metrics(h, lane="wait2"), **loss_metrics(h, "wait2", 2)})
    r.metrics["failover_requests"] = len(h.harness("failover-request"))
    r.metrics["note"] = ("Sentinel's manual failover does not stop writes on the old master: only writes both "
                         "replicas acknowledged are promised; lost_plain shows the rest")


def second_failover_bound(h: RunView) -> tuple[float, str]:
    """A Sentinel that took part in a failover waits 2x failover-timeout before another one
    for the same master: the second switch may take that long."""
    return (2 * h.settings["failover_timeout_s"] + h.settings["down_after_s"] + 5,
            "Sentinel's bound for a second failover, 2 x failover-timeout + down-after + 5 s")


MIN_SNAPSHOTS = 20


def chained(h: RunView, r: ScenarioResult) -> None:
    r.add(labelled("first kill: ", switch_checks(h, 0, WAIT_LANE, *budget(h))),
          labelled("second kill: ", switch_checks(h, 1, WAIT_LANE, *second_failover_bound(h))),
          loss_checks(h, WAIT_LANE, 1))
    r.metrics.update({**switch_metrics(h, 0, prefix="first_"), **switch_metrics(h, 1, prefix="second_"),
                      **loss_metrics(h)})
    second = the_switch(h, 1)
    heal = h.heal()
    t_heal = heal["time"] if heal else None
    # Until the killed nodes were restarted, at most one server may call itself master (a
    # restarted old master claims master at once: the cut is when its restart began).
    t_restart = heal["params"].get("began", t_heal) if heal else None
    masters = max_masters([rec for rec in h.records if t_restart is None or rec["time"] < t_restart])
    r.check("at most one master at every snapshot until the restarts", masters["valid"],
            {k: masters[k] for k in ("snapshots", "max_masters", "violations")},
            expected="no snapshot with two masters",
            missing=None if masters["snapshots"] >= MIN_SNAPSHOTS else
            f"role snapshots ({masters['snapshots']} of at least {MIN_SNAPSHOTS})")
    ep = epochs(h.records)
    tops = [e["value"] for e in h.server("epoch") if e["value"] is not None]
    r.check("the config epoch never went down, and rose with each of the two failovers",
            ep["valid"] and max(tops) >= min(tops) + 2 if tops else None, {"min": min(tops, default=None),
                                                                        "max": max(tops, default=None)},
            missing=None if tops else "epoch samples")
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


def _stale_node(h: RunView):
    """The partition rounds' writer holds a connection to the master it started with: the
    node that was then partitioned (lane ``stale``), unless its completions name the node."""
    victim = (h.victims() or [None])[0]
    return lambda op: op.extra.get("node") or (victim if op.lane == "stale" else None)


def _judge_round(h: RunView, r: ScenarioResult, guarded: bool) -> dict:
    label = "with min-replicas-to-write 1: " if guarded else "without min-replicas-to-write: "
    t_cut = h.t_fault()
    switch = the_switch(h)
    r.add(labelled(label, [replace(switched_away(h), name="the majority side promoted another master")]))
    acked = invariants.lane_loss(h, "stale")
    waited = invariants.lane_loss(h, "stale", 1)
    r.add(labelled(label, [invariants.acknowledged_writes(h, "stale", min_replicated=1,
                                                          name="no WAIT-acknowledged write was lost")]))
    ok = [op for op in h.lane("stale") if op.ok]
    after_switch = [op for op in ok if switch and op.t_complete > switch["time"]]
    last_ok = max((op.t_complete for op in ok), default=t_cut)
    lag = h.settings["min_replicas_max_lag_s"]
    split = invariants.one_writable_master(h, attribute=_stale_node(h))
    if guarded:
        r.check(f"{label}the isolated master stopped acknowledging writes within max-lag + 2 s of the cut",
                last_ok - t_cut <= lag + 2 if t_cut is not None else None, round(last_ok - t_cut, 3) if t_cut else None,
                expected=f"<= {lag + 2}", missing=None if t_cut is not None else "the partition (a nemesis op)")
    else:
        r.add(labelled(label, [invariants.expect_invalid(split, "the isolated master keeps acknowledging writes "
                                                                "after the switch: split brain")]))
        r.add(labelled(label, [invariants.all_lost(h, after_switch, "every write the isolated master acknowledged "
                                                                    "after the switch was lost after the heal")]))
    heal = h.heal()
    return {"old": (h.victims() or [None])[0], "new": switch and switch["new"],
            "acknowledged": acked["acknowledged"], "lost_acknowledged": acked["lost"],
            "lost_wait_acknowledged": waited["lost"], "acked_after_switch": len(after_switch),
            "overlap_s": split.observed and split.observed.get("overlap_s"),
            "refused": acked["failed"], "unavailable_s": availability.client_lag(t_cut, last_ok),
            "rejoin_after_heal_s": rejoin_s(h, (h.victims() or [None])[0], switch and switch["new"], heal["time"])
            if heal and switch else None}


def partition(h: RunView, r: ScenarioResult) -> None:
    without = _judge_round(h.round("partition:without"), r, guarded=False)
    guarded = _judge_round(h.round("partition:with"), r, guarded=True)
    r.check("min-replicas-to-write lost fewer acknowledged writes", guarded["lost_acknowledged"]
            < without["lost_acknowledged"], {"without": without["lost_acknowledged"],
                                              "with": guarded["lost_acknowledged"]})
    r.metrics.update({"lost_acked_without_min_replicas": without["lost_acknowledged"],
                      "lost_acked_with_min_replicas": guarded["lost_acknowledged"],
                      "lost_wait_acked_without": without["lost_wait_acknowledged"],
                      "lost_wait_acked_with": guarded["lost_wait_acknowledged"],
                      "two_masters_overlap_without_s": without["overlap_s"],
                      "min_replicas_max_lag_s": h.settings["min_replicas_max_lag_s"],
                      "write_window_after_switch_s": WINDOW_AFTER_SWITCH_S})
    r.details["rounds"] = [{"round": "without", **without}, {"round": "with min-replicas-to-write 1", **guarded}]


def linearizable_kill(h: RunView, r: ScenarioResult) -> None:
    r.add(switch_checks(h, 0, "register", *budget(h)))
    v, got = invariants.linearizable(h)
    r.add(invariants.explained_by_lost_window(h, got))
    if v.valid is None:
        r.add(v)
    linearizable_report(h, r, got)


def linearizable_partition(h: RunView, r: ScenarioResult) -> None:
    r.add(replace(switched_away(h), name="the majority side promoted another master"))
    v, got = invariants.linearizable(h)
    r.add(invariants.expect_invalid(v, "Jepsen's finding: a client on the isolated master reads and writes "
                                       "a value the majority never sees"))
    linearizable_report(h, r, got)


# =========================================================== generated tests: the faults real networks make
# Each judgement below is a pure function of the history, three-valued: what the history lacks
# makes a verdict unknown (never a pass), with what is missing.
LOSS_PERCENTS = (10, 30, 60)
ONE_WAY_DIRECTIONS = ("out", "in")
BANDWIDTH_RATES = (("none", None), ("replica", "24mbit"), ("master", "24mbit"))
WRITE_FS = ("write", "cas", "incr")
STALE_EVENTS = ("+sdown", "+odown", "+try-failover", "+elected-leader", "+switch-master")
TILT_PERIOD_S = 30.0  # Sentinel's default (SENTINEL DEBUG tilt-period); the lab leaves it


def register_only(h: RunView, lanes: tuple = ("register",)) -> RunView:
    """The run with only the client ops on the register's keys (its lanes' ops and the final
    reads of those keys): what the linearizability checker judges when other lanes ran too."""
    keys = {op.key for op in h.ops if op.lane in lanes or (op.lane or "").startswith("stale:")}
    return RunView([rec for rec in h.records if rec.get("kind") != "client" or rec.get("key") in keys], h.name,
                   h.settings)


def _percentile(values: list, q: float) -> Optional[float]:
    if not values:
        return None
    values = sorted(values)
    return round(values[min(len(values) - 1, int(q * len(values)))], 4)


def window_stats(h: RunView, lane: str, t0: float, t1: float) -> dict:
    """The ops of ``lane`` that completed in [t0, t1): counts by outcome, ok per second, latency
    of the ok ones (ms), and the longest wait between two ok completions in the window."""
    ops = [op for op in h.lane(lane) if op.t_complete is not None and t0 <= op.t_complete < t1]
    ok = [op for op in ops if op.ok]
    done = sorted(op.t_complete for op in ok)
    edges = [t0, *done, t1]
    lat = [1000 * (op.t_complete - op.t_invoke) for op in ok]
    return {"ok": len(ok), "fail": sum(op.type == "fail" for op in ops), "info": sum(op.type == "info" for op in ops),
            "ok_per_s": round(len(ok) / (t1 - t0), 1) if t1 > t0 else None,
            "latency_p50_ms": _percentile(lat, 0.5), "latency_p99_ms": _percentile(lat, 0.99),
            "longest_gap_s": round(max((b - a for a, b in zip(edges, edges[1:])), default=0.0), 3)}


def writable_view(h: RunView) -> RunView:
    """The run's history with each role snapshot's masters cut down to the masters *accepting
    writes* then: a node counts from the first to the last write it acknowledged (the node on
    the completion, invariants.attribution) in one term, a term ending when a role sample shows
    it replicating. A node that calls itself master but takes no write (an old master restarted
    empty, before Sentinel converts it) is not a second writable master; one that acknowledges
    writes on both sides of another's is."""
    who = invariants.attribution(h)
    acks = sorted((op.t_complete, node) for op in h.ops if op.ok and op.f in WRITE_FS and op.t_complete is not None
                  and (node := who(op)) is not None)
    demoted: dict[str, list[float]] = {}
    for s in h.roles(snapshots=False):
        for node, st in (s["value"].get("nodes") or {}).items():
            if st and st.get("role") == "slave":
                demoted.setdefault(node, []).append(s["time"])
    spans: dict[str, list[list[float]]] = {}
    for t, node in acks:
        terms = spans.setdefault(node, [])
        if terms and not any(terms[-1][1] < d < t for d in demoted.get(node, [])):
            terms[-1][1] = t
        else:
            terms.append([t, t])

    def accepting(node: str, t: float) -> bool:
        return any(a <= t <= b for a, b in spans.get(node, []))
    records = []
    for rec in h.records:
        if rec.get("kind") == "server" and rec.get("f") == "roles" and rec["value"].get("snapshot"):
            value = {**rec["value"], "masters": [m for m in rec["value"]["masters"] if accepting(m, rec["time"])]}
            rec = {**rec, "value": value}
        records.append(rec)
    return RunView(records, h.name, h.settings)


def one_master_accepting(h: RunView, window_s: float = 1.0) -> Verdict:
    """invariants.one_writable_master on the writable view: no write acknowledged by a node
    while another node was accepting writes too."""
    return invariants.one_writable_master(writable_view(h), window_s)


def same_master(h: RunView, since: Optional[float], until: Optional[float], why: str) -> Verdict:
    """No failover in [since, until]: every role snapshot names one master, the same, and so
    does every Sentinel's view (sampled); no +switch-master was published."""
    name = f"no failover ({why}): one and the same master in every role sample and every Sentinel's view"
    if since is None or until is None:
        return unknown(name, "the fault and its end (nemesis ops)")
    snaps = h.roles(since=since, until=until)
    need = max(2, int(MIN_SNAPSHOTS_PER_S * (until - since)))
    masters = sorted({m for s in snaps for m in s["value"]["masters"]})
    named = sorted({(v or {}).get("master") for rec in h.server("sentinels") if since <= rec["time"] <= until
                    for v in rec["value"].values() if v})
    switch = h.first_event("+switch-master", since, until)
    evidence = {"role_samples": len(snaps), "masters": masters, "sentinels_named": named,
                "switch": switch and switch["value"]["data"]}
    if switch is not None or len(masters) > 1 or len(named) > 1 or (masters and named and masters != named):
        return verdict(name, False, evidence, "one master")
    if len(snaps) < need or not named:
        return unknown(name, f"role samples and Sentinel views in that window ({len(snaps)} of at least {need})",
                       evidence, "one master")
    return verdict(name, True, evidence, "one master")


def served_after_heal(h: RunView, lane: str = WAIT_LANE) -> Verdict:
    heal = h.heal()
    return invariants.available_within(h, lane, heal and heal["time"], budget(h)[0],
                                       "the client's retry budget after the heal")


def converged_after_heal(h: RunView) -> Verdict:
    heal = h.heal()
    return invariants.converged(h, heal and heal["time"], h.settings["rejoin_deadline_s"])


def _events_of(h: RunView, events: tuple, since: float, until: Optional[float] = None,
               node: Optional[str] = None) -> list[dict]:
    return [e for e in h.server("sentinel-event") if e["value"]["event"] in events and e["time"] >= since
            and (until is None or e["time"] <= until) and (node is None or e["node"] == node)]


def acked_by_after(h: RunView, node: Optional[str], t: Optional[float]) -> int:
    """Writes acknowledged by ``node`` (attributed) that completed after ``t``."""
    if node is None or t is None:
        return 0
    who = invariants.attribution(h)
    return sum(1 for op in h.ops if op.ok and op.f in WRITE_FS and op.t_complete is not None and op.t_complete > t
               and who(op) == node)


def packet_loss(h: RunView, r: ScenarioResult) -> None:
    """Per loss rate: nothing WAIT-acknowledged lost, no failed write applied, no INCR twice,
    one master accepting writes at a time; after the heal, served again and converged. What
    Sentinel and the clients did is measured."""
    rounds = []
    for percent in LOSS_PERCENTS:
        v, label = h.round(f"loss:{percent}"), f"{percent} % loss: "
        t, heal = v.t_fault(), v.heal()
        if not v or t is None or heal is None:
            r.check(f"{label}the round ran (a loss fault and its heal)", None, missing="the round's nemesis ops")
            continue
        r.add(labelled(label, loss_checks(v, WAIT_LANE, 1) + [one_master_accepting(v), served_after_heal(v),
                                                              converged_after_heal(v)]))
        if v.declared("counter"):
            r.add(labelled(label, [invariants.counter(v)]))
        if percent == min(LOSS_PERCENTS):
            r.add(labelled(label, [same_master(v, t, heal["time"], f"a lossy link ({percent} % of the packets)")]))
        before = window_stats(v, WAIT_LANE, max(0.0, t - 1.0), t)
        during = window_stats(v, WAIT_LANE, t, heal["time"])
        incr = window_stats(v, "counter", t, heal["time"])
        switch = switch_of(v, t, heal["time"] + h.settings["switch_deadline_s"], away_from=tuple(v.victims()))
        sdown = _events_of(v, ("+sdown",), t, heal["time"])
        row = {"percent": percent, "ok_per_s_before": before["ok_per_s"], **during,
               "sdown_master": len([e for e in sdown if e["value"]["data"].startswith("master")]),
               "odown": len(_events_of(v, ("+odown",), t, heal["time"])),
               "failover_s": switch and round(switch["time"] - t, 3), "new_master": switch and switch["new"],
               "retries": sum(1 for e in v.client_events("retry") if t <= e["time"] <= heal["time"]),
               "lost_plain": invariants.lane_loss(v, WAIT_LANE)["lost"],
               "incr_ok_per_s": incr["ok_per_s"], "incr_info": incr["info"],
               "incr_latency_p99_ms": incr["latency_p99_ms"]}
        rounds.append(row)
        r.metrics[f"loss_{percent}_wait1_ok_per_s"] = during["ok_per_s"]
        r.metrics[f"loss_{percent}_incr_ok_per_s"] = incr["ok_per_s"]
        r.metrics[f"loss_{percent}_failover_s"] = row["failover_s"]
    r.details["rounds"] = rounds


def acked_by(h: RunView, node: Optional[str], since: Optional[float]) -> list:
    """The writes ``node`` acknowledged (attributed) that completed after ``since``."""
    if node is None or since is None:
        return []
    who = invariants.attribution(h)
    return [op for op in h.ops if op.ok and op.f in WRITE_FS and op.t_complete is not None and op.t_complete > since
            and who(op) == node]


def one_way(h: RunView, r: ScenarioResult) -> None:
    """Per direction: Sentinel fails over and the client follows; nothing WAIT-acknowledged is
    lost; every write the old master acknowledged after its replica's promotion (before the
    client learnt of the switch: the split brain's window) is gone after the heal; healed, the
    old master rejoins as a replica and the topology converges."""
    rounds = []
    for direction in ONE_WAY_DIRECTIONS:
        v = h.round(f"one_way:{direction}")
        label = f"master can't {'send' if direction == 'out' else 'receive'}: "
        if not v or v.t_fault() is None:
            r.check(f"{label}the round ran", None, missing="the round's nemesis ops")
            continue
        victim = (v.victims() or [None])[0]
        switch = the_switch(v)
        promoted_at = next((s["time"] for s in v.roles(since=v.t_fault()) if switch and switch["new"]
                            in s["value"]["masters"]), None)
        stale = acked_by(v, victim, promoted_at)
        r.add(labelled(label, switch_checks(v, 0, WAIT_LANE, *budget(v)) + loss_checks(v, WAIT_LANE, 1)
                       + [invariants.all_lost(v, stale, "every write the old master acknowledged after its replica's "
                                                        "promotion was lost after the heal"),
                          converged_after_heal(v)] + rejoined(v, victim)))
        m = switch_metrics(v)
        split = one_master_accepting(v)
        rounds.append({"direction": direction, **{k: m[k] for k in ("switch_s", "unavailable_s", "new_master")},
                       "acked_by_old_master_after_promotion": len(stale),
                       "two_masters_accepting_overlap_s": (split.observed or {}).get("overlap_s")
                       if isinstance(split.observed, dict) else None,
                       **{k: val for k, val in loss_metrics(v).items() if k in ("acknowledged", "lost_plain",
                                                                               "lost_wait_1")},
                       **rejoin_metrics(v, victim, switch and switch["new"])})
        r.metrics[f"{direction}_switch_s"] = m["switch_s"]
        r.metrics[f"{direction}_acked_by_old_master_after_promotion"] = len(stale)
    r.details["rounds"] = rounds


def _fill(h: RunView) -> Optional[dict]:
    found = [rec["value"] for rec in h.all_records if rec.get("kind") == "server" and rec.get("f") == "fill"]
    return found[-1] if found else None


def link_timeline(h: RunView, node: str, t0: float) -> list[dict]:
    """``node``'s replication as its sync samples show it: one row per change of link or sync state."""
    rows, last = [], None
    for rec in h.server("sync", node):
        val = rec["value"]
        state = (val.get("master_link_status"), val.get("master_sync_in_progress"), val.get("role"))
        if state != last:
            rows.append({"t_s": round(rec["time"] - t0, 3), "link": state[0], "sync_in_progress": state[1],
                         "read_mb": round(int(val.get("master_sync_read_bytes") or 0) / 2 ** 20, 1),
                         "total_mb": round(int(val.get("master_sync_total_bytes") or 0) / 2 ** 20, 1)
                         if int(val.get("master_sync_total_bytes") or 0) > 0 else None})
            last = state
    return rows


def bandwidth(h: RunView, r: ScenarioResult) -> None:
    """Per round (no limit, the replica's links limited, the master's): the replica asked for a
    full resync did one and its link came up; with a limit, not faster than the data set over
    the rate allows (the limit held); no failover, nothing WAIT-acknowledged lost. The link's
    state over time and the clients' writes during the sync are measured."""
    fill = _fill(h)
    rounds = []
    for where, rate in BANDWIDTH_RATES:
        v, label = h.round(f"bandwidth:{where}"), f"{where if rate else 'no'} limit: "
        resync = (v.server("resync") or [None])[-1] if v else None
        if resync is None:
            r.check(f"{label}the round ran (a replica asked for a full resync)", None,
                    missing="the round's resync record")
            continue
        node, t0 = resync["node"], resync["time"]
        samples = [rec for rec in v.server("sync", node) if rec["time"] >= t0]
        synced = next((rec for rec in samples if rec["value"].get("master_link_status") == "up"), None)
        syncing = [rec for rec in samples if synced is None or rec["time"] < synced["time"]]
        sync_s = synced and round(synced["time"] - t0, 3)
        done = (v.server("resync-done") or [None])[-1]
        full = done and done["value"]["sync_full"] - resync["value"].get("sync_full_before", 0)
        r.check(f"{label}{node} did a full resync (the master served one more full sync) and its link came up",
                None if done is None or not samples else synced is not None and full >= 1,
                {"sync_s": sync_s, "full_syncs_served": full, "samples_while_syncing": len(syncing)},
                "1 full sync, link up", missing=None if samples and done else
                f"sync samples of {node} after the resync and the master's sync_full after it")
        lim = v.fault(kind="bandwidth")
        end = v.heal(kind="bandwidth")
        if rate is not None and fill is not None:
            # A slow sync proves the limit held only if the limit was set: the fault's record.
            floor = round(0.8 * fill["mb"] * 2 ** 20 * 8 / parse_bits(rate), 3)
            r.check(f"{label}the sync took at least 0.8 x data set / rate ({fill['mb']} MB at {rate}): the limit held",
                    None if sync_s is None or lim is None else sync_s >= floor, sync_s, f">= {floor}",
                    missing="the bandwidth fault's start" if lim is None else
                    None if synced else "the link up after the resync")
        t_start = lim["time"] if lim else t0
        t_end = end["time"] if end else (synced["time"] + 1.0 if synced else None)
        r.add(labelled(label, [same_master(v, t_start, t_end, "a full resync, links limited or not")]
                       + loss_checks(v, WAIT_LANE, 1)))
        during = window_stats(v, WAIT_LANE, t0, synced["time"] if synced else (t_end or t0))
        rounds.append({"limit": where if rate else "none", "rate": rate, "node": node, "sync_s": sync_s,
                       "writes_during_sync": during})
        key = where if rate else "unlimited"
        r.metrics[f"{key}_sync_s"] = sync_s
        r.metrics[f"{key}_write_p99_ms_during_sync"] = during["latency_p99_ms"]
        r.details[f"{key}_link_over_time"] = link_timeline(v, node, t0)
    r.metrics["data_set_mb"] = fill and fill["mb"]
    r.details["rounds"] = rounds


def parse_bits(rate: str) -> float:
    """"24mbit" -> 24e6 bits per second (the fault's own parameter, as tc reads it)."""
    units = {"kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "bit": 1.0}
    for unit, scale in units.items():
        if rate.endswith(unit):
            return float(rate[: -len(unit)]) * scale
    raise ValueError(f"not a rate: {rate!r}")


def hung_master(h: RunView, r: ScenarioResult) -> None:
    """DEBUG SLEEP longer than down-after: Sentinel fails over as for a crash; once awake, the
    old master is demoted (a role sample shows it replicating the new master) and refuses a
    write sent straight to it (READONLY)."""
    r.add(labelled("hung master: ", switch_checks(h, 0, WAIT_LANE, *budget(h))
                   + [before_sentinel_could_act(h, 0, WAIT_LANE)]),
          loss_checks(h, WAIT_LANE, 1), [one_master_accepting(h)])
    counter_checks(h, r)
    victim = (h.victims() or [None])[0]
    switch = the_switch(h)
    wake = h.heal()
    name = "awake, the old master was demoted: a role sample shows it replicating the new master"
    if wake is None or switch is None or victim is None:
        r.check(name, None, missing="the switch and the end of the sleep (nemesis end)")
    else:
        back = rejoin_s(h, victim, switch["new"], wake["time"])
        sampled = bool(h.roles(since=wake["time"]))
        r.check(name, back is not None and back <= h.settings["rejoin_deadline_s"] if sampled else None, back,
                f"<= {h.settings['rejoin_deadline_s']}", missing=None if sampled else "role samples after it woke")
        claimed = [s["time"] for s in h.roles(since=wake["time"]) if victim in s["value"]["masters"]]
        r.metrics["woke_still_master_s"] = round(claimed[-1] - wake["time"], 3) if claimed else 0.0
        r.metrics["acked_by_old_master_after_waking"] = acked_by_after(h, victim, wake["time"])
        r.metrics["demoted_after_waking_s"] = back
    direct = (h.lane("old-master") or [None])[-1]
    r.check("the demoted old master refused a write sent straight to it (READONLY)",
            None if direct is None else direct.type == "fail" and "READONLY" in (direct.error or "").upper(),
            direct and (direct.error or direct.type), "fail: READONLY",
            missing=None if direct else "the direct write to the old master")
    fault = h.fault() or {"params": {}}
    r.metrics.update({**switch_metrics(h), "sleep_s": fault["params"].get("seconds")})
    r.details["timeline"] = sentinel_timeline(h.records, h.t_fault() or 0.0, since=(h.t_fault() or 1.0) - 1)


def sentinel_stall(h: RunView, r: ScenarioResult) -> None:
    """A Sentinel frozen > 2 s enters TILT when it resumes (+tilt), leaves it later (-tilt),
    and meanwhile acts on nothing: no +sdown / +odown / failover from it, and nobody fails the
    healthy master over. The clients never notice."""
    t, resume = h.t_fault(), h.heal()
    stalled = (h.victims() or [None])[0]
    if t is None or resume is None or stalled is None:
        r.check("the Sentinel was stopped and resumed", None, missing="the stall's nemesis ops")
        return
    tilt = next(iter(_events_of(h, ("+tilt",), resume["time"] - 0.5, node=stalled)), None)
    r.check(f"{stalled} entered TILT after it resumed (+tilt)",
            tilt is not None if h.server("sentinel-event") else None,
            tilt and tilt["value"]["data"],
            "+tilt", missing=None if h.server("sentinel-event") else "Sentinel events")
    untilt = next(iter(_events_of(h, ("-tilt",), tilt["time"], node=stalled)), None) if tilt else None
    last = h.records[-1]["time"] if h.records else 0.0
    past = tilt is not None and last - tilt["time"] > TILT_PERIOD_S + 5
    r.check(f"{stalled} left TILT later (-tilt, after Sentinel's {TILT_PERIOD_S:g} s TILT period)",
            True if untilt else (False if past else None), untilt and round(untilt["time"] - tilt["time"], 3), "-tilt",
            missing=None if untilt or past else "the +tilt, and the history until the TILT period is over")
    end = untilt["time"] if untilt else (h.records[-1]["time"] if h.records else None)
    acted = _events_of(h, STALE_EVENTS, resume["time"] - 0.5, end, node=stalled)
    r.check(f"{stalled} acted on nothing it learnt before the stall (no {', '.join(STALE_EVENTS)})", not acted,
            [f"{e['value']['event']} {e['value']['data']}" for e in acted][:3] or "none",
            "none", missing=None if tilt else "the +tilt (the window it covers)")
    r.add(same_master(h, t, end, "a Sentinel stalled"))
    stats = window_stats(h, WAIT_LANE, t, end) if end else {}
    r.check("the clients never stopped: no wait between two acknowledged writes as long as down-after",
            bool(stats) and stats["longest_gap_s"] < h.settings["down_after_s"], stats.get("longest_gap_s"),
            f"< {h.settings['down_after_s']}", missing=None if stats.get("ok") else "acknowledged writes in the window")
    r.add(loss_checks(h, WAIT_LANE, 1))
    r.metrics.update({"stall_s": round(resume["time"] - t, 3),
                      "tilt_after_resume_s": tilt and round(tilt["time"] - resume["time"], 3),
                      "tilt_s": untilt and round(untilt["time"] - tilt["time"], 3),
                      "longest_write_gap_s": stats.get("longest_gap_s")})
    r.details["timeline"] = sentinel_timeline(h.records, t, since=t - 1)


def client_pause(h: RunView, r: ScenarioResult) -> None:
    """CLIENT PAUSE WRITE longer than down-after: PING and reads are answered, so no Sentinel
    calls the master down and nobody fails over; writes wait out the pause (the stall is
    measured, and bounded: none completes inside it, all resume right after); nothing lost,
    and the register history stays linearizable."""
    t, heal = h.t_fault(), h.heal()
    fault = h.fault() or {"params": {}}
    pause_s = float(fault["params"].get("seconds", 0))
    if t is None or heal is None:
        r.check("the pause ran", None, missing="the pause's nemesis ops")
        return
    end = t + pause_s
    r.add(same_master(h, t, heal["time"] + 1.0, "the master paused for writes"))
    sdown = [e for e in _events_of(h, ("+sdown",), t, heal["time"] + 1.0) if e["value"]["data"].startswith("master")]
    odown = [e for e in _events_of(h, ("+odown",), t, heal["time"] + 1.0) if e["value"]["data"].startswith("master")]
    r.check("no Sentinel saw the master objectively down (+odown): PING is answered during a WRITE pause", not odown,
            [e["node"] for e in odown] or "none", "none", missing=None if h.server("sentinels") else "Sentinel views")
    # Measured, not judged: Sentinel's hello PUBLISH is a write, held by the pause on the link
    # that also carries its PINGs; a PING behind it waits, and past down-after that Sentinel
    # calls the master subjectively down (+sdown) until the pause ends.
    r.metrics["sdown_during_pause"] = [f"{e['node']} at {e['time'] - t:.2f}s" for e in sdown]
    ok = [op for op in h.lane(WAIT_LANE) if op.ok and op.t_complete is not None]
    inside = [op for op in ok if t + 0.3 < op.t_complete < end - 0.3]
    first_after = min((op.t_complete for op in ok if op.t_complete >= end - 0.3), default=None)
    last_before = max((op.t_complete for op in ok if op.t_complete <= t + 0.3), default=None)
    stall = round(first_after - last_before, 3) if first_after is not None and last_before is not None else None
    r.check("no write was acknowledged inside the pause (the pause held)", not inside, len(inside), 0,
            missing=None if ok else "acknowledged writes")
    tried = [op for op in h.lane(WAIT_LANE) if op.t_complete is not None and op.t_complete >= end - 0.3]
    r.check("writes resumed within 1.5 s of the pause's end",
            first_after is not None and first_after - end <= 1.5 if tried else None,
            first_after and round(first_after - end, 3), "<= 1.5", missing=None if tried else "writes after the pause")
    reads = [op for op in h.lane("register") if op.f == "read" and op.ok and op.t_complete is not None
             and t + 0.3 < op.t_complete < end - 0.3]
    r.check("reads were served during the pause", bool(reads) if h.lane("register") else None, len(reads), "> 0",
            missing=None if h.lane("register") else "register reads")
    r.add(loss_checks(h, WAIT_LANE, 1))
    counter_checks(h, r)
    v, got = invariants.linearizable(register_only(h))
    r.add(v)
    r.metrics.update({"pause_s": pause_s, "write_stall_s": stall, "reads_during_pause": len(reads),
                      "writes_completed_during_pause": len(inside),
                      "register_info_ops": got.get("info"), "linearizable": got.get("valid")})


# ================================================================================ seeded random schedules
def schedule_of(h: RunView) -> dict:
    """The plan the run recorded (harness ``schedule``): seed, options, the faults planned."""
    found = h.harness("schedule")
    return found[0]["value"] if found else {}


def random_schedule(h: RunView, r: ScenarioResult) -> None:
    """A generated schedule, judged by every generic checker: no WAIT-acknowledged write lost
    (plain acknowledged writes: reported when a failover happened, judged when none did), no
    failed write applied, no INCR twice, one master accepting writes at a time, WAIT-acknowledged
    writes served again within the failover deadline after each fault, served again and
    converged after the final heal, and the register linearizable (or its violation explained
    by a fault's lost window)."""
    starts = h.nemesis(phase="start")
    switched = [e for e in h.server("sentinel-event") if e["value"]["event"] == "+switch-master"]
    # fail_applied on the writer's lane: a register key's final value may come from a cas,
    # which write_loss does not count as a write (the register is judged by linearizability).
    r.add(invariants.acknowledged_writes(h, WAIT_LANE, min_replicated=1,
                                         name="no write acknowledged by a replica (WAIT 1) was lost"),
          invariants.fail_applied(h, WAIT_LANE), one_master_accepting(h))
    plain = invariants.lane_loss(h, WAIT_LANE)
    if not switched and starts:
        r.add(invariants.acknowledged_writes(h, WAIT_LANE, name="no acknowledged write was lost (no failover "
                                                                "happened, so asynchronous replication lost nothing)"))
    r.add(invariants.counter(h))
    deadline = h.settings["switch_deadline_s"]
    for n, f in enumerate(starts):
        r.add(replace(invariants.available_within(h, WAIT_LANE, f["time"], deadline, "the failover deadline",
                                                  min_replicated=1),
                      name=f"fault {n} ({f['f']} {f['value']}): WAIT-acknowledged writes resumed within the failover "
                           f"deadline ({deadline:g}s)"))
    ends = h.nemesis(phase="end")
    last_heal = max((e["time"] for e in ends), default=None)
    r.add(invariants.available_within(h, WAIT_LANE, last_heal, budget(h)[0], "the client's retry budget after the "
                                                                              "last heal"),
          invariants.converged(h, last_heal, h.settings["rejoin_deadline_s"] + deadline))
    reg = register_only(h)
    v, got = invariants.linearizable(reg)
    r.add(invariants.explained_by_lost_window(reg, got))
    if v.valid is None:
        r.add(v)
    plan = schedule_of(h)
    r.metrics.update({"seed": plan.get("seed"), "faults": len(starts), "failovers": len(
        {e["value"]["data"] for e in switched}), "writes": plain["acknowledged"] + plain["failed"] + plain["unknown"],
                      "acknowledged": plain["acknowledged"], "lost_plain": plain["lost"],
                      "lost_wait_1": invariants.lane_loss(h, WAIT_LANE, 1)["lost"],
                      "linearizable": got["valid"], "register_ops": got["ops"]})
    for n, f in enumerate(starts):
        r.metrics[f"fault_{n}_unavailable_s"] = unavailable_s(h, f["time"], WAIT_LANE, min_replicated=1)
    t0 = h.records[0]["time"] if h.records else 0.0
    ends_by_i = {e["params"].get("i"): e for e in ends if "i" in e["params"]}
    r.details["nemesis"] = [{"i": f["params"].get("i"), "f": f["f"], "target": f["value"],
                             "nodes": ", ".join(f["params"].get("nodes", [])), "start_s": round(f["time"] - t0, 3),
                             "end_s": round(ends_by_i[f["params"].get("i")]["time"] - t0, 3)
                             if f["params"].get("i") in ends_by_i else None} for f in starts]
    if got.get("counterexample"):
        linearizable_report(reg, r, got)
