"""The criteria language and library: criteria as data, checked at load time.

Owns the expression language (a sqlglot whitelist over catalog fields), the YAML library
loader and its limits, plain-English wording of expressions, and the diff between policies.

May import: :mod:`preauth.catalog`, sqlglot, pyyaml, pydantic. Never the engines.
"""
