"""One scenario, one fact changed: a recorded run edited the way a specific failure would
change it (a switch published without the quorum, a replica promoted too early, an event that
never came), and the check that watches for that failure must turn, while its neighbours say
what they said. test_pinned_edits removes whole kinds of evidence; these are the surgical
edits, one per check, that show each check can fail and can be unknown."""
from __future__ import annotations

import pytest

from tests.helpers import judgement
from tests.unit.test_pinned_edits import _of_run


def _time_of(rs, pred):
    return next(r["time"] for r in rs if pred(r))


def _nemesis(rs, value, phase):
    return _time_of(rs, lambda r: r["kind"] == "nemesis" and r["value"] == value and r["phase"] == phase)


def _event(r, name, node=None):
    return (r["kind"] == "server" and r["f"] == "sentinel-event" and r["value"]["event"] == name
            and (node is None or r["node"] == node))


# -- quorum_safety: the master killed while only one Sentinel of three runs -------------------------------
def _switch_without_quorum(rs):
    t_kill = _nemesis(rs, "master", "start")
    first = next(i for i, r in enumerate(rs) if _event(r, "+switch-master"))
    moved = {**rs[first], "time": t_kill + 1.0}
    return sorted(rs[:first] + rs[first + 1:] + [moved], key=lambda r: r["time"])


def _promoted_while_alone(rs):
    t_kill = _nemesis(rs, "master", "start")
    snap = next(r for r in rs if r["kind"] == "server" and r["f"] == "roles" and r["time"] > t_kill)
    fake = {**snap, "time": t_kill + 1.5, "value": {**snap["value"], "masters": ["valkey-master"]}}
    return sorted(rs + [fake], key=lambda r: r["time"])


def _lone_never_saw_it(rs):
    return [r for r in rs if not (_event(r, "+sdown", "valkey-sentinel1") and r["value"]["data"].startswith("master"))]


def _lone_silent(rs):
    t_kill, t_back = _nemesis(rs, "master", "start"), _nemesis(rs, "sentinels:2", "end")
    return [r for r in rs if not (r.get("f") == "sentinel-event" and r["node"] == "valkey-sentinel1"
                                  and t_kill <= r["time"] <= t_back)]


def _quorum_back_too_soon(rs):
    t_kill = _nemesis(rs, "master", "start")
    return [{**r, "time": t_kill + 5.0} if r["kind"] == "nemesis" and r["value"] == "sentinels:2"
            and r["phase"] == "end" else r for r in rs]


def _sentinel_event(rs, t, event, data, node="valkey-sentinel1"):
    return _resorted(rs + [{"kind": "server", "f": "sentinel-event", "node": node, "run": rs[0]["run"], "time": t,
                            "value": {"event": event, "data": data}}])


def _switch_before_the_kill(rs):
    """An earlier failover's switch, before the master was killed: not one without quorum."""
    return _sentinel_event(rs, _nemesis(rs, "master", "start") - 1.0, "+switch-master",
                           "myvalkey 127.0.1.1 6590 127.0.1.2 6591")


def _another_sentinel_saw_it(rs):
    t_kill = _nemesis(rs, "master", "start")
    return _sentinel_event(_lone_never_saw_it(rs), t_kill + 2.0, "+sdown", "master myvalkey 127.0.1.2 6591",
                           node="valkey-sentinel2")


def _switch_to_the_killed_master_first(rs):
    """A lagging Sentinel's switch back to the killed node is not the failover."""
    return _sentinel_event(rs, _nemesis(rs, "sentinels:2", "end") + 0.5, "+switch-master",
                           "myvalkey 127.0.1.1 6590 127.0.1.2 6591")


def _sentinels_never_restored(rs):
    return [r for r in rs if not (r["kind"] == "nemesis" and r["value"] == "sentinels:2" and r["phase"] == "end")]


def _never_switched(rs):
    return [r for r in rs if not _event(r, "+switch-master")]


def _drop_ops(rs, pred):
    """Without the client ops (invoke and completion) whose completion satisfies ``pred``."""
    open_, drop = {}, set()
    for i, r in enumerate(rs):
        if r["kind"] == "client":
            if r["type"] == "invoke":
                open_[r["process"]] = i
            elif pred(r):
                drop |= {open_.pop(r["process"]), i}
    return [r for i, r in enumerate(rs) if i not in drop]


