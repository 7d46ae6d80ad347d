"""The `preauth` command-line contract."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from contextlib import redirect_stdout
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from preauth.cli import main

HEADER = ("case_id,cpt_code,age,symptom_weeks,cauda_equina_signs,cancer_history,"
          "infection_signs,trauma\n")


def _csv(tmp_path: Path, body: str, name: str = "requests.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_evaluate_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, "a,72148,40,2,yes,no,no,none\nb,72141,50,3,,,,\n")
    assert main(["evaluate", str(path), "--policy", "acr"]) == 0
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["case_id"] for r in rows] == ["a", "b"]
    for key in ("case_id", "policy", "cpt_code", "verdict", "fired", "undocumented_fields",
                "would_flip"):
        assert key in rows[0]
    assert rows[0]["verdict"] == "meets_criteria" and rows[0]["fired"] == ["acr-lbp-v4"]
    assert "2 accepted, 0 rejected" in err
    assert "× 1 policies = 2 determinations" in err


def test_all_policies_and_output_file(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,72148,40,2,yes,no,no,none\n")
    out = tmp_path / "out.jsonl"
    assert main(["evaluate", str(path), "--out", str(out)]) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["policy"] for r in rows} == {"acr", "evicore_style", "aetna_style", "bcbs_style"}


def test_row_errors_go_to_errors_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, "a,72148,40,2,yes,no,no,none\n"
                          "b,72148,abc,2,maybe,no,no,none\n"
                          "a,72148,40,2,no,no,no,none\n")
    errors = tmp_path / "errors.csv"
    assert main(["evaluate", str(path), "--policy", "acr", "--errors", str(errors)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1
    assert "1 accepted, 2 rejected" in err
    table = pacsv.read_csv(errors).to_pylist()
    assert set(table[0]) == {"row", "case_id", "column", "value", "message"}
    assert {(e["row"], e["column"]) for e in table} >= {(2, "age"), (2, "cauda_equina_signs"),
                                                      (3, "case_id")}


def test_csv_output_escapes_formulas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, "=HYPERLINK(1),72148,40,2,yes,no,no,none\n")
    assert main(["evaluate", str(path), "--policy", "acr", "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert "'=HYPERLINK(1)" in out
    assert "acr-lbp-v4" in out


def test_parquet_output(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,72148,40,2,yes,no,no,none\n")
    out = tmp_path / "out.parquet"
    assert main(["evaluate", str(path), "--format", "parquet", "--out", str(out)]) == 0
    table = pq.read_table(out)
    assert table.num_rows == 4
    assert table.column("fired").to_pylist()[0] == ["acr-lbp-v4"]


@pytest.mark.parametrize(("args", "needle"), [
    (["evaluate", "{tmp}/missing.csv"], "no such file"),
    (["evaluate", "{tmp}/empty.csv"], "empty.csv"),
    (["evaluate", "{tmp}/garbage.csv"], "garbage.csv"),
    (["evaluate", "{tmp}/ok.csv", "--format", "parquet"], "--out"),
    (["evaluate", "{tmp}/ok.csv", "--policy", "nope"], "unknown policy 'nope'"),
    (["evaluate"], "required"),
])
def test_unusable_input_exits_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                             args: list[str], needle: str) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "garbage.csv").write_bytes(bytes(range(256)) * 40)
    _csv(tmp_path, "a,72148,40,2,yes,no,no,none\n", "ok.csv")
    code = main([a.format(tmp=tmp_path) for a in args]) if args != ["evaluate"] else None
    if code is None:
        with pytest.raises(SystemExit) as info:
            main(args)
        code = info.value.code
    err = capsys.readouterr().err
    assert code == 2
    assert needle in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_validate_criteria(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate-criteria"]) == 0
    assert "criteria OK" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    src = (Path(__file__).resolve().parents[1] / "criteria" / "acr.yaml").read_text()
    bad.write_text(src.replace("when: cauda_equina_signs\n",
                               "when: read_csv('/etc/passwd') IS NULL\n", 1))
    assert main(["validate-criteria", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "acr-lbp-v4" in err and "read_csv" in err


def test_synth_is_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    assert main(["synth", "--rows", "300", "--seed", "5", "--out", str(a)]) == 0
    assert main(["synth", "--rows", "300", "--seed", "5", "--out", str(b)]) == 0
    assert pq.read_table(a).equals(pq.read_table(b))
    assert pq.read_table(a).num_rows == 300


@pytest.mark.slow  # a subprocess or a big input: `make test` only
def test_python_dash_m_entry_point(tmp_path: Path) -> None:
    path = _csv(tmp_path, "a,72148,40,2,yes,no,no,none\n")
    proc = subprocess.run([sys.executable, "-m", "preauth", "evaluate", str(path), "--policy",
                           "acr"], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])["verdict"] == "meets_criteria"


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet"])
def test_evaluate_in_batches_writes_the_same_determinations(
        fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`preauth evaluate` evaluates and writes batch by batch (preauth.evaluate.batch); the
    output is the same, in the same order, whatever the batch size: the input's row order,
    each case under every policy in turn."""
    import pyarrow.parquet as pq

    from preauth.evaluate import batch as batch_module
    from preauth.synthetic.generator import synthesize

    src = tmp_path / "in.parquet"
    cases = synthesize(23, seed=5, outcomes=False)
    pq.write_table(cases, src)

    def run(size: int) -> list[dict]:
        monkeypatch.setattr(batch_module, "BATCH_ROWS", size)
        out = tmp_path / f"out-{size}.{fmt}"
        assert main(["evaluate", str(src), "--policy", "all", "--format", fmt,
                     "--out", str(out)]) == 0
        if fmt == "parquet":
            return pq.read_table(out).to_pylist()
        if fmt == "csv":
            import csv

            with open(out, encoding="utf-8", newline="") as fh:
                return list(csv.DictReader(fh))
        return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]

    whole, batched = run(1_000), run(5)
    policies = ["acr", "aetna_style", "bcbs_style", "evicore_style"]  # library order
    assert [(r["case_id"], r["policy"]) for r in whole] == [
        (c, p) for c in cases.column("case_id").to_pylist() for p in policies]
    assert batched == whole


