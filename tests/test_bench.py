"""Smoke tests of the benchmark (tiny sizes): it runs and reports every figure it promises.
The figures themselves are not asserted (benchmarks are not timed tests)."""

from __future__ import annotations

import json

import pytest

from preauth.bench import run_benchmark, run_targets
from preauth.cli import main


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_run_benchmark_reports_every_measure() -> None:
    out = run_benchmark(rows=400, repeat=1, latency_runs=3, reference_rows=40)
    for key in ("machine", "engine", "evaluate_fast_s", "evaluate_detailed_s", "ingest_csv",
                "statistics", "single_case_traced_ms", "single_case_traced_median_ms",
                "peak_rss_mb",
                "speedup_vs_reference_fast"):
        assert key in out, key
    assert out["engine"] == "duckdb"
    assert out["ingest_csv"]["rows_in"] == 400 == out["ingest_csv"]["rows_accepted"]
    assert out["statistics"]["status"] == "ok" or "not available" in out["statistics"]["status"]
    assert set(out["single_case_traced_ms"]["acr"]) == {"median", "p99"}
    json.dumps(out)


@pytest.mark.slow
def test_run_targets_measures_in_fresh_processes(tmp_path) -> None:  # type: ignore[no-untyped-def]
    out = run_targets(rows=3000, parquet_rows=1500, repeat=1, workdir=tmp_path)
    fast, e2e = out["fast_path"], out["parquet_end_to_end"]
    assert fast["rows"] == 3000 and fast["policies"] >= 1 and fast["peak_rss_mb"] > 0
    assert e2e["rows"] == 1500 and e2e["ratio_best"] > 0
    assert "1,500 accepted" in e2e["summary_line"]
    assert isinstance(fast["target_met"], bool) and isinstance(e2e["target_met"], bool)
    assert list(tmp_path.iterdir()) == []  # temporary files removed
    json.dumps(out)


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_cli_bench_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--rows", "20", "--repeat", "1"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["rows"] == 20
