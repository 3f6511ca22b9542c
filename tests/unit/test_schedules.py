"""Seeded random schedules (runner/schedules.py): generation is a pure function of the seed,
replays exactly, keeps the topology recoverable unless unsafe; shrinking is delta debugging;
the new faults' iptables / tc rules name the lab's addresses only."""
import random

import pytest

from valkey_lab.backends import netfault
from valkey_lab.cluster.faults import CATALOG as CLUSTER
from valkey_lab.generators import Context, Sleep
from valkey_lab.ha.faults import CATALOG as HA
from valkey_lab.history.recorder import RunRecorder
from valkey_lab.nemesis.fault import KINDS, Fault, Nemesis
from valkey_lab.runner.run import Heal, Hold, Start
from valkey_lab.runner.schedules import AtTimes, Spec, ddmin, generate, plan_table, schedule
from valkey_lab.util import LabError


def spec(seed=42, duration=60, faults=None, unsafe=False, keep=None, catalog=HA):
    return Spec(seed, duration, tuple(faults or catalog.default), unsafe, keep)


# -- generation ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("catalog", [HA, CLUSTER])
def test_the_same_seed_gives_the_same_plan_and_another_seed_another(catalog):
    a, b = generate(spec(catalog=catalog), catalog), generate(spec(catalog=catalog), catalog)
    assert a == b and a
    others = {tuple((p.kind, p.target) for p in generate(spec(seed=s, catalog=catalog), catalog)) for s in range(20)}
    assert len(others) > 10


@pytest.mark.parametrize("catalog", [HA, CLUSTER])
def test_a_safe_plan_has_one_fault_at_a_time_within_its_duration_and_its_kinds(catalog):
    for seed in range(30):
        plan = generate(spec(seed=seed, duration=90, faults=tuple(catalog.kinds), catalog=catalog), catalog)
        assert plan and {p.kind for p in plan} <= set(catalog.kinds)
        for a, b in zip(plan, plan[1:]):
            assert b.at >= a.at + a.hold  # never two at once
        for p in plan:
            assert p.target in catalog.kinds[p.kind].targets  # no quorum-threatening target when safe
        assert plan[-1].at <= 90


def test_an_unsafe_plan_overlaps_and_may_aim_at_the_quorum():
    overlapped, quorum = 0, 0
    for seed in range(40):
        plan = generate(spec(seed=seed, duration=40, faults=("kill", "partition"), unsafe=True), HA)
        overlapped += any(b.at < a.at + a.hold for a, b in zip(plan, plan[1:]))
        quorum += any(p.target == "sentinels:2" for p in plan)
        assert all(p.at + p.hold <= 40 for p in plan)
    assert overlapped > 30 and quorum > 5


def test_keep_replays_a_subset_with_the_same_indices_and_timings():
    full = generate(spec(seed=7, duration=40, faults=("kill", "partition"), unsafe=True), HA)
    sub = generate(spec(seed=7, duration=40, faults=("kill", "partition"), unsafe=True, keep=(0, 2)), HA)
    assert [p.i for p in sub] == [0, 2] and sub == [full[0], full[2]]
    with pytest.raises(LabError, match="--keep 99"):
        generate(spec(keep=(99,)), HA)


def test_unknown_kinds_are_one_clear_error():
    with pytest.raises(LabError, match="knows no nonsense"):
        generate(spec(faults=("kill", "nonsense")), HA)
    assert set(HA.kinds) <= set(KINDS) and set(CLUSTER.kinds) <= set(KINDS)


def test_the_replay_command_repeats_the_options():
    s = spec(seed=5, duration=30, faults=("kill", "partition"), unsafe=True)
    assert s.command("ha", "local", 6950) == ("python app/ha_test.py --backend local --base-port 6950 --schedule random "
                                              "--seed 5 --duration 30 --faults kill,partition --unsafe")
    assert s.command("cluster", "docker", keep=[3]).endswith("--unsafe --keep 3")


def test_each_planned_fault_carries_its_index_into_the_history():
    plan = generate(spec(), HA)
    assert [p.fault.params["i"] for p in plan] == list(range(len(plan)))
    assert plan_table(plan)[0]["kind"] == plan[0].kind


