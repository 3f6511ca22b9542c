from valkey_lab.bench.stats import percentile, summary


def test_nearest_rank_percentiles():
    assert percentile([3, 1, 2, 5, 4], 50) == 3
    assert percentile([3, 1, 2, 5, 4], 95) == 5
    assert percentile([], 50) is None
    assert percentile([1, None, 2], 50) == 1


def test_summary_ignores_missing_values():
    assert summary([1.0, None, 3.0]) == {"n": 2, "p50": 1.0, "p95": 3.0, "min": 1.0, "max": 3.0}