def test_policies_come_in_the_order_asked_for(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    path = _csv(tmp_path, "a,72148,40,2,yes,no,no,none\nb,72141,50,3,,,,\n")
    assert main(["evaluate", str(path), "--policy", "bcbs_style,acr"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["case_id"], r["policy"]) for r in rows] == [
        ("a", "bcbs_style"), ("a", "acr"), ("b", "bcbs_style"), ("b", "acr")]


def test_reading_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--reading reviewer reads unmentioned red flags as absent; strict is the default. The
    seed denial (thoracic + lumbar after cervical fusion, red flags not mentioned)."""
    path = tmp_path / "seed.csv"
    path.write_text("case_id,cpt_code,age,symptom_weeks,prior_spine_surgery_region,"
                    "radiculopathy,neuro_deficit,surgical_candidate\n"
                    "t,72157,54,8,cervical,no,no,no\nl,72158,54,8,cervical,no,no,no\n",
                    encoding="utf-8")
    verdicts = {}
    for reading in (None, "strict", "reviewer"):
        extra = [] if reading is None else ["--reading", reading]
        assert main(["evaluate", str(path), "--policy", "acr", *extra]) == 0
        out, err = capsys.readouterr()
        verdicts[reading] = [json.loads(line)["verdict"] for line in out.splitlines()]
        assert f"({reading or 'strict'} reading)" in err
    assert verdicts[None] == verdicts["strict"] == ["insufficient_documentation"] * 2
    assert verdicts["reviewer"] == ["does_not_meet"] * 2
    with pytest.raises(SystemExit) as exit_info:  # argparse: usage and exit 2
        main(["evaluate", str(path), "--reading", "lenient"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'lenient'" in capsys.readouterr().err


# -- --layout wide and --bom ------------------------------------------------------------------

WIDE_SOURCE = ("Request ID,cpt_code,age,cauda_equina_signs,Reviewer note\n"
               "a,72148,40,yes,=HYPERLINK(\"http://x\")\n"
               "b,72141,50,,ok\n"
               "c,72148,abc,no,bad age\n")


def _read_csv(path: Path, encoding: str = "utf-8") -> list[dict[str, str]]:
    import csv

    with open(path, encoding=encoding, newline="") as fh:
        return list(csv.DictReader(fh))


def test_wide_layout_one_row_per_request(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    from preauth.evaluate.vocabulary import Verdict

    src = tmp_path / "requests.csv"
    src.write_text(WIDE_SOURCE, encoding="utf-8")
    out = tmp_path / "wide.csv"
    assert main(["evaluate", str(src), "--policy", "acr,evicore_style", "--layout", "wide",
                 "--format", "csv", "--out", str(out)]) == 0
    assert "one row per request" in capsys.readouterr().err
    rows = _read_csv(out)
    assert [r["case_id"] for r in rows] == ["a", "b"]  # the rejected row is not there
    assert list(rows[0]) == [
        "row", "case_id", "cpt_code", "region", "contrast", "age", "cauda_equina_signs",
        "Reviewer note",
        "acr: verdict", "acr: flagged for review", "acr: criteria met",
        "acr: documentation needed",
        "evicore_style: verdict", "evicore_style: flagged for review",
        "evicore_style: criteria met", "evicore_style: documentation needed"]
    a, b = rows
    assert (a["row"], a["region"], a["cauda_equina_signs"]) == ("1", "lumbar", "Yes")
    assert a["acr: verdict"] == Verdict.MEETS.label == "Meets criteria"
    assert a["acr: criteria met"] == "Suspected cauda equina syndrome"
    assert a["acr: documentation needed"].startswith("Bladder / bowel symptoms")
    assert a["Reviewer note"] == "'=HYPERLINK(\"http://x\")"  # neutralised, in wide too
    assert b["acr: verdict"] == "Insufficient documentation"
    assert b["cauda_equina_signs"] == "" and "Document: Cauda equina signs" in \
        b["acr: documentation needed"].split("; ")


def test_wide_and_long_outputs_agree(tmp_path: Path) -> None:
    from preauth.synthetic.generator import synthesize

    src = tmp_path / "in.parquet"
    pq.write_table(synthesize(40, seed=8), src)
    wide, long = tmp_path / "wide.csv", tmp_path / "long.csv"
    assert main(["evaluate", str(src), "--layout", "wide", "--format", "csv",
                 "--out", str(wide)]) == 0
    assert main(["evaluate", str(src), "--format", "csv", "--out", str(long)]) == 0
    from preauth.evaluate.vocabulary import verdict_label

    by_key = {(r["case_id"], r["policy"]): r["verdict"] for r in _read_csv(long)}
    rows = _read_csv(wide)
    assert len(rows) == 40 and len(by_key) == 160
    for row in rows:
        for pid in ("acr", "aetna_style", "bcbs_style", "evicore_style"):
            assert row[f"{pid}: verdict"] == verdict_label(by_key[(row["case_id"], pid)])


@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_wide_layout_is_the_same_whatever_the_batch_size(
        fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from preauth.evaluate import batch as batch_module

    src = tmp_path / "requests.csv"
    src.write_text(WIDE_SOURCE, encoding="utf-8")
    outputs = []
    for size in (1_000, 1):
        monkeypatch.setattr(batch_module, "BATCH_ROWS", size)
        out = tmp_path / f"out-{size}.{fmt}"
        assert main(["evaluate", str(src), "--layout", "wide", "--format", fmt,
                     "--out", str(out)]) == 0
        outputs.append(pq.read_table(out).to_pylist() if fmt == "parquet"
                       else out.read_bytes())
    assert outputs[0] == outputs[1]


def test_bom_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "requests.csv"
    src.write_text(WIDE_SOURCE, encoding="utf-8")
    for layout in ("long", "wide"):
        plain, marked = tmp_path / f"{layout}.csv", tmp_path / f"{layout}-bom.csv"
        assert main(["evaluate", str(src), "--layout", layout, "--format", "csv",
                     "--out", str(plain)]) == 0
        assert main(["evaluate", str(src), "--layout", layout, "--format", "csv", "--bom",
                     "--out", str(marked)]) == 0
        assert not plain.read_bytes().startswith(b"\xef\xbb\xbf")
        assert marked.read_bytes() == b"\xef\xbb\xbf" + plain.read_bytes()
        assert _read_csv(marked, "utf-8-sig") == _read_csv(plain)
    capsys.readouterr()
    assert main(["evaluate", str(src), "--bom"]) == 2  # JSON Lines: no BOM
    err = capsys.readouterr().err
    assert "--bom is for --format csv" in err and len(err.strip().splitlines()) == 1


def test_a_big_file_read_in_batches_says_its_unmapped_columns_are_not_echoed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    from preauth import cli

    src = tmp_path / "requests.csv"
    src.write_text(WIDE_SOURCE, encoding="utf-8")
    monkeypatch.setattr(cli, "STREAM_FROM_BYTES", 1)
    out = tmp_path / "wide.csv"
    assert main(["evaluate", str(src), "--layout", "wide", "--format", "csv",
                 "--out", str(out)]) == 0
    assert "unmapped columns are not echoed: Reviewer note" in capsys.readouterr().err
    rows = _read_csv(out)
    assert [r["case_id"] for r in rows] == ["a", "b"]
    assert "Reviewer note" not in rows[0] and rows[0]["acr: verdict"] == "Meets criteria"


def test_help_documents_layout_and_bom() -> None:
    proc_out = io.StringIO()
    with pytest.raises(SystemExit) as info, redirect_stdout(proc_out):
        main(["evaluate", "--help"])
    assert info.value.code == 0
    text = " ".join(proc_out.getvalue().split())
    assert "--layout {long,wide}" in text and "--bom" in text
    assert "one row per request" in text and "UTF-8 byte order mark" in text
