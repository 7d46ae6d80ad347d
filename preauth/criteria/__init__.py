"""The criteria language and library: criteria as data, checked at load time.

Owns the expression language (a sqlglot whitelist over catalog fields: ``expressions``, with
its parts in the package-internal ``_parser``, ``_checker``, ``_types`` and ``_syntax``), the
YAML library loader and its limits (``library``, guarded YAML reading in ``_yaml``), the
examples kept beside each criterion (``examples``) and what they must cover, read from the
compiled expression (``coverage``), the plain-English wording of expressions (``wording``) and
the diff between policies (``policy_diff``).

May import: :mod:`preauth.catalog`, sqlglot, pyyaml, pydantic. Never the engines (they import
this package; ``policy_diff`` takes any object with an engine's ``evaluate_case``).
"""
