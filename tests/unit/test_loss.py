"""Loss checkers on hand-written histories, lossy ones included."""
import pytest

from tests.unit.test_history_model import H
from valkey_lab.checkers.loss import append_set, at_risk, counter, final_reads, tokens, write_loss
from valkey_lab.history.model import HistoryError, pair

CLEAN = {"valid": True, "acknowledged": 0, "lost": 0, "lost_keys": [], "unread": 0, "fail_applied": 0,
         "fail_applied_keys": [], "recovered": 0, "unexpected": 0, "unexpected_keys": [], "unknown": 0, "failed": 0}


def result(**changes):
    return {**CLEAN, **changes}


# ---- final reads ----

def test_the_final_value_is_the_last_ok_read_by_completion_time():
    h = (H().read(0, "k", "early", at=0.0, ok_at=5.0)   # invoked first, answered last
         .read(1, "k", "late", at=1.0, ok_at=2.0)
         .read(2, "k", "failed", at=6.0, fail_at=7.0)
         .read(3, "k", "unknown", at=6.0, info_at=8.0)
         .read(4, "j", None, at=1.0, ok_at=1.5)
         .write(5, "w", "x", at=9.0, ok_at=9.5))
    assert final_reads(pair(h.records)) == {"k": "early", "j": None}


# ---- write_loss ----

def test_every_acknowledged_write_read_back_is_valid():
    h = H().write(0, "a", "1", ok_at=1).write(1, "b", "2", ok_at=1).read(2, "a", "1", at=2, ok_at=3).read(
        2, "b", "2", at=3, ok_at=4)
    assert write_loss(h.records) == result(acknowledged=2)


def test_a_lost_acknowledged_write_is_invalid():
    h = (H().write(0, "a", "1", ok_at=1).write(1, "b", "2", ok_at=1).write(2, "c", "3", ok_at=1)
         .read(3, "a", "1", at=2, ok_at=3).read(3, "b", None, at=3, ok_at=4).read(3, "c", "3", at=4, ok_at=5))
    assert write_loss(h.records) == result(valid=False, acknowledged=3, lost=1, lost_keys=["b"])


def test_a_later_read_decides_even_if_an_earlier_one_saw_the_value():
    h = H().write(0, "a", "1", ok_at=1).read(1, "a", "1", at=2, ok_at=3).read(1, "a", None, at=4, ok_at=5)
    assert write_loss(h.records)["lost_keys"] == ["a"]


def test_lost_keys_are_capped_at_twenty_but_counted_exactly():
    h = H()
    for i in range(25):
        h.write(i, f"k{i:02}", "v", ok_at=1).read(100, f"k{i:02}", None, at=2 + i, ok_at=2.5 + i)
    out = write_loss(h.records)
    assert out["lost"] == 25 and out["lost_keys"] == [f"k{i:02}" for i in range(20)]


def test_unread_acknowledged_writes_are_undecided_not_lost():
    h = H().write(0, "a", "1", ok_at=1).write(1, "b", "2", ok_at=1).read(2, "a", "1", at=2, ok_at=3)
    assert write_loss(h.records) == result(acknowledged=2, unread=1)


def test_nothing_decided_when_every_acknowledged_write_is_unread():
    h = H().write(0, "a", "1", ok_at=1).read(2, "a", "1", at=2, fail_at=3).read(2, "a", "1", at=4, info_at=5)
    assert write_loss(h.records) == result(valid=None, acknowledged=1, unread=1)


def test_no_acknowledged_write_at_all_is_valid():
    # Jepsen's set checker: nothing promised, nothing lost. Availability judges the rest.
    assert write_loss(H().write(0, "a", "1", fail_at=1).read(1, "a", None, at=2, ok_at=3).records) == result(
        failed=1)
    assert write_loss([]) == CLEAN


def test_a_failed_write_that_applied_is_reported_and_invalid():
    # Old code: a fail write read back passed as "unexpected"-free and valid.
    h = (H().write(0, "a", "1", ok_at=1).write(1, "b", "2", fail_at=1)
         .read(2, "a", "1", at=2, ok_at=3).read(2, "b", "2", at=3, ok_at=4))
    assert write_loss(h.records) == result(valid=False, acknowledged=1, fail_applied=1, fail_applied_keys=["b"],
                                           failed=1)


def test_a_failed_write_not_read_back_is_fine():
    h = H().write(1, "b", "2", fail_at=1).read(2, "b", None, at=3, ok_at=4).write(3, "c", "3", fail_at=1)
    assert write_loss(h.records) == result(failed=2)


