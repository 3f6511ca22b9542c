"""The scorecard's shape: a row per client, the columns the issue asks for, per-run values."""
import xml.dom.minidom

from valkey_lab.bench import scorecard
from valkey_lab.bench.adapters import retries_for, settings_text
from valkey_lab.clients.retry import BackoffPolicy


def client(gap, lag, errors=0, acked=10, lost=0):
    return {"unavailable_s": gap, "lag_s": lag, "errors_surfaced": errors, "error_kinds": ["ConnectionError"] if errors
            else [], "ops": 20, "loss": {"acknowledged": acked, "lost": lost}}


def test_the_summary_and_the_table_have_a_row_per_client_and_every_column():
    runs = [{"switch_s": 3.2, "clients": {n: client(3.3 + i / 10, 0.02, errors=i) for n in scorecard.HA_CLIENTS}}
            for i in range(3)]
    runs[2]["clients"]["redis-py defaults"] = client(None, None, errors=50)  # never came back in that run
    s = scorecard.summarize(runs, scorecard.HA_CLIENTS, "switch_s")
    assert s["server"]["switch_s"]["p50"] == 3.2 and s["server"]["switch_s_runs"] == [3.2, 3.2, 3.2]
    lab = s["clients"]["lab HAClient"]
    assert lab["unavailable_s_runs"] == [3.3, 3.4, 3.5] and lab["unavailable_s"]["p50"] == 3.4
    assert lab["errors_surfaced"] == 3 and lab["acknowledged"] == 30 and lab["runs"] == 3
    defaults = s["clients"]["redis-py defaults"]
    assert defaults["never_back_runs"] == 1 and defaults["unavailable_s"]["n"] == 2
    rows = scorecard.table_rows({"summary": s})
    assert len(rows) == len(scorecard.HA_CLIENTS) and all(len(r) == len(scorecard.COLUMNS) for r in rows)
    assert rows[0][0] == "redis-py defaults" and rows[0][-1] == "2/3"
    assert scorecard.COLUMNS[1:3] == ("unavailable p50", "p95") and "lost" in scorecard.COLUMNS
    report = {"runs": 3, "ha": {"summary": s}}
    xml.dom.minidom.parseString(scorecard.svg(report))


def test_five_client_configurations_at_least_glide_on_the_cluster_only():
    assert len(scorecard.HA_CLIENTS) >= 5 - 1 and "valkey-glide-sync" not in scorecard.HA_CLIENTS
    assert "valkey-glide-sync" in scorecard.CLUSTER_CLIENTS
    names = set(scorecard.HA_CLIENTS) | set(scorecard.CLUSTER_CLIENTS)
    assert {"redis-py defaults", "redis-py tuned", "valkey-py tuned", "lab HAClient", "lab HAClient follow",
            "lab ClusterClient", "lab ClusterClient no watcher"} <= names
    text = settings_text(BackoffPolicy(base=0.05, cap=1.0, budget=20.0))
    assert all(n in text for n in names), set(names) - set(text)


def test_retries_fill_the_budget_with_the_policys_backoff():
    assert retries_for(BackoffPolicy(base=0.05, cap=1.0, budget=20.0)) == 23  # 0.05+0.1+0.2+0.4+0.8 + 18 x 1.0
    assert retries_for(BackoffPolicy(base=0.05, cap=0.25, budget=29.0)) == 117
    assert retries_for(BackoffPolicy(base=1.0, cap=1.0, budget=0.5)) == 0
