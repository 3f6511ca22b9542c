"""Availability checkers: everything by completion time."""
from tests.unit.test_history_model import H
from valkey_lab.checkers.availability import by_shard, client_lag, first_ok_after, gaps, unavailability
from valkey_lab.history.model import Op, pair


def test_unavailability_uses_completion_times_not_invoke_times():
    # Invoked before the fault, answered last: sorting by invoke (the old code) says 4.0 s.
    h = (H().write(0, "a", "1", at=0.0, ok_at=0.5)
         .write(1, "b", "1", at=1.0, ok_at=5.0)
         .write(2, "c", "1", at=2.0, ok_at=3.0))
    assert unavailability(h.records, t_fault=1.0) == {
        "all": {"unavailable_s": 2.0, "ok_after_fault": 2, "not_ok_after_fault": 0}}


def test_unavailability_counts_ops_completed_at_or_after_the_fault():
    h = (H().write(0, "a", "1", at=0.0, ok_at=0.99)
         .write(1, "b", "1", at=0.5, info_at=1.0)       # completed at the fault instant: counted
         .write(2, "c", "1", at=1.5, fail_at=2.0)
         .write(3, "d", "1", at=1.5)                    # never completed: not counted
         .write(4, "e", "1", at=2.0, ok_at=3.25)
         .write(5, "f", "1", at=3.0, ok_at=3.5))
    assert unavailability(h.records, t_fault=1.0)["all"] == {"unavailable_s": 2.25, "ok_after_fault": 2,
                                                             "not_ok_after_fault": 2}


def test_an_ok_at_the_fault_instant_means_no_unavailability():
    h = H().write(0, "a", "1", at=0.0, ok_at=1.0)
    assert unavailability(h.records, t_fault=1.0)["all"]["unavailable_s"] == 0.0


def test_unavailability_is_none_when_nothing_succeeded_after_the_fault():
    h = H().write(0, "a", "1", at=0, ok_at=0.5).write(1, "b", "1", at=1.0, info_at=2.0)
    assert unavailability(h.records, t_fault=0.75) == {
        "all": {"unavailable_s": None, "ok_after_fault": 0, "not_ok_after_fault": 1}}
    assert unavailability([], t_fault=0.75) == {}


def test_wait_lane_is_available_again_at_the_first_ok_with_a_replica_ack():
    # The first ok after the fault had no replica behind it: the WAIT lane was not served yet.
    h = (H().write(0, "a", "1", at=1.0, ok_at=2.0, lane="wait", replicated=0)
         .write(1, "b", "1", at=1.0, ok_at=2.5, lane="wait")
         .write(2, "c", "1", at=2.0, ok_at=3.0, lane="wait", replicated=1)
         .write(3, "d", "1", at=1.2, ok_at=1.5, lane="plain", replicated=1))
    assert unavailability(h.records, t_fault=1.0, lane="wait", min_replicated=1)["all"] == {
        "unavailable_s": 2.0, "ok_after_fault": 1, "not_ok_after_fault": 2}
    assert unavailability(h.records, t_fault=1.0, lane="wait")["all"]["unavailable_s"] == 1.0
    assert unavailability(h.records, t_fault=1.0, min_replicated=1)["all"]["unavailable_s"] == 0.5


def test_unavailability_per_shard():
    h = (H().write(0, "a", "1", at=0.0, ok_at=0.5, shard="s1")
         .write(1, "b", "1", at=1.0, info_at=3.0, shard="s1")
         .write(2, "c", "1", at=3.0, ok_at=4.2, shard="s1")
         .write(3, "d", "1", at=1.0, ok_at=1.1, shard="s2")
         .write(4, "e", "1", at=0.0, ok_at=0.2, shard="s3")
         .write(5, "f", "1", at=1.0, ok_at=1.3))
    assert unavailability(h.records, t_fault=1.0, group=by_shard) == {
        "s1": {"unavailable_s": 3.2, "ok_after_fault": 1, "not_ok_after_fault": 1},
        "s2": {"unavailable_s": 0.1, "ok_after_fault": 1, "not_ok_after_fault": 0},
        "s3": {"unavailable_s": None, "ok_after_fault": 0, "not_ok_after_fault": 0},
        "?": {"unavailable_s": 0.3, "ok_after_fault": 1, "not_ok_after_fault": 0}}


def test_by_shard():
    assert by_shard(Op(0, "write", "k", shard="s1")) == "s1" and by_shard(Op(0, "write", "k")) == "?"
    assert by_shard(Op(0, "write", "k", shard="")) == ""


def test_unavailability_rounds_to_the_microsecond():
    h = H().write(0, "a", "1", at=0.0, ok_at=1.3000004)
    assert unavailability(h.records, t_fault=0.1)["all"]["unavailable_s"] == 1.2


def test_first_ok_after():
    h = (H().write(0, "a", "1", at=0.0, ok_at=6.0, lane="wait", replicated=1)
         .write(1, "b", "1", at=0.0, ok_at=1.0)
         .write(2, "c", "1", at=2.0, fail_at=2.5)
         .write(3, "d", "1", at=2.0, ok_at=4.0, lane="wait", replicated=0)
         .write(4, "e", "1", at=2.0, ok_at=5.0, lane="plain"))
    ops = pair(h.records)
    assert first_ok_after(h.records, 2.0).key == "d"
    assert first_ok_after(h.records, 1.0).key == "b"
    assert first_ok_after(h.records, 2.0, lane="plain").key == "e"
    assert first_ok_after(ops, 2.0, min_replicated=1).key == "a"
    assert first_ok_after(h.records, 6.5) is None


def test_gaps_between_ok_completions():
    h = (H().write(0, "a", "1", at=0, ok_at=1.0).write(1, "b", "1", at=1, ok_at=1.1)
         .write(2, "c", "1", at=1, ok_at=4.1)           # invoked early, completes late
         .write(3, "d", "1", at=1.2, ok_at=2.1)
         .write(4, "e", "1", at=2, fail_at=3.0)
         .write(5, "f", "1", at=4.1, ok_at=5.1)         # exactly the threshold: not a gap
         .write(6, "g", "1", at=5, ok_at=9.0, lane="x"))
    assert gaps(h.records, threshold=1.0) == [{"from": 2.1, "to": 4.1, "seconds": 2.0},
                                              {"from": 5.1, "to": 9.0, "seconds": 3.9}]
    assert gaps(h.records, threshold=1.0, lane="x") == []
    assert gaps([], threshold=1.0) == []


def test_client_lag():
    assert client_lag(3.0, 3.05) == 0.05 and client_lag(3.0, 2.9) == -0.1
    assert client_lag(None, 1.0) is None and client_lag(1.0, None) is None
    assert client_lag(0.1, 0.3000004) == 0.2
