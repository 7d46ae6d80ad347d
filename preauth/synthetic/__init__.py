"""Synthetic data: the seeded generator of the bundled dataset, the teaching scenarios and
the data card (calibration targets, their sources and the achieved values).

May import: :mod:`preauth.catalog`, :mod:`preauth.criteria`, :mod:`preauth.evaluate` (the
generator's payer decisions follow each carrier's policy verdict; the scenarios' expected
verdicts are :class:`~preauth.evaluate.vocabulary.Verdict`), :mod:`preauth.evidence` (the data
card measures the generated data with it).
"""
