"""Issue 11, the command line: ``--mapping PROFILE.yaml`` on evaluate and stats (whole and
streamed), a bad profile or an undecided date order as exit 2 with every problem / the YAML
to add, ``--warnings PATH`` and warnings per column in the summary, ``preauth profile`` - and
the newcomer's path end to end on messy exports (US, European, XLSX): one profile written by
``preauth profile`` and edited, every row accounted for, codes cited, a wide CSV Excel opens."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from preauth import cli
from preauth.cli import main
from preauth.ingest import stream
from preauth.ingest.errors import ProfileError
from preauth.ingest.profile import load_profile
from preauth.sources.codes import parse_codes
from tests.messy_exports import (
    BAD_CPT_ROW,
    CODE_FOR,
    DUPLICATE_ROW,
    eu_export,
    us_export,
    xlsx_export,
)

Capsys = pytest.CaptureFixture[str]
DERIVING = {*CODE_FOR.values(), "M54.16", "M54.12", "M54.14"}


def _file(tmp_path: Path, data: bytes, name: str) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


AMBIGUOUS = "Request ID,Procedure Code,Date Requested\na,72148,1/2/2024\nb,72148,3/4/2024\n"


def test_an_undecided_date_order_exits_2_with_the_yaml_to_add(tmp_path: Path,
                                                              capsys: Capsys) -> None:
    path = _file(tmp_path, AMBIGUOUS.encode(), "amb.csv")
    assert main(["evaluate", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    lines = err.splitlines()
    assert lines[0].startswith('preauth: amb.csv: request_date ("Date Requested") has dates '
                               "like 1/2/2024 that read as M/D/YYYY or D/M/YYYY")
    assert '"%d/%m/%Y" instead if the day comes first' in lines[1]
    assert "\n".join(lines[2:]) == 'formats:\n  request_date: "%m/%d/%Y"'
    profile = tmp_path / "p.yaml"  # the YAML printed is the YAML that works
    profile.write_text("\n".join(lines[2:]) + "\n", encoding="utf-8")
    assert main(["evaluate", str(path), "--mapping", str(profile), "--policy", "acr"]) == 0
    assert len(_jsonl(capsys.readouterr().out)) == 2


@pytest.mark.parametrize("command", ["evaluate", "stats", "profile"])
def test_a_bad_profile_exits_2_with_every_problem(tmp_path: Path, capsys: Capsys,
                                                  command: str) -> None:
    path = _file(tmp_path, AMBIGUOUS.encode(), "amb.csv")
    profile = tmp_path / "bad.yaml"
    profile.write_text("colums: {}\nvalues:\n  sexx: {Male: M}\nformats:\n  request_date:\n",
                       encoding="utf-8")
    assert main([command, str(path), "--mapping", str(profile)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "Traceback" not in err
    assert err.splitlines() == [
        "preauth: bad.yaml, line 1: unknown key 'colums'; expected columns, values, formats, "
        "description; did you mean 'columns'?",
        "preauth: bad.yaml, line 3: 'sexx' is not a case field; did you mean 'sex'? (the "
        "fields are listed in docs/fields.md)",
        'preauth: bad.yaml, line 5: request_date has no format yet; write the one the file '
        'uses: "%m/%d/%Y" (M/D/YYYY) or "%d/%m/%Y" (D/M/YYYY), for example']


def test_warnings_per_column_in_the_summary_and_in_a_file(tmp_path: Path,
                                                          capsys: Capsys) -> None:
    path = _file(tmp_path, b"id,cpt_code,sex,decision,diagnosis_codes\n"
                           b"a,72148,Mx,Withdrawn,zz G83.4\nb,72148,F,Gone,\n", "w.csv")
    assert main(["evaluate", str(path), "--policy", "acr"]) == 0
    err = capsys.readouterr().err
    assert ("read 2 rows: 2 accepted, 0 rejected (0 errors); 4 warnings (decision 2, "
            "diagnosis_codes 1, sex 1)") in err
    assert "(use --warnings PATH to write them)" in err
    assert "preauth: w.csv: diagnosis_codes: 1 value derived from ICD-10-CM codes " \
           "(cauda_equina_signs 1)" in err
    warnings = tmp_path / "warnings.csv"
    assert main(["evaluate", str(path), "--policy", "acr", "--warnings", str(warnings)]) == 0
    assert "--warnings PATH" not in capsys.readouterr().err
    with open(warnings, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["row"], r["column"], r["value"]) for r in rows] == [
        ("1", "sex", "Mx"), ("1", "diagnosis_codes", "zz G83.4"), ("1", "decision", "Withdrawn"),
        ("2", "decision", "Gone")]


def test_stats_with_a_profile_and_its_problem_files(tmp_path: Path, capsys: Capsys) -> None:
    path = _file(tmp_path, AMBIGUOUS.encode() + b"c,7214,5/6/2024\n", "amb.csv")
    profile = tmp_path / "p.yaml"
    profile.write_text('formats:\n  request_date: "%d/%m/%Y"\n', encoding="utf-8")
    errors, warnings = tmp_path / "e.csv", tmp_path / "w.csv"
    assert main(["stats", str(path), "--mapping", str(profile), "--errors", str(errors),
                 "--warnings", str(warnings)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["rows_accepted"] == 2
    assert "read 3 rows: 2 accepted, 1 rejected" in err
    assert errors.read_text(encoding="utf-8").count("\n") == 2  # header and one error
    assert warnings.read_text(encoding="utf-8").startswith('"row","case_id"')


def test_a_profile_applies_alike_to_a_file_read_in_batches(tmp_path: Path, capsys: Capsys,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    data, _ = us_export(300, seed=3)
    path = _file(tmp_path, data.decode("cp1252").encode("utf-8"), "um.csv")  # UTF-8 streams
    profile = tmp_path / "p.yaml"
    assert main(["profile", str(path), "--out", str(profile)]) == 0
    capsys.readouterr()
    args = ["evaluate", str(path), "--mapping", str(profile), "--policy", "acr"]
    assert main(args) == 0
    whole = capsys.readouterr()
    monkeypatch.setattr(cli, "STREAM_FROM_BYTES", 0)
    real, seen = stream.validate_in_batches, []

    def spy(*a: object, **k: object) -> object:
        seen.append(real(*a, **k))  # type: ignore[arg-type]
        return seen[-1]

    monkeypatch.setattr(stream, "validate_in_batches", spy)
    assert main(args) == 0
    batched = capsys.readouterr()
    assert seen and seen[0] is not None  # it was read in batches, with the profile
    assert batched.out == whole.out and batched.err == whole.err


# --- preauth profile --------------------------------------------------------------------------

def test_profile_writes_to_standard_output_and_leaves_an_undecided_order_to_choose(
        tmp_path: Path, capsys: Capsys) -> None:
    path = _file(tmp_path, AMBIGUOUS.encode(), "amb.csv")
    assert main(["profile", str(path)]) == 0
    out, err = capsys.readouterr()
    assert "  request_date:  # choose \"%m/%d/%Y\" (M/D/YYYY) or \"%d/%m/%Y\"" in out
    assert "request_date has no date format yet" in err
    with pytest.raises(ProfileError, match=r"p\.yaml, line \d+: request_date has no format"):
        load_profile(out, "p.yaml")
    chosen = out.replace("  request_date:  #", '  request_date: "%d/%m/%Y"  #')
    (tmp_path / "p.yaml").write_text(chosen, encoding="utf-8")
    assert main(["evaluate", str(path), "--mapping", str(tmp_path / "p.yaml"), "--policy",
                 "acr", "--format", "csv"]) == 0
    assert "2 accepted, 0 rejected" in capsys.readouterr().err


def test_profile_keeps_what_a_base_profile_says(tmp_path: Path, capsys: Capsys) -> None:
    data, name = us_export(60)
    path = _file(tmp_path, data, name)
    base = tmp_path / "base.yaml"
    base.write_text("description: monthly\ncolumns:\n  PT Completed: physical_therapy\n"
                    "values:\n  decision: {Withdrawn: cancelled}\n", encoding="utf-8")
    out = tmp_path / "new.yaml"
    assert main(["profile", str(path), "--mapping", str(base), "--out", str(out)]) == 0
    profile = load_profile(out)
    assert profile.description == "monthly"
    assert profile.columns["PT Completed"] == "physical_therapy"
    assert profile.values["decision"] == {"Withdrawn": "cancelled"}
    assert profile.formats == {"request_date": "%m/%d/%Y"}


# --- a newcomer's own export, end to end ------------------------------------------------------

def _edit(profile: Path) -> None:
    """What a person changes in the proposed profile of the US export: the PT column and the
    Withdrawn status."""
    text = profile.read_text(encoding="utf-8")
    assert "  PT Completed: null  #" in text and "    Withdrawn: ''  #" in text
    text = text.replace("  PT Completed: null", "  PT Completed: physical_therapy")
    profile.write_text(text.replace("    Withdrawn: ''", "    Withdrawn: cancelled"),
                       encoding="utf-8")


@pytest.mark.parametrize("build", [us_export, eu_export, lambda: xlsx_export(style="us"),
                                   lambda: xlsx_export(style="eu")],
                         ids=["us-csv", "eu-csv", "us-xlsx", "eu-xlsx"])
def test_a_messy_export_gets_in_with_one_profile(tmp_path: Path, capsys: Capsys,
                                                 build: object) -> None:
    data, name = build()  # type: ignore[operator]
    path = _file(tmp_path, data, name)
    profile = tmp_path / "p.yaml"
    assert main(["profile", str(path), "--out", str(profile)]) == 0
    capsys.readouterr()
    if "PT Completed" in profile.read_text(encoding="utf-8"):
        _edit(profile)
    errors = tmp_path / "errors.csv"
    assert main(["evaluate", str(path), "--mapping", str(profile), "--policy", "acr",
                 "--errors", str(errors)]) == 0
    out, err = capsys.readouterr()
    rows = _jsonl(out)
    # every row accounted for: the two planted bad rows rejected, the rest evaluated
    assert "read 2,000 rows: 1,998 accepted, 2 rejected" in err
    assert len(rows) == 1998
    with open(errors, encoding="utf-8", newline="") as fh:
        assert sorted(int(e["row"]) for e in csv.DictReader(fh)) == [BAD_CPT_ROW,
                                                                       DUPLICATE_ROW]
    # no value left unread: what warns is only a stray word among a row's codes
    assert "warnings (" not in err or re.search(r"warnings \(diagnosis_codes [\d,]+\);", err)
    # codes became cited evidence: every row whose codes derive something cites them
    codes_cell = _codes_by_id(data, name)
    for r in rows:
        codes, _ = parse_codes(codes_cell[str(r["case_id"])])
        if DERIVING & set(codes):
            assert r["provenance"], r["case_id"]
            cited = [c for cites in r["provenance"].values() for c in cites]  # type: ignore[union-attr]
            assert all(c.startswith("ICD-10-CM ") for c in cited)
        else:
            assert r["provenance"] is None
    assert sum(r["provenance"] is not None for r in rows) > 1000


def _codes_by_id(data: bytes, name: str) -> dict[str, str]:
    from preauth.ingest.read import read_raw

    raw = read_raw(data, name).table
    out: dict[str, str] = {}
    for case_id, codes in zip(raw.column(0).to_pylist(), raw.column(6).to_pylist(),
                              strict=True):
        out.setdefault(case_id, codes or "")  # a repeated ID: the first row is the one kept
    return out


def test_the_edited_profile_reads_withdrawn_as_cancelled_and_pt(tmp_path: Path,
                                                                capsys: Capsys) -> None:
    data, name = us_export(400, seed=5)
    path = _file(tmp_path, data, name)
    profile = tmp_path / "p.yaml"
    assert main(["profile", str(path), "--out", str(profile)]) == 0
    _edit(profile)
    out = tmp_path / "out.parquet"
    assert main(["evaluate", str(path), "--mapping", str(profile), "--policy", "acr",
                 "--format", "parquet", "--out", str(out), "--layout", "wide"]) == 0
    capsys.readouterr()
    wide = pq.read_table(out)
    assert "cancelled" in wide["decision"].to_pylist()
    assert set(wide["physical_therapy"].drop_null().to_pylist()) == {"Yes", "No"}
    assert "radiculopathy" in wide.column_names  # derived fields are echoed
    assert wide.schema.field("provenance").type.num_fields == 1  # a map in Parquet


def test_the_wide_csv_opens_in_a_spreadsheet(tmp_path: Path, capsys: Capsys) -> None:
    data, name = us_export(300, seed=2)
    path = _file(tmp_path, data, name)
    profile = tmp_path / "p.yaml"
    assert main(["profile", str(path), "--out", str(profile)]) == 0
    _edit(profile)
    out = tmp_path / "wide.csv"
    assert main(["evaluate", str(path), "--mapping", str(profile), "--layout", "wide",
                 "--format", "csv", "--bom", "--out", str(out)]) == 0
    capsys.readouterr()
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    assert len(rows) == 298 and list(rows[0])[:2] == ["row", "case_id"]
    assert any(r["provenance"].startswith(("radiculopathy: ICD-10-CM", "degenerative"))
               for r in rows)
    assert any("Zoë" in r["carrier"] for r in rows)  # cp1252 letters came through
    assert any("“sharp”" in r["Notes"] for r in rows)  # the unmapped column is echoed