def test_info_writes_are_neither_lost_nor_acknowledged():
    # The write whose first attempt timed out and whose retries got errors is recorded info:
    # it may have been applied (recovered) or not (not lost either way).
    h = (H().write(0, "a", "1", at=0, info_at=2.0, error="TimeoutError, then ConnectionError x2")
         .write(1, "b", "2", at=0, info_at=2.0).write(2, "c", "3")  # c: the client crashed, never completed
         .read(3, "a", None, at=3, ok_at=4).read(3, "b", "2", at=4, ok_at=5).read(3, "c", "3", at=5, ok_at=6))
    assert write_loss(h.records) == result(recovered=2, unknown=3)


def test_a_value_nobody_wrote_is_unexpected():
    h = H().write(0, "a", "1", ok_at=1).write(1, "b", "2", info_at=1).read(2, "a", "zzz", at=2, ok_at=3).read(
        2, "b", "yyy", at=3, ok_at=4)
    assert write_loss(h.records) == result(valid=False, acknowledged=1, lost=1, lost_keys=["a"], unexpected=2,
                                           unexpected_keys=["a", "b"], unknown=1)


def test_unexpected_alone_invalidates():
    h = H().write(0, "a", "1", info_at=1).read(2, "a", "zzz", at=2, ok_at=3)
    assert write_loss(h.records) == result(valid=False, unexpected=1, unexpected_keys=["a"], unknown=1)


def test_a_missing_key_is_not_unexpected_and_values_of_other_writes_to_the_key_are_not_either():
    h = (H().write(0, "a", "1", ok_at=1).write(0, "a", "2", at=1, ok_at=2).write(1, "b", "3", info_at=1)
         .read(2, "a", "1", at=3, ok_at=4).read(2, "b", None, at=4, ok_at=5))
    out = write_loss(h.records)
    assert (out["unexpected"], out["lost_keys"]) == (0, ["a"])


def test_a_fail_value_read_back_is_fail_applied_not_unexpected():
    h = H().write(0, "a", "1", fail_at=1).write(0, "a", "2", at=1, fail_at=2).read(1, "a", "2", at=3, ok_at=4)
    assert write_loss(h.records) == result(valid=False, fail_applied=1, fail_applied_keys=["a"], failed=2)


def test_a_value_on_a_key_that_only_failed_writes_touched_is_unexpected():
    h = H().write(0, "a", "1", fail_at=1).read(1, "a", "zzz", at=2, ok_at=3)
    assert write_loss(h.records) == result(valid=False, unexpected=1, unexpected_keys=["a"], failed=1)


def test_values_of_any_json_type():
    h = (H().write(0, "a", 7, ok_at=1).write(1, "b", None, ok_at=1).write(2, "c", 1.5, info_at=1)
         .read(3, "a", 7, at=2, ok_at=3).read(3, "b", None, at=3, ok_at=4).read(3, "c", 1.5, at=4, ok_at=5))
    assert write_loss(h.records) == result(acknowledged=2, recovered=1, unknown=1)


def test_read_values_that_are_lists_compare():
    h = H().write(0, "a", [1, 2], ok_at=1).read(1, "a", [1, 2], at=2, ok_at=3).write(0, "b", [3], at=1, info_at=2)
    h.read(1, "b", [4], at=3, ok_at=4)
    assert write_loss(h.records) == result(valid=False, acknowledged=1, unknown=1, unexpected=1,
                                           unexpected_keys=["b"])


def test_reads_of_keys_never_written_are_ignored():
    h = H().write(0, "a", "1", ok_at=1).read(1, "a", "1", at=2, ok_at=3).read(1, "other", "x", at=3, ok_at=4)
    assert write_loss(h.records)["valid"] is True


def test_lane_selects_the_writes_but_any_read_decides():
    h = (H().write(0, "p", "1", ok_at=1, lane="plain").write(1, "w", "2", ok_at=1, lane="wait")
         .read(2, "p", None, at=2, ok_at=3, lane="final").read(2, "w", "2", at=3, ok_at=4, lane="final"))
    assert write_loss(h.records, lane="wait") == result(acknowledged=1)
    assert write_loss(h.records, lane="plain")["lost_keys"] == ["p"]
    assert write_loss(h.records)["acknowledged"] == 2


def test_min_replicated_counts_only_writes_that_many_replicas_acknowledged():
    h = (H().write(0, "a", "1", ok_at=1, replicated=0).write(1, "b", "2", ok_at=1, replicated=1)
         .write(2, "c", "3", ok_at=1).write(3, "d", "4", ok_at=1, replicated=2)
         .read(4, "a", None, at=2, ok_at=3).read(4, "b", "2", at=3, ok_at=4).read(4, "c", None, at=4, ok_at=5)
         .read(4, "d", "4", at=5, ok_at=6))
    assert write_loss(h.records, min_replicated=1) == result(acknowledged=2)
    assert write_loss(h.records, min_replicated=2) == result(acknowledged=1)
    assert write_loss(h.records) == result(valid=False, acknowledged=4, lost=2, lost_keys=["a", "c"])