# -- the plan as a generator of steps ----------------------------------------------------------------------------
def test_a_safe_schedule_is_pause_start_hold_heal_recover_per_fault():
    plan = generate(spec(), HA)
    items = schedule(plan, HA, unsafe=False).items(sleeps=True)
    first = plan[0]
    assert first.kind == "kill"  # a kill: the failover first (a master restarted sooner comes back empty)
    assert items[:6] == [Hold(first.pause), Start(first.fault), Hold(first.hold), HA.failover[0],
                         Heal(fault=first.fault), HA.recovery[0]]
    assert sum(isinstance(i, Start) for i in items) == len(plan)
    stall = next(p for p in plan if p.kind == "sentinel_stall")
    at = items.index(Start(stall.fault))
    assert items[at + 2] == Heal(fault=stall.fault)  # nothing to fail over: healed after its hold


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t


def test_an_unsafe_schedule_starts_and_heals_at_the_planned_offsets():
    plan = generate(spec(seed=3, duration=40, faults=("kill", "partition"), unsafe=True), HA)
    clock, ctx = Clock(), None
    ctx = Context(clock=clock)
    cur, when = schedule(plan, HA, unsafe=True).cursor(), []
    while (item := cur.next(ctx)) is not None:
        if isinstance(item, Sleep):
            clock.t += item.seconds
        else:
            when.append((round(clock.t - 100.0, 3), type(item).__name__, item.fault.params["i"]))
    expected = sorted([(p.at, "Start", p.i) for p in plan] + [(round(p.at + p.hold, 3), "Heal", p.i) for p in plan],
                      key=lambda e: (e[0], e[1] != "Start", e[2]))
    assert [(round(t, 2), k, i) for t, k, i in when] == [(round(t, 2), k, i) for t, k, i in expected]
    assert AtTimes(()).items() == []


# -- shrinking ------------------------------------------------------------------------------------------------------
def test_ddmin_finds_a_one_minimal_failing_subset():
    calls = []

    def fails(sub):
        calls.append(list(sub))
        return {3, 7} <= set(sub)  # it takes both
    assert ddmin(list(range(10)), fails) == [3, 7]
    assert len(calls) == len({tuple(c) for c in calls})  # each subset run once

    assert ddmin([1, 2, 3, 4, 5], lambda sub: 4 in sub) == [4]
    assert ddmin([1], lambda sub: True) == [1]


def test_ddmin_stops_at_its_budget_with_what_it_has():
    runs = []
    got = ddmin(list(range(16)), lambda sub: runs.append(1) or 5 in sub, max_tests=3)
    assert 5 in got and len(runs) <= 4


# -- the new faults' rules ------------------------------------------------------------------------------------------
def test_network_fault_rules_name_only_the_labs_addresses():
    assert netfault.one_way_rules("127.0.1.1", ["127.0.1.2"], "out") == [["-s", "127.0.1.1", "-d", "127.0.1.2",
                                                                         "-j", "DROP"]]
    assert netfault.one_way_rules("127.0.1.1", ["127.0.1.2"], "in") == [["-s", "127.0.1.2", "-d", "127.0.1.1",
                                                                        "-j", "DROP"]]
    bus = netfault.bus_rules("127.0.3.1", ["127.0.3.2"], [17951, 17950])
    assert bus == [["-s", "127.0.3.1", "-d", "127.0.3.2", "-p", "tcp", "-m", "multiport", "--ports", "17950,17951",
                    "-j", "DROP"],
                   ["-s", "127.0.3.2", "-d", "127.0.3.1", "-p", "tcp", "-m", "multiport", "--ports", "17950,17951",
                    "-j", "DROP"]]
    loss = netfault.loss_rules("127.0.1.1", 30)
    assert [r[:2] for r in loss] == [["-s", "127.0.1.1"], ["-d", "127.0.1.1"]]
    assert loss[0][2:] == ["-m", "statistic", "--mode", "random", "--probability", "0.3000", "-j", "DROP"]
    with pytest.raises(LabError):
        netfault.loss_rules("127.0.1.1", 100)
    with pytest.raises(LabError):
        netfault.one_way_rules("127.0.1.1", [], "sideways")
    assert netfault.parse_rate("24mbit") == 24_000_000 and netfault.parse_rate("800kbit") == 800_000