def _resorted(rs):
    return sorted(rs, key=lambda r: r["time"])


def _moved_op(rs, i, when):
    """The op completed by record ``i`` (and its invoke) moved to complete at ``when``, on a
    process of its own: the original one went on with other ops."""
    j = max(j for j in range(i) if rs[j]["kind"] == "client" and rs[j]["process"] == rs[i]["process"])
    own = {"process": 10 ** 6}
    return _resorted([r for k, r in enumerate(rs) if k not in (i, j)]
                     + [{**rs[j], **own, "time": when - 0.1}, {**rs[i], **own, "time": when}])


def _last_answer(rs, lane):
    """The index of the last completion of ``lane``."""
    return max(i for i, r in enumerate(rs) if r.get("lane") == lane and r["type"] != "invoke")


def _answered(lane, **change):
    """The last op of ``lane`` answered otherwise (``change``: its type, its error)."""
    def edit(rs):
        i = _last_answer(rs, lane)
        return rs[:i] + [{**rs[i], **change}] + rs[i + 1:]
    edit.__name__ = f"_{lane}_" + "_".join(f"{k}_{str(v).split(':')[0]}" for k, v in change.items())
    return edit


# -- retry_backoff: the client's measured sleeps -----------------------------------------------------------
def _retry(rs, n):
    return next(i for i, r in enumerate(rs) if r["kind"] == "client-event" and r["f"] == "retry"
                and r["value"]["retry"] == n)


def _slept(rs, n, seconds):
    i = _retry(rs, n)
    return _resorted(rs[:i] + rs[i + 1:] + [{**rs[i], "time": rs[i]["value"]["at"] + seconds}])


def _no_retries(rs):
    return [r for r in rs if not (r["kind"] == "client-event" and r["f"] == "retry")]


def _one_retry(rs):
    return [r for r in rs if not (r["kind"] == "client-event" and r["f"] == "retry" and r["value"]["retry"] > 1)]


def _sleep_past_the_cap(rs):
    return _slept(rs, 6, 1.3)  # cap 1.0 s + 0.05 s jitter + 0.1 s slack


def _a_short_sleep(rs):
    return _slept(rs, 3, 0.1)  # retry 3 sleeps at least 0.05 * 2^2 = 0.2 s


def _no_switch_woke_it(rs):
    return _never_switched(rs)  # retry 7 slept 0.6 s of its 1 s: only the switch explains it


def _switch_when(where):
    """The +switch-master moved relative to retry 7's sleep (the one it cut short)."""
    def edit(rs):
        sleep = rs[_retry(rs, 7)]
        t = {"at-its-start": sleep["value"]["at"], "at-its-end": sleep["time"] + 0.05,
             "after-its-end": sleep["time"] + 0.5}[where]
        return _resorted([{**r, "time": t} if _event(r, "+switch-master") else r for r in rs])
    edit.__name__ = f"_switch_{where.replace('-', '_')}"
    return edit


# -- client_pause: CLIENT PAUSE WRITE on the master -------------------------------------------------------
def _pause(rs):
    t = _nemesis(rs, "master", "start")
    seconds = next(r for r in rs if r["kind"] == "nemesis" and r["phase"] == "start")["params"]["seconds"]
    return t, t + seconds


def _acked_at(rs, when):
    """The first write acknowledged after the pause, acknowledged at ``when`` instead."""
    _, end = _pause(rs)
    i = next(i for i, r in enumerate(rs) if r["kind"] == "client" and r.get("lane") == "wait1" and r["type"] == "ok"
             and r["time"] > end)
    return _moved_op(rs, i, when)


def _write_early_in_the_pause(rs):
    return _acked_at(rs, _pause(rs)[0] + 0.5)  # just past the 0.3 s the pause takes to start


def _write_late_in_the_pause(rs):
    return _acked_at(rs, _pause(rs)[1] - 0.5)


