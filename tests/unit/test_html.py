"""The one-page HTML report (report/html.py), drawn from histories recorded from real runs
(tests/data/histories) and the verdicts judged from them: no server, no browser. The browser
test is tests/integration/test_html_report.py."""
import copy
import json
import re
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from valkey_lab.checkers import cli as check_cli
from valkey_lab.checkers.linearizable import check as lin_check
from valkey_lab.checkers.loss import write_loss
from valkey_lab.cluster import scenarios as cluster_scenarios
from valkey_lab.ha import cli as ha_cli
from valkey_lab.ha import faults as ha_faults
from valkey_lab.ha import scenarios as ha_scenarios
from valkey_lab.history.edn import read_history_lines
from valkey_lab.history.gen import register_history
from valkey_lab.history.model import meta_of, pair
from valkey_lab.report import html
from valkey_lab.runner.scenario import judge, suite_report
from tests.helpers import recorded

DATA = Path(__file__).resolve().parents[1] / "data"
HA = {s.name: s for s in ha_scenarios.SCENARIOS + ha_faults.FAULT_SCENARIOS}
CLUSTER = {s.name: s for s in cluster_scenarios.SCENARIOS}


def judged(records: list[dict], scenarios: dict, suite: str) -> tuple[dict, dict]:
    """The report --analyze would write, and the scenario -> method map the CLI passes."""
    meta = meta_of(records)
    selected = [scenarios[n] for n in meta["scenarios"]]
    results = [judge(s, records, meta["settings"]) for s in selected]
    report = suite_report(suite, meta["backend"], meta["valkey_version"], results, 1.0)
    return report, {s.name: s.method for s in selected}


