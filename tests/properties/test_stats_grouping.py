"""The fast stage-1 grouping of the statistics (packed integer codes, preauth.grouping) and
the SQL GROUP BY it replaces give the same cells, for any data, NULLs, blanks and filters."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from preauth.evidence import cells as cells_module
from preauth.evidence.cells import MISSING, VERDICTS, Filters
from preauth.evidence.cells import cells as aggregate
from preauth.evidence.grouping import count_combinations
from tests.fast import examples

TEXT = {"carrier": ["Carrier A", "Carrier B", "", " ", "Z"],
        "region": ["cervical", "thoracic", "lumbar", ""],
        "cpt_code": ["72141", "72148", "72157"],
        "decision": ["approved", "denied", "cancelled", "pending", "other"],
        "final_decision": ["approved", "denied", "cancelled"],
        "verdict": list(VERDICTS)}
BOOLS = ("preauth_required", "peer_to_peer", "completed")


_EPOCH = dt.date(1970, 1, 1)
_DAY_0000 = -719528  # 0000-01-01, the earliest date ingest reads (year 0 has no Python date)
_DAY_MIN = (dt.date.min - _EPOCH).days  # 0001-01-01
_DAY_MAX = (dt.date.max - _EPOCH).days  # 9999-12-31
_ANY_DAY = st.integers(_DAY_0000, _DAY_MAX)
_EPOCH_DAYS = st.integers(-800, 800)  # 1967-10 .. 1972-03
_RECENT_DAYS = st.integers((dt.date(2013, 1, 1) - _EPOCH).days,
                           (dt.date(2019, 12, 31) - _EPOCH).days)
_EXTREME_DAYS = st.one_of(st.integers(_DAY_0000, _DAY_0000 + 800),
                          st.integers(_DAY_MAX - 800, _DAY_MAX),
                          st.sampled_from([_DAY_0000, _DAY_MIN, -1, 0, _DAY_MAX]))


def _maybe(values: list) -> st.SearchStrategy:
    return st.one_of(st.none(), st.sampled_from(values))


@st.composite
def tables(draw: st.DrawFn) -> tuple[pa.Table, Filters, bool]:
    n = draw(st.integers(0, 40))
    cols: dict[str, pa.Array] = {}
    for name, values in TEXT.items():
        if name == "verdict" and draw(st.booleans()):
            continue  # no verdict column
        cells = draw(st.lists(_maybe(values), min_size=n, max_size=n))
        arr = pa.array(cells, pa.string())
        if draw(st.booleans()):
            arr = arr.dictionary_encode()
        cols[name] = arr
    for name in BOOLS:
        cols[name] = pa.array(draw(st.lists(st.one_of(st.none(), st.booleans()),
                                            min_size=n, max_size=n)), pa.bool_())
    # Day numbers since 1970-01-01 over every date ingest accepts (an ISO date with a 4-digit
    # year: 0000-01-01 .. 9999-12-31), weighted towards a few years around 1970 (dates on
    # both sides of day 0) and the extremes; a table draws from one cluster or from all.
    cluster = draw(st.sampled_from(["all", "epoch", "recent", "ancient", "spread"]))
    days = {"all": st.one_of(_EPOCH_DAYS, _RECENT_DAYS, _EXTREME_DAYS, _ANY_DAY),
            "epoch": _EPOCH_DAYS, "recent": _RECENT_DAYS, "ancient": _EXTREME_DAYS,
            "spread": _ANY_DAY}[cluster]
    cols["request_date"] = pa.array(draw(st.lists(st.one_of(st.none(), days),
                                                  min_size=n, max_size=n)),
                                    pa.int32()).cast(pa.date32())
    day = st.one_of(st.dates(dt.date.min, dt.date.max),
                    days.map(lambda d: _EPOCH + dt.timedelta(days=max(d, _DAY_MIN))))
    table = pa.table(cols)

    def pick(name: str) -> tuple[str, ...] | None:
        if not draw(st.booleans()):
            return None
        return tuple(draw(st.lists(st.sampled_from([*TEXT[name], MISSING]),
                                   max_size=3, unique=True)))

    filters = Filters(
        carriers=pick("carrier"), regions=pick("region"), cpt_codes=pick("cpt_code"),
        date_from=draw(st.one_of(st.none(), day)), date_to=draw(st.one_of(st.none(), day)))
    return table, filters, "verdict" in cols


def _cells(table: pa.Table, filters: Filters, fast: bool,
           monkeypatch: pytest.MonkeyPatch) -> pd.DataFrame:
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(cells_module, "count_combinations", lambda *a, **k: None)
        else:
            m.setattr(cells_module, "count_combinations", _must_apply)
        return aggregate(table, None, filters)


def _must_apply(*args: object, **kwargs: object) -> pa.Table:
    result = count_combinations(*args, **kwargs)  # type: ignore[arg-type]
    assert result is not None, "typed columns must take the fast path"
    return result


@settings(max_examples=examples(80), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=tables())
def test_fast_grouping_equals_sql_grouping(case: tuple[pa.Table, Filters, bool],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    table, filters, _ = case
    fast = _cells(table, filters, True, monkeypatch)
    sql = _cells(table, filters, False, monkeypatch)
    pd.testing.assert_frame_equal(fast, sql)
    assert int(fast["n"].sum()) <= table.num_rows


def test_untyped_columns_take_the_sql_path() -> None:
    table = pa.table({"carrier": ["A", "B"], "region": ["lumbar", "cervical"],
                      "preauth_required": ["true", "false"]})  # text booleans
    assert count_combinations(table, {"preauth_required": ("preauth_required", "bool")}) \
        is None
    cells = aggregate(table)
    assert int(cells["preauth_required_num"].sum()) == 1
    assert int(cells["preauth_required_den"].sum()) == 2


def test_counts_of_each_combination() -> None:
    table = pa.table({"c": pa.array(["x", "y", "x", None, "x"]).dictionary_encode(),
                      "b": [True, None, True, False, True],
                      "d": pa.array([dt.date(2020, 1, 5), dt.date(2020, 1, 31), None,
                                     dt.date(2020, 2, 1), dt.date(2020, 1, 1)], pa.date32())})
    out = count_combinations(table, {"c": ("c", "text"), "b": ("b", "bool"),
                                     "m": ("d", "month"), "absent": ("nope", "text")})
    assert out is not None
    assert out.column_names == ["c", "b", "m", "absent", "n"]
    assert {tuple(r.values()) for r in out.to_pylist()} == {
        ("x", True, dt.date(2020, 1, 1), None, 2),
        ("x", True, None, None, 1),
        ("y", None, dt.date(2020, 1, 1), None, 1),
        (None, False, dt.date(2020, 2, 1), None, 1),
    }
