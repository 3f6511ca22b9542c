"""The sweep's pure parts: the fitted line, the curves, the config overrides, the resync
times from role samples, the promotion timeline from the nodes' logs."""
import time
import xml.dom.minidom

import pytest

from valkey_lab.bench import sweep
from valkey_lab.bench.charts import _ticks, bar_chart, fit_line, xy_chart
from valkey_lab.bench.promotion import parse_log, timeline_figures
from valkey_lab.backends.local import command
from valkey_lab.history.view import RunView
from valkey_lab.topology import config


def test_the_fit_recovers_a_line_and_says_how_well_it_fits():
    f = fit_line([(1, 1.3), (2, 2.3), (4, 4.3), (2, None)])
    assert f["a"] == pytest.approx(1.0) and f["b"] == pytest.approx(0.3) and f["r2"] == pytest.approx(1.0)
    assert f["n"] == 3
    noisy = fit_line([(1, 1.0), (1, 2.0), (3, 3.5), (3, 2.5)])
    assert noisy["a"] == pytest.approx(0.75) and 0 < noisy["r2"] < 1
    assert fit_line([(1, 2.0), (1, 3.0)])["a"] is None  # one setting: no slope
    assert fit_line([])["n"] == 0


def test_a_curve_has_a_row_per_setting_with_percentiles_the_fit_and_the_floor():
    pts = [{"setting_ms": v, "lab": v / 1000 + 1.3 + d, "stock": v / 1000 + 1.7, "follow": v / 1000 + 0.4,
            "writable_s": v / 1000 + 0.35} for v in (1000, 2000, 4000) for d in (0.0, 0.1, 0.2)]
    c = sweep.curve(pts, sweep.HA_FLOOR_S, "writable_s")
    assert [r["setting_ms"] for r in c["rows"]] == [1000, 2000, 4000]
    first = c["rows"][0]
    assert first["unavailable_s"]["n"] == 3 and first["unavailable_s"]["p50"] == pytest.approx(2.4)
    assert first["floor_s"] == pytest.approx(1.2) and first["writable_s"]["p50"] == pytest.approx(1.35)
    assert c["fit_unavailable"]["a"] == pytest.approx(1.0) and c["fit_unavailable"]["b"] == pytest.approx(1.4)
    assert c["fit_server"]["a"] == pytest.approx(1.0)
    svg = sweep.curve_svg("t", "x", c, "writable_s", "writable")
    xml.dom.minidom.parseString(svg)
    assert "floor" in svg and "fit 1.00x + 1.40" in svg


def test_charts_are_valid_svg_with_round_ticks():
    assert _ticks(0, 6.3) == [0, 2, 4, 6]
    assert _ticks(800, 4200) == [1000, 2000, 3000, 4000]
    xml.dom.minidom.parseString(xy_chart("t", "x", "y", [{"name": "a", "points": []}]))
    xml.dom.minidom.parseString(bar_chart("t", [{"label": "<a>", "p50": 1.0, "p95": None, "values": [1.0]}],
                                          refs=[("switch", 0.5), ("none", None)]))


def test_overrides_change_the_rendered_config_and_sentinel_timing(monkeypatch):
    monkeypatch.setenv(config.OVERRIDES_ENV, "ha/sentinel.conf:down-after-milliseconds=1000;"
                                             "cluster/node.conf:cluster-ping-interval=100; junk")
    values = {"PORT": 1, "BIND": "b", "DATA_DIR": ".", "ANNOUNCE_HOST": "h", "VALKEY_PASSWORD": "p",
              "CLUSTER_NODE_TIMEOUT": 3000}
    sentinel = config.render_file("ha/sentinel.conf", values)
    assert "sentinel down-after-milliseconds myvalkey 1000" in sentinel and " 2000" not in sentinel
    assert config.sentinel_setting("down-after-milliseconds") == "1000"
    node = config.render_file("cluster/node.conf", values)
    assert node.rstrip().endswith("cluster-ping-interval 100") and "cluster-node-timeout 3000" in node
    assert config.apply_overrides("a 1\nb 2\n", {"b": "3"}) == "a 1\nb 3\n"
    monkeypatch.delenv(config.OVERRIDES_ENV)
    assert config.sentinel_setting("down-after-milliseconds") == "2000"


