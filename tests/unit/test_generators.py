"""Generators as data (valkey_lab.generators): each combinator on its own, composed, for client
ops and for the nemesis, with a fake clock (time stands still unless a test moves it)."""
import random
from collections import Counter
from dataclasses import FrozenInstanceError

import pytest

from valkey_lab.generators import (PENDING, Context, Invoke, Sleep, clients, cycle, delay, each_item, from_fn, lift,
                                   limit, mix, nemesis, on, once, ops, phases, repeat, stagger, time_limit)
from valkey_lab.history.recorder import RunRecorder
from valkey_lab.history.model import pair
from valkey_lab.nemesis.fault import Fault
from valkey_lab.runner.run import FINAL, FinalReads, Heal, Hold, Restore, Start, StopObservers, StopWorkload, \
    final_phase
from valkey_lab.workload.register import REGISTER_MIX, REGISTER_OPS, RegisterLane, RegisterOps
from valkey_lab.workload.writer import Workload, Writer


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def walk(gen, ctx=None, steps=1000):
    """Every item, sleeping the pauses on ctx's clock (a fake one moves)."""
    ctx = ctx or Context()
    cur, out = lift(gen).cursor(), []
    for _ in range(steps):
        item = cur.next(ctx)
        if item is None or item is PENDING:
            break
        if isinstance(item, Sleep) and isinstance(ctx.clock, Clock):
            ctx.clock.t += item.seconds
        out.append(item)
    return out


def test_a_generator_is_a_frozen_value_and_plain_data_lifts():
    g = phases(Start(Fault("kill", "master")), Heal())
    assert g == phases(Start(Fault("kill", "master")), Heal())  # equal by value: data
    with pytest.raises(FrozenInstanceError):
        g.gens = ()  # type: ignore[misc]
    assert lift([1, [2, 3], None, 4]).items() == [1, 2, 3, 4]
    assert lift(once("x")).items() == ["x"] and lift(None).items() == []


def test_phases_run_one_after_another_and_a_cursor_is_its_own():
    g = phases([1, 2], once(3), repeat(4, times=2))
    assert g.items() == [1, 2, 3, 4, 4]
    assert g.items() == [1, 2, 3, 4, 4]  # a new walk starts afresh: the value never changes


def test_repeat_and_cycle():
    assert repeat([1, 2], times=3).items() == [1, 2, 1, 2, 1, 2]
    assert cycle("x").items(max_items=5) == ["x"] * 5
    assert repeat([], times=None).items() == []  # a pass that gives nothing ends it


def test_mix_follows_its_weights_from_the_seeded_rng():
    g = ops({"read": 40, "write": 40, "cas": 20})
    got = Counter(item.f for item in limit(10_000, g).items(Context(rng=random.Random(7))))
    assert set(got) == {"read", "write", "cas"}
    assert abs(got["read"] / 10_000 - 0.4) < 0.03 and abs(got["cas"] / 10_000 - 0.2) < 0.03
    same = [i.f for i in limit(50, g).items(Context(rng=random.Random(7)))]
    assert same == [i.f for i in limit(50, g).items(Context(rng=random.Random(7)))]  # a seed, a sequence
    assert mix([limit(2, repeat("a")), limit(3, repeat("b"))]).items(Context()).count("b") == 3  # exhausted drop out
    with pytest.raises(ValueError):
        mix(["a"], weights=[1, 2])


def test_delay_and_stagger_put_a_pause_before_each_item():
    assert delay(0.5, ["a", "b"]).items(sleeps=True) == [Sleep(0.5), "a", Sleep(0.5), "b"]
    pauses = [i.seconds for i in stagger(1.0, repeat("x", 200)).items(Context(rng=random.Random(1)), sleeps=True)
              if isinstance(i, Sleep)]
    assert len(pauses) == 200 and 0 <= min(pauses) and max(pauses) < 2.0 and 0.8 < sum(pauses) / 200 < 1.2


def test_time_limit_stops_on_the_clock_and_cuts_a_pause_short():
    clock = Clock()
    items = walk(time_limit(10, delay(3, repeat("x"))), Context(clock=clock))
    assert [i for i in items if i == "x"] == ["x", "x", "x"]
    assert items[-1] == Sleep(1.0)  # 9 s passed: the fourth pause is cut to what is left
    assert clock.t == 10


def test_a_hold_cut_by_a_time_limit_stays_a_hold():
    (cut,) = [i for i in walk(time_limit(2, [Hold(5.0)]), Context(clock=Clock()))]
    assert cut == Hold(2.0) and type(cut) is Hold


