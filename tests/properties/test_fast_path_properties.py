"""The fast verdict path (leaf predicates in SQL, Kleene logic on packed bit planes) agrees with
the detailed path and with :func:`preauth.verdicts.decide`, whatever the input's shape:
Arrow (boolean columns read directly, also sliced at odd offsets and in several chunks) or
pandas (everything through SQL)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from preauth.catalog.schema import case_table
from preauth.criteria.expressions import Node
from preauth.criteria.library import Library
from preauth.evaluate.engine import Engine
from preauth.evaluate.verdicts import (
    N_PROCEDURES,
    PolicyTables,
    Statuses,
    bool_planes,
    decide,
    kleene_planes,
    verdict_codes,
)
from tests.fast import examples
from tests.properties.strategies import cases

SETTINGS = settings(max_examples=examples(40), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def batches(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(1, 30))
    return [draw(cases(case_id=f"f{i}")) for i in range(n)]


def _detailed(engine: Engine, table: pa.Table) -> dict[tuple[str, str], str]:
    return {(r["case_id"], r["policy"]): r["verdict"]
            for r in engine.evaluate(table).to_pylist()}


def _fast(engine: Engine, table: object) -> dict[tuple[str, str], str]:
    out = {}
    for row in engine.verdicts(table).to_pylist():
        for key, verdict in row.items():
            if key.startswith("verdict:"):
                out[(row["case_id"], key[len("verdict:"):])] = verdict
    return out


@SETTINGS
@given(batch=batches(), cut=st.integers(0, 7))
def test_fast_equals_detailed_for_every_input_shape(engine: Engine, batch: list[dict],
                                                    cut: int) -> None:
    table = case_table(batch)
    expected = _detailed(engine, table)
    assert _fast(engine, table) == expected
    assert _fast(engine, table.to_pandas()) == expected  # no direct boolean columns
    if cut < table.num_rows:  # bit offsets that are not a multiple of 8
        sliced = table.slice(cut)
        want = {k: v for k, v in expected.items()
                if k[0] in set(sliced.column("case_id").to_pylist())}
        assert _fast(engine, sliced) == want
    chunked = pa.concat_tables([table.slice(0, cut), table.slice(cut)])
    assert _fast(engine, chunked) == expected


@st.composite
def bool_arrays(draw: st.DrawFn) -> pa.Array:
    values = draw(st.lists(st.one_of(st.none(), st.booleans()), min_size=0, max_size=40))
    arr = pa.array(values, pa.bool_())
    start = draw(st.integers(0, len(values)))
    return arr.slice(start)


@settings(max_examples=examples(200), deadline=None)
@given(arr=bool_arrays())
def test_bool_planes_are_true_false_and_neither(arr: pa.Array) -> None:
    t, f = bool_planes(arr)
    n = len(arr)
    tb = np.unpackbits(t, count=n, bitorder="little").astype(bool) if n else np.zeros(0, bool)
    fb = np.unpackbits(f, count=n, bitorder="little").astype(bool) if n else np.zeros(0, bool)
    values = arr.to_pylist()
    assert tb.tolist() == [v is True for v in values]
    assert fb.tolist() == [v is False for v in values]


def _planes_from_words(met: list[np.ndarray], known: list[np.ndarray], k: int
                       ) -> list[tuple[np.ndarray, np.ndarray]]:
    out = []
    for j in range(k):
        w, b = divmod(j, 62)
        is_met = ((met[w] >> b) & 1).astype(bool)
        is_known = ((known[w] >> b) & 1).astype(bool)
        out.append((np.packbits(is_met, bitorder="little"),
                    np.packbits(is_known & ~is_met, bitorder="little")))
    return out


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_verdict_codes_equal_decide(library: Library, data: st.DataObject) -> None:
    """The two implementations of the verdict rules agree on arbitrary statuses."""
    policy = data.draw(st.sampled_from(library.policies))
    tables = PolicyTables(policy)
    k = len(policy.criteria)
    n = data.draw(st.integers(1, 50))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    procedure = rng.integers(0, N_PROCEDURES + 1, n).astype(np.int8)
    met, known = [], []
    for w in range(tables.words):
        width = min(62, k - w * 62)
        kn = rng.integers(0, 1 << width, n, dtype=np.int64)
        known.append(kn)
        met.append(kn & rng.integers(0, 1 << width, n, dtype=np.int64))
    expected = decide(tables, Statuses(procedure, met, known)).verdict
    got = verdict_codes(tables, _planes_from_words(met, known, k), procedure)
    assert got.tolist() == expected.tolist()


def test_kleene_planes_truth_tables() -> None:
    """AND / OR / NOT on planes follow Kleene logic for every pair of operands."""
    values = [True, False, None]
    pairs = [(x, y) for x in values for y in values]
    a = Node("leaf", exp.column("a"), (), ("a",))
    b = Node("leaf", exp.column("b"), (), ("b",))
    leaf = {id(a): bool_planes(pa.array([x for x, _ in pairs], pa.bool_())),
            id(b): bool_planes(pa.array([y for _, y in pairs], pa.bool_()))}

    def run(kind: str, children: tuple[Node, ...]) -> list[bool | None]:
        node = Node(kind, exp.true(), children, ())
        t, f = kleene_planes(node, lambda n: leaf[id(n)])
        tb = np.unpackbits(t, count=9, bitorder="little").astype(bool)
        fb = np.unpackbits(f, count=9, bitorder="little").astype(bool)
        return [True if x else (False if y else None) for x, y in zip(tb, fb, strict=True)]

    def k_and(x: bool | None, y: bool | None) -> bool | None:
        return False if False in (x, y) else (None if None in (x, y) else True)

    def k_or(x: bool | None, y: bool | None) -> bool | None:
        return True if True in (x, y) else (None if None in (x, y) else False)

    assert run("and", (a, b)) == [k_and(x, y) for x, y in pairs]
    assert run("or", (a, b)) == [k_or(x, y) for x, y in pairs]
    assert run("not", (a,)) == [None if x is None else not x for x, _ in pairs]
