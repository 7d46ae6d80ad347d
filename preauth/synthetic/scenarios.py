"""Teaching scenarios (vignettes) — data, with sources and teaching notes.

Each scenario is a clinical story expressed in case fields, the sources it illustrates and the
verdict each bundled policy reaches (``expected``; a test keeps the engine and this gallery in
agreement, so a criteria change that moves a teaching case is noticed). The explorer opens on
:data:`DEFAULT_CASE`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from preauth.catalog.fields import RED_FLAG_FIELDS
from preauth.evaluate.vocabulary import Verdict

__all__ = ["DEFAULT_CASE", "NO_RED_FLAGS", "SCENARIOS", "Scenario", "scenario"]

_MEETS, _DNM, _INS = Verdict.MEETS, Verdict.DOES_NOT_MEET, Verdict.INSUFFICIENT

# A negative red-flag screen: every field of the catalog's red-flag group documented absent.
NO_RED_FLAGS: dict[str, Any] = {f.name: f.absent_value for f in RED_FLAG_FIELDS}

# The rest of an unremarkable history: no treatment yet, no radicular or neurologic findings,
# no earlier spine surgery, nothing new or progressing — and none of the other findings a
# payer bulletin lists as an indication of its own (Aetna CPB 0236 §I: clinical stenosis,
# major weakness, severe pain, cord injury, follow-up of a spinal tumour or infection, a
# myelopathy work-up, worsening despite treatment; BCBS CAM 741: an abnormal EMG).
_QUIET_HISTORY: dict[str, Any] = dict(
    physical_therapy=False, medication_trial=False, radiculopathy=False, neuro_deficit=False,
    surgical_candidate=False, epidural_injection_planned=False, prior_radiographs=False,
    functional_impairment=True, progressive_neuro_deficit=False, myelopathy_signs=False,
    prior_spine_surgery_region="none", new_or_progressive_symptoms=False,
    clinical_spinal_stenosis=False, major_motor_weakness=False, severe_back_pain=False,
    suspected_cord_injury=False, known_spinal_malignancy_or_infection=False,
    myelopathy_initial_diagnosis=False, progression_during_conservative_care=False,
    abnormal_emg_ncs=False, **NO_RED_FLAGS,
)

DEFAULT_CASE: dict[str, Any] = dict(
    _QUIET_HISTORY, case_id="explorer-case", cpt_code="72148", age=42, sex="F",
    symptom_weeks=3, conservative_therapy_weeks=1, medication_trial=True,
)


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    summary: str  # the vignette as a clinician would tell it
    case: dict[str, Any]
    teaching: str  # what the case teaches
    sources: tuple[str, ...]
    expected: dict[str, Verdict] = field(default_factory=dict)  # policy id → verdict
    tags: tuple[str, ...] = ()


def _case(sid: str, **fields: Any) -> dict[str, Any]:
    return dict(_QUIET_HISTORY, case_id=sid, **fields)


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "acute-lbp-no-red-flags", "Acute low back pain, no red flags",
        "42-year-old with 3 weeks of mechanical low back pain after lifting; negative red-flag "
        "screen; ibuprofen for a week; normal neurologic exam. Lumbar MRI without contrast "
        "requested.",
        _case("acute-lbp-no-red-flags", cpt_code="72148", age=42, sex="F", symptom_weeks=3,
              conservative_therapy_weeks=1, medication_trial=True),
        "Most acute low back pain resolves within 6 weeks; imaging without red flags does not "
        "change management (ACR variant 1 'usually not appropriate'; Choosing Wisely). Every "
        "policy agrees. Watch what would flip it: any red flag, or 6 weeks of failed care in "
        "a surgical candidate.",
        ("ACR AC Low Back Pain 2021, Variant 1", "NASS Choosing Wisely"),
        {"acr": _DNM, "evicore_style": _DNM, "aetna_style": _DNM, "bcbs_style": _DNM},
        ("lumbar", "denial"),
    ),
    Scenario(
        "chronic-lbp-no-management", "Chronic low back pain, no prior management",
        "51-year-old with 14 weeks of low back pain, never treated, no radicular symptoms, "
        "negative red-flag screen; not considering surgery.",
        _case("chronic-lbp-no-management", cpt_code="72148", age=51, sex="M",
              symptom_weeks=14, conservative_therapy_weeks=0),
        "Chronicity alone does not justify MRI: without a trial of management and a surgical "
        "or interventional question, imaging is usually not appropriate (ACR variant 2).",
        ("ACR AC Low Back Pain 2021, Variant 2",),
        {"acr": _DNM, "evicore_style": _DNM, "aetna_style": _DNM, "bcbs_style": _DNM},
        ("lumbar", "denial"),
    ),
    Scenario(
        "failed-6-weeks-injection-planned", "Failed 6 weeks of care, epidural injection planned",
        "46-year-old with 10 weeks of left L5 radicular pain, 4/5 ankle dorsiflexion, 8 weeks "
        "of physical therapy and NSAIDs without improvement; radiographs show disc-space "
        "narrowing; pain physician plans an epidural steroid injection.",
        _case("failed-6-weeks-injection-planned", cpt_code="72148", age=46, sex="F",
              symptom_weeks=10, conservative_therapy_weeks=8, physical_therapy=True,
              medication_trial=True, radiculopathy=True, neuro_deficit=True,
              motor_strength_grade=4, foot_drop=False, surgical_candidate=True,
              epidural_injection_planned=True, prior_radiographs=True, pain_score=7),
        "The textbook approval: persistent radiculopathy after 6 weeks of optimal management "
        "in an interventional candidate (ACR variant 3). Every payer path is satisfied — "
        "documented weeks, objective findings, multimodal therapy and radiographs.",
        ("ACR AC Low Back Pain 2021, Variant 3", "Aetna CPB 0236", "eviCore Spine V1.0.2026",
         "BCBS CAM 709"),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("lumbar", "approval"),
    ),
    Scenario(
        "cauda-equina", "Suspected cauda equina syndrome",
        "38-year-old with 4 days of back pain, new urinary retention, saddle anaesthesia and "
        "bilateral leg weakness.",
        _case("cauda-equina", cpt_code="72148", age=38, sex="M", symptom_weeks=0.5,
              conservative_therapy_weeks=0, radiculopathy=True, neuro_deficit=True,
              cauda_equina_signs=True, progressive_neuro_deficit=True),
        "A surgical emergency: MRI now, no conservative trial (ACR variant 4). Every policy "
        "lists cauda equina as a red flag that bypasses the wait.",
        ("ACR AC Low Back Pain 2021, Variant 4",),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("lumbar", "red flag"),
    ),
    Scenario(
        "cancer-history", "Back pain with a history of cancer",
        "67-year-old treated for breast cancer 3 years ago with 2 weeks of new, constant low "
        "back pain; MRI without and with contrast requested.",
        _case("cancer-history", cpt_code="72158", age=67, sex="F", symptom_weeks=2,
              conservative_therapy_weeks=0, cancer_history=True, night_pain=True,
              suspected_malignancy=True),
        "Known malignancy turns new back pain into suspected metastasis: MRI without and with "
        "contrast is usually appropriate at presentation (ACR variant 7) and covered by every "
        "payer model. The Aetna-style model needs the suspicion itself documented (CPB 0236 "
        "covers 'suspected … metastases'): set Suspected malignancy to No and it no longer "
        "meets on the cancer history alone.",
        ("ACR AC Low Back Pain 2021, Variant 7", "eviCore Spine V1.0.2026 (red flags)"),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("lumbar", "red flag"),
    ),
    Scenario(
        "infection-ivdu", "Fever and back pain in a person who injects drugs",
        "34-year-old who injects drugs, with 10 days of severe back pain, fever of 38.6 °C and "
        "a raised CRP.",
        _case("infection-ivdu", cpt_code="72158", age=34, sex="M", symptom_weeks=1.5,
              conservative_therapy_weeks=0, infection_signs=True, iv_drug_use=True,
              pain_score=9),
        "Suspected discitis / epidural abscess: MRI without and with contrast now (ACR "
        "variant 7). The fever and raised CRP are the signs of infection; injecting drugs is "
        "a risk factor, recorded apart — on its own, without the signs, it would not meet "
        "ACR's suspicion of infection.",
        ("ACR AC Low Back Pain 2021, Variant 7", "NASS Choosing Wisely (IV drug use)"),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("lumbar", "red flag"),
    ),
    Scenario(
        "osteoporotic-fall", "Osteoporotic woman after a fall, no radiographs yet",
        "78-year-old with osteoporosis on alendronate who slipped and sat down hard 5 days ago; "
        "focal midline tenderness; no radiographs yet.",
        _case("osteoporotic-fall", cpt_code="72148", age=78, sex="F", symptom_weeks=1,
              conservative_therapy_weeks=0, trauma="low_velocity", osteoporosis=True,
              suspected_fracture=True, prior_radiographs=False),
        "ACR rates MRI usually appropriate at presentation after low-velocity trauma in "
        "osteoporosis (variant 6), but the payer models want radiographs first for a "
        "suspected compression fracture — a real source of denials. Set Prior radiographs "
        "to Yes (and, for the Aetna model, Radiographs inconclusive) and watch them flip.",
        ("ACR AC Low Back Pain 2021, Variant 6", "eviCore Spine V1.0.2026 (radiographs first)",
         "Aetna CPB 0236", "BCBS CAM 709"),
        {"acr": _MEETS, "evicore_style": _DNM, "aetna_style": _INS, "bcbs_style": _DNM},
        ("lumbar", "policies differ"),
    ),
    Scenario(
        "post-lumbar-surgery", "New radicular pain after lumbar surgery",
        "59-year-old, L4–5 laminectomy 2 years ago, with 3 weeks of new right leg pain; "
        "post-operative radiographs show stable alignment.",
        _case("post-lumbar-surgery", cpt_code="72158", age=59, sex="M", symptom_weeks=3,
              conservative_therapy_weeks=2, medication_trial=True, radiculopathy=True,
              prior_spine_surgery_region="lumbar", new_or_progressive_symptoms=True,
              prior_radiographs=True),
        "After surgery, new or progressing symptoms justify MRI, with contrast to separate scar "
        "from recurrent disc (ACR variant 5). The surgery must be in the region imaged.",
        ("ACR AC Low Back Pain 2021, Variant 5",),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("lumbar", "post-operative"),
    ),
    Scenario(
        "cervical-radiculopathy", "Cervical radiculopathy, 3 weeks, no deficit",
        "45-year-old with 3 weeks of neck pain radiating to the thumb (C6), normal strength and "
        "reflexes, no treatment yet.",
        _case("cervical-radiculopathy", cpt_code="72141", age=45, sex="F", symptom_weeks=3,
              conservative_therapy_weeks=0, radiculopathy=True, neuro_deficit=False),
        "ACR rates MRI without contrast usually appropriate for new or increasing cervical "
        "radiculopathy with no minimum wait; the payer models want 6 weeks of care (and the "
        "stricter model a new objective deficit). The same chart, different answers.",
        ("ACR AC Cervical Neck Pain or Cervical Radiculopathy (2018 edition)", "BCBS CAM 741",
         "eviCore Spine V1.0.2026"),
        {"acr": _MEETS, "evicore_style": _DNM, "aetna_style": _DNM, "bcbs_style": _DNM},
        ("cervical", "policies differ"),
    ),
    Scenario(
        "cervical-myelopathy", "Cervical myelopathy",
        "63-year-old with months of hand clumsiness, a new unsteady gait, hyperreflexia and a "
        "positive Hoffmann sign.",
        _case("cervical-myelopathy", cpt_code="72141", age=63, sex="M", symptom_weeks=12,
              conservative_therapy_weeks=0, neuro_deficit=True, myelopathy_signs=True,
              progressive_neuro_deficit=True),
        "Upper-motor-neuron signs mean possible cord compression: MRI without waiting for "
        "conservative care, under every policy.",
        ("ACR AC Myelopathy", "BCBS CAM 741 (new neurologic deficits)"),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("cervical", "red flag"),
    ),
    Scenario(
        "thoracic-known-cancer", "Thoracic pain with known lung cancer",
        "62-year-old with lung adenocarcinoma and 3 weeks of constant mid-back pain, worse at "
        "night.",
        _case("thoracic-known-cancer", cpt_code="72157", age=62, sex="M", symptom_weeks=3,
              conservative_therapy_weeks=0, cancer_history=True, night_pain=True,
              suspected_malignancy=True),
        "The thoracic spine is the commonest site of metastasis. ACR's low-back topic is "
        "applied to the thoracic spine by analogy (the rule says so) and payers cover "
        "contrast for tumour.",
        ("ACR AC Low Back Pain 2021, Variant 7 (thoracic by analogy)",),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("thoracic", "red flag"),
    ),
    Scenario(
        "post-cervical-fusion-lumbar", "After cervical fusion: burning mid and low back pain "
        "(lumbar MRI)",
        "54-year-old with a prior C5–6 fusion and 8 weeks of burning mid and low back pain. "
        "Thoracic and lumbar MRI without and with contrast requested. No documented "
        "conservative care, no radicular signs, not a surgical candidate, negative red flags.",
        _case("post-cervical-fusion-lumbar", cpt_code="72158", age=54, sex="F",
              symptom_weeks=8, conservative_therapy_weeks=None,
              prior_spine_surgery_region="cervical"),
        "A real-world denial. Prior surgery qualifies only the region operated on, so the "
        "cervical fusion does not open the post-operative path for the lumbar spine. Without "
        "documented conservative care, radicular findings or surgical candidacy, and with no "
        "red flags, no policy supports MRI; the determination lists the missing documentation "
        "and the red flags that would change it. The Aetna-style model answers "
        "'insufficient documentation' rather than a flat no: after 8 weeks of symptoms its "
        "degenerative-disease path (4 weeks of therapy) could apply, and neither is documented.",
        ("ACR AC Low Back Pain 2021, Variants 2, 3 and 5", "eviCore Spine V1.0.2026",
         "Aetna CPB 0236"),
        {"acr": _DNM, "evicore_style": _DNM, "aetna_style": _INS, "bcbs_style": _DNM},
        ("thoracolumbar", "denial"),
    ),
    Scenario(
        "post-cervical-fusion-thoracic", "After cervical fusion: burning mid and low back pain "
        "(thoracic MRI)",
        "Same patient — the thoracic half of the request (72157).",
        _case("post-cervical-fusion-thoracic", cpt_code="72157", age=54, sex="F",
              symptom_weeks=8, conservative_therapy_weeks=None,
              prior_spine_surgery_region="cervical"),
        "ACR's Thoracic Back Pain topic (2024) is stricter than the lumbar rules: even 6 "
        "weeks of failed care in a surgical candidate would not make thoracic MRI appropriate "
        "without myelopathy or radiculopathy; red flags still would.",
        ("ACR AC Thoracic Back Pain 2024, Variants 1-3",
         "ACR AC Low Back Pain 2021 (red-flag variants, thoracic by analogy)"),
        {"acr": _DNM, "evicore_style": _DNM, "aetna_style": _INS, "bcbs_style": _DNM},
        ("thoracolumbar", "denial"),
    ),
    Scenario(
        "elderly-acute", "Acute back pain at 76 without trauma",
        "76-year-old with 2 weeks of new low back pain, no trauma, no known osteoporosis.",
        _case("elderly-acute", cpt_code="72148", age=76, sex="M", symptom_weeks=2,
              conservative_therapy_weeks=0),
        "ACR variant 6 includes the 'elderly individual' (read here as over 70, the legacy "
        "threshold): MRI is usually appropriate. The payer models have no age rule of their "
        "own for imaging — compare.",
        ("ACR AC Low Back Pain 2021, Variant 6",),
        {"acr": _MEETS, "evicore_style": _DNM, "aetna_style": _DNM, "bcbs_style": _DNM},
        ("lumbar", "policies differ"),
    ),
    Scenario(
        "progressive-foot-drop", "New foot drop at 2 weeks",
        "49-year-old with 2 weeks of sciatica and a new, worsening foot drop (ankle "
        "dorsiflexion 2/5).",
        _case("progressive-foot-drop", cpt_code="72148", age=49, sex="M", symptom_weeks=2,
              conservative_therapy_weeks=1, medication_trial=True, radiculopathy=True,
              neuro_deficit=True, progressive_neuro_deficit=True, motor_strength_grade=2,
              foot_drop=True),
        "A progressive motor deficit is a red flag: no 6-week wait under any policy.",
        ("ACR AC Low Back Pain 2021 (red flags)", "eviCore Spine V1.0.2026 (weakness ≤ 3/5)"),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _MEETS, "bcbs_style": _MEETS},
        ("lumbar", "red flag"),
    ),
    Scenario(
        "repeat-mri-2-months", "Repeat lumbar MRI two months after the last",
        "55-year-old surgical candidate with persistent radiculopathy after 10 weeks of PT and "
        "medication; a lumbar MRI was done 2 months ago; nothing new since.",
        _case("repeat-mri-2-months", cpt_code="72148", age=55, sex="F", symptom_weeks=16,
              conservative_therapy_weeks=10, physical_therapy=True, medication_trial=True,
              radiculopathy=True, neuro_deficit=True, surgical_candidate=True,
              prior_radiographs=True, months_since_prior_mri=2),
        "The stricter model refuses overlapping imaging within 3 months unless the prior "
        "study was inconclusive or the notes document why the repeat is needed and how it "
        "will change management — set either to Yes to flip it (new symptoms alone do not). "
        "The Aetna-style model asks what kind of deficit this is: its radiculopathy bullet "
        "needs motor or reflex changes, not sensory findings alone (CPB 0236), so it answers "
        "'insufficient documentation' until that is recorded.",
        ("BCBS CAM 709 (overlapping imaging)", "Aetna CPB 0236"),
        {"acr": _MEETS, "evicore_style": _MEETS, "aetna_style": _INS, "bcbs_style": _DNM},
        ("lumbar", "policies differ"),
    ),
    Scenario(
        "undocumented-red-flags", "Acute back pain, red flags not documented",
        "40-year-old with 2 weeks of low back pain; the note records duration and exam but says "
        "nothing about red flags.",
        dict(case_id="undocumented-red-flags", cpt_code="72148", age=40, symptom_weeks=2,
             conservative_therapy_weeks=0, radiculopathy=False, neuro_deficit=False,
             surgical_candidate=False),
        "Missing is not the same as absent: with the red-flag screen undocumented, the honest "
        "answer is 'insufficient documentation', and the determination names the fields that "
        "would decide it.",
        ("ACR AC Low Back Pain 2021",),
        {"acr": _INS, "evicore_style": _INS, "aetna_style": _INS, "bcbs_style": _INS},
        ("lumbar", "documentation"),
    ),
)


def scenario(sid: str) -> Scenario:
    for s in SCENARIOS:
        if s.id == sid:
            return s
    raise KeyError(f"unknown scenario {sid!r}")