class Dom(HTMLParser):
    """Every element with its attributes, and the page's text (entities decoded)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_data(self, data):
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())

    def find(self, tag=None, **attrs) -> list[dict]:
        out = []
        for t, a in self.elements:
            if tag is not None and t != tag:
                continue
            if all((k in a and (v is True or v in (a[k] or "").split() or v == a[k])) for k, v in attrs.items()):
                out.append(a)
        return out

    def ids(self) -> set:
        return {a["id"] for _, a in self.elements if a.get("id")}


def axis(text: str, aid: str) -> Dom:
    """One time axis of the page (an inline SVG)."""
    start = text.index(f'<svg class="timeline" id="{aid}-axis"')
    return Dom(text[start:text.index("</svg>", start)])


def assert_self_contained(text: str) -> None:
    """Nothing from anywhere: no script, no stylesheet, image or frame from a URL, every link
    an anchor on the page itself."""
    dom = Dom(text)
    tags = {t for t, _ in dom.elements}
    assert not tags & {"script", "link", "img", "iframe", "object", "embed", "image", "use"}, tags
    for _, a in dom.elements:
        for k in ("src", "href", "xlink:href", "action", "data"):
            v = (a.get(k) or "").strip().lower()
            assert not re.match(r"^(https?:|//|ftp:|file:)", v), (k, v)
    assert not re.search(r"(?i)@import|@font-face|url\(\s*['\"]?(https?:|//)", text)
    assert "http://" not in text and "https://" not in text
    hrefs = {a["href"] for _, a in dom.elements if (a.get("href") or "").startswith("#")}
    assert {h[1:] for h in hrefs} <= dom.ids(), sorted({h[1:] for h in hrefs} - dom.ids())[:5]


@pytest.fixture(scope="module")
def ha_suite():
    records = recorded("ha-suite.jsonl.gz")
    report, methods = judged(records, HA, "ha")
    return records, report, methods, html.page(records, report, methods=methods)


@pytest.fixture(scope="module")
def partition():
    records = recorded("ha-partition.jsonl.gz")
    report, methods = judged(records, HA, "ha")
    return records, report, methods, html.page(records, report, methods=methods)


@pytest.fixture(scope="module")
def cluster():
    records = recorded("cluster-failover.jsonl.gz")
    report, methods = judged(records, CLUSTER, "cluster")
    return records, report, methods, html.page(records, report, methods=methods)


def test_the_template_ships_with_the_package():
    templates = resources.files("valkey_lab.report").joinpath("templates")
    assert {"base.html.j2", "run.html.j2", "bench.html.j2"} <= {p.name for p in templates.iterdir()}


def test_the_failover_page_shows_the_verdicts_with_their_evidence(ha_suite):
    _, report, _, text = ha_suite
    dom = Dom(text)
    for sc in report["scenarios"]:
        box = dom.find("div", id=f"verdict-{sc['name']}")
        assert box and box[0]["data-status"] == sc["status"] == "pass"
        for c in sc["checks"]:
            assert c["check"] in dom.all_text
    assert len(dom.find("li", **{"class": "check"})) == sum(len(sc["checks"]) for sc in report["scenarios"])
    # the evidence: what was observed next to what was required
    switch = next(c for c in report["scenarios"][1]["checks"] if "+switch-master" in c["check"])
    assert f"observed {switch['observed']}" in dom.all_text and f"expected {switch['expected']}" in dom.all_text
    assert "PASS" in dom.all_text


def test_one_lane_per_client_process_one_row_for_the_final_reads(ha_suite):
    records, _, _, text = ha_suite
    dom = Dom(text)
    run = [r for r in records if r.get("run") == "failover"]
    axes = [a["id"][:-len("-axis")] for a in dom.find("svg", **{"class": "timeline"})]
    full = [a for a in axes if not a.endswith("-zoom")]
    assert full == ["run-crud", "run-failover", "run-replica_sync", "run-quorum_safety"]
    shown = [p for a in full for g in axis(text, a).find("g", **{"class": "lane"}) for p in g["data-processes"].split()]
    assert len(shown) == len(set(shown))  # each process in one lane only
    everywhere = {str(r["process"]) for r in records if r.get("kind") == "client"}
    assert set(shown) == everywhere
    failover = axis(text, "run-failover")
    lanes = failover.find("g", **{"class": "lane"})
    writers = {str(r["process"]) for r in run if r.get("kind") == "client" and r.get("lane") != "final"}
    assert {a["data-processes"] for a in lanes if a["data-lane"] != "final"} == writers
    final = [a for a in lanes if a["data-lane"] == "final"]
    assert len(final) == 1 and len(final[0]["data-processes"].split()) == 42
    assert "final · 42 processes" in failover.all_text
    # every op of the run is one bar, with its details in a tooltip
    ops = pair(run)
    assert len(failover.find("rect", **{"class": "op"})) == len(ops)


def test_the_fault_the_master_and_the_sentinel_events_are_on_the_axis(ha_suite):
    records, report, _, text = ha_suite
    failover = axis(text, "run-failover")
    faults = failover.find("g", **{"class": "fault"})
    assert [f["data-fault"] for f in faults] == ["kill master (valkey-master)"]
    m = report["scenarios"][1]["metrics"]
    labels = failover.all_text
    assert m["old_master"] in labels and m["new_master"] in labels
    for event in ("+sdown", "+odown", "+switch-master", "+failover-end"):
        assert event in labels
    assert "client → valkey-replica1" in labels and "epoch 0→1" in labels
    assert re.search(r"valkey-replica1 \(restarted valkey-master still says master\)", labels)
    assert "Counterexample" not in labels  # a clean failover has none


def test_a_closer_axis_around_the_fault_when_it_is_short(ha_suite):
    records, _, _, text = ha_suite
    kill = next(r for r in records if r.get("run") == "failover" and r.get("kind") == "nemesis")
    zoom = axis(text, "run-failover-zoom")
    start = text.index('id="run-failover-zoom-axis"')
    svg = text[start:text.index("</svg>", start)]
    ticks = [float(t) for t in re.findall(r'class="ticklabel"[^>]*>([\d.]+)s<', svg)]
    assert kill["time"] - 1.5 <= min(ticks) and max(ticks) < kill["time"] + 10
    assert "Closer: around the fault" in Dom(text).all_text
    assert [g["data-lane"] for g in zoom.find("g", **{"class": "lane"})] == \
        [g["data-lane"] for g in axis(text, "run-failover").find("g", **{"class": "lane"})]
    assert not re.search(r'id="run-crud-zoom-axis"', text)  # no fault, no closer look


def test_the_page_is_self_contained_and_a_pure_function(ha_suite):
    records, report, methods, text = ha_suite
    assert_self_contained(text)
    before = copy.deepcopy((records, report))
    assert html.page(records, report, methods=methods) == text
    assert (records, report) == before  # the inputs are untouched


def test_lost_writes_are_outlined_on_the_axis_and_linked_from_the_verdicts(partition):
    records, report, _, text = partition
    dom = Dom(text)
    assert_self_contained(text)
    for run, sid in (("partition:without", "run-partition-without"), ("partition:with", "run-partition-with")):
        expected = write_loss([r for r in records if r.get("run") == run], lane="stale")
        box = dom.find("div", id=f"{sid}-cx-lost")
        assert box and box[0]["data-kind"] == "lost"
        assert f"{expected['lost']} acknowledged writes lost" in dom.all_text
        outlined = {a["id"] for a in dom.find("rect", **{"class": "cx"}) if a["id"].startswith(sid + "-op")}
        assert len(outlined) >= expected["lost"]
    # the verdict about the writes lost after the heal links its run's counterexample and its ops
    links = [a["href"] for a in dom.find("a")]
    assert "#run-partition-without-cx-lost" in links and "#run-partition-with-cx-lost" in links
    ops = [a["href"][1:] for a in dom.find("a", **{"class": "op"})]
    cx_ids = {a["id"] for a in dom.find("rect", **{"class": "cx"})}
    assert ops and set(ops) <= cx_ids
    # two masters accepting writes: the isolated old master kept acknowledging them
    assert dom.find("div", id="run-partition-without-cx-masters")
    assert "valkey-master, the old master, acknowledged" in dom.all_text
    assert dom.find("rect", **{"class": "double"})
    ops = pair([r for r in records if r.get("run") == "partition:without"])
    marked = [int(a["id"].rsplit("op", 1)[1])
              for a in axis(text, "run-partition-without").find("rect", **{"class": "k-masters"})]
    assert marked and all(ops[i].lane == "stale" and ops[i].ok and ops[i].f == "write" for i in marked)
    judged = re.search(r'id="run-partition-without-cx-lost".*?</div>', text, flags=re.S).group(0)
    assert "judged by:" in judged and "chip pass" in judged  # the loss the scenario expects, and judged so


def test_a_check_of_one_run_links_only_that_runs_counterexample(partition):
    _, _, _, text = partition
    li = re.findall(r'<li class="check[^"]*".*?</li>', text, flags=re.S)
    after_heal = next(x for x in li if "without min-replicas-to-write: every write the isolated" in x)
    assert "#run-partition-without-cx-lost" in after_heal and "#run-partition-with-cx-lost" not in after_heal
    waited = next(x for x in li if "without min-replicas-to-write: no WAIT-acknowledged write was lost" in x)
    assert "cx-lost" not in waited  # none of the lost writes was WAIT-acknowledged


def test_a_tampered_history_shows_the_lost_write_and_fails_in_red(ha_suite):
    records, _, methods, _ = ha_suite
    records = copy.deepcopy(records)
    acked = [r for r in records if r.get("run") == "failover" and r.get("kind") == "client" and r["type"] == "ok"
             and r.get("lane") == "wait1" and r.get("f") == "write"]
    key = acked[5]["key"]
    final = next(r for r in records if r.get("kind") == "client" and r["type"] == "ok" and r.get("f") == "read"
                 and r.get("key") == key)
    final["value"] = None  # the final read no longer finds the acknowledged write
    report, methods = judged(records, HA, "ha")
    assert report["status"] == "fail"
    text = html.page(records, report, methods=methods)
    dom = Dom(text)
    assert dom.find("div", id="verdict-consistency")[0]["data-status"] == "fail"
    assert "1 acknowledged write lost" in dom.all_text
    box = dom.find("div", id="run-failover-cx-lost")[0]
    assert box["data-kind"] == "lost"
    ops = pair([r for r in records if r.get("run") == "failover"])
    lost = next(i for i, op in enumerate(ops) if op.f == "write" and op.key == key)
    read = next(i for i, op in enumerate(ops) if op.f == "read" and op.key == key)
    outlined = {a["id"] for a in dom.find("rect", **{"class": "cx"})}
    assert outlined == {f"run-failover-op{lost}", f"run-failover-op{read}", f"run-failover-zoom-op{lost}"}
    li = re.findall(r'<li class="check fail".*?</li>', text, flags=re.S)
    assert any("#run-failover-cx-lost" in x and 'class="op"' in x for x in li)
    assert "badge fail" in text and "--fail: #cf222e" in text


def test_a_non_linearizable_history_outlines_the_impossible_op():
    records, _ = read_history_lines(DATA / "jepsen" / "register-cas-overwritten.edn")
    got = lin_check(records, "register")
    result = {"file": "cas.edn", "model": "register", "seconds": got["seconds"], "keys": len(got["keys"]),
              **{k: got[k] for k in ("valid", "ops", "processes", "info", "counterexample")}}
    text = html.check_page([{"records": records, "result": result}])
    assert_self_contained(text)
    dom = Dom(text)
    assert dom.find("div", id="verdict-cas-edn")[0]["data-status"] == "fail"
    assert dom.find("div", **{"data-kind": "lin"})
    outlined = dom.find("rect", **{"class": "cx"})
    assert len(outlined) == len(result["counterexample"]["ops"]) == 3
    assert "impossible: p2 cas [1, 3]" in dom.all_text
    assert len(dom.find("path", **{"class": "bad"})) == 1  # the impossible op's red pin
    assert len(dom.find("g", **{"class": "guide"})) == 1 and "impossible ▸" in dom.all_text


def test_the_counterexample_in_plain_words_is_found_on_the_axis():
    """The suites keep a counterexample as text (details.in_plain_words): its ops are found by
    process and invoke time."""
    records = [json.loads(line) for line in (DATA / "lab" / "register-lost-write.jsonl").read_text().splitlines()
               if line.strip()]
    records = [dict(r, run="linearizable_partition") for r in records]
    cx = lin_check(records, "register")["counterexample"]
    words = [f"{op['invoke']:.3f}s: process {op['process']}, a client following the Sentinels {op['f']} "
             f"{op['value']!r} (answered {op['type']} at {op['complete']:.3f}s); master then: none"
             + ("  <- impossible" if op["role"] == "failed" else "") for op in cx["ops"]]
    report = {"suite": "ha", "status": "fail", "valid": False, "scenarios": [
        {"name": "linearizable_partition", "status": "fail", "valid": False,
         "checks": [{"check": "the linearizability checker finds the history linearizable", "ok": False,
                     "observed": "NOT linearizable", "expected": "linearizable"}],
         "metrics": {}, "details": {"counterexample": cx["summary"], "in_plain_words": words}}]}
    text = html.page(records, report)
    dom = Dom(text)
    assert len(dom.find("rect", **{"class": "cx"})) == len(cx["ops"])
    assert words[0] in dom.all_text and cx["summary"] in dom.all_text
    li = re.findall(r'<li class="check fail".*?</li>', text, flags=re.S)
    assert "#run-linearizable_partition-cx-lin" in li[0]


def test_the_cluster_page_shows_each_shards_primary_flags_and_epochs(cluster):
    records, report, _, text = cluster
    assert_self_contained(text)
    dom = Dom(text)
    bands = [a for a in dom.find("g", **{"class": "band"})]
    assert len(bands) == 3
    labels = dom.all_text
    for shard in ("slots 0-5460", "slots 5461-10922", "slots 10923-16383"):
        assert shard in labels
    assert "fail node-7000" in labels and "promoted node-7003" in labels and "epoch 6→7" in labels
    titles = " ".join(dom.text)
    assert "slots 0-5460: node-7003" in titles and "slots 0-5460: node-7000 (fail)" in titles
    assert dom.find("g", **{"data-fault": "kill node-7000"})
    assert dom.find("div", id="verdict-primary_failover")[0]["data-status"] == "pass"
    ops = pair([r for r in records if r.get("kind") == "client"])
    assert len(dom.find("rect", **{"class": "op"})) == len(ops) > 1000


def test_above_max_ops_the_lanes_are_aggregated_and_the_page_says_so(cluster):
    records, report, methods, _ = cluster
    text = html.page(records, report, methods=methods, max_ops=1000)
    dom = Dom(text)
    ops = len(pair([r for r in records if r.get("kind") == "client"]))
    assert f"Lanes aggregated: {ops:,} ops is more than 1,000" in dom.all_text
    assert not dom.find("rect", **{"class": "op"})
    bins = dom.find("rect", **{"class": "bin"})
    assert 0 < len(bins) < ops


def test_twenty_thousand_ops_are_drawn_one_by_one():
    records = register_history(20_000, processes=10, seed=3)
    text = html.page(records, {})
    assert len(re.findall(r'<rect id="[^"]+" class="op ', text)) == 20_000
    assert "Lanes aggregated" not in text
    more = register_history(20_001, processes=10, seed=3)
    assert "Lanes aggregated: 20,001 ops" in html.page(more, {})


def test_an_unknown_verdict_is_amber_and_names_what_is_missing():
    records = [{"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1, "time": 0.1,
                "run": "r"},
               {"kind": "client", "process": 0, "type": "info", "f": "write", "key": "k", "value": 1, "time": 0.2,
                "run": "r", "error": "timeout"}]
    report = {"suite": "ha", "valid": None, "status": "unknown", "scenarios": [
        {"name": "r", "status": "unknown", "valid": None, "metrics": {},
         "checks": [{"check": "the write survived", "ok": None, "observed": None, "missing": "a final read"},
                    {"check": "it ran", "ok": True, "observed": 1}]}]}
    dom = Dom(html.page(records, report))
    assert dom.find("div", id="verdict-r")[0]["data-status"] == "unknown"
    assert [a["data-status"] for a in dom.find("li", **{"class": "check"})] == ["unknown", "pass"]
    assert "missing a final read" in dom.all_text
    assert dom.find("rect", **{"class": "info"})  # the info op, amber
    assert "error: timeout" in " ".join(dom.text)


def test_whatever_the_history_holds_is_escaped():
    evil = '<script>alert("x")</script>'
    records = [{"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": evil, "value": evil,
                "time": 0.1},
               {"kind": "client", "process": 0, "type": "fail", "f": "write", "key": evil, "value": evil,
                "time": 0.2, "error": evil},
               {"kind": "nemesis", "process": "nemesis", "type": "info", "f": "kill", "phase": "start",
                "value": evil, "params": {"nodes": [evil]}, "time": 0.05}]
    text = html.page(records, {"scenarios": [{"name": evil, "status": "fail", "checks": [
        {"check": evil, "ok": False, "observed": evil}]}]})
    assert "<script" not in text and "&lt;script&gt;" in text
    assert_self_contained(text)


def test_a_history_the_model_rejects_is_still_drawn():
    records = [{"kind": "client", "process": 0, "type": "ok", "f": "write", "key": "k", "value": 1, "time": 0.2}]
    text = html.page(records, {})
    assert "could not be paired" in text


def test_the_bench_summary_inlines_its_pictures_and_links_each_run():
    report = {"suite": "bench", "machine": {"cpus": 2}, "runs_per_topology": 1, "duration_s": 9.0,
              "goals": [{"goal": "fast", "target": 3, "measured": 2, "met": True},
                        {"goal": "faster", "target": 1, "measured": 2, "met": False}],
              "ha": {"ready_s": {"n": 3, "p50": 0.15, "p95": 0.17}, "summary": {
                  "runs": 1, "switch_s": {"n": 1, "p50": 3.3}, "clients": {"lab client": {"lost": 0}}},
                  "clients": {"lab client": {"adds": "follows +switch-master"}},
                  "runs": [{"old": "valkey-master", "new": "valkey-replica1", "switch_s": 3.3,
                            "clients": {"lab client": {"unavailable_s": 3.4, "loss": {"lost": 0}}}}]},
              "linearizability": [{"ops": 1000, "valid": True, "seconds": 0.01}]}
    svg = '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect/></svg>'
    records = [{"kind": "meta", "suite": "bench"},
               {"kind": "client", "process": 0, "type": "invoke", "f": "write", "key": "k", "value": 1, "time": 0.1,
                "run": "ha-bench-1"},
               {"kind": "client", "process": 0, "type": "ok", "f": "write", "key": "k", "value": 1, "time": 0.2,
                "run": "ha-bench-1"}]
    pages = html.bench_pages(records, report, {"failover-ha.svg": svg}, "bench.html")
    assert set(pages) == {"bench.html", "bench-ha-bench-1.html"}
    summary = pages["bench.html"]
    assert_self_contained(summary)
    dom = Dom(summary)
    assert [a["data-status"] for a in dom.find("tr") if "data-status" in a] == ["pass", "fail"]
    assert dom.find("svg", width="10") and "<?xml" not in summary
    assert {"href": "bench-ha-bench-1.html"} in [{"href": a["href"]} for a in dom.find("a")]
    assert "p50 3.3" in dom.all_text and "Linearizability checker" in dom.all_text
    run = Dom(pages["bench-ha-bench-1.html"])
    assert {"href": "bench.html"} in [{"href": a["href"]} for a in run.find("a")]
    assert "measured, not judged" in run.all_text and len(run.find("rect", **{"class": "op"})) == 1


def test_analyze_writes_the_page_with_the_verdicts_of_the_saved_history(tmp_path, capsys):
    records = recorded("ha-partition.jsonl.gz")
    (tmp_path / "H").mkdir()
    (tmp_path / "H" / "history.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path / "out" / "page.html"
    code = ha_cli.main(["--analyze", str(tmp_path / "H"), "--html", str(out), "--json", str(tmp_path / "r.json"),
                        "--quiet"])
    report = json.loads((tmp_path / "r.json").read_text())
    assert code == (0 if report["passed"] else 1)
    dom = Dom(out.read_text())
    shown = [a["data-status"] for a in dom.find("div", **{"class": "verdict"})]
    assert shown == [s["status"] for s in report["scenarios"]]
    assert [a["data-status"] for a in dom.find("li", **{"class": "check"})] == \
        [{True: "pass", False: "fail", None: "unknown"}[c["ok"]] for s in report["scenarios"] for c in s["checks"]]


def test_check_py_writes_one_page_for_its_histories(tmp_path, capsys):
    out = tmp_path / "check.html"
    code = check_cli.main([str(DATA / "jepsen" / "register-cas-overwritten.edn"),
                           str(DATA / "lab" / "register-failover-ok.jsonl"), "--html", str(out)])
    assert code == 1
    dom = Dom(out.read_text())
    assert [a["data-status"] for a in dom.find("div", **{"class": "verdict"})] == ["fail", "pass"]
    assert len(dom.find("section", **{"class": "run"})) == 2


def test_the_bench_page_shows_this_runs_pictures_and_only_them(tmp_path):
    from valkey_lab.bench_cli import pictures
    for name in ("failover-ha.svg", "failover-cluster.svg", "linearizability-curve.svg"):
        (tmp_path / name).write_text(f"<svg>{name}</svg>")
    got = pictures({"ha": {}, "linearizability": []}, str(tmp_path))  # no cluster this run: its file is stale
    assert got == {"failover-ha.svg": "<svg>failover-ha.svg</svg>",
                   "linearizability-curve.svg": "<svg>linearizability-curve.svg</svg>"}
    assert pictures({"ha": {}}, None) == {} and pictures({"cluster": {}}, str(tmp_path / "none")) == {}