def test_limit_counts_items_not_pauses():
    assert limit(2, delay(1, repeat("x"))).items(sleeps=True) == [Sleep(1), "x", Sleep(1), "x"]


def test_on_gives_a_part_to_some_processes_only():
    g = phases(on(["a"], ["for a"]), clients(["for clients"]), nemesis(["for the nemesis"]), "for all")
    assert g.items(Context(process="a")) == ["for a", "for clients", "for all"]
    assert g.items(Context(process="b")) == ["for clients", "for all"]
    assert g.items(Context(process="nemesis")) == ["for the nemesis", "for all"]
    assert on(lambda p: str(p).startswith("stale:"), ["x"]).items(Context(process="stale:n1")) == ["x"]


def test_from_fn_computes_items_from_the_context_until_none():
    left = iter([1, [2, 3], None, 99])
    assert from_fn(lambda ctx: next(left)).items() == [1, 2, 3]
    g = from_fn(lambda ctx: ctx.rng.choice("ab"))
    assert limit(20, g).items(Context(rng=random.Random(3))) == limit(20, g).items(Context(rng=random.Random(3)))


def test_each_item_walks_without_sleeping():
    assert list(each_item(delay(100, [1, 2]))) == [Sleep(100), 1, Sleep(100), 2]


def test_the_final_phase_is_a_generator_like_any_other():
    assert FINAL.items() == [StopWorkload(), Heal(), StopObservers(), Restore(), FinalReads()]
    assert final_phase(Hold(2.0)).items(sleeps=True) == [Heal(), Hold(2.0), StopWorkload(), StopObservers(),
                                                          Restore(), FinalReads()]


# -- client ops: lanes walk their own generator ---------------------------------------------------------
def test_the_register_op_mix_is_a_parameter():
    assert REGISTER_MIX == {"read": 40, "write": 40, "cas": 20}
    assert REGISTER_OPS == delay(0.01, ops(REGISTER_MIX))
    rec = RunRecorder()
    reads_only = RegisterLane(rec, "register", RegisterOps(read=lambda k: "1", write=lambda k, v: None,
                                                           cas=lambda k, o, n: True), ["a"], seed=1,
                              gen=repeat(Invoke("read")))
    for _ in range(20):
        reads_only.step()
    assert {op.f for op in pair(rec.records())} == {"read"}
    rec = RunRecorder()
    lane = RegisterLane(rec, "register", RegisterOps(read=lambda k: "1", write=lambda k, v: None,
                                                     cas=lambda k, o, n: True), ["a"], seed=1,
                        gen=[Invoke("cas"), Invoke("read"), Invoke("cas")])
    for _ in range(3):
        lane.step()
    assert [op.f for op in pair(rec.records())] == ["write", "read", "cas"]  # a cas with nothing seen is a write


def test_a_writer_lane_walks_its_generator_and_idles_when_it_is_done():
    rec = RunRecorder()
    lane = Writer(rec, "w", lambda k, v: 1, "p", gen=limit(3, repeat(Invoke("write"))))
    for _ in range(5):
        lane.step()
    ops_ = pair(rec.records())
    assert [op.key for op in ops_] == ["p:0", "p:1", "p:2"] and all(op.ok for op in ops_)


def test_one_declaration_for_a_workload_with_on_by_lane_name():
    rec = RunRecorder()
    a = Writer(rec, "a", lambda k, v: None, "pa")
    b = Writer(rec, "b", lambda k, v: None, "pb")
    Workload([a, b], gen=phases(on(["a"], limit(2, repeat(Invoke("write")))), limit(1, repeat(Invoke("write")))))
    for _ in range(4):
        a.step()
        b.step()
    got = Counter(op.lane for op in pair(rec.records()))
    assert got == {"a": 3, "b": 1}


def test_a_lane_records_the_node_that_answered_on_its_completions():
    rec = RunRecorder()
    lane = Writer(rec, "w", lambda k, v: 1, "p", where=lambda: "127.0.1.2:6951")
    lane.step()
    invoke, done = [r for r in rec.records() if r["kind"] == "client"]
    assert "node" not in invoke and done["node"] == "127.0.1.2:6951"
    failing = Writer(rec, "f", lambda k, v: (_ for _ in ()).throw(ConnectionError("x")), "q",
                     where=lambda: "127.0.1.2:6951")
    failing.step()
    assert "node" not in [r for r in rec.records() if r["kind"] == "client"][-1]  # no answer, no attribution
