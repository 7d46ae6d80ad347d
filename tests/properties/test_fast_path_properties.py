"""Stage 2 on bit planes: the fast verdict path agrees with the detailed path whatever the
input's shape — Arrow (boolean columns read directly, also sliced at odd offsets and in several
chunks) or pandas (everything through SQL); planes hold Kleene logic; the verdict rules and
explanations on planes (numpy or int) equal the reference rules on arbitrary statuses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from preauth.catalog.fields import CONTRASTS, REGIONS
from preauth.catalog.schema import case_table
from preauth.criteria.expressions import Node
from preauth.criteria.library import Library, Policy
from preauth.evaluate import reference
from preauth.evaluate.engine import Engine
from preauth.evaluate.planes import bool_planes, is_set, kleene_planes, value_planes
from preauth.evaluate.verdicts import (
    N_PROCEDURES,
    VERDICTS,
    PolicyTables,
    Rows,
    categories,
    decide,
    explain,
    needs_review,
)
from tests.fast import examples
from tests.properties.strategies import cases

SETTINGS = settings(max_examples=examples(40), deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


@st.composite
def batches(draw: st.DrawFn) -> list[dict]:
    n = draw(st.integers(1, 30))
    return [draw(cases(case_id=f"f{i}")) for i in range(n)]


def _detailed(engine: Engine, table: object) -> dict[tuple[str, str], str]:
    return {(r["case_id"], r["policy"]): r["verdict"]
            for r in engine.evaluate(table).to_pylist()}


def _long(engine: Engine, table: object) -> dict[tuple[str, str], dict]:
    return {(r["case_id"], r["policy"]): r for r in engine.evaluate(table).to_pylist()}


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
    rows = _long(engine, table)
    assert _fast(engine, table) == expected
    frame = table.to_pandas()  # no direct boolean columns: every leaf through SQL
    assert _fast(engine, frame) == expected
    assert _long(engine, frame) == rows
    if cut < table.num_rows:  # bit offsets that are not a multiple of 8
        sliced = table.slice(cut)
        ids = set(sliced.column("case_id").to_pylist())
        assert _fast(engine, sliced) == {k: v for k, v in expected.items() if k[0] in ids}
        assert _long(engine, sliced) == {k: v for k, v in rows.items() if k[0] in ids}
    chunked = pa.concat_tables([table.slice(0, cut), table.slice(cut)])
    assert _fast(engine, chunked) == expected
    assert _long(engine, chunked) == rows


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


@settings(max_examples=examples(60), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_stage2_rules_equal_reference_on_any_statuses(library: Library,
                                                      data: st.DataObject) -> None:
    """The verdict rules and explanations on planes — numpy or int — equal the reference
    rules on arbitrary criterion statuses and procedures, not only those cases reach."""
    n = data.draw(st.integers(1, 40))
    packed = data.draw(st.booleans())
    procedure = np.array(data.draw(st.lists(st.integers(0, N_PROCEDURES), min_size=n,
                                            max_size=n)), dtype=np.int8)
    # a palette per example, so that all-FALSE or NULL-free statuses (open verdicts) are common
    palette = data.draw(st.sets(st.sampled_from([True, False, None]), min_size=1))
    three = st.sampled_from(sorted(palette, key=repr))
    rows = Rows(procedure, packed=packed)
    for policy in library.policies:
        k = len(policy.criteria)
        status = data.draw(st.lists(st.lists(three, min_size=k, max_size=k), min_size=n,
                                    max_size=n))
        _check_against_reference(policy, rows, status, packed)


def _check_against_reference(policy: Policy, rows: Rows, status: list[list[bool | None]],
                             packed: bool) -> None:
    tables = PolicyTables(policy)
    columns = [[row[j] for row in status] for j in range(len(policy.criteria))]
    roots = [bool_planes(pa.array(col, pa.bool_())) if packed else value_planes(col)
             for col in columns]
    decision = decide(tables, roots, rows)
    review = needs_review(tables, roots, decision)
    hits = categories(tables, roots, rows)
    ex = explain(tables, roots, decision)
    codes = decision.codes()
    for i in range(rows.n):
        p = int(rows.procedure[i])
        region, contrast = ((REGIONS[p // len(CONTRASTS)], CONTRASTS[p % len(CONTRASTS)])
                            if p < N_PROCEDURES else (None, None))
        want = reference.judge(policy, region, contrast,
                               {c.id: status[i][j] for j, c in enumerate(policy.criteria)})
        code = decision.code(i)
        assert code == int(codes[i])
        got = {
            "verdict": VERDICTS[code].value if code >= 0 else None,
            "needs_review": is_set(review, i),
            "category": next((c.value for c, hit in hits if is_set(hit, i)), None),
            **{name: [tables.ids[j] for j, plane in enumerate(getattr(ex, name))
                      if is_set(plane, i)]
               for name in ("fired", "not_met", "undocumented", "would_flip")},
        }
        assert got == want, (policy.id, i, region, contrast)
        # without per-field NULL tests, every field of a deciding criterion is listed
        deciding = {f for j, c in enumerate(policy.criteria)
                    if want["verdict"] == "insufficient_documentation"
                    and c.kind == "indication" and status[i][j] is None
                    and region in c.regions and contrast in c.appropriateness
                    and c.appropriateness[contrast].category.supports_imaging
                    for f in c.expression.fields}
        assert {f for f, plane in ex.fields.items() if is_set(plane, i)} == deciding


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
