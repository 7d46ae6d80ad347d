"""The field catalog: the one source of truth for what a case is.

Owns the fields (names, kinds, allowed values, groups, meaning), the Arrow schema of a case
table, the per-type value parsers that every way in (the UI form, share links, the CLI and
file ingest) applies, the ``Case`` model, share links and the generated field docs.

May import: the standard library, pyarrow, pydantic. Nothing else from ``preauth``.
"""
