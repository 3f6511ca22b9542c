import xml.dom.minidom

from valkey_lab.report.plot import failover_svg


def test_svg_is_well_formed_and_marks_ops_and_events():
    lanes = {"lab client": [{"t_invoke": -0.5, "t_complete": -0.4, "status": "ok"},
                            {"t_invoke": -0.1, "t_complete": 3.2, "status": "ok"}],
             "stock client": [{"t_invoke": 0.1, "t_complete": 0.2, "status": "info"}]}
    svg = failover_svg("HA <failover>", lanes, [{"t_s": 2.0, "event": "+sdown"}, {"t_s": 3.1, "event": "+switch-master"}])
    xml.dom.minidom.parseString(svg)  # raises on malformed output
    assert "+switch-master 3.10s" in svg and "HA &lt;failover&gt;" in svg
    assert svg.count("<rect") >= 3 + 3 + 1  # ops + legend + background
    assert 'stroke="#bbb"' in svg  # in-flight lines
