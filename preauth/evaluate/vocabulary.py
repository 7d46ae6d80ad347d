"""The words of a determination: verdicts and criterion statuses, with their labels and icons.

One vocabulary for every output — the CLI table, the pages, the letter, exports and (later)
CDS Hooks cards. A :class:`Verdict` *is* its machine value (a ``str``), so it compares equal to
the strings in verdict columns and serialises as them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NEEDS_REVIEW_LABEL", "NO_PROCEDURE_LABEL", "NO_PROCEDURE_MATERIAL_ICON",
           "NO_PROCEDURE_SYMBOL", "STATUS_LABELS", "Verdict", "verdict_label",
           "verdict_material_icon", "verdict_symbol"]


class Verdict(StrEnum):
    """The verdict for (case, requested procedure, policy)."""

    MEETS = "meets_criteria"
    DOES_NOT_MEET = "does_not_meet"
    INSUFFICIENT = "insufficient_documentation"

    @property
    def label(self) -> str:
        """The phrase a person reads: "Meets criteria", "Does not meet criteria", ..."""
        return _LABELS[self]

    @property
    def symbol(self) -> str:
        """A text symbol present in common fonts (no emoji font needed)."""
        return _SYMBOLS[self]

    @property
    def material_icon(self) -> str:
        """The Material icon Streamlit draws beside the label."""
        return _MATERIAL_ICONS[self]

    @property
    def meaning(self) -> str:
        """What the verdict means, in one sentence."""
        return _MEANINGS[self]

    @classmethod
    def of(cls, value: str | None) -> Verdict | None:
        """The verdict a verdict column's value stands for; ``None`` for no verdict (the
        request names no procedure). Raises ``ValueError`` for anything else."""
        return None if value is None else cls(value)

    @classmethod
    def labels(cls) -> dict[str, str]:
        """``{value: label}`` for every verdict, in order (for relabelling a table)."""
        return {v.value: v.label for v in cls}


_LABELS = {
    Verdict.MEETS: "Meets criteria",
    Verdict.DOES_NOT_MEET: "Does not meet criteria",
    Verdict.INSUFFICIENT: "Insufficient documentation",
}
_SYMBOLS = {Verdict.MEETS: "✓", Verdict.DOES_NOT_MEET: "✗", Verdict.INSUFFICIENT: "?"}
_MATERIAL_ICONS = {Verdict.MEETS: ":material/check_circle:",
                   Verdict.DOES_NOT_MEET: ":material/cancel:",
                   Verdict.INSUFFICIENT: ":material/help:"}
_MEANINGS = {
    Verdict.MEETS: ("A criterion supporting the requested MRI is met and no exclusion "
                    "criterion is."),
    Verdict.DOES_NOT_MEET: ("No criterion supporting the requested MRI is met or could be met "
                            "once documented, or an exclusion criterion is met."),
    Verdict.INSUFFICIENT: ("No supporting criterion is met yet, but at least one is "
                           "undocumented: recording its fields would decide the request."),
}
# No verdict: the request names no procedure (no CPT code, nor region and contrast).
NO_PROCEDURE_LABEL = "No requested procedure"
NO_PROCEDURE_SYMBOL = "!"
NO_PROCEDURE_MATERIAL_ICON = ":material/warning:"
# A "meets criteria" verdict whose best category is only "may be appropriate".
NEEDS_REVIEW_LABEL = "Flagged for review"
# A criterion's status for one case (Kleene: TRUE, FALSE, NULL).
STATUS_LABELS = {"met": "Met", "not_met": "Not met", "undocumented": "Undocumented"}


def verdict_label(value: str | None) -> str:
    """The label of a verdict column's value, or :data:`NO_PROCEDURE_LABEL` for none."""
    verdict = Verdict.of(value)
    return NO_PROCEDURE_LABEL if verdict is None else verdict.label


def verdict_symbol(value: str | None) -> str:
    """The text symbol of a verdict column's value, or :data:`NO_PROCEDURE_SYMBOL`."""
    verdict = Verdict.of(value)
    return NO_PROCEDURE_SYMBOL if verdict is None else verdict.symbol


def verdict_material_icon(value: str | None) -> str:
    """The Material icon of a verdict column's value, or :data:`NO_PROCEDURE_MATERIAL_ICON`."""
    verdict = Verdict.of(value)
    return NO_PROCEDURE_MATERIAL_ICON if verdict is None else verdict.material_icon
