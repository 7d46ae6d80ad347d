"""The field catalog: the one source of truth for case columns.

Every case column used anywhere — the pydantic ``Case`` model, the CSV/Parquet schema and
ingest coercion, the criteria expression checker, the explorer's widgets and the field
reference in ``docs/fields.md`` — is derived from :data:`FIELDS`. Nothing else lists fields.

The first block implements ``shared/case-schema.md`` (the public column contract); the fields
marked ``added=True`` were added because a modelled payer policy needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CLINICAL_FIELDS",
    "CONTRASTS",
    "CONTRAST_LABELS",
    "CPT_CODES",
    "DECISIONS",
    "DECISION_SPELLINGS",
    "FIELDS",
    "FIELDS_BY_NAME",
    "GROUPS",
    "LENIENT_FIELDS",
    "RED_FLAG_FIELDS",
    "REGIONS",
    "SQL_TYPES",
    "Field",
    "Kind",
    "cpt_for",
    "fields_in",
]


class Kind(StrEnum):
    TEXT = "text"
    DATE = "date"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    ENUM = "enum"


# SQL (DuckDB / Spark) storage type of each kind.
SQL_TYPES: dict[Kind, str] = {
    Kind.TEXT: "VARCHAR",
    Kind.DATE: "DATE",
    Kind.INTEGER: "INTEGER",
    Kind.NUMBER: "DOUBLE",
    Kind.BOOLEAN: "BOOLEAN",
    Kind.ENUM: "VARCHAR",
}

# Display groups, in form order.
GROUPS: dict[str, str] = {
    "request": "Request",
    "history": "Patient and history",
    "neuro": "Neurologic findings",
    "red_flags": "Red flags",
    "treatment": "Treatment so far",
    "outcome": "Payer outcome",
}


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    label: str
    help: str
    group: str
    required: bool = False
    values: tuple[str, ...] = ()  # allowed values for ENUM
    minimum: float | None = None
    maximum: float | None = None
    unit: str = ""
    derived: bool = False  # derived from another column when absent (region, contrast)
    outcome: bool = False  # payer outcome; not a clinical input to criteria
    added: str = ""  # why the field was added beyond the case-schema contract
    synonyms: tuple[str, ...] = ()  # extra header names accepted on ingest
    # A red flag outside the red-flag group (a finding named as a red flag by the sources,
    # e.g. a progressive deficit): the reviewer reading takes it as absent when unmentioned.
    red_flag: bool = False
    # Other spellings of the values (ENUM), as exports write them: (spelling, catalog value),
    # the spelling lower case with "_" for " " and "-" ("not_certified" reads "Not certified").
    value_synonyms: tuple[tuple[str, str], ...] = ()
    # A value the field does not accept is read as not documented, with a warning, and the
    # row is kept - for the payer outcomes and descriptive fields no criterion reads. Set on
    # each such field by name; tests check that no criterion in the library reads one.
    lenient: bool = False

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.kind]

    @property
    def is_numeric(self) -> bool:
        return self.kind in (Kind.INTEGER, Kind.NUMBER)

    @property
    def absent_value(self) -> bool | str | None:
        """The value that documents this finding as absent: ``False`` for a yes/no field,
        ``"none"`` for an enum offering it (trauma, prior surgery); ``None`` if there is none
        (a number, a date, text)."""
        if self.kind is Kind.BOOLEAN:
            return False
        if self.kind is Kind.ENUM and "none" in self.values:
            return "none"
        return None

    @property
    def is_red_flag(self) -> bool:
        """A red flag: in the red-flag group, or marked as one elsewhere. Under the reviewer
        reading an unmentioned red flag is read as absent (:mod:`preauth.evaluate.reading`)."""
        return self.group == "red_flags" or self.red_flag

    def describe_type(self) -> str:
        """Human description of the accepted values, used in docs and error messages."""
        if self.kind is Kind.ENUM:
            return "one of " + ", ".join(self.values)
        if self.kind is Kind.BOOLEAN:
            return "true/false, yes/no, y/n or 1/0"
        if self.kind is Kind.DATE:
            return "a date (YYYY-MM-DD, D.M.YYYY, or M/D/YYYY or D/M/YYYY as its column shows)"
        if self.is_numeric:
            noun = "a whole number" if self.kind is Kind.INTEGER else "a number"
            lo = "" if self.minimum is None else f"{self.minimum:g}"
            hi = "" if self.maximum is None else f"{self.maximum:g}"
            if lo and hi:
                return f"{noun} from {lo} to {hi}"
            if lo:
                return f"{noun} ≥ {lo}"
            return noun
        return "text"


def _b(name: str, label: str, help: str, group: str, **kw: object) -> Field:
    return Field(name, Kind.BOOLEAN, label, help, group, **kw)  # type: ignore[arg-type]


REGIONS = ("cervical", "thoracic", "lumbar")
CONTRASTS = ("without", "with", "without_and_with")

# CPT code -> (region, contrast). AMA descriptors; see shared/sources.md.
CPT_CODES: dict[str, tuple[str, str]] = {
    "72141": ("cervical", "without"),
    "72142": ("cervical", "with"),
    "72156": ("cervical", "without_and_with"),
    "72146": ("thoracic", "without"),
    "72147": ("thoracic", "with"),
    "72157": ("thoracic", "without_and_with"),
    "72148": ("lumbar", "without"),
    "72149": ("lumbar", "with"),
    "72158": ("lumbar", "without_and_with"),
}

DECISIONS = ("approved", "denied", "cancelled", "pending")
# How utilization-management exports spell the payer's decision (status words of UM systems
# and the URAC / state-law wording: "certified" / "non-certified", "pended"). "Withdrawn",
# "partially approved" and the like are not read as any of these: a mapping profile says.
DECISION_SPELLINGS: tuple[tuple[str, str], ...] = (
    ("approve", "approved"), ("authorized", "approved"), ("authorised", "approved"),
    ("certified", "approved"),
    ("deny", "denied"), ("not_certified", "denied"), ("non_certified", "denied"),
    ("rejected", "denied"), ("declined", "denied"),
    ("canceled", "cancelled"), ("voided", "cancelled"),
    ("pended", "pending"), ("in_review", "pending"), ("open", "pending"),
)

CONTRAST_LABELS = {
    "without": "without contrast",
    "with": "with contrast",
    "without_and_with": "without and with contrast",
}


def cpt_for(region: str, contrast: str) -> str:
    """The CPT code of an MRI of ``region`` with ``contrast``."""
    for code, pair in CPT_CODES.items():
        if pair == (region, contrast):
            return code
    raise KeyError(f"no spine MRI CPT code for region={region!r}, contrast={contrast!r}")


FIELDS: tuple[Field, ...] = (
    # --- Request -------------------------------------------------------------------------
    Field("case_id", Kind.TEXT, "Case ID", "Request identifier; unique within a file.",
          "request", required=True,
          synonyms=("id", "request_id", "case", "caseid", "auth_id", "authorization_id")),
    Field("request_date", Kind.DATE, "Request date", "Date the MRI was requested.",
          "request", lenient=True,
          synonyms=("date", "order_date", "requested_on", "date_requested", "requested_date",
                    "received_date", "date_received")),
    Field("carrier", Kind.TEXT, "Carrier", "Insurance carrier / plan name as in the data.",
          "request", lenient=True,
          synonyms=("payer", "insurer", "plan", "insurance", "payor", "health_plan")),
    Field("cpt_code", Kind.ENUM, "CPT code",
          "Requested MRI: 72141 72142 72156 (cervical), 72146 72147 72157 (thoracic), "
          "72148 72149 72158 (lumbar); first of each triple without contrast, second with, "
          "third without and with.",
          "request", values=tuple(CPT_CODES), synonyms=("cpt", "procedure_code", "code")),
    Field("region", Kind.ENUM, "Spine region",
          "Derived from the CPT code when absent; a conflict with the CPT code is a row error.",
          "request", values=REGIONS, derived=True, synonyms=("spine_region", "body_region")),
    Field("contrast", Kind.ENUM, "Contrast",
          "Derived from the CPT code when absent; a conflict with the CPT code is a row error.",
          "request", values=CONTRASTS, derived=True),
    # --- Patient and history -------------------------------------------------------------
    Field("age", Kind.INTEGER, "Age", "Age in whole years.", "history",
          minimum=0, maximum=120, unit="years", synonyms=("patient_age", "age_years")),
    Field("sex", Kind.ENUM, "Sex", "Optional.", "history", values=("F", "M", "other"),
          value_synonyms=(("female", "F"), ("male", "M")), lenient=True,
          synonyms=("gender", "patient_sex", "patient_gender")),
    Field("symptom_weeks", Kind.NUMBER, "Symptom duration",
          "Duration of the current episode in weeks.", "history", minimum=0, unit="weeks",
          synonyms=("weeks_of_symptoms", "symptom_duration_weeks")),
    Field("prior_spine_surgery_region", Kind.ENUM, "Prior spine surgery",
          "Region of earlier spine surgery, or none.", "history",
          values=("none", "cervical", "thoracic", "lumbar"), synonyms=("prior_surgery",)),
    Field("new_or_progressive_symptoms", Kind.BOOLEAN, "New or progressive symptoms",
          "New or worsening symptoms since the last evaluation or surgery.", "history"),
    Field("functional_impairment", Kind.BOOLEAN, "Functional impairment",
          "Documented limitation of daily function.", "history"),
    Field("pain_score", Kind.INTEGER, "Pain score",
          "Worst current pain on a 0–10 numeric rating scale.", "history",
          minimum=0, maximum=10, unit="/10",
          added="eviCore-style policy: severe radicular pain (≥ 9/10) bypasses the 6-week wait."),
    Field("degenerative_spine_disease", Kind.BOOLEAN, "Spondylolisthesis / degenerative disease",
          "Known spondylolisthesis or degenerative disc/facet disease (e.g. on radiographs).",
          "history",
          added="Aetna CPB 0236-style policy: spondylolisthesis or degenerative disease "
                "after 4 weeks of conservative therapy."),
    Field("months_since_prior_mri", Kind.NUMBER, "Months since prior MRI of this region",
          "Months since the last MRI of the same region; leave empty when there was none.",
          "history", minimum=0, unit="months",
          added="BCBS CAM 709 / 741-style policy: a request overlapping an MRI of the same "
                "region within the past 3 months needs a documented justification."),
    _b("iv_drug_use", "IV drug use",
       "Current or past injection drug use. A risk factor for spinal infection, not a sign of "
       "it: fever and raised ESR/CRP are recorded in infection_signs.", "history",
       added="ACR model (issue 10): infection risk factors kept apart from infection signs. "
             "A red flag in NASS Choosing Wisely; ACP/APS (Chou 2011, Table 2) needs fever "
             "with it for immediate imaging. Read by the ACR no-red-flag variants "
             "(acr-lbp-v1/v2, acr-thoracic-v1/v2, acr-neck-pain-no-red-flags).",
       red_flag=True),
    _b("recent_spinal_procedure", "Recent spinal procedure",
       "Spinal surgery, injection or other spinal procedure shortly before the current "
       "episode (the clinician's judgement of recent; no source gives a window). A risk "
       "factor for spinal infection, not a sign of it.", "history",
       added="ACR model (issue 10): infection risk factors kept apart from infection signs; "
             "a recent procedure is also prior management, so the ACR 'no prior management' "
             "variants (acr-lbp-v1/v2, acr-thoracic-v1/v2, acr-neck-pain-no-red-flags) do "
             "not apply.",
       red_flag=True),
    _b("radiograph_degenerative_findings", "Radiographs show degenerative changes",
       "Radiographs of the requested region were obtained and show degenerative changes "
       "(spondylosis, disc-space narrowing, osteophytes).", "history",
       added="ACR Cervical Neck Pain or Cervical Radiculopathy (2018 edition): chronic neck "
             "pain with degenerative changes on radiographs → MRI without contrast usually "
             "appropriate (acr-neck-chronic-degenerative)."),
    _b("prior_study_inconclusive", "Prior overlapping study inconclusive",
       "The earlier imaging study of an overlapping body part (within the past 3 months, or "
       "requested together) was inconclusive or showed a need for additional or follow-up "
       "imaging.", "history",
       added="BCBS CAM 709 / 741-style policy, overlapping-imaging rule: an overlapping "
             "request is justified when the prior study was inconclusive or showed a need "
             "for follow-up imaging."),
    _b("overlap_justification_documented", "Overlapping imaging justified in the notes",
       "The office notes document why overlapping imaging (of a body part imaged in the "
       "past 3 months, or requested together) is needed and how it will change the "
       "patient's management.", "history",
       added="BCBS CAM 709 / 741-style policy, overlapping-imaging rule: the office notes "
             "must document why the overlapping imaging is needed and how it will change "
             "management."),
    _b("severe_back_pain", "Severe back pain",
       "Back pain the clinician documents as severe. Admission to hospital for pain is one "
       "example, not a requirement; no pain-score threshold is implied.", "history",
       added="Aetna CPB 0236-style policy, §I: \"Severe back pain (e.g., requiring "
             "hospitalization)\" — hospitalisation is an example, not the test."),
    _b("known_spinal_malignancy_or_infection", "Known spinal malignancy or infection",
       "A spinal malignancy or spinal infection has already been diagnosed or evaluated, and "
       "the MRI is its follow-up.", "history",
       added="Aetna CPB 0236-style policy, §I: \"Follow-up of evaluation for spinal "
             "malignancy or spinal infection\".",
       red_flag=True),
    Field("diagnosis_codes", Kind.TEXT, "Diagnosis codes (ICD-10-CM)",
          "ICD-10-CM diagnosis codes of the request, separated by commas, semicolons, spaces "
          "or |, with or without the dot, in any case (G83.4, g834). No criterion reads them: "
          "a code on the cited list (codes/icd10.yaml, docs/codes.md) fills the clinical "
          "field it documents when that field is empty — an explicit value always wins — "
          "and the letter cites the code. Codes not on the list derive nothing.",
          "history",
          synonyms=("dx_codes", "dx_code", "dx", "icd10", "icd_10", "icd10_codes",
                    "icd_10_codes", "icd10_cm", "icd_10_cm", "icd_codes", "diagnoses",
                    "diagnosis_code", "diagnosis"),
          added="Issue 11: real utilization-management exports carry diagnosis codes rather "
                "than clinical yes/no columns; preauth.sources.codes derives fields from them "
                "with provenance."),
    # --- Neurologic findings -------------------------------------------------------------
    _b("radiculopathy", "Radiculopathy", "Radicular (dermatomal) pain pattern.", "neuro"),
    _b("neuro_deficit", "Objective neurologic deficit",
       "Objective motor, sensory or reflex deficit on examination.", "neuro"),
    _b("motor_or_reflex_deficit", "Motor or reflex deficit",
       "Objective motor weakness or reflex change on examination in the distribution of the "
       "affected nerve root. Sensory findings alone do not count.", "neuro",
       added="Aetna CPB 0236-style policy, §I: radiculopathy \"as evidenced by pain plus "
             "objective findings of motor or reflex changes in the specific nerve root "
             "distribution\" (the objective-deficit field also counts sensory findings)."),
    _b("progressive_neuro_deficit", "Progressive neurologic deficit",
       "New or worsening neurologic deficit.", "neuro", red_flag=True),
    _b("myelopathy_signs", "Myelopathy signs",
       "Gait change, hyperreflexia, Hoffmann/Babinski (cervical/thoracic cord).", "neuro",
       red_flag=True),
    Field("motor_strength_grade", Kind.INTEGER, "Motor strength (MRC grade)",
          "Strength of the weakest affected muscle group, MRC scale 0–5 (5 = normal).",
          "neuro", minimum=0, maximum=5, unit="/5",
          added="eviCore-style policy: motor weakness ≤ 3/5 bypasses the 6-week wait."),
    _b("foot_drop", "New foot drop", "New foot drop on examination.", "neuro",
       added="eviCore-style policy: new foot drop bypasses the 6-week wait."),
    _b("major_motor_weakness", "Major motor weakness",
       "Motor weakness the examining clinician documents as major (severe). The Aetna "
       "bulletin gives no MRC grade for \"major\": record the clinician's description, not "
       "a grade.", "neuro",
       added="Aetna CPB 0236-style policy, §I: \"Rapidly progressing neurological deficit, "
             "or major motor weakness\" — weakness alone qualifies."),
    _b("clinical_spinal_stenosis", "Clinical evidence of spinal stenosis",
       "Clinical evidence of spinal stenosis, e.g. neurogenic claudication.", "neuro",
       added="Aetna CPB 0236-style policy, §I: \"Clinical evidence of spinal stenosis\"."),
    _b("suspected_cord_injury", "Suspected spinal cord injury",
       "A spinal cord injury is suspected after trauma (neurologic symptoms or signs "
       "attributed to the injury).", "neuro",
       added="Aetna CPB 0236-style policy, §I: \"Suspected spinal cord injury secondary to "
             "trauma\".", red_flag=True),
    _b("myelopathy_initial_diagnosis", "Myelopathy work-up, brain MRI negative or mimic",
       "MRI for the initial diagnosis of a known or suspected myelopathy (e.g. multiple "
       "sclerosis) when MRI of the brain is negative or the symptoms mimic other spinal or "
       "brainstem lesions.", "neuro",
       added="Aetna CPB 0236-style policy, §I: \"Known or suspected myelopathy (e.g., "
             "multiple sclerosis) for initial diagnosis when MRI of the brain is negative or "
             "symptoms mimic those of other spinal or brainstem lesions\"."),
    _b("abnormal_emg_ncs", "Abnormal EMG / nerve conduction study",
       "An electromyogram or nerve-conduction study was performed and indicates a "
       "radiculopathy of the region requested. No when none was performed or it did not.",
       "neuro",
       added="BCBS CAM 741-style policy, neck pain: \"abnormal electromyography (EMG) or "
             "nerve conduction study (if performed) indicating a cervical radiculopathy\"."),
    _b("neuro_exam_documented", "Neurologic exam documented",
       "A detailed in-person neurologic examination (motor, sensory, reflexes) is documented.",
       "neuro",
       added="eviCore-style policy: requests need an in-person exam with detailed "
             "neurologic findings."),
    # --- Red flags -----------------------------------------------------------------------
    _b("cauda_equina_signs", "Cauda equina signs",
       "Bladder/bowel dysfunction, saddle anaesthesia, bilateral leg weakness.", "red_flags"),
    _b("cancer_history", "History of cancer", "Known or prior malignancy.", "red_flags"),
    _b("suspected_malignancy", "Suspected malignancy",
       "The clinician's documented suspicion of cancer (e.g. strong clinical suspicion). "
       "When left empty, the ACR model builds the suspicion from its documented parts "
       "(history of cancer; unexplained weight loss with age over 50).", "red_flags"),
    _b("infection_signs", "Signs of infection",
       "Signs of spinal infection: fever, or raised ESR/CRP. Since issue 10 this no longer "
       "covers risk factors: IV drug use, a recent spinal procedure and immunosuppression "
       "have their own fields (iv_drug_use, recent_spinal_procedure, immunosuppressed).",
       "red_flags",
       added="Meaning narrowed in issue 10 (was 'fever, raised ESR/CRP, IV drug use, recent "
             "spinal procedure'): the sources treat signs and risk factors differently "
             "(ACP/APS needs fever with a risk factor; ACR names suspected infection and "
             "immunosuppression separately)."),
    _b("immunosuppressed", "Immunosuppressed", "Immunosuppression of any cause.", "red_flags"),
    Field("trauma", Kind.ENUM, "Trauma", "Trauma preceding the current episode.", "red_flags",
          values=("none", "low_velocity", "high_velocity")),
    _b("suspected_fracture", "Suspected fracture",
       "Clinical or radiographic suspicion of a vertebral fracture.", "red_flags",
       added="eviCore-style (fracture red flag) and Aetna-style (trauma with fracture) "
             "policies."),
    _b("osteoporosis", "Osteoporosis", "Known osteoporosis.", "red_flags"),
    _b("chronic_steroid_use", "Chronic steroid use", "Long-term systemic corticosteroids.",
       "red_flags"),
    _b("unexplained_weight_loss", "Unexplained weight loss", "Unintentional weight loss.",
       "red_flags"),
    _b("night_pain", "Night pain",
       "Pain that wakes the patient or is unrelieved by position.", "red_flags"),
    _b("hospitalized_for_pain", "Severe pain needing hospitalisation",
       "Pain severe enough to require hospital admission.", "red_flags",
       added="Aetna CPB 0236-style policy: severe pain requiring hospitalisation."),
    # --- Treatment so far ----------------------------------------------------------------
    Field("conservative_therapy_weeks", Kind.NUMBER, "Conservative therapy",
          "Weeks of provider-directed conservative care in this episode.", "treatment",
          minimum=0, unit="weeks", synonyms=("conservative_weeks", "conservative_care_weeks")),
    _b("physical_therapy", "Physical therapy / exercise",
       "PT or a supervised / home exercise programme tried.", "treatment",
       synonyms=("pt",)),
    _b("medication_trial", "Medication trial",
       "NSAIDs / analgesics / muscle relaxants / neuropathic agents tried.", "treatment"),
    _b("active_conservative_therapy", "Active conservative therapy component",
       "The conservative trial included an active component: physical therapy; a "
       "physician-supervised home exercise programme with an exercise prescription and "
       "documented failure after a suitable 6-week period (or inability to complete it for "
       "a physical reason); osteopathic manipulative treatment; or chiropractic care.",
       "treatment",
       added="BCBS CAM 709-style policy: conservative therapy is multimodal, \"a combination "
             "of active and inactive components\"."),
    _b("inactive_conservative_therapy", "Inactive conservative therapy component",
       "The conservative trial included an inactive component: rest, ice, heat, modified "
       "activities, medical devices, acupuncture or stimulators, medications, injections "
       "(epidural, facet, bursal or joint; not trigger point) or diathermy.", "treatment",
       added="BCBS CAM 709-style policy: conservative therapy is multimodal, \"a combination "
             "of active and inactive components\"."),
    Field("conservative_therapy_weeks_last_6_months", Kind.NUMBER,
          "Conservative therapy in the last 6 months",
          "Weeks of conservative treatment that fell within the 6 months before the request.",
          "treatment", minimum=0, unit="weeks",
          added="BCBS CAM 741-style policy, neck pain: \"Failure of conservative treatment "
                "for at least six (6) weeks within the last six (6) months\"."),
    _b("progression_during_conservative_care", "Worse despite conservative care",
       "Symptoms became progressively worse during a course of conservative treatment.",
       "treatment",
       added="Aetna CPB 0236-style policy, §I: \"Progressively severe symptoms despite "
             "conservative management\"; BCBS CAM 741-style policy, neck pain: "
             "\"progression or worsening of symptoms during the course of conservative "
             "treatment\"."),
    _b("surgical_candidate", "Surgery or intervention candidate",
       "Being considered for surgery or an intervention (e.g. epidural injection).",
       "treatment"),
    _b("epidural_injection_planned", "Epidural injection planned",
       "An epidural steroid injection is planned (a kind of intervention).", "treatment",
       added="Aetna CPB 0236-style policy: MRI for evaluation before an epidural injection."),
    _b("prior_radiographs", "Prior radiographs", "Plain films of the region obtained.",
       "treatment", synonyms=("xray", "x_ray", "radiographs")),
    _b("radiographs_inconclusive", "Radiographs inconclusive",
       "Plain films were obtained and were inconclusive for the suspected problem.",
       "treatment",
       added="Aetna CPB 0236-style policy: trauma with fracture when plain films are "
             "inconclusive."),
    # --- Payer outcome (analytics only) --------------------------------------------------
    _b("preauth_required", "Preauthorization required",
       "The carrier required prior authorization.", "outcome", outcome=True, lenient=True),
    Field("decision", Kind.ENUM, "Initial decision", "Initial carrier decision.", "outcome",
          values=DECISIONS, value_synonyms=DECISION_SPELLINGS, outcome=True, lenient=True,
          synonyms=("status", "auth_status", "determination", "initial_decision")),
    _b("peer_to_peer", "Peer-to-peer review", "A peer-to-peer review took place.", "outcome",
       outcome=True, lenient=True),
    Field("final_decision", Kind.ENUM, "Final decision",
          "Decision after peer-to-peer / appeal.", "outcome",
          values=DECISIONS, value_synonyms=DECISION_SPELLINGS, outcome=True, lenient=True,
          synonyms=("final_status", "final_determination")),
    _b("completed", "MRI completed", "The MRI was eventually performed.", "outcome",
       outcome=True, lenient=True),
)

FIELDS_BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
assert len(FIELDS_BY_NAME) == len(FIELDS), "duplicate field name in the catalog"

CLINICAL_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if not f.outcome)
# Fields whose unacceptable values are read as not documented with a warning (Field.lenient).
LENIENT_FIELDS: tuple[Field, ...] = tuple(f for f in FIELDS if f.lenient)


def fields_in(group: str) -> tuple[Field, ...]:
    """The fields of display group ``group`` (a key of :data:`GROUPS`), in catalog order."""
    if group not in GROUPS:
        raise KeyError(f"unknown field group {group!r}; known: {', '.join(GROUPS)}")
    return tuple(f for f in FIELDS if f.group == group)


# The red flags: findings that, documented, let a policy skip the wait for conservative care.
# Every list of red flags elsewhere (the scenarios' negative screen, tests) derives from this.
RED_FLAG_FIELDS: tuple[Field, ...] = fields_in("red_flags")