def _writes_resume_late(rs):
    _, end = _pause(rs)
    return _drop_ops(rs, lambda r: r.get("lane") == "wait1" and end - 0.3 <= r["time"] <= end + 2.0)


def _no_reads_in_the_pause(rs):
    t, end = _pause(rs)
    return _drop_ops(rs, lambda r: r.get("lane") == "register" and r["f"] == "read" and t < r["time"] < end)


def _odown_in_the_pause(rs):
    t, _ = _pause(rs)
    odown = {"kind": "server", "f": "sentinel-event", "node": "valkey-sentinel2", "run": rs[0]["run"],
             "time": t + 1.0, "value": {"event": "+odown", "data": "master myvalkey 127.0.1.3 6952 #quorum 2/2"}}
    return _resorted(rs + [odown])


# -- chained: two kills in a row -----------------------------------------------------------------------------
def _two_masters_before_the_restart(rs):
    t2 = [r["time"] for r in rs if r["kind"] == "nemesis" and r["phase"] == "start"][1]
    snap = next(r for r in rs if r["kind"] == "server" and r["f"] == "roles" and r["time"] > t2)
    both = {**snap, "time": t2 + 0.5, "value": {**snap["value"], "masters": ["valkey-replica1", "valkey-replica2"]}}
    return _resorted(rs + [both])


def _epochs_flat(rs):
    return [{**r, "value": 2} if r["kind"] == "server" and r["f"] == "epoch" else r for r in rs]


# -- discovery: where everyone says the master is, after the failover ------------------------------------
def _last(rs, f, value):
    """A last ``f`` sample after every other record, with ``value(old)`` as its value."""
    last = [r for r in rs if r["kind"] == "server" and r["f"] == f][-1]
    return rs + [{**last, "time": rs[-1]["time"] + 0.1, "value": value(last["value"])}]


def _no_server(f):
    def edit(rs):
        return [r for r in rs if not (r["kind"] == "server" and r["f"] == f)]
    edit.__name__ = f"_no_{f}_samples"
    return edit


def _a_sentinel_names_the_old_master(rs):
    return _last(rs, "sentinels", lambda v: {**v, "valkey-sentinel3": {**v["valkey-sentinel3"],
                                                                          "master": "valkey-master"}})


def _a_sentinel_is_silent(rs):
    return _last(rs, "sentinels", lambda v: {k: x for k, x in v.items() if k != "valkey-sentinel3"})


def _two_masters_last(rs):
    return _last(rs, "roles", lambda v: {**v, "masters": ["valkey-master", "valkey-replica1"]})


# -- sentinel_stall: a Sentinel frozen, then resumed --------------------------------------------------------
def _tilt(rs, sign):
    return next(i for i, r in enumerate(rs) if _event(r, f"{sign}tilt", "valkey-sentinel1"))


def _tilt_elsewhere(rs):
    i = _tilt(rs, "+")
    return rs[:i] + [{**rs[i], "node": "valkey-sentinel2"}] + rs[i + 1:]


def _never_left_tilt(rs):
    """No -tilt, and the history goes on past the TILT period (a sample 36 s after +tilt)."""
    late = {**[r for r in rs if r["kind"] == "server" and r["f"] == "roles"][-1],
            "time": rs[_tilt(rs, "+")]["time"] + 36.0}
    return [r for k, r in enumerate(rs) if k != _tilt(rs, "-")] + [late]


def _cut_before_the_tilt_ends(rs):
    t = rs[_tilt(rs, "+")]["time"]
    return [r for r in rs if r["time"] <= t + 10.0]


def _acted_after_resuming(rs, node="valkey-sentinel1", after=0.2):
    resume = _nemesis(rs, "sentinel:1", "end")
    sdown = {"kind": "server", "f": "sentinel-event", "node": node, "run": rs[0]["run"], "time": resume + after,
             "value": {"event": "+sdown", "data": "master myvalkey 127.0.1.3 6402"}}
    return _resorted(rs + [sdown])


def _acted_just_before_resuming(rs):
    return _acted_after_resuming(rs, after=-0.3)


def _another_sentinel_acted(rs):
    return _acted_after_resuming(rs, node="valkey-sentinel2")


