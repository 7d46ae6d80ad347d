"""A value derived from a diagnosis code, through the determination and the letter: the
determination lists where it came from and the letter cites it (issue 11)."""

from __future__ import annotations

import datetime as dt

from preauth.evaluate.determination import determine
from preauth.evaluate.engine import Engine
from preauth.evaluate.letter import letter_html, letter_markdown
from preauth.evaluate.vocabulary import Verdict
from preauth.sources.codes import derive_case
from tests.cases import acute_lbp

G834 = "ICD-10-CM G83.4 Cauda equina syndrome"
TODAY = dt.date(2026, 12, 2)


def test_a_coded_red_flag_decides_and_is_cited(engine: Engine) -> None:
    case = acute_lbp(cauda_equina_signs=None, diagnosis_codes="g834, M54.50")
    derived, provenance, warnings = derive_case(case)
    assert derived["cauda_equina_signs"] is True and warnings == []
    d = determine(engine, derived, ["acr"], provenance=provenance)[0]
    assert d.verdict is Verdict.MEETS and "acr-lbp-v4" in {r.id for r in d.fired}
    assert d.provenance == {"cauda_equina_signs": (G834,)}
    assert d.derived_from == [("Cauda equina signs", (G834,))]
    page = letter_html(d, derived, TODAY)
    assert f"Cauda equina signs: Yes — from {G834}" in page
    md = letter_markdown(d, derived, TODAY)
    assert "Cauda equina signs: Yes — from ICD-10-CM G83\\.4 Cauda equina syndrome" in md
    # the codes themselves are listed as documented, and an own value cites nothing
    assert "Diagnosis codes (ICD-10-CM): g834, M54.50" in page
    assert "Radiculopathy: No<" in page


def test_without_provenance_the_letter_cites_nothing(engine: Engine) -> None:
    case = acute_lbp(cauda_equina_signs=True)
    d = determine(engine, case, ["acr"])[0]
    assert d.provenance == {} and d.derived_from == []
    assert "— from" not in letter_html(d, case, TODAY)


def test_provenance_is_kept_only_for_fields_the_case_holds(engine: Engine) -> None:
    case = acute_lbp(cauda_equina_signs=True, osteoporosis=None)
    provenance = {"osteoporosis": ["ICD-10-CM M81.0 x"], "not_a_field": ["y"],
                  "cauda_equina_signs": [G834, G834], "cancer_history": "ICD-10-CM Z85.3 z"}
    d = determine(engine, case, ["acr"], provenance=provenance)[0]
    assert d.provenance == {"cauda_equina_signs": (G834,),
                            "cancer_history": ("ICD-10-CM Z85.3 z",)}  # catalog order
    page = letter_html(d, case, TODAY)
    assert f"Cauda equina signs: Yes — from {G834}<" in page
    assert "History of cancer: No — from ICD-10-CM Z85.3 z" in page


def test_citations_are_escaped_in_the_markdown_letter(engine: Engine) -> None:
    case = acute_lbp(cauda_equina_signs=True)
    d = determine(engine, case, ["acr"],
                  provenance={"cauda_equina_signs": ["[x](https://evil.example) <b>"]})[0]
    md = letter_markdown(d, case, TODAY)
    assert "\\[x\\]\\(https\\://evil\\.example\\) \\<b\\>" in md
    assert "<b>" not in letter_html(d, case, TODAY)
