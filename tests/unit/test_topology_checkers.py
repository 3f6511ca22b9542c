"""Checkers over what the servers said: masters at once, epochs, the Sentinel timeline."""
from tests.unit.test_history_model import H
from valkey_lab.checkers.topology import epochs, first_event, max_masters, sentinel_timeline


# ---- max_masters ----

def test_one_master_at_a_time_is_valid():
    h = (H().roles(0.1, ["n1"]).roles(0.2, [], down=["n1"]).roles(0.3, ["n2"], down=["n1"])
         .write(0, "k", "v", ok_at=1).epoch(0.2, "n1", 3).sentinel(0.25, "s1", "+sdown", "master m"))
    assert max_masters(h.records) == {"valid": True, "samples": 3, "snapshots": 3, "max_masters": 1,
                                      "violations": []}


def test_two_masters_in_one_snapshot_is_split_brain():
    h = H().roles(0.1, ["n1"]).roles(0.4, ["n2", "n1"]).roles(0.5, ["n2"]).roles(0.3, ["n3", "n2", "n1"])
    assert max_masters(h.records) == {"valid": False, "samples": 4, "snapshots": 4, "max_masters": 3,
                                      "violations": [{"time": 0.3, "masters": ["n1", "n2", "n3"]},
                                                     {"time": 0.4, "masters": ["n1", "n2"]}]}


def test_exactly_two_masters_is_split_brain():
    h = H().roles(0.1, ["n1"]).roles(0.2, ["n1", "n2"])
    assert max_masters(h.records)["valid"] is False


def test_slow_samples_are_not_snapshots_and_prove_nothing():
    h = H().roles(0.1, ["n1"]).roles(0.2, ["n1", "n2"], snapshot=False).roles(0.3, ["n2"])
    assert max_masters(h.records) == {"valid": True, "samples": 3, "snapshots": 2, "max_masters": 1,
                                      "violations": []}


def test_no_snapshot_at_all_is_undecided():
    h = H().roles(0.2, ["n1", "n2"], snapshot=False)
    assert max_masters(h.records)["valid"] is None
    assert max_masters([]) == {"valid": None, "samples": 0, "snapshots": 0, "max_masters": 0, "violations": []}


def test_violations_are_capped_at_ten():
    h = H()
    for i in range(15):
        h.roles(i, ["a", "b"])
    out = max_masters(h.records)
    assert out["max_masters"] == 2 and [v["time"] for v in out["violations"]] == list(range(10))


# ---- epochs ----

def test_epochs_that_only_rise_are_valid():
    h = H().epoch(0.1, "n1", 1).epoch(0.2, "n1", 1).epoch(0.3, "n1", 2).epoch(0.5, "n1", 4).epoch(0.4, "n1", 2)
    assert epochs(h.records) == {"valid": True, "rises": 2, "sequence": {"n1": [1, 2, 4]}, "regressions": []}


def test_an_epoch_going_down_is_invalid():
    h = H().epoch(0.1, "n1", 3).epoch(0.2, "n1", 4).epoch(0.3, "n1", 2).epoch(0.4, "n1", 5)
    assert epochs(h.records) == {"valid": False, "rises": 2, "sequence": {"n1": [3, 4, 2, 5]},
                                 "regressions": [{"node": "n1", "time": 0.3, "from": 4, "to": 2}]}


def test_epochs_are_compared_per_node():
    # n2 still on the old epoch after n1 moved on is lag, not a regression.
    h = H().epoch(0.1, "n1", 1).epoch(0.2, "n2", 1).epoch(0.3, "n1", 2).epoch(0.4, "n2", 1).epoch(0.5, "n2", 2)
    assert epochs(h.records) == {"valid": True, "rises": 1, "sequence": {"n1": [1, 2], "n2": [1, 2]},
                                 "regressions": []}