def test_local_rules_name_the_labs_ports_too_since_labs_share_loopback_addresses():
    (rule, *_) = netfault.partition_rules("127.0.1.1", ["127.0.1.2"], ports=[6951, 6950, 26950])
    assert rule == ["-s", "127.0.1.1", "-d", "127.0.1.2", "-p", "tcp", "-m", "multiport", "--ports",
                    "6950,6951,26950", "-j", "DROP"]
    many = netfault.one_way_rules("127.0.3.1", ["127.0.3.2"], "out", ports=list(range(7950, 7956)) +
                                  list(range(17950, 17956)) + [1, 2, 3, 4])
    assert len(many) == 2 and all(len(r[r.index("--ports") + 1].split(",")) <= 15 for r in many)
    loss = netfault.loss_rules("127.0.1.1", 10, ports=[6950])
    assert loss[0] == ["-s", "127.0.1.1", "-p", "tcp", "-m", "multiport", "--ports", "6950", "-m", "statistic",
                       "--mode", "random", "--probability", "0.1000", "-j", "DROP"]
    assert netfault.u32_matches("127.0.1.1") == [["match", "ip", "src", "127.0.1.1/32"],
                                                 ["match", "ip", "dst", "127.0.1.1/32"]]
    scoped = netfault.u32_matches("127.0.1.1", [6950], ways=("dst",))
    assert scoped == [["match", "ip", "dst", "127.0.1.1/32", "match", "ip", "sport", "6950", "0xffff"],
                      ["match", "ip", "dst", "127.0.1.1/32", "match", "ip", "dport", "6950", "0xffff"]]
    with pytest.raises(LabError):
        netfault.parse_rate("fast")


def test_each_fault_gets_a_chain_of_its_own_and_heals_alone(monkeypatch):
    calls = []

    class Done:
        returncode, stdout, stderr = 0, "", ""
    monkeypatch.setattr(netfault, "require", lambda tool="iptables": None)
    monkeypatch.setattr(netfault.subprocess, "run", lambda cmd, **kw: calls.append(cmd) or Done())
    net = netfault.NetFaults(chain="VALKEY_LAB_T")
    a = net.loss("127.0.1.1", 10)
    b = net.cut("127.0.1.2", ["127.0.1.3"])
    assert (a, b) == ("VALKEY_LAB_T_1", "VALKEY_LAB_T_2")
    calls.clear()
    net.remove(a)
    assert all(a in " ".join(c) for c in calls) and not any(b in " ".join(c) for c in calls)
    assert net.chains == {b: ("INPUT", "OUTPUT")}


class FakeBackend:
    name = "fake"

    def __init__(self):
        self.calls = []

    def address(self, node):
        return ("127.0.1.9", 1)

    def loss(self, node, percent):
        self.calls.append(("loss", node, percent))
        return ("net", f"chain-{node}")

    def heal_fault(self, token):
        self.calls.append(("heal", token))


class FakeLab:
    def __init__(self):
        self.backend = FakeBackend()

    def resolve(self, target):
        return [target]


def test_the_nemesis_heals_one_named_fault_and_records_its_index():
    lab, rec = FakeLab(), RunRecorder()
    nem = Nemesis(lab, rec)
    f1, f2 = Fault("loss", "n1", {"percent": 10, "i": 0}), Fault("loss", "n2", {"percent": 60, "i": 1})
    nem.start(f1)
    nem.start(f2)
    nem.end(fault=f1)
    assert lab.backend.calls[-1] == ("heal", ("net", "chain-n1")) and len(nem.active) == 1
    ops = [r for r in rec.records() if r["kind"] == "nemesis"]
    assert [(r["f"], r["phase"], r["value"], r["params"].get("i")) for r in ops] == [
        ("loss", "start", "n1", 0), ("loss", "start", "n2", 1), ("loss", "end", "n1", 0)]
    assert ops[0]["params"]["nodes"] == ["n1"] and ops[0]["params"]["percent"] == 10
    # the end is recorded once healed; when the heal began (a restarted node shows from then) is kept
    assert ops[1]["time"] <= ops[2]["params"]["began"] <= ops[2]["time"]
    nem.end_all()
    assert lab.backend.calls[-1] == ("heal", ("net", "chain-n2"))


def test_a_backend_without_a_fault_says_so():
    lab = FakeLab()
    with pytest.raises(LabError, match="no bus partition fault"):
        KINDS["bus_partition"].apply(lab, ["n1"], {})


def test_plans_are_reproducible_across_processes():
    """No hash randomisation, no clock: the plan of a seed is the same in any process."""
    plan = generate(spec(seed=42, duration=60), HA)
    rng = random.Random(42)  # the generator's first draw is the first pause
    assert plan[0].pause == round(rng.uniform(1.0, 3.0), 3)