def _clients_stopped(rs):
    t = _nemesis(rs, "sentinel:1", "start")
    return _drop_ops(rs, lambda r: r.get("lane") == "wait1" and t + 1.0 <= r["time"] <= t + 4.0)


# -- cluster shard_loss: a primary and its replica killed ---------------------------------------------------
def _probe_hangs(rs):
    i = _last_answer(rs, "probe-client")
    return _resorted(rs[:i] + rs[i + 1:] + [{**rs[i], "time": rs[i - 1]["time"] + 2.5}])  # budget 1 s (+1)


# -- cluster bus_partition: node-7000's cluster bus cut, its data port open ----------------------------------
def _direct_errors_as(error):
    def edit(rs):
        return [{**r, "error": f"{error}: edited"} if r.get("lane") == "direct" and r["type"] == "fail" else r
                for r in rs]
    edit.__name__ = f"_direct_refused_as_{error}"
    return edit


def _direct_acked_late(rs):
    """node-7000 acknowledges a write long after it saw itself in the minority."""
    t = _nemesis(rs, "node-7000", "start")
    i = max(i for i, r in enumerate(rs) if r.get("lane") == "direct" and r["type"] == "ok" and r["time"] < t + 5.0)
    return _moved_op(rs, i, t + 5.5)  # node-timeout 3 s + 2


def _stale_acked_at(after_cut):
    """HA's guarded round: the isolated master's last acknowledged write moved to ``after_cut``
    seconds after the cut (max-lag 2 s + 2 is the bound)."""
    def edit(rs):
        t = _time_of(rs, lambda r: r["kind"] == "nemesis" and r.get("run") == "partition:with"
                     and r["phase"] == "start")
        i = max(i for i, r in enumerate(rs) if r.get("run") == "partition:with" and r.get("lane") == "stale"
                and r["kind"] == "client" and r["type"] == "ok")
        return _moved_op(rs, i, t + after_cut)
    edit.__name__ = f"_stale_acked_{after_cut:g}s_after_the_cut".replace(".", "_")
    return edit


def _guarded_refusals(error):
    """Every write refused to the direct client in the guarded round now fails with ``error``."""
    def edit(rs):
        return [{**r, "error": error} if r.get("run") == "partition:with" and r.get("lane") == "direct"
                and r["kind"] == "client" and r["type"] == "fail" else r for r in rs]
    edit.__name__ = f"_guarded_refusals_{error.split(':')[0].split()[-1]}"
    return edit


# -- hung_master: DEBUG SLEEP longer than down-after ---------------------------------------------------------
def _no_roles_after_the_wake(rs):
    wake = _nemesis(rs, "master", "end")
    return [r for r in rs if not (r["kind"] == "server" and r["f"] == "roles" and r["time"] >= wake)]


def _never_demoted(rs):
    """Every role sample after the wake still shows the old master as a master."""
    wake = _nemesis(rs, "master", "end")
    out = []
    for r in rs:
        if r["kind"] == "server" and r["f"] == "roles" and r["time"] >= wake:
            nodes = {**r["value"]["nodes"], "valkey-master": {"role": "master"}}
            r = {**r, "value": {**r["value"], "nodes": nodes,
                                "masters": sorted(set(r["value"]["masters"]) | {"valkey-master"})}}
        out.append(r)
    return out


def _finals_empty(rs):
    """Every final read finds nothing: the whole register lost, which no lost window excuses."""
    return [{**r, "value": None} if r["kind"] == "client" and r.get("lane") == "final" and r["type"] == "ok" else r
            for r in rs]


def _counter(declared, ops):
    """The workload's declaration (a ``workload`` harness record, as runs record now) with or
    without the counter lane, and the counter's ops kept or all gone."""
    def edit(rs):
        lanes = sorted({r["lane"] for r in rs if r["kind"] == "client" and r.get("lane")} - {"final"}
                       - (set() if declared else {"counter"}))
        head = {"kind": "harness", "f": "workload", "value": {"lanes": lanes}, "run": rs[0]["run"],
                "time": rs[0]["time"]}
        return [head] + (rs if ops else _drop_ops(rs, lambda r: r.get("lane") == "counter"))
    edit.__name__ = f"_counter_{'declared' if declared else 'undeclared'}_{'with' if ops else 'without'}_ops"
    return edit


