"""Ingest: reading uploaded case files (CSV / TSV / Parquet / JSON / XLSX) and validating them
into a typed case table, with one error line per problem in a rejected row.

Owns: reading a file as a table of text (:mod:`.read`, one module per format:
:mod:`.delimited` with :mod:`.decoding`, :mod:`.parquet`, :mod:`.json_records`, :mod:`.xlsx`),
the table every reader returns (:mod:`.raw`), header mapping (:mod:`.mapping`), validation
(:mod:`.validate`, :mod:`.duplicates`), how a column is read where a mapping profile or the
file decides - value maps, date formats and orders, checkbox columns, decimal commas
(:mod:`.reading`) - the error and warning tables and their one builder (:mod:`.errors`),
batched validation of big files (:mod:`.stream`) and writing result tables (:mod:`.export`);
for the person mapping a file, the sample values of its columns (:mod:`.samples`) and a
validation's problems by column, with the date-order question in plain words
(:mod:`.problems`).
How a cell's text becomes a value is not ingest's: it applies the catalog's parsers
(:mod:`preauth.catalog.values`), as the ``Case`` model and share links do - to a typed
Parquet column (booleans, numbers, dates, dictionaries of text) in its typed form, by the same
rules (:mod:`._typed`).

Modules whose name starts with ``_`` are package-internal helpers shared by several ingest
modules; no module imports another's underscore names.

May import: the standard library, :mod:`preauth.catalog`, pyarrow, numpy (and openpyxl's date
helpers for .xlsx). Not the engines, the criteria or the evidence; no Streamlit.
"""
