"""The checker's cost curve in the bench: data, shape in words, table, picture (no clock asserted)."""
import json
import xml.dom.minidom

from rich.console import Console

from valkey_lab.bench import linearizability as B
from valkey_lab.report.plot import loglog_svg


def rows(**kw):
    base = {"axis": "ops", "model": "register", "ops": 1000, "clients": 10, "kind": "valid", "valid": True,
            "reason": None, "seconds": 0.1, "peak_mb": 30.0}
    return dict(base, **kw)


def test_the_shape_in_words():
    curve = [rows(ops=1000, seconds=0.1), rows(ops=10000, seconds=1.0), rows(ops=100000, seconds=10.0),
             rows(ops=1000, kind="invalid", seconds=0.1), rows(ops=100000, kind="invalid", seconds=1000.0),
             rows(axis="clients", ops=10000, clients=10, seconds=1.0),
             rows(axis="clients", ops=10000, clients=100, seconds=1.0),
             rows(axis="clients", ops=10000, clients=50, kind="invalid", valid=None, reason="timeout", seconds=60)]
    shape = B.curve_shape(curve)
    assert shape[0] == "time against ops (valid, 10 clients): about linear (exponent 1.00)"
    assert shape[1] == "time against ops (invalid, 10 clients): quadratic or worse (exponent 2.00)"
    assert shape[2] == "time against clients (valid, 10,000 ops): flat (exponent 0.00)"
    assert shape[3] == "time against clients (invalid, 10,000 ops): not measured"
    assert shape[4] == "10,000 ops, 50 clients (invalid): unknown (timeout)"
    assert B._words(1.5) == "between linear and quadratic (exponent 1.50)"


def test_table_and_picture():
    curve = [rows(), rows(ops=10000, seconds=0.9), rows(kind="invalid", valid=False),
             rows(axis="clients", ops=10000, clients=50, valid=None, reason="memory")]
    console = Console(width=150, record=True)
    console.print(B.curve_table(curve))
    text = console.export_text()
    assert "NOT linearizable" in text and "unknown (memory)" in text and "10,000" in text
    svg = B.curve_svg(curve)
    xml.dom.minidom.parseString(svg)
    assert "valid, x = ops" in svg and "invalid, x = ops" in svg and svg.count("<circle") == 3


def test_loglog_svg_is_well_formed_with_odd_input():
    for series in ({}, {"a": [(1, 1)]}, {"a <b>": [(10, 0.01), (1000, 5), (0, 3)], "b": [(5, 0)]}):
        svg = loglog_svg("t & t", series, "x", "y")
        xml.dom.minidom.parseString(svg)
    assert "a &lt;b&gt;" in svg and "t &amp; t" in svg


def test_a_small_curve_end_to_end(tmp_path):
    section = B.report(svg_dir=str(tmp_path), ops=(40, 80), clients=(2, 4), at_clients=3, at_ops=60, timeout=60)
    curve = section["curve"]
    assert [(r["axis"], r["ops"], r["clients"], r["kind"]) for r in curve] == [
        ("ops", 40, 3, "valid"), ("ops", 40, 3, "invalid"), ("ops", 80, 3, "valid"), ("ops", 80, 3, "invalid"),
        ("clients", 60, 2, "valid"), ("clients", 60, 2, "invalid"), ("clients", 60, 4, "valid"),
        ("clients", 60, 4, "invalid")]
    assert [r["valid"] for r in curve] == [True, False] * 4
    assert all(r["seconds"] >= 0 and r["peak_mb"] > 5 for r in curve)
    assert len(section["shape"]) == 4 and (tmp_path / "linearizability-curve.svg").exists()
    json.dumps(section)
    console = Console(width=150, record=True)
    B.render(console, section)
    assert "cost against ops and clients" in console.export_text()
    B.render(console, [{"ops": 1}])  # an old report's list: nothing to show
    console = Console(width=150, record=True)
    B.render(console, curve)  # the rows alone: the shape is computed
    assert "time against ops (valid, 3 clients)" in console.export_text()


def test_timed_check_reads_and_checks_in_a_fresh_process(tmp_path):
    from valkey_lab.history.edn import write_edn
    from valkey_lab.history.gen import kv_history
    write_edn(kv_history(200, 5, 0.05, seed=3), tmp_path / "h.edn")
    got = B.timed_check(tmp_path / "h.edn", model="kv", jobs=1)
    assert got["valid"] is True and got["ops"] == 200 and got["reason"] is None
    assert 0 <= got["check_seconds"] <= got["seconds"] and got["peak_mb"] > 5
