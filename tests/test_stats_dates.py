"""Statistics over request dates anywhere in the range ingest accepts (issue 8, point 5).

``preauth stats`` crashed with "internal error (IndexError)" on any ``request_date`` before
1970: the month codes of preauth.grouping built their day → month lookup table with
``np.arange(lo, hi, dtype="datetime64[D]")``, which does not start at ``lo`` when it is
negative. Ingest reads any ISO date with a four-digit year (0000-01-01 .. 9999-12-31).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from preauth.cli import main
from preauth.evidence import cells as cells_module
from preauth.evidence.cells import Filters
from preauth.evidence.cells import cells as aggregate
from preauth.evidence.grouping import count_combinations
from preauth.evidence.rates import rates
from preauth.evidence.report import analyse, format_text
from preauth.ingest.read import read_raw
from preauth.ingest.validate import validate

DATES = ["1969-12-31", "1970-01-01", "1900-01-01", "1582-10-10", "0001-01-01",
         "9999-12-31", "2020-02-29", ""]
MONTHS = ["1969-12", "1970-01", "1900-01", "1582-10", "0001-01", "9999-12", "2020-02"]
MISSING = "(not recorded)"  # the group of requests without a date
YEAR_0 = -719528  # 0000-01-01 as days since 1970-01-01: a date32 has it, Python has not


def _csv(path: Path, dates: list[str]) -> Path:
    lines = ["case_id,request_date,carrier,cpt_code,preauth_required,decision"]
    for i, d in enumerate(dates):
        lines.append(f"r{i},{d},{'AB'[i % 2]},72148,{'true' if i % 3 else 'false'},"
                     f"{'denied' if i % 2 else 'approved'}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_ingest_reads_every_date_of_the_range(tmp_path: Path) -> None:
    result = validate(read_raw(_csv(tmp_path / "r.csv", DATES)))
    assert result.rows_accepted == len(DATES)
    days = result.accepted.column("request_date").cast(pa.int32()).to_pylist()
    assert days[:2] == [-1, 0]


def test_year_0000_works_or_is_rejected_at_ingest(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Ingest's ISO dates have a four-digit year, so 0000-01-01 may get through: then the
    statistics must handle it (it has no Python date). (It does not: request_date is lenient
    and reads year 0000 as not recorded, with a warning.)"""
    path = _csv(tmp_path / "r.csv", ["0000-01-01", "0000-12-31", "2020-01-01"])
    dates = validate(read_raw(path)).accepted["request_date"].to_pylist()
    code = main(["stats", str(path)])
    out, err = capsys.readouterr()
    assert code == 0, err
    groups = {r["group"] for r in json.loads(out)["rates"] if r["by"] == "month"}
    assert groups == ({"0000-01", "0000-12", "2020-01"} if dates[0] is not None
                      else {MISSING, "2020-01"})


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_cli_stats_on_dates_before_1970_and_far_away(tmp_path: Path, fmt: str,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["stats", "--format", fmt, str(_csv(tmp_path / "r.csv", DATES))])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "internal error" not in err
    if fmt == "json":
        doc = json.loads(out)
        groups = {r["group"]: r["denominator"] for r in doc["rates"]
                  if r["by"] == "month" and r["measure"] == "preauth_required"}
        assert groups == {**dict.fromkeys(MONTHS, 1), MISSING: 1}


def test_month_codes_around_the_epoch() -> None:
    days = pa.array([-1, 0, -31, -32, None, YEAR_0, 2932896], pa.int32()).cast(pa.date32())
    out = count_combinations(pa.table({"d": days}), {"m": ("d", "month")})
    assert out is not None
    # as day numbers of the first of each month (0000-01 has no Python date)
    got = sorted(zip(out.column("m").cast(pa.int32()).to_pylist(), out.column("n").to_pylist(),
                     strict=True), key=lambda p: (p[0] is not None, p[0] or 0))
    first = {m: (dt.date.fromisoformat(m + "-01") - dt.date(1970, 1, 1)).days
             for m in ("1969-11", "1969-12", "1970-01", "9999-12")}
    assert got == [(None, 1), (YEAR_0, 1), (first["1969-11"], 1), (first["1969-12"], 2),
                   (first["1970-01"], 1), (first["9999-12"], 1)]


