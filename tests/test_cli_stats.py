"""`preauth stats`: the JSON contract, equality with a row-level Logit, errors."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import statsmodels.formula.api as smf

from preauth.cli import main
from preauth.evaluate.engine import Engine
from preauth.synthetic.generator import synthesize

KEYS = {"outcome", "factor", "level", "reference", "odds_ratio", "ci_low", "ci_high", "p_value"}


@pytest.fixture(scope="module")
def requests_csv(tmp_path_factory: pytest.TempPathFactory, engine: Engine) -> Path:
    path = tmp_path_factory.mktemp("stats") / "requests.csv"
    pacsv.write_csv(synthesize(3000, seed=21, engine=engine), path)
    return path


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_stats_json_equals_row_level_logit(requests_csv: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["stats", str(requests_csv)], capsys)
    assert code == 0, err
    doc = json.loads(out)
    assert {"odds_ratios", "rates", "concordance"} <= set(doc)
    assert doc["rows_in"] == doc["rows_accepted"] == 3000
    rows = [r for r in doc["odds_ratios"] if r["outcome"] == "preauth_required"]
    assert all(set(r) >= KEYS for r in rows)
    ref = {r["factor"]: r["reference"] for r in rows}
    df = pacsv.read_csv(requests_csv).to_pandas()
    df["cpt_code"] = df["cpt_code"].astype(str)
    df["y"] = df["preauth_required"].astype(int)
    assert ref["carrier"] == df["carrier"].value_counts().idxmax()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = smf.logit(f"y ~ C(region, Treatment('cervical')) + "
                        f"C(carrier, Treatment('{ref['carrier']}'))", df).fit(disp=0)
    ors, ci = np.exp(fit.params), np.exp(fit.conf_int())
    assert len(rows) == len(ors) - 1
    for r in rows:
        term = (f"C({r['factor']}, Treatment('{r['reference']}'))[T.{r['level']}]")
        assert r["odds_ratio"] == pytest.approx(ors[term], rel=1e-6)
        assert r["ci_low"] == pytest.approx(ci.loc[term, 0], rel=1e-6)
        assert r["ci_high"] == pytest.approx(ci.loc[term, 1], rel=1e-6)
        assert r["p_value"] == pytest.approx(fit.pvalues[term], rel=1e-6)
    assert doc["concordance"]["policy"] == "acr"
    assert "statistics on 3,000 requests" in err


def test_carrier_reference_and_policy(requests_csv: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["stats", str(requests_csv), "--carrier-reference", "Carrier E",
                         "--policy", "bcbs_style"], capsys)
    assert code == 0
    doc = json.loads(out)
    carriers = [r for r in doc["odds_ratios"] if r["factor"] == "carrier"]
    assert {r["reference"] for r in carriers} == {"Carrier E"}
    assert "Carrier A" in {r["level"] for r in carriers}
    assert doc["concordance"]["policy"] == "bcbs_style"
    assert sum(row["total"] for row in doc["concordance"]["matrix"]) == doc["concordance"]["n"]


def test_table_format(requests_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(["stats", str(requests_csv), "--format", "table"], capsys)
    assert code == 0
    assert "Rates (Wilson 95% CI)" in out and "preauth_required ~ region + carrier" in out
    assert "Denied or cancelled although the criteria are met" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--carrier-reference", "Nobody"], "not a carrier in"),
    (["--policy", "nope"], "unknown policy"),
])
def test_bad_options_exit_2(requests_csv: Path, capsys: pytest.CaptureFixture[str],
                            args: list[str], message: str) -> None:
    code, out, err = _run(["stats", str(requests_csv), *args], capsys)
    assert code == 2 and out == "" and message in err
    assert "Traceback" not in err


def test_missing_file_and_data_without_outcomes(tmp_path: Path, engine: Engine,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(["stats", str(tmp_path / "none.csv")], capsys)
    assert code == 2 and "no such file" in err
    path = tmp_path / "clinical.parquet"
    pq.write_table(synthesize(50, seed=2, outcomes=False), path)
    code, out, _ = _run(["stats", str(path)], capsys)
    assert code == 0
    doc = json.loads(out)
    messages = " ".join(m for model in doc["models"] for m in model["messages"])
    assert "needs the outcome columns" in messages
    assert doc["concordance"]["n"] == 0
