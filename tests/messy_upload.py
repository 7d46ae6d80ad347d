"""A messy utilization-management export, as analysts bring them (issue 11): Windows-1252,
headers in the export's own words, US dates M/D/YYYY whose order no value shows (no day
over 12), sex written Male/Female with unknown values ("U", "Unknown"), and an outcome the
catalog does not know ("Withdrawn"). Shared by the Upload page's AppTests and its Chromium
flow."""

from __future__ import annotations

HEADERS = ("Request ID", "Date Requested", "Procedure Code", "Payer", "Patient Age", "Gender",
           "Status", "Radiculopathy", "Conservative Weeks", "Reviewer Note")
GENDERS = ("Male", "Female", "U", "Female", "Unknown", "Male")
STATUSES = ("Approved", "Denied", "Withdrawn", "Approved", "Pending", "Withdrawn", "Denied")
PAYERS = ("Acme Health", "Béta Mutual", "Cœur Care")  # not ASCII: Windows-1252 bytes


def messy_rows(n: int = 24) -> list[list[str]]:
    """``n`` rows: every date has its day and month <= 12 (the order is not shown)."""
    rows = []
    for i in range(n):
        month, day = 1 + i % 12, 1 + (i * 5) % 12
        rows.append([
            f"UM-{1000 + i}", f"{month:02d}/{day:02d}/2024",
            ("72148", "72141", "72158", "72146")[i % 4], PAYERS[i % 3], str(30 + i % 50),
            GENDERS[i % len(GENDERS)], STATUSES[i % len(STATUSES)], ("Y", "N", "")[i % 3],
            str(i % 10), f"note {i}"])
    return rows


def messy_csv(n: int = 24) -> bytes:
    """The export as its system writes it: CSV, Windows-1252, CRLF line ends."""
    lines = [",".join(HEADERS)] + [",".join(r) for r in messy_rows(n)]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def expected_counts(n: int = 24) -> dict[str, int]:
    """How many rows hold each messy value."""
    rows = messy_rows(n)
    return {"U": sum(r[5] == "U" for r in rows), "Unknown": sum(r[5] == "Unknown" for r in rows),
            "Withdrawn": sum(r[6] == "Withdrawn" for r in rows)}