def test_write_loss_accepts_paired_ops():
    h = H().write(0, "a", "1", ok_at=1).read(1, "a", None, at=2, ok_at=3)
    assert write_loss(pair(h.records)) == write_loss(h.records)


# ---- counter ----

def incrs(h, ok=0, info=0, fail=0, start=1, lane="counter"):
    p = 0
    for kind, n in (("ok_at", ok), ("info_at", info), ("fail_at", fail)):
        for _ in range(n):
            h.incr(p, "c", start + p if kind == "ok_at" else None, at=p, lane=lane, **{kind: p + 0.5})
            p += 1
    return h


def test_counter_with_every_increment_there_is_valid():
    h = incrs(H(), ok=3, info=1, fail=1).read(9, "c", "4", at=10, ok_at=11)
    assert counter(h.records) == {"key": "c", "ok": 3, "info": 1, "failed": 1, "duplicate_results": [],
                                  "final": 4, "lost": 0, "double_applied": 0, "valid": True}


def test_counter_info_increments_may_be_absent():
    h = incrs(H(), ok=3, info=2).read(9, "c", "3", at=10, ok_at=11)
    assert counter(h.records)["valid"] is True


def test_counter_lost_increments():
    h = incrs(H(), ok=3, info=1).read(9, "c", "2", at=10, ok_at=11)
    out = counter(h.records)
    assert (out["lost"], out["double_applied"], out["valid"]) == (1, 0, False)


def test_counter_double_apply():
    # A retried INCR applied twice: 2 ok, 1 info, yet the counter says 4.
    h = incrs(H(), ok=2, info=1).read(9, "c", 4, at=10, ok_at=11)
    out = counter(h.records)
    assert (out["final"], out["lost"], out["double_applied"], out["valid"]) == (4, 0, 1, False)


def test_counter_two_ok_incrs_returning_the_same_value_are_impossible():
    h = (H().incr(0, "c", 1, ok_at=1).incr(1, "c", 1, at=1, ok_at=2).incr(2, "c", 2, at=2, ok_at=3)
         .incr(3, "c", 2, at=3, ok_at=4).incr(4, "c", 3, at=4, ok_at=5).incr(5, "c", 3, at=5, fail_at=6)
         .read(9, "c", "5", at=10, ok_at=11))
    out = counter(h.records)
    assert (out["duplicate_results"], out["lost"], out["double_applied"], out["valid"]) == ([1, 2], 0, 0, False)


def test_counter_never_read_is_undecided_unless_duplicates_already_prove_it_wrong():
    h = incrs(H(), ok=2).read(9, "c", "2", at=10, fail_at=11)
    assert counter(h.records) == {"key": "c", "ok": 2, "info": 0, "failed": 0, "duplicate_results": [],
                                  "final": None, "lost": None, "double_applied": None, "valid": None}
    h = H().incr(0, "c", 1, ok_at=1).incr(1, "c", 1, at=1, ok_at=2)
    assert counter(h.records)["valid"] is False


def test_counter_a_missing_key_reads_as_zero():
    out = counter(incrs(H(), ok=1).read(9, "c", None, at=10, ok_at=11).records)
    assert (out["final"], out["lost"]) == (0, 1)


def test_counter_selects_lane_and_key():
    h = (incrs(H(), ok=2).incr(10, "d", 1, at=0, ok_at=1).incr(11, "c", 9, at=0, ok_at=1, lane="other")
         .read(9, "c", "2", at=10, ok_at=11).read(9, "d", "1", at=11, ok_at=12))
    with pytest.raises(HistoryError, match=r"^the counter lane touches keys \['c', 'd'\]: pass key=$"):
        counter(h.records)
    assert counter(h.records, key="c")["valid"] is True
    assert counter(h.records, key="d") == {"key": "d", "ok": 1, "info": 0, "failed": 0, "duplicate_results": [],
                                           "final": 1, "lost": 0, "double_applied": 0, "valid": True}
    assert counter(h.records, key="c", lane=None)["ok"] == 3
    # A key given but never incremented: whatever it holds was applied by nobody.
    assert counter(h.records, key="d", lane="other") == {
        "key": "d", "ok": 0, "info": 0, "failed": 0, "duplicate_results": [], "final": 1, "lost": 0,
        "double_applied": 1, "valid": False}


def test_counter_with_no_increments():
    assert counter([])["key"] is None and counter([])["valid"] is None


# ---- append ----

def test_tokens():
    assert tokens("a;b;c;") == ["a", "b", "c"] and tokens(None) == [] and tokens("a|b", sep="|") == ["a", "b"]
    assert tokens(";a;;b") == ["a", "b"]


