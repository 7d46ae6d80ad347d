"""Evaluation: cases × criteria → three-valued statuses → verdicts and explanations.

Owns stage 1 (every leaf predicate as one SQL column, on DuckDB or Spark), stage 2 (Kleene
logic and the verdict rules on packed bit planes, shared by both engines), the reference
evaluator (an oracle for tests and the benchmark baseline only), the per-case determination
and the review letter, and the wide result (one row per request, for spreadsheets).

May import: :mod:`preauth.catalog`, :mod:`preauth.criteria`, duckdb, pyarrow, numpy,
pyspark (optional, only in the Spark engine).
"""
