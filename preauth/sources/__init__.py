"""Sources of facts: what turns other evidence into case fields, with provenance.

Owns the code lists kept as data (``codes/icd10.yaml``: ICD-10-CM code or range → field and
value, each with its official title and source), their loading and checking, the reading of a
diagnosis-code cell (:func:`preauth.sources.codes.parse_codes`) and the vectorized derivation
of fields from codes on a typed case table, one case being a one-row table
(:mod:`preauth.sources.codes`). Every derived value carries its provenance; an explicit value
in the field's own column always wins. FHIR Bundles and clinical notes will live here too.

May import: the standard library, ``preauth.catalog``, pyarrow, numpy, yaml. Nothing else of
``preauth``: ingest calls it, evaluate receives its provenance as plain data.
"""
