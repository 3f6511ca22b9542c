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
    failed for good."""
    t = h.t_fault(n)
    return [switched_away(h, n), promoted_answers_master(h, n),
            invariants.available_within(h, lane, t, bound, why), client_followed(h, n),
            invariants.no_failed_writes(h, lane, since=t)]


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
    records = h.client_records((lane,))
    waited = loss.write_loss(records, lane=lane, min_replicated=replicas)
    plain = loss.write_loss(records, lane=lane)
    t = h.t_fault()
    risk = loss.at_risk(records, t, h.settings.get("repl_lag_window_s", 1.0), lane=lane) if t is not None else {}
    return {f"{label}writes": len(h.lane(lane)), f"{label}acknowledged": plain["acknowledged"],
            f"{label}lost_wait_{replicas}": waited["lost"], f"{label}lost_plain": plain["lost"],
            f"{label}info_writes": plain["unknown"], f"{label}recovered_info_writes": plain["recovered"],
            f"{label}at_risk": risk.get("total")}


def counter_checks(h: RunView, r: ScenarioResult) -> None:
    """The INCR lane, when the run has one: never applied twice; lost increments measured."""
    if not h.lane("counter"):
        return
    r.add(invariants.counter(h, "counter"))
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
    r.check("INCR three times counts 1, 2, 3", incr == [1, 2, 3], incr, expected=[1, 2, 3],
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
            h.address(next(iter(named))) == connected, {"client": connected, "sentinels": sorted(map(str, named))},
            missing=None if named and connected else "the Sentinels' answers and the client's master")
    expected = {"s": "hello", "n": "3", "h": {"f1": "a", "f2": "b"}, "tmp": 0}
    replicas = h.server("replica-values")
    r.check("both replicas were read back", len(replicas) == 2, len(replicas), 2,
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
    r.check("every Sentinel names the master +switch-master announced", len(named) == 3 and set(named.values()) == {new},
            named, expected=new, missing=missing or (None if views else "samples of the Sentinels' view"))
    roles = h.roles()
    last = roles[-1]["value"]["masters"] if roles else None
    r.check("that node, and only it, answers role:master (sampled INFO)", last == [new], last, expected=[new],
            missing=missing or (None if roles else "role snapshots"))
    changes = h.client_events("master-change")
    r.check("the client is connected to it", bool(changes) and h.node_of(changes[-1]["value"]["to"]) == new,
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
    r.check("both replicas were read after the rejoin", len(served) >= 2, len(served), ">= 2",
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
    r.check("a write was acknowledged by both replicas (WAIT 2)", probe is not None and probe.replicated == 2,
            probe and probe.replicated, expected=2, missing=None if probe else "the probe write")
    master_rec = (h.server("master-offset") or [None])[-1]
    rows = [rec["value"] for rec in h.server("replica-state")]
    r.check("both replicas' states were read", len(rows) == 2, len(rows), 2,
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
    sdown = next((e for e in lone if e["value"]["event"] == "+sdown"), None)
    r.check("the lone Sentinel saw the master down (+sdown)", sdown is not None, sdown and sdown["value"]["data"],
            "+sdown", missing=None if lone else "events of the lone Sentinel in that window")
    early = h.first_event("+switch-master", t_kill, t_back)
    r.check("no Sentinel published +switch-master without the quorum", early is None,
            early and early["value"]["data"], "none", missing=None if lone else "Sentinel events in that window")
    switch = switch_of(h, t_back, away_from=tuple(victims))
    r.check("with the quorum back, Sentinel failed over to a replica", switch is not None and
            switch["new"] not in victims, switch and switch["data"],
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
    counter_checks(h, r)
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
    # Until the killed nodes were restarted, at most one server may call itself master.
    masters = max_masters([rec for rec in h.records if t_heal is None or rec["time"] <= t_heal])
    r.check("at most one master at every snapshot until the restarts", masters["valid"],
            {k: masters[k] for k in ("snapshots", "max_masters", "violations")},
            expected="no snapshot with two masters",
            missing=None if masters["snapshots"] >= MIN_SNAPSHOTS else
            f"role snapshots ({masters['snapshots']} of at least {MIN_SNAPSHOTS})")
    ep = epochs(h.records)
    tops = [e["value"] for e in h.server("epoch") if e["value"] is not None]
    r.check("the config epoch never went down, and rose with each of the two failovers",
            ep["valid"] and bool(tops) and max(tops) >= min(tops) + 2, {"min": min(tops, default=None),
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
    records = h.client_records(("stale",))
    acked = loss.write_loss(records, lane="stale")
    waited = loss.write_loss(records, lane="stale", min_replicated=1)
    r.add(labelled(label, [invariants.acknowledged_writes(h, "stale", min_replicated=1,
                                                          name="no WAIT-acknowledged write was lost")]))
    ok = [op for op in h.lane("stale") if op.ok]
    after_switch = [op for op in ok if switch and op.t_complete > switch["time"]]
    last_ok = max((op.t_complete for op in ok), default=t_cut)
    lag = h.settings["min_replicas_max_lag_s"]
    split = invariants.one_writable_master(h, attribute=_stale_node(h))
    if guarded:
        r.check(f"{label}the isolated master stopped acknowledging writes within max-lag + 2 s of the cut",
                t_cut is not None and last_ok - t_cut <= lag + 2, round(last_ok - t_cut, 3) if t_cut else None,
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
    without = _judge_round(RunView(h.all_records, "partition:without", h.settings), r, guarded=False)
    guarded = _judge_round(RunView(h.all_records, "partition:with", h.settings), r, guarded=True)
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
    r.add(invariants.explained_by_lost_window(h, got, h.t_fault(), h.settings.get("repl_lag_window_s", 1.0)))
    if v.valid is None:
        r.add(v)
    linearizable_report(h, r, got)


def linearizable_partition(h: RunView, r: ScenarioResult) -> None:
    r.add(replace(switched_away(h), name="the majority side promoted another master"))
    v, got = invariants.linearizable(h)
    r.add(invariants.expect_invalid(v, "Jepsen's finding: a client on the isolated master reads and writes "
                                       "a value the majority never sees"))
    linearizable_report(h, r, got)
