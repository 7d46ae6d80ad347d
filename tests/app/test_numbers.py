from ui.numbers import compact_count


def test_compact_counts_fit_a_tile() -> None:
    assert [compact_count(n) for n in (0, 400, 50_000, 99_999, 100_000, 854_943, 1_000_000,
                                       9_994_999, 12_500_000)] == [
        "0", "400", "50,000", "99,999", "100k", "855k", "1.00M", "9.99M", "12.5M"]
