from lib.checkers import client_lag, gaps, unavailability, write_loss
from lib.history import Op


def op(i, key, value, status, t0=0.0, t1=0.1, replicated=None, shard=None):
    return Op(i, "write", key, value, t0, t1, status, replicated, shard=shard)


def test_write_loss_counts_acknowledged_writes_missing_from_the_final_read():
    ops = [op(0, "a", "1", "ok"), op(1, "b", "2", "ok"), op(2, "c", "3", "ok")]
    result = write_loss(ops, {"a": "1", "b": None, "c": "3"})
    assert result["lost"] == 1 and result["lost_keys"] == ["b"] and not result["valid"]


def test_write_loss_is_valid_when_every_acknowledged_write_survived():
    ops = [op(0, "a", "1", "ok"), op(1, "b", "2", "info"), op(2, "c", "3", "fail")]
    result = write_loss(ops, {"a": "1", "b": "2", "c": None})
    assert result["valid"] and result["lost"] == 0
    assert result["recovered"] == 1 and result["unknown"] == 1 and result["failed"] == 1


def test_info_writes_are_neither_lost_nor_acknowledged():
    result = write_loss([op(0, "a", "1", "info")], {"a": None})
    assert result["valid"] and result["acknowledged"] == 0


def test_unexpected_values_invalidate():
    result = write_loss([op(0, "a", "1", "ok")], {"a": "zzz"})
    assert not result["valid"] and result["lost"] == 1 and result["unexpected"] == 1


def test_min_replicated_selects_the_wait_acknowledged_writes():
    ops = [op(0, "a", "1", "ok", replicated=0), op(1, "b", "2", "ok", replicated=1)]
    assert write_loss(ops, {"a": None, "b": "2"}, min_replicated=1)["valid"]
    assert not write_loss(ops, {"a": None, "b": "2"})["valid"]


def test_unavailability_per_group_from_the_fault():
    ops = [op(0, "a", "1", "ok", 0.0, 0.5, shard="s1"),
           op(1, "b", "1", "info", 1.0, 3.0, shard="s1"),
           op(2, "c", "1", "ok", 3.0, 4.2, shard="s1"),
           op(3, "d", "1", "ok", 1.0, 1.1, shard="s2")]
    result = unavailability(ops, t_fault=1.0, group=lambda o: o.shard)
    assert result["s1"] == {"unavailable_s": 3.2, "not_ok_after_fault": 1, "ok_after_fault": 1}
    assert result["s2"]["unavailable_s"] == 0.1


def test_unavailability_is_none_when_nothing_succeeded_after_the_fault():
    assert unavailability([op(0, "a", "1", "info", 1.0, 2.0)], t_fault=0.5)["all"]["unavailable_s"] is None


def test_gaps_and_client_lag():
    ops = [op(0, "a", "1", "ok", 0, 1.0), op(1, "b", "1", "ok", 1, 1.1), op(2, "c", "1", "ok", 1, 4.1)]
    assert gaps(ops, threshold=1.0) == [{"from": 1.1, "to": 4.1, "seconds": 3.0}]
    assert client_lag(3.0, 3.05) == 0.05 and client_lag(None, 1.0) is None