def test_epochs_skip_nodes_that_did_not_answer_and_take_another_f():
    h = (H().epoch(0.1, "n1", 1).epoch(0.2, "n1", None).epoch(0.3, "n1", 2)
         .server("current-epoch", "n1", 7, 0.4).server("current-epoch", "n1", 6, 0.5))
    assert epochs(h.records) == {"valid": True, "rises": 1, "sequence": {"n1": [1, 2]}, "regressions": []}
    assert epochs(h.records, f="current-epoch")["regressions"] == [{"node": "n1", "time": 0.5, "from": 7, "to": 6}]
    assert epochs([]) == {"valid": True, "rises": 0, "sequence": {}, "regressions": []}


def test_epoch_regressions_are_capped_at_ten():
    h = H()
    for i in range(24):
        h.epoch(i, "n1", 10 - i % 2)
    out = epochs(h.records)
    assert len(out["regressions"]) == 10 and out["regressions"][0]["time"] == 1


# ---- Sentinel timeline ----

def timeline_history():
    return (H().sentinel(10.5, "s2", "+sdown", "master m 10.0.0.1 6379")
            .sentinel(10.2, "s1", "+sdown", "master m 10.0.0.1 6379")
            .sentinel(10.6, "s3", "+sdown", "master m 10.0.0.1 6379")
            .sentinel(10.7, "s3", "+sdown", "master m 10.0.0.1 6379")   # the same Sentinel again
            .sentinel(11.0, "s1", "+odown", "master m 10.0.0.1 6379 #quorum 2/2")
            .sentinel(12.0, "s1", "+switch-master", "m 10.0.0.1 6379 10.0.0.2 6379")
            .sentinel(12.1, "s2", "+switch-master", "m 10.0.0.1 6379 10.0.0.2 6379")
            .sentinel(13.0, "s1", "+sdown", "slave 10.0.0.1:6379")
            .roles(11.5, ["n1"]))


def test_sentinel_timeline_lists_each_event_once_at_its_first_sighting():
    assert sentinel_timeline(timeline_history().records, t0=10.0) == [
        {"t_s": 0.2, "event": "+sdown", "data": "master m 10.0.0.1 6379", "first_seen_by": "s1", "seen_by": 3},
        {"t_s": 1.0, "event": "+odown", "data": "master m 10.0.0.1 6379 #quorum 2/2", "first_seen_by": "s1",
         "seen_by": 1},
        {"t_s": 2.0, "event": "+switch-master", "data": "m 10.0.0.1 6379 10.0.0.2 6379", "first_seen_by": "s1",
         "seen_by": 2},
        {"t_s": 3.0, "event": "+sdown", "data": "slave 10.0.0.1:6379", "first_seen_by": "s1", "seen_by": 1}]


def test_sentinel_timeline_since_and_events():
    recs = timeline_history().records
    assert [(r["t_s"], r["event"], r["seen_by"]) for r in sentinel_timeline(recs, t0=10.0, since=10.5)] == [
        (0.5, "+sdown", 2), (1.0, "+odown", 1), (2.0, "+switch-master", 2), (3.0, "+sdown", 1)]
    assert [r["t_s"] for r in sentinel_timeline(recs, t0=11.0, events=["+switch-master"])] == [1.0]
    assert sentinel_timeline(recs, t0=0, events=[]) == []


def test_sentinel_timeline_rounds_to_the_millisecond():
    assert sentinel_timeline(H().sentinel(1.23456, "s1", "+sdown").records, t0=0)[0]["t_s"] == 1.235


def test_first_event():
    recs = timeline_history().records
    assert first_event(recs, "+switch-master") == {"time": 12.0, "node": "s1", "event": "+switch-master",
                                                   "data": "m 10.0.0.1 6379 10.0.0.2 6379"}
    assert first_event(recs, "+sdown", since=10.6)["time"] == 10.6
    assert first_event(recs, "+sdown", since=12.0)["data"] == "slave 10.0.0.1:6379"
    assert first_event(recs, "+failover-end") is None
    flags = H().server("cluster-flags", "n2", {"event": "fail", "data": "n1"}, 3.0).records
    assert first_event(flags, "fail") is None and first_event(flags, "fail", f="cluster-flags")["node"] == "n2"