def test_settings_context_restores_the_environment_and_sentinel_timing(monkeypatch):
    from valkey_lab.ha import topology
    monkeypatch.delenv(config.OVERRIDES_ENV, raising=False)
    with sweep.settings("ha/sentinel.conf:down-after-milliseconds=4000"):
        assert topology.sentinel_timing().down_after_s == 4.0
    assert topology.sentinel_timing().down_after_s == 2.0
    import os
    assert config.OVERRIDES_ENV not in os.environ


def test_valkey_bin_runs_another_build_and_sentinel_through_valkey_server(tmp_path):
    assert command("server", "c.conf", "") == ["valkey-server", "c.conf"]
    assert command("sentinel", "s.conf", str(tmp_path)) == [str(tmp_path / "valkey-server"), "s.conf", "--sentinel"]
    (tmp_path / "valkey-sentinel").write_text("")
    assert command("sentinel", "s.conf", str(tmp_path)) == [str(tmp_path / "valkey-sentinel"), "s.conf"]


def roles(t, nodes):
    return {"kind": "server", "f": "roles", "run": "r", "time": t, "value": {"nodes": nodes}}


def test_link_times_read_the_role_samples():
    up = lambda m: {"role": "slave", "master": m, "link": "up"}  # noqa: E731
    down = lambda m: {"role": "slave", "master": m, "link": "down"}  # noqa: E731
    records = [roles(1.0, {"valkey-master": up("valkey-master"), "valkey-replica2": up("valkey-master")}),
               roles(4.0, {"valkey-replica2": down("valkey-replica1")}),
               roles(4.5, {"valkey-replica2": up("valkey-replica1")}),
               roles(9.0, {"valkey-master": {"role": "master"}, "valkey-replica2": up("valkey-replica1")}),
               roles(10.0, {"valkey-master": down("valkey-replica1")}),
               roles(13.2, {"valkey-master": up("valkey-replica1")})]
    h = RunView(records, "r", {})
    got = sweep.link_times(h, t_fault=0.5, t_heal=8.0, old="valkey-master", new="valkey-replica1")
    assert got == {"other_replica": "valkey-replica2", "other_link_down_s": 4.0, "rejoined_full_resync_s": 3.2,
                   "rejoined_after_restart_s": 5.2}


def test_the_promotion_timeline_comes_from_the_nodes_logs():
    kill = time.mktime(time.strptime("01 Dec 2026 03:14:10", "%d %b %Y %H:%M:%S")) + 0.5
    log = "\n".join([
        "11:M 01 Dec 2026 03:14:09.000 * Marking node aaa () as failing (quorum reached).",  # before the kill
        "11:M 01 Dec 2026 03:14:14.700 * Marking node aaa () as failing (quorum reached).",
        "12:S 01 Dec 2026 03:14:14.710 * FAIL message received from bbb () about aaa ()",
        "12:S 01 Dec 2026 03:14:14.720 * Start of election delayed for 612 milliseconds (rank #0, offset 42).",
        "12:S 01 Dec 2026 03:14:15.340 * Starting a failover election for epoch 7.",
        "13:M 01 Dec 2026 03:14:15.345 * Failover auth granted to ccc () for epoch 7",
        "12:S 01 Dec 2026 03:14:15.350 * Failover election won: I'm the new primary.",
        "not a log line"])
    events = parse_log(log, kill, "node")
    assert [e["event"] for e in events] == ["fail_marked", "fail_received", "election_delayed", "election_started",
                                            "auth_granted", "election_won"]
    f = timeline_figures(events)
    assert f["fail_s"] == pytest.approx(4.2) and f["election_delay_ms"] == 612 and f["rank"] == 0
    assert f["fail_to_election_s"] == pytest.approx(0.64) and f["election_s"] == pytest.approx(0.01)
    assert timeline_figures([])["fail_s"] is None