HELD = "the master stayed down without quorum for >= 3x down-after"
FAULTS_RAN = "the faults ran (2 Sentinels, then the master killed; the Sentinels restarted)"
NOT_PROMOTED = "no replica promoted while 1 of 3 Sentinels ran"
SDOWN = "the lone Sentinel saw the master down (+sdown)"
NO_SWITCH = "no Sentinel published +switch-master without the quorum"
FAILED_OVER = "with the quorum back, Sentinel failed over to a replica"
NAMED = "every Sentinel names the master +switch-master announced"
ONLY_IT = "that node, and only it, answers role:master (sampled INFO)"
TILT = "valkey-sentinel1 entered TILT after it resumed (+tilt)"
LEFT_TILT = "valkey-sentinel1 left TILT later (-tilt, after Sentinel's 30 s TILT period)"
ACTED = ("valkey-sentinel1 acted on nothing it learnt before the stall (no +sdown, +odown, +try-failover, "
         "+elected-leader, +switch-master)")
NEVER_STOPPED = "the clients never stopped: no wait between two acknowledged writes as long as down-after"
PLAIN = "a node asked for a lost slot says so: MOVED to the dead owner, or CLUSTERDOWN (never accepts it)"
CLIENT = "the cluster client fails on a lost slot with an error, within its budget (not a hang)"
ANSWERED = ("clients still reached node-7000's data port: every write sent straight to it was answered "
            "(acknowledged or refused, never a timeout)")
STOPPED_ACKING = ("node-7000 stopped acknowledging them once it saw itself in the minority (cluster_state fail), "
                  "within node-timeout + 2 s of the cut")
REFUSED = "the demoted old master refused a write sent straight to it (READONLY)"
DEMOTED = "awake, the old master was demoted: a role sample shows it replicating the new master"
RETRIED = "the client retried during the failover"
CAPPED = "every measured sleep is at most the cap (1.0s + jitter)"
GROWS = "sleeps grow: retry n sleeps at least min(base*2^(n-1), cap), unless +switch-master woke it"
HELD_WRITES = "no write was acknowledged inside the pause (the pause held)"
RESUMED = "writes resumed within 1.5 s of the pause's end"
READS = "reads were served during the pause"
NO_ODOWN = "no Sentinel saw the master objectively down (+odown): PING is answered during a WRITE pause"
ONE_MASTER = "at most one master at every snapshot until the restarts"
EPOCHS = "the config epoch never went down, and rose with each of the two failovers"
STOPPED = ("with min-replicas-to-write 1: the isolated master stopped acknowledging writes within max-lag + 2 s "
           "of the cut")
GUARDED = ("with min-replicas-to-write 1: the isolated primary stopped acknowledging writes within max-lag + 2 s "
           "of the cut (NOREPLICAS, or CLUSTERDOWN when the minority check fired first)")
INCR = "no INCR applied twice (final <= ok + info increments; no two ok INCRs returned the same value)"
WINDOW = ("any linearizability violation involves an op acknowledged in the 1s before the fault "
          "(asynchronous replication's lost window)")

