from ui.numbers import compact_count, p_value_text


def test_compact_counts_fit_a_tile() -> None:
    assert [compact_count(n) for n in (0, 400, 50_000, 99_999, 100_000, 854_943, 1_000_000,
                                       9_994_999, 12_500_000)] == [
        "0", "400", "50,000", "99,999", "100k", "855k", "1.00M", "9.99M", "12.5M"]


def test_p_values_never_read_as_zero() -> None:
    assert [p_value_text(p) for p in (0.5, 0.0123, 0.001, 0.00042, 5.9e-76, 0.0, None,
                                      float("nan"))] == [
        "0.500", "0.012", "0.001", "4.2e-04", "5.9e-76", "< 1e-300", "—", "—"]
