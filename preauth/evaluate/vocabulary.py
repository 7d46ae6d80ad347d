"""The words of a determination: verdicts and criterion statuses, with their labels and icons.

One vocabulary for every output — the CLI table, the pages, the letter, exports and (later)
CDS Hooks cards. A :class:`Verdict` *is* its machine value (a ``str``), so it compares equal to
the strings in verdict columns and serialises as them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["NO_PROCEDURE_LABEL", "STATUS_LABELS", "Verdict"]


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
NO_PROCEDURE_LABEL = "No requested procedure"
STATUS_LABELS = {"met": "Met", "not_met": "Not met", "undocumented": "Undocumented"}