CASES = [
    ("ha-suite.jsonl.gz", "quorum_safety", _switch_without_quorum, {NO_SWITCH: False, FAILED_OVER: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _promoted_while_alone, {NOT_PROMOTED: False, NO_SWITCH: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _lone_never_saw_it, {SDOWN: False, NO_SWITCH: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _lone_silent, {SDOWN: None, NO_SWITCH: None, FAILED_OVER: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _quorum_back_too_soon, {HELD: False}),
    ("ha-suite.jsonl.gz", "quorum_safety", _switch_before_the_kill, {NO_SWITCH: True, FAILED_OVER: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _another_sentinel_saw_it, {SDOWN: False}),
    ("ha-suite.jsonl.gz", "quorum_safety", _switch_to_the_killed_master_first, {FAILED_OVER: True}),
    ("ha-suite.jsonl.gz", "quorum_safety", _sentinels_never_restored, {FAULTS_RAN: None}),
    ("ha-suite.jsonl.gz", "quorum_safety", _never_switched, {FAILED_OVER: None, NO_SWITCH: True}),
    ("ha-suite.jsonl.gz", "discovery", _a_sentinel_names_the_old_master, {NAMED: False, ONLY_IT: True}),
    ("ha-suite.jsonl.gz", "discovery", _a_sentinel_is_silent, {NAMED: False, ONLY_IT: True}),
    ("ha-suite.jsonl.gz", "discovery", _two_masters_last, {ONLY_IT: False, NAMED: True}),
    ("ha-suite.jsonl.gz", "discovery", _no_server("sentinels"), {NAMED: "samples of the Sentinels' view",
                                                                  ONLY_IT: True}),
    ("ha-suite.jsonl.gz", "discovery", _no_server("roles"), {ONLY_IT: "role snapshots", NAMED: True}),
    ("ha-generated.jsonl.gz", "sentinel_stall", _tilt_elsewhere, {TILT: False}),
    ("ha-generated.jsonl.gz", "sentinel_stall", _never_left_tilt, {LEFT_TILT: False, TILT: True}),
    ("ha-generated.jsonl.gz", "sentinel_stall", _cut_before_the_tilt_ends, {LEFT_TILT: None, TILT: True}),
    ("ha-generated.jsonl.gz", "sentinel_stall", _acted_after_resuming, {ACTED: False, TILT: True}),
    ("ha-generated.jsonl.gz", "sentinel_stall", _acted_just_before_resuming, {ACTED: False, TILT: True}),
    ("ha-generated.jsonl.gz", "sentinel_stall", _another_sentinel_acted, {ACTED: True, TILT: True}),
    ("ha-generated.jsonl.gz", "sentinel_stall", _clients_stopped, {NEVER_STOPPED: False, ACTED: True}),
    ("cluster-faults.jsonl.gz", "shard_loss", _answered("probe-plain", type="ok"), {PLAIN: False, CLIENT: True}),
    ("cluster-faults.jsonl.gz", "shard_loss", _answered("probe-plain", error="ConnectionError: x"), {PLAIN: False}),
    ("cluster-faults.jsonl.gz", "shard_loss", _answered("probe-plain", error="ClusterDownError: x"), {PLAIN: True}),
    ("cluster-faults.jsonl.gz", "shard_loss", _answered("probe-plain", error="ResponseError: x"), {PLAIN: True}),
    ("cluster-faults.jsonl.gz", "shard_loss", _answered("probe-client", type="ok"), {CLIENT: False, PLAIN: True}),
    ("cluster-faults.jsonl.gz", "shard_loss", _probe_hangs, {CLIENT: False, PLAIN: True}),
    ("generated-cluster.jsonl.gz", "bus_partition", _direct_errors_as("TimeoutError"), {ANSWERED: False}),
    *[("generated-cluster.jsonl.gz", "bus_partition", _direct_errors_as(e), {ANSWERED: True})
      for e in ("ResponseError", "TryAgainError", "MovedError")],
    ("generated-cluster.jsonl.gz", "bus_partition", _direct_acked_late, {STOPPED_ACKING: False, ANSWERED: True}),
    *[("ha-partition.jsonl.gz", "partition", _stale_acked_at(after), {STOPPED: want})
      for after, want in ((4.0, True), (4.5, False))],
    *[("cluster-faults.jsonl.gz", "partition", _guarded_refusals(e), {GUARDED: want})
      for e, want in (("ResponseError: NOREPLICAS Not enough good replicas to write.", True),
                      ("ClusterDownError: The cluster is down", True), ("ResponseError: CLUSTERDOWN x", True),
                      ("TimeoutError: Timeout reading from socket", False))],
    ("generated-ha.jsonl.gz", "hung_master", _answered("old-master", type="ok", error=None), {REFUSED: False}),
    ("generated-ha.jsonl.gz", "hung_master", _answered("old-master", error="ConnectionError: x"), {REFUSED: False}),
    ("generated-ha.jsonl.gz", "hung_master", _answered("old-master", error="READONLY You can't write"),
     {REFUSED: True}),
    ("generated-ha.jsonl.gz", "hung_master", _never_demoted, {DEMOTED: False, REFUSED: True}),
    ("generated-ha.jsonl.gz", "hung_master", _no_roles_after_the_wake, {DEMOTED: "role samples after it woke",
                                                                          REFUSED: True}),
    ("ha-suite.jsonl.gz", "retry_backoff", _no_retries, {RETRIED: False, CAPPED: None, GROWS: None}),
    ("ha-suite.jsonl.gz", "retry_backoff", _one_retry, {RETRIED: True, CAPPED: True, GROWS: True}),
    ("ha-suite.jsonl.gz", "retry_backoff", _sleep_past_the_cap, {CAPPED: False, RETRIED: True}),
    ("ha-suite.jsonl.gz", "retry_backoff", _a_short_sleep, {GROWS: False, CAPPED: True}),
    ("ha-suite.jsonl.gz", "retry_backoff", _no_switch_woke_it, {GROWS: False, CAPPED: True}),
    ("ha-suite.jsonl.gz", "retry_backoff", _switch_when("at-its-start"), {GROWS: True, CAPPED: True}),
    ("ha-suite.jsonl.gz", "retry_backoff", _switch_when("at-its-end"), {GROWS: True, CAPPED: True}),
    ("ha-suite.jsonl.gz", "retry_backoff", _switch_when("after-its-end"), {GROWS: False, CAPPED: True}),
    ("generated-ha.jsonl.gz", "client_pause", _write_early_in_the_pause, {HELD_WRITES: False, READS: True}),
    ("generated-ha.jsonl.gz", "client_pause", _write_late_in_the_pause, {HELD_WRITES: False, READS: True}),
    ("generated-ha.jsonl.gz", "client_pause", _writes_resume_late, {RESUMED: False, HELD_WRITES: True}),
    ("generated-ha.jsonl.gz", "client_pause", _no_reads_in_the_pause, {READS: False, RESUMED: True}),
    ("generated-ha.jsonl.gz", "client_pause", _odown_in_the_pause, {NO_ODOWN: False, READS: True}),
    ("ha-faults.jsonl.gz", "chained", _two_masters_before_the_restart, {ONE_MASTER: False, EPOCHS: True}),
    ("ha-faults.jsonl.gz", "chained", _epochs_flat, {EPOCHS: False, ONE_MASTER: True}),
    *[(name, scenario, _counter(declared, ops), {INCR: want})
      for name, scenario in (("ha-suite.jsonl.gz", "consistency"), ("cluster-failover.jsonl.gz", "primary_failover"))
      for declared, ops, want in ((True, True, True), (True, False, None), (False, False, "absent"))],
    *[(f"{system}-{name}.jsonl.gz", scenario, _finals_empty, {WINDOW: False})
      for system in ("ha", "cluster") for name, scenario in (("linearizable", "linearizable_kill"),
                                                              ("random", "random"))],
]


def _verdicts(got: dict, missing: bool = False) -> dict:
    # Checks whose name carries a measured number (a window's length) are matched by prefix;
    # with ``missing``, an unknown verdict is the reason it gives.
    return {c["check"].split(" (")[0] if c["check"].startswith(NOT_PROMOTED) else c["check"]:
            c.get("missing") if missing and c["ok"] is None else c["ok"] for c in got["checks"]}


@pytest.mark.parametrize("name, scenario, edit, want", CASES,
                         ids=[f"{s}-{e.__name__.strip('_')}" for _, s, e, _ in CASES])
def test_the_check_that_watches_for_the_failure_turns(tmp_path, name, scenario, edit, want):
    meta, records = _of_run(name, scenario)
    untouched = _verdicts(judgement(tmp_path, [meta] + records, scenario))
    edited = judgement(tmp_path, [meta] + edit(records), scenario)
    got = _verdicts(edited)
    # The recorded run passes every check named here (one that only an edit brings, such as
    # "the faults ran", it does not have).
    assert all(untouched.get(c, True) is True for c in want)
    # A string wanted is an unknown verdict's reason (what the history lacks).
    reasons = _verdicts(edited, missing=True)
    assert {c: (reasons if isinstance(want[c], str) else got).get(c, "absent") for c in want} == want
