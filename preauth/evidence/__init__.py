"""Evidence over many requests: rates, odds ratios, verdict–decision concordance.

Owns, one module per concept:

* :mod:`~preauth.evidence.cells` — what is counted (:data:`~preauth.evidence.cells.MEASURES`,
  the row :class:`~preauth.evidence.cells.Filters`) and the one aggregation pass every
  statistic starts from: requests grouped by carrier, region, CPT code, month and criteria
  verdict, with each rate's numerator and denominator and the decision counts per group;
* :mod:`~preauth.evidence.grouping` — the fast counting of value combinations behind it;
* :mod:`~preauth.evidence.rates` — proportions with Wilson 95% intervals, overall and by
  group;
* :mod:`~preauth.evidence.odds` — the multivariable logistic regression
  ``outcome ~ region + carrier`` (binomial GLM on the contingency table, equal to the
  row-level fit) and exact conditional odds ratios for small cells;
* :mod:`~preauth.evidence.concordance` — criteria verdict × payer decision, and the
  discordant requests;
* :mod:`~preauth.evidence.drilldown` — the discordant requests in full (fields, outcomes and
  every policy's criteria results, one row per request) for the drill-down's download;
* :mod:`~preauth.evidence.report` — everything at once for the CLI (``preauth stats``): JSON
  and text.

Everything is derived from the cells (a few thousand rows), so the cost of a statistic does
not depend on the number of requests. Nothing is estimated by hand: statsmodels and scipy do
the estimation, imported only when a statistic needs them. Modules starting with ``_`` are
internal to this package.

May import: :mod:`preauth.catalog`, the public API of :mod:`preauth.evaluate` (the verdict
vocabulary; an engine is passed in), duckdb, statsmodels, scipy, numpy, pyarrow and pandas.
No Streamlit.
"""