@pytest.mark.parametrize("fast", [True, False])
def test_many_rows_of_old_dates_both_paths(fast: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    # enough rows that the month codes come from the day lookup table, spanning 1950-1990
    rng = np.random.default_rng(5)
    n = 20_000
    start = (dt.date(1950, 1, 1) - dt.date(1970, 1, 1)).days
    days = rng.integers(start, start + 40 * 365, n).astype(np.int32)
    table = pa.table({"request_date": pa.array(days).cast(pa.date32()),
                      "carrier": rng.choice(["A", "B"], n),
                      "preauth_required": rng.random(n) < 0.5})
    if not fast:
        monkeypatch.setattr(cells_module, "count_combinations", lambda *a, **k: None)
    filters = Filters(date_from=dt.date(1960, 3, 15), date_to=dt.date(1975, 6, 30))
    c = aggregate(table, None, filters)
    as_dates = days.astype("datetime64[D]")
    keep = (as_dates >= np.datetime64("1960-03-15")) & (as_dates <= np.datetime64("1975-06-30"))
    assert int(c["n"].sum()) == int(keep.sum())
    months = as_dates[keep].astype("datetime64[M]")
    expected = dict(zip(*np.unique(months.astype(str), return_counts=True), strict=True))
    got = c.groupby(c["month"].dt.strftime("%Y-%m"))["n"].sum().to_dict()
    assert got == {k: int(v) for k, v in expected.items()}


def test_analyse_and_rates_by_month_on_the_whole_range(tmp_path: Path) -> None:
    result = validate(read_raw(_csv(tmp_path / "r.csv", DATES)))
    ev = analyse(result.accepted, policy=None)
    by_month = ev.rates[(ev.rates["by"] == "month") & (ev.rates["measure"] == "denied")]
    assert set(by_month["group"]) == {*MONTHS, MISSING}
    assert f"Requests: {len(DATES)} " in format_text(ev)


def test_stats_on_year_0000_from_any_source() -> None:
    days = pa.array([YEAR_0, YEAR_0 + 40, 0, None], pa.int32()).cast(pa.date32())
    table = pa.table({"request_date": days, "carrier": ["A", "B", "A", "B"],
                      "preauth_required": [True, False, True, None]})
    for fast in (True, False):
        c = aggregate(table) if fast else aggregate(table.cast(pa.schema([
            pa.field("request_date", pa.string()), pa.field("carrier", pa.string()),
            pa.field("preauth_required", pa.string())])))
        months = rates(c, by=("month",))["group"].tolist()
        assert {"0000-01", "0000-02", "1970-01", MISSING} <= set(months)


def test_evidence_page_analyses_old_and_far_dates() -> None:
    from preauth.criteria.library import load_library
    from preauth.evaluate.engine import Engine
    from preauth.synthetic.generator import synthesize
    from tests.app.test_evidence_page import TABS, _accepted, _evidence, _open_tab

    engine = Engine(load_library())
    try:
        table = synthesize(200, seed=3, engine=engine)
    finally:
        engine.close()
    # a few years before 1970 (the month codes' lookup table), then the whole range
    for dates in (["1969-12-31", "1966-03-01", "1965-06-15", "1969-01-01"],
                  ["1969-12-31", "1900-01-01", "0001-01-01", "9999-12-31", "1965-06-15"]):
        col = pa.array([dates[i % len(dates)] for i in range(table.num_rows)])
        old = table.set_column(table.column_names.index("request_date"), "request_date", col)
        at = _evidence(uploaded_dataset=_accepted(old), uploaded_dataset_name="old.csv",
                       evidence_source_request="uploaded")
        assert "Could not analyse" not in " ".join(e.value for e in at.error), dates
        charts = [len(_open_tab(at, tab).get("plotly_chart")) for tab in TABS]
        assert charts == [1] * len(TABS), (dates, charts)  # one chart in each of the 5 tabs


def test_ingest_rejects_year_0000_naming_the_row() -> None:
    """Python (and so the Evidence page's date filter) has no year 0: ingest refuses it, as
    any other impossible date - request_date is lenient, so with a warning naming the row,
    the date read as not documented - and keeps year 0001."""
    from preauth.ingest.raw import RawTable
    from preauth.ingest.validate import validate

    raw = RawTable(pa.table({"case_id": ["A", "B"], "cpt_code": ["72148", "72148"],
                             "request_date": ["0000-06-01", "0001-01-01"]}), "r.csv", "csv")
    result = validate(raw, {"case_id": "case_id", "cpt_code": "cpt_code",
                            "request_date": "request_date"})
    assert (result.rows_accepted, result.rows_rejected) == (2, 0)
    assert result.accepted["request_date"].to_pylist() == [None, dt.date(1, 1, 1)]
    warning = result.warnings.to_pylist()[0]
    assert warning["row"] == 1 and warning["column"] == "request_date"