def appends(h, ok=(), info=(), fail=()):
    p = 0
    for kind, toks in (("ok_at", ok), ("info_at", info), ("fail_at", fail)):
        for t in toks:
            h.append(p, "l", t, at=p, **{kind: p + 0.5})
            p += 1
    return h


def test_append_with_every_token_once_is_valid():
    h = appends(H(), ok=["a", "b"], info=["c", "d"], fail=["e"]).read(9, "l", "a;c;b;", at=10, ok_at=11)
    assert append_set(h.records) == {"key": "l", "ok": 2, "info": 2, "failed": 1, "read": 3, "lost": [],
                                     "double_applied": [], "fail_applied": [], "unexpected": [], "recovered": 1,
                                     "valid": True}


def test_append_double_apply():
    # A retried APPEND after a timeout: the token is there twice.
    h = appends(H(), ok=["a", "b"], info=["c"]).read(9, "l", "a;b;c;b;c;", at=10, ok_at=11)
    out = append_set(h.records)
    assert (out["double_applied"], out["read"], out["recovered"], out["valid"]) == (["b", "c"], 5, 1, False)


def test_append_lost_fail_applied_and_unexpected():
    h = appends(H(), ok=["a", "b", "c"], fail=["f", "g"]).read(9, "l", "c;f;zz;", at=10, ok_at=11)
    out = append_set(h.records)
    assert (out["lost"], out["fail_applied"], out["unexpected"], out["valid"]) == (["a", "b"], ["f"], ["zz"], False)
    for one in ("c;f;", "a;b;c;zz;", "c;"):
        assert append_set(appends(H(), ok=["a", "b", "c"], fail=["f"]).read(
            9, "l", one, at=10, ok_at=11).records)["valid"] is False


def test_append_never_read_is_undecided_and_missing_key_loses_everything():
    h = appends(H(), ok=["a"], info=["b"])
    assert append_set(h.records) == {"key": "l", "ok": 1, "info": 1, "failed": 0, "read": None, "lost": None,
                                     "double_applied": None, "fail_applied": None, "unexpected": None,
                                     "recovered": None, "valid": None}
    out = append_set(h.read(9, "l", None, at=10, ok_at=11).records)
    assert (out["lost"], out["read"], out["valid"]) == (["a"], 0, False)


def test_append_tokens_without_separator_and_other_separator():
    h = (H().op(0, "append", "l", "a", ok_at=1, lane="append").op(1, "append", "l", "b|", ok_at=1, lane="append")
         .read(9, "l", "a|b|", at=10, ok_at=11))
    assert append_set(h.records, sep="|")["valid"] is True


def test_append_selects_lane_and_key():
    h = (appends(H(), ok=["a"]).append(5, "m", "x", at=0, ok_at=1).append(6, "l", "y", at=0, ok_at=1, lane="o")
         .read(9, "l", "a;", at=10, ok_at=11).read(9, "m", "x;", at=11, ok_at=12))
    with pytest.raises(HistoryError, match="the append lane touches keys"):
        append_set(h.records)
    assert append_set(h.records, key="l")["valid"] is True
    assert append_set(h.records, key="m")["valid"] is True
    assert append_set(h.records, key="l", lane=None)["lost"] == ["y"]
    out = append_set(h.records, key="m", lane="o")
    assert (out["key"], out["ok"], out["unexpected"], out["valid"]) == ("m", 0, ["x"], False)


def test_append_lists_are_capped_at_twenty():
    toks = [f"t{i:02}" for i in range(30)]
    out = append_set(appends(H(), ok=toks).read(99, "l", "", at=100, ok_at=101).records)
    assert out["lost"] == toks[:20]


# ---- at_risk ----

def test_at_risk_counts_writes_acknowledged_in_the_lag_window_and_info_writes():
    h = (H().write(0, "a", "1", at=0, ok_at=8.9)     # before the window
         .write(1, "b", "2", at=0, ok_at=9.0)        # window start: in
         .write(2, "c", "3", at=9, ok_at=9.5)
         .write(3, "d", "4", at=9, ok_at=10.0)       # the fault instant: in
         .write(4, "e", "5", at=9, ok_at=10.1)       # after the fault
         .write(5, "f", "6", at=9, fail_at=9.5)
         .write(6, "g", "7", at=9, info_at=12)
         .write(7, "h", "8", at=9)                   # never completed: info
         .write(8, "i", "9", at=9, ok_at=9.5, lane="other")
         .read(9, "a", "1", at=9, ok_at=9.5))
    assert at_risk(h.records, t_fault=10.0, window_s=1.0, lane=None) == {"acked_in_window": 4, "info": 2, "total": 6}
    assert at_risk(h.records, t_fault=10.0, window_s=1.0, lane="other") == {"acked_in_window": 1, "info": 0,
                                                                             "total": 1}
