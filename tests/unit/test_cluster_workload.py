"""Pure parts of the cluster workload and bench: keys per shard, unavailability from a
History, the bench summary and goals."""
from lib.bench_cluster import LAB, LAB_WAIT, STOCK, goals, summarize
from lib.cluster_client import key_slot
from lib.cluster_scenarios import ShardKeys, ShardLoad, dead_shard_unavailability
from lib.history import History, Op


def test_shard_keys_are_distinct_in_range_and_never_run_out():
    keys = ShardKeys("p", [(0, 5460)], batch=10)
    got = [keys(i) for i in range(35)]
    assert len(set(got)) == 35 and all(key_slot(k) <= 5460 for k in got)
    assert keys(3) == got[3]  # stable


def test_dead_shard_unavailability_ignores_writes_the_dying_node_answered():
    h = History()
    ops = [Op(0, "write", "a", "1", 9.9, 10.001, "ok", shard="s"),   # invoked before the fault
           Op(1, "write", "b", "1", 10.01, 11.0, "info", shard="s"),
           Op(2, "write", "c", "1", 11.0, 14.5, "ok", shard="s"),
           Op(3, "write", "d", "1", 10.5, 10.6, "ok", shard="other")]
    h._ops = ops
    load = ShardLoad(h, {}, {})
    assert dead_shard_unavailability(load, "s", 10.0) == 4.5
    assert dead_shard_unavailability(load, "nothing", 10.0) is None


def run(unavailable, failed_others=0, lost_wait=0):
    client = {"unavailable_s": unavailable, "lag_after_promotion_s": 0.1, "other_shards_ops": 100,
              "other_shards_failed": failed_others, "dead_shard_not_ok": 3,
              "loss": {"acknowledged": 50, "lost": 0}}
    return {"promotion_s": unavailable - 0.1, "fail_s": 3.5, "epoch_regressions": [],
            "clients": {LAB: dict(client), LAB_WAIT: {**client, "loss": {"acknowledged": 10, "lost": lost_wait}},
                        STOCK: dict(client)}}


def test_summary_and_goals():
    s = summarize([run(3.5), run(3.9), run(5.0)], node_timeout_s=3.0)
    assert s["clients"][LAB]["unavailable_s"]["p50"] == 3.9 and s["clients"][LAB]["unavailable_s"]["p95"] == 5.0
    assert s["clients"][LAB]["unavailable_over_node_timeout_p50"] == 1.3
    report = {"cluster": {"summary": s, "ready_s": {"p50": 3.2}}}
    met = {g["goal"].split(" ")[1]: g["met"] for g in goals(report)}
    assert all(met.values()), goals(report)
    bad = summarize([run(3.5, failed_others=1), run(3.9, lost_wait=2)], node_timeout_s=3.0)
    flags = [g["met"] for g in goals({"cluster": {"summary": bad, "ready_s": {"p50": 4.5}}})]
    assert flags == [False, False, False]
    assert goals({}) == []
